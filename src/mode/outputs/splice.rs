//! The raw format's fast path: whole lines moved from a program's pipe to
//! rinit's stdout/stderr pipe with splice(2), never copied through rinit.
//!
//! Raw output is the program's bytes, line by line, so a run of whole lines
//! can go as is. rinit still has to know where lines end (it must never
//! move half a line, and `ctl logs` keeps a tail): it looks with tee(2)
//! into a private pipe, which copies nothing, and reads that copy. Then:
//! - whole lines that fit the output now are spliced (a pipe-to-pipe splice
//!   moves page references under both pipes' locks: as whole as a write);
//! - an unfinished line, a line longer than `MAX_LINE`, or no room in the
//!   output: the bytes are read as usual and go through the line assembler
//!   (partial-line timer, splitting, the output queue), and the fast path
//!   takes over again at the next line end.
//!
//! Used only when nothing else is queued for that output and rinit alone
//! writes it (`LogMux::splice_target`), so order and line atomicity hold.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;

use crate::logmux::MAX_LINE;
use crate::logmux::sink::splice_nonblock;

/// What to do with a readable pipe.
pub enum Step {
    /// The first `n` bytes (whole lines, copied in `buf`) were spliced.
    Moved(usize),
    /// `n` bytes of the pipe must be read as usual (they are in the pipe).
    Read(usize),
    /// Only `done` of the first `cut` bytes (copied in `buf`) were spliced:
    /// the rest, still in the pipe, must be read and queued as is, at once,
    /// to finish the line begun in the output.
    Rest { done: usize, cut: usize },
    /// The output failed (EPIPE...): read as usual, the sink discards.
    OutputFailed(Errno),
    /// Nothing in the pipe.
    Empty,
    /// Not possible here (a kernel or fd without tee/splice): read as usual.
    Off,
}

pub struct Splicer {
    peek_r: OwnedFd,
    peek_w: OwnedFd,
    off: bool,
}

impl Splicer {
    pub fn new() -> nix::Result<Splicer> {
        let (peek_r, peek_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        Ok(Splicer {
            peek_r,
            peek_w,
            off: false,
        })
    }

    /// One step for pipe `from`, whose lines go to `to` (the output fd,
    /// `fit` bytes of room). `buf` receives a copy of what the pipe holds.
    pub fn step(&mut self, from: RawFd, to: RawFd, fit: usize, buf: &mut [u8]) -> Step {
        if self.off {
            return Step::Off;
        }
        let t = match self.peek(from, buf) {
            Ok(0) | Err(Errno::EAGAIN) => return Step::Empty,
            Ok(t) => t,
            Err(_) => {
                self.off = true;
                return Step::Off;
            }
        };
        let data = &buf[..t];
        let Some(cut) = whole_lines(data, fit) else {
            return Step::Read(t);
        };
        match splice_nonblock(from, to, cut) {
            Ok(done) if done == cut => Step::Moved(cut),
            Ok(0) | Err(Errno::EAGAIN) => Step::Read(t),
            Ok(done) => Step::Rest { done, cut },
            Err(e @ (Errno::EPIPE | Errno::EBADF)) => {
                if e == Errno::EPIPE {
                    crate::os::signals::expect_own_sigpipe();
                }
                Step::OutputFailed(e)
            }
            Err(_) => {
                self.off = true;
                Step::Read(t)
            }
        }
    }

    /// With part of a line already in the assembler: how much of `from`
    /// to read as usual so that the read ends at the line's end (after
    /// which whole lines can be spliced again). `None`: nothing there.
    pub fn until_line_end(&mut self, from: RawFd, buf: &mut [u8]) -> Option<usize> {
        if self.off {
            return Some(buf.len());
        }
        match self.peek(from, buf) {
            Ok(0) | Err(Errno::EAGAIN) => None,
            Ok(t) => Some(memchr::memchr(b'\n', &buf[..t]).map_or(t, |i| i + 1)),
            Err(_) => {
                self.off = true;
                Some(buf.len())
            }
        }
    }

    /// Copy what `from` holds into `buf` without taking it out: tee(2)
    /// into the private pipe, then read that. Returns the bytes copied.
    fn peek(&mut self, from: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
        // SAFETY: plain syscall on two pipe fds; no memory is passed.
        let t = unsafe {
            libc::tee(
                from,
                self.peek_w.as_raw_fd(),
                buf.len(),
                libc::SPLICE_F_NONBLOCK,
            )
        };
        if t < 0 {
            return Err(Errno::last());
        }
        let t = t as usize;
        let mut got = 0;
        while got < t {
            match nix::unistd::read(&self.peek_r, &mut buf[got..t]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(Errno::EINTR) => {}
                Err(e) => {
                    // The private pipe must be empty for the next peek.
                    self.off = true;
                    return Err(e);
                }
            }
        }
        Ok(got)
    }
}

/// The bytes of `data` to splice: up to its last line end within `fit`,
/// if no line in there is longer than `MAX_LINE` (those are split, by the
/// assembler). `None`: read as usual.
fn whole_lines(data: &[u8], fit: usize) -> Option<usize> {
    let limit = data.len().min(fit);
    let cut = memchr::memrchr(b'\n', &data[..limit])? + 1;
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', &data[..cut]) {
        if end - start > MAX_LINE {
            return None;
        }
        start = end + 1;
    }
    Some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_lines_cut_at_the_last_line_end_within_room() {
        assert_eq!(whole_lines(b"ab\ncd\nef", 100), Some(6));
        assert_eq!(whole_lines(b"ab\ncd\nef", 5), Some(3));
        assert_eq!(whole_lines(b"ab\ncd\n", 6), Some(6));
        assert_eq!(whole_lines(b"abcdef", 100), None, "no line end");
        assert_eq!(whole_lines(b"ab\ncd\n", 2), None, "no room for a line");
        let mut long = vec![b'x'; MAX_LINE + 1];
        long.push(b'\n');
        assert_eq!(whole_lines(&long, usize::MAX), None, "long lines are split");
        let mut ok = vec![b'x'; MAX_LINE];
        ok.push(b'\n');
        assert_eq!(whole_lines(&ok, usize::MAX), Some(MAX_LINE + 1));
    }
}
