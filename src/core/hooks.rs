//! Entrypoint hooks: the start hooks run one at a time before any program,
//! the stop hooks one at a time after every program has stopped (SPEC §3,
//! the `docker-entrypoint.sh` replacement).
//!
//! A sequencer in the core's style: the supervisor asks it to run a stage,
//! feeds it the events about its children, and reads back `Progress`. It
//! owns the ChildIds `base..base + hooks`. Pure: no syscalls, no clock.

use super::event::{Action, ChildId, Target};
use super::exit::ProcessEnd;
use super::program::Out;
use super::single::signame;
use crate::config::{HookSpec, HookStage, OnFailure};
use std::time::{Duration, Instant};

/// The exit code of a hook killed at its timeout, as `timeout(1)` reports.
pub const TIMEOUT_CODE: u8 = 124;

/// Where a stage stands after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A hook of the stage is running (or being spawned).
    Busy,
    /// Every hook of the stage has run (or the stage was abandoned).
    Done,
    /// A start hook with `on_failure = "abort"` failed with this code.
    Failed(u8),
}

#[derive(Debug, Clone)]
struct Current {
    idx: usize,
    pid: Option<i32>,
    /// Timeout, then the grace before SIGKILL once it fired.
    deadline: Option<Instant>,
    timed_out: bool,
}

#[derive(Debug, Clone)]
pub struct HookSequencer {
    specs: Vec<HookSpec>,
    base: usize,
    kill_grace: Duration,
    stage: Option<HookStage>,
    /// Next index of `specs` to consider in the current stage.
    next: usize,
    current: Option<Current>,
    /// Shutdown was asked during the start stage: run no further start hook.
    abandoned: bool,
    stop_begun: bool,
}

impl HookSequencer {
    pub fn new(specs: Vec<HookSpec>, base: usize, kill_grace: Duration) -> Self {
        HookSequencer {
            specs,
            base,
            kill_grace,
            stage: None,
            next: 0,
            current: None,
            abandoned: false,
            stop_begun: false,
        }
    }

    pub fn set_kill_grace(&mut self, grace: Duration) {
        self.kill_grace = grace;
    }

    pub fn owns(&self, id: ChildId) -> bool {
        id.0 >= self.base && id.0 < self.base + self.specs.len()
    }

    pub fn spec(&self, id: ChildId) -> Option<&HookSpec> {
        id.0.checked_sub(self.base).and_then(|i| self.specs.get(i))
    }

    pub fn specs(&self) -> impl Iterator<Item = (ChildId, &HookSpec)> {
        let base = self.base;
        self.specs
            .iter()
            .enumerate()
            .map(move |(i, s)| (ChildId(base + i), s))
    }

    /// The stage a hook is running in, if one is.
    pub fn running(&self) -> Option<HookStage> {
        self.current.as_ref().and(self.stage)
    }

    pub fn stop_begun(&self) -> bool {
        self.stop_begun
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.current.as_ref().and_then(|c| c.deadline)
    }

    /// Start (or go on with) `stage`: spawn its next hook, or report it done.
    pub fn run(&mut self, stage: HookStage, out: &mut Out) -> Progress {
        if self.stage != Some(stage) {
            self.stage = Some(stage);
            self.next = 0;
            self.stop_begun |= stage == HookStage::Stop;
        }
        if self.current.is_some() {
            return Progress::Busy;
        }
        if stage == HookStage::Start && self.abandoned {
            return Progress::Done;
        }
        while self.next < self.specs.len() {
            let idx = self.next;
            self.next += 1;
            if self.specs[idx].stage == stage {
                out.actions.push(Action::Spawn(ChildId(self.base + idx)));
                self.current = Some(Current {
                    idx,
                    pid: None,
                    deadline: None,
                    timed_out: false,
                });
                return Progress::Busy;
            }
        }
        Progress::Done
    }

    pub fn spawned(&mut self, id: ChildId, pid: i32, now: Instant, out: &mut Out) {
        let Some(cur) = self.current.as_mut() else {
            return;
        };
        if cur.idx + self.base != id.0 {
            return;
        }
        let spec = &self.specs[cur.idx];
        cur.pid = Some(pid);
        cur.deadline = spec.timeout.map(|t| now + t);
        out.say(
            log::Level::Info,
            format!("hook {}: started (pid {pid})", spec.name),
        );
    }

    pub fn spawn_failed(
        &mut self,
        id: ChildId,
        message: &str,
        errno: i32,
        out: &mut Out,
    ) -> Progress {
        match &self.current {
            Some(cur) if cur.idx + self.base == id.0 => {}
            _ => return Progress::Busy,
        }
        // The codes a shell gives for a command it cannot run.
        let code = match errno {
            libc::ENOENT => 127,
            libc::EACCES => 126,
            _ => 1,
        };
        let why = format!("unable to spawn: {message}");
        self.conclude(Err((code, why)), out)
    }

    /// The hook with `pid` ended; `None` when `pid` is not a hook.
    pub fn exited(&mut self, pid: i32, end: ProcessEnd, out: &mut Out) -> Option<Progress> {
        let cur = self.current.as_ref().filter(|c| c.pid == Some(pid))?;
        let result = if cur.timed_out {
            let t = self.specs[cur.idx].timeout.unwrap_or_default();
            Err((TIMEOUT_CODE, format!("timed out after {t:?} ({end})")))
        } else if end.success() {
            Ok(())
        } else {
            Err((end.code(), end.to_string()))
        };
        Some(self.conclude(result, out))
    }

    fn conclude(&mut self, result: Result<(), (u8, String)>, out: &mut Out) -> Progress {
        let Some(cur) = self.current.take() else {
            return Progress::Busy;
        };
        let spec = &self.specs[cur.idx];
        let name = &spec.name;
        match result {
            Ok(()) => out.say(log::Level::Info, format!("hook {name}: done")),
            // Asked to stop: its failure is the shutdown's doing.
            Err((_, why)) if self.abandoned && spec.stage == HookStage::Start => {
                out.say(log::Level::Info, format!("hook {name}: stopped ({why})"));
            }
            Err((code, why)) => {
                let abort = spec.stage == HookStage::Start && spec.on_failure == OnFailure::Abort;
                if abort {
                    out.say(
                        log::Level::Error,
                        format!(
                            "hook {name} failed: {why}; not starting any program (exit code {code})"
                        ),
                    );
                    return Progress::Failed(code);
                }
                out.say(
                    log::Level::Warn,
                    format!("hook {name} failed: {why}; continuing"),
                );
            }
        }
        match self.stage {
            Some(stage) => self.run(stage, out),
            None => Progress::Done,
        }
    }

    /// Timeout handling: SIGTERM to the hook's group at its timeout, SIGKILL
    /// after the grace.
    pub fn tick(&mut self, now: Instant, out: &mut Out) {
        let grace = self.kill_grace;
        let Some(cur) = self.current.as_mut() else {
            return;
        };
        let (Some(pid), Some(at)) = (cur.pid, cur.deadline) else {
            return;
        };
        if now < at {
            return;
        }
        let name = &self.specs[cur.idx].name;
        let signal = if cur.timed_out {
            cur.deadline = None;
            libc::SIGKILL
        } else {
            let t = self.specs[cur.idx].timeout.unwrap_or_default();
            out.say(
                log::Level::Warn,
                format!("hook {name}: timed out after {t:?}; stopping it"),
            );
            cur.timed_out = true;
            cur.deadline = Some(now + grace);
            libc::SIGTERM
        };
        out.actions.push(Action::Kill {
            target: Target::Group(pid),
            signal,
        });
    }

    /// Shutdown asked while a start hook runs: pass it the signal (to its
    /// group) and run no further start hook.
    pub fn interrupt(&mut self, signal: i32, out: &mut Out) {
        if self.stage == Some(HookStage::Start) {
            self.abandoned = true;
        }
        if let Some(Current {
            pid: Some(pid),
            idx,
            ..
        }) = self.current
        {
            let name = &self.specs[idx].name;
            out.say(
                log::Level::Info,
                format!("hook {name}: passing {}", signame(signal)),
            );
            out.actions.push(Action::Kill {
                target: Target::Group(pid),
                signal,
            });
        }
    }
}

#[cfg(test)]
mod tests;
