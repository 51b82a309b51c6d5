//! Value languages in the config (durations, signals, umasks): the accepted
//! spellings, and errors naming file, line and column.

mod config_common;

use config_common::{Dir, load, one_error};

#[test]
fn bad_durations() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[rinit]\nshutdown_timeout = \"8 seconds\"\n[[program]]\nname = \"web\"\ncommand = \"x\"\nstop_timeout = -3\nbackoff = \"1.5s\"\n",
    );
    let errs: Vec<String> = load(&p)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let f = p.display();
    let hint = "expected e.g. \"500ms\", \"10s\", \"5m\", \"1h\", \"1m30s\" or an integer number of seconds";
    assert_eq!(
        errs,
        [
            format!("{f}:2:20: invalid duration \"8 seconds\" ({hint})"),
            format!("{f}:6:16: invalid duration -3: must not be negative"),
            format!("{f}:7:11: invalid duration \"1.5s\" ({hint})"),
        ]
    );
}

#[test]
fn bad_signals() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[rinit.signals]\nSIGHUPP = \"reload\"\nKILL = \"ignore\"\nUSR1 = \"explode\"\n\
         [[program]]\nname = \"web\"\ncommand = \"x\"\nstop_signal = \"TREM\"\n\
         [[program]]\nname = \"w2\"\ncommand = \"x\"\nstop_signal = 99\n",
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
                "{f}:2:1: unknown signal \"SIGHUPP\" (expected a name such as \"TERM\" or \"SIGQUIT\", or a number 1..=64)"
            ),
            format!(
                "{f}:3:1: SIGKILL cannot be routed (rinit cannot catch it or handles it itself)"
            ),
            format!(
                "{f}:4:8: invalid signal route \"explode\" (expected \"reload\", \"shutdown\", \"forward\", \"ignore\" or a list of program names)"
            ),
            format!(
                "{f}:8:15: unknown signal \"TREM\" (expected a name such as \"TERM\" or \"SIGQUIT\", or a number 1..=64)"
            ),
            format!("{f}:12:15: invalid signal number 99 (expected 1..=64)"),
        ]
    );
}

#[test]
fn bad_umask() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"web\"\ncommand = \"x\"\numask = \"0899\"\n",
    );
    assert_eq!(
        one_error(&p),
        format!(
            "{}:4:9: invalid umask \"0899\" (expected an octal string like \"022\")",
            p.display()
        )
    );
}

#[test]
fn accepted_alternative_spellings() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[rinit.signals]\n10 = \"ignore\"\nsigterm = \"forward\"\n\
         [[program]]\nname = \"web\"\ncommand = \"x\"\numask = 0o027\nstop_signal = \"sigint\"\nstart_secs = \"1m30s\"\n",
    );
    let cfg = load(&p).unwrap();
    let routes = &cfg.global.signals;
    assert!(routes.contains(&(10, rinit::config::SignalRoute::Ignore)));
    assert!(routes.contains(&(15, rinit::config::SignalRoute::Forward)));
    let web = &cfg.programs[0];
    assert_eq!(web.process.umask, Some(0o027));
    assert_eq!(web.stop_signal, 2);
    assert_eq!(web.start_secs, std::time::Duration::from_secs(90));
    // A decimal umask is almost certainly a mistake.
    let p = d.write(
        "b.toml",
        "[[program]]\nname = \"web\"\ncommand = \"x\"\numask = 22\n",
    );
    assert_eq!(
        one_error(&p),
        format!(
            "{}:4:9: invalid umask \"22\" (expected an octal string like \"022\")",
            p.display()
        )
    );
}

#[test]
fn control_allow_takes_uids() {
    let d = Dir::new();
    let p = d.write("rinit.toml", "[rinit]\ncontrol_allow = [1000, 0x10]\n");
    assert_eq!(load(&p).unwrap().global.control_allow, vec![1000, 16]);
    let p = d.write("b.toml", "[rinit]\n");
    assert!(load(&p).unwrap().global.control_allow.is_empty());
    let p = d.write("c.toml", "[rinit]\ncontrol_allow = [-1]\n");
    assert_eq!(
        one_error(&p),
        format!(
            "{}:2:18: \"control_allow\" entries must be uids between 0 and 4294967294, not -1",
            p.display()
        )
    );
    let p = d.write("e.toml", "[rinit]\ncontrol_allow = [\"www-data\"]\n");
    assert_eq!(
        one_error(&p),
        format!(
            "{}:2:18: \"control_allow\" must be an integer, not a string",
            p.display()
        )
    );
    let p = d.write("f.toml", "[rinit]\ncontrol_allow = 1000\n");
    assert!(one_error(&p).contains("\"control_allow\" must be an array"));
}

#[test]
fn booleans_may_come_from_the_environment() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"a\"\ncommand = \"x\"\ncritical = \"${CRIT:-true}\"\n\
         [[program]]\nname = \"b\"\ncommand = \"x\"\nautostart = \"${APP_ENV}\"\n",
    );
    let errs: Vec<String> = load(&p)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let f = p.display();
    assert_eq!(
        errs,
        [format!(
            "{f}:8:13: \"autostart\" must be true or false, not \"production\""
        )]
    );
    let p = d.write(
        "ok.toml",
        "[[program]]\nname = \"a\"\ncommand = \"x\"\ncritical = \"${CRIT:-true}\"\n",
    );
    assert!(load(&p).unwrap().programs[0].critical);
}
