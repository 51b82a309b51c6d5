//! Per-instance output plumbing of the supervisor runtime: one log source
//! and a pipe per captured stream, made at start-up and, for instances a
//! reload adds, when they are first spawned.

use super::{Pipe, Slot, SupervisorRuntime, pipe_token};
use crate::config::Output;
use crate::core::ChildId;
use crate::core::supervisor::{Child, Supervisor};
use crate::logmux::{LogMux, Stream};
use mio::{Interest, Registry};
use std::io;

/// One child's log source and pipes. The main command has neither: it
/// keeps the container's stdio (and terminal).
pub(super) fn new_slot(
    mux: &mut LogMux,
    id: ChildId,
    child: Child<'_>,
    registry: &Registry,
) -> io::Result<Slot> {
    let (name, stdout, stderr) = match child {
        Child::Program(inst) => (inst.name(), &inst.spec().stdout, &inst.spec().stderr),
        Child::Hook(hook) => (hook.name.as_str(), &Output::Log, &Output::Log),
        Child::Main => {
            return Ok(Slot {
                name: "main".into(),
                hook: false,
                source: None,
                stdout: None,
                stderr: None,
            });
        }
    };
    let source = mux.register(name);
    let pipe_for = |output: &Output, stream: Stream| -> io::Result<Option<Pipe>> {
        if *output != Output::Log {
            return Ok(None);
        }
        let (tx, mut rx) = mio::unix::pipe::new()?;
        // O_NONBLOCK belongs to the open file description: only
        // rinit's end gets it; the program's end stays blocking.
        tx.set_nonblocking(false)?;
        registry.register(&mut rx, pipe_token(id, stream), Interest::READABLE)?;
        Ok(Some(Pipe { rx, tx }))
    };
    Ok(Slot {
        name: name.to_string(),
        hook: matches!(child, Child::Hook(_)),
        source: Some(source),
        stdout: pipe_for(stdout, Stream::Stdout)?,
        stderr: pipe_for(stderr, Stream::Stderr)?,
    })
}

impl SupervisorRuntime {
    /// Pipes and a log source for instances a reload added.
    pub(super) fn grow(&mut self, core: &Supervisor, registry: &Registry) -> io::Result<()> {
        for (id, inst) in core.instances() {
            if !self.slots.contains_key(&id) {
                let slot = new_slot(&mut self.mux, id, Child::Program(inst), registry)?;
                self.slots.insert(id, slot);
            }
        }
        Ok(())
    }
}
