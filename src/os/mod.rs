//! The thin OS layer: every syscall and every `unsafe` block of rinit lives
//! below this module. Each function does one thing the core asked for.

pub mod kill;
pub mod pid1;
pub mod reap;
pub mod signals;
pub mod spawn;
pub mod users;
