//! LogMux end to end, as the event loop will drive it: two sources × two
//! streams × many lines of mixed length (some far over `MAX_LINE`, some not
//! UTF-8) into real pipes with small sinks, so backpressure kicks in. Every
//! line must come out exactly once, intact, on the right stream, with the
//! right prefix, in per-source order. Waits are on events with deadlines.

use std::fs::File;
use std::io::Read;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};
use nix::fcntl::OFlag;
use rinit::logmux::{Format, FormatOptions, LogMux, READ_SIZE, Sink, SourceId, Stream};

const LOG: Token = Token(1);
const PATIENCE: Duration = Duration::from_secs(60);
const NAMES: [&str; 2] = ["web", "queue-worker:1"];
const WIDTH: usize = 14; // "queue-worker:1"

/// A tiny deterministic PRNG (no dependency, same run every time).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// The lines one source writes to one stream (without their `\n`).
fn lines_for(src: usize, stream: Stream, rng: &mut Lcg) -> Vec<Vec<u8>> {
    (0..1500)
        .map(|seq| {
            let mut l = format!("{}/{}/{seq:05} ", NAMES[src], stream.as_str()).into_bytes();
            let len = if seq % 97 == 0 {
                20_000 + rng.next(30_000)
            } else {
                rng.next(300)
            };
            // Any byte but '\n', invalid UTF-8 included.
            l.extend((0..len).map(|_| match rng.next(256) as u8 {
                b'\n' => b'.',
                b => b,
            }));
            l
        })
        .collect()
}

fn pipe() -> (File, std::os::fd::OwnedFd) {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    (File::from(r), w)
}

/// Reads everything once told to start; returns the bytes at EOF.
fn reader(mut r: File, start: mpsc::Receiver<()>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut all = Vec::new();
        if start.recv().is_ok() {
            let _ = r.read_to_end(&mut all);
        }
        let _ = tx.send(all);
    });
    rx
}

/// Parse prefix output back into whole lines per source name, joining
/// `+` pieces with the piece that follows.
fn reassemble(out: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut pending: Vec<(String, Vec<u8>)> = Vec::new();
    let mut whole = Vec::new();
    for line in out.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue; // only after the last '\n': no program line is empty here
        }
        let name = String::from_utf8(line[..WIDTH].to_vec())
            .expect("name")
            .trim_end()
            .to_string();
        let (sep, content) = (line[WIDTH + 1], &line[WIDTH + 3..]);
        assert_eq!(&line[WIDTH..WIDTH + 1], b" ");
        let idx = match pending.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                pending.push((name.clone(), Vec::new()));
                pending.len() - 1
            }
        };
        pending[idx].1.extend_from_slice(content);
        match sep {
            b'+' => {}
            b'|' => whole.push((name, std::mem::take(&mut pending[idx].1))),
            other => panic!(
                "bad separator {other:?} in {:?}",
                String::from_utf8_lossy(line)
            ),
        }
    }
    assert!(
        pending.iter().all(|(_, p)| p.is_empty()),
        "a split line never ended"
    );
    whole
}

#[test]
fn two_sources_two_streams_every_line_once_in_order() {
    let mut poll = Poll::new().expect("poll");
    let waker = Arc::new(Waker::new(poll.registry(), LOG).expect("waker"));
    let (r_out, w_out) = pipe();
    let (r_err, w_err) = pipe();
    // Small sinks so the overflow and the waker are exercised constantly.
    let sink_out = Sink::new(w_out, 8 * 1024, Some(Arc::clone(&waker)), "stdout").expect("sink");
    let sink_err = Sink::new(w_err, 8 * 1024, Some(waker), "stderr").expect("sink");
    let opts = FormatOptions {
        format: Format::Prefix,
        ..FormatOptions::default()
    };
    let mut mux = LogMux::new(opts, sink_out, sink_err);
    let ids: Vec<SourceId> = NAMES.iter().map(|n| mux.register(n)).collect();

    let mut rng = Lcg(42);
    let streams = [Stream::Stdout, Stream::Stderr];
    // (source, stream, lines, the bytes the program writes, how far read)
    let mut gens = Vec::new();
    for src in 0..2 {
        for stream in streams {
            let lines = lines_for(src, stream, &mut rng);
            let mut bytes: Vec<u8> = lines
                .iter()
                .flat_map(|l| l.iter().copied().chain([b'\n']))
                .collect();
            bytes.extend_from_slice(b"tail without newline");
            gens.push((src, stream, lines, bytes, 0usize));
        }
    }

    let (start_out, start_err) = (mpsc::channel(), mpsc::channel());
    let out_rx = reader(r_out, start_out.1);
    let err_rx = reader(r_err, start_err.1);
    let mut started = false;
    let mut blocked_before_start = [false, false];
    let mut events = Events::with_capacity(8);
    let deadline = Instant::now() + PATIENCE;

    loop {
        let mut progress = false;
        let mut all_done = true;
        for (src, stream, _, bytes, at) in gens.iter_mut() {
            if *at == bytes.len() {
                continue;
            }
            all_done = false;
            if !mux.can_accept(*stream) {
                blocked_before_start[(*stream == Stream::Stderr) as usize] |= !started;
                continue; // the loop stops reading this pipe
            }
            let n = (1 + rng.next(READ_SIZE)).min(bytes.len() - *at);
            mux.feed(ids[*src], *stream, &bytes[*at..*at + n], Instant::now());
            *at += n;
            progress = true;
        }
        if all_done {
            break;
        }
        if !progress {
            // Both outputs are stuck: only now let the readers read, so
            // backpressure is certain to have happened.
            if !started {
                started = true;
                start_out.0.send(()).expect("start");
                start_err.0.send(()).expect("start");
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no wake-up: the mux stalled");
            poll.poll(&mut events, Some(left)).expect("poll");
            if events.iter().any(|e| e.token() == LOG) {
                mux.pump();
            }
        }
    }
    assert_eq!(
        blocked_before_start,
        [true, true],
        "backpressure was never exercised"
    );
    if !started {
        start_out.0.send(()).expect("start");
        start_err.0.send(()).expect("start");
    }
    assert!(
        mux.flush_blocking(Instant::now() + PATIENCE),
        "flush timed out"
    );
    drop(mux); // writers finish and close the pipes

    for (stream, rx) in [(Stream::Stdout, out_rx), (Stream::Stderr, err_rx)] {
        let out = rx.recv_timeout(PATIENCE).expect("reader finished");
        let got = reassemble(&out);
        for (src, name) in NAMES.iter().enumerate() {
            let mine: Vec<&Vec<u8>> = got
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, l)| l)
                .collect();
            let (_, _, want, _, _) = gens
                .iter()
                .find(|g| g.0 == src && g.1 == stream)
                .expect("gen");
            assert_eq!(mine.len(), want.len() + 1, "{name} {stream:?}: line count");
            for (i, (g, w)) in mine.iter().zip(want.iter()).enumerate() {
                assert!(*g == w, "{name} {stream:?}: line {i} differs");
            }
            assert_eq!(
                mine.last().map(|l| l.as_slice()),
                Some(b"tail without newline".as_slice())
            );
        }
        assert_eq!(got.len(), 2 * 1501, "{stream:?}: no stray lines");
    }
}

#[test]
fn partial_lines_ticks_rinit_messages_and_a_dead_stdout() {
    let mut poll = Poll::new().expect("poll");
    let waker = Arc::new(Waker::new(poll.registry(), LOG).expect("waker"));
    let (r_out, w_out) = pipe();
    let (r_err, w_err) = pipe();
    drop(r_out); // nobody reads stdout: EPIPE
    let sink_out = Sink::new(w_out, 4096, Some(Arc::clone(&waker)), "stdout").expect("sink");
    let sink_err = Sink::new(w_err, 4096, Some(waker), "stderr").expect("sink");
    let mut mux = LogMux::new(FormatOptions::default(), sink_out, sink_err);
    let web = mux.register("web");
    let (start, go) = mpsc::channel();
    let err_rx = reader(r_err, go);
    start.send(()).expect("start");

    let t0 = Instant::now();
    assert_eq!(mux.next_deadline(), None);
    mux.feed(web, Stream::Stderr, b"prompt> ", t0);
    mux.log_rinit(log::Level::Info, "web: starting -> running");
    assert_eq!(mux.next_deadline(), Some(t0 + rinit::logmux::PARTIAL_DELAY));
    mux.tick(t0 + rinit::logmux::PARTIAL_DELAY);
    assert_eq!(mux.next_deadline(), None);

    // The dead stdout: the write fails, the sink wakes the loop, the loop
    // pumps and the error is said once on stderr; supervision goes on.
    mux.feed(web, Stream::Stdout, b"lost\n", t0);
    let mut events = Events::with_capacity(8);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no wake for the failed output");
        poll.poll(&mut events, Some(left)).expect("poll");
        if events.iter().any(|e| e.token() == LOG) {
            break;
        }
    }
    mux.pump();
    mux.feed(web, Stream::Stdout, b"also lost\n", t0);
    mux.pump();
    assert!(mux.can_accept(Stream::Stdout));
    assert!(mux.flush_blocking(Instant::now() + PATIENCE));
    drop(mux);
    let err = String::from_utf8(err_rx.recv_timeout(PATIENCE).expect("reader")).expect("utf8");
    assert_eq!(
        err,
        "rinit | info: web: starting -> running\n\
         web   | prompt> \n\
         rinit | error: cannot write to stdout: Broken pipe; its output is discarded\n"
    );
}
