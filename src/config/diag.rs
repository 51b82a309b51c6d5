//! Configuration diagnostics: one error with the file, line and column it
//! points at, the byte-span → line:col conversion for one source file, and the
//! "did you mean" suggestion for misspelt keys. No I/O, no TOML knowledge.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem found in a configuration, in the voice
/// `PATH:LINE:COL: message` (1-based line and column; column counts
/// characters, not bytes). `line`/`col` are 0 when the problem is about the
/// file as a whole (unreadable, not found), and are then left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl Diagnostic {
    /// A problem about a whole file (no position).
    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.to_path_buf(),
            line: 0,
            col: 0,
            message: message.into(),
        }
    }

    /// The line users read: `rinit: error: PATH:LINE:COL: message`.
    pub fn error_line(&self) -> String {
        format!("rinit: error: {self}")
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                self.line,
                self.col,
                self.message
            )
        }
    }
}

impl std::error::Error for Diagnostic {}

/// One configuration file's text, kept so spans can be turned into
/// line:col and diagnostics can name the file they belong to.
#[derive(Debug)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

impl Source {
    pub fn new(path: PathBuf, text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            path,
            text,
            line_starts,
        }
    }

    /// 1-based (line, column) of a byte offset; the column counts chars so
    /// editors with UTF-8 text agree with it.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// A diagnostic pointing at the start of `span` in this file.
    pub fn diag(&self, span: &Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, col) = self.line_col(span.start);
        Diagnostic {
            path: self.path.clone(),
            line,
            col,
            message: message.into(),
        }
    }
}

/// The valid key closest to a misspelt one, if it is close enough to be a
/// plausible typo (at most a third of the key's length, and at least 1, edits).
pub fn suggest<'a>(key: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (key.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(&key.to_ascii_lowercase(), c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Damerau–Levenshtein (optimal string alignment): a swapped pair of letters
/// ("restrat") counts as one edit, as users think of it.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (i, cell) in d.iter_mut().step_by(w).enumerate() {
        *cell = i;
    }
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_and_in_chars() {
        let s = Source::new("f.toml".into(), "ab\né = 1\n".into());
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(3), (2, 1));
        // 'é' is two bytes, one column.
        assert_eq!(s.line_col(5), (2, 2));
        assert_eq!(s.line_col(999), (3, 1));
    }

    #[test]
    fn display_formats() {
        let s = Source::new("/etc/rinit.toml".into(), "x\ny\n".into());
        let d = s.diag(&(2..3), "unknown key");
        assert_eq!(d.to_string(), "/etc/rinit.toml:2:1: unknown key");
        assert_eq!(
            d.error_line(),
            "rinit: error: /etc/rinit.toml:2:1: unknown key"
        );
        let f = Diagnostic::file(Path::new("/x.toml"), "not found");
        assert_eq!(f.to_string(), "/x.toml: not found");
    }

    #[test]
    fn suggestions() {
        let keys = ["restart", "name", "command", "stop_signal"];
        assert_eq!(suggest("restrat", &keys), Some("restart"));
        assert_eq!(suggest("comand", &keys), Some("command"));
        assert_eq!(suggest("stopsignal", &keys), Some("stop_signal"));
        assert_eq!(suggest("zzzzzz", &keys), None);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
