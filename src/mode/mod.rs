//! The modes of SPEC §1, each the OS-facing half (`Runtime`) that pairs with
//! a pure core: single-command mode (tini's job) and supervisor mode.

pub mod env_file;
pub mod launch;
pub mod outputs;
pub mod single;
pub mod supervisor;
