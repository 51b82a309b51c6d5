//! The supervisor runtime's side of the control plane: owns the socket
//! (`ctl::server`), answers requests from the core's and the multiplexer's
//! state (`ctl::answer`), and re-reads the config for SIGHUP. A child of
//! `mode/supervisor.rs` so it reaches the runtime's fields.

use super::SupervisorRuntime;
use crate::core::supervisor::Supervisor;
use crate::core::{Control, Event, NewConfig};
use crate::ctl::answer::{self, View};
use crate::ctl::server::Server;
use std::time::Instant;

impl SupervisorRuntime {
    /// Open the control socket. rinit runs on without one (a read-only
    /// /run, say): the programs matter more than `rinit ctl`.
    pub(super) fn bind_control(&mut self) {
        let path = self.global.control_socket.clone();
        let allow = self.global.control_allow.clone();
        match Server::bind(&path, allow, &self.registry) {
            Ok(server) => self.control = Some(server),
            Err(e) => log::warn!(
                "unable to open the control socket {}: {e}; rinit ctl will not work",
                path.display()
            ),
        }
    }

    pub(super) fn serve_control(&mut self, core: &Supervisor, now: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        let Some(server) = self.control.as_mut() else {
            return events;
        };
        let view = View {
            core,
            mux: self.outputs.mux(),
            config_path: &self.config_path,
            global: &self.global,
            now,
        };
        server.serve(
            &self.registry,
            &mut |cmd| answer::answer(cmd, &view, &mut events),
            &mut |f| answer::follow_lines(f, self.outputs.mux()),
        );
        self.note_reloads(&events);
        events
    }

    /// SIGHUP: the same load and checks as `rinit ctl reload`; errors go to
    /// the log, and nothing changes.
    pub(super) fn reload_from_signal(&mut self) -> Option<Event> {
        match answer::load(&self.config_path) {
            Ok(cfg) => {
                for note in answer::not_live(&self.global, &cfg.global) {
                    self.outputs.log_rinit(log::Level::Warn, &note);
                }
                let event = Event::Control(Control::Reload(NewConfig(Box::new(cfg))));
                self.note_reloads(std::slice::from_ref(&event));
                Some(event)
            }
            Err(errors) => {
                let text = format!(
                    "reload: {}: invalid config, nothing changed",
                    self.config_path.display()
                );
                self.outputs.log_rinit(log::Level::Error, &text);
                for e in errors {
                    self.outputs.log_rinit(log::Level::Error, &e);
                }
                None
            }
        }
    }

    /// Settings a reload applies live outside the core: who may connect.
    fn note_reloads(&mut self, events: &[Event]) {
        for e in events {
            if let Event::Control(Control::Reload(NewConfig(cfg))) = e
                && let Some(server) = self.control.as_mut()
            {
                server.set_allow(cfg.global.control_allow.clone());
            }
        }
    }
}
