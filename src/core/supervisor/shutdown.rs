//! Signal routes and the shutdown phases of the supervisor: stop waves in
//! reverse dependency order within `shutdown_timeout`, the kill phase, the
//! orphan sweep's bookkeeping and the exit. A child module of
//! `supervisor.rs` so it shares its private state; pure like it.

use super::{Phase, Supervisor};
use crate::config::SignalRoute;
use crate::core::event::{Action, Target};
use crate::core::program::{Input, Instance, Out, State};
use crate::core::single::signame;
use std::time::Instant;

impl Supervisor {
    /// Route a signal by `Global.signals`; a shutdown route during the
    /// shutdown is the user insisting: skip to the kill phase.
    pub(super) fn on_signal(&mut self, sig: i32, now: Instant, out: &mut Out) {
        let route = self
            .global
            .signals
            .iter()
            .find(|(s, _)| *s == sig)
            .map(|(_, r)| r.clone());
        let name = signame(sig);
        match route {
            Some(SignalRoute::Shutdown) => match self.phase {
                Phase::Up => {
                    self.hooks.interrupt(sig, out);
                    self.begin_shutdown(0, format!("received {name}"), now, out);
                }
                Phase::Stopping { .. } | Phase::Sweep { .. } => {
                    self.kill_now(format!("received {name} again"), out);
                }
                Phase::Done => {}
            },
            Some(SignalRoute::Ignore) => {
                Self::say(out, log::Level::Debug, format!("ignoring {name}"));
            }
            Some(SignalRoute::Reload) => {
                if self.phase == Phase::Up {
                    Self::say(out, log::Level::Info, format!("received {name}: reloading"));
                    out.actions.push(Action::LoadConfig);
                }
            }
            Some(SignalRoute::ForwardTo(names)) => {
                self.forward(sig, |i| names.iter().any(|n| *n == i.spec().name), out);
            }
            // No route: forward to every running program, as SPEC §4 does
            // for USR1/USR2/WINCH. A signal nobody asked rinit to handle is
            // most likely meant for the programs, and tini forwards too.
            Some(SignalRoute::Forward) | None => self.forward(sig, |_| true, out),
        }
    }

    fn forward(&mut self, sig: i32, wanted: impl Fn(&Instance) -> bool, out: &mut Out) {
        for inst in &self.instances {
            if let State::Starting { pid, .. } | State::Running { pid, .. } = inst.state
                && wanted(inst)
            {
                out.actions.push(Action::Kill {
                    target: inst.target(pid),
                    signal: sig,
                });
                let text = format!("{}: passing {} (pid {pid})", inst.name(), signame(sig));
                Self::say(out, log::Level::Debug, text);
            }
        }
    }

    /// Enter the stop phase once (the first reason and its code win);
    /// pending starts and backoffs are cancelled: nothing spawns any more.
    pub(super) fn begin_shutdown(&mut self, code: u8, reason: String, now: Instant, out: &mut Out) {
        if self.phase != Phase::Up {
            return;
        }
        Self::say(out, log::Level::Info, format!("shutting down: {reason}"));
        self.phase = Phase::Stopping {
            code,
            budget: now + self.global.shutdown_timeout,
        };
        self.pending_start.iter_mut().for_each(|p| *p = false);
        for i in 0..self.instances.len() {
            if matches!(self.instances[i].state, State::Backoff { .. }) {
                self.step(i, Input::Stop, now, out);
            }
        }
    }

    /// SIGKILL everything at once: the shutdown budget ran out or the user
    /// insisted. What is left is reaping and `NoChildren`.
    pub(super) fn kill_now(&mut self, reason: String, out: &mut Out) {
        let code = match self.phase {
            Phase::Stopping { code, .. } => code,
            Phase::Sweep {
                code,
                term_sent: false,
                ..
            }
            | Phase::Sweep {
                code,
                next: Some(_),
                ..
            } => code,
            // Already killed everything, or done.
            Phase::Sweep { .. } | Phase::Up | Phase::Done => return,
        };
        if self.no_children {
            self.finish(code, out);
            return;
        }
        Self::say(
            out,
            log::Level::Warn,
            format!("{reason}: sending SIGKILL to every process"),
        );
        out.actions.push(Action::Kill {
            target: Target::Everyone,
            signal: libc::SIGKILL,
        });
        self.phase = Phase::Sweep {
            code,
            next: None,
            term_sent: true,
        };
    }

    /// Exit with `code`. Only called once nothing is alive (every wave down
    /// and NoChildren, or NoChildren itself), so every instance is down.
    pub(super) fn finish(&mut self, code: u8, out: &mut Out) {
        for inst in &mut self.instances {
            // NoChildren proved it: nothing of theirs is alive.
            if !inst.is_down() {
                inst.state = State::Stopped;
            }
        }
        let code = self.final_code(code);
        Self::say(out, log::Level::Info, format!("exiting with code {code}"));
        self.phase = Phase::Done;
        out.actions.push(Action::Exit(code));
    }

    /// Stop the first wave (in stop order) that still has something up;
    /// once every wave is down, go on to the sweep.
    pub(super) fn drive_stop(&mut self, code: u8, now: Instant, out: &mut Out) {
        if !self.entry_stopped(out) {
            return;
        }
        for w in 0..self.stop_waves.len() {
            let mut busy = false;
            for k in 0..self.stop_waves[w].len() {
                let i = self.stop_waves[w][k];
                if matches!(
                    self.instances[i].state,
                    State::Starting { .. } | State::Running { .. }
                ) {
                    self.step(i, Input::Stop, now, out);
                }
                busy |= !self.instances[i].is_down();
            }
            if busy {
                return;
            }
        }
        if !self.stop_hooks_done(out) {
            return;
        }
        if self.no_children {
            self.finish(code, out);
        } else {
            Self::say(out, log::Level::Info, "every program is down".into());
            // Escalate "now": a NoChildren in the same batch spares the signals.
            self.phase = Phase::Sweep {
                code,
                next: Some(now),
                term_sent: false,
            };
        }
    }

    /// ECHILD: while up, it empties every watched group; during shutdown
    /// it proves every instance down and ends the sweep.
    pub(super) fn on_no_children(&mut self, now: Instant, out: &mut Out) {
        self.no_children = true;
        for i in 0..self.instances.len() {
            let input = match (&self.instances[i].state, self.phase) {
                (State::Stopping { stop, .. }, Phase::Up) if !stop.main_alive => Input::GroupEmpty,
                (_, Phase::Up) => continue,
                _ => Input::Abandon,
            };
            self.step(i, input, now, out);
        }
        if let Phase::Sweep { code, .. } = self.phase {
            self.finish(code, out);
        }
    }
}
