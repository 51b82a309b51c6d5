//! Exit status propagation as PID 1: every code 0..=255, 128+N for a child
//! killed by signal N, and tini's `-e` remapping (tini's
//! `test/run_inner_tests.py` checks the same, inclusive and exclusive).

mod common;
use common::*;

const THREADS: usize = 6;

fn exit_code_of(opts: &[&str], script: &str) -> Result<i32, String> {
    let out = Rinit::cmd(opts, &["sh", "-c", script]).run();
    out.status
        .code()
        .ok_or_else(|| format!("rinit {opts:?} -- sh -c {script:?}: no exit code\n{out}"))
}

#[test]
fn every_exit_code_is_propagated() {
    let codes: Vec<i32> = (0..=255).collect();
    let failures = parallel(&codes, THREADS, |&n| {
        match exit_code_of(&[], &format!("exit {n}")) {
            Ok(c) if c == n => None,
            Ok(c) => Some(format!("exit {n}: rinit exited {c}")),
            Err(e) => Some(e),
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn remap_inclusive_and_exclusive_for_every_code() {
    // -e N turns N into 0 (inclusive); -e N+1 leaves N alone (exclusive).
    let codes: Vec<i32> = (0..=255).collect();
    let failures = parallel(&codes, THREADS, |&n| {
        let script = format!("exit {n}");
        let same = n.to_string();
        let other = ((n + 1) % 256).to_string();
        let mut errs = Vec::new();
        match exit_code_of(&["-e", &same], &script) {
            Ok(0) => {}
            Ok(c) => errs.push(format!("-e {n} with exit {n}: got {c}, want 0")),
            Err(e) => errs.push(e),
        }
        match exit_code_of(&["-e", &other], &script) {
            Ok(c) if c == n => {}
            Ok(c) => errs.push(format!("-e {other} with exit {n}: got {c}, want {n}")),
            Err(e) => errs.push(e),
        }
        (!errs.is_empty()).then(|| errs.join("\n"))
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn signal_death_is_128_plus_n() {
    for (sig, name) in [
        (libc::SIGTERM, "TERM"),
        (libc::SIGKILL, "KILL"),
        (libc::SIGUSR1, "USR1"),
        (libc::SIGHUP, "HUP"),
        (libc::SIGSEGV, "SEGV"),
    ] {
        let code = exit_code_of(&[], &format!("kill -{name} $$")).unwrap();
        assert_eq!(code, 128 + sig, "child killed by SIG{name}");
    }
}

#[test]
fn remap_applies_to_signal_deaths() {
    assert_eq!(exit_code_of(&["-e", "143"], "kill -TERM $$").unwrap(), 0);
    assert_eq!(exit_code_of(&["-e", "137"], "kill -TERM $$").unwrap(), 143);
}

#[test]
fn remap_is_repeatable() {
    for (script, want) in [("exit 1", 0), ("exit 2", 0), ("exit 3", 3), ("exit 0", 0)] {
        assert_eq!(
            exit_code_of(&["-e", "1", "-e", "2"], script).unwrap(),
            want,
            "-e 1 -e 2 with `{script}`"
        );
    }
}

#[test]
fn exit_code_of_a_real_program() {
    // Not only sh: the exit status of an exec'd interpreter.
    let out = Rinit::cmd(&[], &py("print_signals.py", &["--bogus"])).run();
    assert_eq!(out.code(), 1, "{out}");
}
