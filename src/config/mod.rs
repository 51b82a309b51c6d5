//! Configuration: discovery, parsing, validation (SPEC §1, §3).

pub mod model;

pub use model::*;
