use super::*;
use crate::config::{CommandLine, ProcessSpec};

fn hook(name: &str, stage: HookStage, on_failure: OnFailure, timeout: Option<u64>) -> HookSpec {
    HookSpec {
        name: name.into(),
        command: CommandLine::Shell("true".into()),
        process: ProcessSpec::default(),
        stage,
        timeout: timeout.map(Duration::from_secs),
        on_failure,
    }
}

fn seq(specs: Vec<HookSpec>) -> HookSequencer {
    HookSequencer::new(specs, 10, Duration::from_secs(2))
}

fn spawns(out: &Out) -> Vec<usize> {
    out.actions
        .iter()
        .filter_map(|a| match a {
            Action::Spawn(id) => Some(id.0),
            _ => None,
        })
        .collect()
}

use HookStage::{Start, Stop};
use OnFailure::{Abort, Continue};

#[test]
fn start_hooks_run_one_at_a_time_in_order_and_skip_stop_hooks() {
    let mut s = seq(vec![
        hook("a", Start, Abort, None),
        hook("z", Stop, Abort, None),
        hook("b", Start, Abort, None),
    ]);
    let t = Instant::now();
    let mut out = Out::default();
    assert_eq!(s.run(Start, &mut out), Progress::Busy);
    assert_eq!(spawns(&out), vec![10]);
    s.spawned(ChildId(10), 100, t, &mut out);
    let mut out = Out::default();
    assert_eq!(
        s.exited(100, ProcessEnd::Exited(0), &mut out),
        Some(Progress::Busy)
    );
    assert_eq!(spawns(&out), vec![12], "b next, the stop hook skipped");
    s.spawned(ChildId(12), 101, t, &mut out);
    assert_eq!(
        s.exited(999, ProcessEnd::Exited(0), &mut out),
        None,
        "not a hook"
    );
    assert_eq!(
        s.exited(101, ProcessEnd::Exited(0), &mut out),
        Some(Progress::Done)
    );
    let mut out = Out::default();
    assert_eq!(s.run(Stop, &mut out), Progress::Busy);
    assert_eq!(spawns(&out), vec![11]);
    assert!(s.stop_begun());
}

#[test]
fn an_aborting_failure_reports_the_code_and_continue_goes_on() {
    let mut s = seq(vec![
        hook("soft", Start, Continue, None),
        hook("hard", Start, Abort, None),
        hook("never", Start, Abort, None),
    ]);
    let t = Instant::now();
    let mut out = Out::default();
    s.run(Start, &mut out);
    s.spawned(ChildId(10), 1, t, &mut out);
    assert_eq!(
        s.exited(1, ProcessEnd::Exited(5), &mut out),
        Some(Progress::Busy)
    );
    s.spawned(ChildId(11), 2, t, &mut out);
    let mut out = Out::default();
    assert_eq!(
        s.exited(2, ProcessEnd::Signaled(9), &mut out),
        Some(Progress::Failed(137))
    );
    assert!(spawns(&out).is_empty(), "nothing after an abort");
    assert!(
        out.messages
            .iter()
            .any(|m| m.text.contains("hook hard failed"))
    );
}

#[test]
fn timeout_terms_the_group_then_kills_and_exits_124() {
    let mut s = seq(vec![hook("slow", Start, Abort, Some(5))]);
    let t = Instant::now();
    let mut out = Out::default();
    s.run(Start, &mut out);
    s.spawned(ChildId(10), 7, t, &mut out);
    assert_eq!(s.deadline(), Some(t + Duration::from_secs(5)));
    let mut out = Out::default();
    s.tick(t + Duration::from_secs(4), &mut out);
    assert!(out.actions.is_empty());
    let t5 = t + Duration::from_secs(5);
    s.tick(t5, &mut out);
    assert_eq!(
        out.actions,
        vec![Action::Kill {
            target: Target::Group(7),
            signal: libc::SIGTERM
        }]
    );
    let mut out = Out::default();
    s.tick(t5 + Duration::from_secs(2), &mut out);
    assert_eq!(
        out.actions,
        vec![Action::Kill {
            target: Target::Group(7),
            signal: libc::SIGKILL
        }]
    );
    assert_eq!(s.deadline(), None);
    let p = s.exited(7, ProcessEnd::Signaled(9), &mut out);
    assert_eq!(p, Some(Progress::Failed(TIMEOUT_CODE)));
}

#[test]
fn shutdown_during_a_start_hook_forwards_and_abandons() {
    let mut s = seq(vec![
        hook("a", Start, Abort, None),
        hook("b", Start, Abort, None),
    ]);
    let t = Instant::now();
    let mut out = Out::default();
    s.run(Start, &mut out);
    s.spawned(ChildId(10), 3, t, &mut out);
    let mut out = Out::default();
    s.interrupt(libc::SIGTERM, &mut out);
    assert_eq!(
        out.actions,
        vec![Action::Kill {
            target: Target::Group(3),
            signal: libc::SIGTERM
        }]
    );
    let mut out = Out::default();
    assert_eq!(
        s.exited(3, ProcessEnd::Signaled(15), &mut out),
        Some(Progress::Done)
    );
    assert!(spawns(&out).is_empty(), "b never runs");
}

#[test]
fn spawn_failure_of_a_hook_uses_shell_codes() {
    let mut s = seq(vec![hook("missing", Start, Abort, None)]);
    let mut out = Out::default();
    s.run(Start, &mut out);
    assert_eq!(
        s.spawn_failed(ChildId(10), "x: not found", libc::ENOENT, &mut out),
        Progress::Failed(127)
    );
}

#[test]
fn stop_hooks_always_continue() {
    let mut s = seq(vec![
        hook("s1", Stop, Abort, None),
        hook("s2", Stop, Abort, None),
    ]);
    let t = Instant::now();
    let mut out = Out::default();
    s.run(Stop, &mut out);
    s.spawned(ChildId(10), 1, t, &mut out);
    assert_eq!(
        s.exited(1, ProcessEnd::Exited(1), &mut out),
        Some(Progress::Busy)
    );
    s.spawned(ChildId(11), 2, t, &mut out);
    assert_eq!(
        s.exited(2, ProcessEnd::Exited(0), &mut out),
        Some(Progress::Done)
    );
}
