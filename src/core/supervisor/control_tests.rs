//! The control plane in the core: start/stop/restart/signal on request,
//! name resolution, health, and reload's difference (added, removed,
//! changed, unchanged). Tables with an explicit clock.

use super::harness::*;
use crate::core::event::{Action, ChildId, Control, Event, NewConfig, Target};

fn ids(v: &[usize]) -> Vec<ChildId> {
    v.iter().map(|&i| ChildId(i)).collect()
}

fn ctl(h: &mut H, c: Control) -> Vec<crate::core::event::Action> {
    h.ev(Event::Control(c))
}

/// web (pid 100) and worker (pid 200) running since t=1000.
fn two() -> H {
    let mut h = H::new(config(vec![prog("web"), prog("worker")]));
    assert_eq!(h.start(), vec![spawn(0), spawn(1)]);
    h.spawned(0, 100);
    h.spawned(1, 200);
    h.tick(1000);
    assert_eq!(
        (h.state(0), h.state(1)),
        ("running".into(), "running".into())
    );
    h.texts();
    h
}

#[test]
fn names_resolve_to_instances() {
    let mut w = prog("worker");
    w.instances = 2;
    let h = H::new(config(vec![prog("web"), w]));
    let r = |n: &[&str]| {
        h.sv.resolve(&n.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    };
    assert_eq!(r(&["all"]), Ok(ids(&[0, 1, 2])));
    assert_eq!(r(&["worker"]), Ok(ids(&[1, 2])));
    assert_eq!(r(&["worker:1", "web"]), Ok(ids(&[2, 0])));
    assert_eq!(
        r(&["nope", "web", "x"]),
        Err("no program named \"nope\", \"x\"".into())
    );
}

#[test]
fn stop_then_start_and_restart_counts() {
    let mut h = two();
    assert_eq!(
        ctl(&mut h, Control::Stop(ids(&[0]))),
        vec![kill(Target::Pid(100), QUIT)]
    );
    assert!(
        h.exited(100, exit(0)).is_empty(),
        "a requested stop is not restarted"
    );
    assert_eq!(h.state(0), "stopped");
    assert_eq!(
        h.sv.unhealthy(),
        vec!["web: stopped (exit status 0)".to_string()]
    );
    assert_eq!(ctl(&mut h, Control::Start(ids(&[0]))), vec![spawn(0)]);
    h.spawned(0, 101);
    assert_eq!(h.sv.restarts(ChildId(0)), 1);
    h.tick(3000);
    assert!(h.sv.unhealthy().is_empty());
    // Restart: stop, and start again only once the old run is gone.
    assert_eq!(ctl(&mut h, Control::Restart(ids(&[0, 1]))).len(), 2);
    assert_eq!(h.exited(101, exit(0)), vec![spawn(0)]);
    assert_eq!(h.exited(200, exit(0)), vec![spawn(1)]);
    assert_eq!(h.sv.restarts(ChildId(0)), 2);
}

#[test]
fn start_gives_a_fatal_program_its_retries_back() {
    let mut p = prog("web");
    p.start_retries = 1;
    let mut h = H::new(config(vec![p]));
    h.start();
    h.spawned(0, 100);
    h.exited(100, exit(3));
    assert_eq!(h.state(0), "fatal");
    assert_eq!(ctl(&mut h, Control::Start(ids(&[0]))), vec![spawn(0)]);
    assert_eq!(h.state(0), "starting");
}

#[test]
fn signal_reaches_running_instances_only() {
    let mut h = two();
    ctl(&mut h, Control::Stop(ids(&[1])));
    let sig = libc::SIGUSR1;
    let got = ctl(
        &mut h,
        Control::Signal {
            signal: sig,
            ids: ids(&[0, 1]),
        },
    );
    assert_eq!(got, vec![kill(Target::Pid(100), sig)]);
}

#[test]
fn shutdown_on_request() {
    let mut h = two();
    ctl(&mut h, Control::Shutdown);
    assert!(h.sv.is_shutting_down());
    assert!(
        h.texts()
            .iter()
            .any(|t| t.contains("requested by rinit ctl shutdown"))
    );
}

#[test]
fn reload_applies_the_difference() {
    let mut h = two();
    let mut web = prog("web");
    web.stop_timeout = ms(1234); // changed
    let cfg = config(vec![web, prog("cron")]); // worker removed, cron added
    let got = ctl(&mut h, Control::Reload(NewConfig(Box::new(cfg))));
    assert!(got.contains(&spawn(2)), "cron starts: {got:?}");
    assert!(
        got.contains(&kill(Target::Pid(100), QUIT)),
        "web stops to restart"
    );
    assert!(got.contains(&kill(Target::Pid(200), QUIT)), "worker stops");
    assert_eq!(h.exited(100, exit(0)), vec![spawn(0)]);
    assert_eq!(h.sv.instance(ChildId(0)).spec().stop_timeout, ms(1234));
    assert_eq!(
        h.exited(200, exit(0)),
        vec![Action::Release(ChildId(1))],
        "removed: not restarted, let go of"
    );
    assert!(h.sv.is_retired(ChildId(1)));
    let all = h.sv.resolve(&["all".into()]);
    assert_eq!(all, Ok(ids(&[0, 2])));
    assert!(
        h.texts()
            .iter()
            .any(|t| t.contains("1 added, 1 removed, 1 changed, 0 unchanged"))
    );
}

/// Only a program's `instances` changed: the instances in both configs
/// keep running untouched, new ones start, dropped ones stop.
#[test]
fn reload_with_another_instance_count_touches_only_the_difference() {
    let workers = |n: u32| {
        let mut w = prog("worker");
        w.instances = n;
        config(vec![prog("web"), w])
    };
    let mut h = H::new(workers(3));
    assert_eq!(h.start(), vec![spawn(0), spawn(1), spawn(2), spawn(3)]);
    for (id, pid) in [(0, 100), (1, 200), (2, 201), (3, 202)] {
        h.spawned(id, pid);
    }
    h.tick(1000);
    h.texts();
    // 3 -> 2: worker:2 stops and is retired; web, worker:0, worker:1 stay.
    let got = ctl(&mut h, Control::Reload(NewConfig(Box::new(workers(2)))));
    assert_eq!(got, vec![kill(Target::Pid(202), QUIT)]);
    assert_eq!(
        h.exited(202, exit(0)),
        vec![Action::Release(ChildId(3))],
        "removed: not restarted, let go of"
    );
    assert!(h.sv.is_retired(ChildId(3)));
    assert!(
        h.texts()
            .iter()
            .any(|t| t.contains("0 added, 1 removed, 0 changed, 3 unchanged"))
    );
    // 2 -> 4: worker:2 and worker:3 start anew; the others keep their pids.
    let got = ctl(&mut h, Control::Reload(NewConfig(Box::new(workers(4)))));
    assert_eq!(got, vec![spawn(4), spawn(5)]);
    for (id, pid) in [(0, 100), (1, 200), (2, 201)] {
        assert_eq!(h.sv.instance(ChildId(id)).pid(), Some(pid));
        assert_eq!(
            h.sv.instance(ChildId(id)).spec().instances.max(1),
            if id == 0 { 1 } else { 4 }
        );
    }
    assert_eq!(h.sv.instance(ChildId(4)).name(), "worker:2");
}

/// A reload that undoes a change still waiting for its instance to stop:
/// the instance restarts with the spec of the latest config, not with the
/// one it was stopping for.
#[test]
fn reload_compares_with_the_spec_an_instance_restarts_with() {
    let mut h = two();
    let mut web = prog("web");
    web.stop_timeout = ms(1234);
    let got = ctl(
        &mut h,
        Control::Reload(NewConfig(Box::new(config(vec![web, prog("worker")])))),
    );
    assert_eq!(
        got,
        vec![kill(Target::Pid(100), QUIT)],
        "web stops to restart"
    );
    let back = config(vec![prog("web"), prog("worker")]);
    let original = back.programs[0].stop_timeout;
    assert!(ctl(&mut h, Control::Reload(NewConfig(Box::new(back)))).is_empty());
    assert_eq!(h.exited(100, exit(0)), vec![spawn(0)]);
    assert_eq!(h.sv.instance(ChildId(0)).spec().stop_timeout, original);
}

#[test]
fn reload_leaves_unchanged_programs_alone() {
    let mut h = two();
    let cfg = config(vec![prog("web"), prog("worker")]);
    assert!(ctl(&mut h, Control::Reload(NewConfig(Box::new(cfg)))).is_empty());
    assert_eq!(h.sv.instance(ChildId(0)).pid(), Some(100));
    assert_eq!(h.sv.instance(ChildId(1)).pid(), Some(200));
}

/// A removed instance is let go of (`Release`) once it is down for good:
/// at once if it already was, else when its group is empty; once only.
/// One whose spawn was still on its way comes up only to stop.
#[test]
fn reload_lets_go_of_removed_instances_once_down() {
    let mut done = prog("once");
    done.restart = crate::config::RestartPolicy::Never;
    let mut h = H::new(config(vec![prog("web"), prog("worker"), done]));
    assert_eq!(h.start(), vec![spawn(0), spawn(1), spawn(2)]);
    h.spawned(0, 100);
    h.spawned(1, 200);
    h.spawned(2, 300);
    h.tick(1000);
    assert!(h.exited(300, exit(0)).is_empty());
    assert_eq!(h.state(2), "exited");
    h.linger.push(200);
    let got = ctl(
        &mut h,
        Control::Reload(NewConfig(Box::new(config(vec![prog("web")])))),
    );
    assert_eq!(
        got,
        vec![kill(Target::Pid(200), QUIT), Action::Release(ChildId(2))],
        "the exited one at once; the running one is stopped first"
    );
    // Its main process is gone, its group not yet: not yet.
    assert_eq!(h.exited(200, exit(0)), vec![Action::WatchGroup(200)]);
    assert_eq!(
        h.ev(Event::GroupEmpty { pgid: 200 }),
        vec![Action::Release(ChildId(1))]
    );
    assert!(h.tick(5000).is_empty(), "once only");

    // A spawn on its way when the program is removed: it stops on arrival.
    let mut h = H::new(config(vec![prog("web"), prog("worker")]));
    assert_eq!(h.start(), vec![spawn(0), spawn(1)]);
    h.spawned(0, 100);
    ctl(
        &mut h,
        Control::Reload(NewConfig(Box::new(config(vec![prog("web")])))),
    );
    assert_eq!(h.spawned(1, 200), vec![kill(Target::Pid(200), QUIT)]);
    assert_eq!(h.exited(200, exit(0)), vec![Action::Release(ChildId(1))]);
}
