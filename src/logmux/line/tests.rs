use super::*;

/// An owned copy of a `Line`, for comparing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct L(Vec<u8>, &'static str);

fn own(line: Line<'_>) -> L {
    let kind = match (line.partial, line.split) {
        (false, false) => "whole",
        (true, false) => "partial",
        (false, true) => "split",
        (true, true) => "partial+split",
    };
    L(line.bytes.to_vec(), kind)
}

fn l(bytes: &[u8], kind: &'static str) -> L {
    L(bytes.to_vec(), kind)
}

fn push_all(chunks: &[&[u8]]) -> (LineAssembler, Vec<L>) {
    let now = Instant::now();
    let mut a = LineAssembler::new();
    let mut got = Vec::new();
    for c in chunks {
        a.push(c, now, &mut |line| got.push(own(line)));
    }
    (a, got)
}

/// (name, pushes, lines expected, bytes left pending)
type Case<'a> = (&'a str, Vec<&'a [u8]>, Vec<L>, usize);

#[test]
fn table() {
    let long = vec![b'x'; MAX_LINE];
    let long1 = vec![b'y'; MAX_LINE + 1];
    let mut long_nl = long.clone();
    long_nl.push(b'\n');
    let mut long1_nl = long1.clone();
    long1_nl.push(b'\n');
    let cases: Vec<Case> = vec![
        ("empty push", vec![b""], vec![], 0),
        ("one line", vec![b"hello\n"], vec![l(b"hello", "whole")], 0),
        (
            "empty lines kept",
            vec![b"\n\n"],
            vec![l(b"", "whole"), l(b"", "whole")],
            0,
        ),
        (
            "two in one push",
            vec![b"a\nb\n"],
            vec![l(b"a", "whole"), l(b"b", "whole")],
            0,
        ),
        (
            "split across pushes",
            vec![b"hel", b"lo\nwor", b"ld\n"],
            vec![l(b"hello", "whole"), l(b"world", "whole")],
            0,
        ),
        (
            "byte by byte",
            vec![b"a", b"b", b"\n"],
            vec![l(b"ab", "whole")],
            0,
        ),
        (
            "CRLF kept as is",
            vec![b"dos\r\n"],
            vec![l(b"dos\r", "whole")],
            0,
        ),
        (
            "tail stays pending",
            vec![b"a\nbc"],
            vec![l(b"a", "whole")],
            2,
        ),
        (
            "invalid utf-8 untouched",
            vec![b"\xff\xfe\x00\n"],
            vec![l(b"\xff\xfe\x00", "whole")],
            0,
        ),
        (
            "exact limit is one line",
            vec![&long_nl],
            vec![l(&long, "whole")],
            0,
        ),
        (
            "exact limit across pushes",
            vec![&long, b"\n"],
            vec![l(&long, "whole")],
            0,
        ),
        ("exact limit pending", vec![&long], vec![], MAX_LINE),
        (
            "limit + 1 splits",
            vec![&long1_nl],
            vec![l(&long1[..MAX_LINE], "split"), l(b"y", "whole")],
            0,
        ),
        (
            "limit + 1 without newline",
            vec![&long1],
            vec![l(&long1[..MAX_LINE], "split")],
            1,
        ),
        (
            "pending topped up then split",
            vec![b"ab", &long_nl],
            vec![
                l(&[b"ab".as_slice(), &long[..MAX_LINE - 2]].concat(), "split"),
                l(b"xx", "whole"),
            ],
            0,
        ),
    ];
    for (name, chunks, want, pending) in cases {
        let (a, got) = push_all(&chunks);
        assert_eq!(got, want, "{name}");
        assert_eq!(a.pending_len(), pending, "{name}: pending");
    }
}

#[test]
fn ten_megabyte_line_comes_out_whole_in_pieces() {
    // Not a repeating pattern, so a misplaced piece would show.
    let input: Vec<u8> = (0..10_000_000u32)
        .map(|i| (i % 251) as u8)
        .filter(|&b| b != b'\n')
        .collect();
    let mut a = LineAssembler::new();
    let now = Instant::now();
    let mut pieces = Vec::new();
    // Feed in uneven chunks, as reads from a pipe would come.
    for chunk in input.chunks(65_537) {
        a.push(chunk, now, &mut |line| pieces.push(own(line)));
    }
    a.push(b"\n", now, &mut |line| pieces.push(own(line)));
    let (last, splits) = pieces.split_last().expect("some pieces");
    assert_eq!(last.1, "whole");
    assert!(
        splits
            .iter()
            .all(|p| p.1 == "split" && p.0.len() == MAX_LINE)
    );
    assert!(pieces.iter().all(|p| p.0.len() <= MAX_LINE));
    let joined: Vec<u8> = pieces.iter().flat_map(|p| p.0.iter().copied()).collect();
    assert_eq!(joined, input);
}

#[test]
fn partial_flushed_only_after_the_delay() {
    let t0 = Instant::now();
    let mut a = LineAssembler::new();
    let mut got = Vec::new();
    assert_eq!(a.next_deadline(), None);
    a.push(b"prompt> ", t0, &mut |line| got.push(own(line)));
    assert_eq!(a.next_deadline(), Some(t0 + PARTIAL_DELAY));
    // More bytes later do not move the deadline: it counts from the first.
    a.push(b"more", t0 + PARTIAL_DELAY / 2, &mut |line| {
        got.push(own(line))
    });
    assert_eq!(a.next_deadline(), Some(t0 + PARTIAL_DELAY));
    a.tick(t0 + PARTIAL_DELAY - Duration::from_millis(1), &mut |line| {
        got.push(own(line))
    });
    assert!(got.is_empty(), "flushed too early: {got:?}");
    a.tick(t0 + PARTIAL_DELAY, &mut |line| got.push(own(line)));
    assert_eq!(got, vec![l(b"prompt> more", "partial")]);
    assert_eq!(a.next_deadline(), None);
    // The rest of the line, when it comes, is a line of its own.
    a.push(b" rest\n", t0 + PARTIAL_DELAY * 3, &mut |line| {
        got.push(own(line))
    });
    assert_eq!(got[1], l(b" rest", "whole"));
    assert_eq!(a.next_deadline(), None);
}

#[test]
fn deadline_restarts_with_a_new_tail() {
    let t0 = Instant::now();
    let t1 = t0 + Duration::from_secs(5);
    let mut a = LineAssembler::new();
    let mut got = Vec::new();
    a.push(b"a\n", t0, &mut |line| got.push(own(line)));
    assert_eq!(a.next_deadline(), None);
    a.push(b"b\nc", t1, &mut |line| got.push(own(line)));
    assert_eq!(a.next_deadline(), Some(t1 + PARTIAL_DELAY));
}

#[test]
fn eof_flushes_the_remainder_as_partial() {
    let t0 = Instant::now();
    let mut a = LineAssembler::new();
    let mut got = Vec::new();
    a.flush_eof(&mut |line| got.push(own(line)));
    assert!(got.is_empty(), "nothing pending, nothing emitted");
    a.push(b"last words", t0, &mut |line| got.push(own(line)));
    a.flush_eof(&mut |line| got.push(own(line)));
    assert_eq!(got, vec![l(b"last words", "partial")]);
    assert_eq!(a.pending_len(), 0);
    assert_eq!(a.next_deadline(), None);
}

#[test]
fn a_held_partial_waits_while_its_pipe_is_not_read() {
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    let mut a = LineAssembler::new();
    let mut got = Vec::new();
    a.push(b"first half", t0, &mut |line| got.push(own(line)));
    // Back-pressure: the rest is still in the pipe, unread, at every tick.
    a.hold(t0 + ms(90));
    a.tick(t0 + ms(150), &mut |line| got.push(own(line)));
    assert!(got.is_empty(), "cut while the rest waited in the pipe");
    assert_eq!(a.next_deadline(), Some(t0 + ms(90) + PARTIAL_DELAY));
    a.push(b", second half\n", t0 + ms(160), &mut |line| {
        got.push(own(line))
    });
    assert_eq!(got, vec![l(b"first half, second half", "whole")]);
    // Nothing pending: holding is a no-op (no timer appears).
    a.hold(t0 + ms(200));
    assert_eq!(a.next_deadline(), None);
}
