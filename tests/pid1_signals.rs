//! Signal forwarding as PID 1: a signal sent from outside the namespace to
//! rinit's host pid reaches the child (or, with `-g` /
//! `TINI_KILL_PROCESS_GROUP`, the child's whole process group). The child is
//! `tests/helpers/print_signals.py`, which prints one line per signal.

mod common;
use common::*;

/// Send each signal to rinit and wait for the child to report it, in order.
fn forwards(opts: &[&str], envs: &[(&str, &str)], sigs: &[i32]) {
    let mut r = Rinit::cmd(opts, &py("print_signals.py", &[]));
    for (k, v) in envs {
        r = r.env(k, v);
    }
    let mut p = r.spawn();
    p.expect_ready();
    let rinit = p.rinit_pid();
    for &sig in sigs {
        p.signal(rinit, sig);
        let name = sig_name(sig);
        p.expect_line(Stream::Out, WAIT, |l| l == name);
    }
    // TERM ends it: the child exits 143 and so must rinit.
    p.signal(rinit, libc::SIGTERM);
    p.expect_stdout("SIGTERM");
    let code = p.exit_code(WAIT);
    assert_eq!(code, 143, "{}", p.output());
}

#[test]
fn common_signals_reach_the_child() {
    forwards(
        &[],
        &[],
        &[
            libc::SIGHUP,
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGWINCH,
            libc::SIGCONT,
        ],
    );
}

#[test]
fn other_catchable_signals_reach_the_child() {
    // "Every catchable signal except SIGCHLD and the synchronous ones":
    // tini forwards all of these (its mask is sigfillset minus the faults).
    forwards(
        &[],
        &[],
        &[
            libc::SIGALRM,
            libc::SIGPIPE,
            libc::SIGTSTP,
            libc::SIGURG,
            libc::SIGXCPU,
            libc::SIGXFSZ,
            libc::SIGVTALRM,
            libc::SIGPROF,
            libc::SIGPWR,
            libc::SIGRTMIN() + 2,
        ],
    );
}

/// Sends USR1 to rinit; with group forwarding both the child and a
/// grandchild in its process group must report it.
fn group_forwarding(opts: &[&str], envs: &[(&str, &str)]) {
    let mut r = Rinit::cmd(opts, &py("print_signals.py", &["--group-child"]));
    for (k, v) in envs {
        r = r.env(k, v);
    }
    let mut p = r.spawn();
    p.expect_line(Stream::Out, WAIT, |l| l.starts_with("child ready "));
    p.expect_ready();
    let rinit = p.rinit_pid();
    p.signal(rinit, libc::SIGUSR1);
    p.expect_stdout_all(&["SIGUSR1", "child SIGUSR1"]);
    p.signal(rinit, libc::SIGTERM);
    let code = p.exit_code(WAIT);
    let out = p.output();
    assert_eq!(code, 143, "{out}");
    assert!(out.stdout_lines().contains(&"child SIGTERM"), "{out}");
}

#[test]
fn dash_g_forwards_to_the_process_group() {
    group_forwarding(&["-g"], &[]);
}

#[test]
fn tini_kill_process_group_env_forwards_to_the_process_group() {
    group_forwarding(&[], &[("TINI_KILL_PROCESS_GROUP", "1")]);
}

#[test]
fn without_g_only_the_child_gets_the_signal() {
    let mut p = Rinit::cmd(&[], &py("print_signals.py", &["--group-child"])).spawn();
    p.expect_line(Stream::Out, WAIT, |l| l.starts_with("child ready "));
    p.expect_ready();
    let rinit = p.rinit_pid();
    let child = p.child_pid();
    let grandchild = children(child)[0];
    p.signal(rinit, libc::SIGUSR1);
    p.expect_stdout("SIGUSR1");
    // Now poke the grandchild directly. sigwaitinfo returns the lowest
    // pending signal first, so had USR1 (10) reached it, it would print
    // SIGUSR1 before SIGUSR2 (12): its first line decides.
    p.signal(grandchild, libc::SIGUSR2);
    let first = p.expect_line(Stream::Out, WAIT, |l| l.starts_with("child SIG"));
    assert_eq!(first, "child SIGUSR2", "{}", p.transcript());
}

#[test]
fn child_runs_in_its_own_process_group() {
    let mut p = Rinit::cmd(&[], &py("print_signals.py", &[])).spawn();
    p.expect_ready();
    let rinit = p.rinit_pid();
    let child = p.child_pid();
    let pgrp = |pid: i32| {
        // SAFETY: getpgid(2) has no memory-safety preconditions.
        unsafe { libc::getpgid(pid) }
    };
    assert_eq!(pgrp(child), child, "child is not a process group leader");
    assert_ne!(pgrp(child), pgrp(rinit));
}
