use std::time::Duration;

use super::*;

fn at(secs: i64, millis: u32) -> SystemTime {
    let d = Duration::from_secs(secs.unsigned_abs());
    let base = if secs >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    };
    base + Duration::from_millis(millis.into())
}

fn ts(t: SystemTime) -> String {
    let mut out = Vec::new();
    rfc3339(&mut out, t);
    String::from_utf8(out).expect("ascii")
}

#[test]
fn rfc3339_known_timestamps() {
    let cases = [
        (0, 0, "1970-01-01T00:00:00.000Z"),
        (951_782_400, 0, "2000-02-29T00:00:00.000Z"),
        (978_307_199, 999, "2000-12-31T23:59:59.999Z"), // end of a leap year (day 366)
        (1_735_689_599, 0, "2024-12-31T23:59:59.000Z"),
        (1_735_689_600, 7, "2025-01-01T00:00:00.007Z"),
        (4_107_542_400, 0, "2100-03-01T00:00:00.000Z"), // 2100 is not a leap year
        (-2_203_891_201, 0, "1900-02-28T23:59:59.000Z"),
        (-1, 0, "1969-12-31T23:59:59.000Z"),
        (-1, 500, "1969-12-31T23:59:59.500Z"), // -0.5 s
        (253_402_300_799, 0, "9999-12-31T23:59:59.000Z"),
    ];
    for (secs, ms, want) in cases {
        assert_eq!(ts(at(secs, ms)), want, "{secs}.{ms}");
    }
}

#[test]
fn every_day_of_four_centuries_is_contiguous() {
    // Walk day by day from 1900 to 2300: dates must advance by exactly one
    // day, months and years roll over at the right places.
    let mut prev = civil_from_days(-25_567); // 1900-01-01
    assert_eq!(prev, (1900, 1, 1));
    for days in -25_566..120_000 {
        let cur = civil_from_days(days);
        let (py, pm, pd) = prev;
        let leap = (py % 4 == 0 && py % 100 != 0) || py % 400 == 0;
        let month_len = match pm {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let want = if pd < month_len {
            (py, pm, pd + 1)
        } else if pm < 12 {
            (py, pm + 1, 1)
        } else {
            (py + 1, 1, 1)
        };
        assert_eq!(cur, want, "day {days}");
        prev = cur;
    }
}

fn line(bytes: &[u8]) -> Line<'_> {
    Line {
        bytes,
        partial: false,
        split: false,
    }
}

fn fmt(opts: FormatOptions, names: &[&str]) -> Formatter {
    let mut f = Formatter::new(opts);
    for n in names {
        f.add_name(n);
    }
    f
}

fn render(f: &Formatter, name: &str, index: usize, stream: Stream, l: Line<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    f.program_line(&mut out, name, index, stream, &l, at(951_782_400, 0));
    out
}

#[test]
fn prefix_pads_names_so_bars_align() {
    let f = fmt(
        FormatOptions::default(),
        &["php-fpm", "queue-worker:1", "nginx"],
    );
    let a = render(&f, "nginx", 2, Stream::Stdout, line(b"GET /"));
    let b = render(&f, "queue-worker:1", 1, Stream::Stderr, line(b"job done"));
    let c = render(&f, "php-fpm", 0, Stream::Stdout, line(b"\xffraw"));
    assert_eq!(a, b"nginx          | GET /\n");
    assert_eq!(b, b"queue-worker:1 | job done\n");
    // Invalid UTF-8 passes through untouched.
    assert_eq!(c, b"php-fpm        | \xffraw\n");
    let mut r = Vec::new();
    f.rinit_line(&mut r, log::Level::Warn, "php-fpm exited", at(0, 0));
    assert_eq!(r, b"rinit          | warning: php-fpm exited\n");
}

#[test]
fn prefix_width_counts_rinit_and_grows() {
    let mut f = fmt(FormatOptions::default(), &["a"]);
    assert_eq!(f.width(), 5, "rinit's own name sets the minimum");
    assert_eq!(
        render(&f, "a", 0, Stream::Stdout, line(b"x")),
        b"a     | x\n"
    );
    f.add_name("much-longer");
    assert_eq!(
        render(&f, "a", 0, Stream::Stdout, line(b"x")),
        b"a           | x\n"
    );
    // The long name is gone again (a reload removed it).
    f.fit(["a", "web-1"].into_iter());
    assert_eq!(
        render(&f, "a", 0, Stream::Stdout, line(b"x")),
        b"a     | x\n"
    );
}

#[test]
fn prefix_marks_split_pieces_and_timestamps() {
    let opts = FormatOptions {
        timestamps: true,
        ..FormatOptions::default()
    };
    let f = fmt(opts, &["web"]);
    let mut l = line(b"abc");
    l.split = true;
    assert_eq!(
        render(&f, "web", 0, Stream::Stdout, l),
        b"2000-02-29T00:00:00.000Z web   + abc\n"
    );
}

#[test]
fn colour_only_when_enabled() {
    let plain = fmt(FormatOptions::default(), &["web"]);
    let out = render(&plain, "web", 0, Stream::Stdout, line(b"hi"));
    assert!(!out.contains(&0x1b), "no escape codes without colour");
    let colour = fmt(
        FormatOptions {
            colour: true,
            ..FormatOptions::default()
        },
        &["web"],
    );
    assert_eq!(
        render(&colour, "web", 0, Stream::Stdout, line(b"hi")),
        b"\x1b[36mweb   |\x1b[0m hi\n"
    );
    // Stable by index, wrapping around the palette.
    let a = render(&colour, "web", 1, Stream::Stdout, line(b"hi"));
    let b = render(
        &colour,
        "web",
        1 + PALETTE.len(),
        Stream::Stdout,
        line(b"hi"),
    );
    assert_eq!(a, b);
    assert_ne!(a, render(&colour, "web", 0, Stream::Stdout, line(b"hi")));
    // Raw and json never carry colour.
    for format in [Format::Raw, Format::Json] {
        let f = fmt(
            FormatOptions {
                format,
                colour: true,
                timestamps: true,
            },
            &["web"],
        );
        assert!(!render(&f, "web", 0, Stream::Stdout, line(b"hi")).contains(&0x1b));
    }
}

#[test]
fn colour_rule() {
    assert!(use_colour(true, false));
    assert!(!use_colour(true, true));
    assert!(!use_colour(false, false));
    assert!(!use_colour(false, true));
}

#[test]
fn raw_is_the_line_as_is() {
    let f = fmt(
        FormatOptions {
            format: Format::Raw,
            timestamps: true,
            colour: false,
        },
        &["web"],
    );
    let mut l = line(b"\xfe\x00 as is\r");
    l.partial = true;
    assert_eq!(
        render(&f, "web", 0, Stream::Stderr, l),
        b"\xfe\x00 as is\r\n"
    );
    let mut r = Vec::new();
    f.rinit_line(&mut r, log::Level::Error, "one\ntwo", at(0, 0));
    assert_eq!(r, b"rinit: error: one\nrinit: error: two\n");
}

fn json(f: &Formatter, name: &str, stream: Stream, l: Line<'_>) -> serde_json::Value {
    let out = render(f, name, 0, stream, l);
    assert_eq!(out.last(), Some(&b'\n'));
    assert_eq!(
        out.iter().filter(|&&b| b == b'\n').count(),
        1,
        "one line per record"
    );
    serde_json::from_slice(&out).expect("valid JSON")
}

#[test]
fn json_parses_for_tricky_input() {
    let f = fmt(
        FormatOptions {
            format: Format::Json,
            ..FormatOptions::default()
        },
        &[],
    );
    let cases: [(&[u8], &str); 7] = [
        (b"plain", "plain"),
        (b"say \"hi\" \\o/", "say \"hi\" \\o/"),
        (
            b"\x00\x01\x08\x0c\t\r\x1b[31m\x1f\x7f",
            "\u{0}\u{1}\u{8}\u{c}\t\r\u{1b}[31m\u{1f}\u{7f}",
        ),
        (b"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "café € 😀"),
        (b"bad \xff\xfe end", "bad \u{fffd}\u{fffd} end"),
        (b"cut \xe2\x82", "cut \u{fffd}"), // a truncated sequence: one replacement
        (b"\xc3", "\u{fffd}"),
    ];
    for (input, want) in cases {
        let v = json(&f, "queue-worker:1", Stream::Stderr, line(input));
        assert_eq!(v["line"], want, "{input:?}");
        assert_eq!(v["program"], "queue-worker:1");
        assert_eq!(v["stream"], "stderr");
        assert_eq!(v["ts"], "2000-02-29T00:00:00.000Z");
        assert!(v.get("partial").is_none() && v.get("split").is_none());
        // Same replacement rule as the standard library.
        assert_eq!(want, String::from_utf8_lossy(input));
    }
}

#[test]
fn json_flags_and_rinit_lines() {
    let f = fmt(
        FormatOptions {
            format: Format::Json,
            ..FormatOptions::default()
        },
        &[],
    );
    let mut l = line(b"x");
    l.partial = true;
    assert_eq!(json(&f, "a\"b", Stream::Stdout, l)["partial"], true);
    assert_eq!(json(&f, "a\"b", Stream::Stdout, l)["program"], "a\"b");
    l.partial = false;
    l.split = true;
    assert_eq!(json(&f, "w", Stream::Stdout, l)["split"], true);
    let mut r = Vec::new();
    f.rinit_line(
        &mut r,
        log::Level::Info,
        "web: starting → running",
        at(0, 0),
    );
    let v: serde_json::Value = serde_json::from_slice(&r).expect("valid JSON");
    assert_eq!(v["program"], "rinit");
    assert_eq!(v["level"], "info");
    assert_eq!(v["stream"], "stderr");
    assert_eq!(v["line"], "web: starting → running");
    assert_eq!(v["ts"], "1970-01-01T00:00:00.000Z");
}
