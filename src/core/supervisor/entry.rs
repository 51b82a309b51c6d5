//! The entrypoint around the programs: start hooks before any program, the
//! main command once the programs are up (SPEC §1: "hooks, programs, then
//! CMD in the foreground"), stop hooks after every program has stopped.
//! A child module of `supervisor.rs` sharing its private state; pure.

use super::{Phase, Supervisor};
use crate::config::{HookSpec, HookStage};
use crate::core::event::{Action, ChildId, Target};
use crate::core::exit::ProcessEnd;
use crate::core::hooks::Progress;
use crate::core::program::{Instance, Out, StateName};
use std::time::Instant;

/// The main command's life (SPEC §1 "supervisor mode plus a main command").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MainCommand {
    /// `rinit` without a command.
    Absent,
    /// Waiting for the programs to be up.
    Pending,
    Spawning,
    Running {
        pid: i32,
        signalled: bool,
    },
    Ended(ProcessEnd),
}

/// What a `ChildId` of the supervisor stands for.
#[derive(Debug, Clone, Copy)]
pub enum Child<'a> {
    Program(&'a Instance),
    Hook(&'a HookSpec),
    /// The main command (its argv is the runtime's business).
    Main,
}

impl Supervisor {
    /// Run the main command once the programs are up; its exit shuts the
    /// container down with its code.
    pub fn with_main_command(mut self) -> Self {
        self.main = MainCommand::Pending;
        self
    }

    pub fn child(&self, id: ChildId) -> Option<Child<'_>> {
        if let Some(inst) = self.instances.get(id.0) {
            return Some(Child::Program(inst));
        }
        if let Some(spec) = self.hooks.spec(id) {
            return Some(Child::Hook(spec));
        }
        (id == self.main_id && self.main != MainCommand::Absent).then_some(Child::Main)
    }

    /// Every child the runtime may be asked to spawn, main command last.
    pub fn children(&self) -> impl Iterator<Item = (ChildId, Child<'_>)> {
        let main = (self.main != MainCommand::Absent).then_some((self.main_id, Child::Main));
        self.instances()
            .map(|(id, i)| (id, Child::Program(i)))
            .chain(self.hooks.specs().map(|(id, h)| (id, Child::Hook(h))))
            .chain(main)
    }

    pub(super) fn start_hooks(&mut self, now: Instant, out: &mut Out) {
        let progress = self.hooks.run(HookStage::Start, out);
        self.on_start_progress(progress, now, out);
    }

    fn on_start_progress(&mut self, progress: Progress, now: Instant, out: &mut Out) {
        match progress {
            Progress::Busy => {}
            Progress::Done if self.phase == Phase::Up => self.started = true,
            // Abandoned for a shutdown: the stop phase takes it from here.
            Progress::Done => {}
            Progress::Failed(code) => {
                self.begin_shutdown(code, "a start hook failed".into(), now, out);
            }
        }
    }

    /// A spawn result for a hook or the main command; false if `id` is neither.
    pub(super) fn aux_spawned(
        &mut self,
        id: ChildId,
        pid: i32,
        now: Instant,
        out: &mut Out,
    ) -> bool {
        if self.hooks.owns(id) {
            self.hooks.spawned(id, pid, now, out);
            return true;
        }
        if id == self.main_id && self.main == MainCommand::Spawning {
            Self::say(
                out,
                log::Level::Info,
                format!("main command: started (pid {pid})"),
            );
            self.main = MainCommand::Running {
                pid,
                signalled: false,
            };
            if self.phase != Phase::Up {
                self.stop_main(out);
            }
            return true;
        }
        false
    }

    pub(super) fn aux_spawn_failed(
        &mut self,
        id: ChildId,
        message: &str,
        errno: i32,
        now: Instant,
        out: &mut Out,
    ) -> bool {
        if self.hooks.owns(id) {
            let stage = self.hooks.running();
            let progress = self.hooks.spawn_failed(id, message, errno, out);
            self.on_hook_progress(stage, progress, now, out);
            return true;
        }
        if id == self.main_id && self.main == MainCommand::Spawning {
            let code = match errno {
                libc::ENOENT => 127,
                libc::EACCES => 126,
                _ => 1,
            };
            Self::say(out, log::Level::Error, format!("main command: {message}"));
            self.main = MainCommand::Ended(ProcessEnd::Exited(code));
            self.begin_shutdown(code, "the main command could not start".into(), now, out);
            return true;
        }
        false
    }

    /// An exit of a hook or of the main command; false if `pid` is neither.
    pub(super) fn aux_exited(
        &mut self,
        pid: i32,
        end: ProcessEnd,
        now: Instant,
        out: &mut Out,
    ) -> bool {
        let stage = self.hooks.running();
        if let Some(progress) = self.hooks.exited(pid, end, out) {
            self.on_hook_progress(stage, progress, now, out);
            return true;
        }
        if let MainCommand::Running { pid: p, .. } = self.main
            && p == pid
        {
            self.main = MainCommand::Ended(end);
            let reason = format!("the main command exited ({end})");
            self.begin_shutdown(end.code(), reason, now, out);
            return true;
        }
        false
    }

    fn on_hook_progress(
        &mut self,
        stage: Option<HookStage>,
        progress: Progress,
        now: Instant,
        out: &mut Out,
    ) {
        // Stop-stage progress needs nothing here: `drive_stop` looks again.
        if stage == Some(HookStage::Start) {
            self.on_start_progress(progress, now, out);
        }
    }

    /// Up and running: the main command starts once every autostart
    /// program is up (or has settled as exited, fatal or blocked).
    pub(super) fn maybe_start_main(&mut self, out: &mut Out) {
        if self.main != MainCommand::Pending {
            return;
        }
        let up = self.instances.iter().all(|i| {
            !i.spec().autostart
                || i.blocked
                || matches!(
                    i.state_name(),
                    StateName::Running | StateName::Exited | StateName::Fatal
                )
        });
        if up {
            self.main = MainCommand::Spawning;
            out.actions.push(Action::Spawn(self.main_id));
        }
    }

    /// Shutdown, first step: the main command and a running start hook go
    /// before any program. True once neither is alive.
    pub(super) fn entry_stopped(&mut self, out: &mut Out) -> bool {
        if self.hooks.running() == Some(HookStage::Start) {
            return false;
        }
        self.stop_main(out);
        !matches!(
            self.main,
            MainCommand::Spawning | MainCommand::Running { .. }
        )
    }

    fn stop_main(&mut self, out: &mut Out) {
        if let MainCommand::Running {
            pid,
            signalled: false,
        } = self.main
        {
            Self::say(
                out,
                log::Level::Info,
                format!("main command: sending SIGTERM (pid {pid})"),
            );
            out.actions.push(Action::Kill {
                target: Target::Group(pid),
                signal: libc::SIGTERM,
            });
            self.main = MainCommand::Running {
                pid,
                signalled: true,
            };
        }
    }

    /// Shutdown, after every program is down: run the stop hooks. True once
    /// they have all run.
    pub(super) fn stop_hooks_done(&mut self, out: &mut Out) -> bool {
        if !self.hooks.stop_begun() {
            return self.hooks.run(HookStage::Stop, out) != Progress::Busy;
        }
        self.hooks.running() != Some(HookStage::Stop)
    }

    /// The exit code SPEC §4 gives: the main command's, when there is one.
    pub(super) fn final_code(&self, code: u8) -> u8 {
        match self.main {
            MainCommand::Ended(end) => end.code(),
            _ => code,
        }
    }
}
