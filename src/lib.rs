//! rinit: a static PID 1 for containers. The binary (`src/main.rs`) is a thin
//! shell around this library so tests and benchmarks can reach the pure core.

pub mod config;
pub mod core;
pub mod os;
