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
    /// The process group `pgid` asked for with `Action::WatchGroup` has no
    /// member left (`kill(-pgid, 0)` failed with ESRCH). Sent once per watch.
    GroupEmpty { pgid: i32 },
    /// A request from `rinit ctl` (or SIGHUP's reload), already checked by
    /// the runtime: ids exist, the new config is valid.
    Control(Control),
}

/// What the control plane asks the core to do (SPEC §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Start(Vec<ChildId>),
    Stop(Vec<ChildId>),
    /// Stop (if up), then start again once everything of the run is gone.
    Restart(Vec<ChildId>),
    Signal {
        signal: i32,
        ids: Vec<ChildId>,
    },
    Shutdown,
    /// Apply the difference to this (already validated) config.
    Reload(NewConfig),
}

/// A validated config travelling in an `Event`. `Config` is only
/// `PartialEq`; this wrapper adds the `Eq` events need (a config holds no
/// floats, so equality is reflexive).
#[derive(Debug, Clone, PartialEq)]
pub struct NewConfig(pub Box<crate::config::Config>);

impl Eq for NewConfig {}

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
    /// Leave the event loop and exit rinit with this code.
    Exit(u8),
    /// Tell the core (`Event::GroupEmpty`) once process group `pgid` is
    /// empty. The loop probes `kill(-pgid, 0)` when the current batch of
    /// reaped exits is done (zombies still count as members, so not before
    /// reaping them), again after each later batch and on every `Tick`, until
    /// it fails with ESRCH; then it feeds `GroupEmpty` once and forgets the
    /// watch. The first probe must come before the loop's next `Tick`: the
    /// core schedules the group's stop signal for "now", so the common case
    /// (the group died with its leader) costs no signal at all.
    WatchGroup(i32),
    /// Re-read the config file (SIGHUP routed to `reload`): the runtime
    /// loads and validates it and answers with `Event::Control(Reload)`,
    /// or logs every error and changes nothing.
    LoadConfig,
    /// Child `id` was removed by a reload and is down for good (its process
    /// group is empty): the runtime may let go of what it keeps for it (its
    /// output pipes, once drained; its `ctl logs` tail). Sent once per id.
    Release(ChildId),
}
