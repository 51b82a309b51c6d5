//! `include` patterns: `*`, `?`, `[a-z]`, `[!a-z]` and `**` (any number of
//! directories), with the rules and messages of the `glob` crate that rinit
//! used before (its default options: case-sensitive, `*` matches a leading
//! dot), in a fraction of its size. Unreadable directories are skipped.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

const ERROR_WILDCARDS: &str = "wildcards are either regular `*` or recursive `**`";
const ERROR_RECURSIVE_WILDCARDS: &str = "recursive wildcards must form a single path component";
const ERROR_INVALID_RANGE: &str = "invalid range pattern";

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Char(char),
    AnyChar,
    AnySequence,
    AnyRecursiveSequence,
    AnyWithin(Vec<(char, char)>),
    AnyExcept(Vec<(char, char)>),
}

/// One path component of a pattern.
#[derive(Debug)]
struct Component {
    tokens: Vec<Token>,
    recursive: bool,
    /// Without metacharacters the component is a name, looked up directly.
    literal: Option<String>,
}

fn tokenize(pattern: &str) -> Result<Component, &'static str> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut recursive = false;
    let mut metachars = false;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '?' => {
                metachars = true;
                tokens.push(Token::AnyChar);
                i += 1;
            }
            '*' => {
                metachars = true;
                let old = i;
                while i < chars.len() && chars[i] == '*' {
                    i += 1;
                }
                match i - old {
                    1 => tokens.push(Token::AnySequence),
                    2 => {
                        // `**` must be a whole path component.
                        if !(old == 0 || chars[old - 1] == '/') {
                            return Err(ERROR_RECURSIVE_WILDCARDS);
                        }
                        if i < chars.len() && chars[i] == '/' {
                            i += 1;
                        } else if i != chars.len() {
                            return Err(ERROR_RECURSIVE_WILDCARDS);
                        }
                        if tokens.last() != Some(&Token::AnyRecursiveSequence) || tokens.len() < 2 {
                            recursive = true;
                            tokens.push(Token::AnyRecursiveSequence);
                        }
                    }
                    _ => return Err(ERROR_WILDCARDS),
                }
            }
            '[' => {
                metachars = true;
                let close = |from: usize| chars[from..].iter().position(|&c| c == ']');
                // `[!...]` or `[...]`; a `]` right after the opening is
                // one of the characters.
                if i + 4 <= chars.len()
                    && chars[i + 1] == '!'
                    && let Some(j) = close(i + 3)
                {
                    tokens.push(Token::AnyExcept(ranges(&chars[i + 2..i + 3 + j])));
                    i += j + 4;
                } else if i + 3 <= chars.len()
                    && chars[i + 1] != '!'
                    && let Some(j) = close(i + 2)
                {
                    tokens.push(Token::AnyWithin(ranges(&chars[i + 1..i + 2 + j])));
                    i += j + 3;
                } else {
                    return Err(ERROR_INVALID_RANGE);
                }
            }
            c => {
                tokens.push(Token::Char(c));
                i += 1;
            }
        }
    }
    Ok(Component {
        tokens,
        recursive,
        literal: (!metachars).then(|| pattern.to_string()),
    })
}

/// `a-z` is a range, anything else one character.
fn ranges(s: &[char]) -> Vec<(char, char)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if i + 3 <= s.len() && s[i + 1] == '-' {
            out.push((s[i], s[i + 2]));
            i += 3;
        } else {
            out.push((s[i], s[i]));
            i += 1;
        }
    }
    out
}

/// Whether `name` (one path component) matches `tokens`.
fn matches(tokens: &[Token], name: &[char]) -> bool {
    let within = |set: &[(char, char)], c: char| set.iter().any(|&(a, b)| a <= c && c <= b);
    match tokens.split_first() {
        None => name.is_empty(),
        Some((Token::AnySequence | Token::AnyRecursiveSequence, rest)) => {
            (0..=name.len()).any(|skip| matches(rest, &name[skip..]))
        }
        Some((t, rest)) => {
            let Some((&c, name_rest)) = name.split_first() else {
                return false;
            };
            let ok = match t {
                Token::Char(want) => c == *want,
                Token::AnyChar => true,
                Token::AnyWithin(set) => within(set, c),
                Token::AnyExcept(set) => !within(set, c),
                // Taken by the arm above.
                Token::AnySequence | Token::AnyRecursiveSequence => false,
            };
            ok && matches(rest, name_rest)
        }
    }
}

/// The paths `pattern` matches, unsorted. A relative pattern is taken
/// relative to `base`, whose components are literal names (a directory
/// may be called `[prod]`); without `base`, relative to the current
/// directory. Paths are built as the glob crate builds them from
/// `"{base}/{pattern}"`: joined component by component, a leading `.`
/// dropped.
pub fn glob(base: Option<&Path>, pattern: &str) -> Result<Vec<PathBuf>, &'static str> {
    tokenize(pattern)?;
    let (root, base) = match base {
        _ if pattern.starts_with('/') => (true, String::new()),
        Some(b) => {
            let b = b.to_string_lossy().into_owned();
            (b.starts_with('/'), b)
        }
        None => (false, String::new()),
    };
    let mut components: Vec<Component> = base
        .split('/')
        .filter(|c| !c.is_empty())
        .map(|name| Component {
            tokens: name.chars().map(Token::Char).collect(),
            recursive: false,
            literal: Some(name.to_string()),
        })
        .collect();
    for text in pattern.split('/').filter(|c| !c.is_empty()) {
        components.push(tokenize(text)?);
    }
    let start = root.then(|| PathBuf::from("/"));
    let mut walk = Walk {
        components,
        require_dir: pattern.ends_with('/'),
        found: Vec::new(),
    };
    if walk.components.is_empty() {
        // "/" alone: the root itself.
        walk.found.extend(start);
    } else {
        walk.fill(start.as_deref(), 0);
    }
    Ok(walk.found)
}

fn is_dir(p: &Path) -> bool {
    fs::metadata(p).is_ok_and(|m| m.is_dir())
}

struct Walk {
    components: Vec<Component>,
    require_dir: bool,
    found: Vec<PathBuf>,
}

impl Walk {
    fn last(&self) -> usize {
        self.components.len() - 1
    }

    /// `dir` (`None`: the current directory, named by nothing) matched the
    /// components before `idx`: look for what matches component `idx`.
    fn fill(&mut self, dir: Option<&Path>, idx: usize) {
        let dir = dir.filter(|d| *d != Path::new("."));
        let here = dir.unwrap_or(Path::new("."));
        let join = |name: &OsStr| dir.map_or_else(|| PathBuf::from(name), |d| d.join(name));
        if let Some(name) = self.components[idx].literal.clone() {
            let next = join(name.as_ref());
            let special = name == "." || name == "..";
            let exists = if special {
                is_dir(here)
            } else {
                fs::symlink_metadata(&next).is_ok()
            };
            if exists {
                self.add(next, idx);
            }
            return;
        }
        if !is_dir(here) {
            return;
        }
        let Ok(entries) = fs::read_dir(here) else {
            return;
        };
        let Ok(children) = entries
            .map(|e| e.map(|e| join(&e.file_name())))
            .collect::<Result<Vec<PathBuf>, _>>()
        else {
            return;
        };
        for child in children {
            self.visit(child, idx);
        }
        // "." and ".." are never listed: a component starting with a dot
        // may match them.
        if self.components[idx].tokens.first() == Some(&Token::Char('.')) {
            for special in [".", ".."] {
                let name: Vec<char> = special.chars().collect();
                if matches(&self.components[idx].tokens, &name) {
                    self.add(here.join(special), idx);
                }
            }
        }
    }

    /// `next` is known to match component `idx`.
    fn add(&mut self, next: PathBuf, idx: usize) {
        if idx == self.last() {
            if !self.require_dir || is_dir(&next) {
                self.found.push(next);
            }
        } else {
            self.fill(Some(&next), idx + 1);
        }
    }

    /// `path`, an entry of a directory, against component `idx`.
    fn visit(&mut self, path: PathBuf, mut idx: usize) {
        if self.components[idx].recursive {
            let mut next = idx;
            while next < self.last() && self.components[next + 1].recursive {
                next += 1;
            }
            if is_dir(&path) {
                self.fill(Some(&path), next);
                if next == self.last() {
                    self.found.push(path);
                    return;
                }
            } else if next == self.last() {
                return;
            }
            idx = next + 1;
        }
        // Names that are not UTF-8 never match (as with the glob crate).
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return;
        };
        let name: Vec<char> = name.chars().collect();
        if !matches(&self.components[idx].tokens, &name) {
            return;
        }
        if idx == self.last() {
            if !self.require_dir || is_dir(&path) {
                self.found.push(path);
            }
        } else {
            self.fill(Some(&path), idx + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<PathBuf>) -> Vec<String> {
        v.sort();
        v.iter().map(|p| p.display().to_string()).collect()
    }

    #[test]
    fn pattern_errors_are_the_glob_crates() {
        assert_eq!(glob(None, "a/***").unwrap_err(), ERROR_WILDCARDS);
        assert_eq!(glob(None, "a**/b").unwrap_err(), ERROR_RECURSIVE_WILDCARDS);
        assert_eq!(glob(None, "a/**b").unwrap_err(), ERROR_RECURSIVE_WILDCARDS);
        assert_eq!(
            glob(None, "conf.d/[a.toml").unwrap_err(),
            ERROR_INVALID_RANGE
        );
        assert_eq!(glob(None, "[!]").unwrap_err(), ERROR_INVALID_RANGE);
        assert_eq!(glob(None, "[a/b]").unwrap_err(), ERROR_INVALID_RANGE);
    }

    #[test]
    fn names_match_like_the_glob_crate() {
        let m = |p: &str, n: &str| {
            let c = tokenize(p).unwrap();
            matches(&c.tokens, &n.chars().collect::<Vec<_>>())
        };
        assert!(m("*.toml", "a.toml"));
        assert!(m("*.toml", ".hidden.toml"));
        assert!(!m("*.toml", "a.toml.bak"));
        assert!(m("?.t*l", "a.toml"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("[]]", "]"));
        assert!(m("[!]]", "a"));
        assert!(m("a*b*c", "aXbYbc"));
        assert!(!m("a?", "a"));
    }

    #[test]
    fn walks_directories() {
        let d = std::env::temp_dir().join(format!("rinit-glob-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        for f in [
            "conf.d/a.toml",
            "conf.d/b.toml",
            "conf.d/x.txt",
            "conf.d/sub/c.toml",
            "[p]/d.toml",
        ] {
            let p = d.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, "").unwrap();
        }
        let rel = |p: &str| {
            let found = glob(Some(&d), p).unwrap();
            sorted(
                found
                    .iter()
                    .map(|f| f.strip_prefix(&d).unwrap().to_path_buf())
                    .collect(),
            )
        };
        assert_eq!(rel("conf.d/*.toml"), ["conf.d/a.toml", "conf.d/b.toml"]);
        assert_eq!(
            rel("conf.d/**/*.toml"),
            ["conf.d/a.toml", "conf.d/b.toml", "conf.d/sub/c.toml"]
        );
        assert_eq!(rel("*/c.toml"), Vec::<String>::new());
        assert_eq!(rel("*/*/c.toml"), ["conf.d/sub/c.toml"]);
        assert_eq!(rel("conf.d/a.toml"), ["conf.d/a.toml"]);
        assert_eq!(rel("conf.d/nope.toml"), Vec::<String>::new());
        assert_eq!(rel("[[]p[]]/*"), ["[p]/d.toml"]);
        assert_eq!(rel("conf.d/*/"), ["conf.d/sub"]);
        assert_eq!(rel("conf.d/../conf.d/a*"), ["conf.d/../conf.d/a.toml"]);
        let abs = format!("{}/conf.d/?.toml", d.display());
        assert_eq!(glob(None, &abs).unwrap().len(), 2);
        // A base directory is taken literally.
        assert_eq!(glob(Some(&d.join("[p]")), "*.toml").unwrap().len(), 1);
        fs::remove_dir_all(&d).unwrap();
    }

    /// Same paths as the glob crate gives for `"{escaped base}/{pattern}"`.
    #[test]
    fn agrees_with_the_glob_crate() {
        let d = std::env::temp_dir().join(format!("rinit-glob-cmp-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        for f in [
            "a/x.toml",
            "a/.h.toml",
            "a/y.TOML",
            "a/b/z.toml",
            "a/b/c/w.toml",
            "a/[q]/v.toml",
            "a/b/c/d/",
            "e/",
            "a/a1.toml",
            "a/a2.toml",
            "a/ab.toml",
        ] {
            let p = d.join(f);
            if f.ends_with('/') {
                fs::create_dir_all(&p).unwrap();
            } else {
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                fs::write(&p, "").unwrap();
            }
        }
        let patterns = [
            "*.toml",
            "a/*.toml",
            "a/*",
            "a/**",
            "a/**/*.toml",
            "**/*.toml",
            "**",
            "a/?.toml",
            "a/[xy].*",
            "a/[!x]*.toml",
            "a/a[0-9].toml",
            "a/b/../*.toml",
            "a/./x.toml",
            "./a/x.toml",
            "a/*/",
            "a/**/",
            "a/**/**/w.toml",
            "*/b/*",
            "a/[[]q[]]/*",
            "nope/*",
            "a/x.toml/*",
            "a/.*",
            "a/*/*/",
            "e/**",
            "a/**/c",
        ];
        let bases = [d.clone(), d.join("a/../a"), d.join("./a")];
        for base in &bases {
            for pat in patterns {
                let escaped = ::glob::Pattern::escape(&base.to_string_lossy());
                let mut want: Vec<PathBuf> = ::glob::glob(&format!("{escaped}/{pat}"))
                    .unwrap()
                    .filter_map(Result::ok)
                    .collect();
                want.sort();
                let mut got = glob(Some(base), pat).unwrap();
                got.sort();
                assert_eq!(got, want, "base {} pattern {pat}", base.display());
            }
        }
        // Relative to the current directory (the package root under cargo
        // test), as with `rinit -c rinit.toml`.
        for pat in [
            "src/config/*.rs",
            "./src/*/glob.rs",
            "src/**/mod.rs",
            "*.toml",
            "src/../src/ctl/",
        ] {
            let mut want: Vec<PathBuf> =
                ::glob::glob(pat).unwrap().filter_map(Result::ok).collect();
            want.sort();
            let mut got = glob(None, pat).unwrap();
            got.sort();
            assert!(!want.is_empty());
            assert_eq!(got, want, "cwd pattern {pat}");
        }
        fs::remove_dir_all(&d).unwrap();
    }
}
