//! Supervisor mode (SPEC §3, §4), restart policies and exit codes, with
//! rinit as PID 1 of a PID namespace running real programs: restart
//! always / on-failure / never, crash loops going through backoff to fatal,
//! spawn failures, critical programs and `exit_when = "all-done"`.

mod common;
#[path = "helpers/supervise_lib.rs"]
mod sup;

use common::*;
use std::time::Duration;
use sup::*;

/// `echo run >> FILE`, then (as long as FILE has fewer than `runs` lines)
/// stay up 0.3 s (past start_secs = 100ms) and run `end`; from the
/// `runs`-th run on, stay up.
fn counted(file: &std::path::Path, runs: usize, end: &str) -> String {
    let f = file.to_string_lossy();
    q(&format!(
        "echo run >> '{f}'; [ $(wc -l < '{f}') -ge {runs} ] && exec sleep 1000; sleep 0.3; {end}"
    ))
}

#[test]
fn restart_always_restarts_at_once_even_after_exit_0() {
    let dir = TempDir::new("sup-always");
    let count = dir.join("count");
    let cfg = write_config(
        &dir,
        &format!(
            r#"
[[program]]
name = "again"
command = {}
start_secs = "100ms"
backoff = "5s"
restart = "always"
"#,
            counted(&count, 3, "exit 0")
        ),
    );
    let mut p = supervise(&cfg);
    for _ in 0..2 {
        let m = expect_msg(&mut p, WAIT, "again: running -> ");
        assert!(
            m.contains("again: running -> starting (pid ") && m.contains("exit status 0"),
            "a running program that exited 0 must restart at once: {m}"
        );
    }
    wait_lines(&mut p, &count, WAIT, "3 runs", |l| l.len() >= 3);
    expect_msg(&mut p, WAIT, "again: starting -> running");
    let (code, _) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    assert_eq!(code, 0, "{out}");
    assert_eq!(read_lines(&count).len(), 3, "{out}");
    assert!(
        !out.stderr.contains("backoff"),
        "restarts after a good run are immediate, no backoff:\n{out}"
    );
}

#[test]
fn restart_on_failure_honours_exit_codes_and_never_does_not_restart() {
    let dir = TempDir::new("sup-onfailure");
    let f = |n: &str| dir.join(n);
    let cfg = write_config(
        &dir,
        &format!(
            r#"
[[program]]
name = "expected"
command = {}
restart = "on-failure"
exit_codes = [0, 2]
start_secs = "100ms"

[[program]]
name = "unexpected"
command = {}
restart = "on-failure"
exit_codes = [0, 2]
start_secs = "100ms"

[[program]]
name = "signalled"
command = {}
restart = "on-failure"
exit_codes = [0, 2]
start_secs = "100ms"

[[program]]
name = "once"
command = {}
restart = "never"
start_secs = "100ms"

[[program]]
name = "once-failing"
command = {}
restart = "never"
start_secs = "100ms"
"#,
            counted(&f("expected"), 100, "exit 2"),
            counted(&f("unexpected"), 3, "exit 1"),
            counted(&f("signalled"), 2, "kill -KILL $$$$"),
            counted(&f("once"), 100, "exit 0"),
            counted(&f("once-failing"), 100, "exit 1"),
        ),
    );
    let mut p = supervise(&cfg);
    wait_lines(&mut p, &f("unexpected"), WAIT, "3 runs", |l| l.len() >= 3);
    wait_lines(&mut p, &f("signalled"), WAIT, "2 runs", |l| l.len() >= 2);
    // The third run of "unexpected" started ≥ 0.6 s in, well after the
    // others' single runs ended (0.3 s): a wrong restart would show by now.
    for _ in 0..3 {
        expect_msg(&mut p, WAIT, "unexpected: starting -> running");
    }
    let (code, _) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    assert_eq!(code, 0, "{out}");
    for (name, status) in [
        ("expected", "exit status 2"),
        ("once", "exit status 0"),
        ("once-failing", "exit status 1"),
    ] {
        assert_eq!(read_lines(&f(name)).len(), 1, "{name} must run once\n{out}");
        assert!(
            has_msg(
                &out.stderr,
                &[&format!("{name}: running -> exited (pid "), status]
            ),
            "{name} must end up exited with {status}\n{out}"
        );
    }
    assert_eq!(read_lines(&f("unexpected")).len(), 3, "{out}");
    assert_eq!(read_lines(&f("signalled")).len(), 2, "{out}");
    assert!(
        has_msg(
            &out.stderr,
            &["unexpected: running -> starting (pid ", "exit status 1"]
        ),
        "{out}"
    );
    assert!(
        has_msg(
            &out.stderr,
            &["signalled: running -> starting (pid ", "SIGKILL"]
        ),
        "a death by signal is a failure for on-failure\n{out}"
    );
}

#[test]
fn crash_loop_backs_off_exponentially_then_goes_fatal() {
    let dir = TempDir::new("sup-crashloop");
    let times = dir.join("times");
    let cfg = write_config(
        &dir,
        &format!(
            r#"
[[program]]
name = "crashy"
command = {}
start_secs = "200ms"
backoff = "100ms"
backoff_max = "400ms"
start_retries = 6
"#,
            q(&format!("date +%s%N >> '{}'; exit 3", times.display()))
        ),
    );
    let mut p = supervise(&cfg);
    let fatal = expect_msg(&mut p, Duration::from_secs(30), "crashy: starting -> fatal");
    assert!(
        fatal.starts_with("error: ")
            && fatal.contains("exit status 3")
            && fatal.ends_with("giving up after 6 failed starts"),
        "{fatal}"
    );
    let (code, _) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    assert_eq!(
        code, 0,
        "a non-critical fatal program does not stop PID 1\n{out}"
    );
    let msgs = rinit_msgs(&out.stderr);
    let retries: Vec<&str> = msgs
        .iter()
        .filter(|m| m.contains("crashy: starting -> backoff"))
        .map(|m| m.rsplit("retry in ").next().unwrap())
        .collect();
    assert_eq!(
        retries,
        ["100ms", "200ms", "400ms", "400ms", "400ms"],
        "backoff doubles up to backoff_max\n{out}"
    );
    let ts: Vec<u128> = read_lines(&times)
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(ts.len(), 6, "exactly start_retries starts\n{out}");
    let gaps: Vec<u128> = ts.windows(2).map(|w| (w[1] - w[0]) / 1_000_000).collect();
    for (gap, want) in gaps.iter().zip([100u128, 200, 400, 400, 400]) {
        assert!(
            *gap + 5 >= want && *gap <= want + 250,
            "gap between starts {gap}ms, want ~{want}ms; all gaps {gaps:?}\n{out}"
        );
    }
}

#[test]
fn spawn_failure_backs_off_goes_fatal_and_pid1_keeps_running() {
    let dir = TempDir::new("sup-spawnfail");
    let cfg = write_config(
        &dir,
        r#"
[[program]]
name = "missing"
command = ["/nonexistent/rinit-test-binary", "--flag"]
start_secs = "200ms"
backoff = "100ms"
start_retries = 3

[[program]]
name = "other"
command = "while :; do echo tick; sleep 0.05; done"
"#,
    );
    let mut p = supervise(&cfg);
    let first = expect_msg(&mut p, WAIT, "missing: ");
    assert_eq!(
        first,
        "warning: missing: unable to spawn: /nonexistent/rinit-test-binary: \
         No such file or directory; retry in 100ms"
    );
    let second = expect_msg(&mut p, WAIT, "missing: ");
    assert!(second.ends_with("retry in 200ms"), "{second}");
    let last = expect_msg(&mut p, WAIT, "missing: ");
    assert!(
        last.starts_with("error: missing: unable to spawn: /nonexistent/rinit-test-binary")
            && last.ends_with("giving up after 3 failed starts"),
        "{last}"
    );
    // Everything else keeps going after the fatal program gave up.
    for _ in 0..3 {
        p.expect_line(Stream::Out, WAIT, |l| l.ends_with("| tick"));
    }
    let (code, _) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    assert_eq!(code, 0, "{out}");
    assert!(
        !rinit_msgs(&out.stderr)
            .iter()
            .any(|m| m.contains("missing: ") && m.contains("starting ->")),
        "a program that never spawned is never starting\n{out}"
    );
}

#[test]
fn a_file_that_is_not_executable_fails_to_spawn_with_permission_denied() {
    let dir = TempDir::new("sup-noexec");
    let file = dir.join("not-executable");
    std::fs::write(&file, "#!/bin/sh\nexit 0\n").unwrap();
    let cfg = write_config(
        &dir,
        &format!(
            r#"
[[program]]
name = "noexec"
command = [{}]
start_secs = "200ms"
backoff = "100ms"
start_retries = 1

[[program]]
name = "other"
command = "exec sleep 1000"
"#,
            qp(&file)
        ),
    );
    let mut p = supervise(&cfg);
    let first = expect_msg(&mut p, WAIT, "noexec: ");
    assert_eq!(
        first,
        format!(
            "error: noexec: unable to spawn: {}: Permission denied; giving up after 1 failed start",
            file.display()
        )
    );
    let (code, _) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    assert_eq!(code, 0, "{out}");
}

fn critical_run(crit_command: &str, extra: &str) -> (Output, Duration) {
    let dir = TempDir::new("sup-critical");
    let cfg = write_config(
        &dir,
        &format!(
            r#"
[[program]]
name = "crit"
command = {}
critical = true
start_secs = "100ms"
backoff = "100ms"
{extra}

[[program]]
name = "other"
command = "exec sleep 1000"
stop_timeout = "5s"
"#,
            q(crit_command)
        ),
    );
    let t0 = std::time::Instant::now();
    let mut p = supervise(&cfg);
    p.wait_exit(WAIT);
    (p.output(), t0.elapsed())
}

#[test]
fn container_exits_with_the_critical_programs_exit_code() {
    let (out, took) = critical_run("sleep 0.3; exit 7", "restart = \"never\"");
    assert_eq!(out.code(), 7, "{out}");
    let msgs = rinit_msgs(&out.stderr).join("\n");
    assert!(
        msgs.contains("shutting down: critical program crit"),
        "{out}"
    );
    assert!(
        msgs.contains("other: starting -> stopping") || msgs.contains("other: running -> stopping"),
        "the other programs are stopped\n{out}"
    );
    assert!(msgs.contains("exiting with code 7"), "{out}");
    assert!(took < Duration::from_secs(4), "took {took:?}\n{out}");
}

#[test]
fn critical_program_killed_by_a_signal_exits_128_plus_n() {
    let (out, _) = critical_run("sleep 0.3; kill -USR1 $$$$", "restart = \"never\"");
    assert_eq!(out.code(), 128 + libc::SIGUSR1, "{out}");
}

#[test]
fn critical_program_going_fatal_exits_with_its_code() {
    let (out, _) = critical_run("exit 4", "start_retries = 2");
    assert_eq!(out.code(), 4, "{out}");
    assert!(
        rinit_msgs(&out.stderr)
            .iter()
            .any(|m| m.contains("crit: starting -> fatal")),
        "{out}"
    );
}

#[test]
fn all_done_exits_with_the_highest_exit_code() {
    let dir = TempDir::new("sup-alldone");
    let m = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let cfg = write_config(
        &dir,
        &format!(
            r#"
[rinit]
exit_when = "all-done"

[[program]]
name = "five"
command = {}
restart = "never"

[[program]]
name = "three-later"
command = {}
restart = "never"
start_secs = "100ms"

[[program]]
name = "zero"
command = {}
restart = "never"

[[program]]
name = "four-expected"
command = {}
restart = "on-failure"
exit_codes = [4]
start_secs = "100ms"
"#,
            q(&format!("touch '{}'; exit 5", m("five"))),
            q(&format!("touch '{}'; sleep 0.4; exit 3", m("three-later"))),
            q(&format!("touch '{}'; exit 0", m("zero"))),
            q(&format!(
                "touch '{}'; sleep 0.3; exit 4",
                m("four-expected")
            )),
        ),
    );
    let mut p = supervise(&cfg);
    let code = p.exit_code(WAIT);
    let out = p.output();
    assert_eq!(
        code, 5,
        "the highest code, not the last program's (3)\n{out}"
    );
    for n in ["five", "three-later", "zero", "four-expected"] {
        assert!(dir.join(n).exists(), "{n} never ran\n{out}");
    }
    assert!(
        rinit_msgs(&out.stderr)
            .iter()
            .any(|m| m.contains("three-later: running -> exited")),
        "exits only once every program is done\n{out}"
    );
}
