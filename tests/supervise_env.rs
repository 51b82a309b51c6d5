//! Supervisor mode (SPEC §3), what a program's process looks like, with
//! rinit as PID 1 of a PID namespace: user and groups, HOME/USER/LOGNAME,
//! directory, environment, umask, RINIT_PROGRAM/RINIT_INSTANCE, no leaked
//! file descriptors, and where stdout/stderr go.

mod common;
#[path = "helpers/supervise_lib.rs"]
mod sup;

use common::*;
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use sup::*;

/// Run a config with `exit_when = "all-done"` to completion.
fn run_all_done(dir: &TempDir, programs: &str, envs: &[(&str, &str)]) -> Output {
    let cfg = write_config(
        dir,
        &format!("[rinit]\nexit_when = \"all-done\"\n\n{programs}"),
    );
    let mut p = supervise_with(&cfg, envs);
    p.wait_exit(WAIT);
    p.output()
}

/// uid, primary gid, home and every gid of `user` from /etc/passwd and
/// /etc/group (what rinit must resolve without NSS).
fn passwd_entry(user: &str) -> Option<(u32, u32, String, BTreeSet<u32>)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let f: Vec<&str> = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 7 && f[0] == user)?;
    let (uid, gid, home) = (f[2].parse().ok()?, f[3].parse().ok()?, f[5].to_string());
    let mut gids = BTreeSet::from([gid]);
    for l in std::fs::read_to_string("/etc/group")
        .unwrap_or_default()
        .lines()
    {
        let g: Vec<&str> = l.split(':').collect();
        if g.len() >= 4 && g[3].split(',').any(|m| m == user) {
            gids.insert(g[2].parse().ok()?);
        }
    }
    Some((uid, gid, home, gids))
}

#[test]
fn user_nobody_runs_with_its_uid_groups_and_login_environment() {
    let Some((uid, gid, home, gids)) = passwd_entry("nobody") else {
        eprintln!("skipped: no user nobody in /etc/passwd");
        return;
    };
    assert_eq!(uid, 65534);
    let dir = TempDir::new("sup-user");
    let out = run_all_done(
        &dir,
        r#"
[[program]]
name = "who"
command = 'echo "uid=$(id -u) ruid=$(id -ru) gid=$(id -g) groups=$(id -G)"; echo "home=$HOME user=$USER logname=$LOGNAME"'
user = "nobody"
restart = "never"
"#,
        &[("HOME", "/root"), ("USER", "root"), ("LOGNAME", "root")],
    );
    assert_eq!(out.code(), 0, "{out}");
    let lines = program_lines(&out.stdout, "who");
    assert_eq!(lines.len(), 2, "{out}");
    let ids: Vec<(&str, &str)> = lines[0]
        .split(' ')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    assert_eq!(ids[0], ("uid", &*uid.to_string()), "{out}");
    assert_eq!(ids[1], ("ruid", &*uid.to_string()), "{out}");
    assert_eq!(ids[2], ("gid", &*gid.to_string()), "{out}");
    let got: BTreeSet<u32> = lines[0]
        .split_once("groups=")
        .unwrap()
        .1
        .split_whitespace()
        .map(|g| g.parse().unwrap())
        .collect();
    assert_eq!(got, gids, "no root group may survive the switch\n{out}");
    assert_eq!(
        lines[1],
        format!("home={home} user=nobody logname=nobody"),
        "{out}"
    );
}

#[test]
fn directory_environment_umask_and_instance_variables_are_applied() {
    let dir = TempDir::new("sup-env");
    let work = dir.join("work");
    std::fs::create_dir(&work).unwrap();
    let out = run_all_done(
        &dir,
        &format!(
            r#"
[[program]]
name = "env"
command = 'pwd; umask; touch made.$RINIT_INSTANCE; echo "i=$RINIT_INSTANCE foo=$FOO bar=$BAR program=$RINIT_PROGRAM inherited=$RINIT_TEST_INHERITED"'
directory = {}
environment = {{ FOO = "a b", BAR = "${{RINIT_TEST_UNSET:-fallback}}" }}
umask = "027"
instances = 2
restart = "never"
"#,
            qp(&work)
        ),
        &[("RINIT_TEST_INHERITED", "yes")],
    );
    assert_eq!(out.code(), 0, "{out}");
    for i in 0..2 {
        let lines = program_lines(&out.stdout, &format!("env:{i}"));
        assert_eq!(
            lines,
            [
                work.to_string_lossy().into_owned(),
                "0027".to_string(),
                format!("i={i} foo=a b bar=fallback program=env inherited=yes"),
            ],
            "{out}"
        );
        let mode = std::fs::metadata(work.join(format!("made.{i}")))
            .unwrap_or_else(|e| panic!("made.{i}: {e}\n{out}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640, "umask 027 on a new file\n{out}");
    }
}

/// `rinit -vv -c CFG` as PID 1 started with nothing but fds 0, 1 and 2
/// (whatever the test runner left open is marked close-on-exec), plus fd 9
/// (a dup of stdin, /dev/null) when `extra_fd`.
fn supervise_clean_fds(cfg: &std::path::Path, extra_fd: bool) -> Proc {
    use std::os::unix::process::CommandExt;
    let c = cfg.to_string_lossy();
    let mut cmd = Rinit::new(&["-vv", "-c", &*c]).command();
    cmd.stdin(std::process::Stdio::null());
    // SAFETY: only async-signal-safe syscalls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
            if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if extra_fd && libc::dup2(0, 9) != 9 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Proc::spawn(cmd, Mode::Pid1)
}

const FDS_CONFIG: &str = r#"
[[program]]
name = "a"
command = "exec sleep 1000"
start_secs = "100ms"

[[program]]
name = "b"
command = "echo b; exec sleep 1000"
start_secs = "100ms"
stderr = "inherit"

[[program]]
name = "fds"
command = ["ls", "/proc/self/fd"]
restart = "never"
depends_on = ["a", "b"]

[[program]]
name = "fds-nobody"
command = ["ls", "/proc/self/fd"]
restart = "never"
user = "nobody"
depends_on = ["a", "b"]
"#;

/// Run FDS_CONFIG; the fds `fds` and `fds-nobody` saw, and how many rinit had.
fn program_fds(extra_fd: bool) -> (Output, Vec<Vec<String>>, usize) {
    let dir = TempDir::new("sup-fds");
    // fds starts once a and b are running: rinit then holds their output
    // pipes, its signal and event fds, the log sinks' fds.
    let cfg = write_config(&dir, FDS_CONFIG);
    let mut p = supervise_clean_fds(&cfg, extra_fd);
    expect_msgs_all(
        &mut p,
        WAIT,
        &["fds: starting -> exited", "fds-nobody: starting -> exited"],
    );
    let rinit = p.rinit_pid();
    let own = std::fs::read_dir(format!("/proc/{rinit}/fd"))
        .unwrap()
        .count();
    let (code, _) = stop_with(&mut p, libc::SIGTERM, WAIT);
    let out = p.output();
    assert_eq!(code, 0, "{out}");
    let fds = ["fds", "fds-nobody"]
        .iter()
        .map(|n| program_lines(&out.stdout, n))
        .collect();
    (out, fds, own)
}

#[test]
fn no_file_descriptor_of_rinit_leaks_into_programs() {
    let (out, fds, own) = program_fds(false);
    assert!(own > 6, "rinit has only {own} fds: the test proves nothing");
    for fds in fds {
        // 3 is the directory ls itself opened to list /proc/self/fd.
        assert_eq!(fds, ["0", "1", "2", "3"], "{out}");
    }
}

/// `unshare --pid --fork --mount-proc rinit -c cfg.toml 9</dev/null` with a
/// program `command = ["ls", "/proc/self/fd"]` must not list 9.
#[test]
fn no_file_descriptor_rinit_inherited_leaks_into_programs() {
    let (out, fds, _) = program_fds(true);
    for fds in fds {
        assert_eq!(fds, ["0", "1", "2", "3"], "{out}");
    }
}

#[test]
fn stdout_and_stderr_go_to_log_inherit_null_or_a_file() {
    let dir = TempDir::new("sup-outputs");
    let file = dir.join("out.log");
    let out = run_all_done(
        &dir,
        &format!(
            r#"
[[program]]
name = "logged"
command = "echo to-out; echo to-err >&2"
restart = "never"

[[program]]
name = "inherited"
command = "echo raw-out; echo raw-err >&2"
restart = "never"
stdout = "inherit"
stderr = "inherit"

[[program]]
name = "silenced"
command = "echo silent-out; echo silent-err >&2"
restart = "never"
stdout = "null"
stderr = "null"

[[program]]
name = "filed"
command = "echo file-out; echo file-err >&2"
restart = "never"
stdout = {f}
stderr = {f}
"#,
            f = qp(&file)
        ),
        &[],
    );
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(program_lines(&out.stdout, "logged"), ["to-out"], "{out}");
    assert_eq!(program_lines(&out.stderr, "logged"), ["to-err"], "{out}");
    assert!(out.stdout_lines().contains(&"raw-out"), "{out}");
    assert!(out.stderr_lines().contains(&"raw-err"), "{out}");
    assert!(
        !out.stdout.contains("silent") && !out.stderr.contains("silent"),
        "{out}"
    );
    assert!(
        !out.stdout.contains("file-") && !out.stderr.contains("file-"),
        "{out}"
    );
    let mut got = read_lines(&file);
    got.sort();
    assert_eq!(got, ["file-err", "file-out"], "{out}");
}

#[test]
fn programs_start_with_no_signal_blocked_or_ignored() {
    // rinit handles nearly every signal and ignores TTIN/TTOU; none of that
    // may reach a program (nor a hook), whatever the spawn path.
    let dir = TempDir::new("sup-sigs");
    let out = run_all_done(
        &dir,
        r#"
[[hook]]
name = "pre"
command = ["grep", "^Sig[BI]", "/proc/self/status"]

[[program]]
name = "sigs"
command = ["grep", "^Sig[BI]", "/proc/self/status"]
restart = "never"
"#,
        &[],
    );
    assert_eq!(out.code(), 0, "{out}");
    for name in ["pre", "sigs"] {
        // Signals 32 and 33 are glibc's own (rinit never touches them) and
        // the test runner, started through posix_spawn, may pass them on
        // ignored: left out.
        let sets: Vec<String> = program_lines(&out.stdout, name)
            .iter()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| {
                let set = u64::from_str_radix(v.trim(), 16).unwrap() & !(0b11 << 31);
                format!("{k}: {set:016x}")
            })
            .collect();
        assert_eq!(
            sets,
            ["SigBlk: 0000000000000000", "SigIgn: 0000000000000000"],
            "{name}\n{out}"
        );
    }
}

#[test]
fn the_command_is_searched_in_the_programs_own_path_and_scripts_need_no_shebang() {
    let dir = TempDir::new("sup-path");
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let script = bin.join("rinit-test-tool");
    std::fs::write(&script, "echo \"tool:$0:$1:$RINIT_PROGRAM\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run_all_done(
        &dir,
        &format!(
            r#"
[[program]]
name = "tool"
command = ["rinit-test-tool", "x y"]
environment = {{ PATH = "{}:/usr/bin:/bin" }}
restart = "never"
"#,
            bin.display()
        ),
        &[],
    );
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(
        program_lines(&out.stdout, "tool"),
        [format!("tool:{}:x y:tool", script.display())],
        "{out}"
    );
}
