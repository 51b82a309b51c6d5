use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::OwnedFd;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use mio::{Events, Poll, Token};
use nix::fcntl::OFlag;

use super::*;

const WAKE: Token = Token(7);
/// Generous: on a loaded 2-core machine, but a hang still fails the test.
const PATIENCE: Duration = Duration::from_secs(20);

fn pipe(flags: OFlag) -> (File, OwnedFd) {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC | flags).expect("pipe2");
    (File::from(r), w)
}

fn numbered(i: usize) -> Vec<u8> {
    // Mixed lengths, so chunks cut at different places.
    format!("line {i:06} {}\n", "x".repeat(i * 37 % 300)).into_bytes()
}

/// Read every line until EOF on a thread; the result comes back on a channel.
fn reader(r: File) -> mpsc::Receiver<Vec<String>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let lines: Vec<String> = BufReader::new(r)
            .lines()
            .map(|l| l.expect("read"))
            .collect();
        let _ = tx.send(lines);
    });
    rx
}

/// Wait for the sink's token: its waker, or (direct sinks) its fd having
/// room again.
fn wait_for_wake(poll: &mut Poll) {
    let mut events = Events::with_capacity(4);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "waker never fired");
        poll.poll(&mut events, Some(left)).expect("poll");
        if events.iter().any(|e| e.token() == WAKE) {
            return;
        }
    }
}

/// The reader starts; the rest of `total` numbered lines goes in as the
/// event loop does it (wait for the token, drain, push until Full); then
/// everything must arrive once, in order, with no error, written by a
/// thread or not as `threaded` says.
fn resume_and_check(
    poll: &mut Poll,
    sink: Sink,
    r: File,
    (mut next, total): (usize, usize),
    threaded: bool,
) {
    let lines = reader(r);
    while next < total {
        wait_for_wake(poll);
        sink.drain();
        while next < total && sink.try_push(&numbered(next)).is_ok() {
            next += 1;
        }
    }
    assert!(
        sink.flush_blocking(Instant::now() + PATIENCE),
        "flush timed out"
    );
    assert_eq!(sink.take_error(), None);
    assert_eq!(sink.is_threaded(), threaded);
    drop(sink); // closes the pipe (a writer thread, when it exits): EOF
    assert_numbered(&lines, total);
}

/// The reader got exactly `numbered(0..total)`, in order.
fn assert_numbered(lines: &mpsc::Receiver<Vec<String>>, total: usize) {
    let got = lines.recv_timeout(PATIENCE).expect("reader finished");
    assert_eq!(got.len(), total);
    for (i, line) in got.iter().enumerate() {
        assert_eq!(format!("{line}\n").as_bytes(), numbered(i), "line {i}");
    }
}

#[test]
fn full_without_blocking_then_wake_then_everything_in_order() {
    let (r, w) = pipe(OFlag::empty());
    let mut poll = Poll::new().expect("poll");
    let waker = Arc::new(Waker::new(poll.registry(), WAKE).expect("waker"));
    let capacity = 32 * 1024;
    let sink = Sink::new(w, capacity, Some(waker), "test").expect("sink");
    let total = 20_000; // ~3.5 MB: far more than the pipe and the sink hold

    // Nobody reads yet: push until Full on a helper thread, which must come
    // back (try_push never blocks) well before the deadline.
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut i = 0;
        while i < total {
            match sink.try_push(&numbered(i)) {
                Ok(()) => i += 1,
                Err(Full) => break,
            }
        }
        let _ = tx.send((sink, i));
    });
    let (sink, next) = rx.recv_timeout(PATIENCE).expect("try_push blocked");
    assert!(next < total, "never got Full");
    // (The writer may still be filling the pipe: `used` only shrinks.)
    assert!(sink.used() <= capacity);

    // The reader resumes: the waker fires, and the rest goes through,
    // retrying after each wake exactly as the event loop will.
    resume_and_check(&mut poll, sink, r, (next, total), true);
}

#[test]
fn a_line_larger_than_the_capacity_goes_through_when_empty() {
    let (r, w) = pipe(OFlag::empty());
    let sink = Sink::new(w, 1024, None, "test").expect("sink");
    let lines = reader(r);
    let mut big = vec![b'b'; 10_000];
    big.push(b'\n');
    assert!(sink.try_push(b"small\n").is_ok());
    assert!(sink.flush_blocking(Instant::now() + PATIENCE));
    // Empty: accepted whole, even though it is ten times the capacity
    // (refusal when not empty: `refused_when_not_empty_and_over_capacity`).
    assert_eq!(sink.try_push(&big), Ok(()));
    assert!(!sink.has_room() || sink.used() == 0);
    assert!(sink.flush_blocking(Instant::now() + PATIENCE));
    drop(sink);
    let got = lines.recv_timeout(PATIENCE).expect("reader finished");
    assert_eq!(got, vec!["small".to_string(), "b".repeat(10_000)]);
}

#[test]
fn refused_when_not_empty_and_over_capacity() {
    // A pipe nobody reads, with lines bigger than the pipe buffer, so the
    // writer is stuck and `used` stays put.
    let (r, w) = pipe(OFlag::empty());
    let sink = Sink::new(w, 200_000, None, "test").expect("sink");
    let mut line = vec![b'z'; 150_000];
    line.push(b'\n');
    assert_eq!(sink.try_push(&line), Ok(()));
    assert_eq!(sink.try_push(&line), Err(Full));
    assert!(sink.has_room(), "used < capacity: room for smaller lines");
    assert_eq!(sink.try_push(b"short\n"), Ok(()));
    drop(r); // EPIPE unblocks the writer; nothing hangs after the test
    assert!(sink.flush_blocking(Instant::now() + PATIENCE));
}

#[test]
fn closed_reader_is_reported_once_and_lines_are_discarded() {
    let (r, w) = pipe(OFlag::empty());
    drop(r);
    let sink = Sink::new(w, 4096, None, "test").expect("sink");
    assert_eq!(sink.try_push(b"into the void\n"), Ok(()));
    assert!(sink.flush_blocking(Instant::now() + PATIENCE));
    assert!(sink.is_broken());
    assert_eq!(sink.take_error(), Some(Errno::EPIPE));
    assert_eq!(sink.take_error(), None, "reported once");
    // Supervision goes on: everything is accepted (and discarded).
    for _ in 0..10_000 {
        assert_eq!(sink.try_push(b"more\n"), Ok(()));
    }
    assert!(sink.has_room());
    assert_eq!(sink.used(), 0);
}

#[test]
fn nonblocking_output_is_waited_on_not_dropped() {
    // An `inherit` program may set O_NONBLOCK on the shared description.
    let (mut r, w) = pipe(OFlag::O_NONBLOCK);
    // pipe2 set it on both ends; the test's reader wants to block.
    nix::fcntl::fcntl(&r, nix::fcntl::FcntlArg::F_SETFL(OFlag::empty())).expect("fcntl");
    let sink = Sink::new(w, SINK_CAPACITY, None, "test").expect("sink");
    let mut want = Vec::new();
    for i in 0..3000 {
        let l = numbered(i);
        want.extend_from_slice(&l);
        assert_eq!(sink.try_push(&l), Ok(()));
    }
    // The pipe (64 KiB) is now full and the writer sees EAGAIN; reading
    // everything must still give every byte once, in order.
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut got = Vec::new();
        let _ = r.read_to_end(&mut got);
        let _ = tx.send(got);
    });
    assert!(sink.flush_blocking(Instant::now() + PATIENCE));
    assert_eq!(sink.take_error(), None);
    drop(sink);
    assert_eq!(rx.recv_timeout(PATIENCE).expect("reader finished"), want);
}

#[test]
fn chunks_end_at_line_ends() {
    let cases: [(&[u8], usize, usize); 7] = [
        (b"", 4, 0),
        (b"ab\n", 4, 3),
        (b"ab\ncd\nef\n", 7, 6),
        (b"ab\ncd\nef\n", 5, 3),
        (b"abcdefgh\nx\n", 4, 9), // one long line: whole
        (b"abcdefgh", 4, 8),      // no line end at all: as is
        (b"a\nbcdefgh", 4, 2),
    ];
    for (buf, limit, want) in cases {
        assert_eq!(next_chunk(buf, limit), want, "{buf:?} / {limit}");
    }
}

#[test]
fn room_shrinks_with_queued_bytes_and_arms_the_waker_at_zero() {
    let (r, w) = pipe(OFlag::empty());
    let mut poll = Poll::new().expect("poll");
    let waker = Arc::new(Waker::new(poll.registry(), WAKE).expect("waker"));
    let sink = Sink::new(w, 256 * 1024, Some(waker), "test").expect("sink");
    // Nobody reads: the pipe takes 64 KiB, the rest stays queued.
    let mut pushed = 0;
    while sink.room() > 0 {
        let n = sink.room().min(4096);
        sink.try_push(&vec![b'x'; n])
            .expect("a push within room fits");
        pushed += n;
        assert!(pushed < 10 << 20, "room never reached zero");
    }
    assert!(sink.used() <= 256 * 1024);
    drop(r); // the writer gets EPIPE, discards, and wakes us
    wait_for_wake(&mut poll);
    assert_eq!(sink.room(), usize::MAX, "broken: everything is accepted");
}

#[test]
fn reopen_switches_files_between_writes() {
    let d = std::env::temp_dir().join(format!("rinit-sink-reopen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join("a.log");
    let target = crate::logmux::file::FileTarget::open(&p, None).unwrap();
    let sink = Sink::with_target(target, 1024, None, "file").expect("sink");
    sink.try_push(b"before\n").unwrap();
    assert!(sink.flush_blocking(Instant::now() + PATIENCE));
    std::fs::rename(&p, d.join("a.log.1")).unwrap();
    sink.reopen();
    // The reopen happens even with nothing to write: the file reappears.
    let deadline = Instant::now() + PATIENCE;
    while !p.exists() {
        assert!(Instant::now() < deadline, "not reopened");
        thread::sleep(Duration::from_millis(2));
    }
    sink.try_push(b"after\n").unwrap();
    assert!(sink.flush_blocking(Instant::now() + PATIENCE));
    assert_eq!(
        std::fs::read_to_string(d.join("a.log.1")).unwrap(),
        "before\n"
    );
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "after\n");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn direct_sink_writes_from_the_caller_queues_when_full_and_resumes_on_the_token() {
    let (r, w) = pipe(OFlag::empty());
    let mut poll = Poll::new().expect("poll");
    let capacity = 32 * 1024;
    let sink = Sink::direct(w, capacity, None, "test", poll.registry(), WAKE).expect("sink");
    let total = 20_000; // ~3.5 MB: far more than the pipe and the sink hold

    // Nobody reads: the pipe (64 KiB) fills, then the queue, then Full,
    // and no call blocks (the test would hang) even though the fd is a
    // blocking one.
    let mut next = 0;
    while next < total && sink.try_push(&numbered(next)).is_ok() {
        next += 1;
    }
    assert!(next < total, "never got Full");
    assert!(!sink.is_threaded(), "a pipe is written directly");
    assert!(sink.used() <= capacity);
    assert!(!sink.has_room() || sink.room() < 400);

    // The reader resumes: the token fires, drain, push on, as the loop does.
    resume_and_check(&mut poll, sink, r, (next, total), false);
}

/// A one-page pipe: each write fills it at most, and each read returns
/// exactly what the writes since the last read put in.
fn one_page_pipe() -> (File, OwnedFd) {
    let (r, w) = pipe(OFlag::empty());
    nix::fcntl::fcntl(&w, nix::fcntl::FcntlArg::F_SETPIPE_SZ(4096)).expect("F_SETPIPE_SZ");
    (r, w)
}

fn numbered_batch(lines: usize) -> Vec<u8> {
    (0..lines).flat_map(numbered).collect()
}

#[test]
fn direct_sink_alone_on_a_pipe_fills_it_and_keeps_every_byte_in_order() {
    // rinit alone writes the pipe: a write may end mid-line (the line is
    // still whole in the stream), and the pipe is filled, not cut short.
    let (mut r, w) = one_page_pipe();
    let poll = Poll::new().expect("poll");
    let sink = Sink::direct(w, SINK_CAPACITY, None, "test", poll.registry(), WAKE).expect("sink");
    let batch = numbered_batch(300);
    assert_eq!(sink.try_push(&batch), Ok(()));
    assert!(sink.used() > 0, "a one-page pipe cannot take it all");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    while got.len() < batch.len() {
        let n = r.read(&mut buf).expect("read");
        let left = batch.len() - got.len();
        assert_eq!(n, left.min(4096), "each write fills the pipe");
        got.extend_from_slice(&buf[..n]);
        sink.drain();
    }
    assert_eq!(got, batch);
    assert_eq!(sink.used(), 0);
}

#[test]
fn direct_sink_shared_writes_end_at_line_ends() {
    // Another process writes the same pipe: every write is atomic
    // (at most PIPE_BUF) and ends at a line end.
    let (mut r, w) = one_page_pipe();
    let poll = Poll::new().expect("poll");
    let sink = Sink::direct(w, SINK_CAPACITY, None, "test", poll.registry(), WAKE).expect("sink");
    sink.set_shared();
    let batch = numbered_batch(300);
    assert_eq!(sink.try_push(&batch), Ok(()));
    assert!(sink.used() > 0, "a one-page pipe cannot take it all");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    while got.len() < batch.len() {
        let n = r.read(&mut buf).expect("read");
        assert!(n > 0 && n <= 4096, "read {n}");
        assert_eq!(buf[n - 1], b'\n', "a write ended mid-line");
        got.extend_from_slice(&buf[..n]);
        sink.drain();
    }
    assert_eq!(got, batch);
    assert_eq!(sink.used(), 0);
}

#[test]
fn direct_sink_finishes_its_line_before_the_fd_becomes_shared() {
    // 100-byte lines into a one-page pipe: the first write ends in the
    // middle of line 41. Then another writer arrives (a reload starts an
    // `inherit` program): its line must not land inside rinit's.
    let (r, w) = one_page_pipe();
    let other = w.try_clone().expect("dup");
    let poll = Poll::new().expect("poll");
    let sink = Sink::direct(w, SINK_CAPACITY, None, "test", poll.registry(), WAKE).expect("sink");
    let line = |i: usize| format!("line {i:06} {}\n", "x".repeat(87)).into_bytes();
    let batch: Vec<u8> = (0..100).flat_map(line).collect();
    assert_eq!(line(0).len(), 100);
    assert_eq!(sink.try_push(&batch), Ok(()));
    assert_eq!(sink.used(), batch.len() - 4096, "the pipe took one page");
    let lines = reader(r);
    sink.set_shared(); // waits for the reader to make room for the rest of line 41
    nix::unistd::write(&other, b"other\n").expect("write");
    drop(other);
    assert!(sink.flush_blocking(Instant::now() + PATIENCE));
    drop(sink);
    let got = lines.recv_timeout(PATIENCE).expect("reader finished");
    let mut want: Vec<String> = (0..100)
        .map(|i| String::from_utf8(line(i)).unwrap().trim_end().to_owned())
        .collect();
    let at = got
        .iter()
        .position(|l| l == "other")
        .expect("the other line, whole");
    assert!(at >= 41, "written after line 41 was finished, at {at}");
    want.insert(at, "other".into());
    assert_eq!(got, want);
}

#[test]
fn direct_sink_on_a_tty_hands_over_to_a_thread_in_order() {
    // A TTY refuses RWF_NOWAIT: the sink must switch to a writer thread
    // and keep every byte, in order.
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let mut attrs = nix::sys::termios::tcgetattr(&pty.slave).expect("tcgetattr");
    nix::sys::termios::cfmakeraw(&mut attrs);
    nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &attrs)
        .expect("tcsetattr");
    let poll = Poll::new().expect("poll");
    let sink =
        Sink::direct(pty.slave, SINK_CAPACITY, None, "tty", poll.registry(), WAKE).expect("sink");
    // A pty master reads EIO, not EOF, once the slave is closed.
    let (tx, lines) = mpsc::channel();
    let mut master = File::from(pty.master);
    thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = master.read(&mut buf) {
            all.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&all).into_owned();
        let _ = tx.send(text.lines().map(str::to_owned).collect::<Vec<_>>());
    });
    let total = 500;
    for i in 0..total {
        assert_eq!(sink.try_push(&numbered(i)), Ok(()));
    }
    assert!(sink.is_threaded(), "a TTY is written by a thread");
    assert!(sink.flush_blocking(Instant::now() + PATIENCE));
    assert_eq!(sink.take_error(), None);
    drop(sink); // the writer exits and closes the slave
    assert_numbered(&lines, total);
}

#[test]
fn direct_sink_closed_reader_is_reported_once_and_its_sigpipe_is_marked_own() {
    let (r, w) = pipe(OFlag::empty());
    drop(r);
    let poll = Poll::new().expect("poll");
    let sink = Sink::direct(w, 4096, None, "test", poll.registry(), WAKE).expect("sink");
    assert_eq!(sink.try_push(b"into the void\n"), Ok(()));
    assert!(sink.is_broken());
    assert!(
        crate::os::signals::take_own_sigpipe(),
        "EPIPE's SIGPIPE marked as rinit's own"
    );
    assert_eq!(sink.take_error(), Some(Errno::EPIPE));
    assert_eq!(sink.take_error(), None, "reported once");
    for _ in 0..10_000 {
        assert_eq!(sink.try_push(b"more\n"), Ok(()));
    }
    assert!(sink.has_room());
    assert_eq!(sink.used(), 0);
    assert!(sink.flush_blocking(Instant::now() + PATIENCE));
}

#[test]
fn relay_sink_keeps_order_and_never_blocks() {
    // Once splicing is enabled the sink's own bytes go through a relay
    // pipe; the same promises hold: never blocks, nothing lost, in order.
    let (r, w) = pipe(OFlag::empty());
    let mut poll = Poll::new().expect("poll");
    let capacity = 32 * 1024;
    let sink = Sink::direct(w, capacity, None, "test", poll.registry(), WAKE).expect("sink");
    assert!(sink.enable_splice(), "a pipe rinit alone writes");
    assert!(sink.splice_target().is_some(), "idle: lines may be spliced");
    let total = 20_000;
    let mut next = 0;
    while next < total && sink.try_push(&numbered(next)).is_ok() {
        next += 1;
    }
    assert!(next < total, "never got Full");
    assert!(
        sink.splice_target().is_none(),
        "bytes queued: no splicing past them"
    );
    resume_and_check(&mut poll, sink, r, (next, total), false);
}

#[test]
fn relay_sink_turns_threaded_when_the_fd_becomes_shared() {
    let (r, w) = pipe(OFlag::empty());
    let poll = Poll::new().expect("poll");
    let sink = Sink::direct(w, SINK_CAPACITY, None, "test", poll.registry(), WAKE).expect("sink");
    assert!(sink.enable_splice());
    assert_eq!(sink.try_push(b"one\n"), Ok(()));
    sink.set_shared();
    assert!(sink.splice_target().is_none());
    assert_eq!(sink.try_push(b"two\n"), Ok(()));
    assert!(sink.is_threaded(), "a relay cannot keep writes atomic");
    assert!(sink.flush_blocking(Instant::now() + PATIENCE));
    drop(sink);
    let got = reader(r).recv_timeout(PATIENCE).expect("reader finished");
    assert_eq!(got, vec!["one".to_string(), "two".to_string()]);
}

#[test]
fn relay_sink_hears_the_fd_again_after_its_last_bytes_waited_in_the_relay() {
    // The relay took a line the fd had no room for, and nothing follows
    // it: the sink must still be told when the fd has room, or the line
    // would wait in the relay until some other line came along.
    let (mut r, w) = pipe(OFlag::empty());
    nix::fcntl::fcntl(&w, nix::fcntl::FcntlArg::F_SETPIPE_SZ(4096)).expect("F_SETPIPE_SZ");
    let mut poll = Poll::new().expect("poll");
    let sink = Sink::direct(w, SINK_CAPACITY, None, "test", poll.registry(), WAKE).expect("sink");
    assert!(sink.enable_splice());
    let first = [b"a".repeat(3999), b"\n".to_vec()].concat();
    assert_eq!(sink.try_push(&first), Ok(()));
    assert_eq!(sink.used(), 0, "the first line fits the one-page pipe");
    assert_eq!(sink.try_push(b"last words\n"), Ok(()));
    assert!(
        sink.used() > 0,
        "the pipe is full: the line waits in the relay"
    );
    let mut buf = vec![0u8; 8192];
    let n = r.read(&mut buf).expect("read");
    assert_eq!(&buf[..n], &first[..]);
    wait_for_wake(&mut poll);
    sink.drain();
    assert_eq!(sink.used(), 0);
    let n = r.read(&mut buf).expect("read");
    assert_eq!(&buf[..n], b"last words\n");
}
