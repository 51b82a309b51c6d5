//! Supervisor mode (SPEC §3): a bad config never starts half a container,
//! its errors name file:line:col; `rinit check` lists what would run.

mod common;
#[path = "helpers/supervise_lib.rs"]
mod sup;

use common::*;
use std::path::Path;
use std::process::Command;
use sup::*;

/// 1-based line and column of the first occurrence of `token` in `text`.
fn position(text: &str, token: &str) -> (usize, usize) {
    let at = text
        .find(token)
        .unwrap_or_else(|| panic!("{token:?} not in config"));
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |n| n + 1) + 1;
    (line, col)
}

/// A config whose first program would create DIR/marker, followed by `bad`.
fn with_marker(dir: &TempDir, bad: &str) -> String {
    format!(
        "[[program]]\nname = \"marker\"\ncommand = {}\n\n{bad}",
        q(&format!("touch '{}'", dir.join("marker").display()))
    )
}

/// Run the config as PID 1; it must exit non-zero at once, start nothing
/// and report `message` at the position of `token` (None: line only).
fn rejected(bad: &str, token: &str, col: bool, message: &str) {
    let dir = TempDir::new("sup-badcfg");
    let text = with_marker(&dir, bad);
    let cfg = write_config(&dir, &text);
    let mut p = supervise(&cfg);
    let code = p.exit_code(WAIT);
    let out = p.output();
    assert_ne!(code, 0, "{out}");
    let (line, column) = position(&text, token);
    let at = if col {
        format!("{}:{line}:{column}: ", cfg.display())
    } else {
        format!("{}:{line}:", cfg.display())
    };
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains(&at) && l.contains(message)),
        "want {at}…{message}\nconfig:\n{text}\n{out}"
    );
    assert!(
        !dir.join("marker").exists(),
        "a program started from a bad config\n{out}"
    );
    assert!(
        !out.stderr.contains("-> starting"),
        "a program started from a bad config\n{out}"
    );
}

#[test]
fn unknown_key_is_rejected_with_a_suggestion() {
    rejected(
        "[[program]]\nname = \"p\"\ncomand = \"true\"\n",
        "comand",
        true,
        "unknown key \"comand\" (did you mean \"command\"?)",
    );
}

#[test]
fn unknown_global_key_is_rejected() {
    rejected(
        "[rinit]\nshutdown_timout = \"1s\"\n",
        "shutdown_timout",
        true,
        "did you mean \"shutdown_timeout\"",
    );
}

#[test]
fn bad_duration_is_rejected() {
    rejected(
        "[[program]]\nname = \"p\"\ncommand = \"true\"\nstart_secs = \"1x\"\n",
        "\"1x\"",
        true,
        "invalid duration \"1x\"",
    );
}

#[test]
fn bad_signal_is_rejected() {
    rejected(
        "[[program]]\nname = \"p\"\ncommand = \"true\"\nstop_signal = \"TERMINATE\"\n",
        "\"TERMINATE\"",
        true,
        "unknown signal \"TERMINATE\"",
    );
}

#[test]
fn bad_restart_policy_is_rejected() {
    rejected(
        "[[program]]\nname = \"p\"\ncommand = \"true\"\nrestart = \"sometimes\"\n",
        "\"sometimes\"",
        true,
        "invalid restart \"sometimes\"",
    );
}

#[test]
fn unknown_dependency_is_rejected() {
    rejected(
        "[[program]]\nname = \"p\"\ncommand = \"true\"\ndepends_on = [\"nope\"]\n",
        "\"nope\"",
        true,
        "unknown program \"nope\"",
    );
}

#[test]
fn dependency_cycle_is_rejected() {
    rejected(
        "[[program]]\nname = \"a\"\ncommand = \"true\"\ndepends_on = [\"b\"]\n\n\
         [[program]]\nname = \"b\"\ncommand = \"true\"\ndepends_on = [\"a\"]\n",
        "depends_on",
        false,
        "dependency cycle",
    );
}

#[test]
fn duplicate_program_name_is_rejected() {
    rejected(
        "[[program]]\nname = \"marker\"\ncommand = \"true\"\n",
        "\"marker\"\ncommand = \"true\"",
        true,
        "program \"marker\" is defined twice",
    );
}

#[test]
fn unknown_user_is_rejected() {
    rejected(
        "[[program]]\nname = \"p\"\ncommand = \"true\"\nuser = \"no-such-user-xyz\"\n",
        "\"no-such-user-xyz\"",
        true,
        "unknown user \"no-such-user-xyz\"",
    );
}

#[test]
fn toml_syntax_error_is_rejected() {
    rejected(
        "[[program]]\nname = \"p\"\ncommand = \"true\n",
        "command = \"true\n",
        false,
        "TOML syntax error",
    );
}

fn check(cfg: &Path) -> std::process::Output {
    Command::new(rinit())
        .args(["check", "-c"])
        .arg(cfg)
        .env_remove("RINIT_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn check_lists_expanded_instances_in_dependency_order() {
    let dir = TempDir::new("sup-check");
    let marker = dir.join("ran");
    let touch = q(&format!("touch '{}'", marker.display()));
    let cfg = write_config(
        &dir,
        &format!(
            r#"
[[program]]
name = "w"
command = {touch}
instances = 2
depends_on = ["db"]

[[program]]
name = "front"
command = {touch}
depends_on = ["w"]

[[program]]
name = "db"
command = {touch}
"#
        ),
    );
    let out = check(&cfg);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let names: Vec<&str> = stdout
        .split_once("programs (start order):\n")
        .unwrap_or_else(|| panic!("no program list:\n{stdout}"))
        .1
        .lines()
        .take_while(|l| l.starts_with(' '))
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(str::trim)
        .collect();
    assert_eq!(names, ["db", "w:0", "w:1", "front"], "{stdout}");
    assert!(stdout.contains("depends_on: db"), "{stdout}");
    assert!(!marker.exists(), "check must not run anything");
}

#[test]
fn check_lists_every_error_and_exits_1() {
    let dir = TempDir::new("sup-check-bad");
    let text = "[[program]]\nname = \"p\"\ncomand = \"true\"\n\n\
                [[program]]\nname = \"q\"\ncommand = \"true\"\nstart_secs = \"1x\"\n\
                stop_signal = \"NOPE\"\n";
    let cfg = write_config(&dir, text);
    let out = check(&cfg);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    for (token, message) in [
        ("comand", "unknown key \"comand\""),
        ("\"1x\"", "invalid duration"),
        ("\"NOPE\"", "unknown signal"),
    ] {
        let (line, col) = position(text, token);
        let at = format!("{}:{line}:{col}: ", cfg.display());
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&at) && l.contains(message)),
            "want {at}{message}\n{stdout}{stderr}"
        );
    }
    assert!(!stdout.contains("programs (start order)"), "{stdout}");
}
