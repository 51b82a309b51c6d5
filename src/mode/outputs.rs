//! Where children's stdout and stderr go: the pipes rinit owns, the log
//! multiplexer behind them, and the files rinit writes for `stdout = PATH`.
//!
//! A *log source* is anything with a name and output: a program instance, a
//! hook, the main command. Each has, per stream, one pipe created once and
//! kept for its whole life (a restart never loses what sits in the pipe).
//! rinit's read ends are non-blocking and live in the event loop; the
//! children's write ends are blocking, so when rinit stops reading they block
//! in `write`, and nothing is dropped. A pipe is read only while its
//! destination has room:
//! - `log`: the multiplexer's sink for that stream (`LogMux::can_accept`);
//! - a file path: that file's own sink (at most `Sink::room` bytes per read,
//!   so a push always fits). Sources writing the same path share one sink.
//!
//! Pipes not read for lack of room are remembered and read again when the
//! sinks' waker fires (mio is edge-triggered: they will not be re-reported).

use crate::config::{Config, LogFormat, LogRotation, Output};
use crate::logmux::file::FileTarget;
use crate::logmux::{self, FormatOptions, LogMux, Sink, SourceId, Stream};
use crate::os::spawn::Stdio;
use mio::unix::pipe::{Receiver, Sender};
use mio::{Interest, Registry, Token, Waker};
use std::collections::HashMap;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod splice;
mod tokens;
use splice::{Splicer, Step};
use tokens::{decode, pipe_token, stream_index};

/// The sinks' token: their waker, and rinit's fd 1/2 when they have room
/// again after a refused write.
pub const LOG_WAKER: Token = Token(1);

/// How long rinit waits, at exit, for buffered output to reach a slow stdout.
pub const EXIT_FLUSH: Duration = Duration::from_secs(2);

/// Bytes taken from one pipe (plus at most one read) before the loop looks
/// at everything else again (signals, timers, other pipes): a program that
/// writes as fast as rinit reads must not hold PID 1 in one pipe. The pipe
/// is read on at the next turn (`Outputs::resume`), without waiting for
/// another wake-up.
const READ_SHARE: usize = 1024 * 1024;
/// What rinit's fd 1/2 are grown to when they are pipes: the default
/// `pipe-max-size`, so it works without privileges.
const OUTPUT_PIPE_SIZE: usize = 1024 * 1024;

/// What to tell an operator (at debug verbosity) when the kernel would not
/// grow rinit's `name` pipe to `want` bytes; rinit works on with the smaller
/// pipe.
fn pipe_left_short(name: &str, got: Option<usize>, want: usize) -> Option<String> {
    let got = got.filter(|&n| n < want)?;
    Some(format!(
        "{name} is a pipe of {got} bytes; the kernel refused to grow it to {want} \
         (fs.pipe-max-size or the per-user pipe limit): output moves in smaller turns"
    ))
}

/// A named output source (program instance, hook, main command).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogSource(usize);

struct Pipe {
    rx: Receiver,
    /// Kept open by rinit so the pipe outlives every run of the child;
    /// `None` once the source is released (the pipe then ends at EOF).
    tx: Option<Sender>,
}

enum Route {
    /// Through the multiplexer to rinit's fd 1 / fd 2.
    Mux(Pipe),
    /// Written by rinit to `files[index]`, opened at the first spawn.
    File {
        pipe: Pipe,
        path: PathBuf,
        rotation: Option<LogRotation>,
        sink: Option<usize>,
    },
    Inherit,
    Null,
}

struct Source {
    mux_id: SourceId,
    routes: [Route; 2],
    /// Gone for good (`release`): its routes close as their pipes end.
    released: bool,
}

struct FileOut {
    path: PathBuf,
    sink: Sink,
}

pub struct Outputs {
    mux: LogMux,
    registry: Registry,
    waker: Arc<Waker>,
    sources: Vec<Source>,
    files: Vec<FileOut>,
    /// Which source a live child writes to (drained when it is reaped).
    pids: HashMap<i32, LogSource>,
    /// Pipes left readable because their destination was full.
    stalled: Vec<Token>,
    /// Pipes left readable because they had used their `share`.
    unfinished: Vec<Token>,
    /// `READ_SHARE` (smaller in tests).
    share: usize,
    /// The raw format's splice fast path (`splice.rs`); `None` otherwise.
    splicer: Option<Splicer>,
    buf: Vec<u8>,
}

impl Outputs {
    /// The multiplexer on rinit's fd 1 / fd 2, formatted as `config` says;
    /// colour only when stdout is a terminal and `NO_COLOR` is unset.
    pub fn new(config: &Config, registry: &Registry) -> io::Result<Self> {
        let colour = logmux::use_colour(
            nix::unistd::isatty(io::stdout()).unwrap_or(false),
            std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        );
        let format = match config.global.log_format {
            LogFormat::Prefix => logmux::Format::Prefix,
            LogFormat::Raw => logmux::Format::Raw,
            LogFormat::Json => logmux::Format::Json,
        };
        let opts = FormatOptions {
            format,
            timestamps: config.global.log_timestamps,
            colour,
        };
        // A container's log pipe holds 64 KiB: under a steady flow it is
        // full at every turn, and each wake-up moves a page or two. Grown,
        // a turn moves what came meanwhile, and a burst waits in the kernel
        // rather than blocking the programs (single-command mode, the tini
        // drop-in, leaves its fds as they are).
        for (name, fd) in [
            ("stdout", io::stdout().as_fd()),
            ("stderr", io::stderr().as_fd()),
        ] {
            let got = crate::os::pipe::grow(fd, OUTPUT_PIPE_SIZE);
            if let Some(why) = pipe_left_short(name, got, OUTPUT_PIPE_SIZE) {
                log::debug!("{why}");
            }
        }
        Self::on(opts, registry, io::stdout(), io::stderr())
    }

    /// The multiplexer on `stdout` and `stderr` (rinit's fd 1/2, or a
    /// test's pipes).
    fn on<O, E>(opts: FormatOptions, registry: &Registry, stdout: O, stderr: E) -> io::Result<Self>
    where
        O: AsFd + Send + 'static,
        E: AsFd + Send + 'static,
    {
        let waker = Arc::new(Waker::new(registry, LOG_WAKER)?);
        let shared = same_file(&stdout, &stderr);
        let cap = logmux::SINK_CAPACITY;
        let w = || Some(waker.clone());
        let out = Sink::direct(stdout, cap, w(), "stdout", registry, LOG_WAKER)?;
        let err = Sink::direct(stderr, cap, w(), "stderr", registry, LOG_WAKER)?;
        let mut mux = LogMux::new(opts, out, err);
        if shared {
            // fd 1 and fd 2 are one pipe (`2>&1`): each stream's writes must
            // stay atomic with respect to the other's.
            mux.set_shared();
        }
        // Inherit programs and a main command are known only later: the
        // splice path is enabled by `start_splicing` once they are.
        Ok(Outputs {
            mux,
            registry: registry.try_clone()?,
            waker,
            sources: Vec::new(),
            files: Vec::new(),
            pids: HashMap::new(),
            stalled: Vec::new(),
            unfinished: Vec::new(),
            share: READ_SHARE,
            splicer: None,
            buf: vec![0; logmux::READ_SIZE],
        })
    }

    /// The multiplexer, for reading (the control plane's `logs` tail).
    pub fn mux(&self) -> &LogMux {
        &self.mux
    }

    /// A new source routed as a program's `stdout` / `stderr` say (hooks:
    /// both `Output::Log`). Its child ends come from [`Outputs::stdio`] at
    /// each spawn; call [`Outputs::attach`] with the child's pid.
    pub fn add(
        &mut self,
        name: &str,
        stdout: &Output,
        stderr: &Output,
        rotation: Option<LogRotation>,
    ) -> io::Result<LogSource> {
        if [stdout, stderr].contains(&&Output::Inherit) {
            self.share_stdio();
        }
        let index = self.sources.len();
        let mux_id = self.mux.register(name);
        let out = self.route(stdout, rotation, pipe_token(index, Stream::Stdout))?;
        let err = self.route(stderr, rotation, pipe_token(index, Stream::Stderr))?;
        self.sources.push(Source {
            mux_id,
            routes: [out, err],
            released: false,
        });
        Ok(LogSource(index))
    }

    fn route(
        &self,
        output: &Output,
        rotation: Option<LogRotation>,
        token: Token,
    ) -> io::Result<Route> {
        let pipe = || -> io::Result<Pipe> {
            let (tx, mut rx) = mio::unix::pipe::new()?;
            // O_NONBLOCK belongs to the open file description: only rinit's
            // end gets it; the child's end stays blocking.
            tx.set_nonblocking(false)?;
            self.registry.register(&mut rx, token, Interest::READABLE)?;
            Ok(Pipe { rx, tx: Some(tx) })
        };
        Ok(match output {
            Output::Log => Route::Mux(pipe()?),
            Output::File(path) => Route::File {
                pipe: pipe()?,
                path: path.clone(),
                rotation,
                sink: None,
            },
            Output::Inherit => Route::Inherit,
            Output::Null => Route::Null,
        })
    }

    /// Some child writes to rinit's own fd 1/2 (`inherit`, the main
    /// command): rinit's writes there must stay atomic. For good: its
    /// processes may outlive a reload.
    pub fn share_stdio(&mut self) {
        self.mux.set_shared();
    }

    /// Raw format, once every start-up source is known (none shares fd
    /// 1/2): whole lines may be spliced from the pipes to rinit's fd 1/2.
    pub fn start_splicing(&mut self) {
        if self.splicer.is_none() && self.mux.enable_splice() {
            self.splicer = Splicer::new().ok();
        }
    }

    /// The child's stdout and stderr for one spawn of `src`. A file output
    /// is opened here the first time, so a bad path fails the spawn.
    pub fn stdio(&mut self, src: LogSource) -> Result<(Stdio, Stdio), String> {
        let Some(source) = self.sources.get(src.0) else {
            return Err("unknown log source".into());
        };
        let unopened: Vec<(usize, PathBuf, Option<LogRotation>)> = (0..2)
            .filter_map(|i| match &source.routes[i] {
                Route::File {
                    path,
                    rotation,
                    sink: None,
                    ..
                } => Some((i, path.clone(), *rotation)),
                _ => None,
            })
            .collect();
        for (i, path, rotation) in unopened {
            let index = self.open_file(&path, rotation)?;
            if let Route::File { sink, .. } = &mut self.sources[src.0].routes[i] {
                *sink = Some(index);
            }
        }
        let source = &self.sources[src.0];
        let end = |route: &Route| match route {
            Route::Mux(pipe) | Route::File { pipe, .. } => child_end(pipe),
            Route::Inherit => Ok(Stdio::inherit()),
            Route::Null => Ok(Stdio::null()),
        };
        Ok((end(&source.routes[0])?, end(&source.routes[1])?))
    }

    fn open_file(&mut self, path: &Path, rotation: Option<LogRotation>) -> Result<usize, String> {
        if let Some(i) = self.files.iter().position(|f| f.path == path) {
            return Ok(i);
        }
        let target = FileTarget::open(path, rotation)
            .map_err(|e| format!("{}: {}", path.display(), crate::os::strerror(&e)))?;
        let name = format!("file{}", self.files.len());
        let sink = Sink::with_target(
            target,
            logmux::SINK_CAPACITY,
            Some(self.waker.clone()),
            &name,
        )
        .map_err(|e| format!("{}: writer thread: {e}", path.display()))?;
        self.files.push(FileOut {
            path: path.to_owned(),
            sink,
        });
        Ok(self.files.len() - 1)
    }

    /// `pid` writes to `src`: its output is drained when it is reaped.
    pub fn attach(&mut self, pid: i32, src: LogSource) {
        self.pids.insert(pid, src);
    }

    /// Whether `token` is one of the pipes (or the waker) handled here.
    pub fn owns(&self, token: Token) -> bool {
        token == LOG_WAKER || decode(token).is_some_and(|(i, _)| i < self.sources.len())
    }

    /// A pipe or the waker is ready.
    pub fn ready(&mut self, token: Token) {
        if token == LOG_WAKER {
            self.mux.pump();
            self.report_file_errors();
            self.resume_stalled();
        } else {
            self.read_pipe(token, false, self.share);
        }
    }

    /// Pipes that were left with more to read: the loop should not wait.
    pub fn busy(&self) -> bool {
        !self.unfinished.is_empty()
    }

    /// The next share of every pipe left unfinished last turn.
    pub fn resume(&mut self) {
        // Each one at most once: a pipe with still more goes back to the
        // end. (Taken in place: no allocation per turn.)
        for _ in 0..self.unfinished.len() {
            let token = self.unfinished.remove(0);
            self.read_pipe(token, false, self.share);
        }
    }

    /// A child was reaped. Everything it wrote to the log is in its pipes
    /// now: deliver it, even past back-pressure (bounded by a pipe's
    /// capacity), and end an unterminated last line, before anyone hears of
    /// the exit. (File outputs need no such order: their pipe is read on.)
    pub fn reaped(&mut self, pid: i32) {
        let Some(src) = self.pids.remove(&pid) else {
            return;
        };
        for stream in [Stream::Stdout, Stream::Stderr] {
            let Some(source) = self.sources.get(src.0) else {
                return;
            };
            if let Route::Mux(pipe) = &source.routes[stream_index(stream)] {
                let id = source.mux_id;
                // What it wrote is in the pipe now; anything after that
                // (from a process it left behind) waits its turn.
                let written = queued(pipe.rx.as_raw_fd());
                self.read_pipe(pipe_token(src.0, stream), true, written.max(1));
                self.mux.eof(id, stream);
            }
        }
    }

    /// `src` is gone for good (a reload removed it and its process group is
    /// empty). rinit lets go of its write ends, so each pipe ends once what
    /// is left in it has been read (by the usual path, back-pressure and
    /// all; later if a process that left the group still holds it open).
    /// An ended pipe is closed; when both are, the source's `ctl logs` tail
    /// is freed. Without this, every reload that removes a program would
    /// keep its four fds and up to a tail's bytes for good.
    pub fn release(&mut self, src: LogSource) {
        let Some(source) = self.sources.get_mut(src.0) else {
            return;
        };
        source.released = true;
        let mut unopened = Vec::new();
        for stream in [Stream::Stdout, Stream::Stderr] {
            match &mut source.routes[stream_index(stream)] {
                Route::File { sink: None, .. } => unopened.push(stream),
                Route::Mux(pipe) | Route::File { pipe, .. } => pipe.tx = None,
                Route::Inherit | Route::Null => {}
            }
        }
        // A file never opened was never written to: nothing to read.
        for stream in unopened {
            self.close_pipe(src.0, stream);
        }
        for stream in [Stream::Stdout, Stream::Stderr] {
            self.read_pipe(pipe_token(src.0, stream), false, self.share);
        }
        self.forget_if_closed(src.0);
    }

    /// A released source's pipe ended: deliver its unterminated last line
    /// (marked partial), stop watching it and close it.
    fn close_pipe(&mut self, index: usize, stream: Stream) {
        let Some(source) = self.sources.get_mut(index) else {
            return;
        };
        let mux_id = source.mux_id;
        let route = std::mem::replace(&mut source.routes[stream_index(stream)], Route::Null);
        let (Route::Mux(mut pipe) | Route::File { mut pipe, .. }) = route else {
            return;
        };
        if let Err(e) = self.registry.deregister(&mut pipe.rx) {
            log::warn!("output of source {index}: deregister: {e}");
        }
        drop(pipe);
        self.mux.eof(mux_id, stream);
        let token = pipe_token(index, stream);
        self.stalled.retain(|&t| t != token);
        self.unfinished.retain(|&t| t != token);
        self.forget_if_closed(index);
    }

    /// A released source with no pipe left: free its `ctl logs` tail.
    fn forget_if_closed(&mut self, index: usize) {
        let Some(source) = self.sources.get(index) else {
            return;
        };
        let piped = |r: &Route| matches!(r, Route::Mux(_) | Route::File { .. });
        if source.released && !source.routes.iter().any(piped) {
            self.mux.forget(source.mux_id);
        }
    }

    /// Whether `src`'s pipes are all closed (tests).
    #[cfg(test)]
    fn closed(&self, src: LogSource) -> bool {
        let piped = |r: &Route| matches!(r, Route::Mux(_) | Route::File { .. });
        !self.sources[src.0].routes.iter().any(piped)
    }

    /// SIGUSR1: every file is reopened by name before its next write.
    pub fn reopen_files(&mut self) {
        for f in &self.files {
            f.sink.reopen();
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.mux.next_deadline()
    }

    pub fn tick(&mut self, now: Instant) {
        // Read what can be read first: it may complete a pending line. A
        // pipe still stalled keeps its partial line waiting.
        self.resume_stalled();
        for &token in &self.stalled {
            if let Some((index, stream)) = decode(token)
                && let Some(source) = self.sources.get(index)
            {
                self.mux.hold(source.mux_id, stream, now);
            }
        }
        self.mux.tick(now);
    }

    pub fn log_rinit(&mut self, level: log::Level, text: &str) {
        self.mux.log_rinit(level, text);
    }

    /// At exit: what is left in file pipes goes to the files, then every
    /// sink gets until `deadline` to write. True when all was written.
    pub fn finish(&mut self, deadline: Instant) -> bool {
        for i in 0..self.sources.len() {
            for stream in [Stream::Stdout, Stream::Stderr] {
                let Route::File {
                    pipe,
                    sink: Some(f),
                    ..
                } = &self.sources[i].routes[stream_index(stream)]
                else {
                    continue;
                };
                let sink = &self.files[*f].sink;
                loop {
                    let room = sink.room().min(self.buf.len());
                    if room == 0 {
                        if !sink.flush_blocking(deadline) {
                            return false;
                        }
                        continue;
                    }
                    match (&pipe.rx).read(&mut self.buf[..room]) {
                        Ok(n) if n > 0 => {
                            let _ = sink.try_push(&self.buf[..n]);
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        _ => break,
                    }
                }
            }
        }
        let files = self.files.iter().all(|f| f.sink.flush_blocking(deadline));
        self.mux.flush_blocking(deadline) && files
    }

    /// Read one pipe until it is empty, its destination is full, or
    /// `share` bytes have been taken (then it is `unfinished`).
    fn read_pipe(&mut self, token: Token, ignore_backpressure: bool, share: usize) {
        let Some((index, stream)) = decode(token) else {
            return;
        };
        let Some(source) = self.sources.get(index) else {
            return;
        };
        let mux_id = source.mux_id;
        let (pipe, file) = match &source.routes[stream_index(stream)] {
            Route::Mux(pipe) => (pipe, None),
            Route::File { pipe, sink, .. } => (pipe, Some(sink.and_then(|i| self.files.get(i)))),
            Route::Inherit | Route::Null => return,
        };
        let rx = pipe.rx.as_raw_fd();
        let mut taken = 0;
        loop {
            if taken >= share {
                if !self.unfinished.contains(&token) {
                    self.unfinished.push(token);
                }
                return;
            }
            let room = match file {
                None if ignore_backpressure || self.mux.can_accept(stream) => self.buf.len(),
                None => 0,
                // Not opened yet: nothing can have been written.
                Some(None) => return,
                Some(Some(f)) => f.sink.room().min(self.buf.len()),
            };
            if room == 0 {
                if !self.stalled.contains(&token) {
                    self.stalled.push(token);
                }
                return;
            }
            let mut want = room;
            if file.is_none()
                && let Some(sp) = self.splicer.as_mut()
            {
                if self.mux.pending_len(mux_id, stream) > 0 {
                    match sp.until_line_end(rx, &mut self.buf[..room]) {
                        Some(n) => want = n,
                        None => return,
                    }
                } else if let Some(to) = self.mux.splice_target(mux_id, stream) {
                    match sp.step(rx, to, &mut self.buf[..room]) {
                        Step::Moved(cut) => {
                            self.mux.spliced(mux_id, stream, &self.buf[..cut]);
                            taken += cut;
                            continue;
                        }
                        Step::Rest { done, end } => {
                            self.mux.spliced(mux_id, stream, &self.buf[..end]);
                            let rest = read_exact(&pipe.rx, &mut self.buf[..end - done]);
                            self.mux.push_raw(stream, &self.buf[..rest]);
                            taken += end;
                            continue;
                        }
                        Step::Read(n) => want = n,
                        // A reaped program's lines are read and queued past
                        // back-pressure instead: they must come before its exit.
                        Step::Full if !ignore_backpressure && self.mux.wait_writable(stream) => {
                            // Its token fires when the output has room.
                            if !self.stalled.contains(&token) {
                                self.stalled.push(token);
                            }
                            return;
                        }
                        Step::Full => {}
                        Step::OutputFailed(e) => self.mux.splice_failed(stream, e),
                        Step::Empty => return,
                        Step::Off => {}
                    }
                }
            }
            match (&pipe.rx).read(&mut self.buf[..want]) {
                // Only once released (while rinit holds `tx`, never):
                // no writer is left and the pipe is empty.
                Ok(0) => break,
                Ok(n) => {
                    taken += n;
                    match file {
                        Some(Some(f)) => {
                            // Fits: `room` bytes at most, and only we push.
                            let _ = f.sink.try_push(&self.buf[..n]);
                        }
                        // A partial line's delay counts from this read.
                        _ => self
                            .mux
                            .feed(mux_id, stream, &self.buf[..n], Instant::now()),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    log::warn!("reading output of source {index}: {e}");
                    return;
                }
            }
        }
        self.close_pipe(index, stream);
    }

    fn resume_stalled(&mut self) {
        // Each read re-stalls itself if its destination is still full.
        for _ in 0..self.stalled.len() {
            let token = self.stalled.remove(0);
            self.read_pipe(token, false, self.share);
        }
    }

    fn report_file_errors(&mut self) {
        for i in 0..self.files.len() {
            if let Some(e) = self.files[i].sink.take_error() {
                let text = format!(
                    "cannot write to {}: {}",
                    self.files[i].path.display(),
                    crate::os::errno_text(e)
                );
                self.mux.log_rinit(log::Level::Error, &text);
            }
        }
    }
}

/// Bytes waiting in pipe `fd` (0 if it cannot say).
fn queued(fd: std::os::fd::RawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int, which we own.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) } < 0 {
        return 0;
    }
    n.max(0) as usize
}

/// Read exactly `buf.len()` bytes the caller knows are in the pipe (it
/// peeked them); fewer only if the pipe says otherwise. Returns the count.
fn read_exact(mut rx: &Receiver, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match rx.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    got
}

/// Whether two fds are the same file (device and inode).
fn same_file(a: impl AsFd, b: impl AsFd) -> bool {
    match (nix::sys::stat::fstat(a), nix::sys::stat::fstat(b)) {
        (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
        _ => false,
    }
}

/// A fresh duplicate of the pipe's write end for one child.
fn child_end(pipe: &Pipe) -> Result<Stdio, String> {
    let Some(tx) = &pipe.tx else {
        return Err("its output was released".into());
    };
    let fd = tx
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| format!("dup: {e}"))?;
    Ok(Stdio::from(fd))
}

#[cfg(test)]
mod tests;
