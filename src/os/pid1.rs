//! Being an init: PID 1 or a child subreaper, and the parent-death signal.

use std::io;

/// `prctl(PR_SET_PDEATHSIG)`: get `signal` when our parent dies (tini's -p).
pub fn set_parent_death_signal(signal: i32) -> io::Result<()> {
    // SAFETY: plain prctl with integer arguments.
    check(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) })
}

/// Become the parent of orphaned descendants (tini's -s).
pub fn register_subreaper() -> io::Result<()> {
    // SAFETY: plain prctl with integer arguments.
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) })
}

/// Whether orphans will be re-parented to us, so reaping them works.
pub fn reaps_orphans() -> bool {
    if std::process::id() == 1 {
        return true;
    }
    let mut bit: libc::c_int = 0;
    // SAFETY: PR_GET_CHILD_SUBREAPER writes one int through the pointer.
    let rc = unsafe {
        libc::prctl(
            libc::PR_GET_CHILD_SUBREAPER,
            &mut bit as *mut libc::c_int,
            0,
            0,
            0,
        )
    };
    rc == 0 && bit != 0
}

/// tini's warning, in rinit's words.
pub const REAPER_WARNING: &str = "rinit is not running as PID 1 and isn't registered as a child subreaper.
Zombie processes will not be re-parented to rinit, so zombie reaping won't work.
To fix the problem, use the -s option or set the environment variable TINI_SUBREAPER to register rinit as a child subreaper, or run rinit as PID 1.";

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
