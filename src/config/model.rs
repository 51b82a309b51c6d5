//! The validated, resolved configuration: what the rest of rinit consumes.
//!
//! Everything here is already checked (durations parsed, signals resolved,
//! names unique, dependencies acyclic); consumers never re-validate. Plain
//! data, no I/O.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The main file (includes are merged into this one config).
    pub path: PathBuf,
    pub global: Global,
    /// Start hooks then stop hooks, in the order they run (`[[hook]]` entries
    /// first; `hooks_dir` executables are discovered at start-up, not here).
    pub hooks: Vec<HookSpec>,
    /// Programs as written (instances not expanded), in file order.
    pub programs: Vec<ProgramSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Global {
    pub shutdown_timeout: Duration,
    pub log_format: LogFormat,
    pub log_timestamps: bool,
    pub control_socket: PathBuf,
    /// Uids besides root and rinit's own that may use the control socket
    /// (`control_allow`); when set, the socket is made reachable for them
    /// (mode 0666) and the peer-credential check is the gate.
    pub control_allow: Vec<u32>,
    pub env_file: Option<PathBuf>,
    pub hooks_dir: Option<PathBuf>,
    pub exit_when: ExitWhen,
    /// Signal routing, after defaults are applied: one entry per signal
    /// number that rinit handles specially.
    pub signals: Vec<(i32, SignalRoute)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Prefix,
    Raw,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitWhen {
    /// Keep running until asked to stop (the default).
    Requested,
    /// Exit once every program has finished and none will restart.
    AllDone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalRoute {
    Reload,
    Shutdown,
    /// To every running program.
    Forward,
    Ignore,
    /// To these programs only.
    ForwardTo(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    /// Executed directly (`execvp`), no shell.
    Argv(Vec<String>),
    /// Run by `/bin/sh -c`.
    Shell(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Through rinit's log multiplexer (the default).
    Log,
    /// rinit's own fd 1 / fd 2.
    Inherit,
    /// /dev/null.
    Null,
    /// Appended to this file.
    File(PathBuf),
}

/// What a child runs as and where: shared by programs and hooks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessSpec {
    /// `None` keeps rinit's user. Names are resolved at spawn time from
    /// /etc/passwd (never NSS); validation checks they exist.
    pub user: Option<String>,
    pub group: Option<String>,
    pub directory: Option<PathBuf>,
    /// Set over the inherited environment, in file order.
    pub environment: Vec<(String, String)>,
    pub umask: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProgramSpec {
    pub name: String,
    pub command: CommandLine,
    pub process: ProcessSpec,
    pub autostart: bool,
    pub restart: RestartPolicy,
    pub exit_codes: Vec<u8>,
    pub start_secs: Duration,
    pub start_retries: u32,
    pub backoff: Duration,
    pub backoff_max: Duration,
    pub stop_signal: i32,
    pub stop_timeout: Duration,
    pub kill_group: bool,
    pub instances: u32,
    pub depends_on: Vec<String>,
    pub critical: bool,
    pub stdout: Output,
    pub stderr: Output,
    /// Size-based rotation of this program's file outputs (`None`: the
    /// files only grow; rotate them externally and send SIGUSR1).
    pub log_rotation: Option<LogRotation>,
}

/// `log_max_bytes` / `log_backups`: when a file output would grow past
/// `max_bytes`, it is renamed `PATH.1` (older backups shift up to
/// `PATH.<backups>`, the oldest is deleted) and a new `PATH` is started.
/// `backups = 0` truncates the file instead (supervisord's meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRotation {
    pub max_bytes: u64,
    pub backups: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookStage {
    Start,
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    Abort,
    Continue,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HookSpec {
    pub name: String,
    pub command: CommandLine,
    pub process: ProcessSpec,
    pub stage: HookStage,
    pub timeout: Option<Duration>,
    pub on_failure: OnFailure,
}
