//! What `rinit ctl` prints and how it waits: the `status` table, and the
//! polling of `status` until start/stop/restart reached their target.

use super::{Conn, Fail, POLL};
use crate::ctl::proto::InstanceStatus;
use std::time::{Duration, Instant};

/// Poll status until every named instance reached what `cmd` asked for:
/// `stop` → down; `start` → running; `restart` → running with a new pid.
/// `fatal` or `exited` while waiting for running is a failure.
pub(super) fn wait(
    conn: &mut Conn,
    cmd: &str,
    names: &[String],
    before: &[InstanceStatus],
    timeout: Duration,
) -> Result<(), Fail> {
    let deadline = Instant::now() + timeout;
    loop {
        let now = conn.status(names)?;
        let mut pending = Vec::new();
        let mut failed = Vec::new();
        for s in &now {
            let old_pid = before.iter().find(|b| b.name == s.name).and_then(|b| b.pid);
            let why = || {
                let exit = s
                    .last_exit
                    .as_deref()
                    .map(|e| format!(" (last exit: {e})"))
                    .unwrap_or_default();
                format!("{}: {}{exit}", s.name, s.state)
            };
            let done = match (cmd, s.state.as_str()) {
                ("stop", "stopped" | "exited" | "fatal") => true,
                ("stop", _) => false,
                (_, "fatal" | "exited") => {
                    failed.push(why());
                    continue;
                }
                ("start", "running") => true,
                (_, "running") => s.pid != old_pid || old_pid.is_none(),
                _ => false,
            };
            if !done {
                pending.push(why());
            }
        }
        if !failed.is_empty() {
            return Err(Fail(1, format!("{cmd} failed:\n{}", failed.join("\n"))));
        }
        if pending.is_empty() {
            for s in &now {
                println!("{}: {}", s.name, s.state);
            }
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Fail(
                1,
                format!(
                    "timed out after {timeout:?} waiting for:\n{}",
                    pending.join("\n")
                ),
            ));
        }
        std::thread::sleep(POLL);
    }
}

fn human(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{}.{}s", s, (ms % 1000) / 100),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m{:02}s", s / 3600, (s / 60) % 60, s % 60),
    }
}

/// The human `status` table, one instance per line.
pub fn table(programs: &[InstanceStatus]) -> String {
    let w = programs
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = String::new();
    for p in programs {
        let mut parts = Vec::new();
        if let Some(pid) = p.pid {
            parts.push(format!("pid {pid}"));
        }
        if let Some(up) = p.uptime_ms {
            parts.push(format!("uptime {}", human(up)));
        }
        if p.restarts > 0 {
            parts.push(format!("restarts {}", p.restarts));
        }
        if let Some(e) = &p.last_exit {
            parts.push(format!("last {e}"));
        }
        if let Some(r) = p.next_retry_ms {
            parts.push(format!("retry in {}", human(r)));
        }
        let line = format!("{:<w$}  {:<8}  {}", p.name, p.state, parts.join(", "));
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human(1234), "1.2s");
        assert_eq!(human(61_000), "1m01s");
        assert_eq!(human(3_723_000), "1h02m03s");
    }
}
