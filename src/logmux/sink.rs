//! The bounded, non-blocking path from the event loop to one of rinit's
//! outputs: its fd 1 or fd 2, or a file rinit writes for a program.
//!
//! PID 1 must never block on a slow `docker logs` reader, and must never set
//! O_NONBLOCK on its fd 1/2: O_NONBLOCK lives on the open file description
//! shared with every `stdout = "inherit"` program (they would start getting
//! EAGAIN). Two ways to write without either:
//!
//! - *Direct* (`direct.rs`, fd 1/2 when they are a pipe, a socket or
//!   /dev/null, as under Docker, Podman and Kubernetes): the loop writes
//!   itself with `pwritev2(RWF_NOWAIT)`, which makes that one call
//!   non-blocking and leaves the file's flags alone. What the fd does not
//!   take waits in a bounded queue; the fd is registered for writability
//!   on the loop's log token, so the loop hears when to go on. No thread,
//!   no copy beyond the queue, no wake-up hand-off per batch.
//! - *Threaded* (`thread.rs`: a TTY, a regular file, kernels without
//!   RWF_NOWAIT for the fd): a writer thread does plain blocking `write(2)`s
//!   and the loop only touches a bounded in-memory queue; the thread wakes
//!   the loop's `Waker` when a refused push may be retried. A direct sink
//!   turns threaded, keeping its queue, the first time RWF_NOWAIT is refused.
//!
//! Common to both:
//! - [`Sink::try_push`] queues one whole formatted batch or refuses it with
//!   [`Full`]; it never blocks.
//! - While another process writes the same fd, writes are whole lines,
//!   cut at a line end, and atomic: at most `PIPE_BUF` bytes (pipe(7)). So
//!   lines never interleave with those of `inherit` programs, or of the
//!   other stream when fd 1 and fd 2 are the same pipe. A pipe rinit alone
//!   writes gets all it has at once (the rest waits); a line cut there is
//!   still whole in the stream, and is finished before the fd turns shared.
//! - EPIPE/EBADF (nobody reads our output any more): from then on lines are
//!   accepted and discarded, so supervision goes on; the error is reported
//!   once through [`Sink::take_error`]. Other write errors (ENOSPC, EIO)
//!   drop the chunk at hand, are reported once, and writing goes on.
//! - The SIGPIPE of that EPIPE must not reach the programs as if someone had
//!   sent it to PID 1: the writer thread blocks it; a direct write tells the
//!   signal intake to swallow it (`os::signals::expect_own_sigpipe`).
//! - The destination is a [`Target`]: an fd as is, or a file that can be
//!   reopened and rotated (`logmux::file`); [`Sink::reopen`] asks the
//!   writer to reopen between two writes (SIGUSR1, logrotate style).

use std::cell::RefCell;
use std::os::fd::AsFd;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Instant;

use mio::{Registry, Token, Waker};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

mod direct;
mod thread;

pub use direct::splice_nonblock;

use direct::Direct;
use thread::Threaded;

/// Bytes a sink holds (queued + being written) before it refuses lines:
/// per output stream, so at most 2 MiB of log lines live in PID 1.
pub const SINK_CAPACITY: usize = 1 << 20;

/// Largest `write(2)` made when the buffer has a line end to cut at
/// (pipe(7): writes up to `PIPE_BUF` are atomic).
pub const WRITE_CHUNK: usize = libc::PIPE_BUF;

/// Where a sink puts its bytes when a writer thread does it.
pub trait Target: Send + 'static {
    /// Blocking write of all of `buf`. An error other than EPIPE/EBADF is
    /// reported and writing goes on with the next chunk.
    fn write_all(&mut self, buf: &[u8]) -> Result<(), Errno>;
    /// Reopen the destination by name (only files have one).
    fn reopen(&mut self) -> Result<(), Errno> {
        Ok(())
    }
}

impl<T: Target + ?Sized> Target for Box<T> {
    fn write_all(&mut self, buf: &[u8]) -> Result<(), Errno> {
        (**self).write_all(buf)
    }
    fn reopen(&mut self) -> Result<(), Errno> {
        (**self).reopen()
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
/// waker fires (or the output's writability, which comes on the same token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

enum Inner {
    Direct(Direct),
    Threaded(Threaded),
    /// Only while switching from one to the other.
    Switching,
}

/// One output: fd 1, fd 2 or a file.
pub struct Sink {
    inner: RefCell<Inner>,
}

impl Sink {
    /// A sink whose writer thread writes `fd` (tests; see [`Sink::direct`]
    /// for rinit's own fd 1/2). `waker` is the loop's log token; one
    /// `Waker` may be shared by several sinks.
    pub fn new<F: AsFd + Send + 'static>(
        fd: F,
        capacity: usize,
        waker: Option<Arc<Waker>>,
        name: &str,
    ) -> std::io::Result<Sink> {
        Sink::with_target(FdTarget(fd), capacity, waker, name)
    }

    /// A sink whose writer thread writes any [`Target`] (a rotated file).
    pub fn with_target<T: Target>(
        target: T,
        capacity: usize,
        waker: Option<Arc<Waker>>,
        name: &str,
    ) -> std::io::Result<Sink> {
        let t = Threaded::start(Box::new(target), capacity, waker, name, Vec::new())?;
        Ok(Sink {
            inner: RefCell::new(Inner::Threaded(t)),
        })
    }

    /// A sink the loop writes itself (see the module doc): `fd` is
    /// registered on `registry` as `token` (the loop's log token) the first
    /// time it is full. Should `fd` refuse RWF_NOWAIT, a writer thread takes
    /// over, with `waker` and `name` as in [`Sink::new`].
    pub fn direct<F: AsFd + Send + 'static>(
        fd: F,
        capacity: usize,
        waker: Option<Arc<Waker>>,
        name: &str,
        registry: &Registry,
        token: Token,
    ) -> std::io::Result<Sink> {
        let raw = fd.as_fd().as_raw_fd();
        let fallback = direct::Fallback {
            target: Box::new(FdTarget(fd)),
            waker,
            name: name.to_owned(),
        };
        let d = Direct::new(raw, capacity, registry.try_clone()?, token, fallback);
        Ok(Sink {
            inner: RefCell::new(Inner::Direct(d)),
        })
    }

    /// Queue one whole line (or several, already formatted). All or nothing.
    /// A line larger than the capacity is accepted when the sink is empty,
    /// so it can never be stuck forever.
    pub fn try_push(&self, line: &[u8]) -> Result<(), Full> {
        let r = match &mut *self.inner.borrow_mut() {
            Inner::Direct(d) => d.try_push(line),
            Inner::Threaded(t) => return t.try_push(line),
            Inner::Switching => unreachable!("only inside switch_to_thread"),
        };
        self.switch_if_needed();
        r
    }

    /// Write what is queued, as far as the output takes it now (a direct
    /// sink, when the loop's log token fires; a threaded one writes on its
    /// own).
    pub fn drain(&self) {
        if let Inner::Direct(d) = &mut *self.inner.borrow_mut() {
            d.drain();
        }
        self.switch_if_needed();
    }

    /// A direct sink whose fd refused RWF_NOWAIT hands its queue to a
    /// writer thread, once.
    fn switch_if_needed(&self) {
        let mut inner = self.inner.borrow_mut();
        if !matches!(&*inner, Inner::Direct(d) if d.needs_thread()) {
            return;
        }
        let Inner::Direct(d) = std::mem::replace(&mut *inner, Inner::Switching) else {
            unreachable!()
        };
        *inner = d.into_thread();
    }

    /// Other processes write to this fd too (`inherit` programs, the main
    /// command): from now on every write is at most `PIPE_BUF`, atomic.
    pub fn set_shared(&self) {
        if let Inner::Direct(d) = &mut *self.inner.borrow_mut() {
            d.set_shared();
        }
    }

    /// Allow whole lines to be spliced into this output (a direct sink on
    /// a pipe rinit alone writes). True when allowed.
    pub fn enable_splice(&self) -> bool {
        match &mut *self.inner.borrow_mut() {
            Inner::Direct(d) => d.enable_splice(),
            _ => false,
        }
    }

    /// For a direct sink on a pipe that rinit alone writes, with nothing
    /// queued: its fd.
    pub fn splice_target(&self) -> Option<std::os::fd::RawFd> {
        match &*self.inner.borrow() {
            Inner::Direct(d) => d.splice_target(),
            _ => None,
        }
    }

    /// The fd was found full by a splice: register for its writability
    /// (the loop's log token). False if it cannot be polled.
    pub fn wait_writable(&self) -> bool {
        match &mut *self.inner.borrow_mut() {
            Inner::Direct(d) => d.wait_writable(),
            _ => false,
        }
    }

    /// Moving bytes to the fd (a splice) failed with `e`: treated as a
    /// failed write (EPIPE/EBADF: the output is gone).
    pub fn fail(&self, e: Errno) {
        if let Inner::Direct(d) = &mut *self.inner.borrow_mut() {
            d.fail(e);
        }
    }

    /// Whether there is room for more: the loop reads pipes only then.
    /// A "no" arms the waker just like a refused push: the loop is about to
    /// stop reading and must hear when it may start again.
    pub fn has_room(&self) -> bool {
        match &*self.inner.borrow() {
            Inner::Direct(d) => d.has_room(),
            Inner::Threaded(t) => t.has_room(),
            Inner::Switching => false,
        }
    }

    /// How many bytes a push may add now (a loop reading a pipe for this
    /// sink reads at most that much, so its push always fits). Zero arms
    /// the waker, as a "no" from `has_room` does.
    pub fn room(&self) -> usize {
        match &*self.inner.borrow() {
            Inner::Direct(d) => d.room(),
            Inner::Threaded(t) => t.room(),
            Inner::Switching => 0,
        }
    }

    /// Ask the writer to reopen its target before its next write (or at
    /// once if idle). Errors come back through `take_error`. Only files
    /// have a name to reopen by; they are always threaded.
    pub fn reopen(&self) {
        if let Inner::Threaded(t) = &*self.inner.borrow() {
            t.reopen();
        }
    }

    /// Bytes queued or being written.
    pub fn used(&self) -> usize {
        match &*self.inner.borrow() {
            Inner::Direct(d) => d.used(),
            Inner::Threaded(t) => t.used(),
            Inner::Switching => 0,
        }
    }

    /// Wait until everything queued is written (or discarded), or until
    /// `deadline`. True when drained. Blocks: for rinit's exit only.
    pub fn flush_blocking(&self, deadline: Instant) -> bool {
        let done = match &mut *self.inner.borrow_mut() {
            Inner::Direct(d) => d.flush_blocking(deadline),
            Inner::Threaded(t) => return t.flush_blocking(deadline),
            Inner::Switching => true,
        };
        if done {
            return true;
        }
        self.switch_if_needed();
        match &*self.inner.borrow() {
            Inner::Threaded(t) => t.flush_blocking(deadline),
            _ => false,
        }
    }

    /// The first write error, once (the loop logs it on stderr once).
    pub fn take_error(&self) -> Option<Errno> {
        match &mut *self.inner.borrow_mut() {
            Inner::Direct(d) => d.take_error(),
            Inner::Threaded(t) => t.take_error(),
            Inner::Switching => None,
        }
    }

    /// Whether the output is gone for good (EPIPE/EBADF).
    pub fn is_broken(&self) -> bool {
        match &*self.inner.borrow() {
            Inner::Direct(d) => d.is_broken(),
            Inner::Threaded(t) => t.is_broken(),
            Inner::Switching => false,
        }
    }

    /// Whether a writer thread writes this sink (tests).
    #[cfg(test)]
    fn is_threaded(&self) -> bool {
        matches!(&*self.inner.borrow(), Inner::Threaded(_))
    }
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
