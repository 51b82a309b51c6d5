//! The clone and the child's side of it: everything prepared in a `Plan`
//! before the clone, then `child_main` on rinit's memory (raw syscalls on
//! that plan only) until the exec.
//!
//! A batch of programs is cloned one after the other without waiting for
//! each exec (`CLONE_VM` without `CLONE_VFORK`, where `raw` has the
//! syscalls for it): their execs run side by side, on both cores of a
//! small machine, instead of one after the other. The parent then waits
//! for all of them at once on a CLOEXEC pipe: end-of-file once every child
//! has exec'd or exited, and an `(index, errno)` record from each child
//! that failed. So `spawn` still answers synchronously, per program.

use super::raw::{self, CONCURRENT};
use super::{ChildSetup, Command, Isolation, Stdio};
use std::collections::BTreeMap;
use std::ffi::{CStr, CString, OsStr, OsString, c_int, c_void};
use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;

/// The shell glibc's `execvp` hands a file without a magic number.
const SHELL: &CStr = c"/bin/sh";
/// PATH when the environment has none (glibc's `_CS_PATH`).
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";
/// Each child's stack. It needs little (a few frames of plain syscalls);
/// a guard page below it turns an overflow into the child's SIGSEGV.
const CHILD_STACK: usize = 32 * 1024;
const PAGE: usize = 4096;

/// Everything the child reads, owned by the parent until the clone returns.
pub(super) struct Plan {
    /// Kept for their pointers (`_envp`: the variables set on the command;
    /// the others point into rinit's own `environ`).
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
    /// Keeps the given fds open until the clone.
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
        let envp: Vec<CString> = env
            .iter()
            .map(|(k, v)| {
                let mut kv = Vec::with_capacity(k.len() + v.len() + 1);
                kv.extend_from_slice(k.as_bytes());
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                cstring(&kv)
            })
            .collect::<io::Result<_>>()?;
        let envp_ptrs = environment(&env, &envp);
        let path = match env.get(OsStr::new("PATH")) {
            Some(p) => Some(p.clone()),
            None => std::env::var_os("PATH"),
        };
        let candidates = candidates(program.as_bytes(), path.as_ref().map(|p| p.as_bytes()))?;
        let cwd = cwd
            .map(|d| cstring(d.into_os_string().as_bytes()))
            .transpose()?;

        let mut owned = Vec::new();
        let mut stdio_fds = [-1; 3];
        for (i, io) in stdio.into_iter().enumerate() {
            let fd = match io {
                Stdio::Inherit => continue,
                Stdio::Null => {
                    stdio_fds[i] = dev_null(i != 0)?;
                    continue;
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
}

/// Start every plan (an `Err` stays as it is); answers in the same order.
pub(super) fn run_all(plans: Vec<io::Result<Plan>>) -> Vec<io::Result<i32>> {
    let mut plans = plans;
    let count = plans.iter().filter(|p| p.is_ok()).count();
    let mut results: Vec<io::Result<i32>> = Vec::with_capacity(plans.len());
    if count == 0 {
        return plans.into_iter().map(|p| p.map(|_| 0)).collect();
    }
    let setup = Pipe::new().and_then(|pipe| Ok((pipe, Stacks::new(count)?)));
    let (pipe, stacks) = match setup {
        Ok(s) => s,
        Err(e) => return fail_all(plans, &e),
    };
    // Every child's view, complete before the first clone: the children
    // keep pointers into this vector.
    let mut mask = [0u64; SIGSET_WORDS];
    let mut children: Vec<(usize, Child)> = plans
        .iter_mut()
        .enumerate()
        .filter_map(|(i, p)| p.as_mut().ok().map(|plan| (i, plan)))
        .map(|(i, plan)| {
            let child = Child {
                plan: plan as *mut Plan,
                index: i as u32,
                report: pipe.write.as_raw_fd(),
                mask: [0; SIGSET_WORDS],
            };
            (i, child)
        })
        .collect();
    // SAFETY: rt_sigprocmask with a full set and an out-pointer of the
    // kernel's sigset size: everything (glibc's internal signals included)
    // stays blocked in this thread until restored below, so each child
    // starts with all signals blocked until it has reset their handlers.
    let blocked = unsafe {
        let all = [!0u64; SIGSET_WORDS];
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            all.as_ptr(),
            mask.as_mut_ptr(),
            SIGSET_BYTES,
        )
    };
    if blocked < 0 {
        return fail_all(plans, &io::Error::last_os_error());
    }
    let flags = libc::CLONE_VM | libc::SIGCHLD | if CONCURRENT { 0 } else { libc::CLONE_VFORK };
    // A pid per plan; those whose plan failed are never looked at.
    let mut pids: Vec<io::Result<i32>> = (0..plans.len()).map(|_| Ok(0)).collect();
    for (k, (i, child)) in children.iter_mut().enumerate() {
        child.mask = mask;
        // SAFETY: `child_main` reads `child` and its plan, both alive and
        // unchanged until every child has exec'd or exited (the pipe's
        // end-of-file below); it runs on its own stack, which nothing
        // else uses, and makes raw syscalls only (no errno, no TLS).
        let pid = unsafe {
            libc::clone(
                child_main,
                stacks.top(k),
                flags,
                (child as *mut Child).cast::<c_void>(),
            )
        };
        pids[*i] = if pid < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(pid)
        };
    }
    // SAFETY: restores the mask saved above.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            mask.as_ptr(),
            std::ptr::null_mut::<u64>(),
            SIGSET_BYTES,
        );
    }
    let failures = pipe.wait();
    drop(stacks);
    for (i, plan) in plans.into_iter().enumerate() {
        let pid = std::mem::replace(&mut pids[i], Ok(0));
        let result = plan
            .and(pid)
            .and_then(|pid| match failures.get(&(i as u32)) {
                Some(&errno) => {
                    reap(pid);
                    Err(io::Error::from_raw_os_error(errno))
                }
                None => Ok(pid),
            });
        results.push(result);
    }
    results
}

/// Every plan fails with `e` (or its own error).
fn fail_all(plans: Vec<io::Result<Plan>>, e: &io::Error) -> Vec<io::Result<i32>> {
    let errno = e.raw_os_error().unwrap_or(libc::EIO);
    plans
        .into_iter()
        .map(|p| p.and(Err(io::Error::from_raw_os_error(errno))))
        .collect()
}

/// A child that failed before its exec has exited: reap it now, as std
/// does, so the reaper never sees a program that never ran.
fn reap(pid: i32) {
    loop {
        // SAFETY: plain syscall on our own child.
        let r = unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        if r >= 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

/// The children's report pipe (both ends CLOEXEC: every child's copy of
/// the write end closes at its exec or exit).
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl Pipe {
    fn new() -> io::Result<Pipe> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two fds into the array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both fds are new and ours.
        unsafe {
            Ok(Pipe {
                read: OwnedFd::from_raw_fd(fds[0]),
                write: OwnedFd::from_raw_fd(fds[1]),
            })
        }
    }

    /// Close our write end, then read to end-of-file (every child has
    /// exec'd or exited): the errno of each child that failed, by index.
    fn wait(self) -> BTreeMap<u32, i32> {
        drop(self.write);
        let mut bytes = Vec::new();
        // read_to_end retries EINTR; any other error ends the wait like
        // end-of-file would (with what was read so far).
        let _ = std::fs::File::from(self.read).read_to_end(&mut bytes);
        bytes
            .chunks_exact(8)
            .map(|r| {
                let index = u32::from_ne_bytes([r[0], r[1], r[2], r[3]]);
                let errno = i32::from_ne_bytes([r[4], r[5], r[6], r[7]]);
                (index, errno)
            })
            .collect()
    }
}

/// One mapping holding each child's stack above a guard page.
struct Stacks {
    base: *mut c_void,
    len: usize,
}

impl Stacks {
    fn new(count: usize) -> io::Result<Stacks> {
        let len = count * (PAGE + CHILD_STACK);
        // SAFETY: a fresh anonymous private mapping; the guard pages are
        // within it.
        unsafe {
            let base = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            );
            if base == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            let stacks = Stacks { base, len };
            for k in 0..count {
                let guard = base.cast::<u8>().add(k * (PAGE + CHILD_STACK));
                if libc::mprotect(guard.cast(), PAGE, libc::PROT_NONE) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(stacks)
        }
    }

    /// The top of stack `k` (stacks grow down), 16-byte aligned.
    fn top(&self, k: usize) -> *mut c_void {
        let end = self.base as usize + (k + 1) * (PAGE + CHILD_STACK);
        (end & !15) as *mut c_void
    }
}

impl Drop for Stacks {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`, once no child
        // runs on it any more.
        unsafe { libc::munmap(self.base, self.len) };
    }
}

unsafe extern "C" {
    /// rinit's own environment, as the C library keeps it.
    static environ: *const *const libc::c_char;
}

/// The child's envp: rinit's environment as it is (the same pointers, in
/// its order, as execvp would pass it), less the variables `set` on the
/// command, which come last, from `set_entries` ("KEY=VALUE" each).
/// rinit never changes its own environment, so `environ` stays valid.
fn environment(
    set: &BTreeMap<OsString, OsString>,
    set_entries: &[CString],
) -> Vec<*const libc::c_char> {
    let mut ptrs = Vec::with_capacity(64 + set_entries.len());
    // SAFETY: `environ` is the NULL-terminated array of NUL-terminated
    // strings the C library maintains; nothing in rinit modifies it.
    unsafe {
        let mut p = environ;
        while !p.is_null() && !(*p).is_null() {
            let entry = CStr::from_ptr(*p).to_bytes();
            // The key ends at the first '=' after the first byte (as std
            // reads it); an entry without one is passed on as it is.
            let key = match entry.iter().skip(1).position(|&b| b == b'=') {
                Some(i) => &entry[..i + 1],
                None => entry,
            };
            if !set.contains_key(OsStr::from_bytes(key)) {
                ptrs.push(*p);
            }
            p = p.add(1);
        }
    }
    ptrs.extend(set_entries.iter().map(|c| c.as_ptr()));
    ptrs.push(std::ptr::null());
    ptrs
}

/// /dev/null, opened once for reading (stdin) and once for writing, and
/// shared by every child that asks for it (as its stdin, stdout or stderr).
fn dev_null(write: bool) -> io::Result<RawFd> {
    static READ: OnceLock<OwnedFd> = OnceLock::new();
    static WRITE: OnceLock<OwnedFd> = OnceLock::new();
    let cell = if write { &WRITE } else { &READ };
    if let Some(fd) = cell.get() {
        return Ok(fd.as_raw_fd());
    }
    let file = std::fs::OpenOptions::new()
        .read(!write)
        .write(write)
        .open("/dev/null")?;
    // Above 2, so that no dup2 onto 0..=2 can overwrite it.
    let fd = OwnedFd::from(file);
    let fd = if fd.as_raw_fd() <= 2 {
        fd.try_clone()?
    } else {
        fd
    };
    Ok(cell.get_or_init(|| fd).as_raw_fd())
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

/// What `child_main` gets: its plan, its index in the batch, where to
/// report a failure, the signal mask to restore before the exec.
struct Child {
    plan: *mut Plan,
    index: u32,
    report: RawFd,
    mask: [u64; SIGSET_WORDS],
}

/// The child's whole life: set up, exec, or report and exit.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `Child` the parent passed to clone, and its plan
    // is the parent's, both kept alive and unchanged until we exec or exit;
    // only this child writes to its plan (`sh_argv`).
    let (child, plan) = unsafe {
        let child = &*arg.cast::<Child>();
        (child, &mut *child.plan)
    };
    let errno = child_exec(plan, &child.mask);
    let mut record = [0u8; 8];
    record[..4].copy_from_slice(&child.index.to_ne_bytes());
    record[4..].copy_from_slice(&errno.max(1).to_ne_bytes());
    // SAFETY: writes the 8 bytes above to the report pipe (one write of
    // less than PIPE_BUF: never interleaved with another child's).
    let _ = unsafe {
        sys(
            libc::SYS_write,
            &[child.report as usize, record.as_ptr() as usize, 8],
        )
    };
    raw::exit_group(127)
}

/// A raw syscall with up to six arguments.
///
/// # Safety
/// As [`raw::syscall`].
unsafe fn sys(n: std::ffi::c_long, args: &[usize]) -> Result<usize, i32> {
    let mut a = [0usize; 6];
    a[..args.len()].copy_from_slice(args);
    // SAFETY: the caller's.
    unsafe { raw::syscall(n, a) }
}

/// Runs in the child, on rinit's memory: raw syscalls on prepared data
/// only. Returns only on failure, with the errno to report.
fn child_exec(plan: &mut Plan, mask: &[u64; SIGSET_WORDS]) -> i32 {
    // SAFETY: each call is a raw syscall on fds, strings and arrays prepared
    // before the clone and kept alive by the parent. Nothing allocates,
    // locks, or touches memory another rinit thread uses (not even errno).
    unsafe { child_steps(plan, mask) }
        .err()
        .unwrap_or(libc::EIO)
}

/// `child_exec`'s steps; `Err(errno)` from the first that fails.
///
/// # Safety
/// Only in a child made by `run_all`, on its plan.
unsafe fn child_steps(plan: &mut Plan, mask: &[u64; SIGSET_WORDS]) -> Result<(), i32> {
    // SAFETY: for every `sys` below, the arguments are fds, ids, and
    // pointers to strings, arrays and structs that outlive the call.
    unsafe {
        for (target, &fd) in plan.stdio_fds.iter().enumerate() {
            if fd >= 0 {
                // fd > 2 >= target, so dup3 (aarch64 has no dup2) cannot
                // meet its EINVAL for equal fds.
                sys(libc::SYS_dup3, &[fd as usize, target, 0])?;
            }
        }
        if let Some(dir) = &plan.cwd {
            sys(libc::SYS_chdir, &[dir.as_ptr() as usize])?;
        }
        match plan.isolation {
            Isolation::Session => {
                sys(libc::SYS_setsid, &[])?;
            }
            Isolation::ProcessGroup { foreground } => {
                sys(libc::SYS_setpgid, &[0, 0])?;
                // Done here, in the child, as tini does: if rinit runs
                // under another init doing the same, doing it in the parent
                // could race and leave the real child in the background.
                // SIGTTOU is still ignored at this point, so a background
                // caller is not stopped. (tcsetpgrp(0, getpgrp()).)
                if foreground {
                    let pgrp = sys(libc::SYS_getpgid, &[0])? as libc::pid_t;
                    let set = sys(
                        libc::SYS_ioctl,
                        &[0, libc::TIOCSPGRP as usize, &raw const pgrp as usize],
                    );
                    // No TTY on stdin (ENOTTY), or no such device (ENXIO): fine.
                    match set {
                        Err(libc::ENOTTY) | Err(libc::ENXIO) | Ok(_) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        if let Some((uid, gid)) = plan.ids {
            // Supplementary groups first, then the gid, then the uid: once
            // the uid is dropped the other two can no longer be changed.
            // Raw syscalls: glibc's wrappers would make rinit's other
            // threads (which share this memory) change ids too.
            sys(
                libc::SYS_setgroups,
                &[plan.groups.len(), plan.groups.as_ptr() as usize],
            )?;
            sys(libc::SYS_setgid, &[gid as usize])?;
            sys(libc::SYS_setuid, &[uid as usize])?;
        }
        if let Some(mask) = plan.umask {
            sys(libc::SYS_umask, &[mask as usize])?;
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
                let asked = sys(
                    libc::SYS_rt_sigaction,
                    &[sig as usize, 0, old.as_mut_ptr() as usize, SIGSET_BYTES],
                );
                if asked.is_err() {
                    continue;
                }
                let handler = old.assume_init().handler;
                if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
                    continue;
                }
            }
            sys(
                libc::SYS_rt_sigaction,
                &[sig as usize, &raw const dfl as usize, 0, SIGSET_BYTES],
            )?;
        }
        sys(
            libc::SYS_rt_sigprocmask,
            &[
                libc::SIG_SETMASK as usize,
                mask.as_ptr() as usize,
                0,
                SIGSET_BYTES,
            ],
        )?;
        // execvp's rules (glibc posix/execvpe.c).
        let argv = plan.argv_ptrs.as_ptr() as usize;
        let envp = plan.envp_ptrs.as_ptr() as usize;
        let mut eacces = false;
        let mut last = libc::ENOENT;
        for path in &plan.candidates {
            let path = path.as_ptr();
            last = sys(libc::SYS_execve, &[path as usize, argv, envp])
                .err()
                .unwrap_or(0);
            if last == libc::ENOEXEC
                && let Some(slot) = plan.sh_argv.get_mut(1)
            {
                *slot = path;
                let sh_argv = plan.sh_argv.as_ptr() as usize;
                last = sys(libc::SYS_execve, &[SHELL.as_ptr() as usize, sh_argv, envp])
                    .err()
                    .unwrap_or(0);
            }
            match last {
                libc::EACCES => eacces = true,
                libc::ENOENT
                | libc::ESTALE
                | libc::ENOTDIR
                | libc::ENODEV
                | libc::EHOSTDOWN
                | libc::ETIMEDOUT => {}
                _ => return Err(last),
            }
        }
        Err(if eacces { libc::EACCES } else { last })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    #[test]
    fn the_environment_is_rinits_with_what_is_set_on_top() {
        let mut set = BTreeMap::new();
        set.insert(OsString::from("PATH"), OsString::from("/x"));
        set.insert(OsString::from("RINIT_TEST_NEW"), OsString::from("1"));
        let entries = vec![c("PATH=/x"), c("RINIT_TEST_NEW=1")];
        let ptrs = environment(&set, &entries);
        assert!(ptrs.last().unwrap().is_null());
        let got: Vec<String> = ptrs[..ptrs.len() - 1]
            .iter()
            // SAFETY: pointers into environ or `entries`, all alive.
            .map(|&p| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
            .collect();
        let paths: Vec<&String> = got.iter().filter(|e| e.starts_with("PATH=")).collect();
        assert_eq!(paths, ["PATH=/x"]);
        assert!(got.contains(&"RINIT_TEST_NEW=1".to_string()));
        let kept = std::env::vars_os()
            .filter(|(k, _)| !set.contains_key(k))
            .count();
        assert_eq!(got.len(), kept + 2, "{got:?}");
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
