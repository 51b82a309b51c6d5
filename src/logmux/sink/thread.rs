//! The writer-thread side of a [`Sink`](super::Sink): plain blocking
//! `write(2)`s on a thread of their own, for outputs the loop cannot write
//! without blocking (a TTY, a regular file; see `direct.rs` for the rest).
//! The loop only ever touches a bounded in-memory queue; the lock is held
//! for a `memcpy` by either side, never across a syscall.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use mio::Waker;
use nix::errno::Errno;

use super::{Full, Target, WRITE_CHUNK, next_chunk};

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
    /// The writer sleeps on `work`: only then does a push need to wake it
    /// (a futex syscall per push otherwise, on the loop's side).
    writer_idle: bool,
    /// How many sleep on `progress` (`flush_blocking`, at exit): only
    /// then does a written chunk need to say so.
    flushers: u32,
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
        if st.flushers > 0 {
            self.progress.notify_all();
        }
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

/// One output with its writer thread.
pub(super) struct Threaded {
    shared: Arc<Shared>,
}

impl Threaded {
    /// Start the writer thread for `target`, with `queue` already waiting
    /// (what a direct sink could not write before it handed over).
    pub(super) fn start(
        target: Box<dyn Target>,
        capacity: usize,
        waker: Option<Arc<Waker>>,
        name: &str,
        queue: Vec<u8>,
    ) -> std::io::Result<Threaded> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue,
                ..State::default()
            }),
            work: Condvar::new(),
            progress: Condvar::new(),
            waker,
            capacity,
        });
        let for_thread = Arc::clone(&shared);
        crate::os::thread::spawn_detached(&format!("rinit-{name}"), move || {
            writer(&for_thread, target)
        })?;
        Ok(Threaded { shared })
    }

    /// Queue one whole line (or several, already formatted). All or nothing.
    /// A line larger than the capacity is accepted when the sink is empty,
    /// so it can never be stuck forever.
    pub(super) fn try_push(&self, line: &[u8]) -> Result<(), Full> {
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
        let idle = std::mem::take(&mut st.writer_idle);
        drop(st);
        if idle {
            self.shared.work.notify_one();
        }
        Ok(())
    }

    /// Whether there is room for more: the loop reads pipes only then.
    /// A "no" arms the waker just like a refused push: the loop is about to
    /// stop reading and must hear when it may start again.
    pub(super) fn has_room(&self) -> bool {
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
    pub(super) fn room(&self) -> usize {
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
    pub(super) fn reopen(&self) {
        let mut st = self.shared.lock();
        st.reopen = true;
        st.writer_idle = false;
        drop(st);
        self.shared.work.notify_one();
    }

    /// Bytes queued or being written.
    pub(super) fn used(&self) -> usize {
        self.shared.lock().used()
    }

    /// Wait until everything queued is written (or discarded), or until
    /// `deadline`. True when drained. Blocks: for rinit's exit only.
    pub(super) fn flush_blocking(&self, deadline: Instant) -> bool {
        let mut st = self.shared.lock();
        loop {
            if st.used() == 0 || st.broken {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st.flushers += 1;
            st = match self.shared.progress.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
            st.flushers -= 1;
        }
    }

    /// The first write error, once (the loop logs it on stderr once).
    pub(super) fn take_error(&self) -> Option<Errno> {
        self.shared.lock().error.take()
    }

    /// Whether the output is gone for good (EPIPE/EBADF).
    pub(super) fn is_broken(&self) -> bool {
        self.shared.lock().broken
    }
}

impl Drop for Threaded {
    /// Tell the writer to finish the queue and exit. Not joined: a writer
    /// stuck on a blocked fd must not hang rinit's exit (that is what
    /// `flush_blocking` with a deadline is for).
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.closing = true;
        st.writer_idle = false;
        drop(st);
        self.shared.work.notify_one();
    }
}

fn writer(shared: &Shared, mut target: Box<dyn Target>) {
    block_sigpipe();
    let mut batch = Vec::new();
    loop {
        {
            let mut st = shared.lock();
            while st.queue.is_empty() && !st.closing && !st.reopen {
                // Set and cleared under the lock the pushers take: a push
                // either sees it and wakes us, or comes before the check.
                st.writer_idle = true;
                st = match shared.work.wait(st) {
                    Ok(g) => g,
                    Err(e) => e.into_inner(),
                };
                st.writer_idle = false;
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
