//! The real Laravel-style stack of `conf/laravel.toml` for the end-to-end
//! tests (`tests/e2e_*.rs`), included with
//! `#[path = "e2e/stack.rs"] mod stack;` after `mod common;` and
//! `#[path = "helpers/supervise_lib.rs"] mod sup;`.
//!
//! Real programs from Debian packages (nginx, php8.2-fpm, php8.2-cli with
//! pcntl and pdo_sqlite), no framework: `APP_DIR` is a temp dir holding
//! `tests/e2e/artisan` and `tests/e2e/public/index.php`; nginx and php-fpm
//! get the configs of `tests/e2e/` with per-test paths and a free port. The
//! config itself is `conf/laravel.toml` as shipped, adapted only through the
//! variables it expands (APP_DIR, APP_USER, PHP_FPM, PHP_FPM_CONF,
//! NGINX_CONF). rinit runs as PID 1 of a PID namespace with `-vv`.
//!
//! Needs root (the hooks, php-fpm's pool and the workers run as www-data,
//! as in a real image).

#![allow(dead_code)] // each test crate uses a different subset

use crate::common::*;
use crate::sup::*;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const APP_USER: &str = "www-data";

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e")
}

pub fn laravel_toml() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/laravel.toml")
}

/// First existing path among `candidates`, or a panic saying what to install.
fn need(candidates: &[&str], package: &str) -> String {
    candidates
        .iter()
        .find(|p| Path::new(p).exists())
        .map(|p| p.to_string())
        .unwrap_or_else(|| {
            panic!(
                "none of {candidates:?} exists: the e2e tests need \
                 `apt-get install -y {package}` (see .ci/run)"
            )
        })
}

/// uid and gid of `user` from /etc/passwd.
fn ids(user: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == user)
        .map(|f| (f[2].parse().unwrap(), f[3].parse().unwrap()))
        .unwrap_or_else(|| panic!("no user {user} in /etc/passwd"))
}

fn chown_tree(p: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
    if p.is_dir() {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            chown_tree(&e.path(), uid, gid);
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound once, then released).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.0 exchange: (status, body).
pub fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(15)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: localhost\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let bad = || std::io::Error::other(format!("not an HTTP answer: {text:?}"));
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(bad)?;
    Ok((code, body.to_string()))
}

/// The number after `(pid ` in a transition message.
pub fn pid_in(msg: &str) -> i32 {
    let rest = msg
        .split_once("(pid ")
        .unwrap_or_else(|| panic!("no pid in {msg:?}"))
        .1;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

pub struct Stack {
    pub dir: TempDir,
    pub app: PathBuf,
    pub run: PathBuf,
    pub port: u16,
    pub started: Instant,
    pub p: Proc,
}

impl Stack {
    /// Lay out APP_DIR and the configs, start `rinit -vv -c conf/laravel.toml`.
    pub fn start(tag: &str) -> Stack {
        Self::start_with(tag, &laravel_toml(), &[])
    }

    pub fn start_with(tag: &str, config: &Path, extra_env: &[(&str, &str)]) -> Stack {
        let (dir, app, run, port, env) = Self::prepare(tag);
        let started = Instant::now();
        let mut r = Rinit::new(&["-vv", "-c", &*config.to_string_lossy()]);
        for (k, v) in env.iter() {
            r = r.env(k, v);
        }
        for (k, v) in extra_env {
            r = r.env(k, v);
        }
        let p = r.spawn();
        Stack {
            dir,
            app,
            run,
            port,
            started,
            p,
        }
    }

    /// The temp dir, APP_DIR, the run dir, the port and rinit's environment.
    #[allow(clippy::type_complexity)]
    pub fn prepare(tag: &str) -> (TempDir, PathBuf, PathBuf, u16, Vec<(String, String)>) {
        // SAFETY: geteuid has no preconditions.
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "the e2e tests run as root (php-fpm's pool, the hooks and the workers switch to {APP_USER})"
        );
        need(&["/usr/bin/php"], "php8.2-cli php8.2-sqlite3");
        let php_fpm = need(&["/usr/sbin/php-fpm8.2"], "php8.2-fpm");
        need(&["/usr/sbin/nginx"], "nginx");
        let dir = TempDir::new(&format!("e2e-{tag}"));
        let app = dir.join("app");
        let run = dir.join("run");
        let port = free_port();
        std::fs::create_dir_all(app.join("public")).unwrap();
        std::fs::create_dir_all(&run).unwrap();
        let src = e2e_dir();
        std::fs::copy(src.join("artisan"), app.join("artisan")).unwrap();
        std::fs::copy(src.join("public/index.php"), app.join("public/index.php")).unwrap();
        let (uid, gid) = ids(APP_USER);
        chown_tree(&app, uid, gid);
        let fill = |name: &str| {
            let t = std::fs::read_to_string(src.join(name)).unwrap();
            let out = t
                .replace("@RUN@", &run.to_string_lossy())
                .replace("@ROOT@", &app.join("public").to_string_lossy())
                .replace("@PORT@", &port.to_string())
                .replace("@USER@", APP_USER);
            let path = dir.join(name);
            std::fs::write(&path, out).unwrap();
            path.to_string_lossy().into_owned()
        };
        let fpm_conf = fill("php-fpm.conf");
        let nginx_conf = fill("nginx.conf");
        let path = format!(
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:{}",
            std::env::var("PATH").unwrap_or_default()
        );
        // The config names nginx through NGINX_BIN, not NGINX: nginx itself
        // reads $NGINX (inherited listening sockets of a binary upgrade).
        let env = vec![
            ("NGINX_BIN".to_string(), "nginx".to_string()),
            // Each run its own control socket: parallel tests never meet.
            (
                "RINIT_CONTROL_SOCKET".to_string(),
                dir.join("rinit.sock").to_string_lossy().into_owned(),
            ),
            ("APP_DIR".to_string(), app.to_string_lossy().into_owned()),
            ("APP_USER".to_string(), APP_USER.to_string()),
            ("PHP_FPM".to_string(), php_fpm),
            ("PHP_FPM_CONF".to_string(), fpm_conf),
            ("NGINX_CONF".to_string(), nginx_conf),
            ("PATH".to_string(), path),
        ];
        (dir, app, run, port, env)
    }

    pub fn get(&self, path: &str) -> std::io::Result<(u16, String)> {
        http(self.port, "GET", path, "")
    }

    pub fn post(&self, path: &str, body: &str) -> std::io::Result<(u16, String)> {
        http(self.port, "POST", path, body)
    }

    /// Poll `GET path` until it answers 200; return the body.
    pub fn wait_ok(&mut self, path: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        let mut body = None;
        let port = self.port;
        let ok = wait_until(deadline, || match http(port, "GET", path, "") {
            Ok((200, b)) => {
                body = Some(b);
                true
            }
            Ok((c, b)) => {
                last = format!("{c} {b}");
                false
            }
            Err(e) => {
                last = e.to_string();
                false
            }
        });
        if !ok {
            self.p.fail(&format!(
                "GET {path}: no 200 within {timeout:?}; last: {last}"
            ));
        }
        body.unwrap()
    }

    /// POST a job; its id.
    pub fn enqueue(&mut self, payload: &str) -> u64 {
        match self.post("/", payload) {
            Ok((200, b)) if b.starts_with("queued job ") => {
                b["queued job ".len()..].trim().parse().unwrap()
            }
            other => self.p.fail(&format!("POST {payload}: {other:?}")),
        }
    }

    /// Wait until job `id` is done (asked through nginx → php-fpm); return
    /// the worker pid that did it.
    pub fn wait_job_done(&mut self, id: u64, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        let port = self.port;
        let path = format!("/?job={id}");
        let ok = wait_until(deadline, || {
            last = format!("{:?}", http(port, "GET", &path, ""));
            last.contains("done by ")
        });
        if !ok {
            self.p.fail(&format!(
                "job {id} not done within {timeout:?}; last: {last}"
            ));
        }
        let by = last.split("done by ").nth(1).unwrap();
        by.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    }

    /// Wait until each of `names` has reached `running` (in any order,
    /// counting from the lines not consumed yet); their namespace pids.
    pub fn wait_running(&mut self, names: &[&str]) -> Vec<i32> {
        let mut pids = vec![0; names.len()];
        while pids.contains(&0) {
            let m = self.msg(": starting -> running");
            let name = m
                .trim_start_matches("info: ")
                .split(": starting")
                .next()
                .unwrap()
                .to_string();
            if let Some(i) = names.iter().position(|n| *n == name) {
                pids[i] = pid_in(&m);
            }
        }
        pids
    }

    /// The whole stack of conf/laravel.toml is running: pids of php-fpm,
    /// nginx, queue-worker:0 and queue-worker:1.
    pub fn wait_stack_running(&mut self) -> [i32; 4] {
        let p = self.wait_running(&["php-fpm", "nginx", "queue-worker:0", "queue-worker:1"]);
        [p[0], p[1], p[2], p[3]]
    }

    /// Wait for rinit's message containing `needle`.
    pub fn msg(&mut self, needle: &str) -> String {
        expect_msg(&mut self.p, WAIT, needle)
    }

    /// Wait for a line of program `name` (any program if empty) on `stream`
    /// containing `needle`.
    pub fn line(&mut self, stream: Stream, name: &str, needle: &str) -> String {
        self.p.expect_line(stream, WAIT, |l| {
            l.split_once(" | ")
                .is_some_and(|(n, t)| (name.is_empty() || n.trim() == name) && t.contains(needle))
        })
    }

    /// Host pid of a process of the namespace, by its namespace pid.
    pub fn host(&mut self, ns_pid: i32) -> i32 {
        let rinit = self.p.rinit_pid();
        match host_pid(rinit, ns_pid) {
            Some(p) => p,
            None => self
                .p
                .fail(&format!("no process {ns_pid} in the namespace")),
        }
    }
}
