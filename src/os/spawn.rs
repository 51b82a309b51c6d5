//! Starting children: rinit's own fork/exec, `posix_spawn`'s way.
//!
//! `clone(CLONE_VM | CLONE_VFORK)` runs the child on rinit's memory with a
//! stack of its own, and suspends only the calling thread until the child
//! has exec'd or exited. No page tables are copied and no pipe is needed:
//! the child reports a failure by storing its errno in a slot the parent
//! reads once it resumes, so `spawn` still answers synchronously. (std's
//! `Command` forks, copying the page tables, then blocks on a CLOEXEC pipe
//! until the exec is done: it held the loop about 340 µs per program on the
//! 2-core benchmark machine, against about 90 µs here.)
//!
//! Because the child shares rinit's memory, everything it needs is prepared
//! before the clone (argv, envp, the PATH candidates, fds, ids), and the
//! child's code (`child_main`) only reads it and makes raw syscalls: no
//! allocation, no lock, no `log!`, no libc wrapper that touches shared
//! state (glibc's `setuid` family would signal rinit's other threads, so
//! the ids are changed through `syscall`). Every signal is blocked across
//! the clone, and the child resets every handler to the default before it
//! unblocks them, so no rinit handler ever runs in the child.
//!
//! Kept from std's `Command`: PATH search in the child's environment (glibc
//! `execvp` rules: EACCES remembered, `/bin/sh` for a file without a magic
//! number), stdio with fds moved above 2 first, chdir before the ids are
//! dropped, SIGPIPE back to default, the signal mask inherited. We keep only
//! the pid: the reaper owns `waitpid` (except for a child that failed before
//! exec, reaped here as std does).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

mod child;
mod raw;

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

/// What the child does between clone and exec besides stdio, directory and
/// signals, computed before the clone.
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

/// One of the child's standard streams (std's `Stdio`, minus pipes).
#[derive(Debug, Default)]
pub enum Stdio {
    /// rinit's own.
    #[default]
    Inherit,
    /// /dev/null.
    Null,
    /// This descriptor (closed in rinit once the child has it).
    Fd(OwnedFd),
}

impl Stdio {
    pub fn inherit() -> Self {
        Stdio::Inherit
    }

    pub fn null() -> Self {
        Stdio::Null
    }
}

impl From<OwnedFd> for Stdio {
    fn from(fd: OwnedFd) -> Self {
        Stdio::Fd(fd)
    }
}

impl From<File> for Stdio {
    fn from(file: File) -> Self {
        Stdio::Fd(file.into())
    }
}

/// A program to start: std's `Command` builder, spawned by [`Command::spawn`].
/// The environment is rinit's, with the variables set here on top.
#[derive(Debug)]
pub struct Command {
    program: OsString,
    args: Vec<OsString>,
    env: BTreeMap<OsString, OsString>,
    cwd: Option<PathBuf>,
    stdio: [Stdio; 3],
}

impl Command {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Command {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: None,
            stdio: Default::default(),
        }
    }

    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Set `key` in the child's environment (a later call wins).
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.env
            .insert(key.as_ref().to_owned(), value.as_ref().to_owned());
        self
    }

    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    pub fn stdin(&mut self, io: impl Into<Stdio>) -> &mut Self {
        self.stdio[0] = io.into();
        self
    }

    pub fn stdout(&mut self, io: impl Into<Stdio>) -> &mut Self {
        self.stdio[1] = io.into();
        self
    }

    pub fn stderr(&mut self, io: impl Into<Stdio>) -> &mut Self {
        self.stdio[2] = io.into();
        self
    }

    pub fn get_program(&self) -> &OsStr {
        &self.program
    }

    /// Start the program with `setup` applied; returns its pid once it has
    /// exec'd, or why it could not (errno of the first failing step: the
    /// exec's own, a chdir's, a setuid's...).
    pub fn spawn(self, setup: &ChildSetup) -> io::Result<i32> {
        spawn_all(vec![(self, setup)])
            .pop()
            .unwrap_or(Err(io::ErrorKind::Other.into()))
    }
}

/// Start several programs at once: their execs overlap (see `child`).
/// Each answer is what [`Command::spawn`] would have said, in order.
pub fn spawn_all(batch: Vec<(Command, &ChildSetup)>) -> Vec<io::Result<i32>> {
    let plans = batch
        .into_iter()
        .map(|(cmd, setup)| child::Plan::new(cmd, setup))
        .collect();
    child::run_all(plans)
}

/// Spawn `argv` (argv[0] searched in PATH) with rinit's stdio and environment.
pub fn spawn(argv: &[OsString], setup: ChildSetup) -> io::Result<i32> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
    let mut cmd = Command::new(program);
    cmd.args(args);
    cmd.spawn(&setup)
}

/// Mark every descriptor rinit inherited above 2 close-on-exec, so that no
/// program of a supervisor sees them (supervisord closes them too). Single-
/// command mode does not call this: like tini, it passes them on (socket
/// activation through an init relies on it).
pub fn cloexec_inherited_fds() -> io::Result<()> {
    // One syscall on Linux ≥ 5.11; the /proc scan below otherwise.
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC closes nothing; it only
    // sets FD_CLOEXEC on the open descriptors of the range.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        return Ok(());
    }
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
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interior_nul_is_invalid_input() {
        let mut cmd = Command::new("true");
        cmd.arg("a\0b");
        let err = cmd
            .spawn(&ChildSetup::isolated(Isolation::Session))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn empty_program_is_enoent() {
        let err = spawn(&[OsString::new()], ChildSetup::isolated(Isolation::Session)).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    }
}
