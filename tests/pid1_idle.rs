//! No polling: an idle PID 1 sleeps in one blocking wait without a timer, so
//! over 5 s of nothing happening its context-switch counters do not move
//! (tini would wake up once a second from its sigtimedwait timeout).

mod common;
use common::*;
use std::time::Duration;

#[test]
fn idle_pid1_does_not_wake_up() {
    let mut p = Rinit::cmd(&[], &["sh", "-c", "echo ready 0; exec sleep 100"]).spawn();
    p.expect_ready();
    let rinit = p.rinit_pid();
    let child = p.child_pid();
    // Settle: the child has exec'd sleep, so nothing is left to happen.
    let settled = wait_until(std::time::Instant::now() + WAIT, || {
        std::fs::read_to_string(format!("/proc/{child}/comm"))
            .map(|c| c.trim() == "sleep")
            .unwrap_or(false)
    });
    assert!(settled, "child never became `sleep`");
    let before = ctxt_switches(rinit);
    // The measurement itself: 5 s of idleness.
    std::thread::sleep(Duration::from_secs(5));
    let after = ctxt_switches(rinit);
    assert!(alive(rinit), "rinit exited while idle");
    assert_eq!(
        before, after,
        "rinit woke up while idle: (voluntary, nonvoluntary) context switches went {before:?} -> {after:?}"
    );
    p.signal(rinit, libc::SIGTERM);
    assert_eq!(p.exit_code(WAIT), 143, "{}", p.output());
}
