//! `rinit ctl reload` and SIGHUP: one reload adds, removes, changes and
//! keeps programs (checked by pid); an invalid config changes nothing and
//! reports every error.

mod common;
mod ctl_support;

use ctl_support::{Live, config_text, start, text};

fn prog(name: &str, extra: &str) -> String {
    format!(
        "[[program]]\nname = \"{name}\"\ncommand = \"echo {name}-up; exec sleep 1000\"\nstart_secs = \"100ms\"\nstop_signal = \"KILL\"\n{extra}\n"
    )
}

fn rewrite(r: &Live, programs: &str) {
    std::fs::write(&r.cfg, config_text(&r.sock, "", programs)).unwrap();
}

fn reload_by(r: &mut Live, signal: bool) {
    if signal {
        let pid = r.proc.rinit_pid();
        r.proc.signal(pid, libc::SIGHUP);
    } else {
        r.ctl_ok(&["reload"], 0);
    }
}

fn add_remove_change_keep(signal: bool) {
    let before = [prog("keep", ""), prog("gone", ""), prog("change", "")].concat();
    let mut r = start(if signal { "reload-hup" } else { "reload" }, "", &before);
    let keep = r.pid("keep");
    let gone = r.pid("gone");
    let change = r.pid("change");

    let after = [
        prog("keep", ""),
        prog("change", "environment = { NEW = \"1\" }"),
        prog("fresh", ""),
    ]
    .concat();
    rewrite(&r, &after);
    reload_by(&mut r, signal);

    let fresh = r.pid("fresh");
    let changed = r.pid("change");
    assert_ne!(changed, change, "changed program restarted");
    assert_eq!(r.pid("keep"), keep, "unchanged program untouched");
    assert!(fresh > 0);
    let names: Vec<String> = r
        .status()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["keep", "change", "fresh"], "removed one is gone");
    let err = r.ctl_ok(&["status", "gone"], 1);
    assert!(text(&err.stderr).contains("no program named \"gone\""));
    // The removed program's process is gone too: exactly three sleeps left.
    let ns = r.proc.rinit_pid();
    let sleeps = || {
        common::processes_in_ns(ns)
            .into_iter()
            .filter(|p| {
                std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c == b"sleep\x001000\x00")
            })
            .count()
    };
    if !common::wait_until(std::time::Instant::now() + common::WAIT, || sleeps() == 3) {
        r.proc.fail(&format!(
            "removed program {gone} still running ({} sleeps)",
            sleeps()
        ));
    }
    // The new program's output is multiplexed like the others.
    r.proc.expect_line(common::Stream::Out, common::WAIT, |l| {
        l.ends_with("| fresh-up")
    });
    r.ctl_ok(&["logs", "fresh"], 0);
    r.shutdown();
}

#[test]
fn reload_adds_removes_changes_and_keeps() {
    add_remove_change_keep(false);
}

#[test]
fn sighup_reloads_the_same_way() {
    add_remove_change_keep(true);
}

#[test]
fn invalid_config_changes_nothing_and_says_why() {
    let before = [prog("a", ""), prog("b", "")].concat();
    let mut r = start("reload-bad", "", &before);
    let a = r.pid("a");
    let b = r.pid("b");
    let bad = format!(
        "{}{}",
        prog("a", "restrat = \"always\""),
        prog("b", "stop_timeout = \"5 parsecs\"")
    );
    rewrite(&r, &bad);
    let out = r.ctl_ok(&["reload"], 1);
    let err = text(&out.stderr);
    assert!(err.contains("invalid config, nothing changed"), "{err}");
    assert!(
        err.contains("unknown key \"restrat\" (did you mean \"restart\"?)"),
        "{err}"
    );
    assert!(err.contains("invalid duration \"5 parsecs\""), "{err}");
    // SIGHUP with the same config: logged, nothing changes.
    let pid = r.proc.rinit_pid();
    r.proc.signal(pid, libc::SIGHUP);
    r.proc.expect_line(common::Stream::Err, common::WAIT, |l| {
        l.contains("reload:") && l.contains("invalid config, nothing changed")
    });
    assert_eq!(r.pid("a"), a);
    assert_eq!(r.pid("b"), b);
    r.shutdown();
}

/// Open fds of process `pid`.
fn fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// What process `pid`'s fds are, for a failure message.
fn fd_list(pid: i32) -> String {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return String::new();
    };
    let mut fds: Vec<(u32, String)> = dir
        .flatten()
        .map(|e| {
            let n = e.file_name().to_string_lossy().parse().unwrap_or(0);
            let to = std::fs::read_link(e.path()).unwrap_or_default();
            (n, to.to_string_lossy().into_owned())
        })
        .collect();
    fds.sort();
    fds.iter()
        .map(|(n, to)| format!("{n}->{to}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Programs that reloads remove leave nothing behind in rinit: their pipes
/// are closed once their last words are out (a loop of add and remove
/// ends with as many fds as it began), and their log tail is gone.
#[test]
fn removed_programs_leave_no_fds_behind() {
    let keep = prog("keep", "");
    let mut r = start("reload-fds", "", &keep);
    r.wait_state("keep", "running");
    let pid = r.proc.rinit_pid();
    // `wait_state` asked over the control socket: rinit may not have seen
    // that client hang up yet. Count from when only the listener is left.
    let listener_only = || fd_list(pid).matches("socket:").count() == 1;
    assert!(
        common::wait_until(std::time::Instant::now() + common::WAIT, listener_only),
        "a control connection stayed open: {}",
        fd_list(pid)
    );
    let base = fds(pid);
    let before = fd_list(pid);
    for n in 0..4 {
        let name = format!("extra{n}");
        let extra = format!(
            "[[program]]\nname = \"{name}\"\ncommand = \"trap 'printf bye-{n}; exit 0' TERM; echo {name}-up; sleep 1000 & wait\"\nstart_secs = 0\n"
        );
        rewrite(&r, &format!("{keep}{extra}"));
        r.ctl_ok(&["reload"], 0);
        r.proc.expect_line(common::Stream::Out, common::WAIT, |l| {
            l.ends_with(&format!("| {name}-up"))
        });
        rewrite(&r, &keep);
        r.ctl_ok(&["reload"], 0);
        // Its last words (no newline) come out, as a line of their own.
        r.proc.expect_line(common::Stream::Out, common::WAIT, |l| {
            l.ends_with(&format!("| bye-{n}"))
        });
        let settled = common::wait_until(std::time::Instant::now() + common::WAIT, || {
            fds(pid) == base
        });
        if !settled {
            r.proc.fail(&format!(
                "after removing {name}: {} fds open, {base} before\nnow: {}\nbefore: {before}",
                fds(pid),
                fd_list(pid)
            ));
        }
        let out = r.ctl_ok(&["logs", &name], 1);
        assert!(
            text(&out.stderr).contains(&format!("no program named \"{name}\"")),
            "{}",
            text(&out.stderr)
        );
    }
    r.shutdown();
}
