//! The vocabulary between the pure core and the event loop: `Event`s are
//! facts the loop observed, `Action`s are commands the core wants carried
//! out. Keeping the two apart (unlike Horust's mixed enum) is what lets the
//! core be tested as a table of `(state, event) -> actions` with no processes.

use super::exit::ProcessEnd;

/// Which child of the core an event or action is about (an index the core
/// hands out; the loop only carries it back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChildId(pub usize);

/// Facts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A signal reached rinit. SIGCHLD never arrives here: the loop turns it
    /// into `Exited` events by reaping.
    Signal(i32),
    /// A process was reaped (any process: the core decides whether it knows it).
    Exited { pid: i32, end: ProcessEnd },
    /// `waitpid` reported ECHILD: rinit has no child left at all.
    NoChildren,
    /// An `Action::Spawn` succeeded.
    Spawned { id: ChildId, pid: i32 },
    /// An `Action::Spawn` failed before the program ran (missing binary,
    /// bad directory, unknown user, ...). `errno` is the OS error, if any.
    SpawnFailed {
        id: ChildId,
        errno: i32,
        message: String,
    },
    /// Time passed: a deadline from `Core::next_deadline` may be due.
    Tick,
    /// A process group the core asked to watch has no member left.
    GroupEmpty { pgid: i32 },
}

/// Who a signal goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One process.
    Pid(i32),
    /// The process group led by this pid (`kill(-pgid, sig)`).
    Group(i32),
    /// Every process rinit can see below it: as PID 1 all processes of the
    /// namespace, as a subreaper its remaining children (orphans included).
    Everyone,
}

/// Commands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start the child the core knows as `id`; the result comes back as
    /// `Event::Spawned` or `Event::SpawnFailed`.
    Spawn(ChildId),
    /// Send `signal` to `target`. A target that is already gone is not an error.
    Kill { target: Target, signal: i32 },
    /// Tell the core (`Event::GroupEmpty`) once this process group has no
    /// member left; checked at once, after every reap and on every tick.
    WatchGroup(i32),
    /// Leave the event loop and exit rinit with this code.
    Exit(u8),
}
