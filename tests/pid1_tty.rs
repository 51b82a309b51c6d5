//! Interactive use: with a TTY on stdin the child gets the terminal's
//! foreground process group, so Ctrl-C typed on the terminal reaches it
//! directly. `tests/helpers/pty_drive.py` runs the tree on a new pty and
//! relays it; each hex line we write to its stdin is "typed" on the pty.

mod common;
use common::*;
use std::process::{Command, Stdio};

fn on_a_pty(rinit_opts: &[&str], child: &[String]) -> Proc {
    let mut c = Command::new(python());
    c.arg(helper("pty_drive.py"));
    c.args(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]);
    c.arg(rinit());
    c.args(rinit_opts);
    c.arg("--");
    c.args(child);
    c.stdin(Stdio::piped());
    c.env_remove("TINI_KILL_PROCESS_GROUP");
    c.env_remove("TINI_VERBOSITY");
    // The harness kills pty_drive.py's tree through this pid: pty_drive is
    // not unshare, but its child (unshare) dies with it (parent-death
    // signal), and unshare --kill-child takes the namespace with it.
    Proc::spawn(c, Mode::Pid1)
}

#[test]
fn ctrl_c_on_the_tty_reaches_the_foreground_child() {
    let mut p = on_a_pty(
        &[],
        &py("print_signals.py", &["--report-tty", "--exit-on", "INT"]),
    );
    let fg = p.expect_line(Stream::Out, WAIT, |l| l.starts_with("foreground "));
    p.expect_line(Stream::Out, WAIT, |l| l.starts_with("ready "));
    assert_eq!(
        fg,
        "foreground yes",
        "the child must own the terminal's foreground\n{}",
        p.transcript()
    );
    p.write_stdin("03\n"); // Ctrl-C
    // The tty echoes ^C just before the child's own line.
    p.expect_line(Stream::Out, WAIT, |l| l.ends_with("SIGINT"));
    let code = p.exit_code(WAIT);
    assert_eq!(code, 130, "{}", p.output());
}

#[test]
fn without_a_tty_the_child_still_runs() {
    // stdin is /dev/null (as in CI): no foreground handoff, no error.
    let mut p = Rinit::cmd(&[], &py("print_signals.py", &["--report-tty"])).spawn();
    let fg = p.expect_line(Stream::Out, WAIT, |l| l.starts_with("foreground "));
    assert_eq!(fg, "foreground no");
    p.expect_ready();
    let rinit = p.rinit_pid();
    p.signal(rinit, libc::SIGTERM);
    assert_eq!(p.exit_code(WAIT), 143, "{}", p.output());
}
