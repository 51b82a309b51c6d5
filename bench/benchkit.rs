//! benchkit: the programs the benchmark runs under each init, and the reader
//! of the init's stdout. Standard library only, built by `bench/run.py` with
//! plain `rustc` (no Cargo, no crate): a static binary whose start-up costs
//! microseconds, so that time stamps taken by it measure the init, not the
//! helper.
//!
//! All time stamps are CLOCK_MONOTONIC nanoseconds (Python's
//! `time.monotonic_ns()` reads the same clock).
//!
//! Subcommands:
//!   stamp [--ignore-term] FILE [-- CMD ARGS...]
//!       write the time to FILE (atomically), then exec CMD, or else wait
//!       forever. SIGTERM kills it (default action) unless --ignore-term, in
//!       which case each SIGTERM received is appended to FILE.term and
//!       ignored.
//!   gen WID MBYTES CHUNK
//!       write MBYTES (10^6 bytes) of 100-byte numbered lines to stdout in
//!       write()s of CHUNK bytes (lines straddle writes, as with stdio),
//!       then an end line "@E<wid>:<count>#", then wait forever.
//!   sink WRITERS
//!       read stdin; verify every line; once every writer's end line has
//!       arrived print one JSON object with the counts and the time of the
//!       first data byte and of the last end line, then drain stdin to EOF.
//!   init CMD ARGS... [:: CMD ARGS...]...
//!       a minimal init, the floor the inits are compared with: fork and
//!       exec every command at once; on SIGTERM send SIGTERM to them; reap
//!       every child; exit once SIGTERM came and no child is left. No
//!       config, no logs, no escalation.
//!   relay splice|copy
//!       move stdin to stdout until EOF, by splice(2) (nothing copied, the
//!       best any process in the middle can do) or by read/write of 64 KiB.
//!   orphans N OUTFILE [LIMIT_S]
//!       create N double-forked orphans (they exit at once and become
//!       zombies of PID 1); sample PID 1's child count while doing it and
//!       until PID 1 is back to its starting count (at most LIMIT_S, 30 s
//!       by default, after the last orphan); write JSON to OUTFILE;
//!       then wait forever.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clk: i32, ts: *mut Timespec) -> i32;
    fn signal(sig: i32, handler: usize) -> usize;
    fn pause() -> i32;
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(code: i32) -> !;
    fn memchr(s: *const u8, c: i32, n: usize) -> *const u8;
    fn kill(pid: i32, sig: i32) -> i32;
    fn sigemptyset(set: *mut SigSet) -> i32;
    fn sigaddset(set: *mut SigSet, sig: i32) -> i32;
    fn sigprocmask(how: i32, set: *const SigSet, old: *mut SigSet) -> i32;
    fn sigwait(set: *const SigSet, sig: *mut i32) -> i32;
    fn splice(fd_in: i32, off_in: *mut i64, fd_out: i32, off_out: *mut i64, len: usize, flags: u32) -> isize;
}

/// glibc's sigset_t (1024 bits).
#[repr(C)]
struct SigSet([u64; 16]);

/// glibc's vectorised memchr: the sink must outrun the pipe it measures.
fn mchr(hay: &[u8], c: u8) -> Option<usize> {
    // SAFETY: pointer and length come from one slice.
    let r = unsafe { memchr(hay.as_ptr(), c as i32, hay.len()) };
    if r.is_null() {
        None
    } else {
        Some(r as usize - hay.as_ptr() as usize)
    }
}

const SIGTERM: i32 = 15;
const SIGPIPE: i32 = 13;
const SIGCHLD: i32 = 17;
const SIG_BLOCK: i32 = 0;
const SIG_UNBLOCK: i32 = 1;
const WNOHANG: i32 = 1;
const ECHILD: i32 = 10;
const LINE: usize = 100; // bytes per data line, newline included
const FILL: usize = LINE - 16; // "@D" wid ':' seq(9) ':' fill '#' '\n'

fn now_ns() -> u64 {
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid pointer to a timespec; CLOCK_MONOTONIC = 1.
    unsafe { clock_gettime(1, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn write_atomic(path: &str, text: &str) {
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, text).expect("write stamp");
    std::fs::rename(&tmp, path).expect("rename stamp");
}

fn wait_forever() -> ! {
    loop {
        // SAFETY: pause has no preconditions.
        unsafe { pause() };
    }
}

static TERMS: AtomicU64 = AtomicU64::new(0);
static LAST_TERM: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_term(_: i32) {
    LAST_TERM.store(now_ns(), Ordering::SeqCst);
    TERMS.fetch_add(1, Ordering::SeqCst);
}

fn stamp(args: &[String]) -> ! {
    let mut ignore = false;
    let mut i = 0;
    if args.get(0).map(String::as_str) == Some("--ignore-term") {
        ignore = true;
        i = 1;
    }
    let file = args.get(i).expect("stamp FILE").clone();
    let rest = &args[i + 1..];
    if ignore {
        // SAFETY: installing a handler that only touches atomics.
        unsafe { signal(SIGTERM, on_term as *const () as usize) };
    }
    write_atomic(&file, &format!("{}\n", now_ns()));
    if rest.first().map(String::as_str) == Some("--") && rest.len() > 1 {
        let err = std::process::Command::new(&rest[1]).args(&rest[2..]).exec();
        eprintln!("benchkit stamp: exec {}: {err}", rest[1]);
        std::process::exit(127);
    }
    let mut seen = 0;
    let mut log = String::new();
    loop {
        // SAFETY: pause has no preconditions.
        unsafe { pause() };
        let n = TERMS.load(Ordering::SeqCst);
        if n != seen {
            seen = n;
            log.push_str(&format!("{}\n", LAST_TERM.load(Ordering::SeqCst)));
            write_atomic(&format!("{file}.term"), &log);
        }
    }
}

fn fill_for(wid: u64, seq: u64) -> usize {
    ((seq * 7 + wid * 11) % 26) as usize
}

fn fills() -> Vec<Vec<u8>> {
    (0..26)
        .map(|k| (0..FILL).map(|i| b'a' + ((k + i * 3) % 26) as u8).collect())
        .collect()
}

fn gen(args: &[String]) -> ! {
    let wid: u64 = args[0].parse().expect("WID");
    assert!(wid < 10, "WID is one digit");
    let mbytes: f64 = args[1].parse().expect("MBYTES");
    let chunk: usize = args[2].parse().expect("CHUNK");
    let lines = (mbytes * 1e6 / LINE as f64) as u64;
    let fills = fills();
    // Raw fd 1 without LineWriter buffering: one write() per chunk.
    let mut raw = unsafe_stdout();
    let mut buf: Vec<u8> = Vec::with_capacity(chunk + 2 * LINE);
    let mut line = [0u8; LINE];
    line[0] = b'@';
    line[1] = b'D';
    line[2] = b'0' + wid as u8;
    line[3] = b':';
    line[13] = b':';
    line[LINE - 2] = b'#';
    line[LINE - 1] = b'\n';
    for seq in 0..lines {
        let mut s = seq;
        for k in (4..13).rev() {
            line[k] = b'0' + (s % 10) as u8;
            s /= 10;
        }
        line[14..14 + FILL].copy_from_slice(&fills[fill_for(wid, seq)]);
        buf.extend_from_slice(&line);
        if buf.len() >= chunk {
            raw_write(&mut raw, &buf[..chunk]);
            buf.drain(..chunk);
        }
    }
    buf.extend_from_slice(format!("@E{wid}:{lines}#\n").as_bytes());
    for piece in buf.chunks(chunk) {
        raw_write(&mut raw, piece);
    }
    std::mem::forget(raw);
    wait_forever()
}

fn unsafe_stdout() -> std::fs::File {
    use std::os::unix::io::FromRawFd;
    // SAFETY: fd 1 is open for the life of the process; we never close it
    // through std's Stdout.
    unsafe { std::fs::File::from_raw_fd(1) }
}

fn raw_write(f: &mut std::fs::File, mut buf: &[u8]) {
    while !buf.is_empty() {
        match f.write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => std::process::exit(1),
        }
    }
}

#[derive(Default)]
struct Writer {
    ok: u64,
    next: u64,
    out_of_order: u64,
    announced: Option<u64>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let mut off = 0;
    while let Some(p) = mchr(&hay[off..], needle[0]) {
        let at = off + p;
        if hay[at..].starts_with(needle) {
            return Some(at);
        }
        off = at + 1;
    }
    None
}

fn sink(args: &[String]) -> ! {
    let writers: usize = args[0].parse().expect("WRITERS");
    let fills = fills();
    let mut w: Vec<Writer> = (0..10).map(|_| Writer::default()).collect();
    let mut ends = 0usize;
    let mut bytes: u64 = 0;
    let (mut broken, mut other, mut data_lines) = (0u64, 0u64, 0u64);
    let mut first_ns: u64 = 0;
    let mut last_ns: u64;
    let mut examples: Vec<String> = Vec::new();
    let mut stdin = std::io::stdin().lock();
    let mut buf = vec![0u8; 1 << 20];
    let mut carry: Vec<u8> = Vec::new();
    let mut reported = false;
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if reported {
            continue;
        }
        let t = now_ns();
        bytes += n as u64;
        let chunk = &buf[..n];
        if first_ns == 0 && find(chunk, b"@D").is_some() {
            first_ns = t;
        }
        let mut start = 0;
        // a line split across reads: complete it first
        if !carry.is_empty() {
            match mchr(chunk, b'\n') {
                Some(p) => {
                    carry.extend_from_slice(&chunk[..p]);
                    let l = std::mem::take(&mut carry);
                    check_line(&l, &fills, &mut w, &mut ends, &mut broken, &mut other, &mut data_lines, &mut examples);
                    start = p + 1;
                }
                None => {
                    carry.extend_from_slice(chunk);
                    continue;
                }
            }
        }
        let mut rest = &chunk[start..];
        while let Some(p) = mchr(rest, b'\n') {
            check_line(&rest[..p], &fills, &mut w, &mut ends, &mut broken, &mut other, &mut data_lines, &mut examples);
            rest = &rest[p + 1..];
        }
        carry.extend_from_slice(rest);
        if ends >= writers {
            last_ns = t;
            reported = true;
            let mut lost: u64 = 0;
            let mut ooo: u64 = 0;
            for x in &w {
                if let Some(a) = x.announced {
                    lost += a.saturating_sub(x.ok);
                }
                ooo += x.out_of_order;
            }
            let ex: Vec<String> = examples.iter().map(|e| format!("\"{}\"", json_escape(e))).collect();
            println!(
                "{{\"bytes\":{bytes},\"data_lines\":{data_lines},\"broken\":{broken},\"other\":{other},\"lost\":{lost},\"out_of_order\":{ooo},\"first_ns\":{first_ns},\"last_ns\":{last_ns},\"examples\":[{}]}}",
                ex.join(",")
            );
            let _ = std::io::stdout().flush();
        }
    }
    if !reported {
        println!("{{\"eof\":true,\"bytes\":{bytes},\"data_lines\":{data_lines},\"broken\":{broken},\"other\":{other},\"ends\":{ends}}}");
    }
    std::process::exit(0)
}

fn json_escape(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

#[allow(clippy::too_many_arguments)]
fn check_line(
    l: &[u8],
    fills: &[Vec<u8>],
    w: &mut [Writer],
    ends: &mut usize,
    broken: &mut u64,
    other: &mut u64,
    data_lines: &mut u64,
    examples: &mut Vec<String>,
) {
    let mut bad = |l: &[u8], broken: &mut u64| {
        *broken += 1;
        if examples.len() < 3 {
            let s = String::from_utf8_lossy(&l[..l.len().min(300)]).into_owned();
            examples.push(s);
        }
    };
    // fast path: the payload is the end of the line (prefix/raw) or is
    // followed by `"}` (json)
    let guess = [LINE - 1, LINE + 1].iter().find_map(|&k| {
        let p = l.len().checked_sub(k)?;
        (l[p..].starts_with(b"@D") && mchr(&l[..p], b'@').is_none()).then_some(p)
    });
    let p = match guess.or_else(|| find(l, b"@D")) {
        Some(p) => p,
        None => {
            if let Some(e) = find(l, b"@E") {
                // end line: "@E<wid>:<count>#"
                let tail = &l[e + 2..];
                let ok = tail.len() >= 4 && tail[1] == b':' && !l[..e].contains(&b'#');
                let hash = tail.iter().position(|&b| b == b'#');
                if let (true, Some(h)) = (ok, hash) {
                    let wid = (tail[0] - b'0') as usize;
                    if let Ok(c) = std::str::from_utf8(&tail[2..h]).unwrap_or("x").parse::<u64>() {
                        if wid < w.len() && w[wid].announced.is_none() {
                            w[wid].announced = Some(c);
                            *ends += 1;
                            return;
                        }
                    }
                }
                bad(l, broken);
            } else if l.contains(&b'#') {
                bad(l, broken); // the tail of a data line, cut from its head
            } else {
                *other += 1; // the init's own messages
            }
            return;
        }
    };
    *data_lines += 1;
    let d = &l[p..];
    // exactly one payload, nothing of another line before or after it
    let tail_ok = d.len() == LINE - 1 || (d.len() == LINE + 1 && &d[LINE - 1..] == b"\"}");
    if !tail_ok || l[..p].contains(&b'#') || l[..p].contains(&b'@') || mchr(&d[1..], b'@').is_some() || d[3] != b':' || d[13] != b':' || d[LINE - 2] != b'#' {
        return bad(l, broken);
    }
    let wid = d[2].wrapping_sub(b'0') as u64;
    let seq = match std::str::from_utf8(&d[4..13]).ok().and_then(|s| s.parse::<u64>().ok()) {
        Some(s) if wid < 10 => s,
        _ => return bad(l, broken),
    };
    if d[14..14 + FILL] != fills[fill_for(wid, seq)][..] {
        return bad(l, broken);
    }
    let x = &mut w[wid as usize];
    if seq != x.next {
        x.out_of_order += 1;
    }
    x.next = seq + 1;
    x.ok += 1;
}

fn proc1_children() -> usize {
    match std::fs::read_to_string("/proc/1/task/1/children") {
        Ok(s) => s.split_ascii_whitespace().count(),
        Err(_) => 0,
    }
}

fn orphans(args: &[String]) -> ! {
    let n: usize = args[0].parse().expect("N");
    let out = args[1].clone();
    let limit_s: u64 = args.get(2).map_or(30, |s| s.parse().expect("LIMIT_S"));
    // let the init settle (a supervisor may still be starting siblings)
    std::thread::sleep(Duration::from_millis(200));
    let base = proc1_children();
    let mut peak = 0usize;
    let t_start = now_ns();
    for i in 0..n {
        // SAFETY: single-threaded; children only call fork/_exit.
        unsafe {
            let pid = fork();
            if pid == 0 {
                if fork() >= 0 {
                    _exit(0); // both the middle child and the grandchild
                }
                _exit(1);
            }
            if pid > 0 {
                let mut st = 0;
                waitpid(pid, &mut st, 0);
            }
        }
        if i % 16 == 15 {
            peak = peak.max(proc1_children().saturating_sub(base));
        }
    }
    let t_created = now_ns();
    let deadline = t_created + limit_s * 1_000_000_000;
    let mut t_clear = 0u64;
    let mut samples = 0u64;
    loop {
        let c = proc1_children().saturating_sub(base);
        samples += 1;
        peak = peak.max(c);
        let t = now_ns();
        if c == 0 {
            t_clear = t;
            break;
        }
        if t > deadline {
            break;
        }
        // spin (yielding): 2 cores, the init has the other one
        std::thread::yield_now();
    }
    let left = proc1_children().saturating_sub(base);
    write_atomic(
        &out,
        &format!(
            "{{\"n\":{n},\"base\":{base},\"peak\":{peak},\"left\":{left},\"samples\":{samples},\"t_start\":{t_start},\"t_created\":{t_created},\"t_clear\":{t_clear}}}\n"
        ),
    );
    wait_forever()
}

extern "C" fn on_nothing(_: i32) {}

fn mini_init(args: &[String]) -> ! {
    let mut set = SigSet([0; 16]);
    // SAFETY: a valid sigset; blocking TERM and CHLD so sigwait gets them.
    // Handlers too: the kernel drops signals PID 1 leaves at SIG_DFL.
    unsafe {
        signal(SIGTERM, on_nothing as *const () as usize);
        signal(SIGCHLD, on_nothing as *const () as usize);
        sigemptyset(&mut set);
        sigaddset(&mut set, SIGTERM);
        sigaddset(&mut set, SIGCHLD);
        sigprocmask(SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let mut kids = Vec::new();
    for cmd in args.split(|a| a == "::") {
        // SAFETY: single-threaded; the child unblocks and execs.
        let pid = unsafe { fork() };
        if pid == 0 {
            // SAFETY: the set built above (exec keeps the mask, not handlers).
            unsafe { sigprocmask(SIG_UNBLOCK, &set, std::ptr::null_mut()) };
            let err = std::process::Command::new(&cmd[0]).args(&cmd[1..]).exec();
            eprintln!("benchkit init: exec {}: {err}", cmd[0]);
            // SAFETY: leaving the forked child.
            unsafe { _exit(127) };
        }
        kids.push(pid);
    }
    let mut terminating = false;
    loop {
        let mut sig = 0;
        // SAFETY: valid set and out pointer.
        unsafe { sigwait(&set, &mut sig) };
        if sig == SIGTERM && !terminating {
            terminating = true;
            for &k in &kids {
                // SAFETY: plain kill(2).
                unsafe { kill(k, SIGTERM) };
            }
        }
        loop {
            let mut status = 0;
            // SAFETY: valid out pointer.
            let pid = unsafe { waitpid(-1, &mut status, WNOHANG) };
            if pid > 0 {
                kids.retain(|&k| k != pid);
                continue;
            }
            if pid < 0 && std::io::Error::last_os_error().raw_os_error() == Some(ECHILD) && terminating {
                std::process::exit(0);
            }
            break;
        }
    }
}

fn relay(args: &[String]) -> ! {
    match args.first().map(String::as_str) {
        Some("splice") => loop {
            // SAFETY: fds 0 and 1, no offsets (pipes).
            let n = unsafe { splice(0, std::ptr::null_mut(), 1, std::ptr::null_mut(), 1 << 20, 1) };
            if n == 0 {
                std::process::exit(0);
            }
            if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                eprintln!("benchkit relay: splice: {}", std::io::Error::last_os_error());
                std::process::exit(1);
            }
        },
        Some("copy") => {
            let mut out = unsafe_stdout();
            let mut inp = std::io::stdin().lock();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match inp.read(&mut buf) {
                    Ok(0) => std::process::exit(0),
                    Ok(n) => raw_write(&mut out, &buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => std::process::exit(1),
                }
            }
        }
        _ => {
            eprintln!("usage: benchkit relay splice|copy");
            std::process::exit(2)
        }
    }
}

fn main() {
    // SIGPIPE: die quietly like a C program would (std ignores it).
    // SAFETY: restoring the default disposition.
    unsafe { signal(SIGPIPE, 0) };
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("stamp") => stamp(&args[2..]),
        Some("gen") => gen(&args[2..]),
        Some("sink") => sink(&args[2..]),
        Some("orphans") => orphans(&args[2..]),
        Some("init") => mini_init(&args[2..]),
        Some("relay") => relay(&args[2..]),
        _ => {
            eprintln!("usage: benchkit stamp|gen|sink|orphans|init|relay ...");
            std::process::exit(2)
        }
    }
}
