//! Two programs flood stdout and stderr at once (50 MB each in release
//! builds, 6 MB in debug ones): through rinit as PID 1, every line arrives
//! exactly once, intact (checksum), on the right stream, with the right
//! prefix, in per-program order; split pieces (`+`) join back up. The
//! same in the raw format, where whole lines are spliced from pipe to pipe.

mod common;
mod logs_support;

use logs_support::*;
use std::collections::HashMap;
use std::time::Duration;

const NAMES: [&str; 2] = ["flood-a", "flood-bb"];
const WIDTH: usize = 8; // "flood-bb"

fn megabytes() -> &'static str {
    if cfg!(debug_assertions) { "6" } else { "50" }
}

/// Prefix output → whole lines per program (pieces joined), checking the
/// separator, padding and stream of each.
fn reassemble(out: &[u8], stream: &str) -> HashMap<String, Vec<Vec<u8>>> {
    let mut pending: HashMap<String, Vec<u8>> = HashMap::new();
    let mut whole: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    for line in out.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        assert!(
            line.len() >= WIDTH + 3,
            "short line {:?}",
            String::from_utf8_lossy(line)
        );
        let name = String::from_utf8_lossy(&line[..WIDTH])
            .trim_end()
            .to_string();
        if name == "rinit" {
            continue;
        }
        assert!(
            NAMES.contains(&name.as_str()),
            "unknown prefix in {:?}",
            String::from_utf8_lossy(&line[..60.min(line.len())])
        );
        let (sep, content) = (line[WIDTH + 1], &line[WIDTH + 3..]);
        let buf = pending.entry(name.clone()).or_default();
        buf.extend_from_slice(content);
        match sep {
            b'+' => {}
            b'|' => whole.entry(name).or_default().push(std::mem::take(buf)),
            other => panic!("bad separator {other:?} on {stream}"),
        }
    }
    assert!(
        pending.values().all(Vec::is_empty),
        "a split line never ended on {stream}"
    );
    whole
}

/// Each program's lines on `stream`: seq 0, 1, 2… with good checksums, then
/// the `end COUNT` line.
fn check(lines: &HashMap<String, Vec<Vec<u8>>>, stream: &str) {
    for name in NAMES {
        let got = lines
            .get(name)
            .unwrap_or_else(|| panic!("no {name} lines on {stream}"));
        let last = got.last().unwrap();
        let end = format!("{name} {stream} end {}", got.len() - 1);
        assert_eq!(
            String::from_utf8_lossy(last),
            end,
            "{name} on {stream}: lines lost or duplicated"
        );
        for (seq, line) in got[..got.len() - 1].iter().enumerate() {
            let mut f = line.splitn(5, |&b| b == b' ');
            let field = |f: &mut dyn Iterator<Item = &[u8]>| {
                String::from_utf8_lossy(f.next().unwrap_or(b"")).into_owned()
            };
            let (n, s, q, crc) = (field(&mut f), field(&mut f), field(&mut f), field(&mut f));
            let payload = f.next().unwrap_or(b"");
            assert_eq!(
                (n.as_str(), s.as_str()),
                (name, stream),
                "line {seq} of {name} on the wrong stream"
            );
            assert_eq!(q, seq.to_string(), "{name} {stream}: out of order at {seq}");
            let want = format!("{:08x}", crc32(payload));
            assert_eq!(crc, want, "{name} {stream} line {seq} corrupted");
        }
    }
}

/// zlib's CRC-32 (what the Python helper uses), bit by bit: test-only.
fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, t) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *t = c;
    }
    let mut crc = !0u32;
    for &b in data {
        crc = table[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// Run rinit as PID 1 with `[rinit]` settings `global` and one flooding
/// program per `(name, extra keys)`, until all are done; its stdout and
/// stderr bytes.
fn flood(tag: &str, global: &str, programs: &[(&str, &str)], long: &str) -> (Vec<u8>, Vec<u8>) {
    let mb = megabytes();
    let mut config = format!("[rinit]\nexit_when = \"all-done\"\n{global}");
    for (name, extra) in programs {
        config += &format!(
            "[[program]]\nname = \"{name}\"\ncommand = {}\nrestart = \"never\"\nstart_secs = 0\n{extra}",
            py_command("flood.py", &[name, mb, long])
        );
    }
    let (mut run, out, err) = start_collected(tag, &config, &[]);
    let status = run.wait(Duration::from_secs(100));
    let out = out.wait_eof(common::WAIT);
    let err = err.wait_eof(common::WAIT);
    assert_eq!(
        status.code(),
        Some(0),
        "stderr tail: {}",
        String::from_utf8_lossy(&err[err.len().saturating_sub(2000)..])
    );
    (out, err)
}

#[test]
fn two_programs_flooding_both_streams_lose_nothing() {
    let (out, err) = flood("flood", "", &[(NAMES[0], ""), (NAMES[1], "")], "1");
    check(&reassemble(&out, "stdout"), "stdout");
    check(&reassemble(&err, "stderr"), "stderr");
}

/// Raw output → lines per program (the first field names it); rinit's
/// own messages skipped.
fn by_program(out: &[u8], stream: &str) -> HashMap<String, Vec<Vec<u8>>> {
    let mut whole: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    for line in out.split(|&b| b == b'\n') {
        if line.is_empty() || line.starts_with(b"rinit: ") {
            continue;
        }
        let name = line.split(|&b| b == b' ').next().unwrap_or(b"");
        let name = String::from_utf8_lossy(name).into_owned();
        assert!(
            NAMES.contains(&name.as_str()),
            "a line cut or mixed on {stream}: {:?}",
            String::from_utf8_lossy(&line[..60.min(line.len())])
        );
        whole.entry(name).or_default().push(line.to_vec());
    }
    whole
}

#[test]
fn two_programs_flooding_both_streams_in_raw_format_lose_nothing() {
    let programs = [(NAMES[0], ""), (NAMES[1], "")];
    let (out, err) = flood("flood-raw", "log_format = \"raw\"\n", &programs, "0");
    check(&by_program(&out, "stdout"), "stdout");
    check(&by_program(&err, "stderr"), "stderr");
}

#[test]
fn an_inherit_program_and_a_logged_one_never_cut_each_others_lines() {
    // flood-a writes rinit's own stdout directly (inherit), flood-bb goes
    // through the multiplexer: rinit must keep its writes atomic then.
    let programs = [
        ("flood-a", "stdout = \"inherit\"\nstderr = \"null\"\n"),
        ("flood-bb", "stderr = \"null\"\n"),
    ];
    let (out, _) = flood("flood-inherit", "", &programs, "0");
    let mut direct: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    let mut logged = Vec::new();
    for line in out.split_inclusive(|&b| b == b'\n') {
        assert!(line.ends_with(b"\n"), "unterminated tail");
        if line.starts_with(b"flood-a stdout ") {
            let body = line.strip_suffix(b"\n").unwrap().to_vec();
            direct.entry("flood-a".into()).or_default().push(body);
        } else {
            logged.extend_from_slice(line);
        }
    }
    let mut logged = reassemble(&logged, "stdout");
    logged.extend(direct);
    check(&logged, "stdout");
}
