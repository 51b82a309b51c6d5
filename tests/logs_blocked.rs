//! The container's stdout stops being read, or goes away:
//! - blocked for 5 s: PID 1 still reaps and restarts, forwards signals and
//!   shuts down on TERM; its memory stays bounded; once reading resumes,
//!   no line is missing;
//! - reader closed (EPIPE): rinit keeps supervising, says so once on
//!   stderr, and the EPIPE's SIGPIPE is not forwarded to the programs.

mod common;
mod logs_support;

use logs_support::*;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// chatty floods stdout; restarter lives 300 ms and is restarted forever;
/// sig reports SIGUSR2 on stderr.
fn config(chatty_count: &str) -> String {
    let sig = "import os, signal\n\
               signal.signal(signal.SIGUSR2, lambda *a: os.write(2, b'got USR2\\n'))\n\
               os.write(2, b'sig ready\\n')\n\
               while True: signal.pause()";
    format!(
        "[rinit]\nshutdown_timeout = \"5s\"\n\
         [[program]]\nname = \"chatty\"\ncommand = {}\n\
         [[program]]\nname = \"restarter\"\ncommand = \"echo started >&2; sleep 0.3; exit 1\"\n\
         start_secs = \"100ms\"\nbackoff = \"100ms\"\nbackoff_max = \"100ms\"\n\
         [[program]]\nname = \"sig\"\ncommand = [{}, \"-c\", {}]\n",
        py_command("numbered.py", &[chatty_count]),
        toml_str(common::python()),
        toml_str(sig)
    )
}

/// Bytes waiting in a pipe (FIONREAD).
fn queued(f: &std::fs::File) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the valid pointer.
    unsafe { libc::ioctl(f.as_raw_fd(), libc::FIONREAD, &mut n) };
    n as usize
}

fn rss_kib(pid: i32) -> u64 {
    common::status_field(pid, "VmRSS").unwrap_or(0)
}

#[test]
fn blocked_stdout_keeps_pid1_working_and_loses_nothing() {
    let (r_out, w_out) = pipe();
    let (r_err, w_err) = pipe();
    // 200 000 lines of ~70 bytes: 13 MB, far more than pipes and sinks hold.
    let mut run = Run::start(
        "blocked",
        &config("200000"),
        &[],
        w_out.into(),
        w_err.into(),
    );
    let err = Collector::start(r_err);
    let rinit = run.rinit_pid();

    // Blocked: we never read our end of rinit's stdout, and it has filled
    // far enough that rinit's writer is stuck (pages of a pipe are not all
    // full: each write of up to PIPE_BUF whole lines takes its own).
    let full = common::wait_until(Instant::now() + common::WAIT, || {
        queued(&r_out) >= 32 * 1024
    });
    assert!(full, "stdout pipe never filled; stderr:\n{}", err.text());
    let blocked_at = Instant::now();
    assert!(
        err.wait_for(common::WAIT, |b| has(b, "sig ready")),
        "{}",
        err.text()
    );

    // Reaping and restarting go on.
    let before = err.count("restarter | started");
    let more = err.wait_for(common::WAIT, |b| {
        String::from_utf8_lossy(b)
            .matches("restarter | started")
            .count()
            >= before + 2
    });
    assert!(
        more,
        "restarter not restarted while stdout blocked:\n{}",
        err.text()
    );
    // Signals are still forwarded.
    run.signal(libc::SIGUSR2);
    assert!(
        err.wait_for(common::WAIT, |b| has(b, "| got USR2")),
        "{}",
        err.text()
    );
    // Keep not reading for 5 s in all (the scenario, not a synchronisation).
    std::thread::sleep(Duration::from_secs(5).saturating_sub(blocked_at.elapsed()));
    assert!(
        !has(&err.bytes(), "numbered done"),
        "chatty was never held back"
    );
    let rss = rss_kib(rinit);
    eprintln!("rinit VmRSS with stdout blocked: {rss} KiB");
    assert!(
        rss < 24 * 1024,
        "PID 1 grew to {rss} KiB while stdout was blocked"
    );

    // Shut down while still blocked.
    run.signal(libc::SIGTERM);
    assert!(
        err.wait_for(common::WAIT, |b| has(b, "chatty: stopping -> stopped")),
        "{}",
        err.text()
    );
    let out = Collector::start(r_out).wait_eof(common::WAIT);
    assert_eq!(run.wait(common::WAIT).code(), Some(0), "{}", err.text());

    // Every line chatty wrote, once, in order, from the first.
    let lines = lines(&out);
    // At least what the sink held (1 MiB of 72-byte lines) got through.
    assert!(lines.len() > (1 << 20) / 72, "only {} lines", lines.len());
    for (seq, line) in lines.iter().enumerate() {
        let want = format!("chatty    | {seq} {}", "x".repeat(60));
        assert_eq!(line, &want, "line {seq}; stderr:\n{}", err.text());
    }
}

#[test]
fn closed_stdout_is_reported_once_and_supervision_goes_on() {
    let (r_out, w_out) = pipe();
    drop(r_out);
    let (r_err, w_err) = pipe();
    let mut run = Run::start("epipe", &config("0"), &[], w_out.into(), w_err.into());
    let err = Collector::start(r_err);
    let said = err.wait_for(common::WAIT, |b| has(b, "cannot write to stdout"));
    assert!(said, "EPIPE not reported:\n{}", err.text());
    let before = err.count("restarter | started");
    let more = err.wait_for(common::WAIT, |b| {
        String::from_utf8_lossy(b)
            .matches("restarter | started")
            .count()
            >= before + 2
    });
    assert!(more, "supervision stopped after EPIPE:\n{}", err.text());
    run.signal(libc::SIGTERM);
    assert_eq!(run.wait(common::WAIT).code(), Some(0), "{}", err.text());
    let text = err.text();
    assert_eq!(text.matches("cannot write to stdout").count(), 1, "{text}");
    // chatty kept running: the EPIPE's SIGPIPE did not reach it.
    assert_eq!(
        text.matches("chatty: stopped -> starting").count(),
        1,
        "{text}"
    );
    assert!(!text.contains("SIGPIPE"), "{text}");
}

/// Long lines (5 kB, more than a pipe page) while stdout is blocked: rinit stops reading with a
/// line half read; its partial-line timer must not cut that line while the
/// rest still waits in the pipe (found by the benchmark's blocked run).
#[test]
fn lines_are_not_cut_while_stdout_is_blocked() {
    let (r_out, w_out) = pipe();
    let (r_err, w_err) = pipe();
    let cfg = format!(
        "[rinit]\nexit_when = \"all-done\"\n\
         [[program]]\nname = \"long\"\nrestart = \"never\"\ncommand = {}\n",
        py_command("numbered.py", &["3000", "5000"]),
    );
    let mut run = Run::start("blocked-long", &cfg, &[], w_out.into(), w_err.into());
    let err = Collector::start(r_err);
    // Nobody reads rinit's stdout until it has filled (however slowly the
    // program starts), and for half a second at least: the scenario itself,
    // well past the 100 ms partial-line delay.
    let blocked_at = std::time::Instant::now();
    let filled = common::wait_until(blocked_at + common::WAIT, || queued(&r_out) >= 32 * 1024);
    assert!(filled, "stdout pipe never filled; stderr:\n{}", err.text());
    std::thread::sleep(Duration::from_millis(500).saturating_sub(blocked_at.elapsed()));
    let out = Collector::start(r_out);
    let done = err.wait_for(common::WAIT, |b| has(b, "numbered done 3000"));
    assert!(done, "{}", err.text());
    run.signal(libc::SIGTERM);
    let out = out.wait_eof(common::WAIT);
    run.wait(common::WAIT);
    let lines = lines(&out);
    assert_eq!(lines.len(), 3000, "stderr:\n{}", err.text());
    for (seq, line) in lines.iter().enumerate() {
        let want = format!("{seq} {}", "x".repeat(5000));
        let ok = line
            .split_once(" | ")
            .is_some_and(|(name, text)| name.trim_end() == "long" && text == want);
        assert!(ok, "line {seq} cut or changed: {:.80}…", line);
    }
}
