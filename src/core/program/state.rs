//! The data of one instance's life: the state enum with what each state
//! carries, and the small vocabulary `program.rs` is driven with. Plain
//! data, no logic beyond naming.

use crate::core::Message;
use crate::core::event::{Action, ChildId};
use crate::core::exit::ProcessEnd;
use std::fmt;
use std::time::Instant;

/// The user-visible state names (`rinit ctl status`, transition lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateName {
    Stopped,
    Starting,
    Running,
    Backoff,
    Stopping,
    Exited,
    Fatal,
}

impl fmt::Display for StateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StateName::Stopped => "stopped",
            StateName::Starting => "starting",
            StateName::Running => "running",
            StateName::Backoff => "backoff",
            StateName::Stopping => "stopping",
            StateName::Exited => "exited",
            StateName::Fatal => "fatal",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Not started: autostart off, waiting for dependencies, or stopped on request.
    Stopped,
    /// `Action::Spawn` is out; the loop answers at once. `cause` is the
    /// previous run's end when this is an immediate restart (logged with
    /// the new pid so the transition stays one line). Shown as `starting`.
    Spawning {
        from: StateName,
        cause: Option<String>,
    },
    /// Alive, but not yet for `start_secs`.
    Starting {
        pid: i32,
        since: Instant,
    },
    Running {
        pid: i32,
        since: Instant,
    },
    /// Waiting to retry a failed start.
    Backoff {
        until: Instant,
    },
    /// Processes are being stopped: on request (shutdown), or the group a
    /// dead main process left behind before anything else happens (SPEC §4).
    Stopping {
        stop: Stop,
        after: After,
    },
    Exited {
        end: ProcessEnd,
    },
    /// Gave up; `code` is what a critical program makes rinit exit with.
    Fatal {
        code: u8,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// The main pid, which is also the pgid (programs run under setsid).
    pub pid: i32,
    pub main_alive: bool,
    /// `WatchGroup` is out and `GroupEmpty` has not come back yet.
    pub group_watched: bool,
    pub next: Escalation,
}

/// What the stop timer does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    /// Send the stop signal. Scheduled at the main's death time, so a group
    /// that the loop reports empty in the same batch costs no signal.
    Signal {
        at: Instant,
    },
    Kill {
        at: Instant,
    },
    /// Everything was sent; only waiting for exits.
    Waiting,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// A requested stop: end in `stopped`.
    Stopped { from: StateName },
    /// The main process died by itself in state `from`: decide restart,
    /// backoff or exit once its group is empty.
    Died { from: StateName, end: ProcessEnd },
}

/// What the supervisor tells one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// Dependencies are satisfied: start now.
    Start,
    Spawned(i32),
    SpawnFailed(&'a str),
    /// Its main process was reaped.
    Exited(ProcessEnd),
    /// Its watched group is empty.
    GroupEmpty,
    /// Time passed (acts only on this instance's own due deadline).
    Tick,
    /// Shutdown reached its wave.
    Stop,
    /// Nothing is left alive (NoChildren during shutdown): forget processes.
    Abandon,
}

/// What an instance needs to know about the whole.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub id: ChildId,
    pub shutting_down: bool,
}

#[derive(Debug, Default)]
pub struct Out {
    pub actions: Vec<Action>,
    pub messages: Vec<Message>,
}

impl Out {
    pub(crate) fn say(&mut self, level: log::Level, text: String) {
        self.messages.push(Message { level, text });
    }
}
