//! End to end: `conf/laravel.toml` as shipped, running the real nginx,
//! php8.2-fpm and php8.2-cli (queue workers) under rinit as PID 1 of a PID
//! namespace (see `tests/e2e/stack.rs` for the layout). Each test is one
//! scenario of the issue; the measured times are printed (run with
//! `--nocapture` to see them).

mod common;
#[path = "e2e/stack.rs"]
mod stack;
#[path = "helpers/supervise_lib.rs"]
mod sup;

use common::*;
use stack::*;
use std::time::{Duration, Instant};
use sup::*;

/// Index of the first line containing `needle` (a panic naming it if none).
fn index_of(lines: &[String], needle: &str, all: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{all}"))
}

/// rinit's messages that are warnings or errors.
fn complaints(stderr: &str) -> Vec<String> {
    rinit_msgs(stderr)
        .into_iter()
        .filter(|m| !m.starts_with("info:") && !m.starts_with("debug:"))
        .collect()
}

#[test]
fn e2e_cold_start_hooks_then_php_fpm_then_nginx_serves_and_workers_process() {
    let mut s = Stack::start("cold");
    let body = s.wait_ok("/", WAIT);
    let first_200 = s.started.elapsed();
    eprintln!("measure: rinit start to first HTTP 200: {first_200:?}");
    assert!(body.starts_with("hello from php-fpm"), "{body}");
    s.wait_stack_running();
    let id = s.enqueue("cold-start-job");
    let t = Instant::now();
    let by = s.wait_job_done(id, Duration::from_secs(10));
    eprintln!("measure: POST to job done: {:?}", t.elapsed());
    let (code, _) = stop_with(&mut s.p, libc::SIGTERM, WAIT);
    let out = s.p.output();
    assert_eq!(code, 0, "{out}");

    // rinit's own lines, in order: each hook ran and finished before the
    // next, then php-fpm started and was running before nginx started.
    let msgs = rinit_msgs(&out.stderr);
    let all = out.to_string();
    let order = [
        "hook migrate: started",
        "hook migrate: done",
        "hook cache-clear: started",
        "hook cache-clear: done",
        "hook config-cache: started",
        "hook config-cache: done",
        "php-fpm: stopped -> starting",
        "php-fpm: starting -> running",
        "nginx: stopped -> starting",
        "nginx: starting -> running",
    ];
    let at: Vec<usize> = order.iter().map(|n| index_of(&msgs, n, &all)).collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "order {order:?} broken at {at:?}:\n{all}"
    );
    for w in ["queue-worker:0", "queue-worker:1"] {
        let started = index_of(&msgs, &format!("{w}: stopped -> starting"), &all);
        assert!(started > at[7], "{w} depends on php-fpm:\n{all}");
    }
    // The hooks' own output, prefixed, in order, on stdout.
    let hook_out: Vec<String> = out
        .stdout
        .lines()
        .filter(|l| {
            ["migrate", "cache-clear", "config-cache"]
                .iter()
                .any(|h| l.split_once(" | ").is_some_and(|(n, _)| n.trim() == *h))
        })
        .map(|l| l.split_once(" | ").unwrap().1.to_string())
        .collect();
    assert_eq!(
        hook_out,
        [
            "Migrating: create_jobs_table",
            "Migrated:  create_jobs_table",
            "Application cache cleared successfully.",
            "Configuration cached successfully.",
        ],
        "{all}"
    );
    // The job went through one worker, which said so.
    let done = format!("worker {by}: done job {id} (cold-start-job) end");
    let workers: Vec<String> = ["queue-worker:0", "queue-worker:1"]
        .iter()
        .flat_map(|w| program_lines(&out.stdout, w))
        .filter(|l| *l == done)
        .collect();
    assert_eq!(workers.len(), 1, "{all}");
    assert!(
        out.stdout.contains("\"GET / HTTP/1.0\" 200"),
        "access log:\n{all}"
    );
    assert!(complaints(&out.stderr).is_empty(), "{all}");
    assert!(
        !out.stderr.contains("[emerg]") && !out.stderr.contains("[alert]"),
        "{all}"
    );
}

#[test]
fn e2e_kill_9_of_the_php_fpm_master_is_restarted_and_http_works_again() {
    let mut s = Stack::start("kill9");
    let [master, nginx, ..] = s.wait_stack_running();
    s.wait_ok("/", WAIT);
    let host = s.host(master);
    s.p.signal(host, libc::SIGKILL);
    let t = Instant::now();
    let restart = s.msg("php-fpm: running -> starting");
    assert!(
        restart.contains(&format!("pid {master}, killed by SIGKILL")),
        "{restart}"
    );
    let again = s.msg("php-fpm: starting -> running");
    let new_master = pid_in(&again);
    assert_ne!(new_master, master);
    let body = s.wait_ok("/", WAIT);
    eprintln!(
        "measure: kill -9 of php-fpm to HTTP 200 again: {:?}",
        t.elapsed()
    );
    assert!(body.starts_with("hello from php-fpm"), "{body}");
    let (code, _) = stop_with(&mut s.p, libc::SIGTERM, WAIT);
    let out = s.p.output();
    assert_eq!(code, 0, "{out}");
    // Only php-fpm was restarted; nginx kept its pid all along.
    let msgs = rinit_msgs(&out.stderr);
    assert!(
        !msgs
            .iter()
            .any(|m| m.contains("nginx: running -> starting")),
        "{out}"
    );
    assert!(
        has_msg(
            &out.stderr,
            &[&format!("nginx: running -> stopping (pid {nginx})")]
        ),
        "{out}"
    );
}

#[test]
fn e2e_a_worker_crashing_on_a_poison_job_ends_fatal_while_the_rest_keeps_serving() {
    let mut s = Stack::start("poison");
    let [fpm, ..] = s.wait_stack_running();
    s.wait_ok("/", WAIT);
    let id = s.enqueue("poison");
    // The poison stays queued (its transaction never commits), so every
    // worker that starts takes it and crashes: after the first crash the
    // restarts fail within start_secs, go through backoff, then fatal.
    let deadline = Duration::from_secs(40);
    let mut fatal = Vec::new();
    let mut backoff = false;
    while fatal.len() < 2 {
        let l = s.p.expect_line(Stream::Err, deadline, |l| {
            rinit_msg(l).is_some_and(|m| m.contains("-> backoff") || m.contains("-> fatal"))
        });
        let m = rinit_msg(&l).unwrap().to_string();
        assert!(m.contains("queue-worker:"), "{m}");
        assert!(m.contains("exit status 3"), "{m}");
        if m.contains("-> backoff") {
            assert!(m.starts_with("warning:") && m.contains("retry in"), "{m}");
            backoff = true;
        } else {
            assert!(backoff, "fatal before any backoff: {m}");
            assert!(m.starts_with("error:") && m.contains("giving up"), "{m}");
            fatal.push(m);
        }
        // Meanwhile the site keeps answering.
        let body = s.wait_ok("/", WAIT);
        assert!(body.contains("jobs queued 1, done 0"), "{body}");
    }
    let body = s.wait_ok(&format!("/?job={id}"), WAIT);
    assert!(body.contains("pending"), "{body}");
    let (code, _) = stop_with(&mut s.p, libc::SIGTERM, WAIT);
    let out = s.p.output();
    assert_eq!(
        code, 0,
        "a non-critical program's fate is not the exit code\n{out}"
    );
    assert!(
        out.stderr
            .contains(&format!("job {id} is poison, crashing")),
        "{out}"
    );
    // php-fpm and nginx were never restarted.
    let msgs = rinit_msgs(&out.stderr);
    for p in ["php-fpm", "nginx"] {
        assert!(
            !msgs
                .iter()
                .any(|m| m.contains(&format!("{p}: running -> starting"))),
            "{out}"
        );
    }
    assert!(
        has_msg(
            &out.stderr,
            &[&format!("php-fpm: running -> stopping (pid {fpm})")]
        ),
        "{out}"
    );
}

/// Scenario 3, the critical half: the same config with
/// `QUEUE_WORKER_CRITICAL=true` makes a worker going fatal stop the
/// container, which exits with the worker's code.
#[test]
fn e2e_a_critical_worker_going_fatal_stops_the_container_with_its_code() {
    let mut s = Stack::start_with(
        "poison-critical",
        &laravel_toml(),
        &[("QUEUE_WORKER_CRITICAL", "true")],
    );
    s.wait_stack_running();
    s.wait_ok("/", WAIT);
    s.enqueue("poison");
    let code = s.p.exit_code(Duration::from_secs(60));
    let out = s.p.output();
    assert_eq!(code, 3, "the worker's exit code\n{out}");
    assert!(
        has_msg(
            &out.stderr,
            &["shutting down: critical program queue-worker:"]
        ),
        "{out}"
    );
    assert!(
        has_msg(&out.stderr, &["nginx: running -> stopping"]),
        "{out}"
    );
}

#[test]
fn e2e_graceful_stop_finishes_the_in_flight_request_and_the_current_job() {
    let mut s = Stack::start("graceful");
    s.wait_stack_running();
    s.wait_ok("/", WAIT);
    let id = s.enqueue("sleep:2");
    let processing = s.line(Stream::Out, "", &format!("processing job {id} (sleep:2)"));
    let port = s.port;
    let client =
        std::thread::spawn(move || http(port, "GET", "/?log=slow-request-started&sleep=2", ""));
    s.line(Stream::Err, "php-fpm", "slow-request-started end");
    // Both the request and the job are in flight: stop the container.
    let (code, took) = stop_with(&mut s.p, libc::SIGTERM, Duration::from_secs(15));
    eprintln!("measure: graceful stop of the Laravel stack (SIGTERM to exit): {took:?}");
    let answer = client.join().unwrap();
    let out = s.p.output();
    assert_eq!(code, 0, "{out}");
    match answer {
        Ok((200, body)) => assert!(body.starts_with("slept 2\n"), "{body}\n{out}"),
        other => panic!("the in-flight request got {other:?}\n{out}"),
    }
    assert!(
        took < Duration::from_secs(8),
        "shutdown_timeout is 8s: {took:?}\n{out}"
    );
    let worker = processing.split_once(" | ").unwrap().0.trim().to_string();
    let lines = program_lines(&out.stdout, &worker);
    let done = lines
        .iter()
        .position(|l| l.contains(&format!("done job {id} (sleep:2)")));
    let exiting = lines
        .iter()
        .position(|l| l.contains("received SIGTERM, exiting"));
    assert!(
        matches!((done, exiting), (Some(d), Some(e)) if d < e),
        "the worker finishes its job, then exits\n{out}"
    );
    for (p, sig) in [
        ("nginx", "SIGQUIT"),
        ("php-fpm", "SIGQUIT"),
        ("queue-worker:0", "SIGTERM"),
        ("queue-worker:1", "SIGTERM"),
    ] {
        assert!(
            has_msg(
                &out.stderr,
                &[&format!("{p}: running -> stopping"), &format!("sent {sig}")]
            ),
            "{p} gets {sig}\n{out}"
        );
        assert!(
            has_msg(
                &out.stderr,
                &[&format!("{p}: stopping -> stopped"), "exit status 0"]
            ),
            "{p} exits 0 by itself\n{out}"
        );
    }
    assert!(out.stderr.contains("signal 3 (SIGQUIT) received"), "{out}");
    assert!(out.stderr.contains("NOTICE: Finishing ..."), "{out}");
    // Reverse dependency order: php-fpm is asked last, once the rest is down.
    let msgs = rinit_msgs(&out.stderr);
    let fpm_stop = index_of(&msgs, "php-fpm: running -> stopping", &out.to_string());
    for p in ["nginx", "queue-worker:0", "queue-worker:1"] {
        let down = index_of(
            &msgs,
            &format!("{p}: stopping -> stopped"),
            &out.to_string(),
        );
        assert!(down < fpm_stop, "{p} stops before php-fpm\n{out}");
    }
    // Nothing needed killing: no SIGKILL, no leftover sweep, no warning.
    assert!(complaints(&out.stderr).is_empty(), "{out}");
    assert!(has_msg(&out.stderr, &["every program is down"]), "{out}");
    assert!(!out.stderr.contains("SIGKILL"), "{out}");
}

#[test]
fn e2e_every_log_line_appears_once_prefixed_and_whole() {
    let mut s = Stack::start("logs");
    s.wait_ok("/", WAIT);
    let pad = "x".repeat(3000);
    let port = s.port;
    // Four clients at once, each request leaving one long access-log line
    // (nginx, stdout) and one long line on php-fpm's stderr.
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let pad = pad.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    let path = format!("/?log=line-{c}-{i}-{pad}");
                    let r = http(port, "GET", &path, "");
                    assert!(matches!(r, Ok((200, _))), "{path}: {r:?}");
                }
            })
        })
        .collect();
    let ids: Vec<u64> = (0..10)
        .map(|j| s.enqueue(&format!("log-job-{j}")))
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    for id in &ids {
        s.wait_job_done(*id, Duration::from_secs(15));
    }
    let (code, _) = stop_with(&mut s.p, libc::SIGTERM, WAIT);
    let out = s.p.output();
    assert_eq!(code, 0, "{out}");
    let names = [
        "rinit",
        "migrate",
        "cache-clear",
        "config-cache",
        "php-fpm",
        "nginx",
        "queue-worker:0",
        "queue-worker:1",
    ];
    for l in out.stdout.lines().chain(out.stderr.lines()) {
        let ok = l
            .split_once(" | ")
            .is_some_and(|(n, _)| names.contains(&n.trim()));
        assert!(ok, "unprefixed or unknown line {l:?}");
    }
    let count = |text: &str, name: &str, want: &str| {
        program_lines(text, name)
            .iter()
            .filter(|l| *l == want)
            .count()
    };
    for c in 0..4 {
        for i in 0..10 {
            let access = format!("127.0.0.1 \"GET /?log=line-{c}-{i}-{pad} HTTP/1.0\" 200 ");
            let n = program_lines(&out.stdout, "nginx")
                .iter()
                .filter(|l| l.starts_with(&access) && l.ends_with(" end"))
                .count();
            assert_eq!(n, 1, "access log line of request {c}-{i}");
            let php = format!("line-{c}-{i}-{pad} end");
            assert_eq!(
                count(&out.stderr, "php-fpm", &php),
                1,
                "php-fpm line {c}-{i}"
            );
        }
    }
    for (j, id) in ids.iter().enumerate() {
        let n: usize = ["queue-worker:0", "queue-worker:1"]
            .iter()
            .map(|w| {
                program_lines(&out.stdout, w)
                    .iter()
                    .filter(|l| l.ends_with(&format!(": done job {id} (log-job-{j}) end")))
                    .count()
            })
            .sum();
        assert_eq!(n, 1, "worker line for job {id}");
    }
    // Every line ending in our marker is whole: no piece without it.
    for name in ["nginx", "php-fpm"] {
        let stream = if name == "nginx" {
            &out.stdout
        } else {
            &out.stderr
        };
        for l in program_lines(stream, name) {
            if l.contains("line-") {
                assert!(l.ends_with(" end"), "cut line {l:?}");
            }
        }
    }
}

/// Scenario 5: `rinit ctl reload` applies only the difference. rinit runs
/// a copy of `conf/laravel.toml` made at run time (byte for byte; its
/// control socket comes from $RINIT_CONTROL_SOCKET), because reloading means
/// editing the file: the edit adds
/// a program and changes nginx's entry (its environment) while nginx's own
/// config gains a response header.
#[test]
fn e2e_reload_restarts_only_what_changed() {
    let d = TempDir::new("e2e-reload-conf");
    let sock = d.join("rinit.sock");
    let cfg = d.join("rinit.toml");
    let base = std::fs::read_to_string(laravel_toml()).unwrap();
    std::fs::write(&cfg, &base).unwrap();
    let sock_env = sock.to_string_lossy().into_owned();
    let mut s = Stack::start_with("reload", &cfg, &[("RINIT_CONTROL_SOCKET", &sock_env)]);
    let [fpm, nginx, w0, w1] = s.wait_stack_running();
    let (_, page) = s.get("/?x=before").unwrap();
    assert!(page.starts_with("hello from php-fpm"), "{page}");

    // nginx's own config: a new header; rinit's: nginx's entry changes and
    // a program is added.
    let nginx_conf = s.dir.join("nginx.conf");
    let text = std::fs::read_to_string(&nginx_conf).unwrap();
    let text = text.replacen(
        "default_type text/plain;",
        "default_type text/plain;\n    add_header X-Reloaded yes;",
        1,
    );
    std::fs::write(&nginx_conf, text).unwrap();
    assert!(base.contains("name = \"nginx\"\n"));
    let changed = base.replacen(
        "name = \"nginx\"\n",
        "name = \"nginx\"\nenvironment = { RELOADED = \"1\" }\n",
        1,
    ) + "\n[[program]]\nname = \"scheduler\"\n\
         command = [\"php\", \"-r\", \"echo 'schedule running', PHP_EOL; sleep(1000);\"]\n";
    std::fs::write(&cfg, changed).unwrap();
    // The client finds the socket as PID 1 does: through the config, with
    // the same ${RINIT_CONTROL_SOCKET} expanded.
    let ctl = std::process::Command::new(rinit())
        .args(["ctl", "-c", &*cfg.to_string_lossy(), "reload"])
        .env("RINIT_CONTROL_SOCKET", &sock_env)
        .output()
        .unwrap();
    assert!(
        ctl.status.success(),
        "rinit ctl reload: {}{}",
        String::from_utf8_lossy(&ctl.stdout),
        String::from_utf8_lossy(&ctl.stderr)
    );
    s.line(Stream::Out, "scheduler", "schedule running");
    let [new_nginx] = s.wait_running(&["nginx"])[..] else {
        unreachable!()
    };
    assert_ne!(new_nginx, nginx);
    // The new nginx serves with its new config.
    let port = s.port;
    let deadline = Instant::now() + WAIT;
    let mut last = String::new();
    let ok = wait_until(deadline, || {
        let r = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut c| {
            use std::io::{Read, Write};
            c.set_read_timeout(Some(Duration::from_secs(5)))?;
            c.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
            let mut b = String::new();
            c.read_to_string(&mut b)?;
            Ok(b)
        });
        last = format!("{r:?}");
        last.contains("X-Reloaded: yes") && last.contains(" 200 OK")
    });
    if !ok {
        s.p.fail(&format!("no answer from the reloaded nginx: {last}"));
    }
    let (code, _) = stop_with(&mut s.p, libc::SIGTERM, WAIT);
    let out = s.p.output();
    assert_eq!(code, 0, "{out}");
    // The unchanged programs kept their processes; nginx was restarted once.
    for (p, pid) in [
        ("php-fpm", fpm),
        ("queue-worker:0", w0),
        ("queue-worker:1", w1),
        ("nginx", new_nginx),
    ] {
        assert!(
            has_msg(
                &out.stderr,
                &[&format!("{p}: running -> stopping (pid {pid})")]
            ),
            "{p} runs its first process (or nginx its second) until shutdown\n{out}"
        );
    }
    let msgs = rinit_msgs(&out.stderr);
    let starts = |p: &str| {
        msgs.iter()
            .filter(|m| m.contains(&format!("{p}: ")) && m.contains("-> starting"))
            .count()
    };
    assert_eq!(starts("php-fpm"), 1, "{out}");
    assert_eq!(starts("queue-worker:0"), 1, "{out}");
    assert_eq!(starts("nginx"), 2, "{out}");
    assert_eq!(starts("scheduler"), 1, "{out}");
}
