//! The raw format's fast path: whole lines moved from a program's pipe to
//! rinit's stdout/stderr pipe with splice(2), never copied through rinit.
//!
//! Raw output is the program's bytes, line by line, so a run of whole lines
//! can go as is. rinit still has to know where lines end (it must never
//! move half a line, and `ctl logs` keeps a tail): it looks with tee(2)
//! into a private pipe, which copies nothing, and reads that copy. Then:
//! - whole lines are spliced (a pipe-to-pipe splice moves page references
//!   under both pipes' locks: as whole as a write); if the output takes
//!   only part, the rest of the line it ended in is read and queued at
//!   once (rinit alone writes that pipe, so nothing comes in between); if
//!   it is full, the pipe waits, as a blocked write would;
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
    /// The output took only `done` bytes, ending mid-line: the rest of
    /// that line (up to `end`; copied in `buf`, still in the pipe) must be
    /// read and queued as is, at once, to finish it.
    Rest { done: usize, end: usize },
    /// The output failed (EPIPE...): read as usual, the sink discards.
    OutputFailed(Errno),
    /// The output is full: leave the bytes in the pipe until it has room.
    Full,
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

    /// One step for pipe `from`, whose lines go to pipe `to`. `buf`
    /// receives a copy of what `from` holds.
    pub fn step(&mut self, from: RawFd, to: RawFd, buf: &mut [u8]) -> Step {
        if self.off {
            return Step::Off;
        }
        let t = match self.peek(from, buf) {
            Err(Errno::EAGAIN) => return Step::Empty,
            // No writer left (a released source): the read sees the end.
            Ok(0) => return Step::Read(buf.len()),
            Ok(t) => t,
            Err(_) => {
                self.off = true;
                return Step::Off;
            }
        };
        let data = &buf[..t];
        let Some(cut) = whole_lines(data) else {
            return Step::Read(t);
        };
        // The kernel moves as much as the output has room for.
        match splice_nonblock(from, to, cut) {
            Ok(done) if done == cut || (done > 0 && data[done - 1] == b'\n') => Step::Moved(done),
            // The output pipe is full: wait for room, as a blocked write
            // would (a full pipe wakes its writers when read from).
            Ok(0) | Err(Errno::EAGAIN) => Step::Full,
            Ok(done) => {
                let end = memchr::memchr(b'\n', &data[done..]).map_or(cut, |i| done + i + 1);
                Step::Rest { done, end }
            }
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
            Err(Errno::EAGAIN) => None,
            // No writer left: the read sees the end.
            Ok(0) => Some(buf.len()),
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

/// The bytes of `data` to splice: up to its last line end, if no line in
/// there is longer than `MAX_LINE` (those are split, by the assembler).
/// `None`: read as usual.
fn whole_lines(data: &[u8]) -> Option<usize> {
    let cut = memchr::memrchr(b'\n', data)? + 1;
    // Not every line end is needed, only proof that none is too far from
    // the one before: the line starting at `start` must end within
    // MAX_LINE bytes, and the last line end in that window starts the next
    // window. Short lines take one backwards search per MAX_LINE bytes.
    let mut start = 0;
    while start < cut {
        let window = &data[start..cut.min(start + MAX_LINE + 1)];
        start += memchr::memrchr(b'\n', window)? + 1;
    }
    Some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_lines_cut_at_the_last_line_end() {
        assert_eq!(whole_lines(b"ab\ncd\nef"), Some(6));
        assert_eq!(whole_lines(b"ab\ncd\n"), Some(6));
        assert_eq!(whole_lines(b"abcdef"), None, "no line end");
        let mut long = vec![b'x'; MAX_LINE + 1];
        long.push(b'\n');
        assert_eq!(whole_lines(&long), None, "long lines are split");
        let mut ok = vec![b'x'; MAX_LINE];
        ok.push(b'\n');
        assert_eq!(whole_lines(&ok), Some(MAX_LINE + 1));
    }

    /// The windowed search gives the same answer as checking every line.
    #[test]
    fn whole_lines_matches_a_line_by_line_check() {
        fn every_line(data: &[u8]) -> Option<usize> {
            let cut = data.iter().rposition(|&b| b == b'\n')? + 1;
            let mut start = 0;
            for (i, _) in data[..cut].iter().enumerate().filter(|(_, b)| **b == b'\n') {
                if i - start > MAX_LINE {
                    return None;
                }
                start = i + 1;
            }
            Some(cut)
        }
        // Line lengths around the limit, in runs, at every position.
        let lens = [0, 1, 99, MAX_LINE - 1, MAX_LINE, MAX_LINE + 1, 3 * MAX_LINE];
        for a in lens {
            for b in lens {
                for c in lens {
                    for tail in [0, 5, MAX_LINE + 2] {
                        let mut data = Vec::new();
                        for len in [a, b, c] {
                            data.extend(std::iter::repeat_n(b'x', len));
                            data.push(b'\n');
                        }
                        data.extend(std::iter::repeat_n(b'y', tail));
                        assert_eq!(whole_lines(&data), every_line(&data), "{a} {b} {c} {tail}");
                    }
                }
            }
        }
    }
}
