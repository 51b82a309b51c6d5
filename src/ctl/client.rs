//! `rinit ctl …`: the control client. It is not PID 1, so it may block
//! (with timeouts). Exit codes: 0 ok, 1 the operation failed (the message
//! names the program and why), 2 usage, 3 rinit cannot be reached (the
//! message names the socket and the likely cause).

use super::proto::{self, Command, InstanceStatus, Reply};
use crate::config;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod output;

use output::{table, wait};

pub const USAGE: &str = "\
Usage: rinit ctl [--socket PATH | -c CONFIG] COMMAND
  status [--json] [NAME…]          state, pid, uptime, restarts, last exit, next retry
  start|stop|restart NAME…|all     and wait for the result [--no-wait] [--timeout DUR]
  signal SIG NAME…|all             send SIG (TERM, HUP, 10, …) to running programs
  reload                           re-read the config and apply the difference
  health                           exit 0 if every autostart program is running
  logs NAME [-n N] [-f]            recent output of one program instance
  shutdown                         stop everything and exit the container
";

/// How long start/stop/restart wait for the target state by default.
const DEFAULT_WAIT: Duration = Duration::from_secs(60);
/// How long any one reply may take (PID 1 answers in milliseconds).
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

struct Opts {
    socket: Option<PathBuf>,
    config: Option<PathBuf>,
    json: bool,
    wait: bool,
    timeout: Duration,
    lines: Option<usize>,
    follow: bool,
    words: Vec<String>,
}

/// A failure and its exit code.
struct Fail(i32, String);

fn usage(msg: impl Into<String>) -> Fail {
    Fail(2, format!("{}\n{USAGE}", msg.into()))
}

pub fn main(args: &[OsString], env: Env) -> i32 {
    match run(args, env) {
        Ok(()) => 0,
        Err(Fail(0, msg)) => {
            print!("{msg}");
            0
        }
        Err(Fail(code, msg)) => {
            eprintln!("rinit ctl: {}", msg.trim_end());
            code
        }
    }
}

fn parse(args: &[OsString]) -> Result<Opts, Fail> {
    let mut o = Opts {
        socket: None,
        config: None,
        json: false,
        wait: true,
        timeout: DEFAULT_WAIT,
        lines: None,
        follow: false,
        words: Vec::new(),
    };
    let mut it = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| usage(format!("{name} needs a value")))
        };
        match flag.as_str() {
            "--socket" => o.socket = Some(value("--socket")?.into()),
            "-c" | "--config" => o.config = Some(value("--config")?.into()),
            "--json" => o.json = true,
            "--no-wait" => o.wait = false,
            "--timeout" => {
                o.timeout = config::parse_duration(&value("--timeout")?).map_err(usage)?;
            }
            "-n" | "--lines" => {
                let v = value("-n")?;
                o.lines = Some(
                    v.parse()
                        .map_err(|_| usage(format!("-n: not a number: {v}")))?,
                );
            }
            "-f" | "--follow" => o.follow = true,
            "-h" | "--help" => return Err(Fail(0, USAGE.to_string())),
            f if f.starts_with('-')
                && f.len() > 1
                && o.words.first().is_none_or(|w| w != "signal") =>
            {
                return Err(usage(format!("unknown option {f}")));
            }
            _ => o.words.push(a),
        }
    }
    Ok(o)
}

fn run(args: &[OsString], env: Env) -> Result<(), Fail> {
    let o = parse(args)?;
    let Some((cmd, rest)) = o.words.split_first() else {
        return Err(usage("no command given"));
    };
    let names = rest.to_vec();
    let need_names = |what: &str| {
        if names.is_empty() {
            Err(usage(format!("{what} needs NAME… or all")))
        } else {
            Ok(())
        }
    };
    let no_args = || {
        if names.is_empty() {
            Ok(())
        } else {
            Err(usage(format!("{cmd} takes no arguments")))
        }
    };
    let request = match cmd.as_str() {
        "status" => Command::Status { names },
        "start" | "stop" | "restart" => {
            need_names(cmd)?;
            match cmd.as_str() {
                "start" => Command::Start { names },
                "stop" => Command::Stop { names },
                _ => Command::Restart { names },
            }
        }
        "signal" => match rest.split_first() {
            Some((sig, names)) if !names.is_empty() => Command::Signal {
                signal: sig.clone(),
                names: names.to_vec(),
            },
            _ => return Err(usage("signal needs SIG and NAME… or all")),
        },
        "reload" => no_args().map(|_| Command::Reload)?,
        "health" => no_args().map(|_| Command::Health)?,
        "shutdown" => no_args().map(|_| Command::Shutdown)?,
        "logs" => match rest {
            [name] => Command::Logs {
                name: name.clone(),
                lines: o.lines,
                follow: o.follow,
            },
            _ => return Err(usage("logs needs exactly one NAME")),
        },
        other => return Err(usage(format!("unknown command \"{other}\""))),
    };
    let path = socket_path(&o, env);
    let mut conn = Conn::open(&path)?;
    match request {
        Command::Status { .. } => {
            let reply = conn.ask(&request)?;
            let programs = reply.programs.unwrap_or_default();
            if o.json {
                let mut text = Vec::new();
                proto::write_statuses(&mut text, &programs);
                println!("{}", String::from_utf8_lossy(&text));
            } else {
                print!("{}", table(&programs));
            }
            Ok(())
        }
        Command::Start { ref names }
        | Command::Stop { ref names }
        | Command::Restart { ref names } => {
            let before = conn.status(names)?;
            conn.ask(&request)?;
            if o.wait {
                wait(&mut conn, cmd, names, &before, o.timeout)
            } else {
                Ok(())
            }
        }
        Command::Logs { follow, .. } => {
            let reply = conn.ask(&request)?;
            print_lines(&reply);
            if follow {
                conn.follow()?;
            }
            Ok(())
        }
        Command::Reload => {
            let reply = conn.ask(&request)?;
            for d in reply.details {
                println!("note: {d}");
            }
            println!("reloaded");
            Ok(())
        }
        Command::Health => {
            conn.ask(&request)?;
            println!("healthy");
            Ok(())
        }
        Command::Signal { .. } | Command::Shutdown => conn.ask(&request).map(|_| ()),
    }
}

/// SPEC §6: `--socket`, else the config found the §1 way names it, else
/// the default. An invalid config still names its socket if it parses as
/// TOML: `reload` must be able to say what is wrong with it.
fn socket_path(o: &Opts, env: Env) -> PathBuf {
    if let Some(p) = &o.socket {
        return p.clone();
    }
    let default = config::default_global().control_socket;
    let Ok(Some(path)) = config::discover(o.config.as_deref(), env) else {
        return default;
    };
    if let Ok(cfg) = config::load(&path, env) {
        return cfg.global.control_socket;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let Ok(doc) = config::toml::parse(&text) else {
        return default;
    };
    fn get<'a>(t: &'a config::toml::Table, key: &str) -> Option<&'a config::toml::Value> {
        t.iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(_, v)| v.get_ref())
    }
    get(&doc, "rinit")
        .and_then(|r| get(r.as_table()?, "control_socket"))
        .and_then(|s| s.as_str().map(PathBuf::from))
        .unwrap_or(default)
}

struct Conn {
    path: PathBuf,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Conn {
    fn open(path: &Path) -> Result<Conn, Fail> {
        let unreachable = |why: String| {
            Fail(
                3,
                format!("cannot reach rinit at {}: {why}", path.display()),
            )
        };
        let stream = UnixStream::connect(path).map_err(|e| {
            unreachable(match e.raw_os_error() {
                Some(libc::ENOENT) => {
                    "no such socket (is rinit running, with this control_socket?)".into()
                }
                Some(libc::ECONNREFUSED) => {
                    "connection refused (rinit is not running; the socket is stale)".into()
                }
                Some(libc::EACCES) | Some(libc::EPERM) => {
                    "permission denied (run as root, or list your uid in [rinit] control_allow)"
                        .into()
                }
                _ => e.to_string(),
            })
        })?;
        let _ = stream.set_read_timeout(Some(REPLY_TIMEOUT));
        let writer = stream.try_clone().map_err(|e| unreachable(e.to_string()))?;
        Ok(Conn {
            path: path.to_path_buf(),
            reader: BufReader::new(stream),
            writer,
        })
    }

    fn unreachable(&self, why: impl std::fmt::Display) -> Fail {
        Fail(
            3,
            format!("cannot reach rinit at {}: {why}", self.path.display()),
        )
    }

    fn read_reply(&mut self) -> Result<Option<Reply>, Fail> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Ok(None),
            Ok(_) => proto::parse_reply(line.as_bytes())
                .map(Some)
                .map_err(|e| self.unreachable(format!("unreadable reply ({e})"))),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Err(self.unreachable(format!("no answer within {REPLY_TIMEOUT:?}")))
            }
            Err(e) => Err(self.unreachable(e)),
        }
    }

    /// Send one request and read its reply; a failed operation is exit 1,
    /// a refused connection exit 3.
    fn ask(&mut self, cmd: &Command) -> Result<Reply, Fail> {
        let reply = match self.writer.write_all(&proto::request_line(cmd)) {
            Ok(()) => self.read_reply()?,
            // rinit answers a refused client at accept and closes, so the
            // request may meet a closed socket (EPIPE); its answer is
            // still in our buffer and says why.
            Err(e) => Some(
                self.read_reply()
                    .ok()
                    .flatten()
                    .ok_or_else(|| self.unreachable(e))?,
            ),
        };
        let Some(reply) = reply else {
            return Err(self.unreachable("connection closed without an answer"));
        };
        if reply.ok {
            return Ok(reply);
        }
        let error = reply.error.unwrap_or_else(|| "failed".into());
        let mut msg = error.clone();
        for d in &reply.details {
            msg.push_str(&format!("\n{d}"));
        }
        let refused = error.starts_with("permission denied")
            || error.starts_with("too many control connections");
        Err(if refused {
            self.unreachable(error)
        } else {
            Fail(1, msg)
        })
    }

    fn status(&mut self, names: &[String]) -> Result<Vec<InstanceStatus>, Fail> {
        let reply = self.ask(&Command::Status {
            names: names.to_vec(),
        })?;
        Ok(reply.programs.unwrap_or_default())
    }

    /// `logs -f`: print lines as they come until rinit closes the socket.
    fn follow(&mut self) -> Result<(), Fail> {
        let _ = self.reader.get_ref().set_read_timeout(None);
        while let Some(reply) = self.read_reply()? {
            for d in &reply.details {
                eprintln!("rinit ctl: {d}");
            }
            print_lines(&reply);
        }
        Ok(())
    }
}

fn print_lines(reply: &Reply) {
    let mut out = std::io::stdout().lock();
    for l in reply.lines.iter().flatten() {
        let _ = writeln!(out, "{}", l.line);
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(stream: UnixStream) -> Conn {
        Conn {
            path: PathBuf::from("/run/rinit.sock"),
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    /// rinit refuses at accept and closes before the request is written:
    /// the write fails with EPIPE, and the refusal must still be shown.
    #[test]
    fn a_refusal_that_beats_the_request_is_still_reported() {
        let (client, server) = UnixStream::pair().unwrap();
        (&server)
            .write_all(&Reply::error("permission denied: uid 7 may not control rinit").to_line())
            .unwrap();
        drop(server);
        let Err(Fail(code, msg)) = conn(client).ask(&Command::Health) else {
            panic!("a refusal must fail");
        };
        assert_eq!(code, 3);
        assert!(msg.contains("uid 7 may not control rinit"), "{msg}");
        assert!(msg.contains("/run/rinit.sock"), "{msg}");
    }

    /// A closed socket with no answer in it still names the write error.
    #[test]
    fn a_closed_socket_without_an_answer_names_the_error() {
        let (client, server) = UnixStream::pair().unwrap();
        drop(server);
        let Err(Fail(code, msg)) = conn(client).ask(&Command::Health) else {
            panic!("a closed socket must fail");
        };
        assert_eq!(code, 3);
        assert!(msg.contains("Broken pipe"), "{msg}");
    }
}
