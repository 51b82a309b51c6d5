//! `log_max_bytes` / `log_backups`: accepted size spellings, defaults, and
//! the errors (bad sizes, rotation without a file output, backups alone).

mod config_common;

use config_common::{Dir, load};
use rinit::config::LogRotation;

fn errors(p: &std::path::Path) -> Vec<String> {
    load(p).unwrap_err().iter().map(|e| e.to_string()).collect()
}

#[test]
fn sizes_and_defaults() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"a\"\ncommand = \"x\"\nstdout = \"/tmp/a.log\"\nlog_max_bytes = \"10MB\"\n\
         [[program]]\nname = \"b\"\ncommand = \"x\"\nstderr = \"/tmp/b.log\"\nlog_max_bytes = 4096\nlog_backups = 0\n\
         [[program]]\nname = \"c\"\ncommand = \"x\"\nstdout = \"/tmp/c.log\"\nlog_max_bytes = \"512kib\"\nlog_backups = 2\n\
         [[program]]\nname = \"d\"\ncommand = \"x\"\nstdout = \"/tmp/d.log\"\n",
    );
    let cfg = load(&p).unwrap();
    let rot: Vec<_> = cfg.programs.iter().map(|p| p.log_rotation).collect();
    assert_eq!(
        rot,
        [
            Some(LogRotation {
                max_bytes: 10 << 20,
                backups: 5
            }),
            Some(LogRotation {
                max_bytes: 4096,
                backups: 0
            }),
            Some(LogRotation {
                max_bytes: 512 << 10,
                backups: 2
            }),
            None,
        ]
    );
}

#[test]
fn bad_sizes() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"a\"\ncommand = \"x\"\nstdout = \"/tmp/a.log\"\nlog_max_bytes = \"10 megs\"\n\
         [[program]]\nname = \"b\"\ncommand = \"x\"\nstdout = \"/tmp/b.log\"\nlog_max_bytes = 0\nlog_backups = -1\n\
         [[program]]\nname = \"c\"\ncommand = \"x\"\nstdout = \"/tmp/c.log\"\nlog_max_bytes = true\n",
    );
    let f = p.display();
    assert_eq!(
        errors(&p),
        [
            format!(
                "{f}:5:17: invalid size \"10 megs\" (expected e.g. \"10MB\", \"512KB\", \"1GB\" or an integer number of bytes)"
            ),
            format!("{f}:10:17: invalid size 0: must be at least 1 byte"),
            format!("{f}:11:15: \"log_backups\" must be between 0 and 1000, not -1"),
            format!(
                "{f}:16:17: \"log_max_bytes\" must be a size like \"10MB\" or an integer, not a boolean"
            ),
        ]
    );
}

#[test]
fn rotation_needs_a_file_and_a_size() {
    let d = Dir::new();
    let p = d.write(
        "rinit.toml",
        "[[program]]\nname = \"a\"\ncommand = \"x\"\nlog_max_bytes = \"1MB\"\n\
         [[program]]\nname = \"b\"\ncommand = \"x\"\nstdout = \"/tmp/b.log\"\nlog_backups = 3\n",
    );
    let f = p.display();
    assert_eq!(
        errors(&p),
        [
            format!(
                "{f}:4:1: \"log_max_bytes\" only applies to file outputs, and neither stdout nor stderr is a file path"
            ),
            format!(
                "{f}:9:1: \"log_backups\" needs \"log_max_bytes\" (the size at which files are rotated)"
            ),
        ]
    );
}
