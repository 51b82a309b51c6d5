//! The tini-compatible command line: argv and environment passed verbatim,
//! stdio inherited, exec failures (127/126), usage errors, `-h`, `-l`,
//! `--version`, `-e`/`-p` validation and GNU vs POSIXLY_CORRECT parsing.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Parse dump_args.py's `{"argv": [hex…], "env": [hex…]}` (no JSON crate in
/// the dependencies; the format is fixed and only holds hex strings).
fn parse_dump(line: &str) -> (Vec<String>, Vec<String>) {
    let list = |key: &str| -> Vec<String> {
        let start = line.find(&format!("\"{key}\": [")).expect(line) + key.len() + 5;
        let end = start + line[start..].find(']').expect(line);
        let items = line[start..end].trim();
        if items.is_empty() {
            return Vec::new();
        }
        items
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_string())
            .collect()
    };
    (list("argv"), list("env"))
}

#[test]
fn argv_is_passed_verbatim() {
    let args = [
        "plain",
        "with space",
        "",
        "'single'",
        "\"double\"",
        "back\\slash",
        "ünïcødé ✓ 日本",
        "new\nline",
        "$HOME",
        "*",
        "-x",
        "--",
        "--version",
    ];
    let out = Rinit::cmd(&[], &py("dump_args.py", &args)).run();
    assert_eq!(out.code(), 0, "{out}");
    let (argv, _) = parse_dump(out.stdout_lines()[0]);
    let want: Vec<String> = args.iter().map(|a| hex(a)).collect();
    assert_eq!(argv, want, "{out}");
}

#[test]
fn environment_is_passed_verbatim() {
    let vars = [
        ("PLAIN", "value"),
        ("EMPTY", ""),
        ("SPACES", "a b  c"),
        ("EQUALS", "a=b=c"),
        ("UNICODE", "ünïcødé ✓"),
        ("NEWLINE", "one\ntwo"),
        ("QUOTES", "'\"`"),
        // Set, so Python does not coerce the C locale by adding LC_CTYPE.
        ("LC_ALL", "C.UTF-8"),
    ];
    let mut r = Rinit::cmd(&[], &py("dump_args.py", &[])).env_clear();
    for (k, v) in vars {
        r = r.env(k, v);
    }
    let out = r.run();
    assert_eq!(out.code(), 0, "{out}");
    let (_, env) = parse_dump(out.stdout_lines()[0]);
    let mut want: Vec<String> = vars.iter().map(|(k, v)| hex(&format!("{k}={v}"))).collect();
    want.sort();
    let mut env = env;
    env.sort();
    let decode = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|h| {
                let b: Vec<u8> = (0..h.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                    .collect();
                String::from_utf8_lossy(&b).into_owned()
            })
            .collect()
    };
    assert_eq!(
        decode(&env),
        decode(&want),
        "the child's environment must be exactly rinit's"
    );
}

#[test]
fn stdio_is_inherited() {
    let mut p = Rinit::cmd(
        &[],
        &[
            "sh",
            "-c",
            "read line; echo \"out:$line\"; echo \"err:$line\" >&2",
        ],
    )
    .piped_stdin()
    .spawn();
    p.write_stdin("hello there\n");
    p.close_stdin();
    let code = p.exit_code(WAIT);
    let out = p.output();
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.stdout, "out:hello there\n", "{out}");
    assert_eq!(out.stderr, "err:hello there\n", "{out}");
}

#[test]
fn missing_command_is_127_with_one_line() {
    for cmd in [
        "rinit-no-such-command",
        "/nonexistent/rinit-no-such-command",
    ] {
        let out = Rinit::cmd(&[], &[cmd]).run();
        assert_eq!(out.code(), 127, "{out}");
        let lines = out.stderr_lines();
        assert_eq!(lines.len(), 1, "want one stderr line\n{out}");
        assert!(lines[0].contains(cmd), "line should name {cmd}\n{out}");
        assert!(
            lines[0].contains("No such file or directory"),
            "line should give the reason\n{out}"
        );
    }
}

#[test]
fn not_executable_is_126() {
    let dir = TempDir::new("noexec");
    let file = dir.join("not-executable");
    std::fs::write(&file, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let path = file.to_str().unwrap();
    let out = Rinit::cmd(&[], &[path]).run();
    assert_eq!(out.code(), 126, "{out}");
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "want one stderr line\n{out}");
    assert!(lines[0].contains(path), "{out}");
    assert!(lines[0].contains("Permission denied"), "{out}");
}

#[test]
fn no_command_and_no_config_is_a_usage_error() {
    assert!(
        !std::path::Path::new("/etc/rinit.toml").exists()
            && !std::path::Path::new("/etc/rinit/rinit.toml").exists(),
        "this test needs a machine without /etc/rinit.toml"
    );
    let out = Rinit::new::<&str>(&[]).run();
    assert_eq!(out.code(), 2, "{out}");
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "want one stderr line\n{out}");
    assert!(lines[0].contains("/etc/rinit.toml"), "{out}");
    assert_eq!(out.stdout, "", "{out}");
}

#[test]
fn dash_h_prints_usage_on_stdout() {
    let out = Rinit::new(&["-h"]).run();
    assert_eq!(out.code(), 0, "{out}");
    assert!(contains_ci(&out.stdout, "usage"), "{out}");
    for flag in ["-s", "-p", "-v", "-w", "-g", "-e", "-l", "--version"] {
        assert!(out.stdout.contains(flag), "usage should list {flag}\n{out}");
    }
    assert_eq!(out.stderr, "", "{out}");
}

#[test]
fn dash_l_prints_the_licence() {
    let out = Rinit::new(&["-l"]).run();
    assert_eq!(out.code(), 0, "{out}");
    assert!(
        contains_ci(&out.stdout, "permission is hereby granted"),
        "MIT licence text expected\n{out}"
    );
}

#[test]
fn version_as_the_only_argument() {
    let out = Rinit::new(&["--version"]).run();
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains(env!("CARGO_PKG_VERSION")), "{out}");
    assert_eq!(out.stdout_lines().len(), 1, "{out}");
}

#[test]
fn bad_option_prints_usage_on_stderr_and_exits_1() {
    let out = Rinit::cmd(&["-Z"], &["true"]).run();
    assert_eq!(out.code(), 1, "{out}");
    assert!(contains_ci(&out.stderr, "usage"), "{out}");
    assert_eq!(out.stdout, "", "{out}");
}

#[test]
fn bad_dash_e_exits_1() {
    for bad in ["foo", "256", "-1", "1x", ""] {
        let out = Rinit::cmd(&["-e", bad], &["true"]).run();
        assert_eq!(out.code(), 1, "-e {bad:?}\n{out}");
        assert!(!out.stderr.is_empty(), "-e {bad:?}: say why\n{out}");
    }
}

#[test]
fn dash_p_accepts_signal_names_and_rejects_others() {
    let out = Rinit::cmd(&["-p", "SIGKILL"], &["sh", "-c", "exit 3"]).run();
    assert_eq!(out.code(), 3, "{out}");
    let out = Rinit::cmd(&["-p", "SIGNOPE"], &["true"]).run();
    assert_eq!(out.code(), 1, "{out}");
}

#[test]
fn verbosity_flags_are_accepted() {
    let out = Rinit::cmd(&["-v", "-v", "-v"], &["sh", "-c", "exit 6"]).run();
    assert_eq!(out.code(), 6, "{out}");
    let out = Rinit::cmd(&[], &["sh", "-c", "exit 6"])
        .env("TINI_VERBOSITY", "3")
        .run();
    assert_eq!(out.code(), 6, "{out}");
}

#[test]
fn gnu_permutation_takes_options_after_the_command() {
    // Without POSIXLY_CORRECT, getopt permutes: `-x` after the command is
    // rinit's (unknown) option, so the command never runs.
    let dump = py("dump_args.py", &[]);
    let mut args: Vec<&str> = dump.iter().map(String::as_str).collect();
    args.push("-x");
    let out = Rinit::new(&args).run();
    assert_eq!(out.code(), 1, "{out}");
    assert_eq!(out.stdout, "", "the command must not run\n{out}");
    // … and a known option after the command is applied: -e 1 remaps.
    let out = Rinit::new(&["false", "-e", "1"]).run();
    assert_eq!(out.code(), 0, "{out}");
}

#[test]
fn posixly_correct_stops_at_the_command() {
    let dump = py("dump_args.py", &[]);
    let mut args: Vec<&str> = dump.iter().map(String::as_str).collect();
    args.extend(["-x", "-e", "5"]);
    let out = Rinit::new(&args).env("POSIXLY_CORRECT", "1").run();
    assert_eq!(out.code(), 0, "{out}");
    let (argv, _) = parse_dump(out.stdout_lines()[0]);
    assert_eq!(argv, vec![hex("-x"), hex("-e"), hex("5")], "{out}");
}

#[test]
fn double_dash_protects_the_commands_options() {
    let out = Rinit::cmd(&[], &py("dump_args.py", &["-x", "-h"])).run();
    assert_eq!(out.code(), 0, "{out}");
    let (argv, _) = parse_dump(out.stdout_lines()[0]);
    assert_eq!(argv, vec![hex("-x"), hex("-h")], "{out}");
}

#[test]
fn binary_is_statically_linked() {
    let out = std::process::Command::new("file")
        .args(["-L", rinit()])
        .output()
        .expect("`file` is needed (apt-get install file)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("statically linked") || text.contains("static-pie"),
        "{text}"
    );
}

/// `SigBlk` and `SigIgn` of the child, as `grep` reads them from its own
/// /proc/self/status. Signals 32 and 33 are left out: glibc keeps them for
/// itself (rinit never touches them) and the test runner, started through
/// posix_spawn, may pass them on ignored.
fn child_signal_sets(out: &Output) -> Vec<String> {
    out.stdout_lines()
        .iter()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| *k == "SigBlk" || *k == "SigIgn")
        .map(|(k, v)| {
            let set = u64::from_str_radix(v.trim(), 16).unwrap() & !(0b11 << 31);
            format!("{k}: {set:016x}")
        })
        .collect()
}

#[test]
fn the_child_starts_with_no_signal_blocked_or_ignored() {
    // rinit started the way a shell starts a background job (INT and QUIT
    // ignored), with USR1 ignored as well: rinit handles all three, and
    // ignores TTIN/TTOU itself; the child gets every one back at default.
    let mut c = Rinit::cmd(&[], &["grep", "^Sig", "/proc/self/status"]).command();
    c.stdin(std::process::Stdio::null());
    // SAFETY: `signal` is async-signal-safe; SIG_IGN installs no code.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut c, || {
            for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGUSR1] {
                libc::signal(sig, libc::SIG_IGN);
            }
            Ok(())
        });
    }
    let mut p = Proc::spawn(c, Mode::Pid1);
    p.wait_exit(WAIT);
    let out = p.output();
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(
        child_signal_sets(&out),
        ["SigBlk: 0000000000000000", "SigIgn: 0000000000000000"],
        "{out}"
    );
}

#[test]
fn a_script_without_a_shebang_runs_through_sh_found_in_the_childs_path() {
    // execvp's rules: the PATH searched is the one the child gets, and a
    // file the kernel cannot exec (ENOEXEC) is run by /bin/sh.
    let dir = TempDir::new("noshebang");
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let script = bin.join("rinit-test-noshebang");
    std::fs::write(&script, "echo \"ran:$0:$*\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // An earlier PATH entry with a non-executable file of the same name is
    // skipped (EACCES is remembered only if nothing else is found).
    let first = dir.join("first");
    std::fs::create_dir(&first).unwrap();
    std::fs::write(first.join("rinit-test-noshebang"), "exit 9\n").unwrap();
    let path = format!("{}:{}:/usr/bin:/bin", first.display(), bin.display());
    let out = Rinit::cmd(&[], &["rinit-test-noshebang", "a", "b c"])
        .env("PATH", &path)
        .run();
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(
        out.stdout_lines(),
        [format!("ran:{}:a b c", script.display())],
        "{out}"
    );
    // Only a non-executable candidate: 126, Permission denied (EACCES wins
    // over the ENOENT of the later entries).
    let out = Rinit::cmd(&[], &["rinit-test-noshebang"])
        .env("PATH", &format!("{}:/usr/bin:/bin", first.display()))
        .run();
    assert_eq!(out.code(), 126, "{out}");
    assert!(out.stderr.contains("Permission denied"), "{out}");
}
