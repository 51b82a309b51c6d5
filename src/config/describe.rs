//! The human-readable summary `rinit check` prints: programs with instances
//! expanded, in start order, then hooks in run order. Stable text, no I/O.

use std::fmt::Write;

use super::model::*;
use super::order::start_order;
use super::values::signal_name;

fn command(c: &CommandLine) -> String {
    match c {
        CommandLine::Argv(argv) => argv
            .iter()
            .map(|a| {
                if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"\\$`".contains(c))
                {
                    format!("'{}'", a.replace('\'', "'\\''"))
                } else {
                    a.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        CommandLine::Shell(s) => format!("sh -c {s:?}"),
    }
}

fn restart(r: RestartPolicy) -> &'static str {
    match r {
        RestartPolicy::Always => "always",
        RestartPolicy::OnFailure => "on-failure",
        RestartPolicy::Never => "never",
    }
}

fn process(out: &mut String, p: &ProcessSpec) {
    let user = match (&p.user, &p.group) {
        (None, None) => "(rinit's)".to_string(),
        (Some(u), None) => u.clone(),
        (None, Some(g)) => format!(":{g}"),
        (Some(u), Some(g)) => format!("{u}:{g}"),
    };
    let _ = writeln!(out, "    user:       {user}");
    if let Some(d) = &p.directory {
        let _ = writeln!(out, "    directory:  {}", d.display());
    }
}

fn output(o: &Output) -> String {
    match o {
        Output::Log => "log".into(),
        Output::Inherit => "inherit".into(),
        Output::Null => "null".into(),
        Output::File(path) => path.display().to_string(),
    }
}

/// The size rotation of a program's file outputs (the config only allows
/// it with at least one).
fn rotation(p: &ProgramSpec) -> String {
    p.log_rotation.map_or(String::new(), |r| {
        format!(
            " (files rotated at {} bytes, {} backups)",
            r.max_bytes, r.backups
        )
    })
}

/// Text for `rinit check`: one block per program instance (`name:N` when
/// `instances > 1`), in dependency start order, then the hooks.
pub fn describe(cfg: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "config: {}", cfg.path.display());
    let _ = writeln!(out, "programs (start order):");
    if cfg.programs.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for p in start_order(&cfg.programs) {
        let names: Vec<String> = if p.instances > 1 {
            (0..p.instances)
                .map(|i| format!("{}:{i}", p.name))
                .collect()
        } else {
            vec![p.name.clone()]
        };
        for name in names {
            let mut flags = Vec::new();
            if !p.autostart {
                flags.push("autostart off");
            }
            if p.critical {
                flags.push("critical");
            }
            let flags = if flags.is_empty() {
                String::new()
            } else {
                format!(" ({})", flags.join(", "))
            };
            let _ = writeln!(out, "  {name}{flags}");
            let _ = writeln!(out, "    command:    {}", command(&p.command));
            let _ = writeln!(
                out,
                "    restart:    {} (exit codes {:?}, {} retries, backoff {:?}..{:?})",
                restart(p.restart),
                p.exit_codes,
                p.start_retries,
                p.backoff,
                p.backoff_max
            );
            let _ = writeln!(
                out,
                "    stop:       {} then SIGKILL after {:?}{}",
                signal_name(p.stop_signal),
                p.stop_timeout,
                if p.kill_group { " (process group)" } else { "" }
            );
            process(&mut out, &p.process);
            let _ = writeln!(
                out,
                "    output:     stdout {}, stderr {}{}",
                output(&p.stdout),
                output(&p.stderr),
                rotation(p)
            );
            if !p.depends_on.is_empty() {
                let _ = writeln!(out, "    depends_on: {}", p.depends_on.join(", "));
            }
        }
    }
    let _ = writeln!(out, "hooks (run order):");
    if cfg.hooks.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for h in &cfg.hooks {
        let stage = match h.stage {
            HookStage::Start => "start",
            HookStage::Stop => "stop",
        };
        let on_failure = match h.on_failure {
            OnFailure::Abort => "abort",
            OnFailure::Continue => "continue",
        };
        let timeout = h.timeout.map_or("none".to_string(), |t| format!("{t:?}"));
        let _ = writeln!(
            out,
            "  {} ({stage}, on failure {on_failure}, timeout {timeout})",
            h.name
        );
        let _ = writeln!(out, "    command:    {}", command(&h.command));
        process(&mut out, &h.process);
    }
    out
}
