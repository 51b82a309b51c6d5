//! From a parsed command line to a running mode (SPEC §1): help and version,
//! config discovery, then single-command mode or supervisor mode.

use crate::cli::{self, Invocation, RunOptions};
use crate::core::single::{self, SingleCommand};
use crate::core::{ChildId, Event};
use crate::event_loop::{EventLoop, Runtime};
use crate::os;
use crate::os::spawn::{ChildSetup, Isolation};
use mio::Registry;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const LICENSE: &str = include_str!("../LICENSE");

/// Where a config is looked for when neither `-c` nor `$RINIT_CONFIG` names one.
const DEFAULT_CONFIGS: [&str; 2] = ["/etc/rinit.toml", "/etc/rinit/rinit.toml"];

/// Leftover processes get this long between SIGTERM and SIGKILL once the
/// main child has exited (`RINIT_KILL_GRACE`, in milliseconds).
const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);

/// Run rinit with `args` (without argv[0]); returns the process exit code.
pub fn main(args: &[OsString]) -> i32 {
    let env = |k: &str| std::env::var(k).ok();
    let invocation = match cli::parse(args, &env) {
        Ok(inv) => inv,
        Err(e) => {
            eprintln!("rinit: error: {}", e.message);
            if e.usage {
                eprint!("{}", cli::usage_text());
            }
            return e.code;
        }
    };
    match invocation {
        Invocation::Help => print_stdout(&cli::usage_text()),
        Invocation::Version => {
            print_stdout(&format!("rinit version {}\n", env!("CARGO_PKG_VERSION")))
        }
        Invocation::License => print_stdout(LICENSE),
        Invocation::Ctl(_) => not_yet("rinit ctl", "the control plane"),
        Invocation::Check { .. } => not_yet("rinit check", "supervisor mode"),
        Invocation::Run(opts) => run(opts, &env),
    }
}

fn run(opts: RunOptions, env: &dyn Fn(&str) -> Option<String>) -> i32 {
    crate::logger::init(opts.verbosity);
    let config = match find_config(opts.config.as_deref(), env) {
        Ok(c) => c,
        Err(msg) => {
            log::error!("{msg}");
            return 2;
        }
    };
    match (config, opts.command.is_empty()) {
        (Some(path), _) => not_yet(
            &format!("configuration {}", path.display()),
            "supervisor mode",
        ),
        (None, false) => run_single(opts, env),
        (None, true) => {
            let looked = match env("RINIT_CONFIG") {
                Some(p) => p,
                None => DEFAULT_CONFIGS.join(", "),
            };
            eprintln!(
                "rinit: usage: no command given and no config found (looked at {looked}); see rinit -h"
            );
            2
        }
    }
}

/// SPEC §1: `-c`, else `$RINIT_CONFIG` (both must exist), else the defaults.
fn find_config(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<PathBuf>, String> {
    let named = explicit
        .map(Path::to_path_buf)
        .or_else(|| env("RINIT_CONFIG").map(PathBuf::from));
    if let Some(path) = named {
        return if path.exists() {
            Ok(Some(path))
        } else {
            Err(format!("{}: configuration file not found", path.display()))
        };
    }
    Ok(DEFAULT_CONFIGS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists()))
}

fn run_single(opts: RunOptions, env: &dyn Fn(&str) -> Option<String>) -> i32 {
    if let Some(sig) = opts.parent_death_signal
        && let Err(e) = os::pid1::set_parent_death_signal(sig)
    {
        log::error!("unable to set the parent death signal: {e}");
        return 1;
    }
    if opts.subreaper
        && let Err(e) = os::pid1::register_subreaper()
    {
        log::error!("unable to register as a child subreaper: {e}");
        return 1;
    }
    if !os::pid1::reaps_orphans() {
        log::warn!("{}", os::pid1::REAPER_WARNING);
    }
    let kill_grace = env("RINIT_KILL_GRACE")
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_KILL_GRACE);
    let mut core = SingleCommand::new(single::Settings {
        kill_process_group: opts.kill_process_group,
        warn_on_reap: opts.warn_on_reap,
        remap: opts.remap,
        kill_grace,
    });
    let mut event_loop = match EventLoop::new() {
        Ok(l) => l,
        Err(e) => {
            log::error!("unable to set up the event loop: {e}");
            return 1;
        }
    };
    let mut runtime = SingleRuntime { argv: opts.command };
    match event_loop.run(&mut core, &mut runtime) {
        Ok(code) => i32::from(code),
        Err(e) => {
            log::error!("event loop failed: {e}");
            1
        }
    }
}

struct SingleRuntime {
    argv: Vec<OsString>,
}

impl Runtime<SingleCommand> for SingleRuntime {
    fn spawn(&mut self, _core: &SingleCommand, id: ChildId, _registry: &Registry) -> Event {
        let setup = ChildSetup::isolated(Isolation::ProcessGroup { foreground: true });
        match os::spawn::spawn(&self.argv, setup) {
            Ok(pid) => Event::Spawned { id, pid },
            Err(e) => Event::SpawnFailed {
                id,
                errno: e.raw_os_error().unwrap_or(0),
                message: format!(
                    "exec {} failed: {}",
                    self.argv[0].to_string_lossy(),
                    strerror(&e)
                ),
            },
        }
    }
}

/// The bare strerror text, without std's " (os error N)" suffix.
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn not_yet(what: &str, feature: &str) -> i32 {
    eprintln!("rinit: error: {what}: {feature} is not available in this version yet");
    1
}

fn print_stdout(text: &str) -> i32 {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    0
}
