//! Who may use the control socket: root and rinit's own uid always; other
//! uids only when listed in `[rinit] control_allow` (then the socket is
//! made 0666 and SO_PEERCRED is the gate). Needs root (to switch uid with
//! setpriv); skipped, with a note, otherwise.

mod common;
mod ctl_support;

use ctl_support::{start, text};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

const PROG: &str = "[[program]]\nname = \"s\"\ncommand = \"sleep 1000\"\nstart_secs = 0\n";

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `rinit ctl --socket SOCK ARGS…` as `uid` (and gid), no groups.
fn as_uid(uid: u32, sock: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .arg(format!("--reuid={uid}"))
        .arg(format!("--regid={uid}"))
        .arg("--clear-groups")
        .arg(common::rinit())
        .arg("ctl")
        .arg("--socket")
        .arg(sock)
        .args(args)
        .env_remove("RINIT_CONFIG")
        .output()
        .expect("setpriv (util-linux)")
}

#[test]
fn other_uids_are_refused_unless_allowed() {
    if !is_root() {
        eprintln!("skipped: needs root to run the client as another uid");
        return;
    }
    // Without control_allow: 0600, root-owned; uid 65534 cannot even connect.
    let mut r = start("perm-deny", "", PROG);
    std::fs::set_permissions(r.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = as_uid(65534, &r.sock, &["status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("permission denied") && err.contains(&*r.sock.to_string_lossy()),
        "{err}"
    );
    r.ctl_ok(&["status"], 0);
    r.shutdown();

    // With control_allow = [65534]: that uid may, uid 65533 still may not
    // (it reaches the socket, and the peer-credential check refuses it).
    let mut r = start("perm-allow", "control_allow = [65534]", PROG);
    std::fs::set_permissions(r.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mode = std::fs::metadata(&r.sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o666);
    r.wait_state("s", "running");
    let out = as_uid(65534, &r.sock, &["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st[0]["state"], "running");
    let out = as_uid(65533, &r.sock, &["health"]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(err.contains("uid 65533 may not control rinit"), "{err}");
    r.shutdown();
}
