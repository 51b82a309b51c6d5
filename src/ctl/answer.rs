//! What control requests mean: read-only ones (status, health, logs) are
//! answered from the core's and the log multiplexer's state; commands are
//! checked (names exist, not shutting down, the new config is valid) and
//! become `Event::Control` for the core. Runs inside PID 1's loop: no
//! blocking beyond reading the config files for `reload`.

use super::proto::{Command, InstanceStatus, LogLine, Reply};
use super::server::{Answer, Follow};
use crate::config::{self, Config, Global};
use crate::core::{ChildId, Control, Event, NewConfig, Supervisor};
use crate::logmux::{LogMux, Stream};
use std::path::Path;
use std::time::{Duration, Instant};

/// `logs` without `-n`.
pub const DEFAULT_LOG_LINES: usize = 100;

/// What a request may look at.
pub struct View<'a> {
    pub core: &'a Supervisor,
    pub mux: &'a LogMux,
    /// The main config file, for `reload`.
    pub config_path: &'a Path,
    /// The global settings in effect (some cannot change live).
    pub global: &'a Global,
    pub now: Instant,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn plain(reply: Reply) -> Answer {
    Answer {
        reply,
        follow: None,
    }
}

/// Answer `cmd`; commands for the core are appended to `events`.
pub fn answer(cmd: Command, v: &View, events: &mut Vec<Event>) -> Answer {
    let busy = || Reply::error("rinit is shutting down");
    let command = |names: &[String], f: fn(Vec<ChildId>) -> Control, events: &mut Vec<Event>| {
        if v.core.is_shutting_down() {
            return busy();
        }
        if names.is_empty() {
            return Reply::error("no program named (use a name or \"all\")");
        }
        match v.core.resolve(names) {
            Ok(ids) => {
                events.push(Event::Control(f(ids)));
                Reply::ok()
            }
            Err(e) => Reply::error(e),
        }
    };
    plain(match cmd {
        Command::Status { names } => status(&names, v),
        Command::Start { names } => command(&names, Control::Start, events),
        Command::Stop { names } => command(&names, Control::Stop, events),
        Command::Restart { names } => command(&names, Control::Restart, events),
        Command::Signal { signal, names } => match config::parse_signal(&signal) {
            Err(e) => Reply::error(e),
            Ok(_) if v.core.is_shutting_down() => busy(),
            Ok(signal) => match v.core.resolve(&names) {
                Ok(ids) => {
                    events.push(Event::Control(Control::Signal { signal, ids }));
                    Reply::ok()
                }
                Err(e) => Reply::error(e),
            },
        },
        Command::Shutdown => {
            events.push(Event::Control(Control::Shutdown));
            Reply::ok()
        }
        Command::Health => {
            let bad = v.core.unhealthy();
            if v.core.is_shutting_down() {
                busy()
            } else if bad.is_empty() {
                Reply::ok()
            } else {
                let mut r = Reply::error(format!("{} unhealthy", bad.len()));
                r.details = bad;
                r
            }
        }
        Command::Reload => {
            if v.core.is_shutting_down() {
                busy()
            } else {
                match load(v.config_path) {
                    Ok(cfg) => {
                        let mut r = Reply::ok();
                        r.details = not_live(v.global, &cfg.global);
                        events.push(Event::Control(Control::Reload(NewConfig(Box::new(cfg)))));
                        r
                    }
                    Err(errors) => {
                        let mut r = Reply::error(format!(
                            "{}: invalid config, nothing changed",
                            v.config_path.display()
                        ));
                        r.details = errors;
                        r
                    }
                }
            }
        }
        Command::Logs {
            name,
            lines,
            follow,
        } => return logs(&name, lines, follow, v),
    })
}

/// Load and validate the config with rinit's environment; every error as
/// one `file:line:col: message` line.
pub fn load(path: &Path) -> Result<Config, Vec<String>> {
    let env = |k: &str| std::env::var(k).ok();
    config::load(path, &env).map_err(|ds| ds.iter().map(|d| d.error_line()).collect())
}

/// Settings a reload cannot apply to the running rinit.
pub fn not_live(old: &Global, new: &Global) -> Vec<String> {
    let mut notes = Vec::new();
    let mut note = |changed: bool, what: &str| {
        if changed {
            notes.push(format!("{what} changed: takes effect when rinit restarts"));
        }
    };
    note(old.control_socket != new.control_socket, "control_socket");
    note(old.log_format != new.log_format, "log_format");
    note(old.log_timestamps != new.log_timestamps, "log_timestamps");
    note(old.env_file != new.env_file, "env_file");
    note(old.hooks_dir != new.hooks_dir, "hooks_dir");
    notes
}

fn status(names: &[String], v: &View) -> Reply {
    let ids = if names.is_empty() {
        v.core.resolve(&["all".to_string()])
    } else {
        v.core.resolve(names)
    };
    let ids = match ids {
        Ok(ids) => ids,
        Err(e) => return Reply::error(e),
    };
    let programs = ids
        .into_iter()
        .filter_map(|id| {
            let i = v.core.get(id)?;
            Some(InstanceStatus {
                name: i.name().to_string(),
                program: i.spec().name.clone(),
                state: i.state_name().to_string(),
                pid: i.pid(),
                uptime_ms: i.up_since().map(|s| ms(v.now.saturating_duration_since(s))),
                restarts: v.core.restarts(id),
                last_exit: i.last_end().map(|e| e.to_string()),
                last_exit_code: i.last_end().map(|e| e.code()),
                next_retry_ms: i.retry_at().map(|t| ms(t.saturating_duration_since(v.now))),
                autostart: i.spec().autostart,
            })
        })
        .collect();
    let mut r = Reply::ok();
    r.programs = Some(programs);
    r
}

fn log_line(stream: Stream, line: String) -> LogLine {
    LogLine {
        stream: stream.as_str().to_string(),
        line,
    }
}

fn logs(name: &str, lines: Option<usize>, follow: bool, v: &View) -> Answer {
    let Some(source) = v.mux.source_named(name) else {
        let why = match v.core.resolve(&[name.to_string()]) {
            Ok(ids) if ids.len() > 1 => {
                let names: Vec<&str> = ids
                    .iter()
                    .filter_map(|&id| v.core.get(id).map(|i| i.name()))
                    .collect();
                format!(
                    "{name} has several instances; name one of {}",
                    names.join(", ")
                )
            }
            Ok(_) => format!("{name} has no captured output (stdout/stderr not \"log\")"),
            Err(e) => e,
        };
        return plain(Reply::error(why));
    };
    let Some(tail) = v.mux.tail(source) else {
        return plain(Reply::error(format!("{name}: no output kept")));
    };
    let n = lines.unwrap_or(DEFAULT_LOG_LINES);
    let mut r = Reply::ok();
    r.lines = Some(
        tail.last(n)
            .into_iter()
            .map(|(s, l)| log_line(s, l))
            .collect(),
    );
    Answer {
        reply: r,
        follow: follow.then(|| Follow {
            source,
            seq: tail.total(),
        }),
    }
}

/// New lines for a follower since its sequence number, if any.
pub fn follow_lines(f: &mut Follow, mux: &LogMux) -> Option<Reply> {
    let tail = mux.tail(f.source)?;
    if tail.total() == f.seq {
        return None;
    }
    let (lines, missed) = tail.since(f.seq);
    f.seq = tail.total();
    let mut r = Reply::ok();
    if missed > 0 {
        r.details = vec![format!(
            "{missed} lines were dropped from the tail before they could be sent"
        )];
    }
    r.lines = Some(lines.into_iter().map(|(s, l)| log_line(s, l)).collect());
    Some(r)
}
