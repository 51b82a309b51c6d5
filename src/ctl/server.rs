//! The control socket inside PID 1's event loop: accept, check peer
//! credentials, read request lines, queue replies — never blocking.
//!
//! Every client is non-blocking and bounded: a request line may be at most
//! `MAX_REQUEST` bytes (then an error reply and close), at most
//! `MAX_CLIENTS` are connected (beyond that the client idle the longest is
//! closed to make room; if every one is busy, the newcomer is accepted,
//! told so, and closed),
//! and replies wait in a per-client buffer of at most `MAX_OUTPUT` bytes —
//! a client that does not read is dropped, never waited for. What requests
//! mean is `answer.rs`'s business; this file is only transport.

use super::proto::{self, Command, Reply};
use crate::os::peer;
use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Control tokens live far above the pipe tokens (`2 + 2 * instance`),
/// which no realistic instance count reaches: the listener here, client
/// `k` at `LISTENER + 1 + k`.
pub const LISTENER: Token = Token(usize::MAX / 2);
pub const MAX_CLIENTS: usize = 64;
/// Reply bytes buffered per client before it counts as not reading.
pub const MAX_OUTPUT: usize = 1024 * 1024;
/// Requests parsed but not yet answered, per client (pipelining bound).
const MAX_QUEUED: usize = 32;

/// What a request asked for, as `answer.rs` decided.
pub struct Answer {
    pub reply: Reply,
    /// Keep sending this log source's new lines (`logs -f`).
    pub follow: Option<Follow>,
}

#[derive(Debug, Clone, Copy)]
pub struct Follow {
    pub source: crate::logmux::SourceId,
    /// Sequence number of the next line to send.
    pub seq: u64,
}

struct Client {
    stream: UnixStream,
    input: Vec<u8>,
    /// Parsed requests, or the error to reply for a bad line.
    requests: VecDeque<Result<Command, String>>,
    output: VecDeque<u8>,
    /// Close once the output is written (bad request, peer done).
    closing: bool,
    follow: Option<Follow>,
    /// `Server::clock` when it last sent a request (or connected).
    last_seen: u64,
}

pub struct Server {
    listener: UnixListener,
    path: PathBuf,
    /// The socket's inode, so exit removes only our own file.
    ino: u64,
    allow: Vec<u32>,
    own_uid: u32,
    clients: Vec<Option<Client>>,
    /// Counts accepts and requests: orders clients by idleness, no clock.
    clock: u64,
}

impl Server {
    /// Bind `path` (mode 0600; 0666 when `allow` lists uids, the peer
    /// check being the gate), replacing a stale socket from a previous run.
    pub fn bind(path: &Path, allow: Vec<u32>, registry: &Registry) -> io::Result<Server> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_socket() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a socket", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        // The umask makes the socket 0600 from its first instant: chmod
        // after bind would leave a window where anyone may connect.
        let old = peer::set_umask(0o177);
        let bound = UnixListener::bind(path);
        peer::set_umask(old);
        let mut listener = bound?;
        if !allow.is_empty() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
        }
        let ino = std::fs::metadata(path)?.ino();
        registry.register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(Server {
            listener,
            path: path.to_path_buf(),
            ino,
            allow,
            own_uid: peer::own_uid(),
            clients: (0..MAX_CLIENTS).map(|_| None).collect(),
            clock: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn owns(token: Token) -> bool {
        token.0 >= LISTENER.0 && token.0 <= LISTENER.0 + MAX_CLIENTS
    }

    fn allowed(&self, uid: u32) -> bool {
        uid == 0 || uid == self.own_uid || self.allow.contains(&uid)
    }

    /// A control token is ready.
    pub fn ready(&mut self, token: Token, registry: &Registry) {
        if token == LISTENER {
            self.accept(registry);
            return;
        }
        let k = token.0 - LISTENER.0 - 1;
        let Some(Some(c)) = self.clients.get_mut(k) else {
            return;
        };
        let before = c.requests.len();
        let alive = c.read() && c.flush();
        if c.requests.len() != before {
            self.clock += 1;
            c.last_seen = self.clock;
        }
        if !alive {
            self.drop_client(k, registry);
        }
    }

    fn accept(&mut self, registry: &Registry) {
        loop {
            let (mut stream, _) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and friends: the client waits in the backlog
                    // until the next accept; nothing to do now.
                    log::warn!("control socket: accept: {e}");
                    return;
                }
            };
            let refuse = match peer::peer_uid(&stream) {
                Ok(uid) if self.allowed(uid) => None,
                Ok(uid) => Some(format!(
                    "permission denied: uid {uid} may not control rinit (allowed: root, uid {}{})",
                    self.own_uid,
                    if self.allow.is_empty() {
                        String::new()
                    } else {
                        format!(", control_allow {:?}", self.allow)
                    }
                )),
                Err(e) => Some(format!("cannot check peer credentials: {e}")),
            };
            let free = if refuse.is_none() {
                self.free_slot(registry)
            } else {
                None
            };
            let refuse = refuse.or_else(|| {
                free.is_none().then(|| {
                    format!("too many control connections (limit {MAX_CLIENTS}, all busy)")
                })
            });
            if let Some(why) = refuse {
                log::info!("control socket: refused a client: {why}");
                // Best effort, once, never waiting: the socket is new, so
                // its buffer has room for one short line.
                let _ = stream.write(&Reply::error(why).to_line());
                continue;
            }
            let Some(k) = free else { continue };
            let token = Token(LISTENER.0 + 1 + k);
            if let Err(e) =
                registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            {
                log::warn!("control socket: register: {e}");
                continue;
            }
            let mut c = Client {
                stream,
                input: Vec::new(),
                requests: VecDeque::new(),
                output: VecDeque::new(),
                closing: false,
                follow: None,
                last_seen: self.clock,
            };
            // Edge-triggered: whatever arrived before registration must be
            // read now, or nobody tells us again.
            if c.read() && c.flush() {
                self.clients[k] = Some(c);
            } else {
                let _ = registry.deregister(&mut c.stream);
            }
        }
    }

    /// A free slot; when all are taken, the one of the client idle the
    /// longest (nothing asked, nothing to send, not following logs): idle
    /// connections must not lock everyone else out.
    fn free_slot(&mut self, registry: &Registry) -> Option<usize> {
        self.clock += 1;
        if let Some(k) = self.clients.iter().position(Option::is_none) {
            return Some(k);
        }
        let idle = |c: &Client| c.requests.is_empty() && c.output.is_empty() && c.follow.is_none();
        let k = (0..self.clients.len())
            .filter(|&k| self.clients[k].as_ref().is_some_and(idle))
            .min_by_key(|&k| self.clients[k].as_ref().map_or(0, |c| c.last_seen))?;
        log::info!("control socket: {MAX_CLIENTS} clients connected; closing the one idle longest");
        self.drop_client(k, registry);
        Some(k)
    }

    fn drop_client(&mut self, k: usize, registry: &Registry) {
        if let Some(mut c) = self.clients.get_mut(k).and_then(Option::take) {
            let _ = registry.deregister(&mut c.stream);
        }
    }

    /// Answer every queued request with `answer`, send followers what
    /// `follow` returns for them, flush, and drop finished or stuck clients.
    pub fn serve(
        &mut self,
        registry: &Registry,
        answer: &mut dyn FnMut(Command) -> Answer,
        follow: &mut dyn FnMut(&mut Follow) -> Option<Reply>,
    ) {
        for k in 0..self.clients.len() {
            let Some(c) = self.clients[k].as_mut() else {
                continue;
            };
            // Answering may free room for requests `read` left in the
            // socket (MAX_QUEUED): read again until none is left, or the
            // client stops taking replies.
            let mut keep = true;
            while keep && !c.requests.is_empty() {
                while let Some(req) = c.requests.pop_front() {
                    match req {
                        Ok(cmd) => {
                            let a = answer(cmd);
                            c.push(&a.reply);
                            if a.follow.is_some() {
                                c.follow = a.follow;
                            }
                        }
                        Err(e) => c.push(&Reply::error(e)),
                    }
                }
                keep = c.flush() && c.output.len() <= MAX_OUTPUT && c.read();
            }
            if let Some(f) = c.follow.as_mut()
                && let Some(reply) = follow(f)
            {
                c.push(&reply);
            }
            keep = keep && c.flush() && c.output.len() <= MAX_OUTPUT;
            let done = c.closing && c.output.is_empty() && c.requests.is_empty();
            if c.output.len() > MAX_OUTPUT {
                log::info!("control socket: dropping a client that does not read its replies");
            }
            if !keep || done {
                self.drop_client(k, registry);
            }
        }
    }

    /// At exit: remove the socket file, if it is still ours.
    pub fn close(&mut self) {
        if std::fs::metadata(&self.path).is_ok_and(|m| m.ino() == self.ino) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    pub fn set_allow(&mut self, allow: Vec<u32>) {
        self.allow = allow;
    }
}

impl Client {
    fn push(&mut self, reply: &Reply) {
        self.output.extend(reply.to_line());
    }

    /// Read to WouldBlock, cutting lines into requests. False: drop now.
    fn read(&mut self) -> bool {
        let mut buf = [0u8; 8192];
        while !self.closing && self.requests.len() < MAX_QUEUED {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    // The peer is done sending; answer what it asked, then close.
                    self.closing = true;
                }
                Ok(n) => {
                    self.input.extend_from_slice(&buf[..n]);
                    self.cut_lines();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
        }
        true
    }

    fn cut_lines(&mut self) {
        while let Some(nl) = self.input.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.input.drain(..=nl).collect();
            let line = line.trim_ascii();
            if !line.is_empty() {
                self.requests.push_back(proto::parse_request(line));
            }
        }
        if self.input.len() > proto::MAX_REQUEST {
            self.input = Vec::new();
            self.requests.push_back(Err(format!(
                "request too long (limit {} bytes)",
                proto::MAX_REQUEST
            )));
            self.closing = true;
        }
    }

    /// Write what the socket takes. False: the peer is gone.
    fn flush(&mut self) -> bool {
        while !self.output.is_empty() {
            let (front, _) = self.output.as_slices();
            match self.stream.write(front) {
                Ok(0) => return false,
                Ok(n) => {
                    self.output.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
        }
        true
    }
}
