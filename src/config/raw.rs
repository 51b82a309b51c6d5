//! Typed, span-keeping access to one parsed TOML file.
//!
//! We walk the spanned TOML document (`config::toml`) by hand instead of deriving
//! serde structs: serde stops at the first unknown key or wrong type, and the
//! contract is to report every error at once. Each getter checks the type,
//! expands `${VAR}` in strings, records a diagnostic on failure and returns
//! `None`, so callers fall back to defaults and keep going.

use std::ops::Range;
use std::time::Duration;

use super::toml::{Spanned, Table as DeTable, Value as DeValue};

use super::diag::{Diagnostic, Source, suggest};
use super::expand::expand;
use super::model::CommandLine;
use super::values;
use crate::core::sort::sort_by_key;

pub type Span = Range<usize>;
pub type Value = Spanned<DeValue>;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sp<T> {
    pub value: T,
    pub span: Span,
}

pub struct Entry<'a> {
    pub key: &'a str,
    pub key_span: Span,
    pub value: &'a Value,
}

/// One TOML table, entries in file order (toml's map is sorted by key, and
/// `environment` must keep the order it was written in).
pub struct Table<'a> {
    pub entries: Vec<Entry<'a>>,
}

impl<'a> Table<'a> {
    pub fn new(t: &'a DeTable) -> Self {
        let mut entries: Vec<Entry<'a>> = t
            .iter()
            .map(|(k, v)| Entry {
                key: k.get_ref().as_ref(),
                key_span: k.span(),
                value: v,
            })
            .collect();
        sort_by_key(&mut entries, |e| e.key_span.start);
        Table { entries }
    }

    pub fn get(&self, key: &str) -> Option<&Entry<'a>> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// Reads one file's values, collecting diagnostics.
pub struct Reader<'s> {
    pub src: &'s Source,
    env: &'s dyn Fn(&str) -> Option<String>,
    pub diags: Vec<Diagnostic>,
}

impl<'s> Reader<'s> {
    pub fn new(src: &'s Source, env: &'s dyn Fn(&str) -> Option<String>) -> Self {
        Reader {
            src,
            env,
            diags: Vec::new(),
        }
    }

    pub fn error(&mut self, span: &Span, message: impl Into<String>) {
        let d = self.src.diag(span, message);
        self.diags.push(d);
    }

    /// Reports every key not in `allowed`, with the nearest valid one.
    pub fn check_keys(&mut self, t: &Table, allowed: &[&str]) {
        for e in &t.entries {
            if !allowed.contains(&e.key) {
                let hint = suggest(e.key, allowed)
                    .map(|s| format!(" (did you mean \"{s}\"?)"))
                    .unwrap_or_default();
                self.error(&e.key_span, format!("unknown key \"{}\"{hint}", e.key));
            }
        }
    }

    pub fn type_error(&mut self, key: &str, v: &Value, expected: &str) {
        let found = v.get_ref().type_str();
        let article = if found.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        self.error(
            &v.span(),
            format!("\"{key}\" must be {expected}, not {article} {found}"),
        );
    }

    /// A string value, `${VAR}`-expanded.
    pub fn string_value(&mut self, key: &str, v: &Value) -> Option<Sp<String>> {
        let Some(raw) = v.get_ref().as_str() else {
            self.type_error(key, v, "a string");
            return None;
        };
        let span = v.span();
        match expand(raw, self.env) {
            Ok(value) => Some(Sp { value, span }),
            Err(e) => {
                // Point at the `$` itself when the value is written without
                // escapes (what was parsed is what is in the file).
                let inner = self
                    .src
                    .text
                    .get(span.start + 1..span.end.saturating_sub(1));
                let at = if inner == Some(raw) {
                    span.start + 1 + e.offset
                } else {
                    span.start
                };
                self.error(&(at..at), e.message);
                None
            }
        }
    }

    pub fn str(&mut self, t: &Table, key: &str) -> Option<Sp<String>> {
        let e = t.get(key)?;
        self.string_value(key, e.value)
    }

    /// A boolean, or a string that is `"true"` or `"false"` once expanded, so
    /// that `critical = "${WORKER_CRITICAL:-false}"` can come from the
    /// environment.
    pub fn bool(&mut self, t: &Table, key: &str) -> Option<bool> {
        let e = t.get(key)?;
        if let Some(b) = e.value.get_ref().as_bool() {
            return Some(b);
        }
        if e.value.get_ref().as_str().is_some() {
            let s = self.string_value(key, e.value)?;
            return match s.value.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                other => {
                    let msg = format!("\"{key}\" must be true or false, not {other:?}");
                    self.error(&s.span, msg);
                    None
                }
            };
        }
        self.type_error(key, e.value, "a boolean (true or false)");
        None
    }

    pub fn int_value(&mut self, key: &str, v: &Value) -> Option<Sp<i64>> {
        let Some(i) = v.get_ref().as_integer() else {
            self.type_error(key, v, "an integer");
            return None;
        };
        match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(value) => Some(Sp {
                value,
                span: v.span(),
            }),
            Err(_) => {
                self.error(&v.span(), format!("\"{key}\" is out of range"));
                None
            }
        }
    }

    pub fn int(&mut self, t: &Table, key: &str) -> Option<Sp<i64>> {
        let e = t.get(key)?;
        self.int_value(key, e.value)
    }

    /// An integer in `lo..=hi`.
    pub fn int_in(&mut self, t: &Table, key: &str, lo: i64, hi: i64) -> Option<i64> {
        let v = self.int(t, key)?;
        if (lo..=hi).contains(&v.value) {
            Some(v.value)
        } else {
            let msg = format!("\"{key}\" must be between {lo} and {hi}, not {}", v.value);
            self.error(&v.span, msg);
            None
        }
    }

    pub fn array<'a>(&mut self, t: &Table<'a>, key: &str) -> Option<&'a [Value]> {
        let e = t.get(key)?;
        match e.value.get_ref().as_array() {
            Some(a) => Some(&a[..]),
            None => {
                self.type_error(key, e.value, "an array");
                None
            }
        }
    }

    pub fn str_list(&mut self, t: &Table, key: &str) -> Option<Vec<Sp<String>>> {
        let items = self.array(t, key)?;
        let mut out = Vec::new();
        for v in items {
            if let Some(s) = self.string_value(key, v) {
                out.push(s);
            }
        }
        Some(out)
    }

    /// A sub-table (`[rinit.signals]`, `ready = { … }`), with its span.
    pub fn table<'a>(&mut self, t: &Table<'a>, key: &str) -> Option<(Table<'a>, Span)> {
        let e = t.get(key)?;
        match e.value.get_ref().as_table() {
            Some(sub) => Some((Table::new(sub), e.key_span.clone())),
            None => {
                self.type_error(key, e.value, "a table");
                None
            }
        }
    }

    /// `[[program]]`-style arrays of tables.
    pub fn tables<'a>(&mut self, t: &Table<'a>, key: &str) -> Vec<(Table<'a>, Span)> {
        let Some(e) = t.get(key) else {
            return Vec::new();
        };
        if e.value.get_ref().is_table() {
            // `[program]` instead of `[[program]]`: the commonest slip.
            let msg = format!(
                "\"{key}\" must be an array of tables: write [[{key}]], with double brackets"
            );
            self.error(&e.key_span, msg);
            return Vec::new();
        }
        let Some(items) = self.array(t, key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for v in items {
            match v.get_ref().as_table() {
                Some(sub) => out.push((Table::new(sub), v.span())),
                None => self.type_error(key, v, "a table ([[...]] entries)"),
            }
        }
        out
    }

    /// `command`: an array runs directly, a string through `/bin/sh -c`.
    pub fn command(&mut self, t: &Table, key: &str) -> Option<Sp<CommandLine>> {
        let e = t.get(key)?;
        let span = e.value.span();
        let cmd = match e.value.get_ref() {
            DeValue::String(_) => CommandLine::Shell(self.string_value(key, e.value)?.value),
            DeValue::Array(items) => {
                let mut argv = Vec::new();
                for v in items.iter() {
                    argv.push(self.string_value(key, v)?.value);
                }
                CommandLine::Argv(argv)
            }
            _ => {
                self.type_error(key, e.value, "an array of strings or a string");
                return None;
            }
        };
        let empty = match &cmd {
            CommandLine::Argv(argv) => argv.first().is_none_or(|a| a.is_empty()),
            CommandLine::Shell(s) => s.trim().is_empty(),
        };
        if empty {
            self.error(&span, format!("\"{key}\" must not be empty"));
            return None;
        }
        Some(Sp { value: cmd, span })
    }

    pub fn duration(&mut self, t: &Table, key: &str) -> Option<Duration> {
        let e = t.get(key)?;
        let parsed = match e.value.get_ref() {
            DeValue::Integer(_) => values::duration_from_int(self.int_value(key, e.value)?.value),
            DeValue::String(_) => values::parse_duration(&self.string_value(key, e.value)?.value),
            _ => {
                self.type_error(key, e.value, "a duration string like \"10s\" or an integer");
                return None;
            }
        };
        parsed.map_err(|m| self.error(&e.value.span(), m)).ok()
    }

    /// A byte size: an integer, or a string like `"10MB"`.
    pub fn size(&mut self, t: &Table, key: &str) -> Option<Sp<u64>> {
        let e = t.get(key)?;
        let parsed = match e.value.get_ref() {
            DeValue::Integer(_) => values::size_from_int(self.int_value(key, e.value)?.value),
            DeValue::String(_) => values::parse_size(&self.string_value(key, e.value)?.value),
            _ => {
                self.type_error(key, e.value, "a size like \"10MB\" or an integer");
                return None;
            }
        };
        let span = e.value.span();
        match parsed {
            Ok(value) => Some(Sp { value, span }),
            Err(m) => {
                self.error(&span, m);
                None
            }
        }
    }

    pub fn signal_value(&mut self, key: &str, v: &Value) -> Option<i32> {
        let parsed = match v.get_ref() {
            DeValue::Integer(_) => values::signal_from_int(self.int_value(key, v)?.value),
            DeValue::String(_) => values::parse_signal(&self.string_value(key, v)?.value),
            _ => {
                self.type_error(key, v, "a signal name like \"TERM\" or a number");
                return None;
            }
        };
        parsed.map_err(|m| self.error(&v.span(), m)).ok()
    }

    pub fn signal(&mut self, t: &Table, key: &str) -> Option<i32> {
        let e = t.get(key)?;
        self.signal_value(key, e.value)
    }

    pub fn umask(&mut self, t: &Table, key: &str) -> Option<u32> {
        let e = t.get(key)?;
        let text = match e.value.get_ref().as_integer() {
            // `umask = 0o022` is octal already; a decimal 22 is almost
            // certainly a mistake, so only octal-written integers pass.
            Some(i) if i.radix() == 8 => i.as_str().to_string(),
            Some(i) => {
                let msg = format!("invalid umask \"{i}\" (expected an octal string like \"022\")");
                self.error(&e.value.span(), msg);
                return None;
            }
            None => self.string_value(key, e.value)?.value,
        };
        values::parse_umask(&text)
            .map_err(|m| self.error(&e.value.span(), m))
            .ok()
    }

    /// One of a fixed set of strings.
    pub fn choice<T: Copy>(&mut self, t: &Table, key: &str, options: &[(&str, T)]) -> Option<T> {
        let s = self.str(t, key)?;
        if let Some((_, v)) = options.iter().find(|(name, _)| *name == s.value) {
            return Some(*v);
        }
        let names: Vec<String> = options.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        let msg = format!(
            "invalid {key} \"{}\" (expected one of {})",
            s.value,
            names.join(", ")
        );
        self.error(&s.span, msg);
        None
    }

    /// `environment = { KEY = "value" }`; numbers and booleans are taken as
    /// their text, since that is what the process will see anyway.
    pub fn environment(&mut self, t: &Table, key: &str) -> Vec<(String, String)> {
        let Some((table, _)) = self.table(t, key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in &table.entries {
            let value = match e.value.get_ref() {
                DeValue::Integer(i) => Some(i.to_string()),
                DeValue::Boolean(b) => Some(b.to_string()),
                DeValue::Float(f) => Some(f.to_string()),
                _ => self.string_value(e.key, e.value).map(|s| s.value),
            };
            if e.key.is_empty() || e.key.contains('=') {
                self.error(
                    &e.key_span,
                    format!("invalid environment variable name \"{}\"", e.key),
                );
            } else if let Some(v) = value {
                out.push((e.key.to_string(), v));
            }
        }
        out
    }
}
