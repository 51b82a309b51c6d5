//! Supervisor mode's OS side: turns the core's `Spawn(id)` into a process
//! (command line, user, directory, environment, stdio) and carries every
//! program's output through the log multiplexer.
//!
//! Per instance, one pipe for stdout and one for stderr, created once and kept
//! across restarts (a restart never loses what sits in the pipe). rinit's
//! read ends are non-blocking and live in the event loop; the programs' write
//! ends are blocking, so when rinit stops reading (the container's stdout is
//! slow) they block in `write`, and nothing is dropped.

use super::env_file::EnvFile;
use crate::config::{
    CommandLine, Config, Global, HookSpec, HookStage, OnFailure, Output, ProcessSpec,
};
use crate::core::supervisor::{Child, Supervisor};
use crate::core::{ChildId, Event, Message};
use crate::ctl::server::Server;
use crate::event_loop::Runtime;
use crate::logmux::{self, FormatOptions, LogMux, Sink, SourceId, Stream};
use crate::os::spawn::{self, ChildSetup, Identity, Isolation};
use crate::os::users::UserDb;
use mio::unix::pipe::{Receiver, Sender};
use mio::{Registry, Token, Waker};
use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The sinks' waker: fires when a full output has room again.
pub const LOG_WAKER: Token = Token(1);
/// Pipe tokens start here: `FIRST_PIPE + 2 * instance + stream`.
const FIRST_PIPE: usize = 2;

/// How long rinit waits, at exit, for buffered output to reach a slow stdout.
pub const EXIT_FLUSH: Duration = Duration::from_secs(2);

struct Pipe {
    rx: Receiver,
    /// Kept open by rinit so the pipe outlives every run of the program.
    tx: Sender,
}

struct Slot {
    name: String,
    hook: bool,
    /// `None` for the main command, which keeps the container's stdio.
    source: Option<SourceId>,
    stdout: Option<Pipe>,
    stderr: Option<Pipe>,
}

pub struct SupervisorRuntime {
    mux: LogMux,
    /// Per child (program instance, hook, main command).
    slots: BTreeMap<ChildId, Slot>,
    pids: HashMap<i32, ChildId>,
    /// Pipes left readable because their output was full, per stream.
    stalled: [Vec<Token>; 2],
    users: UserDb,
    buf: Vec<u8>,
    /// The main command's argv, if any.
    main_argv: Vec<std::ffi::OsString>,
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
    /// Set up the multiplexer and one pipe pair per instance the core knows.
    pub fn new(
        config: &Config,
        core: &Supervisor,
        registry: &Registry,
        main_argv: Vec<std::ffi::OsString>,
    ) -> io::Result<Self> {
        let waker = Arc::new(Waker::new(registry, LOG_WAKER)?);
        let colour = logmux::use_colour(
            nix::unistd::isatty(io::stdout()).unwrap_or(false),
            std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        );
        let format = match config.global.log_format {
            crate::config::LogFormat::Prefix => logmux::Format::Prefix,
            crate::config::LogFormat::Raw => logmux::Format::Raw,
            crate::config::LogFormat::Json => logmux::Format::Json,
        };
        let opts = FormatOptions {
            format,
            timestamps: config.global.log_timestamps,
            colour,
        };
        let out = Sink::new(
            io::stdout(),
            logmux::SINK_CAPACITY,
            Some(waker.clone()),
            "stdout",
        )?;
        let err = Sink::new(io::stderr(), logmux::SINK_CAPACITY, Some(waker), "stderr")?;
        let mut mux = LogMux::new(opts, out, err);
        let mut slots = BTreeMap::new();
        for (id, child) in core.children() {
            slots.insert(id, new_slot(&mut mux, id, child, registry)?);
        }
        let env_file = EnvFile::create(config.global.env_file.clone())?;
        let mut runtime = SupervisorRuntime {
            mux,
            slots,
            pids: HashMap::new(),
            stalled: [Vec::new(), Vec::new()],
            users: UserDb::read_system(),
            buf: vec![0; logmux::READ_SIZE],
            main_argv,
            env_file,
            control: None,
            config_path: config.path.clone(),
            global: config.global.clone(),
            registry: registry.try_clone()?,
        };
        runtime.bind_control();
        Ok(runtime)
    }

    /// Read one pipe until it is empty or its output is full.
    fn read_pipe(&mut self, token: Token, now: Instant, ignore_backpressure: bool) {
        let Some((id, stream)) = decode(token) else {
            return;
        };
        let Some(slot) = self.slots.get(&id) else {
            return;
        };
        let pipe = match stream {
            Stream::Stdout => slot.stdout.as_ref(),
            Stream::Stderr => slot.stderr.as_ref(),
        };
        let (Some(pipe), Some(source)) = (pipe, slot.source) else {
            return;
        };
        loop {
            if !ignore_backpressure && !self.mux.can_accept(stream) {
                let stalled = &mut self.stalled[stream_index(stream)];
                if !stalled.contains(&token) {
                    stalled.push(token);
                }
                return;
            }
            match (&pipe.rx).read(&mut self.buf) {
                Ok(0) => return, // cannot happen while we hold `tx`
                Ok(n) => self.mux.feed(source, stream, &self.buf[..n], now),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    log::warn!("reading output of instance {}: {e}", id.0);
                    return;
                }
            }
        }
    }

    fn resume_stalled(&mut self, now: Instant) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            if self.mux.can_accept(stream) {
                let tokens = std::mem::take(&mut self.stalled[stream_index(stream)]);
                for token in tokens {
                    self.read_pipe(token, now, false);
                }
            }
        }
    }

    fn build(&self, core: &Supervisor, id: ChildId) -> Result<(Command, ChildSetup), String> {
        let slot = self.slots.get(&id).ok_or("unknown child")?;
        let (mut cmd, process, stdout, stderr) = match core.child(id) {
            Some(Child::Program(inst)) => {
                let spec = inst.spec();
                let mut cmd = command(&spec.command)?;
                cmd.env("RINIT_PROGRAM", &spec.name);
                cmd.env("RINIT_INSTANCE", instance_number(inst.name()));
                (cmd, &spec.process, &spec.stdout, &spec.stderr)
            }
            Some(Child::Hook(hook)) => {
                let mut cmd = command(&hook.command)?;
                cmd.env("RINIT_HOOK", &hook.name);
                (cmd, &hook.process, &Output::Log, &Output::Log)
            }
            Some(Child::Main) => {
                let Some((program, args)) = self.main_argv.split_first() else {
                    return Err("empty command".into());
                };
                let mut cmd = Command::new(program);
                cmd.args(args);
                self.env_file.apply(&mut cmd);
                // The container's own stdio and the terminal's foreground,
                // as in single-command mode: `docker run -it IMAGE bash`.
                let setup = ChildSetup::isolated(Isolation::ProcessGroup { foreground: true });
                return Ok((cmd, setup));
            }
            None => return Err("unknown child".into()),
        };
        self.env_file.apply(&mut cmd);
        let identity = self.identity(process, &mut cmd)?;
        for (k, v) in &process.environment {
            cmd.env(k, v);
        }
        if let Some(dir) = &process.directory {
            if !dir.is_dir() {
                return Err(format!("directory {} does not exist", dir.display()));
            }
            cmd.current_dir(dir);
        }
        cmd.stdin(Stdio::null());
        cmd.stdout(stdio(stdout, slot.stdout.as_ref())?);
        cmd.stderr(stdio(stderr, slot.stderr.as_ref())?);
        let setup = ChildSetup {
            isolation: Isolation::Session,
            identity,
            umask: process.umask,
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
    fn spawn(&mut self, core: &Supervisor, id: ChildId, registry: &Registry) -> Event {
        if let Err(e) = self.grow(core, registry) {
            return Event::SpawnFailed {
                id,
                errno: e.raw_os_error().unwrap_or(0),
                message: format!("unable to set up output pipes: {e}"),
            };
        }
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
                self.pids.insert(pid, id);
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
        if token == LOG_WAKER {
            self.mux.pump();
            self.resume_stalled(now);
        } else if Server::owns(token) {
            if let Some(server) = self.control.as_mut() {
                server.ready(token, &self.registry);
            }
        } else {
            self.read_pipe(token, now, false);
        }
    }

    fn reaped(&mut self, pid: i32, now: Instant) {
        let Some(id) = self.pids.remove(&pid) else {
            return;
        };
        // Everything it wrote is in the pipes now: deliver it before the core
        // hears of the exit, even past back-pressure (bounded by a pipe's
        // capacity), then end any unterminated last line.
        let Some(slot) = self.slots.get(&id) else {
            return;
        };
        let (hook, name) = (slot.hook, slot.name.clone());
        let Some(source) = slot.source else {
            return;
        };
        for stream in [Stream::Stdout, Stream::Stderr] {
            self.read_pipe(pipe_token(id, stream), now, true);
            self.mux.eof(source, stream);
        }
        // A hook may have handed variables on (SPEC §3 env_file).
        if hook {
            for problem in self.env_file.reload() {
                let text = format!("hook {name}: {problem}");
                self.mux.log_rinit(log::Level::Error, &text);
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.mux.next_deadline()
    }

    fn tick(&mut self, now: Instant) {
        self.mux.tick(now);
        self.resume_stalled(now);
    }

    fn log(&mut self, message: Message) {
        if message.level <= log::max_level() {
            self.mux.log_rinit(message.level, &message.text);
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
        if !self.mux.flush_blocking(Instant::now() + EXIT_FLUSH) {
            log::warn!("output still blocked after {EXIT_FLUSH:?}; exiting anyway");
        }
    }
}

/// The executables of `hooks_dir`, in lexical order, as start hooks with
/// the defaults of `[[hook]]` (no timeout, abort on failure). Files that are
/// not executable are skipped with a warning; a missing directory is empty.
pub fn hooks_in_dir(dir: &std::path::Path) -> Vec<HookSpec> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        log::info!("hooks_dir {} is absent: no hooks from it", dir.display());
        return Vec::new();
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut hooks = Vec::new();
    for path in paths {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if meta.permissions().mode() & 0o111 == 0 {
            log::warn!("hooks_dir: skipping {}: not executable", path.display());
            continue;
        }
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        hooks.push(HookSpec {
            name,
            command: CommandLine::Argv(vec![path.to_string_lossy().into_owned()]),
            process: ProcessSpec::default(),
            stage: HookStage::Start,
            timeout: None,
            on_failure: OnFailure::Abort,
        });
    }
    hooks
}

/// An array runs as is (execvp); a string through `/bin/sh -c`.
fn command(line: &CommandLine) -> Result<Command, String> {
    let argv: Vec<String> = match line {
        CommandLine::Argv(v) => v.clone(),
        CommandLine::Shell(s) => vec!["/bin/sh".into(), "-c".into(), s.clone()],
    };
    let Some((program, args)) = argv.split_first() else {
        return Err("empty command".into());
    };
    let mut cmd = Command::new(program);
    cmd.args(args);
    Ok(cmd)
}

fn stdio(output: &Output, pipe: Option<&Pipe>) -> Result<Stdio, String> {
    match (output, pipe) {
        (Output::Log, Some(pipe)) => {
            let fd = pipe
                .tx
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| format!("dup: {e}"))?;
            Ok(Stdio::from(fd))
        }
        (Output::Null, _) => Ok(Stdio::null()),
        (Output::File(path), _) => OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map(Stdio::from)
            .map_err(|e| format!("{}: {e}", path.display())),
        _ => Ok(Stdio::inherit()),
    }
}

fn pipe_token(id: ChildId, stream: Stream) -> Token {
    Token(FIRST_PIPE + 2 * id.0 + stream_index(stream))
}

fn decode(token: Token) -> Option<(ChildId, Stream)> {
    let n = token.0.checked_sub(FIRST_PIPE)?;
    let stream = if n % 2 == 0 {
        Stream::Stdout
    } else {
        Stream::Stderr
    };
    Some((ChildId(n / 2), stream))
}

fn stream_index(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

/// `queue-worker:1` → "1"; a single instance is number 0.
fn instance_number(name: &str) -> &str {
    name.rsplit_once(':').map_or("0", |(_, n)| n)
}

mod control;
mod slots;

use slots::new_slot;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for id in [0, 1, 7, 1000] {
            for s in [Stream::Stdout, Stream::Stderr] {
                assert_eq!(decode(pipe_token(ChildId(id), s)), Some((ChildId(id), s)));
            }
        }
        assert_eq!(decode(LOG_WAKER), None);
    }

    #[test]
    fn instance_numbers() {
        assert_eq!(instance_number("queue-worker:3"), "3");
        assert_eq!(instance_number("nginx"), "0");
    }
}
