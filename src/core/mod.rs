//! The pure core: state machines that turn `Event`s into `Action`s.
//!
//! Nothing in here makes a syscall or reads a clock: time is an argument and
//! deadlines are reported back through `Core::next_deadline`, so every
//! behaviour can be tested as a table, without processes or sleeping.

pub mod backoff;
pub mod event;
pub mod exit;
pub mod hooks;
pub mod order;
pub mod program;
pub mod single;
pub mod sort;
pub mod supervisor;

pub use event::{Action, ChildId, Control, Event, NewConfig, Target};
pub use exit::{ExitRemap, ProcessEnd};
pub use supervisor::Supervisor;

use std::time::Instant;

/// What the event loop drives. One implementation per mode.
pub trait Core {
    /// The actions to take before the first event (typically: spawn).
    fn start(&mut self, now: Instant) -> Vec<Action>;
    /// Feed one fact; get back what to do about it.
    fn handle(&mut self, event: Event, now: Instant) -> Vec<Action>;
    /// The earliest moment the core wants a `Tick`, if any. `None` means the
    /// loop may sleep until the next event, however long that takes.
    fn next_deadline(&self) -> Option<Instant>;
    /// Messages produced since the last call; the loop logs them.
    fn take_messages(&mut self) -> Vec<Message> {
        Vec::new()
    }
}

/// A message the core wants logged, at tini's verbosity scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub level: log::Level,
    pub text: String,
}
