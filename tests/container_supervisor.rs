//! Supervisor mode in a real OCI container (podman + runc): an image
//! `FROM scratch` with a static busybox, the freshly built rinit as
//! `/sbin/rinit` (the ENTRYPOINT, no command: supervisor mode) and
//! `/etc/rinit.toml` running busybox programs (`tests/e2e/container/`): an
//! httpd, a worker loop that leaves orphans behind, and a program that
//! crashes until it is fatal. `podman run -d` starts everything,
//! `podman stop` is graceful and fast, the exit code follows SPEC §4 (0
//! after a stop; a critical program's code in the variant config), and no
//! zombie shows in `podman exec … ps`.
//!
//! podman is required: without it these tests fail with a message, unless
//! `RINIT_SKIP_CONTAINER_TESTS=1` is set (then they print a note and pass).
//! Uses `../shared/containers/containers.conf` (cgroupfs, runc, ulimits) when
//! `CONTAINERS_CONF` is not set and that file exists.

mod common;
mod podman;
use common::*;
use podman::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const BUSYBOX_APPLETS: &[&str] = &[
    "sh", "sleep", "cat", "echo", "ps", "kill", "true", "httpd", "wget", "mkdir",
];
/// Files of the image besides busybox and rinit (`tests/e2e/container/`).
const IMAGE_FILES: &[&str] = &[
    "Dockerfile",
    "rinit.toml",
    "rinit-critical.toml",
    "index.html",
];

fn image_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/container")
}

/// The image, built once per test binary, tagged with a hash of rinit and
/// the image's files (concurrent runs of different builds never collide).
fn image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let mut h = fnv1a(FNV_START, &std::fs::read(rinit()).unwrap());
        for f in IMAGE_FILES {
            h = fnv1a(h, &std::fs::read(image_src().join(f)).unwrap());
        }
        let tag = format!("localhost/rinit-e2e:{h:016x}");
        if podman(&["image", "exists", &tag]).code == Some(0) {
            return tag;
        }
        let ctx = TempDir::new("e2e-image");
        let bindir = ctx.join("bin");
        std::fs::create_dir(&bindir).unwrap();
        std::fs::copy(busybox(), bindir.join("busybox")).unwrap();
        for applet in BUSYBOX_APPLETS {
            std::os::unix::fs::symlink("busybox", bindir.join(applet)).unwrap();
        }
        std::fs::copy(rinit(), ctx.join("rinit")).unwrap();
        for f in IMAGE_FILES {
            std::fs::copy(image_src().join(f), ctx.join(f)).unwrap();
        }
        build_image(ctx.path(), &tag, "localhost/rinit-e2e");
        tag
    })
}

/// A uniquely named container, removed (forcibly) when dropped.
struct Container(String);

impl Container {
    fn name() -> Container {
        Container(unique_name("rinit-e2e"))
    }

    /// `podman run -d` of the image (supervisor mode), with `extra` options.
    fn start(extra: &[&str]) -> Container {
        let c = Container::name();
        let mut args = vec!["run", "-d", "--network", "none", "--name", &c.0];
        args.extend_from_slice(extra);
        args.push(image());
        podman_ok(&args);
        c
    }

    fn logs(&self) -> String {
        let d = podman(&["logs", &self.0]);
        d.stdout + &d.stderr
    }

    /// Wait until the container's log has the line `text` from program
    /// `name` (`name | text`, the name padded).
    fn wait_prog_line(&self, name: &str, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let ok = wait_until(deadline, || {
            self.logs().lines().any(|l| {
                l.split_once(" | ")
                    .is_some_and(|(n, t)| n.trim() == name && t == text)
            })
        });
        assert!(ok, "no line {name} | {text}; logs:\n{}", self.logs());
    }

    /// Wait until the container's log has a line containing `needle`.
    fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let ok = wait_until(deadline, || self.logs().lines().any(|l| l.contains(needle)));
        assert!(ok, "no log line with {needle:?}; logs:\n{}", self.logs());
    }

    fn exec(&self, cmd: &[&str]) -> Done {
        let mut args = vec!["exec", &*self.0];
        args.extend_from_slice(cmd);
        podman(&args)
    }

    fn exit_code(&self) -> i32 {
        podman_ok(&["inspect", "-f", "{{.State.ExitCode}}", &self.0])
            .trim()
            .parse()
            .unwrap()
    }

    /// Everything runs: the page is served, the worker and the crasher ran.
    fn wait_started(&self) {
        self.wait_log("web: starting -> running");
        self.wait_prog_line("worker", "worker started");
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = String::new();
        let ok = wait_until(deadline, || {
            let d = self.exec(&["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"]);
            last = format!("{:?} {}{}", d.code, d.stdout, d.stderr);
            d.code == Some(0) && d.stdout.contains("hello from busybox httpd")
        });
        assert!(ok, "no page from httpd: {last}\n{}", self.logs());
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        remove(&self.0);
    }
}

#[test]
fn container_supervisor_runs_the_programs_stops_gracefully_and_leaves_no_zombie() {
    if skip() {
        return;
    }
    let c = Container::start(&[]);
    c.wait_started();
    // The crasher goes through backoff to fatal; the rest keeps running.
    c.wait_log("crasher: starting -> fatal");
    let logs = c.logs();
    assert!(logs.contains("crasher: starting -> backoff"), "{logs}");
    let cmdline = podman_ok(&["exec", &c.0, "cat", "/proc/1/cmdline"]);
    assert!(cmdline.starts_with("/sbin/rinit\0"), "PID 1 is {cmdline:?}");
    // The worker leaves an orphan behind every round: PID 1 reaps them.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut ps = String::new();
    let ok = wait_until(deadline, || {
        ps = podman_ok(&["exec", &c.0, "ps", "-o", "pid,stat,comm"]);
        !ps.lines()
            .skip(1)
            .any(|l| l.split_whitespace().nth(1) == Some("Z"))
    });
    assert!(ok, "zombies left in the container:\n{ps}");
    assert!(ps.contains("httpd") && ps.contains("sh"), "{ps}");

    let t = Instant::now();
    podman_ok(&["stop", "-t", "10", &c.0]);
    let took = t.elapsed();
    eprintln!("measure: podman stop of the supervisor container: {took:?}");
    let logs = c.logs();
    assert!(
        took < Duration::from_secs(5),
        "podman stop took {took:?}\n{logs}"
    );
    assert_eq!(c.exit_code(), 0, "{logs}");
    assert!(logs.contains("shutting down: received SIGTERM"), "{logs}");
    assert!(
        logs.lines().any(|l| l
            .split_once(" | ")
            .is_some_and(|(n, t)| n.trim() == "worker" && t == "worker stopping")),
        "{logs}"
    );
    assert!(logs.contains("web: running -> stopping"), "{logs}");
    assert!(logs.contains("exiting with code 0"), "{logs}");
    assert!(!logs.contains("SIGKILL"), "nothing needed killing\n{logs}");
}

#[test]
fn container_exit_code_is_the_critical_programs() {
    if skip() {
        return;
    }
    let c = Container::start(&["-e", "RINIT_CONFIG=/etc/rinit-critical.toml"]);
    let waited = podman_ok(&["wait", &c.0]);
    let logs = c.logs();
    assert_eq!(waited.trim(), "7", "{logs}");
    assert_eq!(c.exit_code(), 7, "{logs}");
    assert!(logs.contains("crasher: starting -> fatal"), "{logs}");
    assert!(
        logs.contains("shutting down: critical program crasher is fatal"),
        "{logs}"
    );
    assert!(logs.contains("-> stopping (pid"), "{logs}");
    assert!(logs.contains("exiting with code 7"), "{logs}");
}

#[test]
fn container_rinit_ctl_status_answers() {
    if skip() {
        return;
    }
    let c = Container::start(&[]);
    c.wait_started();
    let d = c.exec(&["/sbin/rinit", "ctl", "status"]);
    assert_eq!(d.code, Some(0), "{}{}", d.stdout, d.stderr);
    for p in ["web", "worker", "crasher"] {
        assert!(d.stdout.contains(p), "{}", d.stdout);
    }
    assert!(d.stdout.contains("running"), "{}", d.stdout);
}

#[test]
fn container_podman_kill_hup_reloads_the_config() {
    if skip() {
        return;
    }
    let c = Container::start(&[]);
    c.wait_started();
    let add = "cat >> /etc/rinit.toml <<'EOF'\n\n[[program]]\nname = \"added\"\n\
               command = 'echo added program up; exec sleep 1000'\nEOF\n";
    let d = c.exec(&["sh", "-c", add]);
    assert_eq!(d.code, Some(0), "{}{}", d.stdout, d.stderr);
    podman_ok(&["kill", "-s", "HUP", &c.0]);
    c.wait_prog_line("added", "added program up");
    let logs = c.logs();
    // Unchanged programs were not restarted.
    assert!(!logs.contains("web: running -> stopping"), "{logs}");
    assert!(!logs.contains("worker: running -> stopping"), "{logs}");
    podman_ok(&["stop", "-t", "10", &c.0]);
    assert_eq!(c.exit_code(), 0, "{}", c.logs());
}

/// SPEC §6: `rinit ctl health` as the image's HEALTHCHECK. All autostart
/// programs running: healthy; one stopped: unhealthy.
#[test]
fn container_healthcheck_is_healthy_then_unhealthy() {
    if skip() {
        return;
    }
    let c = Container::start(&[
        "-e",
        "CRASHER=false",
        "--health-cmd",
        "/sbin/rinit ctl health",
        "--health-interval",
        "disable",
    ]);
    c.wait_started();
    let healthy = wait_until(Instant::now() + Duration::from_secs(30), || {
        podman(&["healthcheck", "run", &c.0]).code == Some(0)
    });
    assert!(healthy, "never healthy\n{}", c.logs());
    let stop = c.exec(&["/sbin/rinit", "ctl", "stop", "web"]);
    assert_eq!(stop.code, Some(0), "{}{}", stop.stdout, stop.stderr);
    let d = podman(&["healthcheck", "run", &c.0]);
    assert_ne!(
        d.code,
        Some(0),
        "still healthy with web stopped: {}{}",
        d.stdout,
        d.stderr
    );
    let why = c.exec(&["/sbin/rinit", "ctl", "health"]);
    assert_eq!(why.code, Some(1), "{}{}", why.stdout, why.stderr);
    assert!(
        why.stdout.contains("web") || why.stderr.contains("web"),
        "{}{}",
        why.stdout,
        why.stderr
    );
}
