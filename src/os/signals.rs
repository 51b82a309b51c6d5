//! Which signals rinit takes in, and how.
//!
//! A PID 1 silently drops every signal it neither handles nor blocks, so we
//! install a handler (signal-hook's self-pipe, read in the mio loop) for every
//! catchable signal, real-time ones included. Left alone, as tini leaves them:
//! the synchronous faults (a bug in rinit should crash it, not be forwarded)
//! and SIGKILL/SIGSTOP. SIGTTIN/SIGTTOU are *ignored*, as tini does: after the
//! child takes the terminal's foreground, a write by rinit to the TTY must not
//! stop rinit (with a handler instead, the kernel would re-raise on every
//! retried write). Children get both back to default in `spawn::child_exec`.

use signal_hook_mio::v1_0::Signals;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Bit `n - 1` set for each signal `n` rinit has installed a handler for.
static HANDLERS: AtomicU64 = AtomicU64::new(0);

/// The synchronous faults: raised by the faulting code itself, so they
/// belong to rinit (a bug in rinit should crash it, not be forwarded), and
/// no signal route may claim them (SPEC §2).
pub const SYNCHRONOUS: [i32; 7] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
];

/// SIGPIPEs rinit raised itself: a direct write of its own fd 1/2 hit
/// EPIPE (see `logmux::sink`). Each one is swallowed by the signal intake
/// instead of being forwarded to the programs as if sent to PID 1. (An
/// outside SIGPIPE arriving in the same loop turn is merged with it by the
/// kernel either way: a pending signal is a bit, not a count.)
static OWN_SIGPIPES: AtomicUsize = AtomicUsize::new(0);

/// The calling thread just got EPIPE from a write: its SIGPIPE is rinit's own.
pub fn expect_own_sigpipe() {
    OWN_SIGPIPES.fetch_add(1, Ordering::Relaxed);
}

/// Whether a SIGPIPE just taken in was rinit's own (and forget it if so).
pub fn take_own_sigpipe() -> bool {
    OWN_SIGPIPES
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
}

/// Never taken in: the synchronous faults, the uncatchable, and the TTY
/// stop signals rinit ignores.
fn left_alone(sig: i32) -> bool {
    SYNCHRONOUS.contains(&sig)
        || [libc::SIGKILL, libc::SIGSTOP, libc::SIGTTIN, libc::SIGTTOU].contains(&sig)
}

/// Every signal number rinit installs a handler for.
pub fn handled() -> Vec<i32> {
    let classic = (1..32).filter(|&s| !left_alone(s));
    classic.chain(libc::SIGRTMIN()..=libc::SIGRTMAX()).collect()
}

/// Install the handlers; the returned `Signals` is a mio `Source`.
pub fn take_in() -> io::Result<Signals> {
    ignore_tty_signals()?;
    let signals = Signals::new(handled())?;
    let mask = handled().iter().fold(0, |m, &s| m | 1u64 << (s - 1));
    HANDLERS.fetch_or(mask, Ordering::Relaxed);
    Ok(signals)
}

/// The signals rinit has installed a handler for (bit `n - 1` for signal
/// `n`): a child spawned on rinit's memory resets them without asking.
pub fn handler_mask() -> u64 {
    HANDLERS.load(Ordering::Relaxed)
}

fn ignore_tty_signals() -> io::Result<()> {
    for sig in [libc::SIGTTIN, libc::SIGTTOU] {
        // SAFETY: SIG_IGN installs no handler code; `signal` is only racy
        // with other threads changing the same disposition, and there are none.
        if unsafe { libc::signal(sig, libc::SIG_IGN) } == libc::SIG_ERR {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_and_chld_rules() {
        let h = handled();
        assert!(h.contains(&libc::SIGCHLD), "SIGCHLD drives reaping");
        for s in [
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGHUP,
            libc::SIGWINCH,
            libc::SIGCONT,
            libc::SIGPIPE,
        ] {
            assert!(h.contains(&s), "{s}");
        }
        for s in SYNCHRONOUS
            .into_iter()
            .chain([libc::SIGKILL, libc::SIGSTOP, libc::SIGTTIN])
        {
            assert!(!h.contains(&s), "{s}");
        }
        assert!(h.contains(&libc::SIGRTMAX()));
    }
}
