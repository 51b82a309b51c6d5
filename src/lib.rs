//! rinit: a static PID 1 for containers. The binary (`src/main.rs`) is a thin
//! shell around this library so tests and benchmarks can reach the pure core.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod cli;
pub mod config;
pub mod core;
pub mod ctl;
pub mod dispatch;
pub mod event_loop;
pub mod logger;
pub mod logmux;
pub mod mode;
pub mod os;
