//! Per-instance output plumbing of the supervisor runtime: one log source
//! and a pipe per captured stream, made at start-up and, for instances a
//! reload adds, when they are first spawned.

use super::{Pipe, Slot, SupervisorRuntime, pipe_token};
use crate::config::Output;
use crate::core::ChildId;
use crate::core::supervisor::Supervisor;
use crate::logmux::{LogMux, Stream};
use mio::{Interest, Registry};
use std::io;

/// One instance's log source and pipes.
pub(super) fn new_slot(
    mux: &mut LogMux,
    id: ChildId,
    inst: &crate::core::program::Instance,
    registry: &Registry,
) -> io::Result<Slot> {
    let source = mux.register(inst.name());
    let spec = inst.spec();
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
        source,
        stdout: pipe_for(&spec.stdout, Stream::Stdout)?,
        stderr: pipe_for(&spec.stderr, Stream::Stderr)?,
    })
}

impl SupervisorRuntime {
    /// Pipes and a log source for instances a reload added.
    pub(super) fn grow(&mut self, core: &Supervisor, registry: &Registry) -> io::Result<()> {
        for (id, inst) in core.instances().skip(self.slots.len()) {
            let slot = new_slot(&mut self.mux, id, inst, registry)?;
            self.slots.push(slot);
        }
        Ok(())
    }
}
