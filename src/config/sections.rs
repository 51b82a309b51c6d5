//! One file's top level, `[[program]]` and `[[hook]]` sections (`[rinit]` is
//! in `global.rs`) turned into model values with defaults applied, plus the
//! positions the cross-file checks in `validate.rs` need. Every key and value
//! is checked here; names are checked against each other later.

use std::path::PathBuf;
use std::time::Duration;

use super::global::read_global;
use super::model::*;
use super::raw::{Reader, Sp, Span, Table};

const TOP_KEYS: &[&str] = &["rinit", "include", "program", "hook"];
const PROCESS_KEYS: &[&str] = &["user", "group", "directory", "environment", "umask"];
const PROGRAM_KEYS: &[&str] = &[
    "name",
    "command",
    "autostart",
    "restart",
    "exit_codes",
    "start_secs",
    "start_retries",
    "backoff",
    "backoff_max",
    "stop_signal",
    "stop_timeout",
    "kill_group",
    "instances",
    "depends_on",
    "ready",
    "critical",
    "schedule",
    "stdout",
    "stderr",
    "log_max_bytes",
    "log_backups",
];
const HOOK_KEYS: &[&str] = &["name", "command", "stage", "timeout", "on_failure"];
const READY_KEYS: &[&str] = &["tcp", "unix", "file", "command", "notify"];

/// A program or hook plus where its cross-checked parts were written.
pub struct Located<T> {
    pub spec: T,
    pub name_span: Span,
    pub depends_on: Vec<Sp<String>>,
    pub user: Option<Sp<String>>,
    pub group: Option<Sp<String>>,
}

/// Everything one file contributed.
#[derive(Default)]
pub struct FileContent {
    /// Only the main file may carry `[rinit]`; `None` = defaults.
    pub global: Option<Global>,
    /// Program names named in `[rinit.signals]` arrays.
    pub signal_targets: Vec<Sp<String>>,
    pub includes: Vec<Sp<String>>,
    pub programs: Vec<Located<ProgramSpec>>,
    pub hooks: Vec<Located<HookSpec>>,
}

/// Reads a whole document. `main` = the file rinit was pointed at (the only
/// one allowed to hold `[rinit]` and `include`, so settings have one home
/// and includes cannot loop).
pub fn read_document(r: &mut Reader, top: &Table, main: bool) -> FileContent {
    let mut out = FileContent::default();
    r.check_keys(top, TOP_KEYS);
    for key in ["rinit", "include"] {
        if let (Some(e), false) = (top.get(key), main) {
            r.error(
                &e.key_span,
                format!("\"{key}\" is only allowed in the main config file"),
            );
        }
    }
    if main {
        if let Some((t, _)) = r.table(top, "rinit") {
            let (global, targets) = read_global(r, &t);
            out.global = Some(global);
            out.signal_targets = targets;
        }
        out.includes = r.str_list(top, "include").unwrap_or_default();
    }
    for (t, span) in r.tables(top, "program") {
        if let Some(p) = read_program(r, &t, &span) {
            out.programs.push(p);
        }
    }
    for (t, span) in r.tables(top, "hook") {
        if let Some(h) = read_hook(r, &t, &span) {
            out.hooks.push(h);
        }
    }
    out
}

pub fn path(r: &mut Reader, t: &Table, key: &str) -> Option<PathBuf> {
    let s = r.str(t, key)?;
    if s.value.is_empty() {
        r.error(&s.span, format!("\"{key}\" must not be empty"));
        return None;
    }
    Some(PathBuf::from(s.value))
}

/// Name rules: the names appear in logs, `name:N` instance names and `rinit
/// ctl` arguments, so no `:`, no spaces, and not the word `all`.
fn read_name(r: &mut Reader, t: &Table, table_span: &Span, what: &str) -> Option<Sp<String>> {
    let Some(name) = r.str(t, "name") else {
        if t.get("name").is_none() {
            r.error(table_span, format!("{what} is missing \"name\""));
        }
        return None;
    };
    let ok = !name.value.is_empty()
        && name.value != "all"
        && name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if !ok {
        let msg = format!(
            "invalid name \"{}\" (use letters, digits, \"-\", \"_\", \".\", \"@\"; not \"all\")",
            name.value
        );
        r.error(&name.span, msg);
        return None;
    }
    Some(name)
}

fn read_command(r: &mut Reader, t: &Table, table_span: &Span, what: &str) -> Option<CommandLine> {
    if t.get("command").is_none() {
        r.error(table_span, format!("{what} is missing \"command\""));
        return None;
    }
    r.command(t, "command").map(|c| c.value)
}

fn read_process(
    r: &mut Reader,
    t: &Table,
) -> (ProcessSpec, Option<Sp<String>>, Option<Sp<String>>) {
    let user = r.str(t, "user");
    let group = r.str(t, "group");
    let spec = ProcessSpec {
        user: user.as_ref().map(|u| u.value.clone()),
        group: group.as_ref().map(|g| g.value.clone()),
        directory: path(r, t, "directory"),
        environment: r.environment(t, "environment"),
        umask: r.umask(t, "umask"),
    };
    (spec, user, group)
}

fn read_output(r: &mut Reader, t: &Table, key: &str) -> Output {
    match r.str(t, key) {
        None => Output::Log,
        Some(s) => match s.value.as_str() {
            "log" => Output::Log,
            "inherit" => Output::Inherit,
            "null" => Output::Null,
            "" => {
                r.error(
                    &s.span,
                    format!("\"{key}\" must be \"log\", \"inherit\", \"null\" or a file path"),
                );
                Output::Log
            }
            p => Output::File(PathBuf::from(p)),
        },
    }
}

/// `log_backups` kept when `log_max_bytes` is set without it.
const DEFAULT_BACKUPS: u32 = 5;

/// `log_max_bytes` / `log_backups`. Both only make sense for file outputs
/// (rinit owns those files); saying so beats silently ignoring them.
fn read_rotation(
    r: &mut Reader,
    t: &Table,
    stdout: &Output,
    stderr: &Output,
) -> Option<LogRotation> {
    let max = r.size(t, "log_max_bytes");
    let backups = r.int_in(t, "log_backups", 0, 1000);
    let has_file = [stdout, stderr]
        .iter()
        .any(|o| matches!(o, Output::File(_)));
    for key in ["log_max_bytes", "log_backups"] {
        if let (Some(e), false) = (t.get(key), has_file) {
            r.error(
                &e.key_span,
                format!("\"{key}\" only applies to file outputs, and neither stdout nor stderr is a file path"),
            );
        }
    }
    if let (Some(e), None, true) = (t.get("log_backups"), t.get("log_max_bytes"), has_file) {
        r.error(
            &e.key_span,
            "\"log_backups\" needs \"log_max_bytes\" (the size at which files are rotated)",
        );
    }
    Some(LogRotation {
        max_bytes: max?.value,
        backups: backups.map_or(DEFAULT_BACKUPS, |n| n as u32),
    })
}

fn not_yet(r: &mut Reader, t: &Table, key: &str, what: &str) {
    if let Some(e) = t.get(key) {
        r.error(
            &e.key_span,
            format!("`{key}` is not supported yet ({what} arrive in a later release)"),
        );
    }
}

/// `[[program]]` defaults: autostart true, restart always, exit_codes [0],
/// start_secs 1s, start_retries 3, backoff 1s, backoff_max 30s, stop_signal
/// TERM, stop_timeout 5s, kill_group true, instances 1, critical false,
/// stdout/stderr log, no rotation, no user/group/directory/umask, empty
/// environment.
fn read_program(r: &mut Reader, t: &Table, span: &Span) -> Option<Located<ProgramSpec>> {
    r.check_keys(t, &[PROGRAM_KEYS, PROCESS_KEYS].concat());
    let name = read_name(r, t, span, "[[program]]");
    let command = read_command(r, t, span, "[[program]]");
    let (process, user, group) = read_process(r, t);
    let restarts = [
        ("always", RestartPolicy::Always),
        ("on-failure", RestartPolicy::OnFailure),
        ("never", RestartPolicy::Never),
    ];
    let exit_codes = r.array(t, "exit_codes").map(|items| {
        let mut codes = Vec::new();
        for v in items {
            let Some(c) = r.int_value("exit_codes", v) else {
                continue;
            };
            match u8::try_from(c.value) {
                Ok(code) => codes.push(code),
                Err(_) => r.error(
                    &c.span,
                    format!("exit code {} is out of range (0..=255)", c.value),
                ),
            }
        }
        codes
    });
    let instances = match r.int(t, "instances") {
        Some(n) if n.value < 1 => {
            r.error(&n.span, format!("\"instances\" must be at least 1, not {} (use autostart = false to keep a program stopped)", n.value));
            1
        }
        Some(n) => u32::try_from(n.value).unwrap_or_else(|_| {
            r.error(&n.span, "\"instances\" is too large");
            1
        }),
        None => 1,
    };
    let backoff = r.duration(t, "backoff").unwrap_or(Duration::from_secs(1));
    let backoff_max = r
        .duration(t, "backoff_max")
        .unwrap_or(Duration::from_secs(30).max(backoff));
    if let (Some(e), true) = (t.get("backoff_max"), backoff_max < backoff) {
        r.error(
            &e.value.span(),
            "\"backoff_max\" must not be shorter than \"backoff\"",
        );
    }
    if let Some((ready, _)) = r.table(t, "ready") {
        r.check_keys(&ready, READY_KEYS);
    }
    not_yet(r, t, "ready", "readiness probes");
    not_yet(r, t, "schedule", "scheduled jobs");
    let depends_on = r.str_list(t, "depends_on").unwrap_or_default();
    let stdout = read_output(r, t, "stdout");
    let stderr = read_output(r, t, "stderr");
    let log_rotation = read_rotation(r, t, &stdout, &stderr);
    // Every field is read (and checked) before giving up on a missing name
    // or command, so one run reports all problems.
    let spec = ProgramSpec {
        name: String::new(),
        command: CommandLine::Argv(Vec::new()),
        process,
        autostart: r.bool(t, "autostart").unwrap_or(true),
        restart: r
            .choice(t, "restart", &restarts)
            .unwrap_or(RestartPolicy::Always),
        exit_codes: exit_codes.unwrap_or_else(|| vec![0]),
        start_secs: r
            .duration(t, "start_secs")
            .unwrap_or(Duration::from_secs(1)),
        start_retries: r
            .int_in(t, "start_retries", 0, i64::from(u32::MAX))
            .map_or(3, |n| n as u32),
        backoff,
        backoff_max,
        stop_signal: r.signal(t, "stop_signal").unwrap_or(libc::SIGTERM),
        stop_timeout: r
            .duration(t, "stop_timeout")
            .unwrap_or(Duration::from_secs(5)),
        kill_group: r.bool(t, "kill_group").unwrap_or(true),
        instances,
        depends_on: depends_on.iter().map(|d| d.value.clone()).collect(),
        critical: r.bool(t, "critical").unwrap_or(false),
        stdout,
        stderr,
        log_rotation,
    };
    let (Some(name), Some(command)) = (name, command) else {
        return None;
    };
    let spec = ProgramSpec {
        name: name.value,
        command,
        ..spec
    };
    Some(Located {
        spec,
        name_span: name.span,
        depends_on,
        user,
        group,
    })
}

/// `[[hook]]` defaults: stage start, on_failure abort, no timeout.
fn read_hook(r: &mut Reader, t: &Table, span: &Span) -> Option<Located<HookSpec>> {
    r.check_keys(t, &[HOOK_KEYS, PROCESS_KEYS].concat());
    let name = read_name(r, t, span, "[[hook]]");
    let command = read_command(r, t, span, "[[hook]]");
    let (process, user, group) = read_process(r, t);
    let stages = [("start", HookStage::Start), ("stop", HookStage::Stop)];
    let failures = [
        ("abort", OnFailure::Abort),
        ("continue", OnFailure::Continue),
    ];
    let spec = HookSpec {
        name: String::new(),
        command: CommandLine::Argv(Vec::new()),
        process,
        stage: r.choice(t, "stage", &stages).unwrap_or(HookStage::Start),
        timeout: r.duration(t, "timeout"),
        on_failure: r
            .choice(t, "on_failure", &failures)
            .unwrap_or(OnFailure::Abort),
    };
    let (Some(name), Some(command)) = (name, command) else {
        return None;
    };
    let spec = HookSpec {
        name: name.value,
        command,
        ..spec
    };
    Some(Located {
        spec,
        name_span: name.span,
        depends_on: Vec::new(),
        user,
        group,
    })
}
