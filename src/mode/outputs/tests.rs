//! Reading the programs' pipes, on real pipes: a flooded pipe is read one
//! share at a time, and a partial line's delay counts from its read.

use super::*;
use crate::config::Output;
use crate::logmux::{Format, PARTIAL_DELAY};
use std::io::Write;
use std::os::fd::OwnedFd;

/// Room for everything a test writes, so no write blocks and no read is
/// held back by a full output.
const PIPE: i32 = 1024 * 1024;

fn big_pipe() -> (OwnedFd, OwnedFd) {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    // SAFETY: F_SETPIPE_SZ on a pipe we own.
    let set = unsafe { libc::fcntl(w.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE) };
    assert!(set >= PIPE, "F_SETPIPE_SZ: {}", io::Error::last_os_error());
    (r, w)
}

/// Outputs in raw format on test pipes, with one logged source; returns
/// the read end of its stdout. `splice`: with the splice path.
fn setup(poll: &mio::Poll, splice: bool) -> (Outputs, OwnedFd) {
    let (out_r, out_w) = big_pipe();
    let (_err_r, err_w) = big_pipe();
    let opts = FormatOptions {
        format: Format::Raw,
        timestamps: false,
        colour: false,
    };
    let mut o = Outputs::on(opts, poll.registry(), out_w, err_w).unwrap();
    o.add("p", &Output::Log, &Output::Log, None).unwrap();
    if splice {
        o.start_splicing();
        assert!(o.splicer.is_some(), "splice path enabled");
    }
    let Route::Mux(pipe) = &o.sources[0].routes[0] else {
        unreachable!()
    };
    // SAFETY: F_SETPIPE_SZ on the source's own pipe.
    let set = unsafe { libc::fcntl(pipe.tx.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE) };
    assert!(set >= PIPE, "F_SETPIPE_SZ: {}", io::Error::last_os_error());
    (o, out_r)
}

/// What the program writes: numbered 100-byte lines, then `tail`.
fn program_writes(o: &Outputs, lines: usize, tail: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    for i in 0..lines {
        data.extend_from_slice(format!("{i:09} {}\n", "x".repeat(89)).as_bytes());
    }
    data.extend_from_slice(tail);
    let Route::Mux(pipe) = &o.sources[0].routes[0] else {
        unreachable!()
    };
    (&pipe.tx).write_all(&data).unwrap();
    data
}

fn stdout_token() -> Token {
    pipe_token(0, Stream::Stdout)
}

fn in_pipe(o: &Outputs) -> usize {
    let Route::Mux(pipe) = &o.sources[0].routes[0] else {
        unreachable!()
    };
    queued(pipe.rx.as_raw_fd())
}

fn drain(fd: &OwnedFd, n: usize) -> Vec<u8> {
    let mut got = vec![0; n];
    let mut at = 0;
    while at < n {
        at += nix::unistd::read(fd, &mut got[at..]).unwrap();
    }
    got
}

/// A program writing faster than rinit reads must not keep the loop in
/// its pipe: one readiness takes one share, the rest comes turn by turn,
/// and every line arrives whole and in order.
fn read_a_share_at_a_time(splice: bool) {
    let poll = mio::Poll::new().unwrap();
    let (mut o, out) = setup(&poll, splice);
    o.share = 64 * 1024;
    let data = program_writes(&o, 2600, b"");
    o.ready(stdout_token());
    assert!(o.busy(), "the rest is left for the next turn");
    let left = in_pipe(&o);
    assert!(
        left >= data.len() - 2 * o.share && left < data.len(),
        "one share taken: {left} of {} left",
        data.len()
    );
    let mut turns = 1;
    while o.busy() {
        o.resume();
        turns += 1;
        assert!(turns <= 10, "a share per turn, not a byte");
    }
    // A share is at least `share` bytes, and less than one more read.
    let at_least = data.len().div_ceil(2 * o.share);
    assert!(turns >= at_least, "{} bytes in {turns} turns", data.len());
    assert_eq!(in_pipe(&o), 0);
    assert!(o.finish(Instant::now() + Duration::from_secs(5)));
    assert!(drain(&out, data.len()) == data, "every line, in order");
}

#[test]
fn a_flooded_pipe_is_read_a_share_at_a_time() {
    read_a_share_at_a_time(false);
}

#[test]
fn a_flooded_pipe_is_spliced_a_share_at_a_time() {
    read_a_share_at_a_time(true);
}

/// The partial-line delay counts from the read that brought the bytes,
/// even when they come at the end of a long run of reads.
#[test]
fn a_partial_line_waits_from_its_read() {
    let poll = mio::Poll::new().unwrap();
    let (mut o, _out) = setup(&poll, false);
    o.share = 64 * 1024;
    program_writes(&o, 2600, b"no newline yet");
    o.ready(stdout_token());
    while o.busy() {
        let before = Instant::now();
        o.resume();
        if !o.busy() {
            let due = o.next_deadline().expect("the partial line waits");
            assert!(due >= before + PARTIAL_DELAY, "delay from the read");
        }
    }
}
