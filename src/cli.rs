//! The command line: tini's flags with GNU getopt's rules, plus rinit's own
//! subcommands and options. Pure: the environment comes in as a lookup
//! function and nothing is printed here.
//!
//! tini parses with glibc `getopt(argc, argv, "p:hvwgle:s")`, which permutes:
//! options are taken from anywhere in argv until `--`, unless
//! `POSIXLY_CORRECT` is set, in which case the first non-option ends them.
//! We do the same so that swapping tini for rinit changes nothing; that is
//! also why `rinit -- CMD ARGS…` is the form to recommend.

use crate::core::ExitRemap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Help,
    Version,
    License,
    /// `rinit ctl ARGS…` (control client).
    Ctl(Vec<OsString>),
    /// `rinit check [-c PATH]`.
    Check {
        config: Option<PathBuf>,
    },
    Run(RunOptions),
}

/// Everything that shapes a run as PID 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    pub subreaper: bool,
    pub parent_death_signal: Option<i32>,
    /// tini's scale: 0 errors only, 1 warnings (default), 2 info, 3 debug, 4 trace.
    pub verbosity: u32,
    /// `TINI_VERBOSITY` was given: `verbosity` is absolute, not relative to
    /// the mode's default.
    pub verbosity_from_env: bool,
    pub warn_on_reap: bool,
    pub kill_process_group: bool,
    pub remap: ExitRemap,
    pub config: Option<PathBuf>,
    pub only: Option<String>,
    pub command: Vec<OsString>,
}

/// A command line that cannot be run. `code` is what rinit exits with;
/// `usage` asks for the usage text on stderr after the message (as tini).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub message: String,
    pub usage: bool,
    pub code: i32,
}

impl CliError {
    fn usage(message: String) -> Self {
        CliError {
            message,
            usage: true,
            code: 1,
        }
    }
}

pub const DEFAULT_VERBOSITY: u32 = 1;

/// Parse `args` (without argv[0]). `env` reads rinit's environment.
pub fn parse(
    args: &[OsString],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Invocation, CliError> {
    // tini handles --version only when it is the only argument.
    if args.len() == 1 && args[0] == "--version" {
        return Ok(Invocation::Version);
    }
    match args.first().map(|a| a.as_bytes()) {
        Some(b"ctl") => return Ok(Invocation::Ctl(args[1..].to_vec())),
        Some(b"check") => return parse_check(&args[1..]),
        _ => {}
    }

    let mut opts = RunOptions {
        verbosity: DEFAULT_VERBOSITY,
        ..RunOptions::default()
    };
    let posixly_correct = env("POSIXLY_CORRECT").is_some();
    let mut command = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_bytes();
        i += 1;
        if arg == b"--" {
            command.extend_from_slice(&args[i..]);
            break;
        }
        if arg.len() < 2 || arg[0] != b'-' {
            command.push(args[i - 1].clone());
            if posixly_correct {
                command.extend_from_slice(&args[i..]);
                break;
            }
            continue;
        }
        if let Some(long) = arg.strip_prefix(b"--") {
            let long = String::from_utf8_lossy(long).into_owned();
            if let Some(inv) = parse_long(&long, args, &mut i, &mut opts)? {
                return Ok(inv);
            }
            continue;
        }
        // A cluster of short options: -vvv, -e3, -ve 3.
        let mut j = 1;
        while j < arg.len() {
            let c = arg[j] as char;
            j += 1;
            match c {
                'h' => return Ok(Invocation::Help),
                'l' => return Ok(Invocation::License),
                's' => opts.subreaper = true,
                'v' => opts.verbosity += 1,
                'w' => opts.warn_on_reap = true,
                'g' => opts.kill_process_group = true,
                'p' | 'e' | 'c' => {
                    let value = if j < arg.len() {
                        let v = OsString::from(std::ffi::OsStr::from_bytes(&arg[j..]));
                        j = arg.len();
                        v
                    } else if i < args.len() {
                        i += 1;
                        args[i - 1].clone()
                    } else {
                        return Err(CliError::usage(format!(
                            "option requires an argument -- '{c}'"
                        )));
                    };
                    apply_valued(c, value, &mut opts)?;
                }
                _ => return Err(CliError::usage(format!("invalid option -- '{c}'"))),
            }
        }
    }

    // tini reads its environment after its arguments, so these win.
    if env("TINI_SUBREAPER").is_some() {
        opts.subreaper = true;
    }
    if env("TINI_KILL_PROCESS_GROUP").is_some() {
        opts.kill_process_group = true;
    }
    if let Some(v) = env("TINI_VERBOSITY") {
        opts.verbosity = atoi(&v);
        opts.verbosity_from_env = true;
    }
    opts.command = command;
    Ok(Invocation::Run(opts))
}

fn parse_long(
    long: &str,
    args: &[OsString],
    i: &mut usize,
    opts: &mut RunOptions,
) -> Result<Option<Invocation>, CliError> {
    let (name, inline) = match long.split_once('=') {
        Some((n, v)) => (n, Some(OsString::from(v))),
        None => (long, None),
    };
    let mut value = || -> Result<OsString, CliError> {
        if let Some(v) = inline.clone() {
            return Ok(v);
        }
        if *i < args.len() {
            *i += 1;
            return Ok(args[*i - 1].clone());
        }
        Err(CliError::usage(format!(
            "option '--{name}' requires an argument"
        )))
    };
    match name {
        "help" => Ok(Some(Invocation::Help)),
        "version" => Ok(Some(Invocation::Version)),
        "config" => {
            opts.config = Some(PathBuf::from(value()?));
            Ok(None)
        }
        "only" => {
            opts.only = Some(value()?.to_string_lossy().into_owned());
            Ok(None)
        }
        _ => Err(CliError::usage(format!("unrecognized option '--{name}'"))),
    }
}

fn apply_valued(c: char, value: OsString, opts: &mut RunOptions) -> Result<(), CliError> {
    let text = value.to_string_lossy().into_owned();
    match c {
        'p' => match parse_signal(&text) {
            Some(sig) => opts.parent_death_signal = Some(sig),
            None => return Err(invalid_value('p', &text)),
        },
        'e' => match text.parse::<u8>() {
            // strtol accepts a sign; "+3" is rare enough that u8's parse is fine.
            Ok(code) => opts.remap.insert(code),
            Err(_) => return Err(invalid_value('e', &text)),
        },
        _ => opts.config = Some(PathBuf::from(value)),
    }
    Ok(())
}

fn invalid_value(c: char, text: &str) -> CliError {
    CliError {
        message: format!("not a valid option for -{c}: {text}"),
        usage: false,
        code: 1,
    }
}

fn parse_check(args: &[OsString]) -> Result<Invocation, CliError> {
    let mut config = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "-c" || s == "--config" {
            match it.next() {
                Some(p) => config = Some(PathBuf::from(p)),
                None => {
                    return Err(CliError::usage(format!(
                        "option '{s}' requires an argument"
                    )));
                }
            }
        } else if let Some(p) = s.strip_prefix("--config=") {
            config = Some(PathBuf::from(p));
        } else {
            return Err(CliError::usage(format!("check: unexpected argument '{s}'")));
        }
    }
    Ok(Invocation::Check { config })
}

/// A signal given by name (`SIGTERM`, `TERM`, `term`) or number.
pub fn parse_signal(text: &str) -> Option<i32> {
    if let Ok(n) = text.parse::<i32>() {
        return (1..=libc::SIGRTMAX()).contains(&n).then_some(n);
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<nix::sys::signal::Signal>()
        .ok()
        .map(|s| s as i32)
}

/// C's atoi: leading digits, else 0 (what tini does with TINI_VERBOSITY).
fn atoi(s: &str) -> u32 {
    let digits: String = s
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().unwrap_or(0)
}

pub fn usage_text() -> String {
    format!(
        "rinit {version}
Usage: rinit [OPTIONS] [--] PROGRAM [ARGS]     single-command mode (like tini)
       rinit [-c CONFIG]                        supervisor mode
       rinit [-c CONFIG] -- PROGRAM [ARGS]      supervisor mode plus a main command
       rinit check [-c CONFIG] | rinit ctl ... | rinit --version

Execute a program under the supervision of a valid init process (rinit)

Command line options:

  --version: Show version and exit.
  -h, --help: Show this help message and exit.
  -s: Register as a process subreaper (requires Linux >= 3.4).
  -p SIGNAL: Trigger SIGNAL when parent dies, e.g. \"-p SIGKILL\".
  -v: Generate more verbose output. Repeat up to 3 times.
  -w: Print a warning when processes are getting reaped.
  -g: Send signals to the child's process group.
  -e EXIT_CODE: Remap EXIT_CODE (from 0 to 255) to 0 (can be repeated).
  -l: Show license and exit.
  -c, --config PATH: Use this configuration file.

Environment variables:

  TINI_SUBREAPER: Register as a process subreaper (requires Linux >= 3.4).
  TINI_VERBOSITY: Set the verbosity level (default: {DEFAULT_VERBOSITY}; 2 in supervisor
                  mode, so that state transitions show).
  TINI_KILL_PROCESS_GROUP: Send signals to the child's process group.
  RINIT_CONFIG: Configuration file (default: /etc/rinit.toml, /etc/rinit/rinit.toml).
  RINIT_KILL_GRACE: Milliseconds leftover processes get between SIGTERM and SIGKILL
                    once the main program has exited (default: 2000).
",
        version = env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn run(v: &[&str], env: &[(&str, &str)]) -> Result<RunOptions, CliError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        match parse(&args(v), &lookup)? {
            Invocation::Run(o) => Ok(o),
            other => panic!("expected a run, got {other:?}"),
        }
    }

    #[test]
    fn options_are_permuted_like_gnu_getopt() {
        let o = run(&["sleep", "-v", "10"], &[]).unwrap();
        assert_eq!(o.command, args(&["sleep", "10"]));
        assert_eq!(o.verbosity, 2);
    }

    #[test]
    fn posixly_correct_stops_at_the_first_operand() {
        let o = run(&["-g", "ls", "-l"], &[("POSIXLY_CORRECT", "")]).unwrap();
        assert_eq!(o.command, args(&["ls", "-l"]));
        assert!(o.kill_process_group);
    }

    #[test]
    fn double_dash_ends_options() {
        let o = run(&["-s", "--", "sh", "-c", "exit 3"], &[]).unwrap();
        assert!(o.subreaper);
        assert_eq!(o.command, args(&["sh", "-c", "exit 3"]));
    }

    #[test]
    fn clustered_and_attached_values() {
        let o = run(&["-vvve3", "-e", "143", "-pSIGKILL", "--", "x"], &[]).unwrap();
        assert_eq!(o.verbosity, 4);
        assert!(o.remap.contains(3) && o.remap.contains(143) && !o.remap.contains(4));
        assert_eq!(o.parent_death_signal, Some(libc::SIGKILL));
    }

    #[test]
    fn environment_overrides_like_tini() {
        let env = [
            ("TINI_VERBOSITY", "0"),
            ("TINI_SUBREAPER", ""),
            ("TINI_KILL_PROCESS_GROUP", "1"),
        ];
        let o = run(&["-vv", "--", "x"], &env).unwrap();
        assert_eq!(o.verbosity, 0);
        assert!(o.subreaper && o.kill_process_group);
    }

    #[test]
    fn bad_values_and_options_are_errors_with_code_1() {
        for bad in [
            &["-e", "256", "x"][..],
            &["-e", "foo", "x"],
            &["-p", "SIGNOPE", "x"],
            &["-x"],
            &["-e"],
        ] {
            let err = run(bad, &[]).unwrap_err();
            assert_eq!(err.code, 1, "{bad:?}");
        }
        assert!(
            run(&["-e", "foo"], &[])
                .unwrap_err()
                .message
                .contains("-e: foo")
        );
    }

    #[test]
    fn version_only_when_alone() {
        assert_eq!(
            parse(&args(&["--version"]), &|_| None),
            Ok(Invocation::Version)
        );
        assert_eq!(parse(&args(&["-h", "x"]), &|_| None), Ok(Invocation::Help));
        assert_eq!(parse(&args(&["-l"]), &|_| None), Ok(Invocation::License));
    }

    #[test]
    fn subcommands_only_as_first_argument() {
        assert!(matches!(
            parse(&args(&["ctl", "status"]), &|_| None),
            Ok(Invocation::Ctl(_))
        ));
        assert_eq!(
            parse(&args(&["check", "-c", "/x.toml"]), &|_| None),
            Ok(Invocation::Check {
                config: Some(PathBuf::from("/x.toml"))
            })
        );
        let o = run(&["--", "check"], &[]).unwrap();
        assert_eq!(o.command, args(&["check"]));
    }

    #[test]
    fn config_option_forms() {
        assert_eq!(
            run(&["-c", "/a"], &[]).unwrap().config,
            Some(PathBuf::from("/a"))
        );
        assert_eq!(
            run(&["--config=/b"], &[]).unwrap().config,
            Some(PathBuf::from("/b"))
        );
        assert_eq!(
            run(&["--config", "/c", "--", "x"], &[]).unwrap().command,
            args(&["x"])
        );
    }

    #[test]
    fn signals_by_name_or_number() {
        assert_eq!(parse_signal("SIGTERM"), Some(libc::SIGTERM));
        assert_eq!(parse_signal("term"), Some(libc::SIGTERM));
        assert_eq!(parse_signal("9"), Some(9));
        assert_eq!(parse_signal("0"), None);
        assert_eq!(parse_signal("SIGFOO"), None);
    }
}
