//! The thin OS layer: every syscall and every `unsafe` block of rinit lives
//! below this module. Each function does one thing the core asked for.

pub mod kill;
pub mod peer;
pub mod pid1;
pub mod reap;
pub mod signals;
pub mod spawn;
pub mod startup;
pub mod thread;
pub mod users;

/// The bare strerror text of an OS error, without std's " (os error N)".
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
