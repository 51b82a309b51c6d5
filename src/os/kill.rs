//! Sending signals. A target that is already gone (ESRCH) is not an error:
//! processes die on their own schedule.

use crate::core::Target;
use std::io;

pub fn send(target: Target, signal: i32) -> io::Result<()> {
    match target {
        Target::Pid(pid) => kill(pid, signal),
        Target::Group(pgid) => kill(-pgid, signal),
        Target::Everyone => everyone(signal),
    }
}

/// Whether any process is left in process group `pgid` (zombies count until
/// reaped).
pub fn group_exists(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(-pgid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

fn kill(pid: i32, signal: i32) -> io::Result<()> {
    // SAFETY: plain syscall; pid is never 0 or -1 here by construction.
    if unsafe { libc::kill(pid, signal) } == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ESRCH) {
        Ok(())
    } else {
        Err(err)
    }
}

/// As PID 1, `kill(-1)` reaches every other process of the namespace. Outside
/// one (a subreaper) that would hit the whole host, so there we signal our
/// own children only: orphans have been re-parented to us, and killing a
/// child lets its own orphans come to us in turn.
fn everyone(signal: i32) -> io::Result<()> {
    if std::process::id() == 1 {
        // SAFETY: plain syscall.
        if unsafe { libc::kill(-1, signal) } == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        return if err.raw_os_error() == Some(libc::ESRCH) {
            Ok(())
        } else {
            Err(err)
        };
    }
    for pid in children_of(std::process::id() as i32)? {
        kill(pid, signal)?;
    }
    Ok(())
}

/// The pids whose parent is `parent`, from /proc.
pub fn children_of(parent: i32) -> io::Result<Vec<i32>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if parent_in_stat(&stat) == Some(parent) {
            out.push(pid);
        }
    }
    Ok(out)
}

/// The ppid field of /proc/PID/stat; the command name may contain spaces and
/// parentheses, so parse from the last ')'.
fn parent_in_stat(stat: &str) -> Option<i32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppid_parsing_survives_odd_names() {
        assert_eq!(parent_in_stat("12 (a b) c)) S 7 12 12 0"), Some(7));
        assert_eq!(parent_in_stat("garbage"), None);
    }

    #[test]
    fn gone_targets_are_fine() {
        // A pid far above pid_max cannot exist.
        assert!(send(Target::Pid(0x3fff_fff0), libc::SIGTERM).is_ok());
    }
}
