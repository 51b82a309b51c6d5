//! The log multiplexer: programs' stdout/stderr pipes → whole, formatted
//! lines on rinit's own fd 1 / fd 2, without ever blocking PID 1.
pub mod format;
pub mod line;
pub mod sink;
