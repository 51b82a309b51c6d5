//! Property tests: random configs and random event sequences (spawn
//! results, exits of known and unknown pids, signals, group reports, ticks
//! at increasing times) against a model of what the loop could observe.
//! Invariants: no panic; never two live copies of an instance; no spawn
//! once shutdown began; `Exit` at most once, only with every instance down,
//! and nothing after it; after a `Tick`, no deadline is left in the past;
//! and a shutdown always ends in `Exit` when the processes cooperate.

use super::harness::{config, ms, prog};
use crate::config::{Config, ExitWhen, RestartPolicy};
use crate::core::event::{Action, ChildId, Control, Event, NewConfig};
use crate::core::exit::ProcessEnd;
use crate::core::{Core, Supervisor};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Debug, Clone)]
enum Op {
    /// Answer a pending spawn, successfully or not.
    Answer {
        pick: usize,
        ok: bool,
    },
    /// A live main process dies.
    Exit {
        pick: usize,
        end: ProcessEnd,
    },
    /// An orphan nobody knows dies.
    ExitUnknown,
    Signal(usize),
    /// Time moves on by this many milliseconds, then a Tick.
    Tick(u64),
    GroupEmpty(usize),
    /// Only fed when the model has no process left.
    NoChildren,
    /// A spawn report the core did not ask for.
    Stray(usize),
    /// `rinit ctl start|stop|restart` (kind 0..3) of one instance.
    Control(u8, usize),
    /// `rinit ctl reload` with another random config.
    Reload(Box<Config>),
}

const SIGNALS: [i32; 7] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGHUP,
    libc::SIGPIPE,
    libc::SIGALRM,
];

fn end() -> impl Strategy<Value = ProcessEnd> {
    prop_oneof![
        (0u8..4).prop_map(ProcessEnd::Exited),
        prop_oneof![Just(9), Just(15)].prop_map(ProcessEnd::Signaled),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<usize>(), prop::bool::weighted(0.8)).prop_map(|(pick, ok)| Op::Answer { pick, ok }),
        3 => (any::<usize>(), end()).prop_map(|(pick, end)| Op::Exit { pick, end }),
        1 => Just(Op::ExitUnknown),
        1 => any::<usize>().prop_map(Op::Signal),
        4 => prop_oneof![Just(0u64), 1u64..3000].prop_map(Op::Tick),
        2 => any::<usize>().prop_map(Op::GroupEmpty),
        1 => Just(Op::NoChildren),
        1 => any::<usize>().prop_map(Op::Stray),
        2 => (0u8..3, any::<usize>()).prop_map(|(k, pick)| Op::Control(k, pick)),
        1 => configs().prop_map(|c| Op::Reload(Box::new(c))),
    ]
}

/// Per program: restart policy, kill_group, zero start_secs, zero
/// stop_timeout, instances, dependency bits (cycles allowed on purpose),
/// critical, start_retries, zero backoff.
type P = (u8, bool, bool, bool, u32, u8, bool, u32, bool);

fn configs() -> impl Strategy<Value = Config> {
    let p = (
        0u8..3,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        1u32..3,
        any::<u8>(),
        prop::bool::weighted(0.2),
        1u32..4,
        any::<bool>(),
    );
    (prop::collection::vec(p, 1..4), any::<bool>(), 0u64..3000)
        .prop_map(|(ps, all_done, budget)| build(&ps, all_done, budget))
}

fn build(ps: &[P], all_done: bool, budget: u64) -> Config {
    let mut programs = Vec::new();
    for (i, &(policy, group, s0, t0, n, deps, critical, retries, b0)) in ps.iter().enumerate() {
        let mut p = prog(&format!("p{i}"));
        p.restart = [
            RestartPolicy::Always,
            RestartPolicy::OnFailure,
            RestartPolicy::Never,
        ][usize::from(policy)];
        p.kill_group = group;
        p.start_secs = ms(if s0 { 0 } else { 1000 });
        p.stop_timeout = ms(if t0 { 0 } else { 500 });
        p.backoff = ms(if b0 { 0 } else { 100 });
        p.instances = n;
        p.critical = critical;
        p.start_retries = retries;
        p.depends_on = (0..ps.len())
            .filter(|&j| j != i && deps & (1 << j) != 0)
            .map(|j| format!("p{j}"))
            .collect();
        programs.push(p);
    }
    let mut cfg = config(programs);
    cfg.global.shutdown_timeout = ms(budget);
    if all_done {
        cfg.global.exit_when = ExitWhen::AllDone;
    }
    cfg
}

/// What the loop knows: spawns asked for, live pids, watched groups.
struct Model {
    sv: Supervisor,
    now: Instant,
    pending: Vec<ChildId>,
    live: BTreeMap<i32, ChildId>,
    watched: Vec<i32>,
    next_pid: i32,
    exited: bool,
    /// Ids the runtime was told to let go of (`Action::Release`).
    released: Vec<ChildId>,
}

impl Model {
    fn feed(&mut self, e: Event) -> Result<(), TestCaseError> {
        let was_stopping = self.sv.is_shutting_down();
        let is_tick = e == Event::Tick;
        let actions = self.sv.handle(e, self.now);
        self.sv.take_messages();
        self.perform(actions, was_stopping)?;
        if is_tick && let Some(d) = self.sv.next_deadline() {
            prop_assert!(d > self.now, "a due deadline survived a Tick");
        }
        for (id, inst) in self.sv.instances() {
            if let Some(pid) = inst.pid() {
                prop_assert_eq!(self.live.get(&pid), Some(&id), "core tracks a dead pid");
            }
            // Let go of as soon as it is down for good (while up).
            if self.sv.is_retired(id) && inst.is_down() && !self.sv.is_shutting_down() {
                prop_assert!(self.released.contains(&id), "{:?} down, not released", id);
            }
        }
        Ok(())
    }

    fn perform(&mut self, actions: Vec<Action>, was_stopping: bool) -> Result<(), TestCaseError> {
        for a in actions {
            prop_assert!(!self.exited, "action after Exit: {:?}", a);
            match a {
                Action::Spawn(id) => {
                    prop_assert!(!was_stopping, "spawn during shutdown");
                    prop_assert!(!self.released.contains(&id), "spawn of released {:?}", id);
                    prop_assert!(!self.pending.contains(&id), "two spawns of {:?}", id);
                    prop_assert!(
                        !self.live.values().any(|&l| l == id),
                        "spawn of {:?} while it is alive",
                        id
                    );
                    self.pending.push(id);
                }
                Action::WatchGroup(pgid) => self.watched.push(pgid),
                Action::Exit(_) => {
                    for (id, inst) in self.sv.instances() {
                        prop_assert!(inst.is_down(), "exit with {:?} up", id);
                    }
                    self.exited = true;
                }
                Action::Release(id) => {
                    prop_assert!(self.sv.is_retired(id), "release of {:?}, not retired", id);
                    prop_assert!(!self.released.contains(&id), "two releases of {:?}", id);
                    prop_assert!(
                        !self.pending.contains(&id) && !self.live.values().any(|&l| l == id),
                        "release of {:?} while it runs",
                        id
                    );
                    prop_assert!(
                        self.sv.instance(id).is_down(),
                        "release of {:?} while it is {}",
                        id,
                        self.sv.instance(id).state_name()
                    );
                    self.released.push(id);
                }
                Action::Kill { .. } | Action::LoadConfig => {}
            }
        }
        Ok(())
    }

    fn run(&mut self, op: Op) -> Result<(), TestCaseError> {
        let pick = |n: usize, k: usize| if n == 0 { None } else { Some(k % n) };
        match op {
            Op::Answer { pick: k, ok } => {
                let Some(k) = pick(self.pending.len(), k) else {
                    return Ok(());
                };
                let id = self.pending.remove(k);
                if ok {
                    let pid = self.next_pid;
                    self.next_pid += 1;
                    self.live.insert(pid, id);
                    self.feed(Event::Spawned { id, pid })
                } else {
                    let message = "No such file or directory".into();
                    self.feed(Event::SpawnFailed {
                        id,
                        errno: libc::ENOENT,
                        message,
                    })
                }
            }
            Op::Exit { pick: k, end } => {
                let Some(k) = pick(self.live.len(), k) else {
                    return Ok(());
                };
                let pid = *self.live.keys().nth(k).unwrap_or(&0);
                self.live.remove(&pid);
                self.feed(Event::Exited { pid, end })
            }
            Op::ExitUnknown => self.feed(Event::Exited {
                pid: 7,
                end: ProcessEnd::Exited(0),
            }),
            Op::Signal(k) => self.feed(Event::Signal(SIGNALS[k % SIGNALS.len()])),
            Op::Tick(dt) => {
                self.now += ms(dt);
                self.feed(Event::Tick)
            }
            Op::GroupEmpty(k) => {
                let Some(k) = pick(self.watched.len(), k) else {
                    return Ok(());
                };
                let pgid = self.watched.remove(k);
                self.feed(Event::GroupEmpty { pgid })
            }
            Op::NoChildren => {
                if !self.live.is_empty() || !self.pending.is_empty() {
                    return Ok(());
                }
                self.watched.clear();
                self.feed(Event::NoChildren)
            }
            Op::Stray(k) => {
                let id = ChildId(k % (self.sv.instances().count() + 1));
                if self.pending.contains(&id) {
                    return Ok(());
                }
                let pid = self.next_pid;
                self.next_pid += 1;
                self.feed(Event::Spawned { id, pid })
            }
            Op::Control(kind, k) => {
                let n = self.sv.instances().count();
                let ids = vec![ChildId(k % n.max(1))];
                self.feed(Event::Control(match kind {
                    0 => Control::Start(ids),
                    1 => Control::Stop(ids),
                    _ => Control::Restart(ids),
                }))
            }
            Op::Reload(cfg) => self.feed(Event::Control(Control::Reload(NewConfig(cfg)))),
        }
    }

    /// Ask for a shutdown and let every process cooperate: it must end.
    fn finish(&mut self) -> Result<(), TestCaseError> {
        self.feed(Event::Signal(libc::SIGTERM))?;
        for _ in 0..50 {
            if self.exited {
                return Ok(());
            }
            while !self.pending.is_empty() {
                self.run(Op::Answer { pick: 0, ok: true })?;
            }
            while !self.live.is_empty() {
                self.run(Op::Exit {
                    pick: 0,
                    end: ProcessEnd::Signaled(15),
                })?;
            }
            while !self.watched.is_empty() {
                self.run(Op::GroupEmpty(0))?;
            }
            self.run(Op::Tick(10_000))?;
            self.run(Op::NoChildren)?;
        }
        prop_assert!(self.exited, "shutdown never ended");
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_event_sequences_keep_the_invariants(
        cfg in configs(),
        ops in prop::collection::vec(op(), 0..80),
    ) {
        let now = Instant::now();
        let mut m = Model {
            sv: Supervisor::new(&cfg),
            now,
            pending: Vec::new(),
            live: BTreeMap::new(),
            watched: Vec::new(),
            next_pid: 1000,
            exited: false,
            released: Vec::new(),
        };
        let first = m.sv.start(now);
        m.perform(first, false)?;
        for op in ops {
            m.run(op)?;
        }
        m.finish()?;
    }
}
