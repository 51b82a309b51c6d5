//! Helpers for the `rinit ctl` tests: a supervisor-mode rinit as PID 1 with
//! its control socket in a per-test temp dir, and the client run against it.
//! Waits are on events (the socket appearing, a state in `status --json`)
//! with deadlines. Each test file declares `mod common; mod ctl_support;`.
#![allow(dead_code)]

use super::common::{Proc, Rinit, TempDir, WAIT, wait_until};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Instant;

pub struct Live {
    pub dir: TempDir,
    pub cfg: PathBuf,
    pub sock: PathBuf,
    pub proc: Proc,
}

/// `[rinit]` lines (besides control_socket) and program sections.
pub fn config_text(sock: &std::path::Path, rinit: &str, programs: &str) -> String {
    format!(
        "[rinit]\ncontrol_socket = \"{}\"\nshutdown_timeout = \"3s\"\n{rinit}\n{programs}",
        sock.display()
    )
}

/// Start rinit as PID 1 with this config (`@DIR@` in `programs` becomes
/// the test's temp dir); return once its socket exists.
pub fn start(tag: &str, rinit: &str, programs: &str) -> Live {
    let dir = TempDir::new(tag);
    let sock = dir.join("ctl.sock");
    let cfg = dir.join("rinit.toml");
    let programs = programs.replace("@DIR@", &dir.path().to_string_lossy());
    std::fs::write(&cfg, config_text(&sock, rinit, &programs)).unwrap();
    let cfg_s = cfg.to_string_lossy().into_owned();
    let mut proc = Rinit::new(&["-c", cfg_s.as_str()])
        .env("RINIT_KILL_GRACE", "200")
        .spawn();
    if !wait_until(Instant::now() + WAIT, || sock.exists()) {
        proc.fail("control socket never appeared");
    }
    Live {
        dir,
        cfg,
        sock,
        proc,
    }
}

pub fn client(sock: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(super::common::rinit());
    c.arg("ctl").arg("--socket").arg(sock).args(args);
    c.env_remove("RINIT_CONFIG");
    c
}

impl Live {
    /// Run `rinit ctl --socket SOCK ARGS…` to completion.
    pub fn ctl(&self, args: &[&str]) -> Output {
        client(&self.sock, args).output().unwrap()
    }

    /// Like `ctl`, but fail the test (with rinit's transcript) unless it
    /// exits with `code`.
    pub fn ctl_ok(&mut self, args: &[&str], code: i32) -> Output {
        let out = self.ctl(args);
        if out.status.code() != Some(code) {
            let why = format!(
                "rinit ctl {args:?}: expected exit {code}, got {:?}\nstdout: {}\nstderr: {}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            self.proc.fail(&why);
        }
        out
    }

    pub fn status(&mut self) -> Vec<serde_json::Value> {
        let out = self.ctl_ok(&["status", "--json"], 0);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn one(&mut self, name: &str) -> serde_json::Value {
        self.status()
            .into_iter()
            .find(|p| p["name"] == name)
            .unwrap_or(serde_json::Value::Null)
    }

    /// Wait until `name` is in `state`; returns its status entry.
    pub fn wait_state(&mut self, name: &str, state: &str) -> serde_json::Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let p = self.one(name);
            if p["state"] == state {
                return p;
            }
            if Instant::now() > deadline {
                self.proc
                    .fail(&format!("{name} never reached {state}; last: {p}"));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn pid(&mut self, name: &str) -> i64 {
        self.wait_state(name, "running")["pid"].as_i64().unwrap()
    }

    /// Shut down through the socket and check the exit and the cleanup.
    pub fn shutdown(mut self) {
        self.ctl_ok(&["shutdown"], 0);
        assert_eq!(self.proc.exit_code(WAIT), 0);
        assert!(!self.sock.exists(), "socket file left behind");
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
