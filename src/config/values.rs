//! Parsers for the scalar value languages of the config: durations, signal
//! names, umasks. Pure functions from text to value or an error message
//! (the caller adds the file position).

use std::time::Duration;

const DURATION_HINT: &str =
    "expected e.g. \"500ms\", \"10s\", \"5m\", \"1h\", \"1m30s\" or an integer number of seconds";

/// `"500ms"`, `"10s"`, `"5m"`, `"1h"`, or several such parts (`"1m30s"`); a
/// bare digit string means seconds. No fractions, no signs.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration \"{text}\" ({DURATION_HINT})");
    let s = text.trim();
    if s.is_empty() {
        return Err(bad());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u64>().map(Duration::from_secs).map_err(|_| bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let part = match &rest[..unit] {
            "ms" => Some(Duration::from_millis(n)),
            "s" => Some(Duration::from_secs(n)),
            "m" => n.checked_mul(60).map(Duration::from_secs),
            "h" => n.checked_mul(3600).map(Duration::from_secs),
            _ => return Err(bad()),
        };
        rest = &rest[unit..];
        total = part.and_then(|p| total.checked_add(p)).ok_or_else(bad)?;
    }
    Ok(total)
}

/// Integer seconds, as written without quotes.
pub fn duration_from_int(n: i64) -> Result<Duration, String> {
    u64::try_from(n)
        .map(Duration::from_secs)
        .map_err(|_| format!("invalid duration {n}: must not be negative"))
}

/// Signals rinit knows by name (Linux numbering, from libc).
const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// Highest signal number accepted as a number (Linux real-time signals end
/// at 64).
pub const MAX_SIGNAL: i64 = 64;

/// A signal name, with or without `SIG`, in any case (`"TERM"`, `"SIGquit"`),
/// or a number `1..=64` written as a string.
pub fn parse_signal(text: &str) -> Result<i32, String> {
    let upper = text.trim().to_ascii_uppercase();
    if !upper.is_empty() && upper.bytes().all(|b| b.is_ascii_digit()) {
        return upper
            .parse::<i64>()
            .map_err(|e| e.to_string())
            .and_then(signal_from_int)
            .map_err(|_| bad_signal(text));
    }
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    SIGNALS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, num)| *num)
        .ok_or_else(|| bad_signal(text))
}

/// A signal given as a TOML integer.
pub fn signal_from_int(n: i64) -> Result<i32, String> {
    if (1..=MAX_SIGNAL).contains(&n) {
        // In range, so the conversion cannot fail.
        Ok(n as i32)
    } else {
        Err(format!(
            "invalid signal number {n} (expected 1..={MAX_SIGNAL})"
        ))
    }
}

fn bad_signal(text: &str) -> String {
    format!(
        "unknown signal \"{text}\" (expected a name such as \"TERM\" or \"SIGQUIT\", or a number 1..={MAX_SIGNAL})"
    )
}

/// `"SIGTERM"` for a known number, else `"signal N"`; for `rinit check`.
pub fn signal_name(num: i32) -> String {
    SIGNALS
        .iter()
        .find(|(_, n)| *n == num)
        .map_or_else(|| format!("signal {num}"), |(name, _)| format!("SIG{name}"))
}

/// A byte size: `"10MB"`, `"512KB"`, `"1GB"`, `"100"` (bytes). Units are
/// powers of 1024 as in supervisord (`KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`,
/// any case). No fractions, no signs; at least 1.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "invalid size \"{text}\" (expected e.g. \"10MB\", \"512KB\", \"1GB\" or an integer number of bytes)"
        )
    };
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    size_from_int(i64::try_from(n).map_err(|_| bad())?)?
        .checked_mul(mult)
        .ok_or_else(|| format!("size \"{text}\" is too large"))
}

/// A size given as a TOML integer (bytes).
pub fn size_from_int(n: i64) -> Result<u64, String> {
    match u64::try_from(n) {
        Ok(b) if b >= 1 => Ok(b),
        _ => Err(format!("invalid size {n}: must be at least 1 byte")),
    }
}

/// An octal umask string: `"022"`, `"0022"`, `"0o022"`; at most `0777`.
pub fn parse_umask(text: &str) -> Result<u32, String> {
    let s = text.trim();
    let digits = s.strip_prefix("0o").unwrap_or(s);
    let ok = !digits.is_empty()
        && digits.len() <= 4
        && digits.bytes().all(|b| (b'0'..=b'7').contains(&b));
    match u32::from_str_radix(digits, 8) {
        Ok(v) if ok && v <= 0o777 => Ok(v),
        _ => Err(format!(
            "invalid umask \"{text}\" (expected an octal string like \"022\")"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in [
            "",
            "s",
            "-1s",
            "1.5s",
            "10 sec",
            "10x",
            "abc",
            "99999999999999999999h",
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.starts_with("invalid duration"), "{bad}: {e}");
        }
        assert_eq!(duration_from_int(3), Ok(Duration::from_secs(3)));
        assert_eq!(
            duration_from_int(-2).unwrap_err(),
            "invalid duration -2: must not be negative"
        );
    }

    #[test]
    fn signals() {
        assert_eq!(parse_signal("TERM"), Ok(15));
        assert_eq!(parse_signal("SIGQUIT"), Ok(3));
        assert_eq!(parse_signal("sigusr2"), Ok(12));
        assert_eq!(parse_signal("winch"), Ok(28));
        assert_eq!(parse_signal("9"), Ok(9));
        assert_eq!(parse_signal("64"), Ok(64));
        assert!(parse_signal("65").is_err());
        assert!(parse_signal("0").is_err());
        assert_eq!(
            parse_signal("TREM").unwrap_err(),
            "unknown signal \"TREM\" (expected a name such as \"TERM\" or \"SIGQUIT\", or a number 1..=64)"
        );
        assert_eq!(signal_from_int(10), Ok(10));
        assert!(signal_from_int(-1).is_err());
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(40), "signal 40");
    }

    #[test]
    fn umasks() {
        assert_eq!(parse_umask("022"), Ok(0o022));
        assert_eq!(parse_umask("0022"), Ok(0o022));
        assert_eq!(parse_umask("0o077"), Ok(0o077));
        assert_eq!(parse_umask("777"), Ok(0o777));
        for bad in ["", "8", "0999", "1777", "abc", "00022"] {
            assert!(parse_umask(bad).is_err(), "{bad}");
        }
    }
}
