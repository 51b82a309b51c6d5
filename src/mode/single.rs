//! Single-command mode's OS side: spawn the one child in its own process
//! group, in the terminal's foreground (as tini does).

use crate::core::single::SingleCommand;
use crate::core::{ChildId, Event};
use crate::event_loop::Runtime;
use crate::os;
use crate::os::spawn::{ChildSetup, Isolation};
use std::ffi::OsString;

pub struct SingleRuntime {
    pub argv: Vec<OsString>,
}

impl Runtime<SingleCommand> for SingleRuntime {
    fn spawn(&mut self, _core: &SingleCommand, ids: &[ChildId]) -> Vec<Event> {
        ids.iter().map(|&id| self.spawn_one(id)).collect()
    }
}

impl SingleRuntime {
    fn spawn_one(&self, id: ChildId) -> Event {
        let setup = ChildSetup::isolated(Isolation::ProcessGroup { foreground: true });
        match os::spawn::spawn(&self.argv, setup) {
            Ok(pid) => Event::Spawned { id, pid },
            Err(e) => Event::SpawnFailed {
                id,
                errno: e.raw_os_error().unwrap_or(0),
                message: format!(
                    "exec {} failed: {}",
                    self.argv[0].to_string_lossy(),
                    os::strerror(&e)
                ),
            },
        }
    }
}
