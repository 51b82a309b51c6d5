//! How a child of supervisor mode is started: its command line, user and
//! groups (from /etc/passwd and /etc/group, never NSS), directory,
//! environment and isolation. Builds `Command`s; spawns nothing.

use crate::config::{CommandLine, HookSpec, HookStage, OnFailure, ProcessSpec};
use crate::core::program::Instance;
use crate::os::spawn::{ChildSetup, Command, Identity, Isolation, Stdio};
use crate::os::users::UserDb;
use std::ffi::OsString;

/// A child ready to spawn. Its stdout/stderr are the caller's business.
pub struct Launch {
    pub cmd: Command,
    pub setup: ChildSetup,
    /// The spec's `environment`: applied last, over the env file's.
    environment: Vec<(String, String)>,
}

impl Launch {
    pub fn apply_environment(&mut self) {
        for (k, v) in &self.environment {
            self.cmd.env(k, v);
        }
    }
}

/// A program instance, in its own session.
pub fn program(inst: &Instance, users: &UserDb) -> Result<Launch, String> {
    let spec = inst.spec();
    let mut cmd = command(&spec.command)?;
    cmd.env("RINIT_PROGRAM", &spec.name);
    cmd.env("RINIT_INSTANCE", instance_number(inst.name()));
    supervised(cmd, &spec.process, users)
}

/// A hook, in its own session (a timeout kills its whole group).
pub fn hook(hook: &HookSpec, users: &UserDb) -> Result<Launch, String> {
    let mut cmd = command(&hook.command)?;
    cmd.env("RINIT_HOOK", &hook.name);
    supervised(cmd, &hook.process, users)
}

/// The main command: the container's own stdio and the terminal's
/// foreground, as in single-command mode (`docker run -it IMAGE bash`).
pub fn main_command(argv: &[OsString]) -> Result<Launch, String> {
    let Some((program, args)) = argv.split_first() else {
        return Err("empty command".into());
    };
    let mut cmd = Command::new(program);
    cmd.args(args);
    Ok(Launch {
        cmd,
        setup: ChildSetup::isolated(Isolation::ProcessGroup { foreground: true }),
        environment: Vec::new(),
    })
}

fn supervised(mut cmd: Command, p: &ProcessSpec, users: &UserDb) -> Result<Launch, String> {
    let identity = identity(p, users, &mut cmd)?;
    if let Some(dir) = &p.directory {
        if !dir.is_dir() {
            return Err(format!("directory {} does not exist", dir.display()));
        }
        cmd.current_dir(dir);
    }
    cmd.stdin(Stdio::null());
    Ok(Launch {
        cmd,
        setup: ChildSetup {
            isolation: Isolation::Session,
            identity,
            umask: p.umask,
        },
        environment: p.environment.clone(),
    })
}

/// An array runs as is (execvp); a string through `/bin/sh -c`.
fn command(line: &CommandLine) -> Result<Command, String> {
    let argv: Vec<String> = match line {
        CommandLine::Argv(v) => v.clone(),
        CommandLine::Shell(s) => vec!["/bin/sh".into(), "-c".into(), s.clone()],
    };
    let Some((program, args)) = argv.split_first() else {
        return Err("empty command".into());
    };
    let mut cmd = Command::new(program);
    cmd.args(args);
    Ok(cmd)
}

/// `user`/`group`, plus the HOME, USER and LOGNAME a login would give.
fn identity(
    p: &ProcessSpec,
    users: &UserDb,
    cmd: &mut Command,
) -> Result<Option<Identity>, String> {
    let gid_of = |g: &String| users.gid(g).ok_or_else(|| format!("unknown group {g:?}"));
    match (&p.user, &p.group) {
        (None, None) => Ok(None),
        (Some(u), group) => {
            let user = users.user(u).ok_or_else(|| format!("unknown user {u:?}"))?;
            let gid = match group {
                Some(g) => gid_of(g)?,
                None => user.gid,
            };
            cmd.env("HOME", &user.home)
                .env("USER", &user.name)
                .env("LOGNAME", &user.name);
            let groups = users.supplementary_gids(&user.name, gid);
            Ok(Some(Identity {
                uid: user.uid,
                gid,
                groups,
            }))
        }
        (None, Some(g)) => {
            let gid = gid_of(g)?;
            let uid = nix::unistd::getuid().as_raw();
            Ok(Some(Identity {
                uid,
                gid,
                groups: vec![gid],
            }))
        }
    }
}

/// The executables of `hooks_dir`, in lexical order, as start hooks with
/// the defaults of `[[hook]]` (no timeout, abort on failure). Files that are
/// not executable are skipped with a warning; a missing directory is empty.
pub fn hooks_in_dir(dir: &std::path::Path) -> Vec<HookSpec> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        log::info!("hooks_dir {} is absent: no hooks from it", dir.display());
        return Vec::new();
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    crate::core::sort::sort_by(&mut paths, |a, b| a.cmp(b));
    let mut hooks = Vec::new();
    for path in paths {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if meta.permissions().mode() & 0o111 == 0 {
            log::warn!("hooks_dir: skipping {}: not executable", path.display());
            continue;
        }
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        hooks.push(HookSpec {
            name,
            command: CommandLine::Argv(vec![path.to_string_lossy().into_owned()]),
            process: ProcessSpec::default(),
            stage: HookStage::Start,
            timeout: None,
            on_failure: OnFailure::Abort,
        });
    }
    hooks
}

/// `queue-worker:1` → "1"; a single instance is number 0.
fn instance_number(name: &str) -> &str {
    name.rsplit_once(':').map_or("0", |(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_numbers() {
        assert_eq!(instance_number("queue-worker:3"), "3");
        assert_eq!(instance_number("nginx"), "0");
    }
}
