//! The one event loop: one thread, one `mio::Poll`, one blocking wait.
//!
//! The wait's timeout is the earliest deadline of the core and the runtime,
//! or none at all: an idle rinit makes no syscall and takes no wake-up.
//! Readiness becomes `Event`s for the core; the core's `Action`s are carried
//! out here and through the mode's `Runtime`; results come back as events.
//! The loop owns `waitpid`.

use crate::core::{Action, ChildId, Core, Event, Message};
use crate::os;
use crate::os::reap::Reaped;
use crate::os::signals::Signals;
use mio::{Events, Interest, Poll, Registry, Token};
use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::time::{Duration, Instant};

/// Token 0 is the signal pipe; runtimes use any other.
pub const SIGNALS: Token = Token(0);

/// The mode-specific side of the loop: how to start what the core names,
/// and the I/O sources (pipes, sockets) the mode registered.
pub trait Runtime<C: Core> {
    /// Carry out a batch's `Action::Spawn`s: one `Spawned` or
    /// `SpawnFailed` per id, in order. (A batch starts its programs side
    /// by side: see `os::spawn::spawn_all`.)
    fn spawn(&mut self, core: &C, ids: &[ChildId]) -> Vec<Event>;
    /// The core's first actions (the first programs spawned) are done:
    /// set-up that can wait until then goes here, off the start-up path.
    fn started(&mut self) {}
    /// A source the runtime registered is ready.
    fn ready(&mut self, _token: Token) {}
    /// A signal reached rinit (SIGCHLD excepted), before the core routes
    /// it: the runtime's own use of a signal (SIGUSR1 reopens log files)
    /// happens first, so programs the core forwards it to see its effect.
    fn signal(&mut self, _sig: i32) {}
    /// A child was reaped; called before the core hears of it, so whatever
    /// it wrote is delivered before its exit is logged or acted on.
    fn reaped(&mut self, _pid: i32) {}
    /// The runtime's own earliest deadline (e.g. flushing a partial line).
    fn next_deadline(&self) -> Option<Instant> {
        None
    }
    fn tick(&mut self, _now: Instant) {}
    /// Work left from the last turn (a pipe with more to read than one
    /// turn's share): the loop then polls without waiting, and calls
    /// `resume` before it handles what the poll brought.
    fn busy(&self) -> bool {
        false
    }
    fn resume(&mut self) {}
    /// `Action::Release`: child `id` is gone for good; let go of what is
    /// kept for it.
    fn release(&mut self, _id: ChildId) {}
    /// One of the core's messages.
    fn log(&mut self, message: Message) {
        log::log!(message.level, "{}", message.text);
    }
    /// rinit is about to exit: deliver what is still buffered.
    fn finish(&mut self) {}
    /// After each batch of readiness: answer what clients asked (reading
    /// the core's state) and return the commands for the core.
    fn requests(&mut self, _core: &C, _now: Instant) -> Vec<Event> {
        Vec::new()
    }
    /// `Action::LoadConfig`: re-read the config; `Some(Control(Reload))` if
    /// it is valid, `None` (after logging every error) if not.
    fn load_config(&mut self) -> Option<Event> {
        None
    }
}

pub struct EventLoop {
    poll: Poll,
    events: Events,
    signals: Signals,
    /// Process groups the core waits to see empty (`Action::WatchGroup`).
    watched_groups: BTreeSet<i32>,
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
            watched_groups: BTreeSet::new(),
        })
    }

    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// Drive `core` until it asks to exit; returns the exit code.
    pub fn run<C: Core, R: Runtime<C>>(&mut self, core: &mut C, runtime: &mut R) -> io::Result<u8> {
        let code = self.drive(core, runtime);
        runtime.finish();
        code
    }

    fn drive<C: Core, R: Runtime<C>>(&mut self, core: &mut C, runtime: &mut R) -> io::Result<u8> {
        let mut queue: VecDeque<Event> = VecDeque::new();
        let actions = core.start(Instant::now());
        if let Some(code) = self.perform(core, runtime, actions, &mut queue) {
            return Ok(code);
        }
        runtime.started();
        loop {
            while let Some(event) = queue.pop_front() {
                let actions = core.handle(event, Instant::now());
                if let Some(code) = self.perform(core, runtime, actions, &mut queue) {
                    return Ok(code);
                }
            }
            let now = Instant::now();
            if runtime.next_deadline().is_some_and(|d| d <= now) {
                runtime.tick(now);
            }
            let deadline = earliest(core.next_deadline(), runtime.next_deadline());
            let timeout = match deadline {
                Some(due) if due <= now => {
                    queue.push_back(Event::Tick);
                    continue;
                }
                Some(due) => Some(due - now),
                None => None,
            };
            let wait = if runtime.busy() {
                Some(Duration::ZERO)
            } else {
                timeout
            };
            if let Err(e) = self.poll.poll(&mut self.events, wait) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            runtime.resume();
            let now = Instant::now();
            let mut chld = false;
            for event in self.events.iter() {
                if event.token() == SIGNALS {
                    // `pending` empties the self-pipe first, then reports:
                    // the order that cannot lose a signal.
                    for sig in self.signals.pending() {
                        if sig == libc::SIGCHLD {
                            chld = true;
                        } else if sig == libc::SIGPIPE && os::signals::take_own_sigpipe() {
                            // rinit's own write to a closed stdout: not for the programs.
                        } else {
                            runtime.signal(sig);
                            queue.push_back(Event::Signal(sig));
                        }
                    }
                } else {
                    runtime.ready(event.token());
                }
            }
            if chld {
                reap_all(runtime, &mut queue)?;
            }
            queue.extend(runtime.requests(core, now));
            if chld || timeout.is_some() {
                self.probe_groups(&mut queue);
            }
            if timeout.is_some() {
                queue.push_back(Event::Tick);
            }
        }
    }

    /// Carry out `actions`. Their immediate answers (spawn results, groups
    /// already empty) go to the *front* of the queue: they must reach the core
    /// before anything observed later, such as a due `Tick`.
    fn perform<C: Core, R: Runtime<C>>(
        &mut self,
        core: &mut C,
        runtime: &mut R,
        actions: Vec<Action>,
        queue: &mut VecDeque<Event>,
    ) -> Option<u8> {
        // Signals first: a shutdown or a stop should not wait for the lines
        // that announce it (each one a write, or a writer thread's wake-up).
        // Nothing else in a batch depends on them having been sent.
        for action in &actions {
            if let Action::Kill { target, signal } = *action
                && let Err(e) = os::kill::send(target, signal)
            {
                log::warn!("unable to send signal {signal} to {target:?}: {e}");
            }
        }
        for message in core.take_messages() {
            runtime.log(message);
        }
        let mut answers = VecDeque::new();
        let mut watch = false;
        // Consecutive spawns go to the runtime together; answers keep the
        // actions' order.
        let mut spawns = Vec::new();
        for action in actions {
            match action {
                Action::Spawn(id) => spawns.push(id),
                Action::Kill { .. } => {}
                Action::Release(id) => runtime.release(id),
                Action::WatchGroup(pgid) => {
                    self.watched_groups.insert(pgid);
                    watch = true;
                }
                Action::Exit(code) => {
                    spawn_batch(core, runtime, &mut spawns, &mut answers);
                    return Some(code);
                }
                Action::LoadConfig => {
                    spawn_batch(core, runtime, &mut spawns, &mut answers);
                    answers.extend(runtime.load_config());
                }
            }
        }
        spawn_batch(core, runtime, &mut spawns, &mut answers);
        if watch {
            // Most groups are already empty when their leader dies: answer
            // now, so that case costs no signal.
            self.probe_groups(&mut answers);
        }
        while let Some(event) = answers.pop_back() {
            queue.push_front(event);
        }
        None
    }

    fn probe_groups(&mut self, queue: &mut VecDeque<Event>) {
        self.watched_groups.retain(|&pgid| {
            if os::kill::group_exists(pgid) {
                return true;
            }
            queue.push_back(Event::GroupEmpty { pgid });
            false
        });
    }
}

/// Hand the spawns gathered so far to the runtime, as one batch.
fn spawn_batch<C: Core, R: Runtime<C>>(
    core: &C,
    runtime: &mut R,
    spawns: &mut Vec<ChildId>,
    answers: &mut VecDeque<Event>,
) {
    if !spawns.is_empty() {
        answers.extend(runtime.spawn(core, spawns));
        spawns.clear();
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Reap every ended child; `NoChildren` last if nothing is left at all.
fn reap_all<C: Core, R: Runtime<C>>(
    runtime: &mut R,
    queue: &mut VecDeque<Event>,
) -> io::Result<()> {
    loop {
        match os::reap::reap_one()? {
            Reaped::Child { pid, end } => {
                runtime.reaped(pid);
                queue.push_back(Event::Exited { pid, end });
            }
            Reaped::NothingReady => return Ok(()),
            Reaped::NoChildren => {
                queue.push_back(Event::NoChildren);
                return Ok(());
            }
        }
    }
}
