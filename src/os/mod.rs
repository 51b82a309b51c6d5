//! The thin OS layer: every syscall and every `unsafe` block of rinit lives
//! below this module. Each function does one thing the core asked for.

pub mod kill;
pub mod peer;
pub mod pid1;
pub mod pipe;
pub mod reap;
pub mod signals;
pub mod spawn;
pub mod startup;
pub mod thread;
pub mod users;

/// The strerror text of an errno, as for every other OS error rinit reports
/// (nix's own descriptions would add a second table of them to the binary).
pub fn errno_text(e: nix::errno::Errno) -> String {
    strerror(&std::io::Error::from_raw_os_error(e as i32))
}

/// The bare strerror text of an OS error, without std's " (os error N)".
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
