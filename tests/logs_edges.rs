//! Awkward output through rinit as PID 1 (prefix format): last words
//! without a newline before the exit is reported, a 10 MB line, binary
//! garbage, a program that closes its stdout and keeps running, a program
//! that writes to stderr only.

mod common;
mod logs_support;

use logs_support::*;
use std::time::Duration;

const WIDTH: usize = 8; // "lastword"
const BIG: usize = 10 * 1024 * 1024;

fn config() -> String {
    let py = toml_str(common::python());
    // Bytes 0..=255 without '\n', twice (0x80.. alone is invalid UTF-8).
    let garbage = "import os\n\
                   b = bytes(x for x in range(256) if x != 10) * 2\n\
                   os.write(1, b'<' + b + b'>\\n')";
    let big = format!(
        "import os\n\
         data = bytes(65 + i % 26 for i in range({BIG}))\n\
         os.write(1, data + b'\\n')"
    );
    format!(
        "[[program]]\nname = \"lastword\"\nrestart = \"never\"\nstart_secs = 0\n\
         command = \"printf 'dying words' >&2; printf 'last words'; exit 3\"\n\
         [[program]]\nname = \"big\"\nrestart = \"never\"\nstart_secs = 0\n\
         command = [{py}, \"-c\", {}]\n\
         [[program]]\nname = \"garbage\"\nrestart = \"never\"\nstart_secs = 0\n\
         command = [{py}, \"-c\", {}]\n\
         [[program]]\nname = \"closer\"\n\
         command = \"exec >&-; echo closed its stdout >&2; exec sleep 1000\"\n\
         [[program]]\nname = \"erronly\"\n\
         command = \"echo only on stderr >&2; exec sleep 1000\"\n",
        toml_str(&big),
        toml_str(garbage),
    )
}

/// Prefix lines of `name` in `out`, split pieces joined.
fn program_lines(out: &[u8], name: &str) -> Vec<Vec<u8>> {
    let mut whole = Vec::new();
    let mut pending = Vec::new();
    for line in out.split(|&b| b == b'\n') {
        if line.len() < WIDTH + 3 || String::from_utf8_lossy(&line[..WIDTH]).trim_end() != name {
            continue;
        }
        pending.extend_from_slice(&line[WIDTH + 3..]);
        if line[WIDTH + 1] == b'|' {
            whole.push(std::mem::take(&mut pending));
        } else {
            assert_eq!(line[WIDTH + 1], b'+', "bad separator");
        }
    }
    assert!(pending.is_empty(), "{name}: a split line never ended");
    whole
}

#[test]
fn awkward_outputs_arrive_whole_and_in_order() {
    let (mut run, out, err) = start_collected("edges", &config(), &[]);
    let settled = err.wait_for(common::WAIT, |b| {
        let t = String::from_utf8_lossy(b);
        ["lastword", "big", "garbage"].iter().all(|p| {
            t.contains(&format!("{p}: starting -> exited"))
                || t.contains(&format!("{p}: running -> exited"))
        }) && t.contains("closer: starting -> running")
            && t.contains("erronly: starting -> running")
    });
    assert!(settled, "{}", err.text());

    // A program that closed its stdout costs nothing: rinit goes quiet (a
    // last wake-up of a writer thread may still be under way: retry).
    let rinit = run.rinit_pid();
    let quiet = (0..10).any(|_| {
        let before = common::ctxt_switches(rinit).0;
        std::thread::sleep(Duration::from_millis(300));
        common::ctxt_switches(rinit).0 == before
    });
    assert!(quiet, "rinit keeps waking up");

    run.signal(libc::SIGTERM);
    assert_eq!(run.wait(common::WAIT).code(), Some(0), "{}", err.text());
    let out = out.wait_eof(common::WAIT);
    let err = err.wait_eof(common::WAIT);
    let err_text = String::from_utf8_lossy(&err).into_owned();

    // Last words (no newline) come before the exit is reported, on the same
    // stream; the stdout ones arrive too.
    let lines: Vec<&str> = err_text.lines().collect();
    let pos = |pred: &dyn Fn(&str) -> bool| lines.iter().position(|l| pred(l));
    let words = pos(&|l| l == "lastword | dying words").expect(&err_text);
    let exit = pos(&|l| l.contains("lastword: ") && l.contains("exit status 3")).expect(&err_text);
    assert!(
        words < exit,
        "exit logged before the last words:\n{err_text}"
    );
    assert_eq!(program_lines(&out, "lastword"), [b"last words".to_vec()]);

    // 10 MB in one line: split pieces whose concatenation is the input.
    let big = program_lines(&out, "big");
    assert_eq!(big.len(), 1);
    let want: Vec<u8> = (0..BIG).map(|i| 65 + (i % 26) as u8).collect();
    assert!(
        big[0] == want,
        "10 MB line altered ({} bytes came)",
        big[0].len()
    );
    let pieces = out
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"big      +"))
        .count();
    assert!(pieces >= BIG / (64 * 1024), "only {pieces} pieces");

    // Binary passes through untouched in prefix format.
    let garbage: Vec<u8> = (0..=255u8)
        .filter(|&b| b != b'\n')
        .collect::<Vec<_>>()
        .repeat(2);
    let want = [b"<".as_slice(), &garbage, b">"].concat();
    assert_eq!(program_lines(&out, "garbage"), [want]);

    // Closed stdout, stderr only: their stderr lines, nothing on stdout.
    assert!(
        err_text.contains("closer   | closed its stdout"),
        "{err_text}"
    );
    assert!(err_text.contains("erronly  | only on stderr"), "{err_text}");
    assert!(program_lines(&out, "closer").is_empty());
    assert!(program_lines(&out, "erronly").is_empty());
    // No colour without a terminal (garbage itself holds an ESC byte).
    let coloured = |b: &[u8]| b.split(|&c| c == b'\n').any(|l| l.starts_with(b"\x1b["));
    assert!(!coloured(&out) && !coloured(&err));
}

/// Capacity of the pipe `f` is an end of.
fn pipe_size(f: &std::fs::File) -> usize {
    nix::fcntl::fcntl(f, nix::fcntl::FcntlArg::F_GETPIPE_SZ).expect("F_GETPIPE_SZ") as usize
}

/// The supervisor grows its stdout and stderr pipes (a container's log
/// pipes) to 1 MiB; the tini drop-in leaves its fds as they are.
#[test]
fn the_supervisor_grows_its_output_pipes_and_single_mode_does_not() {
    const GROWN: usize = 1024 * 1024;
    let (r_out, w_out) = pipe();
    let (r_err, w_err) = pipe();
    let before = pipe_size(&r_out);
    assert!(before < GROWN, "a fresh pipe holds {before}");
    let (probe_out, probe_err) = (r_out.try_clone().unwrap(), r_err.try_clone().unwrap());
    let config = "[[program]]\nname = \"hi\"\ncommand = \"echo hello; exec sleep 1000\"\n";
    let mut run = Run::start("grow", config, &[], w_out.into(), w_err.into());
    let (out, err) = (Collector::start(r_out), Collector::start(r_err));
    // Its first line comes after the outputs are set up.
    let hello = out.wait_for(common::WAIT, |b| has(b, "| hello"));
    assert!(hello, "{}\n{}", out.text(), err.text());
    assert_eq!(pipe_size(&probe_out), GROWN, "stdout");
    assert_eq!(pipe_size(&probe_err), GROWN, "stderr");
    run.signal(libc::SIGTERM);
    assert_eq!(run.wait(common::WAIT).code(), Some(0), "{}", err.text());

    let (r, w) = pipe();
    let mut c = common::Rinit::cmd(&[], &["echo", "hello"]).command();
    c.stdin(std::process::Stdio::null()).stdout(w);
    assert!(c.status().expect("run rinit -- echo").success());
    assert_eq!(
        pipe_size(&r),
        before,
        "single-command mode resized its stdout"
    );
}
