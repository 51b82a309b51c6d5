//! Supervisor mode: many program instances, started in dependency order,
//! kept up by their restart policy, stopped in reverse order on shutdown,
//! then the orphan sweep and the exit code (SPEC §4).
//!
//! This file owns what spans instances: routing events to the instance they
//! are about, dependency gating, signal routes and the shutdown phases. One
//! instance's life is in `program.rs`. Pure: no syscalls, no clock.

use super::event::{Action, ChildId, Event, Target};
use super::hooks::HookSequencer;
use super::order::Order;
use super::program::{Ctx, Input, Instance, Out, State};
use super::single::signame;
use super::{Core, Message};
use crate::config::{Config, ExitWhen, Global};
use std::time::{Duration, Instant};

/// Hooks and the main command take ChildIds from here up, so instances a
/// reload appends (ids counting up from 0) never collide with them.
pub const AUX_IDS: usize = 1 << 24;

/// How long leftovers get between the sweep's SIGTERM and SIGKILL.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Up,
    /// Programs are being stopped wave by wave, all within `budget`.
    Stopping {
        code: u8,
        budget: Instant,
    },
    /// Every program is down; the rest of the container goes (as in
    /// single.rs: `next` is when to escalate, `term_sent` once TERM is out).
    Sweep {
        code: u8,
        next: Option<Instant>,
        term_sent: bool,
    },
    Done,
}

#[derive(Debug)]
pub struct Supervisor {
    global: Global,
    instances: Vec<Instance>,
    /// Per instance: the instances it waits for.
    deps: Vec<Vec<usize>>,
    /// Autostart (or asked to start) and not started yet.
    pending_start: Vec<bool>,
    /// Instance ids in start-wave order.
    start_order: Vec<usize>,
    /// Instance ids wave by wave, dependents first.
    stop_waves: Vec<Vec<usize>>,
    phase: Phase,
    /// `Core::start` was called: nothing starts before it.
    started: bool,
    /// The loop said ECHILD and nothing was spawned since: nobody is left
    /// to signal.
    no_children: bool,
    kill_grace: Duration,
    messages: Vec<Message>,
    /// Per instance: control-plane bookkeeping (`control.rs`).
    ctl: Vec<control::Ctl>,
    /// Start and stop hooks (ChildIds from `AUX_IDS`).
    hooks: HookSequencer,
    main: MainCommand,
    /// The main command's ChildId: after the hooks'.
    main_id: ChildId,
}

impl Supervisor {
    pub fn new(config: &Config) -> Supervisor {
        let mut instances = Vec::new();
        let mut of_program: Vec<Vec<usize>> = Vec::new();
        for (p, spec) in config.programs.iter().enumerate() {
            let n = spec.instances.max(1);
            let mut ids = Vec::new();
            for k in 0..n {
                let name = if n == 1 {
                    spec.name.clone()
                } else {
                    format!("{}:{k}", spec.name)
                };
                ids.push(instances.len());
                instances.push(Instance::new(name, p, spec.clone()));
            }
            of_program.push(ids);
        }
        let graph: Vec<(&str, &[String])> = config
            .programs
            .iter()
            .map(|s| (s.name.as_str(), s.depends_on.as_slice()))
            .collect();
        let order = Order::new(&graph);
        let expand = |progs: &[usize]| -> Vec<usize> {
            progs.iter().flat_map(|&p| of_program[p].clone()).collect()
        };
        let deps = instances
            .iter()
            .map(|i| expand(&order.deps[i.program()]))
            .collect();
        let start_order = order.waves.iter().flat_map(|w| expand(w)).collect();
        let stop_waves = order.stop_waves().map(|w| expand(w)).collect();
        let mut messages = Vec::new();
        if !order.cyclic.is_empty() {
            let names: Vec<&str> = order.cyclic.iter().map(|&p| graph[p].0).collect();
            messages.push(Message {
                level: log::Level::Warn,
                text: format!(
                    "dependency cycle among {}; starting them together",
                    names.join(", ")
                ),
            });
        }
        let hooks = HookSequencer::new(config.hooks.clone(), AUX_IDS, DEFAULT_KILL_GRACE);
        let main_id = ChildId(AUX_IDS + config.hooks.len());
        Supervisor {
            hooks,
            main: MainCommand::Absent,
            main_id,
            global: config.global.clone(),
            pending_start: instances.iter().map(|i| i.spec().autostart).collect(),
            ctl: vec![control::Ctl::default(); instances.len()],
            instances,
            deps,
            start_order,
            stop_waves,
            phase: Phase::Up,
            started: false,
            no_children: false,
            kill_grace: DEFAULT_KILL_GRACE,
            messages,
        }
    }

    /// The grace between the orphan sweep's SIGTERM and SIGKILL.
    pub fn with_kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self.hooks.set_kill_grace(grace);
        self
    }

    /// What `Action::Spawn(id)` means: the name and spec to run. Ids come
    /// only from this core's actions; any other id is a caller bug (panics).
    pub fn instance(&self, id: ChildId) -> &Instance {
        &self.instances[id.0]
    }

    pub fn get(&self, id: ChildId) -> Option<&Instance> {
        self.instances.get(id.0)
    }

    pub fn instances(&self) -> impl Iterator<Item = (ChildId, &Instance)> {
        self.instances
            .iter()
            .enumerate()
            .map(|(i, x)| (ChildId(i), x))
    }

    pub fn is_shutting_down(&self) -> bool {
        self.phase != Phase::Up
    }

    fn step(&mut self, i: usize, input: Input<'_>, now: Instant, out: &mut Out) {
        let ctx = Ctx {
            id: ChildId(i),
            shutting_down: self.phase != Phase::Up,
        };
        if let Some(inst) = self.instances.get_mut(i) {
            inst.step(input, ctx, now, out);
        }
    }

    fn say(out: &mut Out, level: log::Level, text: String) {
        out.messages.push(Message { level, text });
    }

    /// Bring the whole in line after an event: start what may start, notice
    /// critical failures and "all done", move the shutdown along.
    fn settle(&mut self, now: Instant, out: &mut Out) {
        if self.phase == Phase::Up && self.started {
            self.settle_control();
            self.settle_retired(now, out);
            self.start_ready(now, out);
            self.maybe_start_main(out);
            if let Some((code, reason)) = self.critical_failure() {
                self.begin_shutdown(code, reason, now, out);
            } else if let Some(code) = self.all_done() {
                let reason = format!("every program has finished (exit code {code})");
                self.begin_shutdown(code, reason, now, out);
            }
        }
        if let Phase::Stopping { code, .. } = self.phase {
            self.drive_stop(code, now, out);
        }
    }

    fn start_ready(&mut self, now: Instant, out: &mut Out) {
        for k in 0..self.start_order.len() {
            let i = self.start_order[k];
            if !self.pending_start[i] || self.instances[i].blocked {
                continue;
            }
            let mut ready = true;
            for &d in &self.deps[i] {
                let dep = &self.instances[d];
                let failed = dep.blocked
                    || match dep.state {
                        State::Fatal { .. } => true,
                        State::Exited { end } => !dependency_success(dep, end),
                        _ => false,
                    };
                if failed {
                    let text = format!(
                        "{}: not starting: dependency {} is {}",
                        self.instances[i].name(),
                        dep.name(),
                        if dep.blocked {
                            "blocked".into()
                        } else {
                            dep.state_name().to_string()
                        },
                    );
                    Self::say(out, log::Level::Error, text);
                    self.instances[i].blocked = true;
                    self.pending_start[i] = false;
                    ready = false;
                    break;
                }
                ready &= match dep.state {
                    State::Running { .. } => true,
                    State::Exited { end } => dependency_success(dep, end),
                    _ => false,
                };
            }
            if ready {
                self.pending_start[i] = false;
                self.step(i, Input::Start, now, out);
            }
        }
    }

    fn critical_failure(&self) -> Option<(u8, String)> {
        self.instances.iter().find_map(|inst| {
            if !inst.spec().critical {
                return None;
            }
            let code = match inst.state {
                State::Fatal { code } => code,
                State::Exited { end } => end.code(),
                _ => return None,
            };
            let why = format!("critical program {} is {}", inst.name(), inst.state_name());
            Some((code, why))
        })
    }

    /// `exit_when = "all-done"`: every instance finished for good. The
    /// code is the highest among them.
    fn all_done(&self) -> Option<u8> {
        if self.global.exit_when != ExitWhen::AllDone {
            return None;
        }
        let mut code = 0;
        for (i, inst) in self.instances.iter().enumerate() {
            code = code.max(match inst.state {
                State::Exited { end } => end.code(),
                State::Fatal { code } => code,
                State::Stopped if !self.pending_start[i] || inst.blocked => 0,
                _ => return None,
            });
        }
        Some(code)
    }

    fn tick(&mut self, now: Instant, out: &mut Out) {
        // Zero timeouts make one deadline lead to the next at the same
        // instant; a few rounds settle them (each round moves something on).
        for _ in 0..8 {
            if self.hooks.deadline().is_some_and(|d| d <= now) {
                self.hooks.tick(now, out);
            }
            for i in 0..self.instances.len() {
                // In the sweep, instance timers are moot: everything gets
                // the sweep's signals, and waits for NoChildren.
                let sweeping = matches!(self.phase, Phase::Sweep { .. });
                if !sweeping && self.instances[i].deadline().is_some_and(|d| d <= now) {
                    self.step(i, Input::Tick, now, out);
                }
            }
            match self.phase {
                Phase::Stopping { budget, .. } if budget <= now => {
                    let t = self.global.shutdown_timeout;
                    self.kill_now(format!("shutdown_timeout ({t:?}) ran out"), out);
                }
                Phase::Sweep {
                    code,
                    next: Some(at),
                    term_sent,
                } if at <= now => {
                    let (signal, next) = if term_sent {
                        (libc::SIGKILL, None)
                    } else {
                        (libc::SIGTERM, Some(now + self.kill_grace))
                    };
                    let text = format!("sending {} to remaining processes", signame(signal));
                    Self::say(out, log::Level::Info, text);
                    out.actions.push(Action::Kill {
                        target: Target::Everyone,
                        signal,
                    });
                    self.phase = Phase::Sweep {
                        code,
                        next,
                        term_sent: true,
                    };
                }
                _ => {}
            }
            self.settle(now, out);
            if self.next_deadline().is_none_or(|d| d > now) {
                break;
            }
        }
    }
}

/// Whether a dependency that exited lets its dependents start: a one-shot
/// (a migration, a cache warm-up) that finished as expected.
fn dependency_success(dep: &Instance, end: super::ProcessEnd) -> bool {
    match end {
        super::ProcessEnd::Exited(c) => c == 0 || dep.spec().exit_codes.contains(&c),
        super::ProcessEnd::Signaled(_) => false,
    }
}

impl Core for Supervisor {
    fn take_messages(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.messages)
    }

    fn start(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Out::default();
        // Programs start once the start hooks are done (`started`).
        self.start_hooks(now, &mut out);
        self.settle(now, &mut out);
        self.messages.append(&mut out.messages);
        self.count_spawns(&out.actions);
        out.actions
    }

    fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        if self.phase == Phase::Done {
            return Vec::new();
        }
        let mut out = Out::default();
        match event {
            Event::Signal(sig) => self.on_signal(sig, now, &mut out),
            Event::Exited { pid, end } if self.aux_exited(pid, end, now, &mut out) => {}
            Event::Exited { pid, end } => {
                match self.instances.iter().position(|i| i.pid() == Some(pid)) {
                    Some(i) => self.step(i, Input::Exited(end), now, &mut out),
                    None => {
                        let text = format!("reaped process {pid} ({end})");
                        Self::say(&mut out, log::Level::Debug, text);
                    }
                }
            }
            Event::NoChildren => self.on_no_children(now, &mut out),
            Event::Spawned { id, pid } => {
                self.no_children = false;
                if self.aux_spawned(id, pid, now, &mut out) {
                    // a hook or the main command
                } else {
                    match self.instances.get(id.0).map(|i| &i.state) {
                        Some(State::Spawning { .. }) => {
                            self.step(id.0, Input::Spawned(pid), now, &mut out);
                        }
                        // Never two live copies: a process the core did not ask
                        // for (a loop bug) is not left running unsupervised.
                        _ => {
                            let text =
                                format!("unexpected spawn of pid {pid} for {id:?}; killing it");
                            Self::say(&mut out, log::Level::Error, text);
                            out.actions.push(Action::Kill {
                                target: Target::Pid(pid),
                                signal: libc::SIGKILL,
                            });
                        }
                    }
                }
            }
            Event::SpawnFailed { id, message, errno }
                if self.aux_spawn_failed(id, &message, errno, now, &mut out) => {}
            Event::SpawnFailed { id, message, .. } => {
                self.step(id.0, Input::SpawnFailed(&message), now, &mut out);
            }
            Event::GroupEmpty { pgid } => {
                let watched = self.instances.iter().position(|i| {
                    matches!(&i.state, State::Stopping { stop, .. }
                        if stop.pid == pgid && stop.group_watched && !stop.main_alive)
                });
                if let Some(i) = watched {
                    self.step(i, Input::GroupEmpty, now, &mut out);
                }
            }
            Event::Tick => self.tick(now, &mut out),
            Event::Control(control) => self.on_control(control, now, &mut out),
        }
        if self.phase != Phase::Done {
            self.settle(now, &mut out);
        }
        self.messages.append(&mut out.messages);
        self.count_spawns(&out.actions);
        out.actions
    }

    fn next_deadline(&self) -> Option<Instant> {
        let phase = match self.phase {
            Phase::Up => None,
            Phase::Stopping { budget, .. } => Some(budget),
            Phase::Sweep { next, .. } => return next,
            Phase::Done => return None,
        };
        self.instances
            .iter()
            .filter_map(Instance::deadline)
            .chain(phase)
            .chain(self.hooks.deadline())
            .min()
    }
}

mod control;
mod entry;
mod reload;
mod shutdown;

pub use entry::Child;
use entry::MainCommand;

#[cfg(test)]
mod control_tests;
#[cfg(test)]
mod harness;
#[cfg(test)]
mod props;
#[cfg(test)]
mod shutdown_tests;
#[cfg(test)]
mod tests;
