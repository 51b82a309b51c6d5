//! Harness for the `logs_*` tests: rinit as PID 1 (through `common`'s
//! `unshare` command) with a config written to a temp dir, and rinit's
//! stdout/stderr as raw bytes under the test's control: collected, held
//! unread (a blocked container stdout), closed (EPIPE) or shared.
//!
//! Waits are on content with deadlines (`Collector::wait_for`); a run is
//! killed with its namespace when dropped.

#![allow(dead_code)] // each test crate uses a different subset

use crate::common::{self, Rinit, TempDir, WAIT};
use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A pipe: (read end, write end), both close-on-exec.
pub fn pipe() -> (File, OwnedFd) {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2");
    (File::from(r), w)
}

/// The bytes so far and whether EOF was seen, with a condvar for waiters.
type Shared = Arc<(Mutex<(Vec<u8>, bool)>, Condvar)>;

/// Everything read from one fd so far, filled by a thread until EOF.
#[derive(Clone)]
pub struct Collector(Shared);

impl Collector {
    pub fn start(mut r: File) -> Collector {
        let c = Collector(Arc::new((Mutex::new((Vec::new(), false)), Condvar::new())));
        let shared = c.clone();
        thread::spawn(move || {
            let mut buf = vec![0; 256 * 1024];
            loop {
                let n = r.read(&mut buf).unwrap_or(0);
                let (lock, cv) = &*shared.0;
                let mut st = lock.lock().unwrap();
                if n == 0 {
                    st.1 = true;
                    cv.notify_all();
                    return;
                }
                st.0.extend_from_slice(&buf[..n]);
                cv.notify_all();
            }
        });
        c
    }

    /// Wait until `pred(bytes so far)` holds; false at the deadline or at
    /// EOF without it holding.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&[u8]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.0;
        let mut st = lock.lock().unwrap();
        loop {
            if pred(&st.0) {
                return true;
            }
            let now = Instant::now();
            if st.1 || now >= deadline {
                return false;
            }
            st = cv.wait_timeout(st, deadline - now).unwrap().0;
        }
    }

    /// Wait for EOF (every writer gone); the bytes.
    pub fn wait_eof(&self, timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.0;
        let mut st = lock.lock().unwrap();
        while !st.1 {
            let now = Instant::now();
            assert!(now < deadline, "no EOF after {timeout:?}");
            st = cv.wait_timeout(st, deadline - now).unwrap().0;
        }
        st.0.clone()
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.0.0.lock().unwrap().0.clone()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// Number of occurrences of `needle` so far.
    pub fn count(&self, needle: &str) -> usize {
        self.text().matches(needle).count()
    }
}

/// A running rinit (PID 1 of its own namespace); killed with the namespace
/// on drop.
pub struct Run {
    pub child: Child,
    pub dir: TempDir,
}

impl Run {
    /// `rinit -c DIR/rinit.toml` with `config` written there (`{dir}` in it
    /// is replaced by the temp dir) and the given stdout/stderr.
    pub fn start(
        tag: &str,
        config: &str,
        env: &[(&str, &str)],
        stdout: Stdio,
        stderr: Stdio,
    ) -> Run {
        let dir = TempDir::new(tag);
        let cfg = dir.join("rinit.toml");
        let text = config.replace("{dir}", &dir.path().to_string_lossy());
        std::fs::write(&cfg, text).unwrap();
        let mut c = Rinit::new(&["-vv", "-c", &cfg.to_string_lossy()]).command();
        c.env_remove("NO_COLOR");
        for (k, v) in env {
            c.env(k, v);
        }
        c.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        let child = c.spawn().expect("spawn unshare rinit");
        Run { child, dir }
    }

    /// Host pid of rinit (PID 1 in the namespace).
    pub fn rinit_pid(&self) -> i32 {
        let unshare = self.child.id() as i32;
        let mut pid = None;
        let found = common::wait_until(Instant::now() + WAIT, || {
            pid = common::children(unshare).first().copied();
            pid.is_some()
        });
        assert!(found, "rinit never started");
        pid.unwrap()
    }

    pub fn signal(&self, sig: i32) {
        let pid = self.rinit_pid();
        // SAFETY: kill(2) on a pid of our own tree.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill {pid} {sig}");
    }

    /// Wait for exit, killing the tree at the deadline.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                common::kill_tree(self.child.id() as i32);
                panic!("rinit still running after {timeout:?}");
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            common::kill_tree(self.child.id() as i32);
            let _ = self.child.wait();
        }
    }
}

/// Run with stdout and stderr each collected.
pub fn start_collected(
    tag: &str,
    config: &str,
    env: &[(&str, &str)],
) -> (Run, Collector, Collector) {
    let (r_out, w_out) = pipe();
    let (r_err, w_err) = pipe();
    let run = Run::start(tag, config, env, w_out.into(), w_err.into());
    (run, Collector::start(r_out), Collector::start(r_err))
}

/// A TOML string literal for a command (basic string, escaped).
pub fn toml_str(s: &str) -> String {
    format!("{s:?}")
}

/// `command = [python3, tests/helpers/NAME, args…]` as a TOML array.
pub fn py_command(name: &str, args: &[&str]) -> String {
    let v: Vec<String> = common::py(name, args).iter().map(|a| toml_str(a)).collect();
    format!("[{}]", v.join(", "))
}

/// Lines of `bytes` (without `\n`), as text.
pub fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Does any line of `bytes` contain `needle`?
pub fn has(bytes: &[u8], needle: &str) -> bool {
    String::from_utf8_lossy(bytes).contains(needle)
}
