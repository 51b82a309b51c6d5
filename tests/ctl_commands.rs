//! `rinit ctl` against a live PID 1: every subcommand, exit codes, the
//! socket's mode and cleanup, `status --json`, `logs -f`, `health`.

mod common;
mod ctl_support;

use common::{WAIT, wait_until};
use ctl_support::{client, start, text};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::process::Stdio;
use std::time::Instant;

const TICKER: &str = r#"
[[program]]
name = "web"
command = "i=0; while :; do i=$((i+1)); echo line-$i; sleep 0.05; done"
start_secs = "100ms"

[[program]]
name = "worker"
command = "trap 'echo got-usr1' USR1; echo worker-up; while :; do sleep 0.05; done"
start_secs = "100ms"
instances = 2
"#;

#[test]
fn status_start_stop_restart_signal_shutdown() {
    let mut r = start("ctl-cmds", "", TICKER);
    let meta = std::fs::symlink_metadata(&r.sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    let web = r.pid("web");
    r.pid("worker:0");
    let st = r.status();
    let names: Vec<&str> = st.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["web", "worker:0", "worker:1"]);
    assert_eq!(st[0]["program"], "web");
    assert_eq!(st[1]["program"], "worker");
    assert!(st[0]["uptime_ms"].as_u64().is_some());
    assert_eq!(st[0]["restarts"], 0);

    let table = text(&r.ctl_ok(&["status", "web"], 0).stdout);
    assert!(table.starts_with("web   running   pid "), "{table}");

    let out = r.ctl_ok(&["stop", "worker"], 0);
    assert_eq!(text(&out.stdout), "worker:0: stopped\nworker:1: stopped\n");
    assert_eq!(r.one("worker:1")["pid"], serde_json::Value::Null);
    r.ctl_ok(&["start", "worker:1"], 0);
    assert_eq!(r.one("worker:1")["state"], "running");
    assert_eq!(r.one("worker:0")["state"], "stopped");

    let out = r.ctl_ok(&["restart", "web"], 0);
    assert_eq!(text(&out.stdout), "web: running\n");
    let p = r.one("web");
    assert_ne!(p["pid"].as_i64().unwrap(), web, "restart gives a new pid");
    assert_eq!(p["restarts"], 1);

    // signal: the shell's trap prints through the log multiplexer.
    r.ctl_ok(&["signal", "USR1", "worker:1"], 0);
    r.proc.expect_line(common::Stream::Out, WAIT, |l| {
        l.contains("worker:1 | got-usr1")
    });

    let err = r.ctl_ok(&["stop", "nope"], 1);
    assert!(text(&err.stderr).contains("no program named \"nope\""));
    let err = r.ctl_ok(&["signal", "NOTASIG", "web"], 1);
    assert!(text(&err.stderr).contains("unknown signal"));
    r.ctl_ok(&["stop"], 2);
    r.ctl_ok(&["frobnicate"], 2);
    r.ctl_ok(&["status", "--bogus"], 2);
    r.shutdown();
}

#[test]
fn start_waits_and_reports_a_fatal_program() {
    let mut r = start(
        "ctl-fatal",
        "",
        r#"
[[program]]
name = "ok"
command = "sleep 1000"
start_secs = "100ms"

[[program]]
name = "broken"
command = "echo broken-out; exit 3"
autostart = false
start_retries = 2
backoff = "50ms"
"#,
    );
    r.pid("ok");
    r.ctl_ok(&["health"], 0);
    let out = r.ctl_ok(&["start", "broken"], 1);
    let err = text(&out.stderr);
    assert!(
        err.contains("broken: fatal (last exit: exit status 3)"),
        "{err}"
    );
    // Not autostart: health does not care.
    r.ctl_ok(&["health"], 0);
    let logs = r.ctl_ok(&["logs", "broken"], 0);
    assert_eq!(text(&logs.stdout), "broken-out\nbroken-out\n");
    r.ctl_ok(&["start", "broken", "--no-wait"], 0);
    r.shutdown();
}

#[test]
fn health_flips_when_a_program_goes_fatal() {
    let mut r = start(
        "ctl-health",
        "",
        r#"
[[program]]
name = "flaky"
command = "while [ ! -e @DIR@/die ]; do sleep 0.05; done; exit 4"
start_secs = "300ms"
start_retries = 1
"#,
    );
    r.pid("flaky");
    let t = Instant::now();
    r.ctl_ok(&["health"], 0);
    assert!(t.elapsed() < std::time::Duration::from_secs(2));
    std::fs::write(r.dir.join("die"), "").unwrap();
    r.wait_state("flaky", "fatal");
    let out = r.ctl_ok(&["health"], 1);
    assert!(
        text(&out.stderr).contains("flaky: fatal (exit status 4)"),
        "{}",
        text(&out.stderr)
    );
    r.shutdown();
}

#[test]
fn logs_tail_and_follow() {
    let mut r = start("ctl-logs", "", TICKER);
    r.pid("web");
    let out = r.ctl_ok(&["logs", "web", "-n", "3"], 0);
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let n = |l: &str| l.trim_start_matches("line-").parse::<u64>().unwrap();
    assert_eq!(n(&lines[2]), n(&lines[0]) + 2, "consecutive, oldest first");
    let err = r.ctl_ok(&["logs", "worker"], 1);
    assert!(text(&err.stderr).contains("worker:0, worker:1"));
    assert_eq!(
        text(&r.ctl_ok(&["logs", "worker:0"], 0).stdout),
        "worker-up\n"
    );

    // -f: the tail, then lines written later, as they come.
    let mut f = client(&r.sock, &["logs", "web", "-n", "1", "-f"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut rd = BufReader::new(f.stdout.take().unwrap());
    let mut first = String::new();
    rd.read_line(&mut first).unwrap();
    let start_n = n(first.trim());
    let deadline = Instant::now() + WAIT;
    let mut last = start_n;
    while last < start_n + 10 {
        let mut l = String::new();
        assert!(Instant::now() < deadline, "follow stalled at line {last}");
        assert!(rd.read_line(&mut l).unwrap() > 0, "follow ended early");
        let k = n(l.trim());
        assert_eq!(k, last + 1, "followed lines are consecutive");
        last = k;
    }
    // The follower ends when rinit goes away.
    r.ctl_ok(&["shutdown"], 0);
    assert_eq!(r.proc.exit_code(WAIT), 0);
    assert!(wait_until(Instant::now() + WAIT, || matches!(
        f.try_wait(),
        Ok(Some(_))
    )));
    assert!(!r.sock.exists());
}

#[test]
fn logs_tail_in_raw_format() {
    // Raw lines on a pipe are spliced past the formatter: the tail must
    // still have them, whole and in order.
    let mut r = start("ctl-logs-raw", "log_format = \"raw\"\n", TICKER);
    r.pid("web");
    let n = |l: &str| l.trim_start_matches("line-").parse::<u64>().unwrap();
    let deadline = Instant::now() + WAIT;
    let lines = loop {
        let out = r.ctl_ok(&["logs", "web", "-n", "3"], 0);
        let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
        if lines.len() == 3 {
            break lines;
        }
        assert!(
            Instant::now() < deadline,
            "tail never reached 3 lines: {lines:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(n(&lines[1]), n(&lines[0]) + 1, "{lines:?}");
    assert_eq!(n(&lines[2]), n(&lines[0]) + 2, "{lines:?}");
    r.ctl_ok(&["shutdown"], 0);
    assert_eq!(r.proc.exit_code(WAIT), 0);
}

#[test]
fn unreachable_rinit_is_exit_3_naming_the_socket() {
    let dir = common::TempDir::new("ctl-none");
    let sock = dir.join("nothing.sock");
    let out = client(&sock, &["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(
        err.contains(&*sock.to_string_lossy()) && err.contains("is rinit running"),
        "{err}"
    );
    // A stale socket file nobody listens on.
    let l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    drop(l);
    let out = client(&sock, &["health"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("connection refused"));
}

#[test]
fn socket_found_through_the_config_and_stale_file_replaced() {
    let dir = common::TempDir::new("ctl-find");
    let sock = dir.join("ctl.sock");
    // A stale socket from a previous run is replaced.
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    let cfg = dir.join("rinit.toml");
    let programs = "[[program]]\nname = \"s\"\ncommand = \"sleep 1000\"\nstart_secs = 0\n";
    std::fs::write(&cfg, ctl_support::config_text(&sock, "", programs)).unwrap();
    let cfg_s = cfg.to_string_lossy().into_owned();
    let mut p = common::Rinit::new(&["-c", cfg_s.as_str()]).spawn();
    let run = |args: &[&str], env: Option<&str>| {
        let mut c = std::process::Command::new(common::rinit());
        c.arg("ctl").args(args).env_remove("RINIT_CONFIG");
        if let Some(e) = env {
            c.env("RINIT_CONFIG", e);
        }
        c.output().unwrap()
    };
    let up = || {
        let o = run(&["-c", cfg_s.as_str(), "status", "--json"], None);
        o.status.success() && text(&o.stdout).contains("\"running\"")
    };
    if !wait_until(Instant::now() + WAIT, up) {
        p.fail("status through -c never answered");
    }
    let o = run(&["health"], Some(&cfg_s));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = run(&["-c", cfg_s.as_str(), "shutdown"], None);
    assert!(o.status.success());
    assert_eq!(p.exit_code(WAIT), 0);
    assert!(!sock.exists());
}
