//! One program instance: supervisord's states as an enum carrying its data,
//! and the one `match (state, input)` that moves it.
//!
//! The supervisor routes events here already matched to this instance (an
//! exit of *its* pid, a due deadline of *its* timer); what spans instances
//! (dependencies, shutdown waves, signal routes) stays in `supervisor.rs`.
//! Pure: actions and messages are pushed to an `Out`, time is an argument.

use super::backoff::Backoff;
use super::event::{Action, Target};
use super::exit::ProcessEnd;
use super::single::signame;
use crate::config::{ProgramSpec, RestartPolicy};
use std::time::Instant;

mod control;
mod state;

pub use state::{After, Ctx, Escalation, Input, Out, State, StateName, Stop};

#[derive(Debug, Clone)]
pub struct Instance {
    name: String,
    program: usize,
    spec: ProgramSpec,
    pub(crate) state: State,
    backoff: Backoff,
    pub(crate) last_end: Option<ProcessEnd>,
    /// A dependency failed for good: this instance will never start.
    pub(crate) blocked: bool,
}

impl Instance {
    pub fn new(name: String, program: usize, spec: ProgramSpec) -> Self {
        let backoff = Backoff::new(spec.backoff, spec.backoff_max);
        Instance {
            name,
            program,
            spec,
            state: State::Stopped,
            backoff,
            last_end: None,
            blocked: false,
        }
    }

    /// `php-fpm`, or `php-fpm:1` when the program has several instances.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Index of the program in `Config::programs`.
    pub fn program(&self) -> usize {
        self.program
    }

    pub fn spec(&self) -> &ProgramSpec {
        &self.spec
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn state_name(&self) -> StateName {
        match self.state {
            State::Stopped => StateName::Stopped,
            State::Spawning { .. } | State::Starting { .. } => StateName::Starting,
            State::Running { .. } => StateName::Running,
            State::Backoff { .. } => StateName::Backoff,
            State::Stopping { .. } => StateName::Stopping,
            State::Exited { .. } => StateName::Exited,
            State::Fatal { .. } => StateName::Fatal,
        }
    }

    /// The live main process, if any.
    pub fn pid(&self) -> Option<i32> {
        match self.state {
            State::Starting { pid, .. } | State::Running { pid, .. } => Some(pid),
            State::Stopping { ref stop, .. } if stop.main_alive => Some(stop.pid),
            _ => None,
        }
    }

    /// No process of this instance exists and none is being spawned.
    pub fn is_down(&self) -> bool {
        matches!(
            self.state,
            State::Stopped | State::Backoff { .. } | State::Exited { .. } | State::Fatal { .. }
        )
    }

    pub fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Starting { since, .. } => Some(since + self.spec.start_secs),
            State::Backoff { until } => Some(until),
            State::Stopping { ref stop, .. } => match stop.next {
                Escalation::Signal { at } | Escalation::Kill { at } => Some(at),
                Escalation::Waiting => None,
            },
            _ => None,
        }
    }

    /// Where signals for this program go while `pid` is its main process.
    pub fn target(&self, pid: i32) -> Target {
        if self.spec.kill_group {
            Target::Group(pid)
        } else {
            Target::Pid(pid)
        }
    }

    pub fn step(&mut self, input: Input<'_>, ctx: Ctx, now: Instant, out: &mut Out) {
        let name = self.name.clone();
        let due = |at: Instant| now >= at;
        match (self.state.clone(), input) {
            (State::Stopped, Input::Start) if !ctx.shutting_down => {
                self.spawn(StateName::Stopped, None, ctx, out);
            }
            (State::Spawning { from, cause }, Input::Spawned(pid)) => {
                let cause = cause.map(|c| format!(", after {c}")).unwrap_or_default();
                out.say(
                    log::Level::Info,
                    format!("{name}: {from} -> starting (pid {pid}{cause})"),
                );
                self.state = State::Starting { pid, since: now };
                if self.spec.start_secs.is_zero() {
                    // start_secs = 0: up is good enough (supervisord's
                    // startsecs=0); no timer for it.
                    self.reach_running(pid, now, out);
                }
            }
            (State::Spawning { cause, .. }, Input::SpawnFailed(msg)) => {
                let cause = cause.map(|c| format!(" (after {c})")).unwrap_or_default();
                if ctx.shutting_down {
                    out.say(log::Level::Warn, format!("{name}: unable to spawn: {msg}"));
                    self.state = State::Stopped;
                } else {
                    let (state, suffix, level) = self.fail_start(now);
                    out.say(
                        level,
                        format!("{name}: unable to spawn: {msg}{cause}{suffix}"),
                    );
                    self.state = state;
                }
            }
            (State::Starting { pid, since }, Input::Tick) if due(since + self.spec.start_secs) => {
                self.reach_running(pid, now, out);
            }
            (State::Starting { pid, .. }, Input::Exited(end)) => {
                self.main_died(StateName::Starting, pid, end, ctx, now, out);
            }
            (State::Running { pid, .. }, Input::Exited(end)) => {
                self.main_died(StateName::Running, pid, end, ctx, now, out);
            }
            (State::Backoff { until }, Input::Tick) if due(until) && !ctx.shutting_down => {
                self.spawn(StateName::Backoff, None, ctx, out);
            }
            (State::Starting { pid, .. } | State::Running { pid, .. }, Input::Stop) => {
                let from = self.state_name();
                let signal = self.spec.stop_signal;
                out.actions.push(Action::Kill {
                    target: self.target(pid),
                    signal,
                });
                out.say(
                    log::Level::Info,
                    format!(
                        "{name}: {from} -> stopping (pid {pid}); sent {}",
                        signame(signal)
                    ),
                );
                self.state = State::Stopping {
                    stop: Stop {
                        pid,
                        main_alive: true,
                        group_watched: false,
                        next: Escalation::Kill {
                            at: now + self.spec.stop_timeout,
                        },
                    },
                    after: After::Stopped { from },
                };
            }
            (State::Backoff { .. }, Input::Stop) => {
                out.say(log::Level::Info, format!("{name}: backoff -> stopped"));
                self.state = State::Stopped;
            }
            (State::Stopping { mut stop, after }, Input::Exited(end)) if stop.main_alive => {
                stop.main_alive = false;
                self.last_end = Some(end);
                // Whatever it left in its group goes too (SPEC §4), whether or
                // not stop signals went to the group (`kill_group`). If they
                // went to the main process only, the group starts its own
                // escalation now: stop signal, SIGKILL after stop_timeout.
                stop.group_watched = true;
                if !self.spec.kill_group {
                    stop.next = Escalation::Signal { at: now };
                }
                out.actions.push(Action::WatchGroup(stop.pid));
                self.settle_stop(stop, after, ctx, now, out);
            }
            (State::Stopping { mut stop, after }, Input::GroupEmpty) if stop.group_watched => {
                stop.group_watched = false;
                self.settle_stop(stop, after, ctx, now, out);
            }
            (State::Stopping { mut stop, after }, Input::Tick) => {
                self.escalate(&mut stop, now, out);
                self.state = State::Stopping { stop, after };
            }
            (State::Stopping { mut stop, after }, Input::Abandon) => {
                stop.main_alive = false;
                stop.group_watched = false;
                self.settle_stop(stop, after, ctx, now, out);
            }
            (
                State::Spawning { .. } | State::Starting { .. } | State::Running { .. },
                Input::Abandon,
            ) => {
                out.say(
                    log::Level::Warn,
                    format!("{name}: no process left; considering it stopped"),
                );
                self.state = State::Stopped;
            }
            // Everything else is stale or out of order (an exit reported
            // twice, a Tick before a deadline, a stop of a stopped program):
            // ignoring it is the safe answer for PID 1.
            (
                State::Stopped
                | State::Spawning { .. }
                | State::Starting { .. }
                | State::Running { .. }
                | State::Backoff { .. }
                | State::Stopping { .. }
                | State::Exited { .. }
                | State::Fatal { .. },
                _,
            ) => {}
        }
    }

    fn spawn(&mut self, from: StateName, cause: Option<String>, ctx: Ctx, out: &mut Out) {
        out.actions.push(Action::Spawn(ctx.id));
        self.state = State::Spawning { from, cause };
    }

    fn reach_running(&mut self, pid: i32, now: Instant, out: &mut Out) {
        self.backoff.reset();
        out.say(
            log::Level::Info,
            format!("{}: starting -> running (pid {pid})", self.name),
        );
        self.state = State::Running { pid, since: now };
    }

    /// Count a failed start: the next state, the line's suffix and level.
    fn fail_start(&mut self, now: Instant) -> (State, String, log::Level) {
        let delay = self.backoff.fail();
        let n = self.backoff.failures();
        // start_retries = 0 would mean "never give up" only by accident of
        // arithmetic; treat it as "give up at the first failure".
        if n >= self.spec.start_retries.max(1) {
            // A fatal program failed even if its last exit said 0.
            let code = self.last_end.map_or(1, |e| e.code().max(1));
            let s = if n == 1 { "" } else { "s" };
            let suffix = format!("; giving up after {n} failed start{s}");
            (State::Fatal { code }, suffix, log::Level::Error)
        } else {
            let suffix = format!("; retry in {delay:?}");
            (
                State::Backoff { until: now + delay },
                suffix,
                log::Level::Warn,
            )
        }
    }

    fn main_died(
        &mut self,
        from: StateName,
        pid: i32,
        end: ProcessEnd,
        ctx: Ctx,
        now: Instant,
        out: &mut Out,
    ) {
        self.last_end = Some(end);
        let after = After::Died { from, end };
        // Whatever the main process left in its group goes first, with or
        // without `kill_group` (which only says where stop signals go while
        // the main process lives): a restart must never meet the previous
        // run's orphans (SPEC §4). Every program leads its own group. The
        // signal is due "now": when the loop answers GroupEmpty within the
        // same batch, nothing is sent at all.
        out.actions.push(Action::WatchGroup(pid));
        let stop = Stop {
            pid,
            main_alive: false,
            group_watched: true,
            next: Escalation::Signal { at: now },
        };
        self.state = State::Stopping { stop, after };
        let _ = ctx;
    }

    fn settle_stop(&mut self, stop: Stop, after: After, ctx: Ctx, now: Instant, out: &mut Out) {
        if stop.main_alive || stop.group_watched {
            self.state = State::Stopping { stop, after };
        } else {
            self.resolve(stop.pid, after, ctx, now, out);
        }
    }

    fn escalate(&mut self, stop: &mut Stop, now: Instant, out: &mut Out) {
        let target = if stop.group_watched {
            Target::Group(stop.pid)
        } else {
            self.target(stop.pid)
        };
        let name = &self.name;
        let pid = stop.pid;
        match stop.next {
            Escalation::Signal { at } if now >= at => {
                let signal = self.spec.stop_signal;
                out.say(
                    log::Level::Warn,
                    format!(
                        "{name}: processes left in group {pid}; sending {}",
                        signame(signal)
                    ),
                );
                out.actions.push(Action::Kill { target, signal });
                stop.next = Escalation::Kill {
                    at: now + self.spec.stop_timeout,
                };
            }
            Escalation::Kill { at } if now >= at => {
                out.say(
                    log::Level::Warn,
                    format!(
                        "{name}: still alive after {:?} (pid {pid}); sending SIGKILL",
                        self.spec.stop_timeout
                    ),
                );
                out.actions.push(Action::Kill {
                    target,
                    signal: libc::SIGKILL,
                });
                stop.next = Escalation::Waiting;
            }
            Escalation::Signal { .. } | Escalation::Kill { .. } | Escalation::Waiting => {}
        }
    }

    /// Everything of the run that ended is gone: decide what comes next.
    fn resolve(&mut self, pid: i32, after: After, ctx: Ctx, now: Instant, out: &mut Out) {
        let name = self.name.clone();
        let (from, end) = match after {
            After::Stopped { .. } => {
                let end = self.last_end.map(|e| format!(", {e}")).unwrap_or_default();
                out.say(
                    log::Level::Info,
                    format!("{name}: stopping -> stopped (pid {pid}{end})"),
                );
                self.state = State::Stopped;
                return;
            }
            After::Died { from, end } => (from, end),
        };
        let detail = format!("pid {pid}, {end}");
        let expected = match end {
            ProcessEnd::Exited(c) => self.spec.exit_codes.contains(&c),
            ProcessEnd::Signaled(_) => false,
        };
        let restart = !ctx.shutting_down
            && match self.spec.restart {
                RestartPolicy::Always => true,
                RestartPolicy::OnFailure => !expected,
                RestartPolicy::Never => false,
            };
        if !restart {
            let level = if expected || end.success() || ctx.shutting_down {
                log::Level::Info
            } else {
                log::Level::Warn
            };
            out.say(level, format!("{name}: {from} -> exited ({detail})"));
            self.state = State::Exited { end };
        } else if from == StateName::Running {
            // It had started fine: restart at once, as supervisord does.
            self.spawn(from, Some(detail), ctx, out);
        } else {
            let (state, suffix, level) = self.fail_start(now);
            let new = match state {
                State::Fatal { .. } => StateName::Fatal,
                _ => StateName::Backoff,
            };
            out.say(level, format!("{name}: {from} -> {new} ({detail}){suffix}"));
            self.state = state;
        }
    }
}
