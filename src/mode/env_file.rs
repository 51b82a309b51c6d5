//! The environment hand-off of SPEC §3 (`env_file`): start hooks append
//! `KEY=VALUE` lines to the file named by `$RINIT_ENV_FILE`; every later
//! hook, every program and the main command get those variables (over
//! rinit's own environment, under a program's `environment`).
//!
//! Format: one `KEY=VALUE` per line, `export ` allowed before it, blank lines
//! and `#` comments ignored, one pair of matching quotes around the value
//! removed; nothing else is interpreted (no `$` expansion, no escapes).

use crate::os::spawn::Command;
use std::fs::File;
use std::io;
use std::path::PathBuf;

#[derive(Debug, Default)]
pub struct EnvFile {
    path: Option<PathBuf>,
    vars: Vec<(String, String)>,
    /// Lines already checked, so each problem is reported once, by the
    /// hook that wrote it.
    lines_seen: usize,
}

impl EnvFile {
    /// Start each run with an empty file: values from a previous container
    /// run must not leak into this one.
    pub fn create(path: Option<PathBuf>) -> io::Result<Self> {
        if let Some(p) = &path {
            File::create(p)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
        }
        Ok(EnvFile {
            path,
            ..EnvFile::default()
        })
    }

    /// Give `cmd` the file's path and the variables read so far.
    pub fn apply(&self, cmd: &mut Command) {
        if let Some(p) = &self.path {
            cmd.env("RINIT_ENV_FILE", p);
        }
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
    }

    /// Read the file again (after a hook ended); returns the problems found
    /// in lines not seen before, as "line N: …".
    pub fn reload(&mut self) -> Vec<String> {
        let Some(path) = &self.path else {
            return Vec::new();
        };
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => return vec![format!("cannot read {}: {e}", path.display())],
        };
        let (vars, problems) = parse(&text);
        self.vars = vars;
        let fresh = problems
            .into_iter()
            .filter(|(n, _)| *n > self.lines_seen)
            .map(|(n, why)| format!("{} line {n}: {why}", path.display()))
            .collect();
        self.lines_seen = text.lines().count();
        fresh
    }
}

/// `(KEY, VALUE)` pairs, a later line winning.
pub type Vars = Vec<(String, String)>;
/// `(line number, what is wrong)`, 1-based.
pub type Problems = Vec<(usize, String)>;

/// The variables and the malformed lines.
pub fn parse(text: &str) -> (Vars, Problems) {
    let mut vars: Vars = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, value)) = line.split_once('=') else {
            problems.push((i + 1, format!("expected KEY=VALUE, got {raw:?}")));
            continue;
        };
        if !valid_key(key) {
            problems.push((i + 1, format!("invalid variable name {key:?}")));
            continue;
        }
        let value = unquote(value);
        vars.retain(|(k, _)| k != key);
        vars.push((key.to_string(), value.to_string()));
    }
    (vars, problems)
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_comments_export_and_quotes() {
        let text = "# set by migrate\nA=1\nexport B=\"two words\"\n\nC='x=y'\nA=3\n";
        let (vars, problems) = parse(text);
        assert!(problems.is_empty());
        assert_eq!(
            vars,
            vec![
                ("B".into(), "two words".into()),
                ("C".into(), "x=y".into()),
                ("A".into(), "3".into())
            ]
        );
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        let (vars, problems) = parse("OK=1\nnot a pair\n9X=2\n");
        assert_eq!(vars, vec![("OK".into(), "1".into())]);
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].0, 2);
        assert_eq!(problems[1].0, 3);
        assert!(problems[1].1.contains("invalid variable name"));
    }
}
