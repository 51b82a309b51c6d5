//! Every class of config error names its file, line and column, and the
//! loader reports all of them at once (SPEC §3).

mod config_common;

use config_common::{Dir, load, one_error};

#[test]
fn toml_syntax_error() {
    let d = Dir::new();
    let p = d.write("rinit.toml", "[[program]]\nname = \"web\ncommand = \"x\"\n");
    let errs = load(&p).unwrap_err();
    assert_eq!(errs.len(), 1);
    let e = errs[0].to_string();
    assert!(
        e.starts_with(&format!("{}:2:", p.display())) && e.contains("TOML syntax error"),
        "{e}"
    );
}

#[test]
fn unknown_key_suggests_nearest() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"web\"\ncommand = \"x\"\nrestrat = \"always\"\n",
    );
    assert_eq!(
        one_error(&p),
        format!(
            "{}:4:1: unknown key \"restrat\" (did you mean \"restart\"?)",
            p.display()
        )
    );
    assert_eq!(
        load(&p).unwrap_err()[0].error_line(),
        format!(
            "rinit: error: {}:4:1: unknown key \"restrat\" (did you mean \"restart\"?)",
            p.display()
        )
    );
}

#[test]
fn unknown_keys_in_every_table_all_reported() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "progam = 1\n\
         [rinit]\nlog_fromat = \"raw\"\n\
         [rinit.signals]\nHUP = \"reload\"\n\
         [[hook]]\nname = \"h\"\ncommand = \"x\"\nstgae = \"start\"\n\
         [[program]]\nname = \"web\"\ncommand = \"x\"\nready = { tpc = \"127.0.0.1:80\" }\n\
         totally_unrelated = 1\n",
    );
    let errs: Vec<String> = load(&p)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let f = p.display();
    assert_eq!(
        errs,
        [
            format!("{f}:1:1: unknown key \"progam\" (did you mean \"program\"?)"),
            format!("{f}:3:1: unknown key \"log_fromat\" (did you mean \"log_format\"?)"),
            format!("{f}:9:1: unknown key \"stgae\" (did you mean \"stage\"?)"),
            format!(
                "{f}:13:1: `ready` is not supported yet (readiness probes arrive in a later release)"
            ),
            format!("{f}:13:11: unknown key \"tpc\" (did you mean \"tcp\"?)"),
            format!("{f}:14:1: unknown key \"totally_unrelated\""),
        ]
    );
}

#[test]
fn wrong_types() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[rinit]\nlog_timestamps = \"yes\"\n[[program]]\nname = \"web\"\ncommand = 42\ninstances = \"2\"\n",
    );
    let errs: Vec<String> = load(&p)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let f = p.display();
    assert_eq!(
        errs,
        [
            format!("{f}:2:18: \"log_timestamps\" must be true or false, not \"yes\""),
            format!(
                "{f}:5:11: \"command\" must be an array of strings or a string, not an integer"
            ),
            format!("{f}:6:13: \"instances\" must be an integer, not a string"),
        ]
    );
}

#[test]
fn unknown_user_and_group() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[hook]]\nname = \"m\"\ncommand = \"x\"\nuser = \"www-dta\"\ngroup = \"nogroup\"\n\
         [[program]]\nname = \"web\"\ncommand = \"x\"\nuser = \"www-data\"\ngroup = \"1234\"\n",
    );
    let errs: Vec<String> = load(&p)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let f = p.display();
    assert_eq!(
        errs,
        [
            format!("{f}:4:8: unknown user \"www-dta\" (not in /etc/passwd)"),
            format!("{f}:5:9: unknown group \"nogroup\" (not in /etc/group)"),
        ]
    );
}

#[test]
fn duplicate_names() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"web\"\ncommand = \"x\"\n[[program]]\nname = \"web\"\ncommand = \"y\"\n\
         [[hook]]\nname = \"h\"\ncommand = \"x\"\n[[hook]]\nname = \"h\"\ncommand = \"x\"\n",
    );
    let errs: Vec<String> = load(&p)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let f = p.display();
    assert_eq!(
        errs,
        [
            format!("{f}:5:8: program \"web\" is defined twice (first at {f}:2:8)"),
            format!("{f}:11:8: hook \"h\" is defined twice (first at {f}:8:8)"),
        ]
    );
}

#[test]
fn unknown_dependency_and_signal_target() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[rinit.signals]\nUSR2 = [\"php-fmp\"]\n\
         [[program]]\nname = \"php-fpm\"\ncommand = \"x\"\ndepends_on = [\"db-proxy\"]\n",
    );
    let errs: Vec<String> = load(&p)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let f = p.display();
    assert_eq!(
        errs,
        [
            format!(
                "{f}:2:9: signal route names unknown program \"php-fmp\" (did you mean \"php-fpm\"?)"
            ),
            format!("{f}:6:15: depends_on names unknown program \"db-proxy\""),
        ]
    );
}

#[test]
fn dependency_cycle_is_printed() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"a\"\ncommand = \"x\"\ndepends_on = [\"b\"]\n\
         [[program]]\nname = \"b\"\ncommand = \"x\"\ndepends_on = [\"c\"]\n\
         [[program]]\nname = \"c\"\ncommand = \"x\"\ndepends_on = [\"a\"]\n\
         [[program]]\nname = \"d\"\ncommand = \"x\"\ndepends_on = [\"d\"]\n",
    );
    let errs: Vec<String> = load(&p)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let f = p.display();
    assert_eq!(
        errs,
        [
            format!("{f}:4:15: dependency cycle: a -> b -> c -> a"),
            format!("{f}:16:15: dependency cycle: d -> d"),
        ]
    );
}

#[test]
fn empty_commands_and_missing_keys() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"a\"\ncommand = []\n\
         [[program]]\nname = \"b\"\ncommand = \"  \"\n\
         [[hook]]\nname = \"h\"\n",
    );
    let errs: Vec<String> = load(&p)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let f = p.display();
    assert_eq!(errs[0], format!("{f}:3:11: \"command\" must not be empty"));
    assert_eq!(errs[1], format!("{f}:6:11: \"command\" must not be empty"));
    assert!(
        errs[2].ends_with("[[hook]] is missing \"command\""),
        "{}",
        errs[2]
    );
    assert_eq!(errs.len(), 3);
}

#[test]
fn instances_zero() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"q\"\ncommand = \"x\"\ninstances = 0\n",
    );
    assert_eq!(
        one_error(&p),
        format!(
            "{}:4:13: \"instances\" must be at least 1, not 0 (use autostart = false to keep a program stopped)",
            p.display()
        )
    );
}

#[test]
fn values_outside_their_sets() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[rinit]\nlog_format = \"xml\"\nexit_when = \"never\"\n\
         [[program]]\nname = \"q\"\ncommand = \"x\"\nrestart = \"sometimes\"\nstdout = \"\"\n\
         [[hook]]\nname = \"h\"\ncommand = \"x\"\nstage = \"middle\"\non_failure = \"retry\"\n",
    );
    let errs: Vec<String> = load(&p)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let f = p.display();
    assert_eq!(
        errs,
        [
            format!(
                "{f}:2:14: invalid log_format \"xml\" (expected one of \"prefix\", \"raw\", \"json\")"
            ),
            format!(
                "{f}:3:13: invalid exit_when \"never\" (expected one of \"requested\", \"all-done\")"
            ),
            format!(
                "{f}:7:11: invalid restart \"sometimes\" (expected one of \"always\", \"on-failure\", \"never\")"
            ),
            format!("{f}:8:10: \"stdout\" must be \"log\", \"inherit\", \"null\" or a file path"),
            format!("{f}:12:9: invalid stage \"middle\" (expected one of \"start\", \"stop\")"),
            format!(
                "{f}:13:14: invalid on_failure \"retry\" (expected one of \"abort\", \"continue\")"
            ),
        ]
    );
}

#[test]
fn ready_and_schedule_are_rejected_for_now() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"q\"\ncommand = \"x\"\n  ready = { tcp = \"127.0.0.1:9000\" }\nschedule = \"* * * * *\"\n",
    );
    let errs: Vec<String> = load(&p)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let f = p.display();
    assert_eq!(
        errs,
        [
            format!(
                "{f}:4:3: `ready` is not supported yet (readiness probes arrive in a later release)"
            ),
            format!(
                "{f}:5:1: `schedule` is not supported yet (scheduled jobs arrive in a later release)"
            ),
        ]
    );
}

#[test]
fn bad_exit_codes_and_names() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"all\"\ncommand = \"x\"\n[[program]]\nname = \"q\"\ncommand = \"x\"\nexit_codes = [0, 256]\n",
    );
    let errs: Vec<String> = load(&p)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let f = p.display();
    assert_eq!(
        errs,
        [
            format!(
                "{f}:2:8: invalid name \"all\" (use letters, digits, \"-\", \"_\", \".\", \"@\"; not \"all\")"
            ),
            format!("{f}:7:18: exit code 256 is out of range (0..=255)"),
        ]
    );
}

#[test]
fn missing_file_is_reported() {
    let d = Dir::new();
    let p = d.path().join("absent.toml");
    let e = one_error(&p);
    assert!(
        e.starts_with(&format!("{}: cannot read config file:", p.display())),
        "{e}"
    );
}

#[test]
fn single_bracket_program_table() {
    let d = Dir::new();
    let p = d.write("rinit.toml", "[program]\nname = \"web\"\ncommand = \"x\"\n");
    assert_eq!(
        one_error(&p),
        format!(
            "{}:1:2: \"program\" must be an array of tables: write [[program]], with double brackets",
            p.display()
        )
    );
}
