//! The control plane (SPEC §6): `rinit ctl …` talks to the running PID 1
//! over a unix socket with a small line-delimited JSON protocol.
//! `proto` is shared (on `json`, the little JSON it needs), `server` lives
//! inside PID 1's event loop (never blocks), `client` is the `rinit ctl`
//! command (may block: not PID 1).

pub mod answer;
pub mod client;
pub mod json;
pub mod proto;
pub mod server;
