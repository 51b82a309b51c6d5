//! Supervisor mode (SPEC §4), stopping and cleaning up, with rinit as PID 1
//! of a PID namespace: stop_timeout escalation, kill_group, cleanup of a
//! crashed program's process group before its restart, orphans swept at
//! shutdown, dependency order, and 50 programs at once.
//!
//! The namespace dies with rinit (the kernel SIGKILLs what is left), so
//! "gone" is proved while rinit runs, or by how a process died: rinit's
//! `reaped process N (killed by SIGTERM)` lines and the programs' own
//! records of the signals they got.

mod common;
#[path = "helpers/supervise_lib.rs"]
mod sup;

use common::*;
use std::time::{Duration, Instant};
use sup::*;

#[test]
fn program_ignoring_term_is_killed_after_stop_timeout() {
    let dir = TempDir::new("sup-stoptimeout");
    let cfg = write_config(
        &dir,
        r#"
[rinit]
shutdown_timeout = "8s"

[[program]]
name = "stubborn"
command = "trap '' TERM; echo up; exec sleep 1000"
start_secs = "100ms"
stop_timeout = "1s"
"#,
    );
    // A long final-sweep grace: if stop_timeout did not kill the program,
    // the sweep would take 10 s and the upper bound below fails.
    let mut p = supervise_with(&cfg, &[("RINIT_KILL_GRACE", "10000")]);
    p.expect_line(Stream::Out, WAIT, |l| l.ends_with("| up"));
    expect_msg(&mut p, WAIT, "stubborn: starting -> running");
    let rinit = p.rinit_pid();
    let prog = children(rinit)[0];
    let (code, took) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    assert_eq!(code, 0, "{out}");
    assert!(!alive(prog), "{out}");
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_millis(2500),
        "shutdown took {took:?}, want stop_timeout (1s) plus a little\n{out}"
    );
    assert!(
        has_msg(
            &out.stderr,
            &["stubborn: running -> stopping", "sent SIGTERM"]
        ),
        "{out}"
    );
    assert!(
        has_msg(
            &out.stderr,
            &["stubborn: stopping -> stopped", "killed by SIGKILL"]
        ),
        "the program itself was SIGKILLed after stop_timeout\n{out}"
    );
}

#[test]
fn shutdown_timeout_caps_a_longer_stop_timeout() {
    let dir = TempDir::new("sup-shutdowntimeout");
    let cfg = write_config(
        &dir,
        r#"
[rinit]
shutdown_timeout = "1s"

[[program]]
name = "stubborn"
command = "trap '' TERM; echo up; exec sleep 1000"
start_secs = "100ms"
stop_timeout = "30s"
"#,
    );
    let mut p = supervise_with(&cfg, &[("RINIT_KILL_GRACE", "10000")]);
    expect_msg(&mut p, WAIT, "stubborn: starting -> running");
    let (code, took) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    assert_eq!(code, 0, "{out}");
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_millis(3000),
        "shutdown took {took:?}, want shutdown_timeout (1s) plus a little\n{out}"
    );
}

/// One `supervised.py family` program; SIGTERM to rinit once it is up.
fn family_run(kill_group: bool) -> (TempDir, Output, Duration) {
    let dir = TempDir::new("sup-family");
    let cfg = write_config(
        &dir,
        &format!(
            r#"
[[program]]
name = "family"
command = {}
start_secs = "100ms"
stop_timeout = "{}"
kill_group = {kill_group}
"#,
            supervised("family", dir.path(), &[]),
            if kill_group { "5s" } else { "1s" }
        ),
    );
    let mut p = supervise(&cfg);
    p.expect_line(Stream::Out, WAIT, |l| l.contains("| ready "));
    expect_msg(&mut p, WAIT, "family: starting -> running");
    let (_, took) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    (dir, out, took)
}

#[test]
fn kill_group_sends_the_stop_signal_to_the_programs_children_too() {
    let (dir, out, took) = family_run(true);
    assert_eq!(out.code(), 0, "{out}");
    let evs = events(dir.path());
    let child_term = first(&evs, "child-term");
    let main_exit = first(&evs, "main-exit");
    assert!(child_term.t <= main_exit.t, "{evs:#?}");
    // The main process exits only once its child is gone: a prompt, clean
    // exit proves the child got the signal from rinit while main was alive.
    assert!(
        has_msg(
            &out.stderr,
            &["family: stopping -> stopped", "exit status 0"]
        ),
        "{out}"
    );
    assert!(
        took < Duration::from_secs(3),
        "took {took:?} (stop_timeout is 5s)\n{out}"
    );
}

#[test]
fn without_kill_group_only_the_main_process_gets_the_stop_signal() {
    let (dir, out, took) = family_run(false);
    assert_eq!(out.code(), 0, "{out}");
    let evs = events(dir.path());
    let main_term = first(&evs, "main-term");
    assert!(
        !evs.iter().any(|e| e.what == "main-exit"),
        "the child did not get SIGTERM, so main waited until SIGKILL: {evs:#?}"
    );
    assert!(
        has_msg(
            &out.stderr,
            &["family: stopping -> stopped", "killed by SIGKILL"]
        ),
        "{out}"
    );
    // Its child is still cleaned up afterwards, as a leftover.
    let child_term = first(&evs, "child-term");
    assert!(child_term.t >= main_term.t + 0.9, "{evs:#?}");
    assert!(took >= Duration::from_secs(1), "took {took:?}\n{out}");
}

#[test]
fn crashed_programs_group_is_cleaned_up_before_the_restart() {
    let obeys = TempDir::new("sup-crashgroup-obeys");
    let ignores = TempDir::new("sup-crashgroup-ignores");
    let cfg = write_config(
        &obeys,
        &format!(
            r#"
[[program]]
name = "obeys"
command = {}
start_secs = "200ms"
stop_timeout = "1s"

[[program]]
name = "ignores"
command = {}
start_secs = "200ms"
stop_timeout = "1s"
"#,
            supervised("crash-leaves-child", obeys.path(), &[]),
            supervised(
                "crash-leaves-child",
                ignores.path(),
                &["--child-ignores-term"]
            ),
        ),
    );
    let mut p = supervise(&cfg);
    let obeys_ev = wait_event(&mut p, obeys.path(), "child-ready", 2);
    let ignores_ev = wait_event(&mut p, ignores.path(), "child-ready", 2);
    let (code, _) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    assert_eq!(code, 0, "{out}");
    for (name, evs) in [("obeys", &obeys_ev), ("ignores", &ignores_ev)] {
        let starts: Vec<&Event> = evs.iter().filter(|e| e.what == "start").collect();
        assert_eq!(starts.len(), 2, "{name}: {evs:#?}\n{out}");
        let exit = first(evs, "exit");
        assert!(
            evs.iter().any(|e| e.what == "old-child-gone"),
            "{name}: the new run saw the old child still alive: {evs:#?}\n{out}"
        );
        assert!(
            has_msg(
                &out.stderr,
                &[
                    &format!("{name}: processes left in group"),
                    "sending SIGTERM"
                ]
            ),
            "{out}"
        );
        if name == "obeys" {
            let term = first(evs, "child-term");
            assert!(term.t < starts[1].t, "{evs:#?}");
        } else {
            assert!(
                starts[1].t - exit.t >= 0.95,
                "{name}: restarted {:.3}s after the crash, before stop_timeout (1s) \
                 killed the child: {evs:#?}\n{out}",
                starts[1].t - exit.t
            );
            assert!(
                has_msg(&out.stderr, &["ignores: still alive after 1s", "SIGKILL"]),
                "{out}"
            );
        }
    }
}

#[test]
fn orphaned_daemons_are_terminated_at_shutdown() {
    let polite = TempDir::new("sup-orphan-polite");
    let deaf = TempDir::new("sup-orphan-deaf");
    let cfg = write_config(
        &polite,
        &format!(
            r#"
[[program]]
name = "polite"
command = {}
start_secs = "100ms"

[[program]]
name = "deaf"
command = {}
start_secs = "100ms"
"#,
            supervised("daemon", polite.path(), &[]),
            supervised("daemon", deaf.path(), &["--ignore-term"]),
        ),
    );
    let mut p = supervise_with(&cfg, &[("RINIT_KILL_GRACE", "500")]);
    let polite_pid: i32 = wait_file(&mut p, &polite.join("daemon.pid"), WAIT)
        .parse()
        .unwrap();
    let deaf_pid: i32 = wait_file(&mut p, &deaf.join("daemon.pid"), WAIT)
        .parse()
        .unwrap();
    expect_msgs_all(
        &mut p,
        WAIT,
        &["polite: starting -> running", "deaf: starting -> running"],
    );
    let rinit = p.rinit_pid();
    let sid = |host: i32| -> i32 {
        let s = std::fs::read_to_string(format!("/proc/{host}/stat")).unwrap();
        s[s.rfind(')').unwrap() + 2..]
            .split_whitespace()
            .nth(3)
            .unwrap()
            .parse()
            .unwrap()
    };
    for (what, pid) in [("polite", polite_pid), ("deaf", deaf_pid)] {
        let host = host_pid(rinit, pid)
            .unwrap_or_else(|| p.fail(&format!("{what} daemon {pid} not running")));
        let (_, ppid) = stat(host).unwrap();
        assert_eq!(ppid, rinit, "{what} daemon is an orphan, adopted by PID 1");
        let polite_dir = polite.path().to_string_lossy().into_owned();
        let main = children(rinit)
            .into_iter()
            .filter(|&c| c != host)
            .find(|&c| {
                std::fs::read_to_string(format!("/proc/{c}/cmdline")).is_ok_and(|c| {
                    c.contains(&polite_dir) == (what == "polite") && c.contains("supervised.py")
                })
            })
            .unwrap_or_else(|| p.fail(&format!("no main process for {what}")));
        assert_ne!(
            sid(host),
            sid(main),
            "{what} daemon is in a session of its own"
        );
    }
    let (code, took) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    assert_eq!(code, 0, "{out}");
    // The kernel would SIGKILL them when PID 1 exits; SIGTERM came from rinit.
    assert!(
        has_msg(
            &out.stderr,
            &[
                &format!("reaped process {polite_pid} "),
                "killed by SIGTERM"
            ]
        ),
        "the polite daemon must die of rinit's SIGTERM\n{out}"
    );
    assert!(
        has_msg(
            &out.stderr,
            &[&format!("reaped process {deaf_pid} "), "killed by SIGKILL"]
        ),
        "the deaf daemon must be SIGKILLed by rinit after the grace\n{out}"
    );
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(3),
        "took {took:?} (RINIT_KILL_GRACE=500)\n{out}"
    );
}

/// `echo start NAME <ns> >> LOG`; on SIGTERM `term NAME`, linger 0.3 s,
/// `done NAME`, exit 0.
fn ordered(log: &std::path::Path, name: &str) -> String {
    let l = log.to_string_lossy();
    q(&format!(
        "echo start {name} $(date +%s%N) >> '{l}'; \
         trap 'echo term {name} $(date +%s%N) >> \"{l}\"; sleep 0.3; \
         echo done {name} $(date +%s%N) >> \"{l}\"; exit 0' TERM; \
         sleep 1000 & wait"
    ))
}

#[test]
fn dependencies_start_in_order_and_stop_in_reverse() {
    let dir = TempDir::new("sup-deps");
    let log = dir.join("log");
    // Declared in reverse so file order cannot pass for dependency order.
    let cfg = write_config(
        &dir,
        &format!(
            r#"
[[program]]
name = "c"
command = {}
depends_on = ["b"]
start_secs = "500ms"

[[program]]
name = "b"
command = {}
depends_on = ["a"]
start_secs = "500ms"

[[program]]
name = "a"
command = {}
start_secs = "500ms"
"#,
            ordered(&log, "c"),
            ordered(&log, "b"),
            ordered(&log, "a"),
        ),
    );
    let mut p = supervise(&cfg);
    expect_msg(&mut p, WAIT, "c: starting -> running");
    let (code, _) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    assert_eq!(code, 0, "{out}");
    let lines = read_lines(&log);
    let at = |what: &str, name: &str| -> f64 {
        lines
            .iter()
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() == 3 && f[0] == what && f[1] == name)
                    .then(|| f[2].parse::<f64>().unwrap() / 1e9)
            })
            .unwrap_or_else(|| panic!("no `{what} {name}` in {lines:#?}\n{out}"))
    };
    // b starts only once a is running (start_secs = 500ms after its spawn).
    assert!(at("start", "b") - at("start", "a") >= 0.4, "{lines:#?}");
    assert!(at("start", "c") - at("start", "b") >= 0.4, "{lines:#?}");
    // Stop: c first, and b only once c is down; then a.
    assert!(at("term", "b") >= at("done", "c"), "{lines:#?}\n{out}");
    assert!(at("term", "a") >= at("done", "b"), "{lines:#?}\n{out}");
}

#[test]
fn fifty_programs_start_and_stop_cleanly() {
    let dir = TempDir::new("sup-fifty");
    let mut cfg = String::from("[rinit]\nshutdown_timeout = \"5s\"\n");
    for i in 0..50 {
        cfg.push_str(&format!(
            "\n[[program]]\nname = \"p{i:02}\"\ncommand = {}\nstart_secs = \"100ms\"\n",
            q(&format!(
                "echo $$$$ > '{}'; exec sleep 1000",
                dir.join(format!("p{i:02}")).display()
            ))
        ));
    }
    let cfg = write_config(&dir, &cfg);
    let mut p = supervise(&cfg);
    let deadline = Instant::now() + Duration::from_secs(30);
    let markers = || {
        (0..50)
            .filter(|i| dir.join(format!("p{i:02}")).exists())
            .count()
    };
    if !wait_until(deadline, || markers() == 50) {
        let n = markers();
        p.fail(&format!("only {n} of 50 programs started"));
    }
    let rinit = p.rinit_pid();
    // Every program is up: rinit plus 50 sleeps in the namespace.
    if !wait_until(Instant::now() + WAIT, || {
        processes_in_ns(rinit)
            .iter()
            .filter(|&&q| q != rinit && matches!(stat(q), Some((_, pp)) if pp == rinit))
            .count()
            == 50
    }) {
        p.fail("50 programs are not all children of rinit");
    }
    let procs: Vec<i32> = processes_in_ns(rinit);
    let (code, took) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    assert_eq!(code, 0, "{out}");
    assert!(took < Duration::from_secs(2), "took {took:?}\n{out}");
    let stopped = rinit_msgs(&out.stderr)
        .iter()
        .filter(|m| m.contains("-> stopped (pid") && m.contains("killed by SIGTERM"))
        .count();
    assert_eq!(stopped, 50, "{out}");
    assert!(!out.stderr.contains("SIGKILL"), "{out}");
    for q in procs {
        assert!(!alive(q), "process {q} left behind\n{out}");
    }
}

#[test]
fn sigint_and_sigquit_shut_down_like_sigterm() {
    for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM] {
        let dir = TempDir::new("sup-signals");
        let cfg = write_config(
            &dir,
            r#"
[[program]]
name = "up"
command = "exec sleep 1000"
start_secs = "100ms"
"#,
        );
        let mut p = supervise(&cfg);
        expect_msg(&mut p, WAIT, "up: starting -> running");
        let (code, took) = stop_with(&mut p, sig, WAIT);
        let out = p.output();
        let name = sig_name(sig);
        assert_eq!(code, 0, "{name}\n{out}");
        assert!(
            took < std::time::Duration::from_secs(2),
            "{name}: {took:?}\n{out}"
        );
        assert!(
            has_msg(&out.stderr, &[&format!("shutting down: received {name}")]),
            "{out}"
        );
        assert!(
            has_msg(&out.stderr, &["up: running -> stopping", "sent SIGTERM"]),
            "{name}: programs get their stop signal\n{out}"
        );
    }
}

#[test]
fn stop_signal_is_what_programs_get_at_shutdown() {
    let dir = TempDir::new("sup-stopsignal");
    // The shell's foreground sleep dies of SIGQUIT: any core file lands in
    // the temp dir.
    let cfg = write_config(
        &dir,
        &format!(
            r#"
[[program]]
name = "quitter"
directory = {}
command = "trap 'echo got-quit; exit 0' QUIT; trap 'echo got-term' TERM; echo up; while :; do sleep 0.05; done"
start_secs = "100ms"
stop_signal = "SIGQUIT"
stop_timeout = "3s"
"#,
            qp(dir.path())
        ),
    );
    let mut p = supervise(&cfg);
    p.expect_line(Stream::Out, WAIT, |l| l.ends_with("| up"));
    expect_msg(&mut p, WAIT, "quitter: starting -> running");
    let (code, took) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        program_lines(&out.stdout, "quitter"),
        ["up", "got-quit"],
        "{out}"
    );
    assert!(
        has_msg(
            &out.stderr,
            &["quitter: running -> stopping", "sent SIGQUIT"]
        ),
        "{out}"
    );
    assert!(
        has_msg(
            &out.stderr,
            &["quitter: stopping -> stopped", "exit status 0"]
        ),
        "{out}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?}\n{out}");
}

/// SPEC §4: "When a program's main process dies …, whatever it left behind
/// in its process group is cleaned up before anything else happens to that
/// program … A restart must never collide with orphans of the previous run"
/// — with no exception for `kill_group = false`.
/// Repro: a program `supervised.py crash-leaves-child DIR` with
/// `kill_group = false`, start_secs = "200ms": DIR/events shows
/// `old-child-alive` on the second start (the leftover only gets SIGTERM in
/// the final sweep at shutdown).
#[test]
fn crashed_programs_group_is_cleaned_up_even_without_kill_group() {
    let dir = TempDir::new("sup-crashgroup-nokg");
    let cfg = write_config(
        &dir,
        &format!(
            r#"
[[program]]
name = "nokg"
command = {}
start_secs = "200ms"
stop_timeout = "1s"
kill_group = false
"#,
            supervised("crash-leaves-child", dir.path(), &[]),
        ),
    );
    let mut p = supervise(&cfg);
    let evs = wait_event(&mut p, dir.path(), "child-ready", 2);
    let (code, _) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    assert_eq!(code, 0, "{out}");
    assert!(
        evs.iter().any(|e| e.what == "old-child-gone"),
        "the new run saw the old child still alive: {evs:#?}\n{out}"
    );
}
