//! The direct side of a [`Sink`](super::Sink): the event loop writes the
//! output fd itself with `pwritev2(.., RWF_NOWAIT)`, a per-call
//! non-blocking write that leaves the shared file description's flags
//! alone (Linux ≥ 4.14 for sockets and files, 5.x for pipes). What the fd
//! does not take now waits in `queue`; the fd is then registered (once, on
//! the loop's log token) for writability, and the loop calls `drain` when
//! it fires. An fd that refuses RWF_NOWAIT (a TTY, most regular files, an
//! older kernel) makes the sink hand over to a writer thread.

use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token, Waker};
use nix::errno::Errno;

use super::thread::Threaded;
use super::{Full, Inner, Target, WRITE_CHUNK, next_chunk};

/// What a writer thread needs should the fd refuse RWF_NOWAIT.
pub(super) struct Fallback {
    pub target: Box<dyn Target>,
    pub waker: Option<Arc<Waker>>,
    pub name: String,
}

pub(super) struct Direct {
    /// Borrowed from `fallback.target`, which owns (or stands for) it.
    fd: RawFd,
    /// Formatted lines not written yet: `queue[start..]`.
    queue: Vec<u8>,
    start: usize,
    capacity: usize,
    registry: Registry,
    token: Token,
    registered: bool,
    /// EPIPE/EBADF seen: discard everything from now on.
    broken: bool,
    /// The first write error, until `take_error` hands it out.
    error: Option<Errno>,
    error_seen: bool,
    /// RWF_NOWAIT refused (or the fd cannot be polled): switch to a thread.
    unsupported: bool,
    fallback: Fallback,
}

/// Why a run of writes stopped before the end of the buffer.
enum Stop {
    /// Everything was written (or dropped after an error).
    Done,
    /// The fd is full.
    Full,
    /// The fd refused RWF_NOWAIT.
    Unsupported,
    /// Nobody reads any more.
    Broken,
}

impl Direct {
    pub(super) fn new(
        fd: RawFd,
        capacity: usize,
        registry: Registry,
        token: Token,
        fallback: Fallback,
    ) -> Direct {
        Direct {
            fd,
            queue: Vec::new(),
            start: 0,
            capacity,
            registry,
            token,
            registered: false,
            broken: false,
            error: None,
            error_seen: false,
            unsupported: false,
            fallback,
        }
    }

    pub(super) fn used(&self) -> usize {
        self.queue.len() - self.start
    }

    pub(super) fn try_push(&mut self, line: &[u8]) -> Result<(), Full> {
        if self.broken {
            return Ok(());
        }
        if self.used() > 0 {
            self.drain();
        }
        let used = self.used();
        if used > 0 {
            if used + line.len() > self.capacity {
                return Err(Full);
            }
            self.queue.extend_from_slice(line);
            return Ok(());
        }
        // Nothing waiting: write straight from the caller's buffer, and
        // queue only what the fd did not take.
        let (done, stop) = self.write_some(line);
        if !matches!(stop, Stop::Broken) {
            self.queue.extend_from_slice(&line[done..]);
        }
        Ok(())
    }

    /// Write as much of the queue as the fd takes now.
    pub(super) fn drain(&mut self) {
        if self.used() == 0 || self.broken || self.unsupported {
            return;
        }
        let queue = std::mem::take(&mut self.queue);
        let (done, stop) = self.write_some(&queue[self.start..]);
        self.queue = queue;
        self.start += done;
        if matches!(stop, Stop::Broken) || self.start == self.queue.len() {
            self.queue.clear();
            self.start = 0;
        } else if self.start >= self.queue.len() / 2 {
            // Keep the buffer from creeping: move the rest to the front
            // once at least half of it is written.
            self.queue.drain(..self.start);
            self.start = 0;
        }
    }

    /// Non-blocking writes of `buf` in line-cut chunks until it is all
    /// written or the fd stops taking it. Returns the bytes consumed.
    fn write_some(&mut self, buf: &[u8]) -> (usize, Stop) {
        let mut done = 0;
        while done < buf.len() {
            let rest = &buf[done..];
            let n = next_chunk(rest, WRITE_CHUNK);
            match write_nowait(self.fd, &rest[..n]) {
                Ok(0) => {
                    self.record(Errno::EIO);
                    done += n;
                }
                Ok(k) => done += k,
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => {
                    self.arm();
                    return (done, Stop::Full);
                }
                Err(Errno::EOPNOTSUPP | Errno::EINVAL | Errno::ENOSYS) => {
                    self.unsupported = true;
                    return (done, Stop::Unsupported);
                }
                Err(e @ (Errno::EPIPE | Errno::EBADF)) => {
                    if e == Errno::EPIPE {
                        crate::os::signals::expect_own_sigpipe();
                    }
                    self.record(e);
                    self.broken = true;
                    return (buf.len(), Stop::Broken);
                }
                Err(e) => {
                    // ENOSPC, EIO...: this chunk is lost; say so once and go on.
                    self.record(e);
                    done += n;
                }
            }
        }
        (done, Stop::Done)
    }

    /// Hear about the fd's writability on the loop's log token from now
    /// on (edge-triggered, so registering once is enough: every time the
    /// reader makes room after a refused write, the token fires).
    fn arm(&mut self) {
        if self.registered {
            return;
        }
        let mut src = SourceFd(&self.fd);
        match self
            .registry
            .register(&mut src, self.token, Interest::WRITABLE)
        {
            Ok(()) => self.registered = true,
            // Cannot be polled (EPERM: a regular file): a thread will wait.
            Err(_) => self.unsupported = true,
        }
    }

    /// Keep the first error for `take_error`, and wake the loop so it
    /// reports it now rather than at some later tick (as a thread would).
    fn record(&mut self, e: Errno) {
        if !self.error_seen {
            self.error_seen = true;
            self.error = Some(e);
            if let Some(w) = &self.fallback.waker {
                let _ = w.wake();
            }
        }
    }

    pub(super) fn has_room(&self) -> bool {
        self.broken || self.used() < self.capacity
    }

    pub(super) fn room(&self) -> usize {
        if self.broken {
            return usize::MAX;
        }
        self.capacity.saturating_sub(self.used())
    }

    /// Write until drained, waiting in poll(2) for room, until `deadline`.
    /// False when time ran out (or a thread must take over).
    pub(super) fn flush_blocking(&mut self, deadline: Instant) -> bool {
        loop {
            self.drain();
            if self.used() == 0 || self.broken {
                return true;
            }
            if self.unsupported {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            unsafe { libc::poll(&mut pfd, 1, ms) };
        }
    }

    pub(super) fn take_error(&mut self) -> Option<Errno> {
        self.error.take()
    }

    pub(super) fn is_broken(&self) -> bool {
        self.broken
    }

    pub(super) fn needs_thread(&self) -> bool {
        self.unsupported && !self.broken
    }

    /// Hand the queue to a writer thread. If no thread can be started
    /// (resource exhaustion), the output is given up like a closed one:
    /// reported once, and supervision goes on.
    pub(super) fn into_thread(mut self) -> Inner {
        if self.registered {
            let _ = self.registry.deregister(&mut SourceFd(&self.fd));
        }
        let queue = self.queue.split_off(self.start);
        let Fallback {
            target,
            waker,
            name,
        } = self.fallback;
        match Threaded::start(target, self.capacity, waker, &name, queue) {
            Ok(t) => Inner::Threaded(t),
            Err(e) => {
                log::error!("cannot start the writer thread for {name}: {e}");
                let mut gone = Direct {
                    broken: true,
                    queue: Vec::new(),
                    start: 0,
                    unsupported: false,
                    fallback: Fallback {
                        target: Box::new(NoTarget),
                        waker: None,
                        name,
                    },
                    ..self
                };
                gone.record(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EAGAIN)));
                Inner::Direct(gone)
            }
        }
    }
}

/// Stands in for a target handed to a thread that never started.
struct NoTarget;

impl Target for NoTarget {
    fn write_all(&mut self, _: &[u8]) -> Result<(), Errno> {
        Err(Errno::EBADF)
    }
}

/// One `pwritev2(fd, buf, -1, RWF_NOWAIT)`: at the current position (so
/// pipes and sockets work), failing with EAGAIN instead of blocking.
fn write_nowait(fd: RawFd, buf: &[u8]) -> Result<usize, Errno> {
    let iov = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `iov` points into `buf`, valid for the call; the kernel only
    // reads from it. Offset -1 means "the current file position".
    let n = unsafe { libc::pwritev2(fd, &iov, 1, -1, libc::RWF_NOWAIT) };
    if n < 0 {
        Err(Errno::last())
    } else {
        Ok(n as usize)
    }
}
