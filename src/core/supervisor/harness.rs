//! Test helpers: configs built directly as values (the loader lives
//! elsewhere) and a driver with an explicit clock, no processes.

use crate::config::*;
use crate::core::event::{Action, ChildId, Event, Target};
use crate::core::exit::ProcessEnd;
use crate::core::{Core, Message, Supervisor};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub const TERM: i32 = libc::SIGTERM;
pub const KILL: i32 = libc::SIGKILL;
pub const QUIT: i32 = libc::SIGQUIT;

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn prog(name: &str) -> ProgramSpec {
    ProgramSpec {
        name: name.into(),
        command: CommandLine::Argv(vec!["/bin/true".into()]),
        process: ProcessSpec::default(),
        autostart: true,
        restart: RestartPolicy::Always,
        exit_codes: vec![0],
        start_secs: ms(1000),
        start_retries: 3,
        backoff: ms(1000),
        backoff_max: ms(4000),
        stop_signal: QUIT,
        stop_timeout: ms(5000),
        kill_group: false,
        instances: 1,
        depends_on: Vec::new(),
        critical: false,
        stdout: Output::Log,
        stderr: Output::Log,
        log_rotation: None,
    }
}

pub fn config(programs: Vec<ProgramSpec>) -> Config {
    use SignalRoute::*;
    Config {
        path: PathBuf::from("/etc/rinit.toml"),
        // The defaults (8 s, prefix, /run/rinit.sock, TERM/INT/QUIT
        // shutdown, HUP reload, …) plus two routes the tests exercise.
        global: Global {
            signals: {
                let mut routes = default_signals();
                routes.retain(|(s, _)| *s != libc::SIGUSR2);
                routes.push((libc::SIGUSR2, ForwardTo(vec!["php-fpm".into()])));
                routes.push((libc::SIGPIPE, Ignore));
                routes
            },
            ..default_global()
        },
        hooks: Vec::new(),
        programs,
    }
}

/// A supervisor with a clock that only moves when a test says so.
pub struct H {
    pub sv: Supervisor,
    pub t0: Instant,
    pub now: Instant,
    /// Pids whose `WatchGroup` is left to the test. Otherwise `exited` answers
    /// it as the loop does when a group died with its leader: `GroupEmpty`.
    pub linger: Vec<i32>,
}

impl H {
    pub fn new(cfg: Config) -> H {
        let t0 = Instant::now();
        H {
            sv: Supervisor::new(&cfg),
            t0,
            now: t0,
            linger: Vec::new(),
        }
    }

    /// Move the clock to `t0 + at` milliseconds.
    pub fn at(&mut self, at: u64) -> &mut H {
        self.now = self.t0 + ms(at);
        self
    }

    pub fn start(&mut self) -> Vec<Action> {
        self.sv.start(self.now)
    }

    pub fn ev(&mut self, e: Event) -> Vec<Action> {
        self.sv.handle(e, self.now)
    }

    pub fn tick(&mut self, at: u64) -> Vec<Action> {
        self.at(at);
        self.ev(Event::Tick)
    }

    pub fn spawned(&mut self, id: usize, pid: i32) -> Vec<Action> {
        self.ev(Event::Spawned {
            id: ChildId(id),
            pid,
        })
    }

    pub fn exited(&mut self, pid: i32, end: ProcessEnd) -> Vec<Action> {
        let actions = self.ev(Event::Exited { pid, end });
        if self.linger.contains(&pid) {
            return actions;
        }
        let mut out = Vec::new();
        for a in actions {
            match a {
                Action::WatchGroup(pgid) => out.extend(self.ev(Event::GroupEmpty { pgid })),
                other => out.push(other),
            }
        }
        out
    }

    pub fn signal(&mut self, sig: i32) -> Vec<Action> {
        self.ev(Event::Signal(sig))
    }

    pub fn state(&self, id: usize) -> String {
        self.sv.instance(ChildId(id)).state_name().to_string()
    }

    pub fn deadline(&self) -> Option<Duration> {
        self.sv.next_deadline().map(|d| d - self.t0)
    }

    pub fn texts(&mut self) -> Vec<String> {
        self.sv
            .take_messages()
            .into_iter()
            .map(|m| m.text)
            .collect()
    }

    pub fn messages(&mut self) -> Vec<Message> {
        self.sv.take_messages()
    }
}

pub fn spawn(id: usize) -> Action {
    Action::Spawn(ChildId(id))
}

pub fn kill(target: Target, signal: i32) -> Action {
    Action::Kill { target, signal }
}

pub fn exit(code: u8) -> ProcessEnd {
    ProcessEnd::Exited(code)
}
