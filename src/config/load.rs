//! Finding the config file (SPEC §1) and loading it: read, parse, merge
//! includes, check, resolve. The only file I/O of the config module.
//!
//! Includes: `include = ["conf.d/*.toml"]` in the main file only; each glob is
//! expanded (relative globs against the including file's directory), its
//! matches sorted, and the files merged after the main file in that order.
//! A glob without wildcards must match an existing file; a wildcard glob may
//! match nothing. Included files may hold `[[program]]` and `[[hook]]` only.

use std::path::{Path, PathBuf};

use super::diag::{Diagnostic, Source};
use super::glob;
use super::global::default_global;
use super::model::{Config, HookStage};
use super::raw::{Reader, Table};
use super::sections::{FileContent, read_document};
use super::validate::{FromFile, Merged, check};
use crate::core::sort::{sort_by, sort_by_key};
use crate::os::users::UserDb;

/// The default places, in the order they are tried after `-c` and
/// `$RINIT_CONFIG`.
pub const DEFAULT_PATHS: &[&str] = &["/etc/rinit.toml", "/etc/rinit/rinit.toml"];

/// Every place [`discover`] looks, for the "no command and no config" usage
/// line: `-c PATH`, `$RINIT_CONFIG`, then the defaults.
pub fn searched_places() -> Vec<String> {
    let mut v = vec!["-c PATH".to_string(), "$RINIT_CONFIG".to_string()];
    v.extend(DEFAULT_PATHS.iter().map(|p| p.to_string()));
    v
}

/// SPEC §1: `-c PATH`, else `$RINIT_CONFIG` (both must exist), else the
/// first existing default path, else `Ok(None)`.
pub fn discover(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<PathBuf>, Diagnostic> {
    let named = explicit
        .map(|p| (p.to_path_buf(), "given with -c"))
        .or_else(|| {
            env("RINIT_CONFIG")
                .filter(|v| !v.is_empty())
                .map(|v| (PathBuf::from(v), "named by $RINIT_CONFIG"))
        });
    if let Some((path, how)) = named {
        return if path.is_file() {
            Ok(Some(path))
        } else {
            Err(Diagnostic::file(
                &path,
                format!("config file {how} does not exist"),
            ))
        };
    }
    Ok(DEFAULT_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file()))
}

/// Load with users and groups from `/etc/passwd` and `/etc/group`.
pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, Vec<Diagnostic>> {
    load_with(path, env, &UserDb::read_system())
}

/// Load, checking `user`/`group` against `users` (tests pass their own).
/// Returns every problem found, in file order, or the resolved config.
pub fn load_with(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    users: &UserDb,
) -> Result<Config, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut sources = vec![read_source(path).map_err(|d| vec![d])?];
    let main = parse(&sources[0], env, true, &mut diags);

    let mut files = Vec::new();
    for inc in &main.includes {
        match resolve_glob(path, &inc.value) {
            Ok(found) => files.extend(found),
            Err(m) => diags.push(sources[0].diag(&inc.span, m)),
        }
    }
    let mut contents = vec![main];
    for file in files {
        if sources.iter().any(|s| s.path == file) {
            continue; // matched twice, or the main file itself
        }
        match read_source(&file) {
            Ok(src) => {
                contents.push(parse(&src, env, false, &mut diags));
                sources.push(src);
            }
            Err(d) => diags.push(d),
        }
    }

    let mut programs: Vec<FromFile<_>> = Vec::new();
    let mut hooks: Vec<FromFile<_>> = Vec::new();
    let mut global = None;
    let mut signal_targets = Vec::new();
    for (i, c) in contents.into_iter().enumerate() {
        programs.extend(c.programs.into_iter().map(|p| (i, p)));
        hooks.extend(c.hooks.into_iter().map(|h| (i, h)));
        if c.global.is_some() {
            global = c.global;
            signal_targets = c.signal_targets;
        }
    }
    let merged = Merged {
        sources: &sources,
        programs: &programs,
        hooks: &hooks,
        signal_targets: &signal_targets,
    };
    diags.extend(check(&merged, users));
    if !diags.is_empty() {
        let rank = |d: &Diagnostic| sources.iter().position(|s| s.path == d.path);
        sort_by_key(&mut diags, |d| (rank(d), d.line, d.col));
        return Err(diags);
    }

    // Start hooks run before programs, stop hooks after: keep each group in
    // file order.
    let mut hooks: Vec<_> = hooks.into_iter().map(|(_, h)| h.spec).collect();
    sort_by_key(&mut hooks, |h| h.stage == HookStage::Stop);
    Ok(Config {
        path: path.to_path_buf(),
        global: global.unwrap_or_else(default_global),
        hooks,
        programs: programs.into_iter().map(|(_, p)| p.spec).collect(),
    })
}

fn read_source(path: &Path) -> Result<Source, Diagnostic> {
    std::fs::read_to_string(path)
        .map(|text| Source::new(path.to_path_buf(), text))
        .map_err(|e| Diagnostic::file(path, format!("cannot read config file: {e}")))
}

/// Parse one file; TOML syntax errors stop that file (what follows a syntax
/// error is guesswork), other files are still checked.
fn parse(
    src: &Source,
    env: &dyn Fn(&str) -> Option<String>,
    main: bool,
    diags: &mut Vec<Diagnostic>,
) -> FileContent {
    let doc = match super::toml::parse(&src.text) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let msg = e.message().trim().to_string();
            diags.push(src.diag(&span, format!("TOML syntax error: {msg}")));
            return FileContent::default();
        }
    };
    let mut reader = Reader::new(src, env);
    let content = read_document(&mut reader, &Table::new(&doc), main);
    diags.append(&mut reader.diags);
    content
}

/// The files one include pattern names, sorted.
fn resolve_glob(including: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    // Relative patterns start in the including file's directory, whose
    // name is literal text: a directory named like a glob ("[prod]")
    // cannot change the match.
    let base = including.parent().filter(|d| !d.as_os_str().is_empty());
    let shown = match base {
        Some(dir) if !Path::new(pattern).is_absolute() => {
            format!("{}/{pattern}", dir.to_string_lossy())
        }
        _ => pattern.to_string(),
    };
    let shown = Path::new(&shown).display().to_string();
    let mut found: Vec<PathBuf> = glob::glob(base, pattern)
        .map_err(|msg| format!("invalid include pattern \"{pattern}\": {msg}"))?
        .into_iter()
        .filter(|p| p.is_file())
        .collect();
    sort_by(&mut found, |a, b| a.cmp(b));
    let wildcard = pattern.contains(['*', '?', '[']);
    if found.is_empty() && !wildcard {
        return Err(format!("included file {shown} does not exist"));
    }
    Ok(found)
}
