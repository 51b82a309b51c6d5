//! Applying a reloaded config (SPEC §6 `reload`, SIGHUP): the new config is
//! already valid; this works out the difference by instance name and acts
//! on it. New instances start, removed ones stop and are retired, changed
//! ones (any field of their `ProgramSpec` but `instances` differs) restart
//! with the new spec, unchanged ones are not touched (so a new instance
//! count starts or stops only the instances it adds or drops). Instance
//! ids never move: the runtime's pipes and pids are keyed by them, so
//! removed instances stay in the table, retired, and new ones are
//! appended. Pure, like its parent.

use super::Supervisor;
use super::control::Ctl;
use crate::config::{Config, ProgramSpec};
use crate::core::program::{Input, Out, State};
use std::time::Instant;

impl Supervisor {
    pub(super) fn reload(&mut self, cfg: &Config, now: Instant, out: &mut Out) {
        // The fresh core computes names, dependencies and waves for the new
        // config in its own numbering; `map` translates that to ours.
        let fresh = Supervisor::new(cfg);
        let mut map = Vec::with_capacity(fresh.instances.len());
        let mut kept = vec![false; self.instances.len()];
        let (mut added, mut changed, mut same) = (0, 0, 0);
        for (k, new) in fresh.instances.iter().enumerate() {
            let existing = (0..self.instances.len())
                .find(|&i| !self.ctl[i].retired && self.instances[i].name() == new.name());
            let i = match existing {
                Some(i) => {
                    kept[i] = true;
                    self.instances[i].set_program(new.program());
                    // What it runs next: the spec of an earlier reload it
                    // is still stopping for, else its own.
                    let ahead = self.ctl[i]
                        .new_spec
                        .as_ref()
                        .unwrap_or(self.instances[i].spec());
                    let next = new.spec();
                    if ahead == next {
                        same += 1;
                    } else if only_the_count_differs(ahead, next) {
                        // More or fewer instances: the others are untouched.
                        same += 1;
                        self.instances[i].set_instances(next.instances);
                        if let Some(spec) = &mut self.ctl[i].new_spec {
                            spec.instances = next.instances;
                        }
                    } else {
                        changed += 1;
                        self.change(i, new.spec().clone(), now, out);
                    }
                    i
                }
                None => {
                    added += 1;
                    self.instances.push(new.clone());
                    self.ctl.push(Ctl::default());
                    self.deps.push(Vec::new());
                    self.pending_start.push(fresh.pending_start[k]);
                    self.instances.len() - 1
                }
            };
            map.push(i);
        }
        let mut removed = 0;
        for (i, kept) in kept.into_iter().enumerate() {
            if !kept && !self.ctl[i].retired {
                removed += 1;
                self.ctl_stop(i, now, out);
                self.ctl[i].retired = true;
                self.ctl[i].new_spec = None;
                self.instances[i].blocked = true;
            }
        }
        for (k, deps) in fresh.deps.iter().enumerate() {
            self.deps[map[k]] = deps.iter().map(|&d| map[d]).collect();
        }
        self.start_order = fresh.start_order.iter().map(|&k| map[k]).collect();
        // Retired instances are stopping already; shutdown waits for them first.
        let retired: Vec<usize> = (0..self.instances.len())
            .filter(|&i| self.ctl[i].retired)
            .collect();
        self.stop_waves = std::iter::once(retired)
            .chain(
                fresh
                    .stop_waves
                    .iter()
                    .map(|w| w.iter().map(|&k| map[k]).collect()),
            )
            .collect();
        self.global = cfg.global.clone();
        let text = format!(
            "reloaded {}: {added} added, {removed} removed, {changed} changed, {same} unchanged",
            cfg.path.display()
        );
        Self::say(out, log::Level::Info, text);
    }

    /// A changed instance: a live one stops and restarts with `spec`; a
    /// down one takes it at once and starts if it should be up.
    fn change(&mut self, i: usize, spec: crate::config::ProgramSpec, now: Instant, out: &mut Out) {
        let autostart = spec.autostart;
        match self.instances[i].state {
            State::Stopped | State::Exited { .. } | State::Fatal { .. } | State::Backoff { .. } => {
                if let State::Backoff { .. } = self.instances[i].state {
                    self.step(i, Input::Stop, now, out);
                }
                self.instances[i].replace_spec(spec);
                if autostart {
                    self.instances[i].reset_for_start();
                    self.pending_start[i] = true;
                }
            }
            State::Spawning { .. } | State::Starting { .. } | State::Running { .. } => {
                self.ctl_stop(i, now, out);
                self.ctl[i].restart = true;
                self.ctl[i].new_spec = Some(spec);
            }
            State::Stopping { .. } => {
                self.instances[i].stop_after_cleanup();
                self.ctl[i].restart = true;
                self.ctl[i].new_spec = Some(spec);
            }
        }
    }
}

/// Whether two specs of a program differ only in `instances`.
fn only_the_count_differs(old: &ProgramSpec, new: &ProgramSpec) -> bool {
    let recounted = ProgramSpec {
        instances: new.instances,
        ..old.clone()
    };
    recounted == *new
}
