//! The control protocol, shared by client and server. One request per
//! line, one JSON object; one reply line per request (`logs -f` keeps
//! sending reply lines with new `lines` until the client hangs up).
//!
//! ```text
//! → {"cmd":"status","names":["web"],"v":1}
//! ← {"v":1,"ok":true,"programs":[{"name":"web","state":"running",…}]}
//! → {"cmd":"stop","names":["nope"],"v":1}
//! ← {"v":1,"ok":false,"error":"no program named \"nope\""}
//! ```
//!
//! `v` is checked first: a client speaking another version gets an error
//! that says so, whatever else it sent. Requests are written with their keys
//! sorted, replies with their fields in the order below. Pure: no I/O.

use super::json::{self, Fields, Value};

pub const VERSION: u32 = 1;
/// Longest request line the server accepts (then: error reply, close).
pub const MAX_REQUEST: usize = 64 * 1024;

/// A request; on the wire `cmd` names the variant (lowercase) and the
/// fields are members of the same object. Unknown members are refused,
/// except beside the commands that take no arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Status {
        /// May be left out: every program.
        names: Vec<String>,
    },
    Start {
        names: Vec<String>,
    },
    Stop {
        names: Vec<String>,
    },
    Restart {
        names: Vec<String>,
    },
    Signal {
        signal: String,
        names: Vec<String>,
    },
    Reload,
    Health,
    Logs {
        name: String,
        /// May be left out (or null).
        lines: Option<usize>,
        /// May be left out: false.
        follow: bool,
    },
    Shutdown,
}

const COMMANDS: &[&str] = &[
    "status", "start", "stop", "restart", "signal", "reload", "health", "logs", "shutdown",
];

/// One instance in a `status` reply. Times are relative (milliseconds) so
/// they mean the same on both sides of the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    pub name: String,
    pub program: String,
    pub state: String,
    pub pid: Option<i32>,
    pub uptime_ms: Option<u64>,
    pub restarts: u32,
    /// "exit status 1", "killed by SIGKILL".
    pub last_exit: Option<String>,
    pub last_exit_code: Option<u8>,
    pub next_retry_ms: Option<u64>,
    pub autostart: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// "stdout" or "stderr".
    pub stream: String,
    pub line: String,
}

/// A reply. `error`, `details`, `programs` and `lines` are left out of the
/// line when empty, and may be missing from one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    pub v: u32,
    pub ok: bool,
    pub error: Option<String>,
    /// Details: every config error of a failed reload, every unhealthy
    /// instance, what a reload could not change live.
    pub details: Vec<String>,
    pub programs: Option<Vec<InstanceStatus>>,
    pub lines: Option<Vec<LogLine>>,
}

impl Reply {
    pub fn ok() -> Reply {
        Reply {
            v: VERSION,
            ok: true,
            ..Reply::default()
        }
    }

    pub fn error(message: impl Into<String>) -> Reply {
        Reply {
            v: VERSION,
            ok: false,
            error: Some(message.into()),
            ..Reply::default()
        }
    }

    /// The reply as one line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = b"{\"v\":".to_vec();
        json::write_num(&mut out, self.v);
        out.extend_from_slice(b",\"ok\":");
        json::write_bool(&mut out, self.ok);
        if let Some(e) = &self.error {
            out.extend_from_slice(b",\"error\":");
            json::write_str(&mut out, e);
        }
        if !self.details.is_empty() {
            out.extend_from_slice(b",\"details\":");
            json::write_strings(&mut out, &self.details);
        }
        if let Some(p) = &self.programs {
            out.extend_from_slice(b",\"programs\":");
            write_statuses(&mut out, p);
        }
        if let Some(lines) = &self.lines {
            out.extend_from_slice(b",\"lines\":[");
            for (i, l) in lines.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"stream\":");
                json::write_str(&mut out, &l.stream);
                out.extend_from_slice(b",\"line\":");
                json::write_str(&mut out, &l.line);
                out.push(b'}');
            }
            out.push(b']');
        }
        out.extend_from_slice(b"}\n");
        out
    }
}

/// `status` entries as a JSON array (also `rinit ctl status --json`).
pub fn write_statuses(out: &mut Vec<u8>, programs: &[InstanceStatus]) {
    out.push(b'[');
    for (i, p) in programs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        json::write_str(out, &p.name);
        out.extend_from_slice(b",\"program\":");
        json::write_str(out, &p.program);
        out.extend_from_slice(b",\"state\":");
        json::write_str(out, &p.state);
        out.extend_from_slice(b",\"pid\":");
        json::write_opt_num(out, p.pid);
        out.extend_from_slice(b",\"uptime_ms\":");
        json::write_opt_num(out, p.uptime_ms);
        out.extend_from_slice(b",\"restarts\":");
        json::write_num(out, p.restarts);
        out.extend_from_slice(b",\"last_exit\":");
        json::write_opt_str(out, p.last_exit.as_deref());
        out.extend_from_slice(b",\"last_exit_code\":");
        json::write_opt_num(out, p.last_exit_code);
        out.extend_from_slice(b",\"next_retry_ms\":");
        json::write_opt_num(out, p.next_retry_ms);
        out.extend_from_slice(b",\"autostart\":");
        json::write_bool(out, p.autostart);
        out.push(b'}');
    }
    out.push(b']');
}

/// Decode a reply line (client side). Unknown members are ignored.
pub fn parse_reply(line: &[u8]) -> Result<Reply, String> {
    let value = json::parse(line)?;
    let f = fields(&value, "struct Reply")?;
    Ok(Reply {
        v: f.req("v", |v| v.to_u64(u32::MAX.into(), "u32"))? as u32,
        ok: f.req("ok", Value::to_bool)?,
        error: f.opt("error", Value::to_str)?,
        details: f.get("details").map_or(Ok(Vec::new()), Value::to_strings)?,
        programs: f.opt("programs", |v| list(v, status_from))?,
        lines: f.opt("lines", |v| list(v, log_line_from))?,
    })
}

fn fields<'a>(v: &'a Value, what: &str) -> Result<Fields<'a>, String> {
    match v.as_object() {
        Some(members) => Ok(Fields(members)),
        None => Err(format!("invalid type: {}, expected {what}", v.unexpected())),
    }
}

fn list<T>(v: &Value, item: fn(&Value) -> Result<T, String>) -> Result<Vec<T>, String> {
    match v {
        Value::Array(items) => items.iter().map(item).collect(),
        v => Err(format!(
            "invalid type: {}, expected a sequence",
            v.unexpected()
        )),
    }
}

fn status_from(v: &Value) -> Result<InstanceStatus, String> {
    let f = fields(v, "struct InstanceStatus")?;
    let u64_ = |v: &Value| v.to_u64(u64::MAX, "u64");
    Ok(InstanceStatus {
        name: f.req("name", Value::to_str)?,
        program: f.req("program", Value::to_str)?,
        state: f.req("state", Value::to_str)?,
        pid: f.opt("pid", Value::to_i32)?,
        uptime_ms: f.opt("uptime_ms", u64_)?,
        restarts: f.req("restarts", |v| v.to_u64(u32::MAX.into(), "u32"))? as u32,
        last_exit: f.opt("last_exit", Value::to_str)?,
        last_exit_code: f.opt("last_exit_code", |v| v.to_u64(255, "u8").map(|n| n as u8))?,
        next_retry_ms: f.opt("next_retry_ms", u64_)?,
        autostart: f.req("autostart", Value::to_bool)?,
    })
}

fn log_line_from(v: &Value) -> Result<LogLine, String> {
    let f = fields(v, "struct LogLine")?;
    Ok(LogLine {
        stream: f.req("stream", Value::to_str)?,
        line: f.req("line", Value::to_str)?,
    })
}

/// Encode a request line (client side), newline included: the members in
/// key order, `v` last.
pub fn request_line(cmd: &Command) -> Vec<u8> {
    let mut out = b"{\"cmd\":".to_vec();
    json::write_str(&mut out, command_name(cmd));
    let names = |out: &mut Vec<u8>, names: &[String]| {
        out.extend_from_slice(b",\"names\":");
        json::write_strings(out, names);
    };
    match cmd {
        Command::Status { names: n }
        | Command::Start { names: n }
        | Command::Stop { names: n }
        | Command::Restart { names: n } => names(&mut out, n),
        Command::Signal { signal, names: n } => {
            names(&mut out, n);
            out.extend_from_slice(b",\"signal\":");
            json::write_str(&mut out, signal);
        }
        Command::Logs {
            name,
            lines,
            follow,
        } => {
            out.extend_from_slice(b",\"follow\":");
            json::write_bool(&mut out, *follow);
            out.extend_from_slice(b",\"lines\":");
            json::write_opt_num(&mut out, *lines);
            out.extend_from_slice(b",\"name\":");
            json::write_str(&mut out, name);
        }
        Command::Reload | Command::Health | Command::Shutdown => {}
    }
    out.extend_from_slice(b",\"v\":");
    json::write_num(&mut out, VERSION);
    out.extend_from_slice(b"}\n");
    out
}

fn command_name(cmd: &Command) -> &'static str {
    match cmd {
        Command::Status { .. } => "status",
        Command::Start { .. } => "start",
        Command::Stop { .. } => "stop",
        Command::Restart { .. } => "restart",
        Command::Signal { .. } => "signal",
        Command::Reload => "reload",
        Command::Health => "health",
        Command::Logs { .. } => "logs",
        Command::Shutdown => "shutdown",
    }
}

/// Decode a request line (server side): the version first, then the command.
pub fn parse_request(line: &[u8]) -> Result<Command, String> {
    let value = json::parse(line).map_err(|e| format!("invalid request: {e}"))?;
    let Some(members) = value.as_object() else {
        return Err("invalid request: expected a JSON object".into());
    };
    let f = Fields(members);
    let version = match f.get("v") {
        Some(v) => v.to_u64(u64::MAX, "u64").ok(),
        None => None,
    };
    match version {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(format!(
                "unsupported protocol version {v} (this rinit speaks {VERSION})"
            ));
        }
        None => return Err("invalid request: missing protocol version \"v\"".into()),
    }
    let rest: Vec<(String, Value)> = members.iter().filter(|(k, _)| k != "v").cloned().collect();
    command(&Fields(&rest)).map_err(|e| format!("invalid request: {e}"))
}

fn command(f: &Fields) -> Result<Command, String> {
    let name = match f.get("cmd") {
        Some(Value::String(s)) => s.as_str(),
        Some(v) => {
            return Err(format!(
                "invalid type: {}, expected variant identifier",
                v.unexpected()
            ));
        }
        None => return Err("missing field `cmd`".into()),
    };
    let names = || f.req("names", Value::to_strings);
    let deny = |known: &[&str]| {
        let args: Vec<(String, Value)> = f.0.iter().filter(|(k, _)| k != "cmd").cloned().collect();
        Fields(&args).deny_unknown(known)
    };
    Ok(match name {
        "status" => {
            deny(&["names"])?;
            Command::Status {
                names: f.get("names").map_or(Ok(Vec::new()), Value::to_strings)?,
            }
        }
        "start" | "stop" | "restart" => {
            deny(&["names"])?;
            let names = names()?;
            match name {
                "start" => Command::Start { names },
                "stop" => Command::Stop { names },
                _ => Command::Restart { names },
            }
        }
        "signal" => {
            deny(&["signal", "names"])?;
            Command::Signal {
                signal: f.req("signal", Value::to_str)?,
                names: names()?,
            }
        }
        "logs" => {
            deny(&["name", "lines", "follow"])?;
            Command::Logs {
                name: f.req("name", Value::to_str)?,
                lines: f.opt("lines", |v| {
                    v.to_u64(usize::MAX as u64, "usize").map(|n| n as usize)
                })?,
                follow: f.get("follow").map_or(Ok(false), Value::to_bool)?,
            }
        }
        "reload" => Command::Reload,
        "health" => Command::Health,
        "shutdown" => Command::Shutdown,
        other => {
            return Err(format!(
                "unknown variant `{other}`, {}",
                json::one_of(COMMANDS)
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let cmds = [
            Command::Status { names: vec![] },
            Command::Start {
                names: vec!["web".into()],
            },
            Command::Signal {
                signal: "HUP".into(),
                names: vec!["all".into()],
            },
            Command::Reload,
            Command::Logs {
                name: "web".into(),
                lines: Some(5),
                follow: true,
            },
        ];
        for c in cmds {
            let line = request_line(&c);
            assert!(line.ends_with(b"\n"));
            assert_eq!(parse_request(line.trim_ascii_end()), Ok(c));
        }
        assert_eq!(
            request_line(&Command::Health),
            b"{\"cmd\":\"health\",\"v\":1}\n".to_vec()
        );
    }

    #[test]
    fn bad_requests_say_why() {
        let e = |s: &str| parse_request(s.as_bytes()).unwrap_err();
        assert!(e("garbage").starts_with("invalid request"));
        assert!(e("[1]").contains("expected a JSON object"));
        assert!(e(r#"{"cmd":"status"}"#).contains("missing protocol version"));
        assert!(e(r#"{"v":2,"cmd":"teleport"}"#).contains("unsupported protocol version 2"));
        assert!(e(r#"{"v":1,"cmd":"teleport"}"#).contains("unknown variant"));
        assert!(e(r#"{"v":1,"cmd":"start"}"#).contains("missing field"));
    }

    #[test]
    fn replies_are_one_line() {
        let r = Reply::error("no program named \"x\"\nsecond");
        let line = r.to_line();
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        let back = parse_reply(&line).unwrap();
        assert_eq!(back, r);
    }
}
