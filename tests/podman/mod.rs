//! Shared podman plumbing for the container tests (`tests/container_*.rs`):
//! running podman with a deadline, this machine's containers.conf, busybox,
//! image tags and pruning, unique container names.
//!
//! podman is required: without it the tests fail with a message, unless
//! `RINIT_SKIP_CONTAINER_TESTS=1` is set (then they print a note and pass).

#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub const PODMAN_TIMEOUT: Duration = Duration::from_secs(120);

pub fn skip() -> bool {
    if std::env::var("RINIT_SKIP_CONTAINER_TESTS").as_deref() == Ok("1") {
        eprintln!("note: RINIT_SKIP_CONTAINER_TESTS=1, skipping the podman container test");
        return true;
    }
    false
}

/// `../shared/containers/containers.conf` (cgroupfs, runc, ulimits) when
/// `CONTAINERS_CONF` is not set and that file exists.
fn containers_conf() -> Option<PathBuf> {
    if std::env::var_os("CONTAINERS_CONF").is_some_and(|v| !v.is_empty()) {
        return None; // already set: podman reads it from our environment
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/containers/containers.conf");
    p.exists().then_some(p)
}

pub fn podman_cmd(args: &[&str]) -> Command {
    let mut c = Command::new("podman");
    c.args(args);
    if let Some(conf) = containers_conf() {
        c.env("CONTAINERS_CONF", conf);
    }
    c.stdin(Stdio::null());
    c
}

pub struct Done {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Run podman with a deadline (a hung podman is killed, and the test fails).
pub fn podman(args: &[&str]) -> Done {
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

pub fn podman_ok(args: &[&str]) -> String {
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

/// FNV-1a, to tag images by their content: start with `FNV_START`.
pub const FNV_START: u64 = 0xcbf29ce484222325;

pub fn fnv1a(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

pub fn busybox() -> &'static str {
    ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("no /bin/busybox: apt-get install -y busybox-static")
}

/// Every rebuild of rinit makes a new image: drop the images of
/// `repository` older than an hour but `keep` (a concurrent run's image is
/// younger; failures, e.g. in use, are ignored).
pub fn prune_old_images(repository: &str, keep: &str) {
    let reference = format!("reference={repository}");
    let old = podman(&[
        "images",
        "--filter",
        &reference,
        "--filter",
        "until=1h",
        "--format",
        "{{.Repository}}:{{.Tag}}",
    ]);
    for img in old.stdout.lines().filter(|l| *l != keep && !l.is_empty()) {
        let _ = podman(&["rmi", img]);
    }
}

/// `podman build` the context directory `ctx` (holding a `Dockerfile`) as
/// `tag`, then drop `repository`'s older images.
pub fn build_image(ctx: &Path, tag: &str, repository: &str) {
    let ctx_path = ctx.to_str().unwrap();
    let file = format!("{ctx_path}/Dockerfile");
    podman_ok(&["build", "-q", "-t", tag, "-f", &file, ctx_path]);
    prune_old_images(repository, tag);
}

/// A container name no concurrent test run uses.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

/// `podman rm -f`, quietly (for `Drop`).
pub fn remove(name: &str) {
    let _ = podman_cmd(&["rm", "-f", "-t", "0", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
