//! The control protocol, shared by client and server. One request per
//! line, one JSON object; one reply line per request (`logs -f` keeps
//! sending reply lines with new `lines` until the client hangs up).
//!
//! ```text
//! → {"v":1,"cmd":"status","names":["web"]}
//! ← {"v":1,"ok":true,"programs":[{"name":"web","state":"running",…}]}
//! → {"v":1,"cmd":"stop","names":["nope"]}
//! ← {"v":1,"ok":false,"error":"no program named \"nope\""}
//! ```
//!
//! `v` is checked first: a client speaking another version gets an error
//! that says so, whatever else it sent. Pure: no I/O.

use serde::{Deserialize, Serialize};

pub const VERSION: u32 = 1;
/// Longest request line the server accepts (then: error reply, close).
pub const MAX_REQUEST: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase", deny_unknown_fields)]
pub enum Command {
    Status {
        #[serde(default)]
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
        #[serde(default)]
        lines: Option<usize>,
        #[serde(default)]
        follow: bool,
    },
    Shutdown,
}

/// One instance in a `status` reply. Times are relative (milliseconds) so
/// they mean the same on both sides of the socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// "stdout" or "stderr".
    pub stream: String,
    pub line: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reply {
    pub v: u32,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Details: every config error of a failed reload, every unhealthy
    /// instance, what a reload could not change live.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programs: Option<Vec<InstanceStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
        // Serializing these plain structs cannot fail; keep PID 1 panic-free anyway.
        let mut v = serde_json::to_vec(self)
            .unwrap_or_else(|_| br#"{"v":1,"ok":false,"error":"internal error"}"#.to_vec());
        v.push(b'\n');
        v
    }
}

/// Encode a request line (client side), newline included.
pub fn request_line(cmd: &Command) -> Vec<u8> {
    let mut value = serde_json::to_value(cmd).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("v".into(), VERSION.into());
    }
    let mut v = value.to_string().into_bytes();
    v.push(b'\n');
    v
}

/// Decode a request line (server side): the version first, then the command.
pub fn parse_request(line: &[u8]) -> Result<Command, String> {
    let mut value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("invalid request: {e}"))?;
    let Some(obj) = value.as_object_mut() else {
        return Err("invalid request: expected a JSON object".into());
    };
    match obj.remove("v").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(format!(
                "unsupported protocol version {v} (this rinit speaks {VERSION})"
            ));
        }
        None => return Err("invalid request: missing protocol version \"v\"".into()),
    }
    serde_json::from_value(value).map_err(|e| format!("invalid request: {e}"))
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
        let back: Reply = serde_json::from_slice(&line).unwrap();
        assert_eq!(back, r);
    }
}
