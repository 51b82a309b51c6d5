//! Zombie reaping: as PID 1, 5000 double-forked orphans that exit at once are
//! all reaped; when not PID 1, `-s` / `TINI_SUBREAPER` make rinit the
//! orphans' reaper, and without them rinit warns that it cannot reap. Also
//! the leftover cleanup that differs from tini: once the main child exits,
//! whatever is left gets SIGTERM, then SIGKILL after the grace period (2 s).
//!
//! `tests/helpers/orphans.py` makes the orphans, records which pid each was
//! re-parented to, and exits 0 only if that was its own parent (rinit) and no
//! zombie is left in the namespace (it scans its own /proc, with a deadline).

mod common;
use common::*;
use std::time::{Duration, Instant};

fn orphans(opts: &[&str], mode: Mode, n: usize, envs: &[(&str, &str)]) -> Output {
    let n = n.to_string();
    let mut r = Rinit::cmd(opts, &py("orphans.py", &[&n])).mode(mode);
    for (k, v) in envs {
        r = r.env(k, v);
    }
    let mut p = r.spawn();
    p.exit_code(Duration::from_secs(60));
    p.output()
}

#[test]
fn five_thousand_orphans_are_reaped_as_pid1() {
    let out = orphans(&[], Mode::Pid1, 5000, &[]);
    assert_eq!(out.code(), 0, "{out}");
    let lines = out.stdout_lines();
    assert!(lines.contains(&"orphans 5000"), "{out}");
    assert!(lines.contains(&"reapers 1"), "{out}");
    assert!(lines.contains(&"zombies 0"), "{out}");
}

#[test]
fn no_zombie_left_while_running_as_pid1() {
    // Seen from outside: after the orphans are gone, nothing in rinit's
    // namespace is in state Z (checked while rinit is still running).
    let mut p = Rinit::cmd(
        &[],
        &[
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8 9 10; do (sleep 0 &) ; done; echo ready 0; exec sleep 100",
        ],
    )
    .spawn();
    p.expect_ready();
    let rinit = p.rinit_pid();
    let ok = wait_until(Instant::now() + WAIT, || zombies_in_ns(rinit).is_empty());
    if !ok {
        let z = zombies_in_ns(rinit);
        p.fail(&format!("zombies left in the namespace: {z:?}"));
    }
}

#[test]
fn dash_w_warns_about_reaped_zombies() {
    let out = orphans(&["-w"], Mode::Pid1, 3, &[]);
    assert_eq!(out.code(), 0, "{out}");
    let warnings = out
        .stderr_lines()
        .into_iter()
        .filter(|l| contains_ci(l, "reaped zombie process with pid="))
        .count();
    assert!(warnings >= 3, "want a reap warning per orphan\n{out}");
}

#[test]
fn no_reap_warnings_without_dash_w() {
    let out = orphans(&[], Mode::Pid1, 3, &[]);
    assert_eq!(out.code(), 0, "{out}");
    assert!(!contains_ci(&out.stderr, "reaped zombie"), "{out}");
}

#[test]
fn dash_s_reaps_orphans_when_not_pid1() {
    let out = orphans(&["-s"], Mode::NotPid1, 200, &[]);
    assert_eq!(out.code(), 0, "orphans not re-parented to rinit\n{out}");
    assert!(
        !contains_ci(&out.stderr, "zombie"),
        "no warning expected\n{out}"
    );
}

#[test]
fn tini_subreaper_env_reaps_orphans_when_not_pid1() {
    let out = orphans(&[], Mode::NotPid1, 200, &[("TINI_SUBREAPER", "1")]);
    assert_eq!(out.code(), 0, "orphans not re-parented to rinit\n{out}");
    assert!(
        !contains_ci(&out.stderr, "zombie"),
        "no warning expected\n{out}"
    );
}

#[test]
fn warns_once_when_neither_pid1_nor_subreaper() {
    let out = Rinit::cmd(&[], &["true"]).mode(Mode::NotPid1).run();
    assert_eq!(out.code(), 0, "{out}");
    let mentions = out
        .stderr_lines()
        .into_iter()
        .filter(|l| contains_ci(l, "zombie"))
        .count();
    assert_eq!(mentions, 1, "want exactly one zombie warning line\n{out}");
}

#[test]
fn no_warning_as_pid1() {
    let out = Rinit::cmd(&[], &["true"]).run();
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.stderr, "", "PID 1 should be silent\n{out}");
}

// ---- leftovers after the main child exits (rinit's difference from tini) ----

/// Start `leftover.py ARGS`, find the grandchild's host pid, then let the
/// main child exit (it waits for a line on stdin).
fn leftover(args: &[&str]) -> (Proc, i32) {
    let mut p = Rinit::cmd(&[], &py("leftover.py", args))
        .piped_stdin()
        .spawn();
    let pid = leftover_pid(&mut p);
    p.write_stdin("go\n");
    (p, pid)
}

/// The grandchild's host pid (matched by its namespace pid).
fn leftover_pid(p: &mut Proc) -> i32 {
    let rinit = p.rinit_pid();
    let l = p.expect_line(Stream::Out, WAIT, |l| l.starts_with("leftover ready "));
    let ns_pid: i32 = l["leftover ready ".len()..].parse().unwrap();
    // Map the namespace pid to the host pid via NSpid in /proc/PID/status.
    let found = processes_in_ns(rinit).into_iter().find(|&h| {
        std::fs::read_to_string(format!("/proc/{h}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("NSpid:"))
                    .map(|l| l.split_whitespace().last() == Some(&ns_pid.to_string()))
            })
            .unwrap_or(false)
    });
    match found {
        Some(h) => h,
        None => p.fail("cannot find the leftover process"),
    }
}

#[test]
fn leftover_ignoring_term_is_killed_after_the_grace() {
    let (mut p, grandchild) = leftover(&["7", "--ignore-term"]);
    p.expect_stdout("main exiting");
    let start = Instant::now();
    // It is asked first …
    p.expect_stdout("leftover SIGTERM");
    let code = p.exit_code(Duration::from_secs(10));
    let took = start.elapsed();
    let out = p.output();
    assert_eq!(code, 7, "rinit must exit with the main child's code\n{out}");
    // … and killed only after the 2 s grace.
    assert!(
        took >= Duration::from_millis(1500),
        "exited after {took:?}, before the grace\n{out}"
    );
    assert!(
        took < Duration::from_secs(6),
        "exited after {took:?}, grace is 2 s\n{out}"
    );
    assert!(!alive(grandchild), "leftover still exists");
}

#[test]
fn leftover_exiting_on_term_lets_rinit_exit_promptly() {
    let (mut p, _) = leftover(&["5"]);
    p.expect_stdout("main exiting");
    let start = Instant::now();
    p.expect_stdout("leftover SIGTERM");
    let code = p.exit_code(Duration::from_secs(10));
    let took = start.elapsed();
    let out = p.output();
    assert_eq!(code, 5, "{out}");
    assert!(
        took < Duration::from_millis(1500),
        "took {took:?}: rinit waited although nothing was left\n{out}"
    );
}

#[test]
fn daemonized_leftover_in_another_session_gets_term() {
    // An orphan in its own session and process group is still asked to go.
    let (mut p, grandchild) = leftover(&["9", "--daemon"]);
    p.expect_stdout("main exiting");
    p.expect_stdout("leftover SIGTERM");
    let code = p.exit_code(Duration::from_secs(10));
    assert_eq!(code, 9, "{}", p.output());
    assert!(!alive(grandchild));
}

#[test]
fn main_child_exit_is_not_delayed_without_leftovers() {
    let start = Instant::now();
    let out = Rinit::cmd(&[], &["sh", "-c", "exit 4"]).run();
    assert_eq!(out.code(), 4, "{out}");
    let took = start.elapsed();
    assert!(took < Duration::from_millis(1500), "took {took:?}\n{out}");
}
