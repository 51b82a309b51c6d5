//! Supervisor mode's OS side: turns the core's `Spawn(id)` into a process
//! and owns the I/O around the programs: their output (`mode::outputs`:
//! pipes kept across restarts, the multiplexer, file outputs), the env file
//! hooks hand on, and the control socket (`control.rs`).

use super::env_file::EnvFile;
use super::launch::{self, Launch};
use super::outputs::{EXIT_FLUSH, LogSource, Outputs};
use crate::config::{Config, Global, Output};
use crate::core::supervisor::{Child, Supervisor};
use crate::core::{ChildId, Event, Message};
use crate::ctl::server::Server;
use crate::event_loop::Runtime;
use crate::os::spawn::{self, ChildSetup, Command};
use crate::os::users::UserDb;
use mio::{Registry, Token};
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::time::Instant;

pub use super::launch::hooks_in_dir;
pub use super::outputs::LOG_WAKER;

pub struct SupervisorRuntime {
    outputs: Outputs,
    /// Per child, its log source (the main command has none: it keeps the
    /// container's stdio and terminal).
    sources: BTreeMap<ChildId, LogSource>,
    /// Live children by pid, to know which exits are hooks'.
    pids: HashMap<i32, ChildId>,
    /// Hook names, for messages about what they wrote to the env file.
    hooks: HashMap<ChildId, String>,
    users: UserDb,
    /// The main command's argv, if any.
    main_argv: Vec<OsString>,
    env_file: EnvFile,
    /// The control socket (`None` if it could not be set up).
    control: Option<Server>,
    config_path: PathBuf,
    /// Global settings in effect (a reload reports what it cannot change).
    global: Global,
    /// For registering control clients, which `ready` does not get.
    registry: Registry,
}

impl SupervisorRuntime {
    /// Set up the outputs, one log source per program instance and hook,
    /// and the env file (the control socket comes in `started`).
    pub fn new(
        config: &Config,
        core: &Supervisor,
        registry: &Registry,
        main_argv: Vec<OsString>,
    ) -> io::Result<Self> {
        let mut runtime = SupervisorRuntime {
            outputs: Outputs::new(config, registry)?,
            sources: BTreeMap::new(),
            pids: HashMap::new(),
            hooks: HashMap::new(),
            users: UserDb::read_system(),
            main_argv,
            env_file: EnvFile::create(config.global.env_file.clone())?,
            control: None,
            config_path: config.path.clone(),
            global: config.global.clone(),
            registry: registry.try_clone()?,
        };
        if !runtime.main_argv.is_empty() {
            // The main command keeps rinit's own stdout and stderr.
            runtime.outputs.share_stdio();
        }
        runtime.grow(core)?;
        runtime.outputs.start_splicing();
        Ok(runtime)
    }

    /// A log source for every child that has none yet: all of them at
    /// start-up, the instances a reload added later.
    fn grow(&mut self, core: &Supervisor) -> io::Result<()> {
        for (id, child) in core.children() {
            // A retired child's source is gone for good (`release`).
            if self.sources.contains_key(&id) || core.is_retired(id) {
                continue;
            }
            let src = match child {
                Child::Program(inst) => {
                    let spec = inst.spec();
                    let name = inst.name();
                    self.outputs
                        .add(name, &spec.stdout, &spec.stderr, spec.log_rotation)?
                }
                Child::Hook(hook) => {
                    self.hooks.insert(id, hook.name.clone());
                    self.outputs
                        .add(&hook.name, &Output::Log, &Output::Log, None)?
                }
                Child::Main => continue,
            };
            self.sources.insert(id, src);
        }
        Ok(())
    }

    /// The command for child `id` (environment, stdio and all) and what to
    /// remember about it once spawned, or why it cannot start.
    fn prepare(&mut self, core: &Supervisor, id: ChildId) -> Result<(Command, Prepared), String> {
        let mut launch = self.launch(core, id)?;
        self.env_file.apply(&mut launch.cmd);
        launch.apply_environment();
        let source = self.sources.get(&id).copied();
        if let Some(src) = source {
            let (out, err) = self.outputs.stdio(src)?;
            launch.cmd.stdout(out).stderr(err);
        }
        let program = launch.cmd.get_program().to_string_lossy().into_owned();
        let prepared = Prepared {
            id,
            program,
            source,
            setup: launch.setup,
        };
        Ok((launch.cmd, prepared))
    }

    fn launch(&mut self, core: &Supervisor, id: ChildId) -> Result<Launch, String> {
        let launch = match core.child(id) {
            Some(Child::Program(inst)) => launch::program(inst, &self.users)?,
            Some(Child::Hook(hook)) => launch::hook(hook, &self.users)?,
            Some(Child::Main) => launch::main_command(&self.main_argv)?,
            None => return Err("unknown child".into()),
        };
        Ok(launch)
    }
}

/// A child about to be spawned, as the runtime needs it afterwards.
struct Prepared {
    id: ChildId,
    program: String,
    source: Option<LogSource>,
    setup: ChildSetup,
}

impl Runtime<Supervisor> for SupervisorRuntime {
    fn spawn(&mut self, core: &Supervisor, ids: &[ChildId]) -> Vec<Event> {
        if let Err(e) = self.grow(core) {
            return ids
                .iter()
                .map(|&id| Event::SpawnFailed {
                    id,
                    errno: e.raw_os_error().unwrap_or(0),
                    message: format!("unable to set up output pipes: {e}"),
                })
                .collect();
        }
        let mut answers: Vec<Option<Event>> = ids.iter().map(|_| None).collect();
        let mut ready = Vec::new();
        let mut cmds = Vec::new();
        for (k, &id) in ids.iter().enumerate() {
            match self.prepare(core, id) {
                Ok((cmd, started)) => {
                    cmds.push(cmd);
                    ready.push((k, started));
                }
                Err(message) => {
                    answers[k] = Some(Event::SpawnFailed {
                        id,
                        errno: 0,
                        message,
                    })
                }
            }
        }
        let batch = cmds
            .into_iter()
            .zip(ready.iter().map(|(_, s)| &s.setup))
            .collect();
        let results = spawn::spawn_all(batch);
        for ((k, started), result) in ready.into_iter().zip(results) {
            let id = started.id;
            answers[k] = Some(match result {
                Ok(pid) => {
                    self.pids.insert(pid, id);
                    if let Some(src) = started.source {
                        self.outputs.attach(pid, src);
                    }
                    Event::Spawned { id, pid }
                }
                Err(e) => Event::SpawnFailed {
                    id,
                    errno: e.raw_os_error().unwrap_or(0),
                    message: format!("{}: {}", started.program, crate::os::strerror(&e)),
                },
            });
        }
        answers.into_iter().flatten().collect()
    }

    /// The control socket is bound once the first programs are on their
    /// way: `rinit ctl` can wait a few tens of microseconds, they should not.
    fn started(&mut self) {
        self.bind_control();
    }

    fn ready(&mut self, token: Token) {
        if self.outputs.owns(token) {
            self.outputs.ready(token);
        } else if Server::owns(token)
            && let Some(server) = self.control.as_mut()
        {
            server.ready(token, &self.registry);
        }
    }

    fn reaped(&mut self, pid: i32) {
        // Everything it wrote is delivered before the core hears of the exit.
        self.outputs.reaped(pid);
        let Some(id) = self.pids.remove(&pid) else {
            return;
        };
        // A hook may have handed variables on (SPEC §3 env_file).
        if let Some(name) = self.hooks.get(&id) {
            for problem in self.env_file.reload() {
                let text = format!("hook {name}: {problem}");
                self.outputs.log_rinit(log::Level::Error, &text);
            }
        }
    }

    fn release(&mut self, id: ChildId) {
        if let Some(src) = self.sources.remove(&id) {
            self.outputs.release(src);
        }
    }

    /// SIGUSR1 makes rinit reopen the files it writes (logrotate's
    /// `postrotate kill -USR1 1`), whatever its route says about programs.
    fn signal(&mut self, sig: i32) {
        if sig == libc::SIGUSR1 {
            self.outputs.reopen_files();
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.outputs.next_deadline()
    }

    fn tick(&mut self, now: Instant) {
        self.outputs.tick(now);
    }

    fn busy(&self) -> bool {
        self.outputs.busy()
    }

    fn resume(&mut self) {
        self.outputs.resume();
    }

    fn log(&mut self, message: Message) {
        if message.level <= log::max_level() {
            self.outputs.log_rinit(message.level, &message.text);
        }
    }

    fn requests(&mut self, core: &Supervisor, now: Instant) -> Vec<Event> {
        self.serve_control(core, now)
    }

    fn load_config(&mut self) -> Option<Event> {
        self.reload_from_signal()
    }

    fn finish(&mut self) {
        if let Some(server) = self.control.as_mut() {
            server.close();
        }
        if !self.outputs.finish(Instant::now() + EXIT_FLUSH) {
            log::warn!("output still blocked after {EXIT_FLUSH:?}; exiting anyway");
        }
    }
}

mod control;
