//! Single-command mode (tini's job): one child; forward every signal to it;
//! when it exits, clean up what it left behind and exit with its code.
//!
//! Where tini exits at once when its child dies (the kernel then SIGKILLs the
//! rest of the namespace, or, as a subreaper, leaks them), rinit first gives
//! the remaining descendants SIGTERM, then SIGKILL after `kill_grace`, and
//! reaps them all. Pure: no syscalls, no clock.

use super::event::{Action, ChildId, Event, Target};
use super::exit::{ExitRemap, ProcessEnd};
use super::{Core, Message};
use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

/// The only child of single-command mode.
pub const MAIN: ChildId = ChildId(0);

#[derive(Debug, Clone)]
pub struct Settings {
    /// Send forwarded signals to the child's process group (`-g`).
    pub kill_process_group: bool,
    /// Log every reaped zombie that is not the main child (`-w`).
    pub warn_on_reap: bool,
    /// Exit codes mapped to 0 (`-e`).
    pub remap: ExitRemap,
    /// How long leftover descendants get between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Spawn requested, result not known yet.
    Starting,
    Running {
        pid: i32,
    },
    /// The main child is gone with `code`; leftovers are being removed.
    /// `next` is when to escalate; `killed` once SIGKILL went out.
    Draining {
        code: u8,
        next: Option<Instant>,
        term_sent: bool,
    },
    Done,
}

#[derive(Debug)]
pub struct SingleCommand {
    settings: Settings,
    state: State,
    messages: Vec<Message>,
}

impl SingleCommand {
    pub fn new(settings: Settings) -> Self {
        SingleCommand {
            settings,
            state: State::Starting,
            messages: Vec::new(),
        }
    }

    fn say(&mut self, level: log::Level, text: String) {
        self.messages.push(Message { level, text });
    }

    fn main_exited(&mut self, end: ProcessEnd, now: Instant) -> Vec<Action> {
        let level = log::Level::Info;
        self.say(level, format!("main child exited ({end})"));
        let code = self.settings.remap.apply(end);
        // Escalate "now": if `NoChildren` follows in the same batch of reaped
        // exits, there is nobody to signal and we exit without a syscall.
        self.state = State::Draining {
            code,
            next: Some(now),
            term_sent: false,
        };
        Vec::new()
    }

    fn finish(&mut self, code: u8) -> Vec<Action> {
        self.state = State::Done;
        vec![Action::Exit(code)]
    }
}

impl Core for SingleCommand {
    fn start(&mut self, _now: Instant) -> Vec<Action> {
        vec![Action::Spawn(MAIN)]
    }

    fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        match (self.state.clone(), event) {
            (State::Starting, Event::Spawned { id: MAIN, pid }) => {
                self.say(
                    log::Level::Info,
                    format!("spawned child process with pid {pid}"),
                );
                self.state = State::Running { pid };
                Vec::new()
            }
            (State::Starting, Event::SpawnFailed { message, errno, .. }) => {
                self.say(log::Level::Error, message);
                // The codes tini's child exits with when execvp fails; like
                // tini, -e applies to them too.
                let code = match errno {
                    libc::ENOENT => 127,
                    libc::EACCES => 126,
                    _ => 1,
                };
                let code = self.settings.remap.apply(ProcessEnd::Exited(code));
                self.finish(code)
            }
            (State::Running { pid }, Event::Signal(sig)) => {
                let target = if self.settings.kill_process_group {
                    Target::Group(pid)
                } else {
                    Target::Pid(pid)
                };
                self.say(
                    log::Level::Debug,
                    format!("passing signal {} to child", signame(sig)),
                );
                vec![Action::Kill {
                    target,
                    signal: sig,
                }]
            }
            (State::Running { pid }, Event::Exited { pid: p, end }) if p == pid => {
                self.main_exited(end, now)
            }
            (State::Draining { code, .. }, Event::NoChildren) => self.finish(code),
            (
                State::Draining {
                    code,
                    next: Some(at),
                    term_sent,
                },
                Event::Tick,
            ) if now >= at => {
                let (signal, next) = if term_sent {
                    (Signal::SIGKILL, None)
                } else {
                    (Signal::SIGTERM, Some(now + self.settings.kill_grace))
                };
                self.say(
                    log::Level::Info,
                    format!(
                        "main child gone; sending {} to remaining processes",
                        signal.as_str()
                    ),
                );
                self.state = State::Draining {
                    code,
                    next,
                    term_sent: true,
                };
                vec![Action::Kill {
                    target: Target::Everyone,
                    signal: signal as i32,
                }]
            }
            // Asked again to stop while leftovers linger: do not wait for them.
            (
                State::Draining {
                    code,
                    term_sent: true,
                    next: Some(_),
                },
                Event::Signal(sig),
            ) if is_stop_request(sig) => {
                self.state = State::Draining {
                    code,
                    next: Some(now),
                    term_sent: true,
                };
                Vec::new()
            }
            (_, Event::Exited { pid, .. }) => {
                if self.settings.warn_on_reap {
                    self.say(
                        log::Level::Warn,
                        format!("reaped zombie process with pid={pid}"),
                    );
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::Draining { next, .. } => next,
            _ => None,
        }
    }

    fn take_messages(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.messages)
    }
}

fn is_stop_request(sig: i32) -> bool {
    [Signal::SIGTERM, Signal::SIGINT, Signal::SIGQUIT]
        .iter()
        .any(|s| *s as i32 == sig)
}

pub(crate) fn signame(sig: i32) -> String {
    Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(group: bool) -> (SingleCommand, Instant) {
        let s = Settings {
            kill_process_group: group,
            warn_on_reap: true,
            remap: ExitRemap::default(),
            kill_grace: Duration::from_secs(2),
        };
        let mut c = SingleCommand::new(s);
        let t0 = Instant::now();
        assert_eq!(c.start(t0), vec![Action::Spawn(MAIN)]);
        assert!(
            c.handle(Event::Spawned { id: MAIN, pid: 42 }, t0)
                .is_empty()
        );
        (c, t0)
    }

    const TERM: i32 = libc::SIGTERM;

    #[test]
    fn signals_go_to_the_child_or_its_group() {
        let (mut c, t0) = core(false);
        assert_eq!(
            c.handle(Event::Signal(libc::SIGUSR1), t0),
            vec![Action::Kill {
                target: Target::Pid(42),
                signal: libc::SIGUSR1
            }]
        );
        let (mut c, t0) = core(true);
        assert_eq!(
            c.handle(Event::Signal(TERM), t0),
            vec![Action::Kill {
                target: Target::Group(42),
                signal: TERM
            }]
        );
    }

    #[test]
    fn exit_without_leftovers_needs_no_signal_and_no_timer() {
        let (mut c, t0) = core(false);
        assert!(
            c.handle(
                Event::Exited {
                    pid: 42,
                    end: ProcessEnd::Exited(7)
                },
                t0
            )
            .is_empty()
        );
        assert_eq!(c.handle(Event::NoChildren, t0), vec![Action::Exit(7)]);
        assert_eq!(c.next_deadline(), None);
    }

    #[test]
    fn leftovers_get_term_then_kill_after_the_grace() {
        let (mut c, t0) = core(false);
        c.handle(
            Event::Exited {
                pid: 42,
                end: ProcessEnd::Signaled(15),
            },
            t0,
        );
        assert_eq!(c.next_deadline(), Some(t0));
        assert_eq!(
            c.handle(Event::Tick, t0),
            vec![Action::Kill {
                target: Target::Everyone,
                signal: TERM
            }]
        );
        let grace_end = t0 + Duration::from_secs(2);
        assert_eq!(c.next_deadline(), Some(grace_end));
        assert!(
            c.handle(Event::Tick, grace_end - Duration::from_millis(1))
                .is_empty()
        );
        assert_eq!(
            c.handle(Event::Tick, grace_end),
            vec![Action::Kill {
                target: Target::Everyone,
                signal: libc::SIGKILL
            }]
        );
        assert_eq!(
            c.next_deadline(),
            None,
            "after SIGKILL only reaping is left: no timer"
        );
        assert!(
            c.handle(
                Event::Exited {
                    pid: 99,
                    end: ProcessEnd::Signaled(9)
                },
                grace_end
            )
            .is_empty()
        );
        assert_eq!(
            c.handle(Event::NoChildren, grace_end),
            vec![Action::Exit(143)]
        );
    }

    #[test]
    fn a_second_term_while_draining_kills_at_once() {
        let (mut c, t0) = core(false);
        c.handle(
            Event::Exited {
                pid: 42,
                end: ProcessEnd::Exited(0),
            },
            t0,
        );
        c.handle(Event::Tick, t0);
        let t1 = t0 + Duration::from_millis(10);
        assert!(c.handle(Event::Signal(TERM), t1).is_empty());
        assert_eq!(c.next_deadline(), Some(t1));
        assert_eq!(
            c.handle(Event::Tick, t1),
            vec![Action::Kill {
                target: Target::Everyone,
                signal: libc::SIGKILL
            }]
        );
    }

    #[test]
    fn exec_failures_map_like_tini_and_obey_remap() {
        for (errno, code) in [(libc::ENOENT, 127), (libc::EACCES, 126), (libc::ENOEXEC, 1)] {
            let mut c = SingleCommand::new(Settings {
                kill_process_group: false,
                warn_on_reap: false,
                remap: ExitRemap::default(),
                kill_grace: Duration::from_secs(1),
            });
            let t0 = Instant::now();
            c.start(t0);
            let failed = Event::SpawnFailed {
                id: MAIN,
                errno,
                message: "exec x failed".into(),
            };
            assert_eq!(c.handle(failed, t0), vec![Action::Exit(code)]);
        }
        let mut remap = ExitRemap::default();
        remap.insert(127);
        let mut c = SingleCommand::new(Settings {
            kill_process_group: false,
            warn_on_reap: false,
            remap,
            kill_grace: Duration::from_secs(1),
        });
        let t0 = Instant::now();
        c.start(t0);
        let failed = Event::SpawnFailed {
            id: MAIN,
            errno: libc::ENOENT,
            message: String::new(),
        };
        assert_eq!(c.handle(failed, t0), vec![Action::Exit(0)]);
    }

    #[test]
    fn other_zombies_are_only_reported_with_w() {
        let (mut c, t0) = core(false);
        assert!(
            c.handle(
                Event::Exited {
                    pid: 77,
                    end: ProcessEnd::Exited(0)
                },
                t0
            )
            .is_empty()
        );
        let msgs = c.take_messages();
        assert!(
            msgs.iter()
                .any(|m| m.level == log::Level::Warn && m.text.contains("pid=77"))
        );
    }
}
