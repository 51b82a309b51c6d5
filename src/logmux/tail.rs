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
/// How far past the bounds the ring may grow before it is trimmed.
const SLACK_LINES: usize = 64;
const SLACK_BYTES: usize = 16 * 1024;

/// Bytes are kept raw in one ring (no allocation or UTF-8 check per line:
/// this sits on the log hot path) and turned into text only when asked.
/// The ring is trimmed to the bounds in bulk, once it is [`SLACK_LINES`]
/// or [`SLACK_BYTES`] over them, not on every line; readers see exactly
/// the lines within the bounds.
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
    // Once per log line, from one call site: inlined even at opt-level z.
    #[inline(always)]
    pub fn push(&mut self, stream: Stream, bytes: &[u8]) {
        self.data.extend(bytes);
        self.lines.push_back((stream, bytes.len()));
        self.total += 1;
        if self.lines.len() > TAIL_LINES + SLACK_LINES || self.data.len() > TAIL_BYTES + SLACK_BYTES
        {
            let (lines, bytes) = self.over();
            self.lines.drain(..lines);
            self.data.drain(..bytes);
        }
    }

    /// A block of whole lines, `\n` between them (none after the last):
    /// the same as pushing each line, but only the lines that can stay
    /// are copied. The others are only counted, by a vectorised count:
    /// a splice hands over up to a read share (~1 MiB) at a time, and
    /// splitting all of it line by line was a fifth of PID 1's time.
    pub fn push_lines(&mut self, stream: Stream, block: &[u8]) {
        // The newline before the newest TAIL_LINES lines, if there are
        // more: what precedes it, and every line kept so far, is older
        // than TAIL_LINES newer lines, so none of it could stay.
        let start = match memchr::memrchr_iter(b'\n', block).nth(TAIL_LINES - 1) {
            Some(sep) => {
                let older = memchr::memchr_iter(b'\n', &block[..sep]).count() + 1;
                self.total += older as u64;
                self.data.clear();
                self.lines.clear();
                sep + 1
            }
            None => 0,
        };
        for line in memchr::memchr_iter(b'\n', &block[start..])
            .chain([block.len() - start])
            .scan(start, |from, nl| {
                let line = &block[*from..start + nl];
                *from = start + nl + 1;
                Some(line)
            })
        {
            self.push(stream, line);
        }
    }

    /// The oldest lines (how many, and their bytes) beyond the bounds: as
    /// many as must go so that at most `TAIL_LINES` lines and `TAIL_BYTES`
    /// bytes remain, except that the newest line always stays.
    fn over(&self) -> (usize, usize) {
        let (mut lines, mut bytes) = (self.lines.len(), self.data.len());
        let mut dropped = 0;
        for &(_, len) in &self.lines {
            if lines <= TAIL_LINES && (bytes <= TAIL_BYTES || lines == 1) {
                break;
            }
            lines -= 1;
            bytes -= len;
            dropped += 1;
        }
        (dropped, self.data.len() - bytes)
    }

    /// The sequence number after the newest line.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Lines kept (within the bounds).
    fn len(&self) -> usize {
        self.lines.len() - self.over().0
    }

    /// The last `n` lines, oldest first.
    pub fn last(&self, n: usize) -> Vec<(Stream, String)> {
        self.lines_from(self.len().saturating_sub(n))
    }

    /// Lines numbered `seq` and later that are still kept, and how many
    /// in between were already dropped.
    pub fn since(&self, seq: u64) -> (Vec<(Stream, String)>, u64) {
        let first = self.total - self.len() as u64;
        let missed = first.saturating_sub(seq);
        let skip = seq.saturating_sub(first) as usize;
        (self.lines_from(skip), missed)
    }

    /// Kept lines from the `skip`-th on, as text.
    fn lines_from(&self, skip: usize) -> Vec<(Stream, String)> {
        let skip = skip + self.over().0;
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

    /// Trimming in bulk keeps exactly what trimming on every line kept.
    #[test]
    fn bulk_trimming_keeps_the_same_lines() {
        let mut t = Tail::default();
        let mut all: Vec<Vec<u8>> = Vec::new();
        for round in 0..5000usize {
            // Lengths from 1 byte to well over TAIL_BYTES / TAIL_LINES.
            let len = (round * 7919) % 3000 + if round % 997 == 0 { TAIL_BYTES } else { 1 };
            let line = vec![b'a' + (round % 26) as u8; len];
            t.push(Stream::Stdout, &line);
            all.push(line);
            if round % 101 == 0 || round > 4990 {
                // What per-line trimming keeps: the longest suffix within
                // the bounds, the newest line always.
                let (mut count, mut bytes) = (0, 0);
                for l in all.iter().rev() {
                    if count > 0 && (count + 1 > TAIL_LINES || bytes + l.len() > TAIL_BYTES) {
                        break;
                    }
                    count += 1;
                    bytes += l.len();
                }
                let want: Vec<String> = all[all.len() - count..]
                    .iter()
                    .map(|l| String::from_utf8_lossy(l).into_owned())
                    .collect();
                let got: Vec<String> = t.last(usize::MAX).into_iter().map(|(_, s)| s).collect();
                assert_eq!(got, want, "round {round}");
                let (since, missed) = t.since(0);
                assert_eq!(
                    (since.len() as u64, missed),
                    (count as u64, all.len() as u64 - count as u64)
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// A block pushed at once keeps exactly what pushing its lines one
        /// by one keeps: the same lines, the same count, the same
        /// sequence numbers, after whatever came before.
        #[test]
        fn a_block_is_kept_as_its_lines(
            before in proptest::collection::vec(0usize..200, 0..1200),
            block in proptest::collection::vec(0usize..3000, 1..2500),
        ) {
            let line = |i: usize, len: usize| -> Vec<u8> {
                (0..len).map(|k| b'a' + ((i + k) % 26) as u8).collect()
            };
            let (mut one, mut all) = (Tail::default(), Tail::default());
            for (i, &len) in before.iter().enumerate() {
                one.push(Stream::Stdout, &line(i, len));
                all.push(Stream::Stdout, &line(i, len));
            }
            let lines: Vec<Vec<u8>> =
                block.iter().enumerate().map(|(i, &len)| line(i + 7, len)).collect();
            for l in &lines {
                one.push(Stream::Stderr, l);
            }
            all.push_lines(Stream::Stderr, &lines.join(&b'\n'));
            proptest::prop_assert_eq!(all.total(), one.total());
            proptest::prop_assert_eq!(all.last(usize::MAX), one.last(usize::MAX));
            let seq = one.total().saturating_sub(TAIL_LINES as u64 + 3);
            proptest::prop_assert_eq!(all.since(seq), one.since(seq));
        }
    }
}
