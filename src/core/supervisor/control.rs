//! The control plane's side of the supervisor core (SPEC §6): start, stop,
//! restart and signal instances on request, shutdown, and the read-only
//! views `rinit ctl status` and `health` are built from. A child module of
//! `supervisor.rs` so it shares its private state; pure like it.

use super::{Phase, Supervisor};
use crate::config::ProgramSpec;
use crate::core::event::{Action, ChildId, Control};
use crate::core::program::{Input, Out, State};
use crate::core::single::signame;
use std::time::Instant;

/// Per-instance bookkeeping of the control plane.
#[derive(Debug, Clone, Default)]
pub(super) struct Ctl {
    /// Start again once the instance is down (restart, or reload change).
    pub restart: bool,
    /// The spec to run from the next start on (a reload changed it).
    pub new_spec: Option<ProgramSpec>,
    /// Removed by a reload: stopped, never started again, hidden.
    pub retired: bool,
    /// Retired and down, and the runtime was told (`Action::Release`).
    pub released: bool,
    /// How many times it was spawned (restarts = spawns - 1).
    pub spawns: u32,
}

impl Supervisor {
    /// Instance ids for `NAME…`: an instance name (`worker:1`), a program
    /// name (all its instances) or `all`. Unknown names are an error that
    /// names them all.
    pub fn resolve(&self, names: &[String]) -> Result<Vec<ChildId>, String> {
        let mut ids = Vec::new();
        let mut unknown = Vec::new();
        for name in names {
            let before = ids.len();
            for (id, inst) in self.instances() {
                let hit = name == "all" || inst.name() == name || inst.spec().name == *name;
                if hit && !self.is_retired(id) && !ids.contains(&id) {
                    ids.push(id);
                }
            }
            if ids.len() == before && name != "all" && !self.resolves(name) {
                unknown.push(format!("\"{name}\""));
            }
        }
        if unknown.is_empty() {
            Ok(ids)
        } else {
            Err(format!("no program named {}", unknown.join(", ")))
        }
    }

    fn resolves(&self, name: &str) -> bool {
        self.instances()
            .any(|(id, i)| !self.is_retired(id) && (i.name() == name || i.spec().name == name))
    }

    /// Removed by a reload (kept only so ids stay stable).
    pub fn is_retired(&self, id: ChildId) -> bool {
        self.ctl.get(id.0).is_some_and(|c| c.retired)
    }

    /// Starts after the first one, whatever caused them.
    pub fn restarts(&self, id: ChildId) -> u32 {
        self.ctl.get(id.0).map_or(0, |c| c.spawns.saturating_sub(1))
    }

    /// Autostart instances that are not running, with why: `health`.
    pub fn unhealthy(&self) -> Vec<String> {
        self.instances()
            .filter(|(id, i)| !self.is_retired(*id) && i.spec().autostart && !i.is_running())
            .map(|(_, i)| {
                let end = i.last_end().map(|e| format!(" ({e})")).unwrap_or_default();
                format!("{}: {}{end}", i.name(), i.state_name())
            })
            .collect()
    }

    pub(super) fn count_spawns(&mut self, actions: &[Action]) {
        for a in actions {
            if let Action::Spawn(id) = a
                && let Some(c) = self.ctl.get_mut(id.0)
            {
                c.spawns = c.spawns.saturating_add(1);
            }
        }
    }

    pub(super) fn on_control(&mut self, control: Control, now: Instant, out: &mut Out) {
        if self.phase != Phase::Up {
            // The runtime refuses these during shutdown; a late one is moot.
            return;
        }
        match control {
            Control::Start(ids) => ids.iter().for_each(|&id| self.ctl_start(id.0, now, out)),
            Control::Stop(ids) => ids.iter().for_each(|&id| self.ctl_stop(id.0, now, out)),
            Control::Restart(ids) => {
                for id in ids {
                    let i = id.0;
                    if self.instances.get(i).is_some_and(|x| x.is_down()) {
                        self.ctl_start(i, now, out);
                    } else {
                        self.ctl_stop(i, now, out);
                        if let Some(c) = self.ctl.get_mut(i) {
                            c.restart = true;
                        }
                    }
                }
            }
            Control::Signal { signal, ids } => {
                for id in ids {
                    let Some(inst) = self.instances.get(id.0) else {
                        continue;
                    };
                    if let State::Starting { pid, .. } | State::Running { pid, .. } = inst.state {
                        out.actions.push(Action::Kill {
                            target: inst.target(pid),
                            signal,
                        });
                        let text =
                            format!("{}: sending {} on request", inst.name(), signame(signal));
                        Self::say(out, log::Level::Info, text);
                    }
                }
            }
            Control::Shutdown => {
                self.begin_shutdown(0, "requested by rinit ctl shutdown".into(), now, out);
            }
            Control::Reload(cfg) => self.reload(&cfg.0, now, out),
        }
    }

    fn ctl_start(&mut self, i: usize, now: Instant, out: &mut Out) {
        if self.ctl.get(i).is_none_or(|c| c.retired) {
            return;
        }
        match self.instances[i].state {
            State::Backoff { .. } => {
                // Skip the rest of the wait: the user asked for it now.
                self.step(i, Input::Stop, now, out);
                self.pending_start[i] = true;
            }
            State::Stopping { .. } => self.ctl[i].restart = true,
            State::Stopped | State::Exited { .. } | State::Fatal { .. } => {
                self.instances[i].reset_for_start();
                self.pending_start[i] = true;
            }
            State::Spawning { .. } | State::Starting { .. } | State::Running { .. } => {}
        }
    }

    pub(super) fn ctl_stop(&mut self, i: usize, now: Instant, out: &mut Out) {
        let Some(c) = self.ctl.get_mut(i) else { return };
        c.restart = false;
        self.pending_start[i] = false;
        match self.instances[i].state {
            State::Starting { .. } | State::Running { .. } | State::Backoff { .. } => {
                self.step(i, Input::Stop, now, out);
            }
            State::Stopping { .. } => self.instances[i].stop_after_cleanup(),
            State::Stopped
            | State::Spawning { .. }
            | State::Exited { .. }
            | State::Fatal { .. } => {}
        }
    }

    /// Retired instances: one that came up after all (its spawn was on
    /// its way when the reload came) stops; one down for good is let go of
    /// (the runtime frees its pipes and tail). Called from `settle` while up.
    pub(super) fn settle_retired(&mut self, now: Instant, out: &mut Out) {
        for i in 0..self.instances.len() {
            if !self.ctl[i].retired || self.ctl[i].released {
                continue;
            }
            match self.instances[i].state {
                State::Starting { .. } | State::Running { .. } | State::Backoff { .. } => {
                    self.ctl_stop(i, now, out);
                }
                State::Spawning { .. } | State::Stopping { .. } => {}
                State::Stopped | State::Exited { .. } | State::Fatal { .. } => {}
            }
            if matches!(
                self.instances[i].state,
                State::Stopped | State::Exited { .. } | State::Fatal { .. }
            ) {
                self.ctl[i].released = true;
                out.actions.push(Action::Release(ChildId(i)));
            }
        }
    }

    /// Restarts whose stop has finished start now (with a reloaded spec,
    /// if any). Called from `settle` while up.
    pub(super) fn settle_control(&mut self) {
        for i in 0..self.instances.len() {
            let c = &mut self.ctl[i];
            if !c.restart || c.retired || !self.instances[i].is_down() {
                continue;
            }
            c.restart = false;
            if let Some(spec) = c.new_spec.take() {
                self.instances[i].replace_spec(spec);
            }
            if let State::Backoff { .. } = self.instances[i].state {
                // A crash was already being retried: let the backoff run.
                continue;
            }
            self.instances[i].reset_for_start();
            self.pending_start[i] = true;
        }
    }
}
