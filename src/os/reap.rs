//! Reaping: `waitpid(-1, WNOHANG)` until nothing is ready. Every zombie in
//! the container ends up here, whoever its parent was.

use crate::core::ProcessEnd;
use std::io;

#[derive(Debug, PartialEq, Eq)]
pub enum Reaped {
    Child {
        pid: i32,
        end: ProcessEnd,
    },
    /// Children exist but none has ended.
    NothingReady,
    /// ECHILD: no child left at all.
    NoChildren,
}

/// Reap one child if one has ended.
pub fn reap_one() -> io::Result<Reaped> {
    let mut status = 0;
    loop {
        // SAFETY: plain syscall with a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            // Raw libc rather than nix: nix's WaitStatus cannot represent a
            // death by a real-time signal.
            let end = if libc::WIFEXITED(status) {
                ProcessEnd::Exited(libc::WEXITSTATUS(status) as u8)
            } else if libc::WIFSIGNALED(status) {
                ProcessEnd::Signaled(libc::WTERMSIG(status))
            } else {
                continue; // stopped/continued: not reported without WUNTRACED
            };
            return Ok(Reaped::Child { pid, end });
        }
        if pid == 0 {
            return Ok(Reaped::NothingReady);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ECHILD) => return Ok(Reaped::NoChildren),
            Some(libc::EINTR) => continue,
            _ => return Err(err),
        }
    }
}
