//! The one event loop: one thread, one `mio::Poll`, one blocking wait.
//!
//! The wait's timeout is the core's earliest deadline, or none at all: an
//! idle rinit makes no syscall and takes no wake-up. Readiness becomes
//! `Event`s for the core; the core's `Action`s are carried out here through
//! `os::*`; their results come back as events. The loop owns `waitpid`.

use crate::core::{Action, ChildId, Core, Event};
use crate::os;
use crate::os::reap::Reaped;
use mio::{Events, Interest, Poll, Token};
use signal_hook_mio::v1_0::Signals;
use std::collections::VecDeque;
use std::io;
use std::time::Instant;

const SIGNALS: Token = Token(0);

/// What the loop cannot decide by itself: how to start a child the core
/// names. Returns `Event::Spawned` or `Event::SpawnFailed`.
pub trait Spawner {
    fn spawn(&mut self, id: ChildId) -> Event;
}

pub struct EventLoop {
    poll: Poll,
    events: Events,
    signals: Signals,
}

impl EventLoop {
    /// Take in every catchable signal. Call before spawning anything, so no
    /// signal or child exit can slip by unobserved.
    pub fn new() -> io::Result<Self> {
        let poll = Poll::new()?;
        let mut signals = os::signals::take_in()?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        Ok(EventLoop {
            poll,
            events: Events::with_capacity(64),
            signals,
        })
    }

    /// Drive `core` until it asks to exit; returns the exit code.
    pub fn run<C: Core>(&mut self, core: &mut C, spawner: &mut dyn Spawner) -> io::Result<u8> {
        let mut queue: VecDeque<Event> = VecDeque::new();
        let actions = core.start(Instant::now());
        if let Some(code) = self.perform(core, actions, spawner, &mut queue) {
            return Ok(code);
        }
        loop {
            while let Some(event) = queue.pop_front() {
                let actions = core.handle(event, Instant::now());
                if let Some(code) = self.perform(core, actions, spawner, &mut queue) {
                    return Ok(code);
                }
            }
            let now = Instant::now();
            let timeout = match core.next_deadline() {
                Some(due) if due <= now => {
                    queue.push_back(Event::Tick);
                    continue;
                }
                Some(due) => Some(due - now),
                None => None,
            };
            if let Err(e) = self.poll.poll(&mut self.events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let mut chld = false;
            for event in self.events.iter() {
                if event.token() == SIGNALS {
                    // `pending` empties the self-pipe first, then reports:
                    // the order that cannot lose a signal.
                    for sig in self.signals.pending() {
                        if sig == libc::SIGCHLD {
                            chld = true;
                        } else {
                            queue.push_back(Event::Signal(sig));
                        }
                    }
                }
            }
            if chld {
                reap_all(&mut queue)?;
            }
            if timeout.is_some() {
                queue.push_back(Event::Tick);
            }
        }
    }

    fn perform<C: Core>(
        &mut self,
        core: &mut C,
        actions: Vec<Action>,
        spawner: &mut dyn Spawner,
        queue: &mut VecDeque<Event>,
    ) -> Option<u8> {
        for m in core.take_messages() {
            log::log!(m.level, "{}", m.text);
        }
        for action in actions {
            match action {
                Action::Spawn(id) => queue.push_back(spawner.spawn(id)),
                Action::Kill { target, signal } => {
                    if let Err(e) = os::kill::send(target, signal) {
                        log::warn!("unable to send signal {signal} to {target:?}: {e}");
                    }
                }
                Action::Exit(code) => return Some(code),
            }
        }
        None
    }
}

/// Reap every ended child; `NoChildren` last if nothing is left at all.
fn reap_all(queue: &mut VecDeque<Event>) -> io::Result<()> {
    loop {
        match os::reap::reap_one()? {
            Reaped::Child { pid, end } => queue.push_back(Event::Exited { pid, end }),
            Reaped::NothingReady => return Ok(()),
            Reaped::NoChildren => {
                queue.push_back(Event::NoChildren);
                return Ok(());
            }
        }
    }
}
