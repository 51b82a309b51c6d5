//! `[rinit]` and `[rinit.signals]`: global settings and the signal routing
//! table, with their defaults. Only the main config file carries them.

use std::path::PathBuf;
use std::time::Duration;

use super::model::*;
use super::raw::{Reader, Sp, Table};
use super::sections::path;

const RINIT_KEYS: &[&str] = &[
    "shutdown_timeout",
    "log_format",
    "log_timestamps",
    "control_socket",
    "control_allow",
    "env_file",
    "hooks_dir",
    "exit_when",
    "signals",
];
/// Defaults: TERM/INT/QUIT shut down, HUP reloads, USR1/USR2/WINCH are
/// forwarded to every program.
pub fn default_signals() -> Vec<(i32, SignalRoute)> {
    vec![
        (libc::SIGHUP, SignalRoute::Reload),
        (libc::SIGINT, SignalRoute::Shutdown),
        (libc::SIGQUIT, SignalRoute::Shutdown),
        (libc::SIGUSR1, SignalRoute::Forward),
        (libc::SIGUSR2, SignalRoute::Forward),
        (libc::SIGTERM, SignalRoute::Shutdown),
        (libc::SIGWINCH, SignalRoute::Forward),
    ]
}

/// `[rinit]` defaults: shutdown_timeout 8s, log_format prefix,
/// log_timestamps false, control_socket /run/rinit.sock, no env_file, no
/// hooks_dir, exit_when requested, signals as [`default_signals`].
pub fn default_global() -> Global {
    Global {
        shutdown_timeout: Duration::from_secs(8),
        log_format: LogFormat::Prefix,
        log_timestamps: false,
        control_socket: PathBuf::from("/run/rinit.sock"),
        control_allow: Vec::new(),
        env_file: None,
        hooks_dir: None,
        exit_when: ExitWhen::Requested,
        signals: default_signals(),
    }
}
pub fn read_global(r: &mut Reader, t: &Table) -> (Global, Vec<Sp<String>>) {
    r.check_keys(t, RINIT_KEYS);
    let d = default_global();
    let formats = [
        ("prefix", LogFormat::Prefix),
        ("raw", LogFormat::Raw),
        ("json", LogFormat::Json),
    ];
    let exits = [
        ("requested", ExitWhen::Requested),
        ("all-done", ExitWhen::AllDone),
    ];
    let mut targets = Vec::new();
    let signals = match r.table(t, "signals") {
        Some((st, _)) => read_signals(r, &st, &mut targets),
        None => d.signals,
    };
    let global = Global {
        shutdown_timeout: r
            .duration(t, "shutdown_timeout")
            .unwrap_or(d.shutdown_timeout),
        log_format: r.choice(t, "log_format", &formats).unwrap_or(d.log_format),
        log_timestamps: r.bool(t, "log_timestamps").unwrap_or(d.log_timestamps),
        control_socket: path(r, t, "control_socket").unwrap_or(d.control_socket),
        control_allow: read_uids(r, t, "control_allow"),
        env_file: path(r, t, "env_file"),
        hooks_dir: path(r, t, "hooks_dir"),
        exit_when: r.choice(t, "exit_when", &exits).unwrap_or(d.exit_when),
        signals,
    };
    (global, targets)
}

/// `control_allow = [uid, …]`: numeric uids (names would need the passwd
/// file of the moment, and a uid is what SO_PEERCRED reports).
fn read_uids(r: &mut Reader, t: &Table, key: &str) -> Vec<u32> {
    let mut uids = Vec::new();
    for v in r.array(t, key).unwrap_or_default() {
        let Some(n) = r.int_value(key, v) else {
            continue;
        };
        // u32::MAX is (uid_t)-1, "no uid" to the kernel.
        match u32::try_from(n.value) {
            Ok(uid) if uid != u32::MAX => uids.push(uid),
            _ => r.error(
                &n.span,
                format!(
                    "\"{key}\" entries must be uids between 0 and 4294967294, not {}",
                    n.value
                ),
            ),
        }
    }
    uids
}

/// Signals rinit cannot or must not reroute: uncatchable, its own SIGCHLD,
/// and the synchronous faults (never forwarded, SPEC §2).
fn unroutable(sig: i32) -> bool {
    crate::os::signals::SYNCHRONOUS.contains(&sig)
        || [libc::SIGKILL, libc::SIGSTOP, libc::SIGCHLD].contains(&sig)
}

fn read_signals(
    r: &mut Reader,
    t: &Table,
    targets: &mut Vec<Sp<String>>,
) -> Vec<(i32, SignalRoute)> {
    let mut routes = default_signals();
    let mut seen: Vec<i32> = Vec::new();
    let routes_by_name = [
        ("reload", SignalRoute::Reload),
        ("shutdown", SignalRoute::Shutdown),
        ("forward", SignalRoute::Forward),
        ("ignore", SignalRoute::Ignore),
    ];
    for e in &t.entries {
        let sig = match super::values::parse_signal(e.key) {
            Ok(sig) => sig,
            Err(m) => {
                r.error(&e.key_span, m);
                continue;
            }
        };
        let name = super::values::signal_name(sig);
        if unroutable(sig) {
            r.error(
                &e.key_span,
                format!("{name} cannot be routed (rinit cannot catch it or handles it itself)"),
            );
            continue;
        }
        if seen.contains(&sig) {
            r.error(&e.key_span, format!("{name} is routed twice"));
            continue;
        }
        seen.push(sig);
        let route = if e.value.get_ref().is_array() {
            let mut names = Vec::new();
            for v in e
                .value
                .get_ref()
                .as_array()
                .map(|a| &a[..])
                .unwrap_or_default()
            {
                if let Some(s) = r.string_value(e.key, v) {
                    names.push(s.value.clone());
                    targets.push(s);
                }
            }
            if names.is_empty() {
                r.error(
                    &e.value.span(),
                    "empty program list (use \"ignore\" to drop the signal)",
                );
                continue;
            }
            SignalRoute::ForwardTo(names)
        } else if e.value.get_ref().is_str() {
            let Some(s) = r.string_value(e.key, e.value) else {
                continue;
            };
            match routes_by_name.iter().find(|(n, _)| *n == s.value) {
                Some((_, route)) => route.clone(),
                None => {
                    let msg = format!(
                        "invalid signal route \"{}\" (expected \"reload\", \"shutdown\", \"forward\", \"ignore\" or a list of program names)",
                        s.value
                    );
                    r.error(&s.span, msg);
                    continue;
                }
            }
        } else {
            r.type_error(
                e.key,
                e.value,
                "a route string or an array of program names",
            );
            continue;
        };
        routes.retain(|(s, _)| *s != sig);
        routes.push((sig, route));
    }
    crate::core::sort::sort_by_key(&mut routes, |(s, _)| *s);
    routes
}
