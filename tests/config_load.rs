//! Valid configs load to the expected model: defaults, expansion, includes,
//! and the `rinit check` description.

mod config_common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use config_common::{Dir, load};
use rinit::config::*;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/laravel.toml")
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn program(name: &str, command: CommandLine) -> ProgramSpec {
    ProgramSpec {
        name: name.into(),
        command,
        process: ProcessSpec::default(),
        autostart: true,
        restart: RestartPolicy::Always,
        exit_codes: vec![0],
        start_secs: secs(1),
        start_retries: 3,
        backoff: secs(1),
        backoff_max: secs(30),
        stop_signal: libc::SIGTERM,
        stop_timeout: secs(5),
        kill_group: true,
        instances: 1,
        depends_on: vec![],
        critical: false,
        stdout: Output::Log,
        stderr: Output::Log,
        log_rotation: None,
    }
}

fn argv(a: &[&str]) -> CommandLine {
    CommandLine::Argv(a.iter().map(|s| s.to_string()).collect())
}

#[test]
fn full_example_loads_to_expected_config() {
    let cfg = load(&fixture()).unwrap();
    let expected = Config {
        path: fixture(),
        global: Global {
            shutdown_timeout: secs(8),
            log_format: LogFormat::Prefix,
            log_timestamps: false,
            control_socket: "/run/rinit.sock".into(),
            control_allow: vec![],
            env_file: Some("/run/rinit.env".into()),
            hooks_dir: Some("/etc/rinit/start.d".into()),
            exit_when: ExitWhen::Requested,
            signals: vec![
                (libc::SIGHUP, SignalRoute::Reload),
                (libc::SIGINT, SignalRoute::Shutdown),
                (libc::SIGQUIT, SignalRoute::Shutdown),
                (libc::SIGUSR1, SignalRoute::Forward),
                (
                    libc::SIGUSR2,
                    SignalRoute::ForwardTo(vec!["php-fpm".into()]),
                ),
                (libc::SIGTERM, SignalRoute::Shutdown),
                (libc::SIGWINCH, SignalRoute::Ignore),
            ],
        },
        hooks: vec![
            HookSpec {
                name: "migrate".into(),
                command: argv(&["php", "/var/www/artisan", "migrate", "--force"]),
                process: ProcessSpec {
                    user: Some("www-data".into()),
                    ..ProcessSpec::default()
                },
                stage: HookStage::Start,
                timeout: Some(secs(300)),
                on_failure: OnFailure::Abort,
            },
            HookSpec {
                name: "cleanup".into(),
                command: CommandLine::Shell("rm -rf /tmp/cache".into()),
                process: ProcessSpec::default(),
                stage: HookStage::Stop,
                timeout: None,
                on_failure: OnFailure::Continue,
            },
        ],
        programs: vec![
            ProgramSpec {
                stop_signal: libc::SIGQUIT,
                process: ProcessSpec {
                    user: Some("www-data".into()),
                    group: Some("www-data".into()),
                    directory: Some("/var/www".into()),
                    // File order, not key order; ${APP_ENV} expanded.
                    environment: vec![
                        ("APP_ENV".into(), "production".into()),
                        ("ZED".into(), "last".into()),
                        ("ALPHA".into(), "1".into()),
                    ],
                    umask: Some(0o022),
                },
                depends_on: vec!["db-proxy".into()],
                ..program("php-fpm", argv(&["/usr/local/sbin/php-fpm", "-F"]))
            },
            ProgramSpec {
                restart: RestartPolicy::OnFailure,
                exit_codes: vec![0, 2],
                stop_signal: libc::SIGINT,
                stop_timeout: secs(10),
                stdout: Output::Null,
                stderr: Output::File("/var/log/db-proxy.err".into()),
                ..program(
                    "db-proxy",
                    CommandLine::Shell("exec socat TCP-LISTEN:3306,fork TCP:db:3306".into()),
                )
            },
            ProgramSpec {
                instances: 2,
                depends_on: vec!["php-fpm".into()],
                ..program(
                    "queue-worker",
                    argv(&["php", "/var/www/artisan", "queue:work"]),
                )
            },
        ],
    };
    assert_eq!(cfg, expected);
}

#[test]
fn minimal_config_gets_documented_defaults() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"web\"\ncommand = \"nginx\"\n",
    );
    let cfg = load(&p).unwrap();
    assert_eq!(cfg.global, default_global());
    assert_eq!(cfg.global.shutdown_timeout, secs(8));
    assert_eq!(cfg.global.control_socket, PathBuf::from("/run/rinit.sock"));
    assert_eq!(
        cfg.programs,
        [program("web", CommandLine::Shell("nginx".into()))]
    );
    assert!(cfg.hooks.is_empty());
    // An empty file is a valid (empty) supervisor config.
    let p = d.write("empty.toml", "");
    assert!(load(&p).unwrap().programs.is_empty());
}

#[test]
fn expansion_forms_and_errors() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"web\"\n\
         command = [\"run\", \"${APP_ENV}\", \"${MISSING:-fallback}\", \"$$HOME\", \"$HOME\"]\n",
    );
    let cfg = load(&p).unwrap();
    assert_eq!(
        cfg.programs[0].command,
        argv(&["run", "production", "fallback", "$HOME", "$HOME"])
    );

    let p = d.write(
        "bad.toml",
        "[[program]]\nname = \"web\"\n\
         command = \"serve --db ${DB_URL:?set DB_URL to the database URL}\"\n\
         directory = \"${WORKDIR}\"\n",
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
            format!("{f}:3:23: DB_URL: set DB_URL to the database URL"),
            format!(
                "{f}:4:14: environment variable WORKDIR is not set (use ${{WORKDIR:-default}} to give a default)"
            ),
        ]
    );
}

#[test]
fn includes_merge_in_sorted_order_relative_to_the_including_file() {
    let d = Dir::new();
    d.write(
        "conf.d/20-b.toml",
        "[[program]]\nname = \"b\"\ncommand = \"b\"\n",
    );
    d.write(
        "conf.d/10-a.toml",
        "[[program]]\nname = \"a\"\ncommand = \"a\"\n[[hook]]\nname = \"h2\"\ncommand = \"x\"\n",
    );
    d.write("conf.d/notes.txt", "not toml");
    let p = d.write(
        "rinit.toml",
        "include = [\"conf.d/*.toml\"]\n[[program]]\nname = \"main\"\ncommand = \"m\"\n[[hook]]\nname = \"h1\"\ncommand = \"x\"\n",
    );
    let cfg = load(&p).unwrap();
    let names: Vec<&str> = cfg.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["main", "a", "b"]);
    let hooks: Vec<&str> = cfg.hooks.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(hooks, ["h1", "h2"]);
}

#[test]
fn duplicate_across_files_names_both() {
    let d = Dir::new();
    let inc = d.write(
        "conf.d/web.toml",
        "\n[[program]]\nname = \"web\"\ncommand = \"b\"\n",
    );
    let p = d.write(
        "rinit.toml",
        &format!(
            "include = [\"{}/conf.d/*.toml\"]\n[[program]]\nname = \"web\"\ncommand = \"a\"\n",
            d.path().display()
        ),
    );
    let errs: Vec<String> = load(&p)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        errs,
        [format!(
            "{}:3:8: program \"web\" is defined twice (first at {}:3:8)",
            inc.display(),
            p.display()
        )]
    );
}

#[test]
fn include_errors_name_their_own_file() {
    let d = Dir::new();
    let inc = d.write(
        "conf.d/x.toml",
        "[rinit]\n[[program]]\nname = \"x\"\ncomand = \"b\"\n",
    );
    let p = d.write(
        "rinit.toml",
        "include = [\"conf.d/*.toml\", \"missing.toml\"]\n",
    );
    let errs: Vec<String> = load(&p)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let (f, i) = (p.display(), inc.display());
    assert_eq!(
        errs,
        [
            format!(
                "{f}:1:29: included file {}/missing.toml does not exist",
                d.path().display()
            ),
            format!("{i}:1:2: \"rinit\" is only allowed in the main config file"),
            format!("{i}:2:1: [[program]] is missing \"command\""),
            format!("{i}:4:1: unknown key \"comand\" (did you mean \"command\"?)"),
        ]
    );
}

#[test]
fn describe_lists_instances_in_start_order() {
    let cfg = load(&fixture()).unwrap();
    let text = describe(&cfg);
    let order: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
        .collect();
    assert_eq!(
        order,
        [
            "  db-proxy",
            "  php-fpm",
            "  queue-worker:0",
            "  queue-worker:1",
            "  migrate (start, on failure abort, timeout 300s)",
            "  cleanup (stop, on failure continue, timeout none)",
        ]
    );
    assert!(
        text.contains("    command:    /usr/local/sbin/php-fpm -F\n"),
        "{text}"
    );
    assert!(
        text.contains("    user:       www-data:www-data\n"),
        "{text}"
    );
    assert!(text.contains("    depends_on: db-proxy\n"), "{text}");
    assert!(
        text.contains("    stop:       SIGQUIT then SIGKILL after 5s (process group)\n"),
        "{text}"
    );
    let names: Vec<&str> = start_order(&cfg.programs)
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["db-proxy", "php-fpm", "queue-worker"]);
}

#[test]
fn describe_shows_outputs_and_their_rotation() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"web\"\ncommand = \"serve\"\n\
         stderr = \"/var/log/web.err\"\nlog_max_bytes = \"10MB\"\nlog_backups = 3\n\
         [[program]]\nname = \"quiet\"\ncommand = \"serve\"\nstdout = \"null\"\n\
         stderr = \"inherit\"\n",
    );
    let cfg = load(&p).unwrap();
    let text = describe(&cfg);
    let web = cfg.programs[0].log_rotation.unwrap();
    assert!(
        text.contains(&format!(
            "    output:     stdout log, stderr /var/log/web.err (files rotated at {} bytes, 3 backups)\n",
            web.max_bytes
        )),
        "{text}"
    );
    // No rotation (it is only allowed with a file output): none said.
    assert!(
        text.contains("    output:     stdout null, stderr inherit\n"),
        "{text}"
    );
}

#[test]
fn discover_follows_spec_order() {
    let d = Dir::new();
    let p = d.write("c.toml", "");
    let none = |_: &str| None;
    assert_eq!(discover(Some(&p), &none), Ok(Some(p.clone())));
    let missing = d.path().join("nope.toml");
    let e = discover(Some(&missing), &none).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: config file given with -c does not exist",
            missing.display()
        )
    );
    let pv = p.display().to_string();
    let from_env = move |k: &str| (k == "RINIT_CONFIG").then(|| pv.clone());
    assert_eq!(discover(None, &from_env), Ok(Some(p.clone())));
    let mv = missing.display().to_string();
    let bad_env = move |k: &str| (k == "RINIT_CONFIG").then(|| mv.clone());
    let e = discover(None, &bad_env).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("config file named by $RINIT_CONFIG does not exist")
    );
    // -c wins over the environment.
    assert_eq!(discover(Some(&p), &bad_env), Ok(Some(p.clone())));
    assert_eq!(
        searched_places(),
        [
            "-c PATH",
            "$RINIT_CONFIG",
            "/etc/rinit.toml",
            "/etc/rinit/rinit.toml"
        ]
    );
}
