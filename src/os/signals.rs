//! Which signals rinit takes in, and how.
//!
//! A PID 1 silently drops every signal it neither handles nor blocks, so we
//! install a handler for every catchable signal, real-time ones included.
//! Left alone, as tini leaves them: the synchronous faults (a bug in rinit
//! should crash it, not be forwarded) and SIGKILL/SIGSTOP. SIGTTIN/SIGTTOU
//! are *ignored*, as tini does: after the child takes the terminal's
//! foreground, a write by rinit to the TTY must not stop rinit (with a
//! handler instead, the kernel would re-raise on every retried write).
//! Children get both back to default in `spawn::child::child_exec`.
//!
//! The handler is the self-pipe trick (skalibs' selfpipe, signal-hook's
//! pipe): it sets the signal's bit in one atomic word and writes a byte to
//! a non-blocking pipe whose read end the mio loop watches. The loop
//! empties the pipe first and then takes the word, the order that cannot
//! lose a signal (signal-hook's `low_level::pipe` notes). Like signal-hook,
//! several deliveries of one signal before the loop looks are one. This is
//! one `sigaction` per signal; signal-hook's registry, which copies its
//! whole table on every registration, took about 0.1 ms for rinit's ~60
//! signals, a tenth of rinit's start-up.

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use std::io;
use std::os::fd::RawFd;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Bit `n - 1` set for each signal `n` rinit has installed a handler for.
static HANDLERS: AtomicU64 = AtomicU64::new(0);
/// Bit `n - 1` set for each signal `n` caught since the loop last looked.
static PENDING: AtomicU64 = AtomicU64::new(0);
/// The self-pipe: (read end, write end), both non-blocking and CLOEXEC.
/// Created once and never closed, so the handler can never write to an fd
/// number that has been reused.
static PIPE: OnceLock<(RawFd, RawFd)> = OnceLock::new();

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

fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// Install the handlers; the returned `Signals` is a mio `Source` whose
/// readiness means "look at `pending`". One per process.
pub fn take_in() -> io::Result<Signals> {
    ignore_tty_signals()?;
    let pipe = match PIPE.get() {
        Some(&p) => p,
        None => {
            let mut fds = [0; 2];
            // SAFETY: pipe2 writes two fds into the array.
            if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } < 0 {
                return Err(io::Error::last_os_error());
            }
            *PIPE.get_or_init(|| (fds[0], fds[1]))
        }
    };
    for sig in handled() {
        // SAFETY: a zeroed sigaction is valid; `on_signal` is
        // async-signal-safe (atomics and write(2) only).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        HANDLERS.fetch_or(bit(sig), Ordering::Relaxed);
    }
    Ok(Signals { read_end: pipe.0 })
}

/// Runs as the signal handler: note the signal, wake the loop.
extern "C" fn on_signal(sig: libc::c_int) {
    // SAFETY: errno is thread-local and restored before returning, so the
    // interrupted code never sees the write's errno; write(2) is
    // async-signal-safe and the pipe is never closed.
    unsafe {
        let errno = *libc::__errno_location();
        PENDING.fetch_or(bit(sig), Ordering::SeqCst);
        if let Some(&(_, write_end)) = PIPE.get() {
            // A full pipe (EAGAIN) already guarantees a wake-up.
            libc::write(write_end, [0u8].as_ptr().cast(), 1);
        }
        *libc::__errno_location() = errno;
    }
}

/// The loop's side of the self-pipe.
pub struct Signals {
    read_end: RawFd,
}

impl Signals {
    /// The signals caught since the last call, in numeric order, each once.
    pub fn pending(&mut self) -> impl Iterator<Item = i32> + use<> {
        let mut buf = [0u8; 64];
        loop {
            // SAFETY: reads into a local buffer from our own pipe.
            let n = unsafe { libc::read(self.read_end, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                break; // EAGAIN: empty
            }
        }
        let set = PENDING.swap(0, Ordering::SeqCst);
        (1..=64).filter(move |&sig| set & bit(sig) != 0)
    }
}

impl Source for Signals {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.read_end).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.read_end).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.read_end).deregister(registry)
    }
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

    #[test]
    fn caught_signals_wake_the_loop_once_each_in_order() {
        let mut poll = mio::Poll::new().unwrap();
        let mut events = mio::Events::with_capacity(4);
        let mut signals = take_in().unwrap();
        poll.registry()
            .register(&mut signals, Token(0), Interest::READABLE)
            .unwrap();
        assert_ne!(handler_mask() & bit(libc::SIGUSR2), 0);
        // SAFETY: raise on a signal whose handler is installed above.
        unsafe {
            libc::raise(libc::SIGWINCH);
            libc::raise(libc::SIGUSR2);
            libc::raise(libc::SIGUSR2);
        }
        poll.poll(&mut events, Some(std::time::Duration::from_secs(5)))
            .unwrap();
        assert!(events.iter().any(|e| e.token() == Token(0)));
        let got: Vec<i32> = signals.pending().collect();
        assert_eq!(got, [libc::SIGUSR2, libc::SIGWINCH]);
        assert_eq!(signals.pending().count(), 0, "taken once");
    }
}
