//! Shared harness for the integration tests: run the `rinit` binary as PID 1
//! of a fresh PID namespace (`unshare --pid --fork --mount-proc`), talk to it
//! through piped stdio, wait on events with deadlines, and never leave a
//! process behind (a hung or failed test kills the whole namespace).
//!
//! Style: tests wait for *events* (a line printed, a pid gone, a file
//! present) with `wait_until`/`expect_line` and a deadline; they never sleep
//! to synchronise. Helper programs live in `tests/helpers/` and announce
//! themselves with a `ready <pid>` line, as dumb-init's `print_signals.py`.

#![allow(dead_code)] // each test crate uses a different subset

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Default deadline for anything a test waits on.
pub const WAIT: Duration = Duration::from_secs(20);
/// A run that is still alive after this is killed with its whole tree.
pub const HARD_LIMIT: Duration = Duration::from_secs(120);

pub fn rinit() -> &'static str {
    env!("CARGO_BIN_EXE_rinit")
}

pub fn helper(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/helpers")
        .join(name)
}

/// The system Python (present on every build machine); a pyenv shim in PATH
/// would add a shell and a second of start-up to every helper.
pub fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// argv for running a Python helper: `[python3, tests/helpers/NAME, args…]`.
pub fn py(name: &str, args: &[&str]) -> Vec<String> {
    let mut v = vec![
        python().to_string(),
        helper(name).to_string_lossy().into_owned(),
    ];
    v.extend(args.iter().map(|a| a.to_string()));
    v
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Where rinit runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// PID 1 of a new PID namespace (the container case).
    Pid1,
    /// PID 2 of a new PID namespace whose PID 1 is a plain `sh` that does not
    /// exec it: rinit is neither PID 1 nor (unless asked) a subreaper, and
    /// everything is still contained in the namespace for cleanup.
    NotPid1,
}

/// Builder for one rinit run.
pub struct Rinit {
    mode: Mode,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    env_clear: bool,
    stdin: bool,
}

impl Rinit {
    pub fn new<S: AsRef<str>>(args: &[S]) -> Self {
        Rinit {
            mode: Mode::Pid1,
            args: args.iter().map(|a| a.as_ref().to_string()).collect(),
            envs: Vec::new(),
            env_clear: false,
            stdin: false,
        }
    }

    /// `rinit ARGS… -- CMD…` as PID 1.
    pub fn cmd<S: AsRef<str>>(opts: &[&str], cmd: &[S]) -> Self {
        let mut args: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        args.push("--".into());
        args.extend(cmd.iter().map(|a| a.as_ref().to_string()));
        Rinit::new(&args)
    }

    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Start from an empty environment (plus what `env` adds).
    pub fn env_clear(mut self) -> Self {
        self.env_clear = true;
        self
    }

    /// Give rinit a stdin pipe (default: /dev/null, as in CI).
    pub fn piped_stdin(mut self) -> Self {
        self.stdin = true;
        self
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new("unshare");
        if !is_root() {
            c.arg("-Ur");
        }
        // --kill-child: if unshare dies (or the test kills it), the
        // namespace's init gets SIGKILL and the kernel empties the namespace.
        c.args(["--pid", "--fork", "--mount-proc", "--kill-child"]);
        match self.mode {
            Mode::Pid1 => {
                c.arg(rinit());
            }
            Mode::NotPid1 => {
                // `; exit $?` keeps sh from exec'ing rinit (it stays PID 1).
                c.args(["sh", "-c", "\"$@\"; exit $?", "sh", rinit()]);
            }
        }
        c.args(&self.args);
        if self.env_clear {
            c.env_clear();
        }
        // Whatever the developer's shell exports must not change the test.
        for key in [
            "RINIT_CONFIG",
            "RINIT_KILL_GRACE",
            "TINI_SUBREAPER",
            "TINI_KILL_PROCESS_GROUP",
            "TINI_VERBOSITY",
            "POSIXLY_CORRECT",
        ] {
            c.env_remove(key);
        }
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c
    }

    pub fn spawn(self) -> Proc {
        let mode = self.mode;
        let mut c = self.command();
        c.stdin(if self.stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        Proc::spawn(c, mode)
    }

    /// Run to completion (with the hard limit) and collect everything.
    pub fn run(self) -> Output {
        let mut p = self.spawn();
        p.wait_exit(WAIT);
        p.output()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

/// Everything a finished run produced.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Exit code; panics (with the output) if the process died by a signal.
    pub fn code(&self) -> i32 {
        match self.status.code() {
            Some(c) => c,
            None => panic!("rinit did not exit normally: {:?}\n{}", self.status, self),
        }
    }

    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }

    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status: {:?}\n--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.status, self.stdout, self.stderr
        )
    }
}

/// A running `unshare … rinit …` tree with its output collected by reader
/// threads. Dropping it (also while a failed test unwinds) kills the tree;
/// a watchdog kills it at `HARD_LIMIT` even if the test is stuck elsewhere.
pub struct Proc {
    child: Child,
    mode: Mode,
    stdin: Option<ChildStdin>,
    lines: Receiver<(Stream, String)>,
    seen: Vec<(Stream, String)>,
    done: Arc<Mutex<bool>>,
    readers: Vec<thread::JoinHandle<()>>,
    status: Option<ExitStatus>,
}

fn reader<R: std::io::Read + Send + 'static>(
    r: R,
    stream: Stream,
    tx: Sender<(Stream, String)>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut r = BufReader::new(r);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf)
                        .trim_end_matches('\n')
                        .to_string();
                    if tx.send((stream, line)).is_err() {
                        break;
                    }
                }
            }
        }
    })
}

impl Proc {
    pub fn spawn(mut c: Command, mode: Mode) -> Proc {
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {c:?}: {e} (is util-linux installed?)"));
        let (tx, rx) = mpsc::channel();
        let readers = vec![
            reader(child.stdout.take().unwrap(), Stream::Out, tx.clone()),
            reader(child.stderr.take().unwrap(), Stream::Err, tx),
        ];
        let done = Arc::new(Mutex::new(false));
        let watchdog_done = done.clone();
        let pid = child.id() as i32;
        thread::spawn(move || {
            let start = Instant::now();
            while start.elapsed() < HARD_LIMIT {
                if *watchdog_done.lock().unwrap() {
                    return;
                }
                thread::sleep(Duration::from_millis(200));
            }
            if !*watchdog_done.lock().unwrap() {
                eprintln!("watchdog: run {pid} exceeded {HARD_LIMIT:?}, killing it");
                kill_tree(pid);
            }
        });
        Proc {
            stdin: child.stdin.take(),
            child,
            mode,
            lines: rx,
            seen: Vec::new(),
            done,
            readers,
            status: None,
        }
    }

    /// Host pid of the `unshare` process.
    pub fn unshare_pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Host pid of rinit (PID 1 in the namespace, or PID 2 under `sh`).
    pub fn rinit_pid(&mut self) -> i32 {
        let unshare = self.unshare_pid();
        let deadline = Instant::now() + WAIT;
        let init = self.wait_for(deadline, "unshare's child", || {
            children(unshare).first().copied()
        });
        match self.mode {
            Mode::Pid1 => init,
            Mode::NotPid1 => self.wait_for(deadline, "sh's child (rinit)", || {
                children(init).first().copied()
            }),
        }
    }

    /// Host pid of rinit's main child.
    pub fn child_pid(&mut self) -> i32 {
        let r = self.rinit_pid();
        self.wait_for(Instant::now() + WAIT, "rinit's child", || {
            children(r).first().copied()
        })
    }

    fn wait_for<T>(
        &mut self,
        deadline: Instant,
        what: &str,
        mut f: impl FnMut() -> Option<T>,
    ) -> T {
        loop {
            if let Some(v) = f() {
                return v;
            }
            if Instant::now() > deadline {
                self.fail(&format!("timed out waiting for {what}"));
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn stdin(&mut self) -> &mut ChildStdin {
        self.stdin.as_mut().expect("spawned without piped_stdin()")
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    pub fn write_stdin(&mut self, data: &str) {
        let s = self.stdin();
        s.write_all(data.as_bytes()).unwrap();
        s.flush().unwrap();
    }

    /// Next line (from either stream) for which `pred` holds; earlier lines
    /// are kept for the failure message and `output()`. Kills the tree and
    /// panics at the deadline.
    pub fn expect_line(
        &mut self,
        stream: Stream,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((s, line)) => {
                    self.seen.push((s, line.clone()));
                    if s == stream && pred(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.fail(&format!("timed out after {timeout:?} waiting for a line"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.fail("output closed before the expected line")
                }
            }
        }
    }

    /// Wait for the exact stdout line `want`.
    pub fn expect_stdout(&mut self, want: &str) -> String {
        self.expect_line(Stream::Out, WAIT, |l| l == want)
    }

    /// Wait for all these exact stdout lines, in any order.
    pub fn expect_stdout_all(&mut self, want: &[&str]) {
        let mut left: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        while !left.is_empty() {
            let got = self.expect_line(Stream::Out, WAIT, |l| left.iter().any(|w| w == l));
            left.retain(|w| *w != got);
        }
    }

    /// Wait for a stdout line `ready <pid>`, return the pid (namespace view).
    pub fn expect_ready(&mut self) -> i32 {
        let l = self.expect_line(Stream::Out, WAIT, |l| l.starts_with("ready "));
        l["ready ".len()..].trim().parse().unwrap()
    }

    /// Wait for the tree to exit; kills it and panics at the deadline.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(s) = self.status {
            return s;
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(s)) => {
                    self.status = Some(s);
                    *self.done.lock().unwrap() = true;
                    return s;
                }
                Ok(None) => {}
                Err(e) => panic!("try_wait: {e}"),
            }
            if Instant::now() > deadline {
                self.fail(&format!("rinit still running after {timeout:?}"));
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn exit_code(&mut self, timeout: Duration) -> i32 {
        let s = self.wait_exit(timeout);
        match s.code() {
            Some(c) => c,
            None => {
                let o = self.output();
                panic!("rinit did not exit normally: {s:?}\n{o}")
            }
        }
    }

    /// After exit: the full output (lines already consumed included).
    pub fn output(&mut self) -> Output {
        let status = self.wait_exit(WAIT);
        self.stdin = None;
        for r in self.readers.drain(..) {
            // Every writer is gone with the namespace, so EOF is immediate.
            let _ = r.join();
        }
        while let Ok(l) = self.lines.try_recv() {
            self.seen.push(l);
        }
        let pick = |s: Stream| {
            self.seen
                .iter()
                .filter(|(t, _)| *t == s)
                .map(|(_, l)| format!("{l}\n"))
                .collect::<String>()
        };
        Output {
            status,
            stdout: pick(Stream::Out),
            stderr: pick(Stream::Err),
        }
    }

    /// Lines seen so far, for diagnostics.
    pub fn transcript(&mut self) -> String {
        while let Ok(l) = self.lines.try_recv() {
            self.seen.push(l);
        }
        self.seen
            .iter()
            .map(|(s, l)| format!("{}| {l}\n", if *s == Stream::Out { "out" } else { "err" }))
            .collect()
    }

    /// Kill the tree and panic with everything seen so far.
    pub fn fail(&mut self, why: &str) -> ! {
        self.kill();
        let t = self.transcript();
        panic!("{why}\n--- output so far ---\n{t}---------------------");
    }

    pub fn kill(&mut self) {
        if self.status.is_none() {
            kill_tree(self.unshare_pid());
            let _ = self.child.wait();
        }
        *self.done.lock().unwrap() = true;
    }

    /// Send `sig` to a host pid.
    pub fn signal(&mut self, pid: i32, sig: i32) {
        // SAFETY: plain kill(2) on a pid we own.
        if unsafe { libc::kill(pid, sig) } != 0 {
            let e = std::io::Error::last_os_error();
            self.fail(&format!("kill({pid}, {sig}): {e}"));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// SIGKILL the namespace's init (emptying the namespace) and `unshare`.
pub fn kill_tree(unshare: i32) {
    for init in children(unshare) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(init, libc::SIGKILL) };
    }
    // SAFETY: as above.
    unsafe { libc::kill(unshare, libc::SIGKILL) };
}

/// Children of a host pid (its main thread's list, as the kernel keeps it).
pub fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// All descendants of a host pid (depth first).
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut todo = children(pid);
    while let Some(p) = todo.pop() {
        out.push(p);
        todo.extend(children(p));
    }
    out
}

pub fn alive(pid: i32) -> bool {
    // A zombie still has /proc/PID; count it as gone only once reaped.
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Fields of /proc/PID/status, e.g. `status_field(p, "voluntary_ctxt_switches")`.
pub fn status_field(pid: i32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// (voluntary, nonvoluntary) context switches summed over all of the
/// process's threads (/proc/PID/status alone counts the main thread only).
pub fn ctxt_switches(pid: i32) -> (u64, u64) {
    let mut total = (0, 0);
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/task: {e}"));
    for t in tasks.flatten() {
        let Ok(s) = std::fs::read_to_string(t.path().join("status")) else {
            continue;
        };
        let field = |name: &str| -> u64 {
            s.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {}", t.path().display()))
        };
        total.0 += field("voluntary_ctxt_switches");
        total.1 += field("nonvoluntary_ctxt_switches");
    }
    total
}

/// State letter (`R`, `S`, `Z`, …) and parent pid from /proc/PID/stat.
pub fn stat(pid: i32) -> Option<(char, i32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let mut it = rest.split_whitespace();
    let state = it.next()?.chars().next()?;
    let ppid = it.next()?.parse().ok()?;
    Some((state, ppid))
}

fn pid_ns(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()
}

/// Host pids of all processes in the same PID namespace as `pid`.
pub fn processes_in_ns(pid: i32) -> Vec<i32> {
    let Some(ns) = pid_ns(pid) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok())
            && pid_ns(p).as_ref() == Some(&ns)
        {
            out.push(p);
        }
    }
    out
}

/// Host pids of processes in state Z in `pid`'s PID namespace.
pub fn zombies_in_ns(pid: i32) -> Vec<i32> {
    processes_in_ns(pid)
        .into_iter()
        .filter(|p| matches!(stat(*p), Some(('Z', _))))
        .collect()
}

/// Poll `cond` (a short interval is fine: the condition is the event) until
/// it holds or the deadline passes. Returns whether it held.
pub fn wait_until(deadline: Instant, mut cond: impl FnMut() -> bool) -> bool {
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// A unique scratch directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "rinit-test-{tag}-{}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run `f` over `items` on a few threads (keeps exhaustive tests fast on
/// small machines); returns the failures `f` reported.
pub fn parallel<T: Sync, F: Fn(&T) -> Option<String> + Sync>(
    items: &[T],
    threads: usize,
    f: F,
) -> Vec<String> {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    if let Some(msg) = f(item) {
                        failures.lock().unwrap().push(msg);
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

/// Signal name as the helpers print it (`SIGUSR1`).
pub fn sig_name(sig: i32) -> String {
    let names: &[(i32, &str)] = &[
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGQUIT, "SIGQUIT"),
        (libc::SIGUSR1, "SIGUSR1"),
        (libc::SIGUSR2, "SIGUSR2"),
        (libc::SIGPIPE, "SIGPIPE"),
        (libc::SIGALRM, "SIGALRM"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGCONT, "SIGCONT"),
        (libc::SIGTSTP, "SIGTSTP"),
        (libc::SIGURG, "SIGURG"),
        (libc::SIGXCPU, "SIGXCPU"),
        (libc::SIGXFSZ, "SIGXFSZ"),
        (libc::SIGVTALRM, "SIGVTALRM"),
        (libc::SIGPROF, "SIGPROF"),
        (libc::SIGWINCH, "SIGWINCH"),
        (libc::SIGPWR, "SIGPWR"),
        (libc::SIGSTKFLT, "SIGSTKFLT"),
    ];
    names
        .iter()
        .find(|(n, _)| *n == sig)
        .map(|(_, s)| s.to_string())
        .unwrap_or_else(|| format!("SIG{sig}"))
}

/// Does `s` contain `needle`, ignoring ASCII case?
pub fn contains_ci(s: &str, needle: &str) -> bool {
    s.to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}
