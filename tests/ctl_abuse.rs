//! A hostile or broken control client never stalls PID 1: garbage, a huge
//! line, 500 idle connections held open, a client that never reads its
//! replies — meanwhile a crashing program is still restarted on time and a
//! good client's `status` still answers.

mod common;
mod ctl_support;

use common::{WAIT, wait_until};
use ctl_support::start;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

const CRASHY: &str = r#"
[[program]]
name = "crashy"
command = "sleep 0.2; exit 1"
start_secs = "100ms"
"#;

fn reply_to(sock: &std::path::Path, send: &[u8]) -> String {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    // The server may close after the error reply while we still write.
    let _ = s.write_all(send);
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    line
}

#[test]
fn hostile_clients_do_not_stall_the_loop() {
    let mut r = start("ctl-abuse", "", CRASHY);
    r.wait_state("crashy", "running");

    // Garbage and bad requests get an error line each.
    let l = reply_to(&r.sock, b"hello there\n");
    assert!(
        l.contains("\"ok\":false") && l.contains("invalid request"),
        "{l}"
    );
    let l = reply_to(&r.sock, b"\xff\xfe\x00garbage\n");
    assert!(l.contains("invalid request"), "{l}");
    let l = reply_to(&r.sock, b"{\"v\":9,\"cmd\":\"status\"}\n");
    assert!(l.contains("unsupported protocol version 9"), "{l}");

    // A huge line: an error, then the connection is closed.
    let huge = vec![b'x'; 1024 * 1024];
    let l = reply_to(&r.sock, &huge);
    assert!(l.contains("request too long"), "{l}");

    // 500 idle connections, held open for the rest of the test.
    let idle: Vec<UnixStream> = (0..500)
        .map(|_| UnixStream::connect(&r.sock).unwrap())
        .collect();

    // A client that pipelines requests and never reads: it is dropped
    // once its replies pile up, so its writes end with an error.
    let sock = r.sock.clone();
    let greedy = std::thread::spawn(move || {
        let mut s = UnixStream::connect(sock).unwrap();
        s.set_write_timeout(Some(WAIT)).unwrap();
        let req = b"{\"v\":1,\"cmd\":\"status\"}\n".repeat(1000);
        let start = Instant::now();
        loop {
            if let Err(e) = s.write_all(&req) {
                return (e.kind(), start.elapsed());
            }
        }
    });

    // Meanwhile: the crash loop goes on at its pace, status answers fast.
    let restarts = |r: &mut ctl_support::Live| r.one("crashy")["restarts"].as_u64().unwrap();
    let first = restarts(&mut r);
    let t = Instant::now();
    let mut answered = 0;
    while restarts(&mut r) < first + 5 {
        answered += 1;
        if t.elapsed() > Duration::from_secs(4) {
            r.proc
                .fail("crashy was not restarted 5 times in 4 s (it crashes every 0.2 s)");
        }
    }
    assert!(answered > 1);
    let (kind, took) = greedy.join().unwrap();
    assert!(
        matches!(
            kind,
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        ),
        "the non-reading client was not dropped: {kind:?} after {took:?}"
    );

    // The idle ones beyond the limit were closed (EOF or an error line);
    // none of them got in the way.
    let mut closed = 0;
    for mut s in idle {
        s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
        let mut b = [0u8; 256];
        if s.read(&mut b).is_ok() {
            closed += 1;
        }
    }
    assert!(
        closed >= 500 - 64,
        "only {closed} idle connections were closed"
    );
    let t = Instant::now();
    // crashy is up or restarting: either answer is right, and fast.
    let code = r.ctl(&["health"]).status.code();
    assert!(matches!(code, Some(0 | 1)), "{code:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(wait_until(Instant::now() + WAIT, || r
        .ctl(&["status"])
        .status
        .success()));
    r.shutdown();
}
