//! The bounded, non-blocking path from the event loop to one of rinit's
//! output fds (fd 1 or fd 2).
//!
//! Why a thread: PID 1 must never block on a slow `docker logs` reader, and
//! must never set O_NONBLOCK on its fd 1/2, because O_NONBLOCK lives on the
//! open file description shared with every `stdout = "inherit"` program
//! (they would start getting EAGAIN). So one writer thread per output fd
//! does plain blocking `write(2)`s, and the loop only ever touches a bounded
//! in-memory queue:
//!
//! - [`Sink::try_push`] queues one whole formatted line or refuses it with
//!   [`Full`]; it never blocks (the lock is held for a `memcpy` by either
//!   side, never across a syscall).
//! - When a refused push is followed by the writer draining the queue to
//!   half its capacity, the sink calls `Waker::wake` once, so the loop can
//!   move its overflow in and start reading pipes again.
//! - The writer writes whole lines per `write(2)` where possible, in chunks
//!   of at most `PIPE_BUF` bytes cut at a line end: a pipe write of at most
//!   `PIPE_BUF` bytes is atomic (pipe(7)), so lines never interleave with
//!   those of `inherit` programs writing to the same pipe.
//! - EPIPE/EBADF (nobody reads our output any more): from then on lines are
//!   accepted and discarded, so supervision goes on; the error is reported
//!   once through [`Sink::take_error`]. Other write errors (ENOSPC, EIO)
//!   drop the chunk at hand, are reported once, and writing goes on.
//! - The writer thread blocks SIGPIPE: an EPIPE from rinit's own output must
//!   not reach the event loop as a signal, which would forward it to every
//!   program (killing them) as if someone had sent it to PID 1.
//! - The destination is a [`Target`]: an fd as is ([`Sink::new`]), or a file
//!   that can be reopened and rotated (`logmux::file`); [`Sink::reopen`] asks
//!   the writer to reopen between two writes (SIGUSR1, logrotate style).

use std::os::fd::AsFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Instant;

use mio::Waker;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// Bytes a sink holds (queued + being written) before it refuses lines:
/// per output stream, so at most 2 MiB of log lines live in PID 1.
pub const SINK_CAPACITY: usize = 1 << 20;

/// Largest `write(2)` the writer makes when the buffer has a line end to
/// cut at (pipe(7): writes up to `PIPE_BUF` are atomic).
pub const WRITE_CHUNK: usize = libc::PIPE_BUF;

/// Where a writer thread puts its bytes. Runs on the writer thread only.
pub trait Target: Send + 'static {
    /// Blocking write of all of `buf`. An error other than EPIPE/EBADF is
    /// reported and writing goes on with the next chunk.
    fn write_all(&mut self, buf: &[u8]) -> Result<(), Errno>;
    /// Reopen the destination by name (only files have one).
    fn reopen(&mut self) -> Result<(), Errno> {
        Ok(())
    }
}

/// An fd written as is (rinit's fd 1 / fd 2, or a pipe in tests).
struct FdTarget<F>(F);

impl<F: AsFd + Send + 'static> Target for FdTarget<F> {
    fn write_all(&mut self, buf: &[u8]) -> Result<(), Errno> {
        write_all(&self.0, buf)
    }
}

/// The sink refused a line: it is full. Keep the line and retry after the
/// waker fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

#[derive(Debug, Default)]
struct State {
    /// Whole formatted lines not yet taken by the writer.
    queue: Vec<u8>,
    /// Bytes the writer took and has not written yet.
    in_flight: usize,
    /// The `Sink` was dropped: finish what is queued, then exit.
    closing: bool,
    /// `reopen` was asked for and the writer has not done it yet.
    reopen: bool,
    /// A push was refused since the last wake.
    want_wake: bool,
    /// EPIPE/EBADF seen: discard everything from now on.
    broken: bool,
    /// The first write error, until `take_error` hands it out.
    error: Option<Errno>,
    error_seen: bool,
}

impl State {
    fn used(&self) -> usize {
        self.queue.len() + self.in_flight
    }
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when the queue gets data or the sink closes (writer waits).
    work: Condvar,
    /// Signalled when bytes leave (flush waits).
    progress: Condvar,
    waker: Option<Arc<Waker>>,
    capacity: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means the other side panicked while holding it.
        // The state is plain bytes and counters, each updated in one step,
        // so it is still consistent; carrying on keeps PID 1's output
        // alive instead of turning one panic into a dead container.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `n` bytes of the current batch are gone (written or discarded).
    fn release(&self, st: &mut State, n: usize) {
        st.in_flight = st.in_flight.saturating_sub(n);
        if st.want_wake && st.used() <= self.capacity / 2 {
            st.want_wake = false;
            self.wake();
        }
        self.progress.notify_all();
    }

    /// Keep the first error for `take_error`, and wake the loop so it
    /// reports it now rather than at some later tick.
    fn record_error(&self, st: &mut State, e: Errno) {
        if !st.error_seen {
            st.error_seen = true;
            st.error = Some(e);
            self.wake();
        }
    }

    fn wake(&self) {
        if let Some(w) = &self.waker {
            // Nothing useful to do if the loop's wake pipe fails; the loop
            // still pumps on every tick.
            let _ = w.wake();
        }
    }
}

/// One output fd with its writer thread.
pub struct Sink {
    shared: Arc<Shared>,
}

impl Sink {
    /// Start the writer thread for `fd`. Production passes
    /// `std::io::stdout()` / `std::io::stderr()` (only their fd is used,
    /// never std's buffer); tests pass a pipe. `waker` is the loop's log
    /// token; one `Waker` may be shared by both sinks.
    pub fn new<F: AsFd + Send + 'static>(
        fd: F,
        capacity: usize,
        waker: Option<Arc<Waker>>,
        name: &str,
    ) -> std::io::Result<Sink> {
        Sink::with_target(FdTarget(fd), capacity, waker, name)
    }

    /// Start the writer thread for any [`Target`] (a rotated file).
    pub fn with_target<T: Target>(
        target: T,
        capacity: usize,
        waker: Option<Arc<Waker>>,
        name: &str,
    ) -> std::io::Result<Sink> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            progress: Condvar::new(),
            waker,
            capacity,
        });
        let for_thread = Arc::clone(&shared);
        thread::Builder::new()
            .name(format!("rinit-{name}"))
            .spawn(move || writer(&for_thread, target))?;
        Ok(Sink { shared })
    }

    /// Queue one whole line (or several, already formatted). All or nothing.
    /// A line larger than the capacity is accepted when the sink is empty,
    /// so it can never be stuck forever.
    pub fn try_push(&self, line: &[u8]) -> Result<(), Full> {
        let mut st = self.shared.lock();
        if st.broken {
            return Ok(());
        }
        let used = st.used();
        if used > 0 && used + line.len() > self.shared.capacity {
            st.want_wake = true;
            return Err(Full);
        }
        st.queue.extend_from_slice(line);
        drop(st);
        self.shared.work.notify_one();
        Ok(())
    }

    /// Whether there is room for more: the loop reads pipes only then.
    /// A "no" arms the waker just like a refused push: the loop is about to
    /// stop reading and must hear when it may start again.
    pub fn has_room(&self) -> bool {
        let mut st = self.shared.lock();
        let room = st.broken || st.used() < self.shared.capacity;
        if !room {
            st.want_wake = true;
        }
        room
    }

    /// How many bytes a push may add now (a loop reading a pipe for this
    /// sink reads at most that much, so its push always fits). Zero arms
    /// the waker, as a "no" from `has_room` does.
    pub fn room(&self) -> usize {
        let mut st = self.shared.lock();
        if st.broken {
            return usize::MAX;
        }
        let room = self.shared.capacity.saturating_sub(st.used());
        if room == 0 {
            st.want_wake = true;
        }
        room
    }

    /// Ask the writer to reopen its target before its next write (or at
    /// once if idle). Errors come back through `take_error`.
    pub fn reopen(&self) {
        self.shared.lock().reopen = true;
        self.shared.work.notify_one();
    }

    /// Bytes queued or being written.
    pub fn used(&self) -> usize {
        self.shared.lock().used()
    }

    /// Wait until everything queued is written (or discarded), or until
    /// `deadline`. True when drained. Blocks: for rinit's exit only.
    pub fn flush_blocking(&self, deadline: Instant) -> bool {
        let mut st = self.shared.lock();
        loop {
            if st.used() == 0 || st.broken {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = match self.shared.progress.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// The first write error, once (the loop logs it on stderr once).
    pub fn take_error(&self) -> Option<Errno> {
        self.shared.lock().error.take()
    }

    /// Whether the output is gone for good (EPIPE/EBADF).
    pub fn is_broken(&self) -> bool {
        self.shared.lock().broken
    }
}

impl Drop for Sink {
    /// Tell the writer to finish the queue and exit. Not joined: a writer
    /// stuck on a blocked fd must not hang rinit's exit (that is what
    /// `flush_blocking` with a deadline is for).
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.work.notify_one();
    }
}

fn writer<T: Target>(shared: &Shared, mut target: T) {
    block_sigpipe();
    let mut batch = Vec::new();
    loop {
        {
            let mut st = shared.lock();
            while st.queue.is_empty() && !st.closing && !st.reopen {
                st = match shared.work.wait(st) {
                    Ok(g) => g,
                    Err(e) => e.into_inner(),
                };
            }
            if std::mem::take(&mut st.reopen) {
                drop(st);
                if let Err(e) = target.reopen() {
                    shared.record_error(&mut shared.lock(), e);
                }
                continue;
            }
            if st.queue.is_empty() {
                return; // closing and drained
            }
            // Swap buffers: the loop keeps pushing into the (reused,
            // already allocated) other one while this one is written.
            batch.clear();
            std::mem::swap(&mut st.queue, &mut batch);
            st.in_flight = batch.len();
        }
        let mut rest = batch.as_slice();
        while !rest.is_empty() {
            let n = next_chunk(rest, WRITE_CHUNK);
            let result = target.write_all(&rest[..n]);
            rest = &rest[n..];
            let mut st = shared.lock();
            match result {
                Ok(()) => shared.release(&mut st, n),
                Err(e @ (Errno::EPIPE | Errno::EBADF)) => {
                    discard_sigpipe();
                    shared.record_error(&mut st, e);
                    st.broken = true;
                    st.queue = Vec::new();
                    let left = st.in_flight;
                    shared.release(&mut st, left);
                    rest = &[];
                }
                Err(e) => {
                    shared.record_error(&mut st, e);
                    shared.release(&mut st, n);
                }
            }
        }
    }
}

/// The writer's SIGPIPE stays pending on its own thread instead of reaching
/// the process handler (the loop). pthread_sigmask is per thread.
fn block_sigpipe() {
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(nix::sys::signal::Signal::SIGPIPE);
    // Cannot fail with a valid `how`; if it did, the cost is one stray
    // SIGPIPE routed like an external one, not a crash.
    let _ = set.thread_block();
}

/// Consume the SIGPIPE an EPIPE left pending on this thread (thread-directed,
/// so no other thread's signal is taken).
fn discard_sigpipe() {
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(nix::sys::signal::Signal::SIGPIPE);
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `set` is a valid initialised sigset_t, `zero` a valid
    // timespec, and a null siginfo pointer is allowed; SIGPIPE is blocked in
    // this thread, so this only dequeues a pending one (EAGAIN if none).
    unsafe { libc::sigtimedwait(set.as_ref(), std::ptr::null_mut(), &zero) };
}

/// How much of `buf` to write next: up to `limit` bytes ending at a line
/// end; a line longer than `limit` in one piece; the rest as is if it has
/// no line end at all (cannot happen with formatted lines).
fn next_chunk(buf: &[u8], limit: usize) -> usize {
    if buf.len() <= limit {
        return buf.len();
    }
    if let Some(i) = buf[..limit].iter().rposition(|&b| b == b'\n') {
        return i + 1;
    }
    match buf[limit..].iter().position(|&b| b == b'\n') {
        Some(i) => limit + i + 1,
        None => buf.len(),
    }
}

/// Blocking write of all of `buf`, looping on short writes and EINTR.
fn write_all<F: AsFd>(fd: &F, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        match nix::unistd::write(fd.as_fd(), buf) {
            Ok(0) => return Err(Errno::EIO),
            Ok(n) => buf = &buf[n..],
            Err(Errno::EINTR) => {}
            // Someone (an `inherit` program) set O_NONBLOCK on the shared
            // description: wait for room instead of spinning or dropping.
            Err(Errno::EAGAIN) => {
                let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLOUT)];
                match poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
