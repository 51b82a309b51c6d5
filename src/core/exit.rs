//! How a process ended, and how that becomes an exit code.
//!
//! One place computes `128 + N` for signal deaths and applies tini's `-e`
//! remapping, so every mode reports codes the same way. Pure: no syscalls.

use nix::sys::signal::Signal;
use std::fmt;

/// How a child process ended (from `waitpid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessEnd {
    /// `exit(code)`.
    Exited(u8),
    /// Killed by a signal (the raw number, so real-time signals survive).
    Signaled(i32),
}

impl ProcessEnd {
    /// The shell convention tini follows: the exit status, or 128 + N for a
    /// death by signal N, reduced modulo 256.
    pub fn code(self) -> u8 {
        match self {
            ProcessEnd::Exited(c) => c,
            ProcessEnd::Signaled(n) => ((128 + n) % 256) as u8,
        }
    }

    pub fn success(self) -> bool {
        self == ProcessEnd::Exited(0)
    }
}

impl fmt::Display for ProcessEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ProcessEnd::Exited(c) => write!(f, "exit status {c}"),
            ProcessEnd::Signaled(n) => match Signal::try_from(n) {
                Ok(s) => write!(f, "killed by {}", s.as_str()),
                Err(_) => write!(f, "killed by signal {n}"),
            },
        }
    }
}

/// The set of exit codes that tini's `-e CODE` maps to 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExitRemap {
    bits: [u64; 4],
}

impl ExitRemap {
    pub fn insert(&mut self, code: u8) {
        self.bits[usize::from(code / 64)] |= 1 << (code % 64);
    }

    pub fn contains(&self, code: u8) -> bool {
        self.bits[usize::from(code / 64)] & (1 << (code % 64)) != 0
    }

    /// The code rinit exits with for a main child that ended this way.
    pub fn apply(&self, end: ProcessEnd) -> u8 {
        let code = end.code();
        if self.contains(code) { 0 } else { code }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_deaths_are_128_plus_n() {
        assert_eq!(ProcessEnd::Signaled(15).code(), 143);
        assert_eq!(ProcessEnd::Signaled(9).code(), 137);
        assert_eq!(ProcessEnd::Exited(3).code(), 3);
    }

    #[test]
    fn remap_is_exact_per_code() {
        let mut r = ExitRemap::default();
        r.insert(143);
        r.insert(0);
        r.insert(255);
        assert_eq!(r.apply(ProcessEnd::Signaled(15)), 0);
        assert_eq!(r.apply(ProcessEnd::Exited(255)), 0);
        assert_eq!(r.apply(ProcessEnd::Exited(142)), 142);
        assert_eq!(r.apply(ProcessEnd::Exited(144)), 144);
        for c in 0..=255u8 {
            assert_eq!(r.contains(c), matches!(c, 0 | 143 | 255), "code {c}");
        }
    }

    #[test]
    fn display_names_the_signal() {
        assert_eq!(ProcessEnd::Signaled(9).to_string(), "killed by SIGKILL");
        assert_eq!(ProcessEnd::Exited(2).to_string(), "exit status 2");
    }
}
