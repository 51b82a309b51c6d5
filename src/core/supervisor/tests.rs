//! One program's life under the supervisor: start, backoff, fatal, restart
//! policies, group cleanup. Tables with an explicit clock.

use super::harness::*;
use crate::config::RestartPolicy;
use crate::core::event::{Action, ChildId, Event, Target};
use crate::core::exit::ProcessEnd;

/// php-fpm spawned as pid 100 at t=0.
fn one(p: crate::config::ProgramSpec) -> H {
    let mut h = H::new(config(vec![p]));
    assert_eq!(h.start(), vec![spawn(0)]);
    assert!(h.spawned(0, 100).is_empty());
    assert_eq!(h.texts(), ["php-fpm: stopped -> starting (pid 100)"]);
    h
}

/// php-fpm running as pid 100 since t=1000.
fn running(p: crate::config::ProgramSpec) -> H {
    let mut h = one(p);
    assert!(h.tick(1000).is_empty());
    assert_eq!(h.state(0), "running");
    assert_eq!(h.texts(), ["php-fpm: starting -> running (pid 100)"]);
    h
}

#[test]
fn failed_starts_back_off_doubling_up_to_the_cap() {
    let mut p = prog("php-fpm");
    p.start_retries = 10;
    let mut h = one(p);
    let (mut t, mut pid) = (0, 100);
    for (n, delay) in [1000, 2000, 4000, 4000, 4000].into_iter().enumerate() {
        if n > 0 {
            assert!(h.tick(t - 1).is_empty(), "not before the backoff is due");
            assert_eq!(h.tick(t), vec![spawn(0)]);
            assert!(h.spawned(0, pid).is_empty());
        }
        h.at(t + 100);
        assert!(h.exited(pid, exit(1)).is_empty());
        assert_eq!(h.state(0), "backoff");
        assert_eq!(h.deadline(), Some(ms(t + 100 + delay)));
        let line = h.texts().pop().unwrap_or_default();
        let want = format!(
            "php-fpm: starting -> backoff (pid {pid}, exit status 1); retry in {:?}",
            ms(delay)
        );
        assert_eq!(line, want);
        t += 100 + delay;
        pid += 1;
    }
}

#[test]
fn a_good_start_resets_the_backoff() {
    let mut p = prog("php-fpm");
    p.start_retries = 10;
    let mut h = one(p);
    h.at(100).exited(100, exit(1)); // retry in 1s
    h.tick(1100);
    h.spawned(0, 101);
    h.at(1200).exited(101, exit(1)); // retry in 2s
    assert_eq!(h.tick(3200), vec![spawn(0)]);
    h.spawned(0, 102);
    assert!(h.tick(4200).is_empty());
    assert_eq!(h.state(0), "running");
    h.texts();
    // Died after running: immediate restart, and the counter starts over.
    assert_eq!(h.at(9000).exited(102, exit(1)), vec![spawn(0)]);
    h.spawned(0, 103);
    assert_eq!(
        h.texts(),
        ["php-fpm: running -> starting (pid 103, after pid 102, exit status 1)"]
    );
    h.at(9100).exited(103, exit(1));
    assert!(h.texts()[0].ends_with("retry in 1s"));
    assert_eq!(h.deadline(), Some(ms(10100)));
}

#[test]
fn fatal_after_start_retries() {
    let mut h = one(prog("php-fpm"));
    h.at(10).exited(100, exit(1));
    h.tick(1010);
    h.spawned(0, 101);
    h.at(1020).exited(101, exit(1));
    h.tick(3020);
    h.spawned(0, 102);
    h.texts();
    assert!(h.at(3030).exited(102, exit(1)).is_empty());
    assert_eq!(h.state(0), "fatal");
    let m = h.messages();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].level, log::Level::Error);
    assert_eq!(
        m[0].text,
        "php-fpm: starting -> fatal (pid 102, exit status 1); giving up after 3 failed starts"
    );
    assert_eq!(h.deadline(), None, "fatal is idle");
    assert!(h.tick(999_999).is_empty());
}

#[test]
fn spawn_failure_is_a_failed_start_with_a_clear_line() {
    let mut h = H::new(config(vec![prog("php-fpm")]));
    h.start();
    let failed = |h: &mut H| {
        h.ev(Event::SpawnFailed {
            id: ChildId(0),
            errno: libc::ENOENT,
            message: "No such file or directory".into(),
        })
    };
    assert!(failed(&mut h).is_empty());
    let m = h.messages();
    assert_eq!(m[0].level, log::Level::Warn);
    assert_eq!(
        m[0].text,
        "php-fpm: unable to spawn: No such file or directory; retry in 1s"
    );
    assert_eq!(h.state(0), "backoff");
    assert_eq!(h.tick(1000), vec![spawn(0)]);
    failed(&mut h);
    h.tick(3000);
    h.texts();
    failed(&mut h);
    assert_eq!(h.state(0), "fatal");
    assert!(h.texts()[0].ends_with("giving up after 3 failed starts"));
}

#[test]
fn restart_policies_after_a_good_run() {
    use RestartPolicy::*;
    let table: &[(RestartPolicy, &[u8], ProcessEnd, bool)] = &[
        (Always, &[0], exit(0), true),
        (Always, &[0], ProcessEnd::Signaled(9), true),
        (OnFailure, &[0], exit(0), false),
        (OnFailure, &[0, 2], exit(2), false),
        (OnFailure, &[0], exit(1), true),
        (OnFailure, &[0, 143], ProcessEnd::Signaled(15), true),
        (Never, &[0], exit(1), false),
        (Never, &[0], exit(0), false),
    ];
    for &(policy, codes, end, restarts) in table {
        let mut p = prog("php-fpm");
        p.restart = policy;
        p.exit_codes = codes.to_vec();
        let mut h = running(p);
        let acts = h.at(5000).exited(100, end);
        let case = format!("{policy:?} {codes:?} {end:?}");
        if restarts {
            assert_eq!(acts, vec![spawn(0)], "{case}");
        } else {
            assert!(acts.is_empty(), "{case}");
            assert_eq!(h.state(0), "exited", "{case}");
            assert_eq!(h.deadline(), None, "{case}");
        }
    }
}

#[test]
fn quick_exit_under_never_is_exited_not_a_failed_start() {
    let mut p = prog("migrate");
    p.restart = RestartPolicy::Never;
    let mut h = H::new(config(vec![p]));
    h.start();
    h.spawned(0, 100);
    assert!(h.at(10).exited(100, exit(0)).is_empty());
    assert_eq!(h.state(0), "exited");
}

#[test]
fn never_two_live_copies() {
    let mut h = running(prog("php-fpm"));
    // A spawn report the core did not ask for is killed, not adopted.
    assert_eq!(h.spawned(0, 200), vec![kill(Target::Pid(200), KILL)]);
    assert_eq!(h.sv.instance(ChildId(0)).pid(), Some(100));
    assert!(h.exited(200, exit(0)).is_empty(), "unknown pid: ignored");
    assert!(h.ev(Event::GroupEmpty { pgid: 100 }).is_empty());
    assert_eq!(h.state(0), "running");
}

#[test]
fn start_secs_zero_is_running_at_once() {
    let mut p = prog("php-fpm");
    p.start_secs = ms(0);
    let mut h = H::new(config(vec![p]));
    h.start();
    h.spawned(0, 100);
    assert_eq!(h.state(0), "running");
    assert_eq!(h.deadline(), None);
}

#[test]
fn an_empty_group_costs_no_signal_before_the_restart() {
    let mut p = prog("php-fpm");
    p.kill_group = true;
    let mut h = running(p);
    h.linger = vec![100];
    assert_eq!(
        h.at(5000).exited(100, exit(1)),
        vec![Action::WatchGroup(100)]
    );
    assert_eq!(h.state(0), "stopping");
    // The loop answers in the same batch, before any Tick.
    assert_eq!(h.ev(Event::GroupEmpty { pgid: 100 }), vec![spawn(0)]);
    assert!(h.tick(5000).is_empty());
    h.spawned(0, 101);
    assert_eq!(
        h.texts(),
        ["php-fpm: running -> starting (pid 101, after pid 100, exit status 1)"]
    );
}

#[test]
fn a_lingering_group_is_stopped_then_killed_before_the_restart() {
    let mut p = prog("php-fpm");
    p.kill_group = true;
    let mut h = running(p);
    h.linger = vec![100];
    assert_eq!(
        h.at(5000).exited(100, ProcessEnd::Signaled(9)),
        vec![Action::WatchGroup(100)]
    );
    assert_eq!(h.deadline(), Some(ms(5000)));
    assert_eq!(h.tick(5000), vec![kill(Target::Group(100), QUIT)]);
    assert_eq!(
        h.texts(),
        ["php-fpm: processes left in group 100; sending SIGQUIT"]
    );
    // A pool worker exits (an orphan, unknown pid): nothing restarts yet.
    assert!(h.at(6000).exited(101, exit(0)).is_empty());
    assert!(h.tick(9999).is_empty());
    assert_eq!(h.tick(10000), vec![kill(Target::Group(100), KILL)]);
    assert_eq!(h.deadline(), None, "only waiting for the group now");
    assert!(h.tick(20000).is_empty());
    assert_eq!(
        h.at(20001).ev(Event::GroupEmpty { pgid: 100 }),
        vec![spawn(0)]
    );
}

#[test]
fn a_failed_start_waits_for_its_group_before_the_backoff() {
    let mut p = prog("php-fpm");
    p.kill_group = true;
    let mut h = one(p);
    h.linger = vec![100];
    assert_eq!(
        h.at(300).exited(100, exit(1)),
        vec![Action::WatchGroup(100)]
    );
    h.tick(300); // stop signal to the group
    h.texts();
    assert!(h.at(800).ev(Event::GroupEmpty { pgid: 100 }).is_empty());
    assert_eq!(h.state(0), "backoff");
    assert_eq!(
        h.deadline(),
        Some(ms(1800)),
        "the delay counts from the cleanup"
    );
    assert_eq!(
        h.texts(),
        ["php-fpm: starting -> backoff (pid 100, exit status 1); retry in 1s"]
    );
}

#[test]
fn instances_are_expanded_and_named() {
    let mut p = prog("worker");
    p.instances = 3;
    let h = H::new(config(vec![prog("php-fpm"), p]));
    let names: Vec<_> =
        h.sv.instances()
            .map(|(_, i)| i.name().to_string())
            .collect();
    assert_eq!(names, ["php-fpm", "worker:0", "worker:1", "worker:2"]);
    assert_eq!(h.sv.instance(ChildId(2)).spec().name, "worker");
    assert!(h.sv.get(ChildId(9)).is_none());
}

#[test]
fn stray_events_are_ignored() {
    let mut h = H::new(config(vec![prog("php-fpm")]));
    for e in [
        Event::Exited {
            pid: 1,
            end: exit(0),
        },
        Event::GroupEmpty { pgid: 7 },
        Event::SpawnFailed {
            id: ChildId(42),
            errno: 0,
            message: String::new(),
        },
        Event::Tick,
        Event::NoChildren,
    ] {
        assert!(h.ev(e).is_empty());
    }
    assert_eq!(h.start(), vec![spawn(0)]);
}
