//! Many programs: dependency order, shutdown waves, the orphan sweep, exit
//! codes, signal routes.

use super::harness::*;
use crate::config::{ExitWhen, ProgramSpec, RestartPolicy};
use crate::core::event::{Action, Event, Target};
use crate::core::exit::ProcessEnd;

fn dep(name: &str, on: &[&str]) -> ProgramSpec {
    let mut p = prog(name);
    p.depends_on = on.iter().map(|s| s.to_string()).collect();
    p
}

fn everyone(sig: i32) -> Action {
    kill(Target::Everyone, sig)
}

/// php-fpm (pid 100, group) and worker (pid 101), both running at t=1000.
fn pair() -> H {
    let mut p = prog("php-fpm");
    p.kill_group = true;
    let mut h = H::new(config(vec![p, prog("worker")]));
    h.linger = vec![100];
    assert_eq!(h.start(), vec![spawn(0), spawn(1)], "independent: together");
    h.spawned(0, 100);
    h.spawned(1, 101);
    h.tick(1000);
    h.texts();
    h
}

#[test]
fn dependencies_start_in_order_and_stop_in_reverse() {
    let mut php = dep("php-fpm", &["db-proxy"]);
    php.instances = 2;
    let cfg = config(vec![prog("db-proxy"), php, dep("nginx", &["php-fpm"])]);
    let mut h = H::new(cfg);
    assert_eq!(h.start(), vec![spawn(0)]);
    h.spawned(0, 10);
    assert!(h.tick(999).is_empty(), "starting is not running yet");
    assert_eq!(h.tick(1000), vec![spawn(1), spawn(2)]);
    h.spawned(1, 11);
    assert!(h.spawned(2, 12).is_empty());
    assert_eq!(h.tick(2000), vec![spawn(3)], "after every php-fpm instance");
    h.spawned(3, 13);
    h.tick(3000);
    assert_eq!(h.state(3), "running");

    assert_eq!(h.at(4000).signal(TERM), vec![kill(Target::Pid(13), QUIT)]);
    assert_eq!(
        h.exited(13, ProcessEnd::Signaled(QUIT)),
        vec![kill(Target::Pid(11), QUIT), kill(Target::Pid(12), QUIT)]
    );
    assert!(h.exited(11, exit(0)).is_empty(), "wait for the whole wave");
    assert_eq!(h.exited(12, exit(0)), vec![kill(Target::Pid(10), QUIT)]);
    assert!(h.exited(10, exit(0)).is_empty());
    assert_eq!(h.deadline(), Some(ms(4000)), "sweep due now");
    assert_eq!(h.ev(Event::NoChildren), vec![Action::Exit(0)]);
    assert_eq!(h.deadline(), None);
    assert!(h.signal(TERM).is_empty(), "done is done");
}

#[test]
fn dependents_of_a_fatal_program_never_start() {
    let mut db = prog("db-proxy");
    db.start_retries = 1;
    let mut h = H::new(config(vec![
        db,
        dep("php-fpm", &["db-proxy"]),
        dep("nginx", &["php-fpm"]),
    ]));
    h.start();
    h.spawned(0, 10);
    assert!(h.at(10).exited(10, exit(1)).is_empty());
    assert_eq!(h.state(0), "fatal");
    let t = h.texts();
    assert!(t.contains(&"php-fpm: not starting: dependency db-proxy is fatal".to_string()));
    assert!(t.contains(&"nginx: not starting: dependency php-fpm is blocked".to_string()));
    assert_eq!(h.deadline(), None);
    assert!(h.tick(100_000).is_empty());
}

#[test]
fn a_finished_one_shot_dependency_lets_dependents_start() {
    let mut migrate = prog("migrate");
    migrate.restart = RestartPolicy::Never;
    let mut h = H::new(config(vec![migrate, dep("php-fpm", &["migrate"])]));
    h.start();
    h.spawned(0, 10);
    assert_eq!(h.at(50).exited(10, exit(0)), vec![spawn(1)]);
}

#[test]
fn a_critical_exit_shuts_down_with_its_code() {
    let mut app = prog("app");
    app.critical = true;
    app.restart = RestartPolicy::Never;
    let mut h = H::new(config(vec![app, prog("worker")]));
    h.start();
    h.spawned(0, 10);
    h.spawned(1, 11);
    h.tick(1000);
    assert_eq!(
        h.at(2000).exited(10, exit(3)),
        vec![kill(Target::Pid(11), QUIT)]
    );
    assert!(h.exited(11, ProcessEnd::Signaled(QUIT)).is_empty());
    assert_eq!(h.ev(Event::NoChildren), vec![Action::Exit(3)]);
}

#[test]
fn a_critical_fatal_exits_128_plus_n_or_1() {
    let mut app = prog("app");
    app.critical = true;
    app.start_retries = 1;
    let mut h = H::new(config(vec![app.clone()]));
    h.start();
    h.spawned(0, 10);
    h.exited(10, ProcessEnd::Signaled(9));
    assert_eq!(h.tick(0), vec![everyone(TERM)]);
    assert_eq!(h.tick(2000), vec![everyone(KILL)]);
    assert_eq!(h.ev(Event::NoChildren), vec![Action::Exit(137)]);

    let mut h = H::new(config(vec![app]));
    h.start();
    h.ev(Event::NoChildren);
    let failed = Event::SpawnFailed {
        id: crate::core::ChildId(0),
        errno: libc::ENOENT,
        message: "nope".into(),
    };
    assert_eq!(h.ev(failed), vec![Action::Exit(1)], "no child: no sweep");
}

#[test]
fn all_done_exits_with_the_highest_code() {
    let mut cfg = config(vec![prog("a"), prog("b"), prog("manual")]);
    cfg.global.exit_when = ExitWhen::AllDone;
    for p in &mut cfg.programs {
        p.restart = RestartPolicy::Never;
    }
    cfg.programs[2].autostart = false;
    let mut h = H::new(cfg);
    assert_eq!(h.start(), vec![spawn(0), spawn(1)]);
    h.spawned(0, 10);
    h.spawned(1, 11);
    assert!(h.at(10).exited(11, exit(5)).is_empty());
    assert!(!h.sv.is_shutting_down(), "a is still running");
    assert!(h.exited(10, exit(2)).is_empty());
    assert!(
        h.texts()
            .iter()
            .any(|t| t == "shutting down: every program has finished (exit code 5)")
    );
    assert_eq!(h.ev(Event::NoChildren), vec![Action::Exit(5)]);
}

#[test]
fn stop_timeout_then_sigkill_then_the_sweep() {
    let mut h = pair();
    h.at(2000);
    let acts = h.signal(TERM);
    assert_eq!(
        acts,
        vec![kill(Target::Group(100), QUIT), kill(Target::Pid(101), QUIT)]
    );
    assert!(h.exited(101, exit(0)).is_empty());
    assert_eq!(h.deadline(), Some(ms(7000)));
    assert_eq!(h.tick(7000), vec![kill(Target::Group(100), KILL)]);
    assert_eq!(
        h.at(7100).exited(100, ProcessEnd::Signaled(9)),
        vec![Action::WatchGroup(100)]
    );
    assert!(h.ev(Event::GroupEmpty { pgid: 100 }).is_empty());
    assert_eq!(h.state(0), "stopped");
    assert_eq!(h.tick(7100), vec![everyone(TERM)]);
    assert_eq!(h.deadline(), Some(ms(9100)));
    assert_eq!(h.tick(9100), vec![everyone(KILL)]);
    assert_eq!(h.deadline(), None);
    assert_eq!(h.ev(Event::NoChildren), vec![Action::Exit(0)]);
}

#[test]
fn no_children_spares_the_sweep() {
    let mut h = pair();
    h.at(2000).signal(TERM);
    h.exited(101, exit(0));
    assert_eq!(h.exited(100, exit(0)), vec![Action::WatchGroup(100)]);
    assert_eq!(h.ev(Event::NoChildren), vec![Action::Exit(0)]);
    assert_eq!(h.state(0), "stopped");
}

#[test]
fn a_second_term_skips_to_the_kill_phase() {
    let mut h = pair();
    h.at(2000).signal(TERM);
    assert_eq!(h.at(2500).signal(libc::SIGINT), vec![everyone(KILL)]);
    assert_eq!(h.deadline(), None, "only reaping is left");
    assert!(h.signal(TERM).is_empty(), "already killed");
    h.exited(101, ProcessEnd::Signaled(9));
    assert_eq!(h.ev(Event::NoChildren), vec![Action::Exit(0)]);
}

#[test]
fn the_shutdown_budget_bounds_everything() {
    let mut p = prog("php-fpm");
    p.stop_timeout = ms(60_000);
    let mut cfg = config(vec![p]);
    cfg.global.shutdown_timeout = ms(3000);
    let mut h = H::new(cfg);
    h.start();
    h.spawned(0, 100);
    h.at(1000).signal(TERM);
    assert_eq!(h.deadline(), Some(ms(4000)));
    assert!(h.tick(3999).is_empty());
    assert_eq!(h.tick(4000), vec![everyone(KILL)]);
    assert!(
        h.texts()
            .iter()
            .any(|t| t.contains("shutdown_timeout (3s) ran out"))
    );
    assert_eq!(h.ev(Event::NoChildren), vec![Action::Exit(0)]);
}

#[test]
fn shutdown_cancels_backoff() {
    let mut h = pair();
    // worker was running: restarted at once; then it fails to start.
    assert_eq!(h.at(1500).exited(101, exit(1)), vec![spawn(1)]);
    h.spawned(1, 102);
    h.at(1600).exited(102, exit(1));
    assert_eq!(h.state(1), "backoff");
    assert_eq!(h.signal(TERM), vec![kill(Target::Group(100), QUIT)]);
    assert_eq!(h.state(1), "stopped");
}

#[test]
fn zero_timeouts_settle_in_one_tick() {
    let mut p = prog("php-fpm");
    p.kill_group = true;
    p.stop_timeout = ms(0);
    let mut h = H::new(config(vec![p]));
    h.linger = vec![100];
    h.start();
    h.spawned(0, 100);
    h.at(5000).exited(100, exit(1));
    assert_eq!(
        h.tick(5000),
        vec![
            kill(Target::Group(100), QUIT),
            kill(Target::Group(100), KILL)
        ]
    );
    assert_eq!(h.deadline(), None);
}

#[test]
fn signal_routes() {
    let mut h = pair();
    use libc::{SIGALRM, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2};
    assert_eq!(
        h.signal(SIGUSR1),
        vec![
            kill(Target::Group(100), SIGUSR1),
            kill(Target::Pid(101), SIGUSR1)
        ]
    );
    assert_eq!(h.signal(SIGUSR2), vec![kill(Target::Group(100), SIGUSR2)]);
    assert!(h.signal(SIGPIPE).is_empty());
    h.texts();
    assert_eq!(h.signal(SIGHUP), vec![Action::LoadConfig]);
    let m = h.messages();
    assert!(m[0].text.contains("reloading"));
    assert_eq!(
        h.signal(SIGALRM),
        vec![
            kill(Target::Group(100), SIGALRM),
            kill(Target::Pid(101), SIGALRM)
        ],
        "no route: forwarded to every running program"
    );
    assert!(!h.sv.is_shutting_down());
}
