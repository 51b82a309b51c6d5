//! Output formats through rinit as PID 1: `json` parses line by line (binary
//! escaped, partial lines marked), `raw` passes bytes through, and colour
//! appears in `prefix` only on a terminal and never with NO_COLOR.

mod common;
mod logs_support;

use logs_support::*;
use serde_json::Value;
use std::process::{Command, Stdio};

const GARBAGE: &str = "import os\n\
                       os.write(1, bytes(x for x in range(256) if x != 10) + b'\\n')";

fn garbage() -> Vec<u8> {
    (0..=255u8).filter(|&b| b != b'\n').collect()
}

fn config(format: &str) -> String {
    let py = toml_str(common::python());
    format!(
        "[rinit]\nlog_format = \"{format}\"\nexit_when = \"all-done\"\n\
         [[program]]\nname = \"garbage\"\nrestart = \"never\"\nstart_secs = 0\n\
         command = [{py}, \"-c\", {}]\n\
         [[program]]\nname = \"plain\"\nrestart = \"never\"\nstart_secs = 0\n\
         command = \"echo hello; echo oops >&2; printf 'no newline'\"\n",
        toml_str(GARBAGE)
    )
}

fn run(format: &str) -> (Vec<u8>, Vec<u8>) {
    let (mut run, out, err) = start_collected(format, &config(format), &[]);
    let status = run.wait(common::WAIT);
    let (out, err) = (out.wait_eof(common::WAIT), err.wait_eof(common::WAIT));
    assert_eq!(status.code(), Some(0), "{}", String::from_utf8_lossy(&err));
    (out, err)
}

fn parse(bytes: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(bytes).expect("json output is UTF-8");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

fn find<'a>(v: &'a [Value], program: &str, line: &str) -> &'a Value {
    v.iter()
        .find(|o| o["program"] == program && o["line"] == line)
        .unwrap_or_else(|| panic!("no {program} {line:?} in {v:#?}"))
}

#[test]
fn json_parses_line_by_line() {
    let (out, err) = run("json");
    let (out, err) = (parse(&out), parse(&err));
    for o in out.iter().chain(&err) {
        assert!(o["ts"].is_string(), "{o}");
        assert!(o["program"].is_string() && o["line"].is_string(), "{o}");
    }
    assert_eq!(find(&out, "plain", "hello")["stream"], "stdout");
    assert_eq!(find(&err, "plain", "oops")["stream"], "stderr");
    assert_eq!(find(&out, "plain", "no newline")["partial"], true);
    let lossy = String::from_utf8_lossy(&garbage()).into_owned();
    find(&out, "garbage", &lossy);
    // rinit's own lines are JSON too, on stderr.
    assert!(err.iter().any(|o| o["program"] == "rinit"), "{err:#?}");
}

#[test]
fn raw_passes_bytes_through() {
    let (out, _) = run("raw");
    let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
    assert!(lines.contains(&garbage().as_slice()));
    assert!(lines.contains(&b"hello".as_slice()));
    assert!(lines.contains(&b"no newline".as_slice()));
}

/// rinit as PID 1 on a pseudo-terminal (tests/helpers/pty_drive.py); its
/// relayed output.
fn on_tty(no_color: Option<&str>) -> String {
    let dir = common::TempDir::new("tty");
    let cfg = dir.join("rinit.toml");
    std::fs::write(&cfg, config("prefix")).unwrap();
    let inner = common::Rinit::new(&["-c", &cfg.to_string_lossy()]).command();
    let mut c = Command::new(common::python());
    c.arg(common::helper("pty_drive.py"))
        .arg(inner.get_program())
        .args(inner.get_args());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.env_remove("NO_COLOR");
    if let Some(v) = no_color {
        c.env("NO_COLOR", v);
    }
    let out = c
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("pty_drive");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colour_only_on_a_tty_without_no_color() {
    let tty = on_tty(None);
    assert!(tty.contains("exit 0"), "{tty}");
    let hello = tty.lines().find(|l| l.contains("hello")).expect(&tty);
    assert!(hello.starts_with("\x1b["), "no colour on a tty: {hello:?}");
    let plain = on_tty(Some("1"));
    assert!(plain.contains("plain   | hello"), "{plain}");
    assert!(!plain.contains("\x1b["), "colour despite NO_COLOR: {plain}");
    // Not a tty (a pipe): never colour.
    let (out, err) = run("prefix");
    assert!(!String::from_utf8_lossy(&err).contains("\x1b["));
    assert!(String::from_utf8_lossy(&out).contains("plain   | hello"));
}
