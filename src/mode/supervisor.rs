//! Supervisor mode's OS side: turns the core's `Spawn(id)` into a process
//! (command line, user, directory, environment, stdio). Every program
//! instance is a log source of `mode::outputs` (pipes kept across restarts,
//! the multiplexer, file outputs); hooks and the main command become sources
//! with [`SupervisorRuntime::add_log_source`].

use super::outputs::{EXIT_FLUSH, LogSource, Outputs};
use crate::config::{CommandLine, Config, ProcessSpec};
use crate::core::supervisor::Supervisor;
use crate::core::{ChildId, Event, Message};
use crate::event_loop::Runtime;
use crate::os::spawn::{self, ChildSetup, Identity, Isolation};
use crate::os::users::UserDb;
use mio::{Registry, Token};
use std::io;
use std::process::{Command, Stdio};
use std::time::Instant;

pub use super::outputs::LOG_WAKER;

pub struct SupervisorRuntime {
    outputs: Outputs,
    /// Per core instance (indexed by `ChildId`), its log source.
    sources: Vec<LogSource>,
    users: UserDb,
}

impl SupervisorRuntime {
    /// Set up the multiplexer and one log source per instance the core knows.
    pub fn new(config: &Config, core: &Supervisor, registry: &Registry) -> io::Result<Self> {
        let mut outputs = Outputs::new(config, registry)?;
        let mut sources = Vec::new();
        for (_, inst) in core.instances() {
            let spec = inst.spec();
            sources.push(outputs.add(
                inst.name(),
                &spec.stdout,
                &spec.stderr,
                spec.log_rotation,
            )?);
        }
        Ok(SupervisorRuntime {
            outputs,
            sources,
            users: UserDb::read_system(),
        })
    }

    /// A new named log source (a hook, the main command) with its own pipes:
    /// spawn the child with the returned stdout/stderr, then call
    /// [`SupervisorRuntime::attach_log_source`] with its pid so that its last
    /// output is delivered before its exit is reported.
    pub fn add_log_source(&mut self, name: &str) -> io::Result<(LogSource, Stdio, Stdio)> {
        self.outputs.add_source(name)
    }

    /// `pid` writes to `source` (see [`SupervisorRuntime::add_log_source`]).
    pub fn attach_log_source(&mut self, pid: i32, source: LogSource) {
        self.outputs.attach(pid, source);
    }

    fn build(&mut self, core: &Supervisor, id: ChildId) -> Result<(Command, ChildSetup), String> {
        let inst = core.instance(id);
        let spec = inst.spec();
        let argv: Vec<String> = match &spec.command {
            CommandLine::Argv(v) => v.clone(),
            CommandLine::Shell(s) => vec!["/bin/sh".into(), "-c".into(), s.clone()],
        };
        let Some((program, args)) = argv.split_first() else {
            return Err("empty command".into());
        };
        let mut cmd = Command::new(program);
        cmd.args(args);
        cmd.env("RINIT_PROGRAM", &spec.name);
        cmd.env("RINIT_INSTANCE", instance_number(inst.name()));
        let identity = self.identity(&spec.process, &mut cmd)?;
        for (k, v) in &spec.process.environment {
            cmd.env(k, v);
        }
        if let Some(dir) = &spec.process.directory {
            if !dir.is_dir() {
                return Err(format!("directory {} does not exist", dir.display()));
            }
            cmd.current_dir(dir);
        }
        let (stdout, stderr) = self.outputs.stdio(self.sources[id.0])?;
        cmd.stdin(Stdio::null());
        cmd.stdout(stdout);
        cmd.stderr(stderr);
        let setup = ChildSetup {
            isolation: Isolation::Session,
            identity,
            umask: spec.process.umask,
        };
        Ok((cmd, setup))
    }

    /// `user`/`group` from /etc/passwd and /etc/group (never NSS), plus the
    /// HOME, USER and LOGNAME a login would give.
    fn identity(&self, p: &ProcessSpec, cmd: &mut Command) -> Result<Option<Identity>, String> {
        let gid_of = |g: &String| {
            self.users
                .gid(g)
                .ok_or_else(|| format!("unknown group {g:?}"))
        };
        match (&p.user, &p.group) {
            (None, None) => Ok(None),
            (Some(u), group) => {
                let user = self
                    .users
                    .user(u)
                    .ok_or_else(|| format!("unknown user {u:?}"))?;
                let gid = match group {
                    Some(g) => gid_of(g)?,
                    None => user.gid,
                };
                cmd.env("HOME", &user.home)
                    .env("USER", &user.name)
                    .env("LOGNAME", &user.name);
                let groups = self.users.supplementary_gids(&user.name, gid);
                Ok(Some(Identity {
                    uid: user.uid,
                    gid,
                    groups,
                }))
            }
            (None, Some(g)) => {
                let gid = gid_of(g)?;
                let uid = nix::unistd::getuid().as_raw();
                Ok(Some(Identity {
                    uid,
                    gid,
                    groups: vec![gid],
                }))
            }
        }
    }
}

impl Runtime<Supervisor> for SupervisorRuntime {
    fn spawn(&mut self, core: &Supervisor, id: ChildId, _registry: &Registry) -> Event {
        let (cmd, setup) = match self.build(core, id) {
            Ok(built) => built,
            Err(message) => {
                return Event::SpawnFailed {
                    id,
                    errno: 0,
                    message,
                };
            }
        };
        let program = cmd.get_program().to_string_lossy().into_owned();
        match spawn::spawn_command(cmd, setup) {
            Ok(pid) => {
                self.outputs.attach(pid, self.sources[id.0]);
                Event::Spawned { id, pid }
            }
            Err(e) => Event::SpawnFailed {
                id,
                errno: e.raw_os_error().unwrap_or(0),
                message: format!("{program}: {}", crate::os::strerror(&e)),
            },
        }
    }

    fn ready(&mut self, token: Token, now: Instant) {
        if self.outputs.owns(token) {
            self.outputs.ready(token, now);
        }
    }

    fn reaped(&mut self, pid: i32, now: Instant) {
        self.outputs.reaped(pid, now);
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

    fn log(&mut self, message: Message) {
        if message.level <= log::max_level() {
            self.outputs.log_rinit(message.level, &message.text);
        }
    }

    fn finish(&mut self) {
        if !self.outputs.finish(Instant::now() + EXIT_FLUSH) {
            log::warn!("output still blocked after {EXIT_FLUSH:?}; exiting anyway");
        }
    }
}

/// `queue-worker:1` → "1"; a single instance is number 0.
fn instance_number(name: &str) -> &str {
    name.rsplit_once(':').map_or("0", |(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_numbers() {
        assert_eq!(instance_number("queue-worker:3"), "3");
        assert_eq!(instance_number("nginx"), "0");
    }
}
