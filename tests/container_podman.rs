//! rinit as the ENTRYPOINT of a real OCI container (podman + runc): an image
//! `FROM scratch` holding only a static busybox and the freshly built rinit
//! (`tests/container/Dockerfile`). `podman stop` must be fast and keep the
//! child's exit code, `podman kill -s` must reach the child, and the
//! container's exit code must be the child's.
//!
//! podman is required: without it these tests fail with a message, unless
//! `RINIT_SKIP_CONTAINER_TESTS=1` is set (then they print a note and pass).
//! Uses `../shared/containers/containers.conf` (cgroupfs, runc, ulimits) when
//! `CONTAINERS_CONF` is not set and that file exists.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PODMAN_TIMEOUT: Duration = Duration::from_secs(120);
const BUSYBOX_APPLETS: &[&str] = &["sh", "sleep", "cat", "echo", "ls", "ps", "kill", "true"];

fn skip() -> bool {
    if std::env::var("RINIT_SKIP_CONTAINER_TESTS").as_deref() == Ok("1") {
        eprintln!("note: RINIT_SKIP_CONTAINER_TESTS=1, skipping the podman container test");
        return true;
    }
    false
}

fn containers_conf() -> Option<PathBuf> {
    if std::env::var_os("CONTAINERS_CONF").is_some_and(|v| !v.is_empty()) {
        return None; // already set: podman reads it from our environment
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/containers/containers.conf");
    p.exists().then_some(p)
}

fn podman_cmd(args: &[&str]) -> Command {
    let mut c = Command::new("podman");
    c.args(args);
    if let Some(conf) = containers_conf() {
        c.env("CONTAINERS_CONF", conf);
    }
    c.stdin(Stdio::null());
    c
}

struct Done {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run podman with a deadline (a hung podman is killed, and the test fails).
fn podman(args: &[&str]) -> Done {
    let mut c = podman_cmd(args);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = match c.spawn() {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot run podman ({e}): the container tests need podman and runc \
             (apt-get install -y podman runc busybox-static); \
             set RINIT_SKIP_CONTAINER_TESTS=1 to skip them"
        ),
    };
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(PODMAN_TIMEOUT) {
        Ok(Ok(o)) => Done {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        },
        Ok(Err(e)) => panic!("podman {args:?}: {e}"),
        Err(_) => {
            // SAFETY: kill(2) on the podman process we started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("podman {args:?} still running after {PODMAN_TIMEOUT:?}");
        }
    }
}

fn podman_ok(args: &[&str]) -> String {
    let d = podman(args);
    assert_eq!(
        d.code,
        Some(0),
        "podman {args:?} failed\n--- stdout ---\n{}--- stderr ---\n{}",
        d.stdout,
        d.stderr
    );
    d.stdout
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

fn busybox() -> &'static str {
    ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("no /bin/busybox: apt-get install -y busybox-static")
}

/// The test image, built once per test binary. Tagged with a hash of the
/// rinit binary, so concurrent runs with different builds never collide.
fn image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let bin = std::fs::read(rinit()).unwrap();
        let tag = format!("localhost/rinit-itest:{:016x}", fnv1a(&bin));
        if podman(&["image", "exists", &tag]).code == Some(0) {
            return tag;
        }
        let ctx = TempDir::new("image");
        let bindir = ctx.join("bin");
        std::fs::create_dir(&bindir).unwrap();
        std::fs::copy(busybox(), bindir.join("busybox")).unwrap();
        for applet in BUSYBOX_APPLETS {
            std::os::unix::fs::symlink("busybox", bindir.join(applet)).unwrap();
        }
        std::fs::copy(rinit(), ctx.join("rinit")).unwrap();
        let dockerfile = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/container/Dockerfile");
        std::fs::copy(dockerfile, ctx.join("Dockerfile")).unwrap();
        let ctx_path = ctx.path().to_str().unwrap();
        let file = format!("{ctx_path}/Dockerfile");
        podman_ok(&["build", "-q", "-t", &tag, "-f", &file, ctx_path]);
        prune_old_images(&tag);
        tag
    })
}

/// Every rebuild of rinit makes a new image: drop those older than an hour
/// (a concurrent run's image is younger; failures, e.g. in use, are ignored).
fn prune_old_images(keep: &str) {
    let old = podman(&[
        "images",
        "--filter",
        "reference=localhost/rinit-itest",
        "--filter",
        "until=1h",
        "--format",
        "{{.Repository}}:{{.Tag}}",
    ]);
    for img in old.stdout.lines().filter(|l| *l != keep && !l.is_empty()) {
        let _ = podman(&["rmi", img]);
    }
}

/// A uniquely named container, removed (forcibly) when dropped.
struct Container(String);

impl Container {
    fn name() -> Container {
        static N: AtomicUsize = AtomicUsize::new(0);
        Container(format!(
            "rinit-itest-{}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        ))
    }

    fn run_detached(script: &str) -> Container {
        let c = Container::name();
        podman_ok(&["run", "-d", "--name", &c.0, image(), "sh", "-c", script]);
        c
    }

    fn logs(&self) -> String {
        let d = podman(&["logs", &self.0]);
        d.stdout + &d.stderr
    }

    /// Wait until the container's log has a line equal to `line`.
    fn wait_log(&self, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let ok = wait_until(deadline, || self.logs().lines().any(|l| l == line));
        assert!(ok, "no log line {line:?}; logs:\n{}", self.logs());
    }

    fn exit_code(&self) -> i32 {
        podman_ok(&["inspect", "-f", "{{.State.ExitCode}}", &self.0])
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman_cmd(&["rm", "-f", "-t", "0", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn container_exit_code_is_the_childs() {
    if skip() {
        return;
    }
    let c = Container::name();
    let d = podman(&[
        "run",
        "--name",
        &c.0,
        image(),
        "sh",
        "-c",
        "echo hello; exit 3",
    ]);
    assert_eq!(d.code, Some(3), "podman run: {}{}", d.stdout, d.stderr);
    assert_eq!(d.stdout, "hello\n");
    assert_eq!(c.exit_code(), 3);
}

#[test]
fn podman_stop_is_fast_and_keeps_the_childs_code() {
    if skip() {
        return;
    }
    // A shell that traps TERM (and leaves a background sleep behind, which
    // rinit must clean up). With a PID 1 that ignored TERM, podman stop
    // would wait the full 10 s and then SIGKILL (exit 137).
    let c = Container::run_detached(
        "trap 'echo got TERM; exit 42' TERM; sleep 1000 & echo ready; wait",
    );
    c.wait_log("ready");
    let start = Instant::now();
    podman_ok(&["stop", "-t", "10", &c.0]);
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "podman stop took {took:?}\n{}",
        c.logs()
    );
    assert_eq!(c.exit_code(), 42, "{}", c.logs());
    assert!(c.logs().lines().any(|l| l == "got TERM"), "{}", c.logs());
}

#[test]
fn podman_kill_usr1_reaches_the_child() {
    if skip() {
        return;
    }
    let c = Container::run_detached(
        "trap 'echo got USR1' USR1; trap 'exit 0' TERM; echo ready; \
         while :; do sleep 1000 & wait $!; done",
    );
    c.wait_log("ready");
    podman_ok(&["kill", "-s", "USR1", &c.0]);
    c.wait_log("got USR1");
    podman_ok(&["stop", "-t", "10", &c.0]);
    assert_eq!(c.exit_code(), 0, "{}", c.logs());
}

#[test]
fn rinit_is_pid1_and_reaps_in_the_container() {
    if skip() {
        return;
    }
    // Orphans made inside the container end up reaped by PID 1 (rinit):
    // once they are gone, `ps` shows no zombie.
    let c = Container::run_detached(
        "for i in 1 2 3 4 5 6 7 8 9 10; do (sleep 0 &); done; echo ready; \
         trap 'exit 0' TERM; sleep 1000 & wait",
    );
    c.wait_log("ready");
    let cmdline = podman_ok(&["exec", &c.0, "cat", "/proc/1/cmdline"]);
    assert!(cmdline.starts_with("/sbin/rinit\0"), "PID 1 is {cmdline:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    let ok = wait_until(deadline, || {
        last = podman_ok(&["exec", &c.0, "ps", "-o", "pid,stat,comm"]);
        !last
            .lines()
            .skip(1)
            .any(|l| l.split_whitespace().nth(1) == Some("Z"))
    });
    assert!(ok, "zombies left in the container:\n{last}");
}
