//! Starting children. All work between fork and exec happens in
//! `child_setup`, the one audited place: async-signal-safe libc calls on
//! data prepared before the fork, no allocation, no locks, no logging.
//!
//! std's `Command` does the rest (argv/envp built before fork, PATH search
//! with execvp, SIGPIPE back to default, exec errors reported through a
//! CLOEXEC pipe as `spawn()`'s `io::Error`). We keep only the pid: the reaper
//! owns `waitpid`, so the `Child` handle is dropped at once (dropping it
//! neither waits nor kills).

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// How the child is detached from rinit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Its own process group; with `foreground`, also the terminal's
    /// foreground group when stdin is a TTY (single-command mode, as tini).
    ProcessGroup { foreground: bool },
    /// Its own session (supervised programs: `kill_group` reaches all it forks).
    Session,
}

/// Who the child runs as: resolved from /etc/passwd and /etc/group before
/// the fork (never through NSS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

/// Everything `child_setup` needs, computed before the fork.
#[derive(Debug, Clone)]
pub struct ChildSetup {
    pub isolation: Isolation,
    pub identity: Option<Identity>,
    pub umask: Option<u32>,
}

impl ChildSetup {
    pub fn isolated(isolation: Isolation) -> Self {
        ChildSetup {
            isolation,
            identity: None,
            umask: None,
        }
    }
}

/// Spawn `argv` (argv[0] searched in PATH) with rinit's stdio and environment.
pub fn spawn(argv: &[OsString], setup: ChildSetup) -> io::Result<i32> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
    let mut cmd = Command::new(program);
    cmd.args(args);
    spawn_command(cmd, setup)
}

/// Spawn a prepared `Command` (environment, directory and stdio already set
/// on it) with `setup` applied between fork and exec.
pub fn spawn_command(mut cmd: Command, setup: ChildSetup) -> io::Result<i32> {
    // SAFETY: `child_setup` only makes async-signal-safe calls on the value
    // moved in here; it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || child_setup(&setup));
    }
    let child = cmd.spawn()?;
    Ok(child.id() as i32)
}

/// Runs in the forked child, before exec.
fn child_setup(setup: &ChildSetup) -> io::Result<()> {
    match setup.isolation {
        Isolation::Session => {
            // SAFETY: async-signal-safe syscall.
            if unsafe { libc::setsid() } < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Isolation::ProcessGroup { foreground } => {
            // SAFETY: async-signal-safe syscall.
            if unsafe { libc::setpgid(0, 0) } < 0 {
                return Err(io::Error::last_os_error());
            }
            // Done here, in the child, as tini does: if rinit runs under
            // another init doing the same, doing it in the parent could race
            // and leave the real child in the background. SIGTTOU is still
            // ignored at this point, so a background caller is not stopped.
            // SAFETY: async-signal-safe syscalls.
            if foreground && unsafe { libc::tcsetpgrp(0, libc::getpgrp()) } < 0 {
                let err = io::Error::last_os_error();
                // No TTY on stdin (ENOTTY), or no such device (ENXIO): fine.
                if !matches!(err.raw_os_error(), Some(libc::ENOTTY) | Some(libc::ENXIO)) {
                    return Err(err);
                }
            }
        }
    }
    if let Some(id) = &setup.identity {
        // Supplementary groups first, then the gid, then the uid: once the
        // uid is dropped the other two can no longer be changed.
        // SAFETY: async-signal-safe syscalls; `groups` was allocated before
        // the fork and is only read here.
        unsafe {
            if libc::setgroups(id.groups.len(), id.groups.as_ptr()) < 0
                || libc::setgid(id.gid) < 0
                || libc::setuid(id.uid) < 0
            {
                return Err(io::Error::last_os_error());
            }
        }
    }
    if let Some(mask) = setup.umask {
        // SAFETY: async-signal-safe, cannot fail.
        unsafe { libc::umask(mask as libc::mode_t) };
    }
    // rinit ignores these (see signals.rs); an ignored disposition survives
    // exec, so give the program the default back or job control breaks.
    for sig in [libc::SIGTTIN, libc::SIGTTOU] {
        // SAFETY: async-signal-safe; SIG_DFL installs no code.
        if unsafe { libc::signal(sig, libc::SIG_DFL) } == libc::SIG_ERR {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Mark every descriptor rinit inherited above 2 close-on-exec, so that no
/// program of a supervisor sees them (supervisord closes them too). Single-
/// command mode does not call this: like tini, it passes them on (socket
/// activation through an init relies on it).
pub fn cloexec_inherited_fds() -> io::Result<()> {
    let mut fds = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd")? {
        if let Some(fd) = entry?
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
            && fd > 2
        {
            fds.push(fd);
        }
    }
    for fd in fds {
        // SAFETY: F_GETFD/F_SETFD on an fd number; a stale one (read_dir's
        // own, closed by now) fails with EBADF, which is ignored.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
    Ok(())
}
