//! Entrypoint hooks and the main command (SPEC §1, §3), with rinit as PID 1
//! of a PID namespace: order, abort/continue, timeouts, the env hand-off,
//! SIGTERM during a hook, and the main command's exit code.

mod common;
use common::*;
use std::fs;
use std::path::Path;

/// Write `body` as the config and return its path.
fn config(dir: &TempDir, body: &str) -> String {
    let p = dir.join("rinit.toml");
    fs::write(&p, body).unwrap();
    p.to_string_lossy().into_owned()
}

/// Lines of a log file the test's processes append to.
fn lines(p: &Path) -> Vec<String> {
    fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `name | text` with the name padded: true when both match.
fn is(line: &str, name: &str, text: &str) -> bool {
    match line.split_once(" | ") {
        Some((n, t)) => n.trim_end() == name && t == text,
        None => false,
    }
}

fn wait_for_line(p: &Path, want: &str) -> bool {
    wait_until(std::time::Instant::now() + WAIT, || {
        lines(p).iter().any(|l| l == want)
    })
}

#[test]
fn hooks_run_in_order_and_finish_before_the_first_program() {
    let d = TempDir::new("hooks-order");
    let log = d.join("order.log");
    let hooks_dir = d.join("start.d");
    fs::create_dir(&hooks_dir).unwrap();
    let dir_hook = hooks_dir.join("10-from-dir");
    fs::write(
        &dir_hook,
        format!("#!/bin/sh\necho dir-hook >> {}\n", log.display()),
    )
    .unwrap();
    fs::set_permissions(
        &dir_hook,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    fs::write(
        hooks_dir.join("20-not-executable"),
        "#!/bin/sh\necho never\n",
    )
    .unwrap();
    let cfg = config(
        &d,
        &format!(
            r#"
[rinit]
hooks_dir = "{hooks}"
[[hook]]
name = "first"
command = 'echo first-begin >> {log}; sleep 0.2; echo first-end >> {log}; echo "migrating"'
[[hook]]
name = "second"
command = 'echo second >> {log}'
[[program]]
name = "web"
command = 'echo web >> {log}; exec sleep 1000'
"#,
            hooks = hooks_dir.display(),
            log = log.display()
        ),
    );
    let mut p = Rinit::new(&["-c", &cfg]).spawn();
    assert!(wait_for_line(&log, "web"), "{}", p.transcript());
    assert_eq!(
        lines(&log),
        ["first-begin", "first-end", "second", "dir-hook", "web"]
    );
    p.expect_line(Stream::Out, WAIT, |l| is(l, "first", "migrating"));
    let rinit = p.rinit_pid();
    p.signal(rinit, libc::SIGTERM);
    let out = p.output();
    assert_eq!(out.code(), 0, "{out}");
    assert!(
        out.stderr.contains("20-not-executable: not executable"),
        "{out}"
    );
}

#[test]
fn a_failing_hook_aborts_runs_stop_hooks_and_exits_with_its_code() {
    let d = TempDir::new("hooks-abort");
    let cfg = config(
        &d,
        &format!(
            r#"
[[hook]]
name = "migrate"
command = 'echo "SQLSTATE: connection refused" >&2; exit 3'
[[hook]]
name = "never"
command = 'touch {dir}/never'
[[hook]]
name = "cleanup"
stage = "stop"
command = 'touch {dir}/cleanup'
[[program]]
name = "web"
command = 'touch {dir}/web; exec sleep 1000'
"#,
            dir = d.path().display()
        ),
    );
    let out = Rinit::new(&["-c", &cfg]).run();
    assert_eq!(out.code(), 3, "{out}");
    assert!(
        d.join("cleanup").exists(),
        "stop hooks run after an abort\n{out}"
    );
    assert!(!d.join("web").exists(), "no program may start\n{out}");
    assert!(
        !d.join("never").exists(),
        "no hook after the failing one\n{out}"
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| is(l, "migrate", "SQLSTATE: connection refused")),
        "{out}"
    );
    assert!(
        out.stderr.contains("hook migrate failed: exit status 3"),
        "{out}"
    );
}

#[test]
fn on_failure_continue_goes_on() {
    let d = TempDir::new("hooks-continue");
    let cfg = config(
        &d,
        &format!(
            r#"
[[hook]]
name = "cache-clear"
command = 'exit 1'
on_failure = "continue"
[[program]]
name = "web"
command = 'touch {dir}/web; exec sleep 1000'
"#,
            dir = d.path().display()
        ),
    );
    let mut p = Rinit::new(&["-c", &cfg]).spawn();
    let web = d.join("web");
    assert!(
        wait_until(std::time::Instant::now() + WAIT, || web.exists()),
        "{}",
        p.transcript()
    );
    let rinit = p.rinit_pid();
    p.signal(rinit, libc::SIGTERM);
    let out = p.output();
    assert_eq!(out.code(), 0, "{out}");
    assert!(
        out.stderr
            .contains("hook cache-clear failed: exit status 1; continuing"),
        "{out}"
    );
}

#[test]
fn a_hanging_hook_is_killed_at_its_timeout_with_its_children() {
    let d = TempDir::new("hooks-timeout");
    let pidfile = d.join("child.pid");
    let cfg = config(
        &d,
        &format!(
            r#"
[[hook]]
name = "hang"
command = 'sleep 1000 & echo $! > {pidfile}; wait'
timeout = "500ms"
on_failure = "continue"
[[program]]
name = "web"
command = 'touch {dir}/web; exec sleep 1000'
"#,
            pidfile = pidfile.display(),
            dir = d.path().display()
        ),
    );
    let mut p = Rinit::new(&["-c", &cfg])
        .env("RINIT_KILL_GRACE", "300")
        .spawn();
    let web = d.join("web");
    assert!(
        wait_until(std::time::Instant::now() + WAIT, || web.exists()),
        "{}",
        p.transcript()
    );
    // The hook's background child (same process group) is gone too, while
    // rinit is still running: the timeout killed the whole group.
    let child: i32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let ns = processes_in_ns(p.rinit_pid());
    assert!(ns.len() >= 2, "rinit and web at least: {ns:?}");
    let rinit = p.rinit_pid();
    let gone = wait_until(std::time::Instant::now() + WAIT, || {
        // `child` is a pid inside the namespace: look for a sleep 1000 other
        // than web's among rinit's descendants.
        descendants(rinit).len() == 1
    });
    assert!(
        gone,
        "the hook's child {child} must be killed with it: {:?}",
        descendants(rinit)
    );
    p.signal(rinit, libc::SIGTERM);
    let out = p.output();
    assert!(
        out.stderr.contains("hook hang: timed out after 500ms"),
        "{out}"
    );
    assert!(out.stderr.contains("hook hang failed: timed out"), "{out}");
}

#[test]
fn a_hook_timeout_with_abort_exits_124() {
    let d = TempDir::new("hooks-124");
    let cfg = config(
        &d,
        r#"
[[hook]]
name = "hang"
command = 'exec sleep 1000'
timeout = "300ms"
[[program]]
name = "web"
command = 'exec sleep 1000'
"#,
    );
    let out = Rinit::new(&["-c", &cfg]).run();
    assert_eq!(out.code(), 124, "{out}");
}

#[test]
fn orphans_a_hook_leaves_behind_are_reaped() {
    let d = TempDir::new("hooks-orphans");
    let cfg = config(
        &d,
        &format!(
            r#"
[[hook]]
name = "spray"
command = ['{py}', '{orphans}', '200']
[[program]]
name = "web"
command = 'touch {dir}/web; exec sleep 1000'
"#,
            py = python(),
            orphans = helper("orphans.py").display(),
            dir = d.path().display()
        ),
    );
    let mut p = Rinit::new(&["-c", &cfg]).spawn();
    let web = d.join("web");
    assert!(
        wait_until(std::time::Instant::now() + WAIT, || web.exists()),
        "{}",
        p.transcript()
    );
    let rinit = p.rinit_pid();
    let clean = wait_until(std::time::Instant::now() + WAIT, || {
        zombies_in_ns(rinit).is_empty()
    });
    assert!(clean, "zombies left: {:?}", zombies_in_ns(rinit));
    p.signal(rinit, libc::SIGTERM);
    assert_eq!(p.exit_code(WAIT), 0);
}

#[test]
fn env_hand_off_reaches_later_hooks_programs_and_the_main_command() {
    let d = TempDir::new("hooks-env");
    let cfg = config(
        &d,
        &format!(
            r#"
[rinit]
env_file = "{dir}/rinit.env"
[[hook]]
name = "keys"
command = 'echo "APP_KEY=base64:abc" >> "$RINIT_ENV_FILE"; echo "this is not a pair" >> "$RINIT_ENV_FILE"'
[[hook]]
name = "later"
command = 'echo "later sees $APP_KEY"'
[[program]]
name = "web"
command = 'echo "web sees $APP_KEY"; exec sleep 1000'
"#,
            dir = d.path().display()
        ),
    );
    let mut p = Rinit::new(&["-c", &cfg, "--", "sh", "-c", "echo \"main sees $APP_KEY\""]).spawn();
    p.expect_line(Stream::Out, WAIT, |l| {
        is(l, "later", "later sees base64:abc")
    });
    p.expect_line(Stream::Out, WAIT, |l| l == "main sees base64:abc");
    let out = p.output();
    assert_eq!(out.code(), 0, "{out}");
    assert!(
        out.stdout
            .lines()
            .any(|l| is(l, "web", "web sees base64:abc")),
        "{out}"
    );
    assert!(
        out.stderr.contains("hook keys:") && out.stderr.contains("line 2: expected KEY=VALUE"),
        "a malformed line is reported with the hook and line\n{out}"
    );
}

#[test]
fn sigterm_during_a_long_hook_reaches_it_and_nothing_starts() {
    let d = TempDir::new("hooks-term");
    let cfg = config(
        &d,
        &format!(
            r#"
[[hook]]
name = "slow"
command = 'trap "touch {dir}/hook-got-term; exit 1" TERM; echo busy; while :; do sleep 0.05; done'
[[hook]]
name = "cleanup"
stage = "stop"
command = 'touch {dir}/cleanup'
[[program]]
name = "web"
command = 'touch {dir}/web; exec sleep 1000'
"#,
            dir = d.path().display()
        ),
    );
    let mut p = Rinit::new(&["-c", &cfg]).spawn();
    p.expect_line(Stream::Out, WAIT, |l| is(l, "slow", "busy"));
    let rinit = p.rinit_pid();
    p.signal(rinit, libc::SIGTERM);
    let out = p.output();
    assert_eq!(out.code(), 0, "a requested shutdown\n{out}");
    assert!(d.join("hook-got-term").exists(), "{out}");
    assert!(d.join("cleanup").exists(), "{out}");
    assert!(!d.join("web").exists(), "{out}");
}

#[test]
fn the_main_command_runs_after_the_programs_and_its_code_is_the_containers() {
    let d = TempDir::new("hooks-main");
    let log = d.join("order.log");
    let cfg = config(
        &d,
        &format!(
            r#"
[[program]]
name = "web"
command = 'trap "echo web-stopped >> {log}; exit 0" TERM; echo web-up >> {log}; while :; do sleep 0.05; done'
start_secs = "100ms"
"#,
            log = log.display()
        ),
    );
    let main = format!("echo main >> {}; exit 7", log.display());
    let out = Rinit::new(&["-c", &cfg, "--", "sh", "-c", &main]).run();
    assert_eq!(out.code(), 7, "{out}");
    assert_eq!(lines(&log), ["web-up", "main", "web-stopped"], "{out}");
}

#[test]
fn the_laravel_config_hooks_run_for_real_with_stand_ins() {
    let d = TempDir::new("hooks-laravel");
    let bin = d.join("bin");
    fs::create_dir(&bin).unwrap();
    // Stand-ins for php, php-fpm and nginx: say what they were asked.
    let php = "#!/bin/sh\necho \"php $*\"\ncase \"$2\" in queue:work) exec sleep 1000;; esac\n";
    let daemon = "#!/bin/sh\necho \"$(basename $0) up\"\nexec sleep 1000\n";
    for (name, body) in [("php", php), ("php-fpm", daemon), ("nginx", daemon)] {
        let p = bin.join(name);
        fs::write(&p, body).unwrap();
        fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/laravel.toml");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let app = d.path().to_string_lossy().into_owned();
    let mut p = Rinit::new(&["-c", conf.to_str().unwrap()])
        .env("PATH", &path)
        .env("APP_DIR", &app)
        .env("APP_USER", "root")
        .spawn();
    let expected = [
        ("migrate", format!("php {app}/artisan migrate --force")),
        ("cache-clear", format!("php {app}/artisan cache:clear")),
        ("config-cache", format!("php {app}/artisan config:cache")),
    ];
    // In this order: each expect_line consumes the lines before its match.
    for (name, text) in &expected {
        p.expect_line(Stream::Out, WAIT, |l| is(l, name, text));
    }
    p.expect_line(Stream::Out, WAIT, |l| is(l, "nginx", "nginx up"));
    let rinit = p.rinit_pid();
    p.signal(rinit, libc::SIGTERM);
    let out = p.output();
    assert_eq!(out.code(), 0, "{out}");
    // Hooks strictly before any program's line.
    let first_program = out
        .stdout
        .lines()
        .position(|l| l.contains(" up") || l.contains("queue:work"));
    let last_hook = out.stdout.lines().position(|l| l.contains("config:cache"));
    assert!(last_hook < first_program, "{out}");
}

#[test]
fn a_main_command_on_a_tty_gets_ctrl_c_and_its_code_is_the_containers() {
    let d = TempDir::new("hooks-tty");
    let cfg = config(
        &d,
        r#"
[[program]]
name = "web"
command = 'exec sleep 1000'
start_secs = "100ms"
"#,
    );
    let mut c = std::process::Command::new(python());
    c.arg(helper("pty_drive.py"));
    c.args(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]);
    c.args([rinit(), "-c", &cfg, "--"]);
    c.args(py(
        "print_signals.py",
        &["--report-tty", "--exit-on", "INT"],
    ));
    c.stdin(std::process::Stdio::piped());
    let mut p = Proc::spawn(c, Mode::Pid1);
    let fg = p.expect_line(Stream::Out, WAIT, |l| l.starts_with("foreground "));
    assert_eq!(fg, "foreground yes", "{}", p.transcript());
    p.expect_line(Stream::Out, WAIT, |l| l.starts_with("ready "));
    p.write_stdin("03\n"); // Ctrl-C on the terminal
    p.expect_line(Stream::Out, WAIT, |l| l.ends_with("SIGINT"));
    assert_eq!(p.exit_code(WAIT), 130, "{}", p.output());
}
