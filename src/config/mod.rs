//! Configuration: discovery, parsing, validation (SPEC §1, §3).
//!
//! Callers need [`discover`], [`load`] (or [`load_with`] to supply the user
//! database), [`Diagnostic`] for errors, [`describe`] for `rinit check`, and
//! the resolved model types. Everything else is internal plumbing.

mod describe;
mod diag;
mod expand;
mod glob;
mod global;
mod load;
pub mod model;
mod order;
mod raw;
mod sections;
pub mod toml;
mod validate;
mod values;

pub use describe::describe;
pub use diag::Diagnostic;
pub use global::{default_global, default_signals};
pub use load::{DEFAULT_PATHS, discover, load, load_with, searched_places};
pub use model::*;
pub use order::start_order;
pub use values::{parse_duration, parse_signal, signal_name};
