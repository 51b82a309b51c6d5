//! The log multiplexer: programs' stdout/stderr pipes → whole, formatted
//! lines on rinit's own fd 1 / fd 2, without ever blocking PID 1 and
//! without ever losing a byte.
//!
//! `line` cuts bytes into lines, `format` renders them, `sink` carries them
//! to the fd on a writer thread. `LogMux` ties them together for the event
//! loop; it reads no pipe itself (the loop owns the fds and the `Poll`).
//!
//! Backpressure, the whole protocol:
//! 1. The loop reads a program's stdout pipe only while
//!    `can_accept(Stream::Stdout)` (stderr likewise), at most [`READ_SIZE`]
//!    bytes per read, and hands every byte read to [`LogMux::feed`], which
//!    always takes all of it (what the sink refuses waits in an overflow
//!    queue, bounded by what the loop read after `can_accept` turned false:
//!    at most one read per source, plus the final drain of a dead program).
//! 2. When `can_accept` is false the loop stops reading that stream's
//!    pipes; the programs block in `write(2)`, nothing is lost.
//! 3. The sinks wake the loop's log token (the `mio::Waker` given to
//!    [`Sink::new`]) when room frees up or an output fails; the loop then
//!    calls [`LogMux::pump`] and, if `can_accept` is true again, reads the
//!    pipes it skipped (mio is edge-triggered: it will not re-report them).

pub mod file;
pub mod format;
pub mod line;
pub mod sink;
pub mod tail;

use std::collections::VecDeque;
use std::time::{Instant, SystemTime};

pub use format::{Format, FormatOptions, Stream, use_colour};
pub use line::{MAX_LINE, PARTIAL_DELAY};
pub use sink::{Full, SINK_CAPACITY, Sink};

use format::Formatter;
use line::LineAssembler;

/// How much the loop should read from a pipe at a time (the default pipe
/// capacity on Linux): also the unit the overflow is bounded by.
pub const READ_SIZE: usize = 64 * 1024;

/// rinit's own messages are not throttled by pipes; while stderr is stuck
/// they wait in the overflow up to this much, then are counted and dropped
/// (a crash-looping program must not grow PID 1 without bound).
pub const RINIT_BACKLOG: usize = 256 * 1024;

/// One registered program instance, hook or main command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceId(usize);

struct Source {
    name: String,
    stdout: LineAssembler,
    stderr: LineAssembler,
    /// Recent lines for `rinit ctl logs`.
    tail: tail::Tail,
    /// Gone for good (`forget`): not found by name any more.
    forgotten: bool,
}

struct Output {
    sink: Sink,
    /// Formatted batches of whole lines the sink refused, in order.
    overflow: VecDeque<Vec<u8>>,
    overflow_bytes: usize,
    /// rinit messages dropped while the backlog was over `RINIT_BACKLOG`.
    dropped: usize,
}

impl Output {
    fn new(sink: Sink) -> Self {
        Output {
            sink,
            overflow: VecDeque::new(),
            overflow_bytes: 0,
            dropped: 0,
        }
    }

    /// Queue `batch` behind anything already waiting, so order holds.
    fn deliver(&mut self, batch: &[u8]) {
        if batch.is_empty() {
            return;
        }
        if self.overflow.is_empty() && self.sink.try_push(batch).is_ok() {
            return;
        }
        self.overflow_bytes += batch.len();
        self.overflow.push_back(batch.to_vec());
    }

    fn pump(&mut self) {
        self.sink.drain();
        while let Some(front) = self.overflow.front() {
            if self.sink.try_push(front).is_err() {
                return;
            }
            self.overflow_bytes -= front.len();
            self.overflow.pop_front();
        }
    }
}

pub struct LogMux {
    fmt: Formatter,
    sources: Vec<Source>,
    stdout: Output,
    stderr: Output,
    /// Wall clock for timestamps; a field so tests can pin it.
    clock: fn() -> SystemTime,
    scratch: Vec<u8>,
}

impl LogMux {
    pub fn new(opts: FormatOptions, stdout: Sink, stderr: Sink) -> Self {
        LogMux {
            fmt: Formatter::new(opts),
            sources: Vec::new(),
            stdout: Output::new(stdout),
            stderr: Output::new(stderr),
            clock: SystemTime::now,
            scratch: Vec::new(),
        }
    }

    /// Use `clock` for timestamps instead of `SystemTime::now` (tests).
    pub fn with_clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.clock = clock;
        self
    }

    /// Register a source. Register every name known up front before any
    /// output so the `|` align from the first line; names added later (a
    /// reload) widen the padding from then on. Its colour is its index.
    pub fn register(&mut self, name: &str) -> SourceId {
        self.fmt.add_name(name);
        self.sources.push(Source {
            name: name.to_owned(),
            stdout: LineAssembler::new(),
            stderr: LineAssembler::new(),
            tail: tail::Tail::default(),
            forgotten: false,
        });
        SourceId(self.sources.len() - 1)
    }

    /// The newest source registered under `name` (a reload may register
    /// a name again), for `rinit ctl logs`; none once it is forgotten.
    pub fn source_named(&self, name: &str) -> Option<SourceId> {
        self.sources
            .iter()
            .rposition(|s| s.name == name)
            .filter(|&i| !self.sources[i].forgotten)
            .map(SourceId)
    }

    /// `source` is gone for good and its pipes are closed (their last
    /// partial lines delivered): free its tail and line buffers.
    pub fn forget(&mut self, source: SourceId) {
        if let Some(src) = self.sources.get_mut(source.0) {
            src.forgotten = true;
            src.tail.free();
            src.stdout = LineAssembler::new();
            src.stderr = LineAssembler::new();
        }
        let names = self.sources.iter().filter(|s| !s.forgotten);
        self.fmt.fit(names.map(|s| s.name.as_str()));
    }

    /// The recent lines of `source` (see [`tail::Tail`]).
    pub fn tail(&self, source: SourceId) -> Option<&tail::Tail> {
        self.sources.get(source.0).map(|s| &s.tail)
    }

    /// Other processes write to rinit's fd 1/2 too: keep every write atomic.
    pub fn set_shared(&mut self) {
        self.stdout.sink.set_shared();
        self.stderr.sink.set_shared();
    }

    /// Whether the loop may read more from pipes of `stream`. A "no" arms
    /// the sink's waker: the loop will hear when to try again.
    pub fn can_accept(&self, stream: Stream) -> bool {
        let out = match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        };
        out.sink.has_room() && out.overflow.is_empty()
    }

    /// Raw format: allow program lines to be spliced into rinit's fd 1/2
    /// (see `Sink::enable_splice`). True if either output allows it.
    pub fn enable_splice(&mut self) -> bool {
        if self.fmt.options().format != Format::Raw {
            return false;
        }
        let out = self.stdout.sink.enable_splice();
        let err = self.stderr.sink.enable_splice();
        out || err
    }

    /// Where whole lines of `stream` may be spliced now, bypassing the
    /// formatter: raw format only (its output is the input), nothing
    /// waiting in the output or in `source`'s assembler.
    pub fn splice_target(&self, source: SourceId, stream: Stream) -> Option<std::os::fd::RawFd> {
        if self.fmt.options().format != Format::Raw {
            return None;
        }
        let src = self.sources.get(source.0)?;
        let (asm, out) = match stream {
            Stream::Stdout => (&src.stdout, &self.stdout),
            Stream::Stderr => (&src.stderr, &self.stderr),
        };
        if asm.pending_len() > 0 || !out.overflow.is_empty() {
            return None;
        }
        out.sink.splice_target()
    }

    /// Bytes of unterminated line `source`'s `stream` assembler holds.
    pub fn pending_len(&self, source: SourceId, stream: Stream) -> usize {
        self.sources.get(source.0).map_or(0, |s| match stream {
            Stream::Stdout => s.stdout.pending_len(),
            Stream::Stderr => s.stderr.pending_len(),
        })
    }

    /// Whole lines of `source` were spliced straight to the output: keep
    /// them in its tail as if they had come through `feed`.
    pub fn spliced(&mut self, source: SourceId, stream: Stream, lines: &[u8]) {
        if let Some(src) = self.sources.get_mut(source.0) {
            src.tail
                .push_lines(stream, lines.strip_suffix(b"\n").unwrap_or(lines));
        }
    }

    /// The rest of a splice the output took only part of: bytes that must
    /// follow at once, as they are (they end a line already begun there).
    pub fn push_raw(&mut self, stream: Stream, bytes: &[u8]) {
        match stream {
            Stream::Stdout => self.stdout.deliver(bytes),
            Stream::Stderr => self.stderr.deliver(bytes),
        }
    }

    /// A splice found `stream`'s output full: hear (on the log token) when
    /// it has room. False if that cannot be (read and queue instead).
    pub fn wait_writable(&mut self, stream: Stream) -> bool {
        match stream {
            Stream::Stdout => self.stdout.sink.wait_writable(),
            Stream::Stderr => self.stderr.sink.wait_writable(),
        }
    }

    /// A splice to `stream`'s output failed with `e`.
    pub fn splice_failed(&mut self, stream: Stream, e: nix::errno::Errno) {
        match stream {
            Stream::Stdout => self.stdout.sink.fail(e),
            Stream::Stderr => self.stderr.sink.fail(e),
        }
    }

    /// Bytes read from `source`'s `stream` pipe. Always takes them all.
    pub fn feed(&mut self, source: SourceId, stream: Stream, bytes: &[u8], now: Instant) {
        self.with_lines(source, stream, bytes, |asm, mut out| {
            asm.push(bytes, now, &mut out)
        });
    }

    /// `source`'s `stream` pipe closed, or the program exited (after the loop
    /// drained the pipe): its unterminated tail is emitted as a partial line.
    pub fn eof(&mut self, source: SourceId, stream: Stream) {
        self.with_lines(source, stream, &[], |asm, mut out| asm.flush_eof(&mut out));
    }

    /// Run the assembler of one source stream; format whatever lines it
    /// emits into one batch and deliver that batch (one lock, one clock
    /// read per call). `input` is what the assembler was fed, if anything:
    /// lines still in it reach the tail in blocks.
    fn with_lines(
        &mut self,
        source: SourceId,
        stream: Stream,
        input: &[u8],
        run: impl FnOnce(&mut LineAssembler, &mut dyn FnMut(line::Line<'_>)),
    ) {
        let LogMux {
            fmt,
            sources,
            stdout,
            stderr,
            clock,
            scratch,
        } = self;
        // An id not from `register` is a loop bug; ignore rather than panic in PID 1.
        let Some(src) = sources.get_mut(source.0) else {
            return;
        };
        let (asm, out) = match stream {
            Stream::Stdout => (&mut src.stdout, stdout),
            Stream::Stderr => (&mut src.stderr, stderr),
        };
        let name = &src.name;
        let tail = &mut src.tail;
        let mut ts = None;
        let mut batch = tail::Batch::new(input);
        scratch.clear();
        run(asm, &mut |line| {
            let ts = *ts.get_or_insert_with(*clock);
            fmt.program_line(scratch, name, source.0, stream, &line, ts);
            batch.push(tail, stream, line.bytes);
        });
        batch.flush(tail, stream);
        out.deliver(scratch);
    }

    /// Flush partial lines whose delay has passed; move overflow on.
    pub fn tick(&mut self, now: Instant) {
        for i in 0..self.sources.len() {
            for stream in [Stream::Stdout, Stream::Stderr] {
                self.with_lines(SourceId(i), stream, &[], |asm, mut out| {
                    asm.tick(now, &mut out)
                });
            }
        }
        self.pump();
    }

    /// `source`'s `stream` pipe is not being read (its output is full):
    /// its partial line waits instead of being flushed as partial.
    pub fn hold(&mut self, source: SourceId, stream: Stream, now: Instant) {
        if let Some(src) = self.sources.get_mut(source.0) {
            match stream {
                Stream::Stdout => src.stdout.hold(now),
                Stream::Stderr => src.stderr.hold(now),
            }
        }
    }

    /// When `tick` is due: the earliest partial-line deadline, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.sources
            .iter()
            .flat_map(|s| [s.stdout.next_deadline(), s.stderr.next_deadline()])
            .flatten()
            .min()
    }

    /// Call when the log waker token fires: moves overflow into the sinks
    /// and reports a failed output (once, on stderr).
    pub fn pump(&mut self) {
        self.stdout.pump();
        self.stderr.pump();
        if self.stderr.overflow.is_empty() && self.stderr.dropped > 0 {
            let n = std::mem::take(&mut self.stderr.dropped);
            let text = format!("stderr was blocked: {n} of rinit's own messages were dropped");
            self.log_rinit(log::Level::Warn, &text);
        }
        let errors = [
            ("stdout", self.stdout.sink.take_error()),
            ("stderr", self.stderr.sink.take_error()),
        ];
        for (stream, e) in errors {
            let Some(e) = e else { continue };
            let text = format!(
                "cannot write to {stream}: {}; its output is discarded",
                crate::os::errno_text(e)
            );
            if stream == "stdout" {
                self.log_rinit(log::Level::Error, &text);
            } else {
                // Nowhere left to say it; `log` may have another target.
                log::error!("{text}");
            }
        }
    }

    /// One of rinit's own messages, as program `rinit` on stderr, through
    /// the same queue as program lines so it never cuts one of them.
    pub fn log_rinit(&mut self, level: log::Level, text: &str) {
        if self.stderr.overflow_bytes > RINIT_BACKLOG {
            self.stderr.dropped += 1;
            return;
        }
        self.scratch.clear();
        self.fmt
            .rinit_line(&mut self.scratch, level, text, (self.clock)());
        let batch = std::mem::take(&mut self.scratch);
        self.stderr.deliver(&batch);
        self.scratch = batch;
    }

    /// At exit: flush every partial line, then wait (until `deadline`) for
    /// everything to reach the fds. True when all was written. Blocks.
    pub fn flush_blocking(&mut self, deadline: Instant) -> bool {
        for i in 0..self.sources.len() {
            self.eof(SourceId(i), Stream::Stdout);
            self.eof(SourceId(i), Stream::Stderr);
        }
        self.pump();
        for out in [&mut self.stdout, &mut self.stderr] {
            out.pump();
            while !out.overflow.is_empty() {
                if !out.sink.flush_blocking(deadline) {
                    return false;
                }
                out.pump();
            }
        }
        self.stdout.sink.flush_blocking(deadline) && self.stderr.sink.flush_blocking(deadline)
    }
}
