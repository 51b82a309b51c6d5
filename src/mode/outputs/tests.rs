//! Reading the programs' pipes, on real pipes: a flooded pipe is read one
//! share at a time, and a partial line's delay counts from its read.

use super::*;
use crate::config::Output;
use crate::logmux::{Format, PARTIAL_DELAY};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;

/// Room for everything a test writes, so no write blocks and no read is
/// held back by a full output.
const PIPE: usize = 1024 * 1024;

/// Grow the pipe `fd` is an end of to [`PIPE`].
fn grow_to_room(fd: impl AsFd) {
    let size = crate::os::pipe::grow(fd.as_fd(), PIPE);
    assert!(size >= Some(PIPE), "F_SETPIPE_SZ: {size:?}");
}

fn big_pipe() -> (OwnedFd, OwnedFd) {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    grow_to_room(&w);
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
    grow_to_room(pipe.tx.as_ref().unwrap());
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
    pipe.tx.as_ref().unwrap().write_all(&data).unwrap();
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

/// A reaped program's output is all taken before its exit is heard of,
/// even when its lines would be spliced and the output is full: what no
/// splice can move yet is queued (past back-pressure, as on the read
/// path), not left in the pipe to come after rinit's exit line.
#[test]
fn a_reaped_programs_lines_come_before_its_exit_on_a_full_output() {
    let poll = mio::Poll::new().unwrap();
    let (out_r, out_w) = big_pipe();
    let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    // SAFETY: F_SETPIPE_SZ on a pipe we own: one page, filled at once by
    // a line written before the program's.
    unsafe { libc::fcntl(err_w.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
    let earlier = [vec![b'='; 4095], vec![b'\n']].concat();
    nix::unistd::write(&err_w, &earlier).unwrap();
    let opts = FormatOptions {
        format: Format::Raw,
        timestamps: false,
        colour: false,
    };
    let mut o = Outputs::on(opts, poll.registry(), out_w, err_w).unwrap();
    let src = o.add("p", &Output::Log, &Output::Log, None).unwrap();
    o.start_splicing();
    let Route::Mux(pipe) = &o.sources[0].routes[1] else {
        unreachable!()
    };
    grow_to_room(pipe.tx.as_ref().unwrap());
    let data: Vec<u8> = (0..200)
        .flat_map(|i| format!("{i:09} {}\n", "x".repeat(89)).into_bytes())
        .collect();
    pipe.tx.as_ref().unwrap().write_all(&data).unwrap();
    let rx = pipe.rx.as_raw_fd();
    o.ready(pipe_token(0, Stream::Stderr));
    assert!(queued(rx) > 0, "the output is full: lines wait in the pipe");
    o.attach(4242, src);
    o.reaped(4242);
    assert_eq!(queued(rx), 0, "all it wrote is taken at its reaping");
    o.log_rinit(log::Level::Info, "p exited");
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        std::fs::File::from(err_r).read_to_end(&mut got).unwrap();
        got
    });
    assert!(o.finish(Instant::now() + Duration::from_secs(10)));
    drop(o);
    let got = reader.join().unwrap();
    let exit = memchr::memmem::find(&got, b"p exited").expect("the exit line");
    assert!(
        got[..exit].starts_with(&[earlier, data].concat()),
        "every line before the exit"
    );
    drop(out_r);
}

/// Everything that reached `out` once `o` is gone.
fn everything(o: Outputs, out: OwnedFd) -> Vec<u8> {
    drop(o);
    let mut got = Vec::new();
    std::fs::File::from(out).read_to_end(&mut got).unwrap();
    got
}

/// A source gone for good (`release`) whose writers are all gone: what is
/// left in its pipes is delivered, its unterminated last line too, and its
/// pipes are closed and its tail freed at once.
fn release_with_no_writer_left(splice: bool) {
    let poll = mio::Poll::new().unwrap();
    let (mut o, out) = setup(&poll, splice);
    let mut data = program_writes(&o, 300, b"last words");
    o.ready(stdout_token());
    assert!(o.mux().source_named("p").is_some());
    o.release(LogSource(0));
    assert!(o.closed(LogSource(0)), "both pipes closed");
    assert!(o.mux().source_named("p").is_none(), "its tail is gone");
    assert!(!o.busy() && o.stalled.is_empty());
    assert!(o.finish(Instant::now() + Duration::from_secs(5)));
    data.push(b'\n');
    assert!(
        everything(o, out) == data,
        "every line, then the last words"
    );
}

#[test]
fn a_released_source_is_read_to_its_end_and_closed() {
    release_with_no_writer_left(false);
}

#[test]
fn a_released_spliced_source_is_read_to_its_end_and_closed() {
    release_with_no_writer_left(true);
}

/// A process that left the program's group still holds the pipe: the
/// release lets go of rinit's end only; the pipe is read on, and closed
/// when that process lets go too.
#[test]
fn a_released_source_stays_open_while_a_process_holds_its_pipe() {
    for splice in [false, true] {
        let poll = mio::Poll::new().unwrap();
        let (mut o, out) = setup(&poll, splice);
        let Route::Mux(pipe) = &o.sources[0].routes[0] else {
            unreachable!()
        };
        let escaped = pipe.tx.as_ref().unwrap().as_fd().try_clone_to_owned();
        let escaped = escaped.unwrap();
        let mut data = program_writes(&o, 100, b"");
        o.release(LogSource(0));
        assert!(!o.closed(LogSource(0)), "a writer is left");
        let more = program_writes_to(&escaped, 50);
        drop(escaped);
        o.ready(stdout_token());
        assert!(
            o.closed(LogSource(0)),
            "closed once its last writer is gone"
        );
        assert!(o.finish(Instant::now() + Duration::from_secs(5)));
        data.extend_from_slice(&more);
        assert!(everything(o, out) == data, "every line, in order");
    }
}

/// Numbered lines written to `fd`.
fn program_writes_to(fd: &OwnedFd, lines: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..lines)
        .flat_map(|i| format!("late {i:04}\n").into_bytes())
        .collect();
    nix::unistd::write(fd, &data).unwrap();
    data
}

#[test]
fn a_pipe_the_kernel_would_not_grow_is_reported_and_others_are_not() {
    const WANT: usize = 1024 * 1024;
    let why = pipe_left_short("stdout", Some(65536), WANT).expect("a refusal is reported");
    assert!(why.starts_with("stdout is a pipe of 65536 bytes"), "{why}");
    assert!(why.contains("1048576"), "{why}");
    assert_eq!(pipe_left_short("stderr", Some(WANT), WANT), None, "grown");
    assert_eq!(
        pipe_left_short("stderr", Some(2 * WANT), WANT),
        None,
        "already bigger"
    );
    assert_eq!(pipe_left_short("stderr", None, WANT), None, "not a pipe");
}
