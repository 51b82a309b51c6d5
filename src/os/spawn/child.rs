//! The clone and the child's side of it: everything prepared in a `Plan`
//! before the clone, then `child_main` on rinit's memory (raw syscalls on
//! that plan only) until the exec.

use super::{ChildSetup, Command, Isolation, Stdio};
use std::collections::BTreeMap;
use std::ffi::{CStr, CString, OsStr, OsString, c_int, c_void};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicI32, Ordering};

/// The shell glibc's `execvp` hands a file without a magic number.
const SHELL: &CStr = c"/bin/sh";
/// PATH when the environment has none (glibc's `_CS_PATH`).
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";
/// The child's stack. It needs little (a few frames of plain syscalls);
/// it lives in the parent's frame, which is suspended meanwhile.
const CHILD_STACK: usize = 32 * 1024;

/// Everything the child reads, owned by the parent until the clone returns.
pub(super) struct Plan {
    /// Kept for their pointers.
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
    /// Paths to try, in order (one, or one per PATH entry).
    candidates: Vec<CString>,
    /// `/bin/sh <candidate> args...`: slot 1 is filled in by the child.
    sh_argv: Vec<*const libc::c_char>,
    cwd: Option<CString>,
    /// The fds to dup2 onto 0, 1, 2 (-1: leave it), each above 2.
    stdio_fds: [RawFd; 3],
    /// Keeps the opened /dev/null and the given fds open until the clone.
    _stdio_owned: Vec<OwnedFd>,
    isolation: Isolation,
    groups: Vec<libc::gid_t>,
    ids: Option<(u32, u32)>,
    umask: Option<u32>,
    /// Signals the child sets to default without asking (rinit's handlers,
    /// TTIN/TTOU, PIPE); the others are reset only if they have a handler.
    reset: u64,
}

impl Plan {
    pub(super) fn new(cmd: Command, setup: &ChildSetup) -> io::Result<Self> {
        let Command {
            program,
            args,
            env,
            cwd,
            stdio,
        } = cmd;
        if program.is_empty() {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        let argv: Vec<CString> = std::iter::once(&program)
            .chain(&args)
            .map(|a| cstring(a.as_bytes()))
            .collect::<io::Result<_>>()?;
        let mut vars: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
        vars.extend(env);
        let envp: Vec<CString> = vars
            .iter()
            .map(|(k, v)| {
                let mut kv = Vec::with_capacity(k.len() + v.len() + 1);
                kv.extend_from_slice(k.as_bytes());
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                cstring(&kv)
            })
            .collect::<io::Result<_>>()?;
        let path = vars.get(OsStr::new("PATH")).map(|p| p.as_bytes());
        let candidates = candidates(program.as_bytes(), path)?;
        let cwd = cwd
            .map(|d| cstring(d.into_os_string().as_bytes()))
            .transpose()?;

        let mut owned = Vec::new();
        let mut stdio_fds = [-1; 3];
        for (i, io) in stdio.into_iter().enumerate() {
            let fd = match io {
                Stdio::Inherit => continue,
                Stdio::Null => {
                    let f = std::fs::OpenOptions::new()
                        .read(i == 0)
                        .write(i != 0)
                        .open("/dev/null")?;
                    OwnedFd::from(f)
                }
                Stdio::Fd(fd) => fd,
            };
            // An fd in 0..=2 could be overwritten by an earlier dup2.
            let fd = if fd.as_raw_fd() <= 2 {
                fd.try_clone()?
            } else {
                fd
            };
            stdio_fds[i] = fd.as_raw_fd();
            owned.push(fd);
        }

        let argv_ptrs = null_terminated(&argv);
        let envp_ptrs = null_terminated(&envp);
        let mut sh_argv = vec![SHELL.as_ptr(), std::ptr::null()];
        sh_argv.extend_from_slice(&argv_ptrs[1..]);
        let mut reset = crate::os::signals::handler_mask();
        for sig in [libc::SIGTTIN, libc::SIGTTOU, libc::SIGPIPE] {
            reset |= bit(sig);
        }
        Ok(Plan {
            _argv: argv,
            _envp: envp,
            argv_ptrs,
            envp_ptrs,
            candidates,
            sh_argv,
            cwd,
            stdio_fds,
            _stdio_owned: owned,
            isolation: setup.isolation,
            groups: setup
                .identity
                .as_ref()
                .map_or_else(Vec::new, |id| id.groups.clone()),
            ids: setup.identity.as_ref().map(|id| (id.uid, id.gid)),
            umask: setup.umask,
            reset,
        })
    }

    pub(super) fn run(mut self) -> io::Result<i32> {
        let error = AtomicI32::new(0);
        let mut stack = MaybeUninit::<[u8; CHILD_STACK]>::uninit();
        let mut child = Child {
            plan: &mut self,
            error: &error,
            mask: [0; SIGSET_WORDS],
        };
        // SAFETY: rt_sigprocmask with a full set and an out-pointer to a
        // buffer of the kernel's sigset size: blocks everything (glibc's
        // internal signals included) in this thread until restored below.
        let blocked = unsafe {
            let all = [!0u64; SIGSET_WORDS];
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                all.as_ptr(),
                child.mask.as_mut_ptr(),
                SIGSET_BYTES,
            )
        };
        if blocked < 0 {
            return Err(io::Error::last_os_error());
        }
        let top = {
            let base = stack.as_mut_ptr() as usize;
            (base + CHILD_STACK) & !15
        };
        // SAFETY: `child_main` only reads `child` (prepared above, alive
        // until this frame returns) and stores into `error`; it runs on
        // `stack`, which nothing else uses, while this thread is suspended
        // (CLONE_VFORK) until the child has exec'd or exited.
        let pid = unsafe {
            libc::clone(
                child_main,
                top as *mut c_void,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                (&raw mut child).cast::<c_void>(),
            )
        };
        let clone_err = io::Error::last_os_error();
        // SAFETY: restores the mask saved above.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                child.mask.as_ptr(),
                std::ptr::null_mut::<u64>(),
                SIGSET_BYTES,
            );
        }
        if pid < 0 {
            return Err(clone_err);
        }
        let errno = error.load(Ordering::Acquire);
        if errno != 0 {
            // It has exited (that is what woke us): reap it now, as std
            // does, so the reaper never sees a program that never ran.
            loop {
                // SAFETY: plain syscall on our own child.
                let r = unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
                if r >= 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                    break;
                }
            }
            return Err(io::Error::from_raw_os_error(errno));
        }
        Ok(pid)
    }
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "nul byte found in provided data",
        )
    })
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// The paths `execvp` would try for `program`: itself if it has a slash,
/// else each PATH entry joined to it (an empty entry is the current
/// directory).
fn candidates(program: &[u8], path: Option<&[u8]>) -> io::Result<Vec<CString>> {
    if program.contains(&b'/') {
        return Ok(vec![cstring(program)?]);
    }
    path.unwrap_or(DEFAULT_PATH)
        .split(|&b| b == b':')
        .map(|dir| {
            let mut p = Vec::with_capacity(dir.len() + 1 + program.len());
            if !dir.is_empty() {
                p.extend_from_slice(dir);
                p.push(b'/');
            }
            p.extend_from_slice(program);
            cstring(&p)
        })
        .collect()
}

const SIGSET_WORDS: usize = 1;
/// The kernel's sigset size (64 signals), as rt_sig* calls expect.
const SIGSET_BYTES: usize = 8;
/// The highest signal number.
const NSIG: i32 = 64;

fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// The kernel's `struct sigaction` (x86_64 and aarch64 layout): only
/// SIG_DFL is ever written, and only the handler is ever read.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// What `child_main` gets: the plan, where to report, the mask to restore.
struct Child<'a> {
    plan: &'a mut Plan,
    error: &'a AtomicI32,
    mask: [u64; SIGSET_WORDS],
}

/// The child's whole life: set up, exec, or report and exit.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `Child` the parent passed to clone; the parent
    // is suspended and keeps it alive until we exec or exit.
    let child = unsafe { &mut *arg.cast::<Child>() };
    let errno = child_exec(child.plan, &child.mask);
    child.error.store(errno.max(1), Ordering::Release);
    // SAFETY: leaves without running anything of rinit's (no atexit, no
    // flush of buffers that belong to the parent).
    unsafe { libc::_exit(127) }
}

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Runs in the child, on rinit's memory: raw syscalls on prepared data
/// only. Returns only on failure, with the errno to report.
fn child_exec(plan: &mut Plan, mask: &[u64; SIGSET_WORDS]) -> i32 {
    // SAFETY: each call is a plain syscall (or glibc's thin wrapper around
    // one) on fds, strings and arrays prepared before the clone and kept
    // alive by the suspended parent. Nothing allocates, locks, or touches
    // state another rinit thread uses.
    unsafe {
        for (target, &fd) in plan.stdio_fds.iter().enumerate() {
            if fd >= 0 && libc::dup2(fd, target as c_int) < 0 {
                return errno();
            }
        }
        if let Some(dir) = &plan.cwd
            && libc::chdir(dir.as_ptr()) < 0
        {
            return errno();
        }
        match plan.isolation {
            Isolation::Session => {
                if libc::setsid() < 0 {
                    return errno();
                }
            }
            Isolation::ProcessGroup { foreground } => {
                if libc::setpgid(0, 0) < 0 {
                    return errno();
                }
                // Done here, in the child, as tini does: if rinit runs
                // under another init doing the same, doing it in the parent
                // could race and leave the real child in the background.
                // SIGTTOU is still ignored at this point, so a background
                // caller is not stopped.
                if foreground && libc::tcsetpgrp(0, libc::getpgrp()) < 0 {
                    let e = errno();
                    // No TTY on stdin (ENOTTY), or no such device (ENXIO): fine.
                    if e != libc::ENOTTY && e != libc::ENXIO {
                        return e;
                    }
                }
            }
        }
        if let Some((uid, gid)) = plan.ids {
            // Supplementary groups first, then the gid, then the uid: once
            // the uid is dropped the other two can no longer be changed.
            // Raw syscalls: glibc's wrappers would make rinit's other
            // threads (which share this memory) change ids too.
            if libc::syscall(libc::SYS_setgroups, plan.groups.len(), plan.groups.as_ptr()) < 0
                || libc::syscall(libc::SYS_setgid, gid) < 0
                || libc::syscall(libc::SYS_setuid, uid) < 0
            {
                return errno();
            }
        }
        if let Some(mask) = plan.umask {
            libc::umask(mask as libc::mode_t);
        }
        // Every handler back to default (rinit's would run on rinit's
        // memory, and TTIN/TTOU/PIPE must not stay ignored); ignored
        // signals stay ignored, as across any exec.
        let dfl = KernelSigaction {
            handler: libc::SIG_DFL,
            flags: 0,
            restorer: 0,
            mask: 0,
        };
        for sig in 1..=NSIG {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            if plan.reset & bit(sig) == 0 {
                let mut old = MaybeUninit::<KernelSigaction>::zeroed();
                if libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    std::ptr::null::<KernelSigaction>(),
                    old.as_mut_ptr(),
                    SIGSET_BYTES,
                ) < 0
                {
                    continue;
                }
                let handler = old.assume_init().handler;
                if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
                    continue;
                }
            }
            if libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &raw const dfl,
                std::ptr::null_mut::<KernelSigaction>(),
                SIGSET_BYTES,
            ) < 0
            {
                return errno();
            }
        }
        if libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            mask.as_ptr(),
            std::ptr::null_mut::<u64>(),
            SIGSET_BYTES,
        ) < 0
        {
            return errno();
        }
        // execvp's rules (glibc posix/execvpe.c).
        let envp = plan.envp_ptrs.as_ptr();
        let mut eacces = false;
        let mut last = libc::ENOENT;
        for path in &plan.candidates {
            libc::execve(path.as_ptr(), plan.argv_ptrs.as_ptr(), envp);
            last = errno();
            if last == libc::ENOEXEC {
                plan.sh_argv[1] = path.as_ptr();
                libc::execve(SHELL.as_ptr(), plan.sh_argv.as_ptr(), envp);
                last = errno();
            }
            match last {
                libc::EACCES => eacces = true,
                libc::ENOENT
                | libc::ESTALE
                | libc::ENOTDIR
                | libc::ENODEV
                | libc::EHOSTDOWN
                | libc::ETIMEDOUT => {}
                _ => return last,
            }
        }
        if eacces { libc::EACCES } else { last }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    #[test]
    fn path_candidates_follow_execvp() {
        assert_eq!(
            candidates(b"ls", Some(b"/a:/b/")).unwrap(),
            vec![c("/a/ls"), c("/b//ls")]
        );
        // An empty entry is the current directory.
        assert_eq!(
            candidates(b"ls", Some(b":/a")).unwrap(),
            vec![c("ls"), c("/a/ls")]
        );
        assert_eq!(
            candidates(b"ls", None).unwrap(),
            vec![c("/bin/ls"), c("/usr/bin/ls")]
        );
        assert_eq!(candidates(b"./x", Some(b"/a")).unwrap(), vec![c("./x")]);
    }
}
