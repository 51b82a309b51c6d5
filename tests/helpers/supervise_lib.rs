//! Helpers shared by the supervisor-mode tests (`tests/supervise_*.rs`),
//! included with `#[path = "helpers/supervise_lib.rs"] mod sup;` next to
//! `mod common;`. A config goes in a per-test temp dir, rinit runs as PID 1
//! of a fresh PID namespace with `-vv` (transition lines are info), and the
//! tests wait on its lines or on files the programs write.

#![allow(dead_code)] // each test crate uses a different subset

use crate::common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A TOML basic string holding `s`.
pub fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A path as a TOML string.
pub fn qp(p: &Path) -> String {
    q(&p.to_string_lossy())
}

/// A TOML array of strings (an exec command).
pub fn qa<S: AsRef<str>>(argv: &[S]) -> String {
    let items: Vec<String> = argv.iter().map(|a| q(a.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

/// `[python3, tests/helpers/supervised.py, MODE, DIR, flags…]` as TOML.
pub fn supervised(mode: &str, dir: &Path, flags: &[&str]) -> String {
    let d = dir.to_string_lossy();
    let mut args = vec![mode, &*d];
    args.extend_from_slice(flags);
    qa(&py("supervised.py", &args))
}

/// Write `text` to DIR/rinit.toml.
pub fn write_config(dir: &TempDir, text: &str) -> PathBuf {
    let p = dir.join("rinit.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// `rinit -vv -c CFG` as PID 1.
pub fn supervise(cfg: &Path) -> Proc {
    supervise_with(cfg, &[])
}

pub fn supervise_with(cfg: &Path, envs: &[(&str, &str)]) -> Proc {
    let c = cfg.to_string_lossy();
    let mut r = Rinit::new(&["-vv", "-c", &*c]);
    for (k, v) in envs {
        r = r.env(k, v);
    }
    r.spawn()
}

/// The message of one of rinit's own lines (`rinit | info: …` → `info: …`).
pub fn rinit_msg(line: &str) -> Option<&str> {
    let (name, msg) = line.split_once(" | ")?;
    (name.trim() == "rinit").then_some(msg)
}

/// Wait for rinit's own stderr line containing `needle`; return its message.
pub fn expect_msg(p: &mut Proc, timeout: Duration, needle: &str) -> String {
    let l = p.expect_line(Stream::Err, timeout, |l| {
        rinit_msg(l).is_some_and(|m| m.contains(needle))
    });
    rinit_msg(&l).unwrap().to_string()
}

/// Lines program `name` printed (`name | text` → `text`) in `out`.
pub fn program_lines(out: &str, name: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.split_once(" | "))
        .filter(|(n, _)| n.trim() == name)
        .map(|(_, t)| t.to_string())
        .collect()
}

/// rinit's own messages in a transcript or stderr.
pub fn rinit_msgs(err: &str) -> Vec<String> {
    err.lines()
        .filter_map(rinit_msg)
        .map(str::to_string)
        .collect()
}

/// Non-empty lines of a file (none if it does not exist).
pub fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// Wait until `cond` holds for the lines of `path`; kills the run and
/// fails with its transcript at the deadline.
pub fn wait_lines(
    p: &mut Proc,
    path: &Path,
    timeout: Duration,
    what: &str,
    cond: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    if !wait_until(deadline, || cond(&read_lines(path))) {
        let got = read_lines(path);
        p.fail(&format!(
            "timed out waiting for {what} in {}; it holds {got:?}",
            path.display()
        ));
    }
    read_lines(path)
}

/// Wait for a file to exist (non-empty) and return its trimmed content.
pub fn wait_file(p: &mut Proc, path: &Path, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    let read = || {
        std::fs::read_to_string(path)
            .ok()
            .filter(|s| !s.trim().is_empty())
    };
    if !wait_until(deadline, || read().is_some()) {
        p.fail(&format!("timed out waiting for {}", path.display()));
    }
    read().unwrap().trim().to_string()
}

/// Send `sig` to rinit (PID 1) and wait for it to exit: its exit code and
/// how long it took from the signal.
pub fn stop_with(p: &mut Proc, sig: i32, timeout: Duration) -> (i32, Duration) {
    let pid = p.rinit_pid();
    let t0 = Instant::now();
    p.signal(pid, sig);
    let code = p.exit_code(timeout);
    (code, t0.elapsed())
}

/// One line of DIR/events written by `supervised.py`: `what pid time extra…`.
#[derive(Debug, Clone)]
pub struct Event {
    pub what: String,
    pub pid: i32,
    pub t: f64,
    pub extra: Vec<String>,
}

pub fn events(dir: &Path) -> Vec<Event> {
    read_lines(&dir.join("events"))
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Event {
                what: f[0].to_string(),
                pid: f[1].parse().unwrap(),
                t: f[2].parse().unwrap(),
                extra: f[3..].iter().map(|s| s.to_string()).collect(),
            }
        })
        .collect()
}

/// Wait until DIR/events holds an event `what` (n of them); return them all.
pub fn wait_event(p: &mut Proc, dir: &Path, what: &str, n: usize) -> Vec<Event> {
    wait_lines(
        p,
        &dir.join("events"),
        WAIT,
        &format!("{n}× {what}"),
        |ls| {
            ls.iter()
                .filter(|l| l.split_whitespace().next() == Some(what))
                .count()
                >= n
        },
    );
    events(dir)
}

/// The first event named `what`, or a panic listing all of them.
pub fn first<'a>(evs: &'a [Event], what: &str) -> &'a Event {
    evs.iter()
        .find(|e| e.what == what)
        .unwrap_or_else(|| panic!("no {what} event in {evs:#?}"))
}

/// Host pid of the process whose namespace pid is `ns_pid`, among the
/// processes of rinit's PID namespace (NSpid's last field).
pub fn host_pid(rinit_host_pid: i32, ns_pid: i32) -> Option<i32> {
    processes_in_ns(rinit_host_pid).into_iter().find(|p| {
        std::fs::read_to_string(format!("/proc/{p}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("NSpid:"))
                    .and_then(|v| v.split_whitespace().last()?.parse::<i32>().ok())
            })
            == Some(ns_pid)
    })
}

/// Is there one rinit message containing every one of `needles`?
pub fn has_msg(stderr: &str, needles: &[&str]) -> bool {
    rinit_msgs(stderr)
        .iter()
        .any(|m| needles.iter().all(|n| m.contains(n)))
}

/// Wait for rinit messages containing each of `needles`, in any order.
pub fn expect_msgs_all(p: &mut Proc, timeout: Duration, needles: &[&str]) {
    let mut left: Vec<&str> = needles.to_vec();
    while !left.is_empty() {
        let m = p.expect_line(Stream::Err, timeout, |l| {
            rinit_msg(l).is_some_and(|m| left.iter().any(|n| m.contains(n)))
        });
        left.retain(|n| !m.contains(n));
    }
}
