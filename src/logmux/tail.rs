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

/// Bytes are kept raw in one ring, each line followed by `\n` (a line
/// never holds one: lines are split on it), with one entry per run of
/// lines, not per line: this sits on the log hot path, where a splice
/// hands over a block of ~650 lines at a time and indexing each was a
/// quarter of the raw format's throughput. Lines are found again only
/// when asked for. Lines pushed one by one make runs of at most
/// [`SLACK_LINES`] lines and [`SLACK_BYTES`] bytes (or one longer line),
/// so the ring is trimmed by dropping whole runs, without looking at their
/// bytes, once it is that far over the bounds; a block is one run, and
/// only a block across the bounds is trimmed line by line. Readers see
/// exactly the lines within the bounds.
#[derive(Debug, Default)]
pub struct Tail {
    /// The kept lines' bytes, each line followed by `\n`.
    data: VecDeque<u8>,
    /// Runs of kept lines, oldest first.
    runs: VecDeque<Run>,
    /// Lines in `data`.
    lines: usize,
    /// Lines ever pushed: the sequence number of the next line.
    total: u64,
}

/// Whether a run of `lines` lines grows by one more line, making it
/// `bytes` long (its newlines included, not the new line's own): the one
/// rule for where runs end, for [`Tail::push`] and [`Batch`] alike.
fn run_takes(lines: usize, bytes: usize) -> bool {
    lines < SLACK_LINES && bytes < SLACK_BYTES
}

/// Consecutive lines of one stream.
#[derive(Debug, Clone, Copy)]
struct Run {
    stream: Stream,
    lines: usize,
    /// Their bytes in the ring, newlines included.
    bytes: usize,
}

impl Tail {
    // Once per log line, from one call site: inlined even at opt-level z.
    #[inline(always)]
    pub fn push(&mut self, stream: Stream, bytes: &[u8]) {
        debug_assert!(
            memchr::memchr(b'\n', bytes).is_none(),
            "a line holds no newline"
        );
        self.data.extend(bytes);
        self.data.push_back(b'\n');
        match self.runs.back_mut() {
            Some(run) if run.stream == stream && run_takes(run.lines, run.bytes + bytes.len()) => {
                run.lines += 1;
                run.bytes += bytes.len() + 1;
            }
            _ => self.runs.push_back(Run {
                stream,
                lines: 1,
                bytes: bytes.len() + 1,
            }),
        }
        self.added(1);
    }

    /// A block of whole lines, `\n` between them (none after the last):
    /// the same as pushing each line. Lines that could not stay (older
    /// than the newest `TAIL_LINES`, or than the newest `TAIL_BYTES`) are
    /// only counted, by a vectorised count, not copied.
    pub fn push_lines(&mut self, stream: Stream, block: &[u8]) {
        let lines = memchr::memchr_iter(b'\n', block).count() + 1;
        self.push_block(stream, block, lines);
    }

    /// [`push_lines`](Self::push_lines) of a block known to hold `lines`
    /// lines.
    fn push_block(&mut self, stream: Stream, block: &[u8], lines: usize) {
        if lines <= TAIL_LINES && block.len() <= TAIL_BYTES + TAIL_LINES + 1 {
            // Every line of it can stay (the scans below would find so):
            // one copy, no look at the bytes.
            self.append(stream, block, lines);
            return;
        }
        // Certainly gone: the lines before the newest TAIL_LINES, and the
        // lines that start more than TAIL_BYTES + TAIL_LINES from the end
        // (what follows them holds over TAIL_BYTES of line bytes), but
        // never the newest line.
        let by_lines = memchr::memrchr_iter(b'\n', block).nth(TAIL_LINES - 1);
        let far = block.len().saturating_sub(TAIL_BYTES + TAIL_LINES + 1);
        let by_bytes = match memchr::memrchr(b'\n', block) {
            Some(last) if last >= far => memchr::memchr(b'\n', &block[far..]).map(|i| far + i),
            last => last,
        }
        .filter(|_| far > 0);
        let start = match by_lines.max(by_bytes) {
            Some(sep) => {
                // What precedes `sep`, and every line kept so far, is
                // older than lines that cannot stay either.
                let gone = memchr::memchr_iter(b'\n', &block[..sep]).count() + 1;
                self.total += gone as u64;
                self.data.clear();
                self.runs.clear();
                self.lines = 0;
                sep + 1
            }
            None => 0,
        };
        let block = &block[start..];
        let lines = if start == 0 {
            lines
        } else {
            memchr::memchr_iter(b'\n', block).count() + 1
        };
        self.append(stream, block, lines);
    }

    /// Append a block of `lines` lines as one run.
    fn append(&mut self, stream: Stream, block: &[u8], lines: usize) {
        self.data.extend(block);
        self.data.push_back(b'\n');
        self.runs.push_back(Run {
            stream,
            lines,
            bytes: block.len() + 1,
        });
        self.added(lines);
    }

    /// `n` lines were appended to `data` and `runs`.
    fn added(&mut self, n: usize) {
        self.lines += n;
        self.total += n as u64;
        if self.lines > TAIL_LINES + SLACK_LINES
            || self.data.len() - self.lines > TAIL_BYTES + SLACK_BYTES
        {
            let (lines, bytes) = self.whole_runs_over();
            self.drop_front(lines, bytes);
            if self.lines > TAIL_LINES + SLACK_LINES
                || self.data.len() - self.lines > TAIL_BYTES + SLACK_BYTES
            {
                // A block across the bounds.
                let (lines, bytes) = self.over();
                self.drop_front(lines, bytes);
            }
        }
    }

    /// Drop the oldest `lines` lines, `bytes` bytes of the ring.
    fn drop_front(&mut self, mut lines: usize, mut bytes: usize) {
        self.data.drain(..bytes);
        self.lines -= lines;
        while lines > 0 {
            let run = self.runs.front_mut().expect("dropped lines are in runs");
            if run.lines > lines {
                run.lines -= lines;
                run.bytes -= bytes;
                return;
            }
            lines -= run.lines;
            bytes -= run.bytes;
            self.runs.pop_front();
        }
    }

    /// The oldest whole runs beyond the bounds (how many lines, bytes):
    /// those every line of which must go, found from the runs alone.
    fn whole_runs_over(&self) -> (usize, usize) {
        let (mut lines, mut bytes) = (self.lines, self.data.len() - self.lines);
        let (mut dropped, mut cut) = (0, 0);
        for run in &self.runs {
            // Its newest line must go too if, with that line still kept,
            // we are over (the newest line of all is in the last run, and
            // with nothing left after it, nothing is over).
            let left = lines - run.lines;
            let left_bytes = bytes - (run.bytes - run.lines);
            if left < TAIL_LINES && left_bytes <= TAIL_BYTES {
                break;
            }
            (lines, bytes) = (left, left_bytes);
            dropped += run.lines;
            cut += run.bytes;
        }
        (dropped, cut)
    }

    /// The ring's two slices from byte `from` on.
    fn slices_from(&self, from: usize) -> (&[u8], &[u8]) {
        let (a, b) = self.data.as_slices();
        (&a[from.min(a.len())..], &b[from.saturating_sub(a.len())..])
    }

    /// Where each kept line ends (its `\n`), oldest first, from byte
    /// `from` on.
    fn ends(&self, from: usize) -> impl Iterator<Item = usize> + '_ {
        let (a, b) = self.slices_from(from);
        let b_at = from + a.len();
        memchr::memchr_iter(b'\n', a)
            .map(move |i| from + i)
            .chain(memchr::memchr_iter(b'\n', b).map(move |i| b_at + i))
    }

    /// The byte just after the `n`-th kept line from byte `from` (n ≥ 1),
    /// found by counting newlines a chunk at a time rather than visiting
    /// each line.
    fn after_lines(&self, from: usize, mut n: usize) -> usize {
        let (a, b) = self.slices_from(from);
        let mut at = from;
        for chunk in a.chunks(4096).chain(b.chunks(4096)) {
            let here = memchr::memchr_iter(b'\n', chunk).count();
            if here >= n {
                let end = memchr::memchr_iter(b'\n', chunk).nth(n - 1);
                return at + end.map_or(chunk.len(), |e| e + 1);
            }
            n -= here;
            at += chunk.len();
        }
        at
    }

    /// The oldest lines (how many, and their bytes with their newlines)
    /// beyond the bounds: as many as must go so that at most `TAIL_LINES`
    /// lines and `TAIL_BYTES` bytes of lines remain, except that the
    /// newest line always stays.
    fn over(&self) -> (usize, usize) {
        let (mut dropped, mut cut) = self.whole_runs_over();
        let mut lines = self.lines - dropped;
        let mut bytes = self.data.len() - cut - lines;
        if lines > TAIL_LINES {
            // These go whatever their lengths.
            let n = lines - TAIL_LINES;
            let end = self.after_lines(cut, n);
            bytes -= end - cut - n;
            (dropped, cut, lines) = (dropped + n, end, TAIL_LINES);
        }
        for end in self.ends(cut) {
            if bytes <= TAIL_BYTES || lines == 1 {
                break;
            }
            lines -= 1;
            bytes -= end - cut;
            dropped += 1;
            cut = end + 1;
        }
        (dropped, cut)
    }

    /// Drop every line and give back their memory (a source gone for
    /// good). The count stays: a follower sees nothing new, or what it
    /// missed.
    pub fn free(&mut self) {
        self.data = VecDeque::new();
        self.runs = VecDeque::new();
        self.lines = 0;
    }

    /// The sequence number after the newest line.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Lines kept (within the bounds).
    fn len(&self) -> usize {
        self.lines - self.over().0
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
        let streams = self
            .runs
            .iter()
            .flat_map(|r| std::iter::repeat_n(r.stream, r.lines));
        let mut start = 0;
        let mut out = Vec::new();
        for (i, (end, stream)) in self.ends(0).zip(streams).enumerate() {
            if i >= skip {
                let bytes: Vec<u8> = self.data.range(start..end).copied().collect();
                out.push((stream, String::from_utf8_lossy(&bytes).into_owned()));
            }
            start = end + 1;
        }
        out
    }
}

/// Lines on their way into a [`Tail`] while they still sit in the buffer
/// they were read into. Whole lines side by side there, each followed by
/// its `\n`, go in a block at a time (one copy; the lines are counted as
/// they come, and a block is cut where `Tail::push` would end a run)
/// instead of one push each: per-line pushes were a tenth of PID 1's time
/// in a `prefix` flood. Any other line (one that began in an earlier read,
/// a split piece, a partial line) goes in on its own, after the run before
/// it, so the order stays that of the calls.
pub struct Batch<'a> {
    input: &'a [u8],
    run: Option<InputRun>,
}

/// The run so far: `input[start..end]`, with `input[end] == b'\n'`.
struct InputRun {
    start: usize,
    end: usize,
    lines: usize,
}

impl<'a> Batch<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Batch { input, run: None }
    }

    // Once per log line, from one call site: inlined even at opt-level z.
    #[inline(always)]
    pub fn push(&mut self, tail: &mut Tail, stream: Stream, line: &[u8]) {
        let Some((at, end)) = self.whole_line(line) else {
            self.flush(tail, stream);
            tail.push(stream, line);
            return;
        };
        match &mut self.run {
            // Runs as `Tail::push` makes them, so the ring is trimmed by
            // whole runs, without a look at the bytes.
            Some(run) if run.end + 1 == at && run_takes(run.lines, end - run.start) => {
                run.end = end;
                run.lines += 1;
            }
            _ => {
                self.flush(tail, stream);
                self.run = Some(InputRun {
                    start: at,
                    end,
                    lines: 1,
                });
            }
        }
    }

    /// Where `line` starts and ends in `input`, if it is a part of it and
    /// followed there by its `\n` (compared as addresses only: a line held
    /// elsewhere is never inside `input`).
    fn whole_line(&self, line: &[u8]) -> Option<(usize, usize)> {
        let base = self.input.as_ptr() as usize;
        let at = (line.as_ptr() as usize).checked_sub(base)?;
        let end = at.checked_add(line.len())?;
        (self.input.get(end) == Some(&b'\n')).then_some((at, end))
    }

    /// Hand the run over; call after the last `push`.
    pub fn flush(&mut self, tail: &mut Tail, stream: Stream) {
        if let Some(run) = self.run.take() {
            tail.push_block(stream, &self.input[run.start..run.end], run.lines);
        }
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

    /// After every single push the tail holds exactly the lines the
    /// bounds allow, whatever the lengths (runs of lines are dropped
    /// whole only when every line of them must go).
    #[test]
    fn every_push_keeps_what_the_bounds_allow() {
        let mut seed = 12345u64;
        // A line's length, from its number and a random state.
        type Length = fn(usize, &mut u64) -> usize;
        let patterns: [Length; 4] = [
            |_, _| 0,
            |_, _| 1023,
            |i, _| if i % 7 == 0 { 5000 } else { i % 300 },
            |_, seed| {
                *seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((*seed >> 33) % 4000) as usize
            },
        ];
        for pattern in patterns {
            let mut t = Tail::default();
            let mut all: Vec<(Stream, Vec<u8>)> = Vec::new();
            for i in 0..4000 {
                let stream = if i % 500 < 3 {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                };
                let line = vec![b'a' + (i % 26) as u8; pattern(i, &mut seed)];
                t.push(stream, &line);
                all.push((stream, line));
                let want = kept(&all);
                assert_eq!(t.len(), want.len(), "push {i}");
                if i % 97 == 0 || i > 3990 {
                    assert_eq!(t.last(usize::MAX), want, "push {i}");
                }
            }
        }
    }

    /// Many short lines: trimmed by count, again and again.
    #[test]
    fn many_short_lines_keep_the_newest() {
        let mut t = Tail::default();
        for i in 0..5 * TAIL_LINES + 7 {
            t.push(Stream::Stdout, format!("l{i}").as_bytes());
        }
        let want: Vec<(Stream, String)> = (4 * TAIL_LINES + 7..5 * TAIL_LINES + 7)
            .map(|i| (Stream::Stdout, format!("l{i}")))
            .collect();
        assert_eq!(t.last(usize::MAX), want);
        assert_eq!(t.since(t.total() - 2).0, want[TAIL_LINES - 2..]);
    }

    #[test]
    fn bytes_are_bounded() {
        let mut t = Tail::default();
        let long = vec![b'x'; TAIL_BYTES / 4];
        for _ in 0..10 {
            t.push(Stream::Stderr, &long);
        }
        assert_eq!(
            t.last(usize::MAX).len(),
            4,
            "exactly TAIL_BYTES of lines stay"
        );
        // The same at the bound, with the lines handed over as one block.
        let mut b = Tail::default();
        b.push_lines(Stream::Stderr, &[long.as_slice(); 10].join(&b'\n'));
        assert_eq!(b.last(usize::MAX), t.last(usize::MAX));
        assert_eq!(b.total(), 10);
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

    /// The lines a tail must keep of `all`: the longest suffix within the
    /// bounds, the newest line always.
    fn kept(all: &[(Stream, Vec<u8>)]) -> Vec<(Stream, String)> {
        let (mut count, mut bytes) = (0, 0);
        for (_, l) in all.iter().rev() {
            if count > 0 && (count + 1 > TAIL_LINES || bytes + l.len() > TAIL_BYTES) {
                break;
            }
            count += 1;
            bytes += l.len();
        }
        all[all.len() - count..]
            .iter()
            .map(|(s, l)| (*s, String::from_utf8_lossy(l).into_owned()))
            .collect()
    }

    fn line_len() -> impl proptest::strategy::Strategy<Value = usize> {
        use proptest::prelude::*;
        prop_oneof![8 => 0usize..200, 3 => 0usize..3000, 1 => 100_000usize..300_000]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Reads cut anywhere, lines of any length (empty, over
        /// `MAX_LINE`, left unfinished) through the line assembler: a tail
        /// fed through a `Batch` holds what one fed line by line holds,
        /// in the same order, from both streams.
        #[test]
        fn a_batch_keeps_what_pushing_each_line_keeps(
            lens in proptest::collection::vec(assembled_line_len(), 1..400),
            cuts in proptest::collection::vec(1usize..70_000, 1..40),
            eof in proptest::bool::ANY,
        ) {
            use crate::logmux::line::LineAssembler;
            let mut text = Vec::new();
            for (i, len) in lens.iter().enumerate() {
                text.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, *len));
                text.push(b'\n');
            }
            if eof {
                text.extend_from_slice(b"unfinished");
            }
            let now = std::time::Instant::now();
            let (mut each, mut batched) = (Tail::default(), Tail::default());
            let (mut asm_each, mut asm_batched) = (LineAssembler::new(), LineAssembler::new());
            let mut rest = &text[..];
            for (n, cut) in cuts.iter().cycle().enumerate() {
                if rest.is_empty() {
                    break;
                }
                let stream = if n % 3 == 2 { Stream::Stderr } else { Stream::Stdout };
                let (read, more) = rest.split_at((*cut).min(rest.len()));
                rest = more;
                asm_each.push(read, now, &mut |l| each.push(stream, l.bytes));
                let mut batch = Batch::new(read);
                asm_batched.push(read, now, &mut |l| batch.push(&mut batched, stream, l.bytes));
                batch.flush(&mut batched, stream);
            }
            asm_each.flush_eof(&mut |l| each.push(Stream::Stdout, l.bytes));
            let mut batch = Batch::new(&[]);
            asm_batched.flush_eof(&mut |l| batch.push(&mut batched, Stream::Stdout, l.bytes));
            batch.flush(&mut batched, Stream::Stdout);
            proptest::prop_assert_eq!(batched.total(), each.total());
            proptest::prop_assert_eq!(batched.last(usize::MAX), each.last(usize::MAX));
        }
    }

    /// Like `line_len`, but around `MAX_LINE` (the assembler splits there)
    /// rather than far past it, so 400 lines stay cheap to assemble.
    fn assembled_line_len() -> impl proptest::strategy::Strategy<Value = usize> {
        use proptest::prelude::*;
        prop_oneof![8 => 0usize..200, 2 => 0usize..3, 1 => 16_000usize..40_000]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        /// Lines pushed one by one and in blocks (as splices hand them
        /// over), from both streams: the tail keeps exactly the lines
        /// within the bounds, counts every line, and numbers them so.
        #[test]
        fn keeps_what_the_bounds_allow_of_lines_and_blocks(
            ops in proptest::collection::vec(
                (proptest::bool::ANY, proptest::bool::ANY, proptest::collection::vec(line_len(), 1..2500)),
                1..6,
            ),
        ) {
            let mut t = Tail::default();
            let mut all: Vec<(Stream, Vec<u8>)> = Vec::new();
            for (block, stderr, lens) in ops {
                let stream = if stderr { Stream::Stderr } else { Stream::Stdout };
                let lines: Vec<Vec<u8>> = lens
                    .iter()
                    .enumerate()
                    .map(|(i, &len)| vec![b'a' + ((all.len() + i) % 26) as u8; len])
                    .collect();
                if block {
                    t.push_lines(stream, &lines.join(&b'\n'));
                } else {
                    for l in &lines {
                        t.push(stream, l);
                    }
                }
                all.extend(lines.into_iter().map(|l| (stream, l)));
                let want = kept(&all);
                proptest::prop_assert_eq!(t.total(), all.len() as u64);
                proptest::prop_assert_eq!(&t.last(usize::MAX), &want);
                proptest::prop_assert_eq!(t.last(3), want[want.len().saturating_sub(3)..].to_vec());
                let first = (all.len() - want.len()) as u64;
                let (since, missed) = t.since(first.saturating_sub(2));
                proptest::prop_assert_eq!((since, missed), (want.clone(), first.min(2)));
                let (since, missed) = t.since(first + 1);
                proptest::prop_assert_eq!((since, missed), (want[1.min(want.len())..].to_vec(), 0));
            }
        }
    }
}
