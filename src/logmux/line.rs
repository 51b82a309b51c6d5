//! Bytes from one program stream (its stdout pipe, or its stderr pipe) →
//! whole lines.
//!
//! Pure: no syscalls, no clock (time is an argument). Bytes are not assumed
//! to be UTF-8 and are never altered: the only thing removed is the `\n`
//! that ends a line (a `\r` before it stays, CRLF is kept as is).
//!
//! Nothing is ever dropped:
//! - a line longer than [`MAX_LINE`] comes out in pieces of `MAX_LINE` bytes
//!   marked `split` ("continues in the next line"); the last piece is a
//!   normal line, so concatenating the pieces gives the input back;
//! - bytes without a newline that have waited [`PARTIAL_DELAY`] are flushed
//!   by [`LineAssembler::tick`] marked `partial` (a prompt, a progress bar, a
//!   program that died mid-line), and [`LineAssembler::flush_eof`] does the
//!   same at once when the pipe closes or the program exits.

use std::time::{Duration, Instant};

/// Longest line emitted in one piece (bytes, without the `\n`). Long enough
/// for a stack trace line or a JSON log record, short enough that one
/// program cannot hold the output hostage with a line that never ends.
pub const MAX_LINE: usize = 16 * 1024;

/// How long an unterminated line may wait for the rest before it is flushed
/// as `partial`. Short enough that a prompt shows up "at once" for a human,
/// long enough that a line written by two `write` calls stays whole.
pub const PARTIAL_DELAY: Duration = Duration::from_millis(100);

/// One line, borrowed from the assembler for the duration of the callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// The content, without the terminating `\n`.
    pub bytes: &'a [u8],
    /// Flushed without a newline (delay passed, or end of stream).
    pub partial: bool,
    /// A `MAX_LINE` piece of a longer line; the rest follows.
    pub split: bool,
}

impl<'a> Line<'a> {
    fn whole(bytes: &'a [u8]) -> Self {
        Line {
            bytes,
            partial: false,
            split: false,
        }
    }
    fn split(bytes: &'a [u8]) -> Self {
        Line {
            bytes,
            partial: false,
            split: true,
        }
    }
    fn partial(bytes: &'a [u8]) -> Self {
        Line {
            bytes,
            partial: true,
            split: false,
        }
    }
}

/// Per-stream line assembler. Holds at most `MAX_LINE` bytes.
#[derive(Debug, Default)]
pub struct LineAssembler {
    /// The unterminated tail; invariant: `pending.len() <= MAX_LINE`. It may
    /// hold exactly `MAX_LINE` bytes: whether that is a whole line or the
    /// first piece of a longer one is known only when the next byte comes.
    pending: Vec<u8>,
    /// When the first byte now in `pending` arrived.
    since: Option<Instant>,
}

impl LineAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed bytes read from the pipe; every line they complete is passed to
    /// `out`, in order.
    pub fn push(&mut self, bytes: &[u8], now: Instant, out: &mut impl FnMut(Line<'_>)) {
        let mut rest = bytes;
        while !rest.is_empty() {
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    self.take(&rest[..i], true, now, out);
                    rest = &rest[i + 1..];
                }
                None => {
                    self.take(rest, false, now, out);
                    rest = &[];
                }
            }
        }
    }

    /// `data` holds no `\n`; `newline` says whether one followed it.
    // Once per log line, from one call site: inlined even at opt-level z.
    #[inline(always)]
    fn take(
        &mut self,
        mut data: &[u8],
        newline: bool,
        now: Instant,
        out: &mut impl FnMut(Line<'_>),
    ) {
        if !self.pending.is_empty() {
            let room = MAX_LINE - self.pending.len();
            if data.len() <= room {
                self.pending.extend_from_slice(data);
                if newline {
                    out(Line::whole(&self.pending));
                    self.clear();
                }
                return;
            }
            self.pending.extend_from_slice(&data[..room]);
            data = &data[room..];
            out(Line::split(&self.pending));
            self.clear();
        }
        // Long runs go straight from the caller's buffer: a 10 MB line is
        // never copied into `pending` as a whole.
        while data.len() > MAX_LINE {
            out(Line::split(&data[..MAX_LINE]));
            data = &data[MAX_LINE..];
        }
        if newline {
            out(Line::whole(data));
        } else if !data.is_empty() {
            self.pending.extend_from_slice(data);
            self.since = Some(now);
        }
    }

    fn clear(&mut self) {
        self.pending.clear();
        self.since = None;
    }

    /// Flush the unterminated tail as `partial` if it has waited
    /// `PARTIAL_DELAY` or longer.
    pub fn tick(&mut self, now: Instant, out: &mut impl FnMut(Line<'_>)) {
        if self.next_deadline().is_some_and(|d| d <= now) {
            self.flush_eof(out);
        }
    }

    /// The pipe closed or the program exited: whatever is left is a line.
    pub fn flush_eof(&mut self, out: &mut impl FnMut(Line<'_>)) {
        if !self.pending.is_empty() {
            out(Line::partial(&self.pending));
        }
        self.clear();
    }

    /// When `tick` wants to be called; `None` when nothing is pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.since.map(|t| t + PARTIAL_DELAY)
    }

    /// The rest of the pending line may still sit unread in the pipe (rinit
    /// stopped reading it for back-pressure): restart the partial delay, so
    /// a line is never cut just because the output was slow.
    pub fn hold(&mut self, now: Instant) {
        if self.since.is_some() {
            self.since = Some(now);
        }
    }

    /// Bytes waiting for their newline.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests;
