//! A bounded in-memory tail of one source's recent lines, for `rinit ctl
//! logs` (SPEC §6). Bounded twice, by lines and by bytes, so a chatty
//! program with long lines cannot grow PID 1. A sequence number counts
//! every line ever kept, so a follower (`logs -f`) asks "what came after
//! line N" and learns when it fell behind. Pure data, no I/O.

use super::Stream;
use std::collections::VecDeque;

/// Lines kept per source.
pub const TAIL_LINES: usize = 1000;
/// Bytes kept per source (long lines count fully).
pub const TAIL_BYTES: usize = 512 * 1024;

/// Bytes are kept raw in one ring (no allocation or UTF-8 check per line:
/// this sits on the log hot path) and turned into text only when asked.
#[derive(Debug, Default)]
pub struct Tail {
    /// The kept lines' bytes, back to back.
    data: VecDeque<u8>,
    /// Per kept line: its stream and length in `data`.
    lines: VecDeque<(Stream, usize)>,
    /// Lines ever pushed: the sequence number of the next line.
    total: u64,
}

impl Tail {
    pub fn push(&mut self, stream: Stream, bytes: &[u8]) {
        self.data.extend(bytes);
        self.lines.push_back((stream, bytes.len()));
        self.total += 1;
        while self.lines.len() > TAIL_LINES
            || (self.data.len() > TAIL_BYTES && self.lines.len() > 1)
        {
            if let Some((_, len)) = self.lines.pop_front() {
                self.data.drain(..len);
            }
        }
    }

    /// The sequence number after the newest line.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The last `n` lines, oldest first.
    pub fn last(&self, n: usize) -> Vec<(Stream, String)> {
        self.lines_from(self.lines.len().saturating_sub(n))
    }

    /// Lines numbered `seq` and later that are still kept, and how many
    /// in between were already dropped.
    pub fn since(&self, seq: u64) -> (Vec<(Stream, String)>, u64) {
        let first = self.total - self.lines.len() as u64;
        let missed = first.saturating_sub(seq);
        let skip = seq.saturating_sub(first) as usize;
        (self.lines_from(skip), missed)
    }

    /// Kept lines from the `skip`-th on, as text.
    fn lines_from(&self, skip: usize) -> Vec<(Stream, String)> {
        let mut start: usize = self.lines.iter().take(skip).map(|(_, l)| l).sum();
        let mut out = Vec::new();
        for &(stream, len) in self.lines.iter().skip(skip) {
            let bytes: Vec<u8> = self.data.range(start..start + len).copied().collect();
            out.push((stream, String::from_utf8_lossy(&bytes).into_owned()));
            start += len;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines_and_counts_all() {
        let mut t = Tail::default();
        for i in 0..TAIL_LINES + 5 {
            t.push(Stream::Stdout, format!("l{i}").as_bytes());
        }
        assert_eq!(t.total(), TAIL_LINES as u64 + 5);
        let last = t.last(2);
        assert_eq!(last[1].1, format!("l{}", TAIL_LINES + 4));
        assert_eq!(t.last(usize::MAX).len(), TAIL_LINES);
        let (lines, missed) = t.since(0);
        assert_eq!(missed, 5);
        assert_eq!(lines.len(), TAIL_LINES);
        let (lines, missed) = t.since(t.total() - 1);
        assert_eq!((lines.len(), missed), (1, 0));
        assert!(t.since(t.total()).0.is_empty());
    }

    #[test]
    fn bytes_are_bounded() {
        let mut t = Tail::default();
        let long = vec![b'x'; TAIL_BYTES / 4];
        for _ in 0..10 {
            t.push(Stream::Stderr, &long);
        }
        assert!(t.last(usize::MAX).len() <= 4);
    }
}
