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
mod podman;
use common::*;
use podman::*;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const BUSYBOX_APPLETS: &[&str] = &["sh", "sleep", "cat", "echo", "ls", "ps", "kill", "true"];

/// The test image, built once per test binary. Tagged with a hash of the
/// rinit binary, so concurrent runs with different builds never collide.
fn image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let bin = std::fs::read(rinit()).unwrap();
        let tag = format!("localhost/rinit-itest:{:016x}", fnv1a(FNV_START, &bin));
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
        build_image(ctx.path(), &tag, "localhost/rinit-itest");
        tag
    })
}

/// A uniquely named container, removed (forcibly) when dropped.
struct Container(String);

impl Container {
    fn name() -> Container {
        Container(unique_name("rinit-itest"))
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
        remove(&self.0);
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
