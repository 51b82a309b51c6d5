//! From a parsed command line to a running mode (SPEC §1): help and version,
//! config discovery, then single-command mode or supervisor mode.

use crate::cli::{self, Invocation, RunOptions};
use crate::config::{self, Config, HookStage};
use crate::core::single::{self, SingleCommand};
use crate::core::supervisor::Supervisor;
use crate::event_loop::EventLoop;
use crate::mode::single::SingleRuntime;
use crate::mode::supervisor::SupervisorRuntime;
use crate::os;
use std::ffi::OsString;
use std::io::Write;
use std::time::Duration;

const LICENSE: &str = include_str!("../LICENSE");

/// Leftover processes get this long between SIGTERM and SIGKILL once the
/// main program has exited or every program has stopped
/// (`RINIT_KILL_GRACE`, in milliseconds).
const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

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
        Invocation::Ctl(args) => crate::ctl::client::main(&args, &env),
        Invocation::Check { config } => check(config.as_deref(), &env),
        Invocation::Run(opts) => run(opts, &env),
    }
}

/// `rinit check`: validate, print the resolved programs, exit 0 or 1.
fn check(explicit: Option<&std::path::Path>, env: Env) -> i32 {
    let path = match config::discover(explicit, env) {
        Ok(Some(path)) => path,
        Ok(None) => {
            eprintln!(
                "rinit: error: no config found (looked at {})",
                looked_at(env)
            );
            return 1;
        }
        Err(d) => {
            eprintln!("{}", d.error_line());
            return 1;
        }
    };
    match load(&path, env) {
        Some(cfg) => print_stdout(&config::describe(&cfg)),
        None => 1,
    }
}

fn run(opts: RunOptions, env: Env) -> i32 {
    crate::logger::init(opts.verbosity);
    let path = match config::discover(opts.config.as_deref(), env) {
        Ok(path) => path,
        Err(d) => {
            eprintln!("{}", d.error_line());
            return 2;
        }
    };
    match (path, opts.command.is_empty()) {
        (Some(path), _) => match load(&path, env) {
            Some(cfg) => {
                // Supervisor mode logs its state transitions (info) by
                // default, as supervisord does; each -v still adds a level.
                if !opts.verbosity_from_env {
                    crate::logger::init(opts.verbosity + 1);
                }
                run_supervisor(&opts, cfg, env)
            }
            None => 1,
        },
        (None, false) => run_single(opts, env),
        (None, true) => {
            eprintln!(
                "rinit: usage: no command given and no config found (looked at {}); see rinit -h",
                looked_at(env)
            );
            2
        }
    }
}

fn looked_at(env: Env) -> String {
    match env("RINIT_CONFIG").filter(|v| !v.is_empty()) {
        Some(p) => p,
        None => config::DEFAULT_PATHS.join(", "),
    }
}

/// Load and validate; on failure print every problem (a bad config starts nothing).
fn load(path: &std::path::Path, env: Env) -> Option<Config> {
    match config::load(path, env) {
        Ok(cfg) => Some(cfg),
        Err(diags) => {
            for d in &diags {
                eprintln!("{}", d.error_line());
            }
            None
        }
    }
}

/// What every mode does first as an init: pdeathsig, subreaper, the warning.
fn become_init(opts: &RunOptions) -> Result<(), i32> {
    if let Some(sig) = opts.parent_death_signal {
        os::pid1::set_parent_death_signal(sig).map_err(|e| {
            log::error!("unable to set the parent death signal: {e}");
            1
        })?;
    }
    if opts.subreaper {
        os::pid1::register_subreaper().map_err(|e| {
            log::error!("unable to register as a child subreaper: {e}");
            1
        })?;
    }
    if !os::pid1::reaps_orphans() {
        log::warn!("{}", os::pid1::REAPER_WARNING);
    }
    Ok(())
}

fn kill_grace(env: Env) -> Duration {
    env("RINIT_KILL_GRACE")
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_KILL_GRACE)
}

fn run_single(opts: RunOptions, env: Env) -> i32 {
    if let Err(code) = become_init(&opts) {
        return code;
    }
    let mut core = SingleCommand::new(single::Settings {
        kill_process_group: opts.kill_process_group,
        warn_on_reap: opts.warn_on_reap,
        remap: opts.remap,
        kill_grace: kill_grace(env),
    });
    let mut event_loop = match EventLoop::new() {
        Ok(l) => l,
        Err(e) => {
            log::error!("unable to set up the event loop: {e}");
            return 1;
        }
    };
    let mut runtime = SingleRuntime { argv: opts.command };
    finish(event_loop.run(&mut core, &mut runtime))
}

fn run_supervisor(opts: &RunOptions, mut cfg: Config, env: Env) -> i32 {
    if let Err(code) = become_init(opts) {
        return code;
    }
    if let Err(e) = os::spawn::cloexec_inherited_fds() {
        log::warn!("unable to keep inherited descriptors from the programs: {e}");
    }
    if let Some(dir) = cfg.global.hooks_dir.clone() {
        let found = crate::mode::supervisor::hooks_in_dir(&dir);
        // After the [[hook]] start entries, before the stop hooks.
        let at = cfg
            .hooks
            .iter()
            .take_while(|h| h.stage == HookStage::Start)
            .count();
        cfg.hooks.splice(at..at, found);
    }
    let mut core = Supervisor::new(&cfg).with_kill_grace(kill_grace(env));
    if !opts.command.is_empty() {
        core = core.with_main_command();
    }
    let setup = EventLoop::new().and_then(|l| {
        let runtime = SupervisorRuntime::new(&cfg, &core, l.registry(), opts.command.clone())?;
        Ok((l, runtime))
    });
    let (mut event_loop, mut runtime) = match setup {
        Ok(pair) => pair,
        Err(e) => {
            log::error!("unable to set up the event loop: {e}");
            return 1;
        }
    };
    let code = finish(event_loop.run(&mut core, &mut runtime));
    // rinit exits right after this: the runtime's `finish` has flushed
    // every output and removed the control socket, and no destructor is
    // left with anything to do that the kernel's exit does not do faster
    // (closing a score of fds, waking log writer threads only to let them
    // exit). Tearing it all down cost ~60 us of the shutdown.
    std::mem::forget((event_loop, runtime, core, cfg));
    code
}

fn finish(result: std::io::Result<u8>) -> i32 {
    match result {
        Ok(code) => i32::from(code),
        Err(e) => {
            log::error!("event loop failed: {e}");
            1
        }
    }
}

fn print_stdout(text: &str) -> i32 {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    0
}
