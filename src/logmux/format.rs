//! One line in, one formatted output line (ending in `\n`) out.
//!
//! Pure: no syscalls, no clock (the wall-clock time is an argument), no
//! dependency: RFC 3339 and JSON escaping are written here by hand to keep
//! PID 1's dependency tree small.
//!
//! - `prefix`: `[TS ]NAME<pad> | line`, names right-padded to the longest
//!   registered name so the `|` align. A piece of a split line uses `+`
//!   instead of `|` ("continues on the next line"). Colour (one per program,
//!   a stable palette by registration index) only when enabled.
//! - `raw`: the line as is (never a timestamp, never a mark).
//! - `json`: `{"ts":…,"program":…,"stream":…,"line":…}` plus
//!   `"partial":true` / `"split":true` when set. `ts` is always present.
//!   Invalid UTF-8 becomes U+FFFD (written `\ufffd`), one per maximal invalid
//!   sequence, exactly as `String::from_utf8_lossy` would; control
//!   characters are escaped as JSON requires.
//!
//! In `prefix` and `raw` the bytes of the line pass through untouched, valid
//! UTF-8 or not: the terminal or log driver downstream decides.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use super::line::Line;

/// `log_format` in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Prefix,
    Raw,
    Json,
}

/// Which of a program's output streams a line came from (and so which of
/// rinit's own fds it goes to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FormatOptions {
    pub format: Format,
    /// RFC 3339 UTC timestamps in `prefix` (always present in `json`).
    pub timestamps: bool,
    /// ANSI colours in `prefix`; decide with [`use_colour`].
    pub colour: bool,
}

/// Colour only on a terminal, and never when `NO_COLOR` is set
/// (<https://no-color.org>: set to a non-empty value). The caller reads the
/// environment and `isatty`; this stays pure so the rule is testable.
pub fn use_colour(is_tty: bool, no_color_set: bool) -> bool {
    is_tty && !no_color_set
}

/// The name rinit's own lines carry.
pub const RINIT_NAME: &str = "rinit";

/// SGR colour codes by registration index. Red is left out: it reads as
/// "error" and a program is not failing just because of its index.
const PALETTE: [&str; 10] = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];
/// rinit's own lines: bold, so they stand out from every program.
const RINIT_COLOUR: &str = "1";

#[derive(Debug, Clone)]
pub struct Formatter {
    opts: FormatOptions,
    /// Padding width in chars: the longest name seen, `rinit` included.
    width: usize,
    /// The text in front of a program line's bytes, as last rendered: the
    /// lines of one batch share it (same program, stream and timestamp), so
    /// the hot path copies it instead of rendering it per line.
    head: RefCell<Head>,
}

#[derive(Debug, Clone, Default)]
struct Head {
    /// Source index (it stands for the name), stream, separator, time
    /// and padding width the text was rendered for.
    key: Option<(usize, Stream, u8, SystemTime, usize)>,
    text: Vec<u8>,
}

impl Formatter {
    pub fn new(opts: FormatOptions) -> Self {
        Formatter {
            opts,
            width: RINIT_NAME.len(),
            head: RefCell::default(),
        }
    }

    pub fn options(&self) -> FormatOptions {
        self.opts
    }

    /// Make room for `name` in the padding. Names added late (a reload) may
    /// widen it: later lines then align with each other, earlier ones stay.
    pub fn add_name(&mut self, name: &str) {
        self.width = self.width.max(name.chars().count());
    }

    /// Fit the padding to exactly these names (and rinit's): a reload
    /// that removed the longest name narrows it from then on.
    pub fn fit<'a>(&mut self, names: impl Iterator<Item = &'a str>) {
        self.width = names
            .map(|n| n.chars().count())
            .fold(RINIT_NAME.len(), usize::max);
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Append one program line, `\n` included, to `out`. `index` is the
    /// source's registration number: one index, one name, for good (the
    /// rendered prefix is kept by index, not compared by name per line).
    // Once per log line, from one call site: inlined even at opt-level z.
    #[inline(always)]
    pub fn program_line(
        &self,
        out: &mut Vec<u8>,
        name: &str,
        index: usize,
        stream: Stream,
        line: &Line<'_>,
        ts: SystemTime,
    ) {
        match self.opts.format {
            Format::Raw => out.extend_from_slice(line.bytes),
            Format::Prefix => {
                let sep = if line.split { b'+' } else { b'|' };
                self.push_head(out, name, index, stream, sep, ts);
                out.extend_from_slice(line.bytes);
            }
            Format::Json => {
                self.push_head(out, name, index, stream, b'|', ts);
                out.extend_from_slice(b",\"line\":");
                json_string(out, line.bytes);
                if line.partial {
                    out.extend_from_slice(b",\"partial\":true");
                }
                if line.split {
                    out.extend_from_slice(b",\"split\":true");
                }
                out.push(b'}');
            }
        }
        out.push(b'\n');
    }

    /// The prefix (`prefix`) or the object's head (`json`) of a program line.
    fn push_head(
        &self,
        out: &mut Vec<u8>,
        name: &str,
        index: usize,
        stream: Stream,
        sep: u8,
        ts: SystemTime,
    ) {
        // Without timestamps a prefix does not depend on the time.
        let ts = match self.opts.format {
            Format::Prefix if !self.opts.timestamps => UNIX_EPOCH,
            _ => ts,
        };
        let key = Some((index, stream, sep, ts, self.width));
        let mut head = self.head.borrow_mut();
        if head.key != key {
            let mut text = std::mem::take(&mut head.text);
            text.clear();
            match self.opts.format {
                Format::Json => json_head(&mut text, ts, name, stream),
                _ => self.prefix(&mut text, name, PALETTE[index % PALETTE.len()], sep, ts),
            }
            *head = Head { key, text };
        }
        out.extend_from_slice(&head.text);
    }

    /// Append one of rinit's own messages (one line per `\n` in `text`, so a
    /// message never breaks the line structure of the output).
    pub fn rinit_line(&self, out: &mut Vec<u8>, level: log::Level, text: &str, ts: SystemTime) {
        let level = match level {
            log::Level::Error => "error",
            log::Level::Warn => "warning",
            log::Level::Info => "info",
            log::Level::Debug => "debug",
            log::Level::Trace => "trace",
        };
        for text in text.split('\n') {
            match self.opts.format {
                // The voice of tini and s6: `rinit: warning: …`.
                Format::Raw => push_all(out, &[RINIT_NAME, ": ", level, ": ", text]),
                Format::Prefix => {
                    self.prefix(out, RINIT_NAME, RINIT_COLOUR, b'|', ts);
                    push_all(out, &[level, ": ", text]);
                }
                Format::Json => {
                    json_head(out, ts, RINIT_NAME, Stream::Stderr);
                    push_all(out, &[",\"level\":\"", level, "\",\"line\":"]);
                    json_string(out, text.as_bytes());
                    out.push(b'}');
                }
            }
            out.push(b'\n');
        }
    }

    fn prefix(&self, out: &mut Vec<u8>, name: &str, colour: &str, sep: u8, ts: SystemTime) {
        if self.opts.timestamps {
            rfc3339(out, ts);
            out.push(b' ');
        }
        if self.opts.colour {
            push_all(out, &["\x1b[", colour, "m"]);
        }
        out.extend_from_slice(name.as_bytes());
        let pad = self.width.saturating_sub(name.chars().count());
        out.resize(out.len() + pad, b' ');
        out.push(b' ');
        out.push(sep);
        if self.opts.colour {
            out.extend_from_slice(b"\x1b[0m");
        }
        out.push(b' ');
    }
}

fn push_all(out: &mut Vec<u8>, parts: &[&str]) {
    for p in parts {
        out.extend_from_slice(p.as_bytes());
    }
}

/// `{"ts":"…","program":"…","stream":"…"` (no closing brace).
fn json_head(out: &mut Vec<u8>, ts: SystemTime, name: &str, stream: Stream) {
    out.extend_from_slice(b"{\"ts\":\"");
    rfc3339(out, ts);
    out.extend_from_slice(b"\",\"program\":");
    json_string(out, name.as_bytes());
    push_all(out, &[",\"stream\":\"", stream.as_str(), "\""]);
}

/// `bytes` as a JSON string literal, quotes included. Invalid UTF-8 →
/// `\ufffd` (see the module header).
pub fn json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    // Valid UTF-8 (the common case) is checked in one pass.
    match std::str::from_utf8(bytes) {
        Ok(text) => json_escape(out, text.as_bytes()),
        Err(_) => {
            for chunk in bytes.utf8_chunks() {
                json_escape(out, chunk.valid().as_bytes());
                if !chunk.invalid().is_empty() {
                    out.extend_from_slice(b"\\ufffd");
                }
            }
        }
    }
    out.push(b'"');
}

/// Valid UTF-8, escaped: runs that need no escape are copied whole.
fn json_escape(out: &mut Vec<u8>, text: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => &[],
            // Multi-byte UTF-8 sequences pass through: JSON is UTF-8.
            _ => continue,
        };
        out.extend_from_slice(&text[start..i]);
        start = i + 1;
        if short.is_empty() {
            let hex = [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]];
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&hex);
        } else {
            out.extend_from_slice(short);
        }
    }
    out.extend_from_slice(&text[start..]);
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (RFC 3339, UTC, milliseconds).
pub fn rfc3339(out: &mut Vec<u8>, ts: SystemTime) {
    let (secs, millis) = match ts.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_millis(),
        ),
        // A clock before 1970: count back, keeping millis positive.
        Err(e) => {
            let d = e.duration();
            let s = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            match d.subsec_millis() {
                0 => (s, 0),
                ms => (s - 1, 1000 - ms),
            }
        }
    };
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    push_dec(out, y, 4);
    out.push(b'-');
    push_dec(out, m.into(), 2);
    out.push(b'-');
    push_dec(out, d.into(), 2);
    out.push(b'T');
    push_dec(out, sod / 3600, 2);
    out.push(b':');
    push_dec(out, sod / 60 % 60, 2);
    out.push(b':');
    push_dec(out, sod % 60, 2);
    out.push(b'.');
    push_dec(out, millis.into(), 3);
    out.push(b'Z');
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian
/// calendar. Howard Hinnant's `civil_from_days`
/// (<https://howardhinnant.github.io/date_algorithms.html>): exact for every
/// day, leap centuries included, with no tables.
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468; // shift the epoch to 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of the 400-year era [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the March-based year
    let mp = (5 * doy + 2) / 153; // March = 0
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // `m` is in 1..=12 and `d` in 1..=31 by construction.
    (y, m as u8, d as u8)
}

/// Zero-padded decimal; a negative year keeps its sign in front.
fn push_dec(out: &mut Vec<u8>, v: i64, width: usize) {
    if v < 0 {
        out.push(b'-');
    }
    // u64::MAX has 20 digits.
    let mut buf = [b'0'; 20];
    let mut n = v.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let digits = &buf[at..];
    out.resize(out.len() + width.saturating_sub(digits.len()), b'0');
    out.extend_from_slice(digits);
}

#[cfg(test)]
mod tests;
