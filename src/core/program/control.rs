//! What the control plane may do to one instance beyond its state machine:
//! forget a finished run so it can start again, take a new spec on reload,
//! and read the data `rinit ctl status` shows. A child of `program.rs` so it
//! reaches the private backoff and spec; pure like it.

use super::{After, Instance, State, StateName};
use crate::config::ProgramSpec;
use std::time::Instant;

impl Instance {
    /// Make a down instance startable again (`rinit ctl start` on an
    /// exited or fatal program): back to `stopped`, with a fresh backoff
    /// so a program that was given up on gets its full retries again.
    /// Anything that is not down is left alone.
    pub(crate) fn reset_for_start(&mut self) {
        if matches!(
            self.state,
            State::Stopped | State::Exited { .. } | State::Fatal { .. }
        ) {
            self.state = State::Stopped;
            self.backoff.reset();
            self.blocked = false;
        }
    }

    /// A requested stop arriving while the instance is cleaning up after
    /// its main process died: end in `stopped` instead of restarting.
    pub(crate) fn stop_after_cleanup(&mut self) {
        if let State::Stopping { after, .. } = &mut self.state
            && let After::Died { from, .. } = *after
        {
            *after = After::Stopped { from };
        }
    }

    /// Take a changed spec from a reload. Only while down: a live process
    /// keeps the spec it was started with until it is stopped.
    pub(crate) fn replace_spec(&mut self, spec: ProgramSpec) {
        if self.is_down() {
            self.backoff = super::Backoff::new(spec.backoff, spec.backoff_max);
            self.spec = spec;
        }
    }

    /// A reload changed only how many instances the program has: nothing
    /// this instance runs with, so it takes the new count even while live.
    pub(crate) fn set_instances(&mut self, n: u32) {
        self.spec.instances = n;
    }

    /// Since when the current run is up (`starting` or `running`).
    pub fn up_since(&self) -> Option<Instant> {
        match self.state {
            State::Starting { since, .. } | State::Running { since, .. } => Some(since),
            _ => None,
        }
    }

    /// When the next start attempt is due (`backoff`).
    pub fn retry_at(&self) -> Option<Instant> {
        match self.state {
            State::Backoff { until } => Some(until),
            _ => None,
        }
    }

    pub fn last_end(&self) -> Option<super::ProcessEnd> {
        self.last_end
    }

    /// Whether this instance is "up" for `rinit ctl health`.
    pub fn is_running(&self) -> bool {
        self.state_name() == StateName::Running
    }
}

impl Instance {
    /// The program's index moved in the reloaded `Config::programs`.
    pub(crate) fn set_program(&mut self, program: usize) {
        self.program = program;
    }
}
