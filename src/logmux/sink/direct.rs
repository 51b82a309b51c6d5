//! The direct side of a [`Sink`](super::Sink): the event loop writes the
//! output fd itself with `pwritev2(.., RWF_NOWAIT)`, a per-call
//! non-blocking write that leaves the shared file description's flags
//! alone (Linux ≥ 4.14 for sockets and files, 5.x for pipes). What the fd
//! does not take now waits in `queue`; the fd is then registered (once, on
//! the loop's log token) for writability, and the loop calls `drain` when
//! it fires. An fd that refuses RWF_NOWAIT (a TTY, most regular files, an
//! older kernel) makes the sink hand over to a writer thread.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token, Waker};
use nix::errno::Errno;
use nix::fcntl::OFlag;

use super::thread::Threaded;
use super::{Full, Inner, Target, WRITE_CHUNK, next_chunk};

/// How long `set_shared` waits for the reader to take the rest of a line
/// rinit is in the middle of.
const FINISH_LINE: Duration = Duration::from_secs(1);

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
    /// The fd is a pipe (or FIFO): writes may be sized to what it can take.
    fifo: bool,
    /// Other processes write to the same fd (`inherit` programs, the main
    /// command): every write stays within `PIPE_BUF`, so it is atomic.
    shared: bool,
    /// Set when program output is spliced into this pipe (raw format).
    relay: Option<Relay>,
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
            fifo: is_fifo(fd),
            shared: false,
            relay: None,
            fallback,
        }
    }

    /// Other writers share the fd: writes must be atomic from now on. A
    /// relay cannot promise that (a splice may move part of a chunk), and
    /// the pipe no longer takes RWF_NOWAIT: a writer thread takes over.
    ///
    /// Before that, rinit finishes the line it may be in the middle of: a
    /// write or splice the pipe took only in part can have left half a
    /// line there, and the next process to write would land inside it.
    /// That waits for the reader, at most `FINISH_LINE` (this happens only
    /// when a reload starts the first `inherit` program while rinit's
    /// stdout is full).
    pub(super) fn set_shared(&mut self) {
        if self.fifo && !self.shared && self.used() > 0 {
            self.finish_line(Instant::now() + FINISH_LINE);
        }
        self.shared = true;
        if self.relay.is_some() {
            self.unsupported = true;
        }
    }

    /// Let whole lines be spliced into this fd (see `splice_target`). After
    /// a splice into a pipe, Linux refuses RWF_NOWAIT writes to it for good
    /// (EOPNOTSUPP), so from then on rinit's own bytes go the same way:
    /// into a private pipe, and spliced over from there. Only for a pipe
    /// that rinit alone writes. True when enabled.
    pub(super) fn enable_splice(&mut self) -> bool {
        if self.relay.is_none() && self.fifo && !self.shared && !self.unsupported {
            self.relay = Relay::new().ok();
        }
        self.relay.is_some()
    }

    /// The largest write to cut at a line end now. `PIPE_BUF` keeps a
    /// write atomic on any pipe, which matters while another process
    /// writes the same fd. A pipe rinit alone writes gets everything at
    /// once: the kernel takes what fits and the rest waits in the queue. A
    /// line the pipe took in part is still whole in the stream, since
    /// nothing else writes there (see `set_shared` for when that changes),
    /// and asking the pipe first how much fits (F_GETPIPE_SZ, FIONREAD)
    /// took its lock twice more per write, against the reader: about a
    /// fifth of prefix-format throughput (docs/benchmarks.md).
    fn write_limit(&self) -> usize {
        if self.shared || !self.fifo {
            WRITE_CHUNK
        } else {
            usize::MAX
        }
    }

    pub(super) fn used(&self) -> usize {
        self.queue.len() - self.start + self.relay.as_ref().map_or(0, |r| r.held)
    }

    pub(super) fn try_push(&mut self, line: &[u8]) -> Result<(), Full> {
        if self.broken {
            return Ok(());
        }
        if self.unsupported {
            // A writer thread takes over right after this push: queue it.
            self.queue.extend_from_slice(line);
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
        match self.flush_relay() {
            Ok(()) => {}
            Err(Errno::EAGAIN) => return self.arm(),
            Err(e) => {
                if self.fail_write(e) {
                    return;
                }
            }
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
            let n = next_chunk(rest, self.write_limit());
            match self.write_one(&rest[..n]) {
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
                Err(e) => {
                    if self.fail_write(e) {
                        return (buf.len(), Stop::Broken);
                    }
                    // ENOSPC, EIO...: this chunk is lost; said once; go on.
                    done += n;
                }
            }
        }
        (done, Stop::Done)
    }

    /// A write (or splice) failed with `e`, not EAGAIN/EINTR/EOPNOTSUPP.
    /// EPIPE/EBADF break the sink for good (true); others are reported.
    fn fail_write(&mut self, e: Errno) -> bool {
        if e == Errno::EPIPE {
            crate::os::signals::expect_own_sigpipe();
        }
        self.record(e);
        if let Some(r) = &mut self.relay {
            r.discard();
        }
        if matches!(e, Errno::EPIPE | Errno::EBADF) {
            self.broken = true;
            self.queue.clear();
            self.start = 0;
        }
        self.broken
    }

    /// One non-blocking write: RWF_NOWAIT, or through the relay pipe.
    /// Returns the bytes of `chunk` taken (written, or held by the relay).
    fn write_one(&mut self, chunk: &[u8]) -> Result<usize, Errno> {
        if self.relay.is_none() {
            return write_nowait(self.fd, chunk);
        }
        self.flush_relay()?;
        let fd = self.fd;
        let Some(relay) = &mut self.relay else {
            unreachable!()
        };
        let k = nix::unistd::write(&relay.w, chunk)?;
        relay.held = k;
        match splice_nonblock(relay.r.as_raw_fd(), fd, k) {
            Ok(moved) => relay.held -= moved,
            Err(Errno::EAGAIN) => {}
            Err(e) => return Err(e),
        }
        if relay.held > 0 {
            // Taken, but not all passed on: hear when the fd has room,
            // even if this was the last chunk for a while.
            self.arm();
        }
        Ok(k)
    }

    /// What the relay pipe holds goes first. EAGAIN while some is left.
    fn flush_relay(&mut self) -> Result<(), Errno> {
        let fd = self.fd;
        let Some(relay) = &mut self.relay else {
            return Ok(());
        };
        while relay.held > 0 {
            let moved = splice_nonblock(relay.r.as_raw_fd(), fd, relay.held)?;
            if moved == 0 {
                return Err(Errno::EAGAIN);
            }
            relay.held -= moved;
        }
        Ok(())
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
            if !wait_room(self.fd, deadline) {
                return false;
            }
        }
    }

    /// Write what is pending up to its first line end (after what the
    /// relay holds), waiting in poll(2) for room until `deadline`. Used
    /// before other processes start writing the fd: if rinit was mid-line
    /// there, that line is whole before they can write. If it was not,
    /// one whole line more goes out, which does no harm. Past the
    /// deadline (the reader stopped) it gives up: PID 1 must not hang, so
    /// the other writer's output may then land inside that one line.
    fn finish_line(&mut self, deadline: Instant) {
        let mut line_taken = false;
        while !self.broken && !self.unsupported {
            let step = match self.flush_relay() {
                Ok(()) if line_taken || self.used() == 0 => return,
                Ok(()) => self.take_line(&mut line_taken),
                Err(e) => Err(e),
            };
            match step {
                Ok(()) | Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => {
                    self.arm();
                    if !wait_room(self.fd, deadline) {
                        return;
                    }
                }
                Err(Errno::EOPNOTSUPP | Errno::EINVAL | Errno::ENOSYS) => {
                    self.unsupported = true;
                }
                Err(e) => {
                    // EPIPE breaks the sink; others (ENOSPC...) are said
                    // once, and the line is left to the normal path.
                    self.fail_write(e);
                    return;
                }
            }
        }
    }

    /// One write of the queue's first line (or what is left of it).
    fn take_line(&mut self, line_taken: &mut bool) -> Result<(), Errno> {
        let queue = std::mem::take(&mut self.queue);
        let rest = &queue[self.start..];
        let n = next_chunk(rest, 1);
        let written = self.write_one(&rest[..n]);
        self.queue = queue;
        let k = written?;
        if k == 0 {
            return Err(Errno::EIO);
        }
        self.start += k;
        *line_taken = k == n;
        if self.start == self.queue.len() {
            self.queue.clear();
            self.start = 0;
        }
        Ok(())
    }

    /// Where lines may be spliced to now: only an idle pipe that rinit
    /// alone writes (see `mode::outputs`'s splice path: bytes moved there
    /// must be whole lines, in order).
    pub(super) fn splice_target(&self) -> Option<RawFd> {
        let idle = self.used() == 0 && !self.broken && !self.unsupported;
        (idle && self.relay.is_some() && !self.shared).then_some(self.fd)
    }

    pub(super) fn wait_writable(&mut self) -> bool {
        self.arm();
        self.registered
    }

    /// A splice to the fd failed with EPIPE/EBADF: as a failed write.
    pub(super) fn fail(&mut self, e: Errno) {
        self.record(e);
        if matches!(e, Errno::EPIPE | Errno::EBADF) {
            self.broken = true;
            self.queue.clear();
            self.start = 0;
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
        let mut queue = self
            .relay
            .take()
            .map(|mut r| r.take_held())
            .unwrap_or_default();
        queue.extend_from_slice(&self.queue[self.start..]);
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

/// A private pipe rinit's own bytes pass through on their way to a pipe
/// that program output is spliced into.
struct Relay {
    r: OwnedFd,
    w: OwnedFd,
    /// Bytes in the relay pipe, not yet spliced on.
    held: usize,
}

impl Relay {
    fn new() -> nix::Result<Relay> {
        let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        Ok(Relay { r, w, held: 0 })
    }

    /// Read back what is held (a writer thread takes over).
    fn take_held(&mut self) -> Vec<u8> {
        let mut buf = vec![0; self.held];
        let mut got = 0;
        while got < buf.len() {
            match nix::unistd::read(&self.r, &mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        buf.truncate(got);
        self.held = 0;
        buf
    }

    /// Drop what is held (its chunk failed).
    fn discard(&mut self) {
        drop(self.take_held());
    }
}

/// Move up to `n` bytes from pipe `from` to pipe `to` without blocking
/// (SPLICE_F_NONBLOCK: whatever the files' own flags say).
pub fn splice_nonblock(from: RawFd, to: RawFd, n: usize) -> Result<usize, Errno> {
    loop {
        // SAFETY: plain syscall; null offsets (pipes have none).
        let r = unsafe {
            libc::splice(
                from,
                std::ptr::null_mut(),
                to,
                std::ptr::null_mut(),
                n,
                libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MOVE,
            )
        };
        if r >= 0 {
            return Ok(r as usize);
        }
        if Errno::last() != Errno::EINTR {
            return Err(Errno::last());
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

fn is_fifo(fd: RawFd) -> bool {
    // SAFETY: fstat into a zeroed stat buffer we own.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(fd, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO
    }
}

/// Wait in poll(2) until `fd` has room or `deadline` passes (false then).
fn wait_room(fd: RawFd, deadline: Instant) -> bool {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return false;
    }
    let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe { libc::poll(&mut pfd, 1, ms) };
    true
}
