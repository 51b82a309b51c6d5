//! TOML documents as a spanned tree: the lexer, parser and scalar decoder
//! are `toml_parser`'s; the tree is built here the way the `toml` crate's
//! `DeTable::parse` builds it (same spans, same rules for tables defined
//! twice, dotted keys and arrays of tables, same first error), without
//! that crate's serde machinery and generic map, which cost the static
//! binary ~40 kB. A test compares the two on a corpus. One difference: a
//! datetime's fields are not range-checked (see [`Parser::scalar`]).

use std::fmt;
use std::ops::Range;

use toml_parser::decoder::ScalarKind;
use toml_parser::parser::{Event, EventKind, RecursionGuard, ValidateWhitespace};
use toml_parser::{ErrorSink, Expected, ParseError, Source};

/// The `toml` crate's nesting limit.
const LIMIT: u32 = 80;

/// A value and the bytes of the document it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    span: Range<usize>,
    value: T,
}

impl<T> Spanned<T> {
    fn new(span: Range<usize>, value: T) -> Self {
        Spanned { span, value }
    }

    pub fn get_ref(&self) -> &T {
        &self.value
    }

    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }
}

/// An integer as written, without its radix prefix and underscores.
#[derive(Debug, Clone, PartialEq)]
pub struct Integer {
    digits: String,
    radix: u32,
}

impl Integer {
    /// For `from_str_radix` with [`Integer::radix`].
    pub fn as_str(&self) -> &str {
        &self.digits
    }

    pub fn radix(&self) -> u32 {
        self.radix
    }
}

impl fmt::Display for Integer {
    /// With its radix prefix (`0x1f`, `0o22`, `0b1`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.radix {
            2 => "0b",
            8 => "0o",
            16 => "0x",
            _ => "",
        };
        write!(f, "{prefix}{}", self.digits)
    }
}

/// A float as written (underscores removed).
#[derive(Debug, Clone, PartialEq)]
pub struct Float(String);

impl fmt::Display for Float {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Integer(Integer),
    Float(Float),
    Boolean(bool),
    Datetime(String),
    Array(Array),
    Table(Table),
}

impl Value {
    pub fn type_str(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Integer(_) => "integer",
            Value::Float(_) => "float",
            Value::Boolean(_) => "boolean",
            Value::Datetime(_) => "datetime",
            Value::Array(_) => "array",
            Value::Table(_) => "table",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_integer(&self) -> Option<&Integer> {
        match self {
            Value::Integer(i) => Some(i),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Array> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_table(&self) -> Option<&Table> {
        match self {
            Value::Table(t) => Some(t),
            _ => None,
        }
    }

    pub fn is_table(&self) -> bool {
        matches!(self, Value::Table(_))
    }

    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }

    pub fn is_str(&self) -> bool {
        matches!(self, Value::String(_))
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Array {
    items: Vec<Spanned<Value>>,
    /// Made by `[[header]]`s: only those may be extended by one.
    of_tables: bool,
}

impl std::ops::Deref for Array {
    type Target = [Spanned<Value>];

    fn deref(&self) -> &Self::Target {
        &self.items
    }
}

/// Keys are unique; the order is of no meaning (the `toml` crate sorts
/// them; callers order entries by span).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    entries: Vec<(Spanned<String>, Spanned<Value>)>,
    /// Created by a dotted key or a header's path, not (yet) by its own
    /// header.
    implicit: bool,
    /// Created by a dotted key.
    dotted: bool,
    /// `{ ... }`: closed once written.
    inline: bool,
}

impl Table {
    pub fn iter(&self) -> impl Iterator<Item = (&Spanned<String>, &Spanned<Value>)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k.value == key)
    }
}

/// A syntax error: the first the document has.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    message: String,
    span: Option<Range<usize>>,
}

impl Error {
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn span(&self) -> Option<Range<usize>> {
        self.span.clone()
    }
}

/// Keeps the first error, worded as the `toml` crate words it.
#[derive(Default)]
struct FirstError(Option<Error>);

impl ErrorSink for FirstError {
    fn report_error(&mut self, error: ParseError) {
        if self.0.is_some() {
            return;
        }
        let mut message = error.description().to_string();
        if let Some(expected) = error.expected() {
            message.push_str(", expected ");
            if expected.is_empty() {
                message.push_str("nothing");
            }
            for (i, e) in expected.iter().enumerate() {
                if i != 0 {
                    message.push_str(", ");
                }
                match e {
                    Expected::Literal(s) => message.push_str(&render_literal(s)),
                    Expected::Description(s) => message.push_str(s),
                    _ => message.push_str("etc"),
                }
            }
        }
        let span = error.unexpected().map(|s| s.start()..s.end());
        self.0 = Some(Error { message, span });
    }
}

fn render_literal(literal: &str) -> String {
    match literal {
        "\n" => "newline".to_string(),
        "`" => "'`'".to_string(),
        s if s.chars().all(|c| c.is_ascii_control()) => format!("`{}`", s.escape_debug()),
        s => format!("`{s}`"),
    }
}

/// Parse a whole document.
pub fn parse(input: &str) -> Result<Table, Error> {
    let source = Source::new(input);
    let mut errors = FirstError::default();
    let tokens = source.lex().into_vec();
    let mut events = Vec::with_capacity(tokens.len());
    let mut receiver = ValidateWhitespace::new(&mut events, source);
    let mut receiver = RecursionGuard::new(&mut receiver, LIMIT);
    toml_parser::parser::parse_document(&tokens, &mut receiver, &mut errors);
    let mut p = Parser {
        events: &events,
        pos: 0,
        source,
        errors: &mut errors,
    };
    let root = p.document();
    match errors.0 {
        Some(e) => Err(e),
        None => Ok(root),
    }
}

type Key = Spanned<String>;

struct Parser<'e, 'i> {
    events: &'e [Event],
    pos: usize,
    source: Source<'i>,
    errors: &'e mut FirstError,
}

struct Header {
    path: Vec<Key>,
    key: Option<Key>,
    span: Range<usize>,
    is_array: bool,
}

fn span(e: &Event) -> Range<usize> {
    e.span().start()..e.span().end()
}

fn duplicate(key: &Key, old: Option<Range<usize>>) -> ParseError {
    let at = |r: Range<usize>| toml_parser::Span::new_unchecked(r.start, r.end);
    let e = ParseError::new("duplicate key").with_unexpected(at(key.span()));
    match old {
        Some(old) => e.with_context(at(old)),
        None => e,
    }
}

fn cannot_extend(what: &str, key: &Key, old: Option<Range<usize>>) -> ParseError {
    let at = |r: Range<usize>| toml_parser::Span::new_unchecked(r.start, r.end);
    let e = ParseError::new(format!(
        "cannot extend value of type {what} with a dotted key"
    ))
    .with_unexpected(at(key.span()));
    match old {
        Some(old) => e.with_context(at(old)),
        None => e,
    }
}

impl Parser<'_, '_> {
    fn next(&mut self) -> Option<Event> {
        let e = self.events.get(self.pos).copied();
        self.pos += usize::from(e.is_some());
        e
    }

    fn peek(&self, i: usize) -> Option<EventKind> {
        self.events.get(self.pos + i).map(Event::kind)
    }

    fn document(&mut self) -> Table {
        let mut root = Table::default();
        let mut current = Table::default();
        let mut header: Option<Header> = None;
        while let Some(event) = self.next() {
            match event.kind() {
                EventKind::StdTableOpen | EventKind::ArrayTableOpen => {
                    self.finish_table(&mut root, &mut current, header.take());
                    let h = self.header(&event);
                    self.start_table(&mut root, &mut current, &h);
                    header = Some(h);
                }
                EventKind::SimpleKey => {
                    let (path, key) = self.key(&event);
                    let Some(key) = key else { break };
                    let Some(mut sep) = self.next() else { break };
                    if sep.kind() == EventKind::Whitespace {
                        let Some(e) = self.next() else { break };
                        sep = e;
                    }
                    if sep.kind() != EventKind::KeyValSep {
                        break;
                    }
                    if self.peek(0) == Some(EventKind::Whitespace) {
                        self.next();
                    }
                    let value = self.value();
                    self.key_value(&mut current, path, key, value);
                }
                _ => {}
            }
        }
        self.finish_table(&mut root, &mut current, header.take());
        root
    }

    fn header(&mut self, open: &Event) -> Header {
        let mut h = Header {
            path: Vec::new(),
            key: None,
            span: span(open),
            is_array: open.kind() == EventKind::ArrayTableOpen,
        };
        while let Some(event) = self.next() {
            match event.kind() {
                EventKind::ArrayTableClose | EventKind::StdTableClose => {
                    h.span.end = event.span().end();
                    break;
                }
                EventKind::SimpleKey => {
                    (h.path, h.key) = self.key(&event);
                }
                _ => {}
            }
        }
        h
    }

    /// A key, dotted or not: the path before the last part, and the last.
    fn key(&mut self, first: &Event) -> (Vec<Key>, Option<Key>) {
        let mut path = Vec::new();
        let mut last: Option<Key> = None;
        let mut current = Some(*first);
        let more = |p: &Self| {
            p.peek(0) == Some(EventKind::KeySep)
                || (p.peek(0) == Some(EventKind::Whitespace)
                    && p.peek(1) == Some(EventKind::KeySep))
        };
        if more(self) {
            while let Some(event) = self.next() {
                match event.kind() {
                    EventKind::SimpleKey => {
                        current = Some(event);
                        if !more(self) {
                            break;
                        }
                    }
                    EventKind::KeySep => self.close_key(&mut current, &mut path, &mut last),
                    _ => {}
                }
            }
        }
        self.close_key(&mut current, &mut path, &mut last);
        if LIMIT as usize <= path.len() {
            self.errors.report_error(ParseError::new("recursion limit"));
            return (Vec::new(), None);
        }
        (path, last)
    }

    fn close_key(
        &mut self,
        current: &mut Option<Event>,
        path: &mut Vec<Key>,
        last: &mut Option<Key>,
    ) {
        let Some(event) = current.take() else { return };
        let mut decoded = String::new();
        if let Some(raw) = self.source.get(event) {
            raw.decode_key(&mut decoded, self.errors);
        }
        if let Some(previous) = last.replace(Spanned::new(span(&event), decoded)) {
            path.push(previous);
        }
    }

    fn value(&mut self) -> Spanned<Value> {
        if let Some(event) = self.next() {
            match event.kind() {
                EventKind::InlineTableOpen => return self.inline_table(&event),
                EventKind::ArrayOpen => return self.array(&event),
                EventKind::Scalar => return self.scalar(&event),
                _ => {}
            }
        }
        Spanned::new(
            0..0,
            Value::Integer(Integer {
                digits: "0".into(),
                radix: 10,
            }),
        )
    }

    fn scalar(&mut self, event: &Event) -> Spanned<Value> {
        let mut decoded = String::new();
        let kind = match self.source.get(*event) {
            Some(raw) => raw.decode_scalar(&mut decoded, self.errors),
            None => ScalarKind::String,
        };
        let value = match kind {
            ScalarKind::String => Value::String(decoded),
            ScalarKind::Boolean(b) => Value::Boolean(b),
            // Not checked further: rinit has no datetime settings, so any
            // datetime in a config is refused anyway ("must be a string,
            // not a datetime"); checking it here (toml_datetime) would only
            // change which error is shown, for ~5 kB.
            ScalarKind::DateTime => Value::Datetime(decoded),
            ScalarKind::Float => Value::Float(Float(decoded)),
            ScalarKind::Integer(radix) => Value::Integer(Integer {
                digits: decoded,
                radix: radix.value(),
            }),
        };
        Spanned::new(span(event), value)
    }

    fn array(&mut self, open: &Event) -> Spanned<Value> {
        let mut array = Array::default();
        let mut end = open.span().end();
        let mut current = None;
        while let Some(event) = self.next() {
            end = event.span().end();
            match event.kind() {
                EventKind::StdTableOpen
                | EventKind::ArrayTableOpen
                | EventKind::InlineTableClose
                | EventKind::SimpleKey
                | EventKind::KeySep
                | EventKind::KeyValSep
                | EventKind::StdTableClose
                | EventKind::ArrayTableClose => break,
                EventKind::InlineTableOpen => current = Some(self.inline_table(&event)),
                EventKind::ArrayOpen => current = Some(self.array(&event)),
                EventKind::Scalar => current = Some(self.scalar(&event)),
                EventKind::ValueSep => array.items.extend(current.take()),
                EventKind::ArrayClose => {
                    array.items.extend(current.take());
                    break;
                }
                _ => {}
            }
        }
        Spanned::new(open.span().start()..end, Value::Array(array))
    }

    fn inline_table(&mut self, open: &Event) -> Spanned<Value> {
        let mut table = Table {
            inline: true,
            ..Table::default()
        };
        let mut end = open.span().end();
        let mut key: Option<(Vec<Key>, Key)> = None;
        let mut value = None;
        while let Some(event) = self.next() {
            end = event.span().end();
            match event.kind() {
                EventKind::StdTableOpen
                | EventKind::ArrayTableOpen
                | EventKind::StdTableClose
                | EventKind::ArrayClose
                | EventKind::ArrayTableClose
                | EventKind::KeySep => break,
                EventKind::SimpleKey => {
                    if let (path, Some(k)) = self.key(&event) {
                        key = Some((path, k));
                    }
                }
                EventKind::InlineTableOpen => value = Some(self.inline_table(&event)),
                EventKind::ArrayOpen => value = Some(self.array(&event)),
                EventKind::Scalar => value = Some(self.scalar(&event)),
                EventKind::ValueSep | EventKind::InlineTableClose => {
                    if let (Some((path, k)), Some(v)) = (key.take(), value.take()) {
                        self.inline_member(&mut table, &path, k, v);
                    }
                    if event.kind() == EventKind::InlineTableClose {
                        break;
                    }
                }
                _ => {}
            }
        }
        Spanned::new(open.span().start()..end, Value::Table(table))
    }

    fn inline_member(&mut self, table: &mut Table, path: &[Key], key: Key, value: Spanned<Value>) {
        let Some(t) = self.descend_inline(table, path) else {
            return;
        };
        if t.dotted == path.is_empty() {
            self.errors.report_error(duplicate(&key, None));
            return;
        }
        self.insert(t, key, value);
    }

    /// Inside an inline table: `a.b.c = 1` makes `a` and `b`.
    fn descend_inline<'t>(
        &mut self,
        mut table: &'t mut Table,
        path: &[Key],
    ) -> Option<&'t mut Table> {
        for key in path {
            let i = child(table, key, || Table {
                implicit: true,
                dotted: true,
                inline: true,
                ..Table::default()
            });
            let old_span = table.entries[i].1.span();
            table = match &mut table.entries[i].1.value {
                Value::Table(t) => {
                    if !t.implicit {
                        self.errors.report_error(duplicate(key, None));
                        return None;
                    }
                    t
                }
                other => {
                    let what = other.type_str();
                    self.errors
                        .report_error(cannot_extend(what, key, Some(old_span)));
                    return None;
                }
            };
        }
        Some(table)
    }

    /// A `key = value` line of the document.
    fn key_value(&mut self, current: &mut Table, path: Vec<Key>, key: Key, value: Spanned<Value>) {
        let dotted = !path.is_empty();
        let Some(parent) = self.descend(current, &path, dotted) else {
            return;
        };
        if dotted && !parent.implicit {
            self.errors.report_error(duplicate(&key, None));
            return;
        }
        self.insert(parent, key, value);
    }

    /// `key = value` into `table`, unless `key` is there already.
    fn insert(&mut self, table: &mut Table, key: Key, value: Spanned<Value>) {
        match table.position(&key.value) {
            None => table.entries.push((key, value)),
            Some(i) => {
                let old = table.entries[i].0.span();
                self.errors.report_error(duplicate(&key, Some(old)));
            }
        }
    }

    /// The table `path` names under `table`, made (implicit) where missing;
    /// through an array of tables, its last table.
    fn descend<'t>(
        &mut self,
        mut table: &'t mut Table,
        path: &[Key],
        dotted: bool,
    ) -> Option<&'t mut Table> {
        for key in path {
            let i = child(table, key, || Table {
                implicit: true,
                dotted,
                ..Table::default()
            });
            let old_span = table.entries[i].1.span();
            table = match &mut table.entries[i].1.value {
                Value::Array(array) => {
                    if !array.of_tables {
                        self.errors
                            .report_error(cannot_extend("array", key, Some(old_span)));
                        return None;
                    }
                    match array.items.last_mut().map(|v| &mut v.value) {
                        Some(Value::Table(t)) => t,
                        Some(other) => {
                            let what = other.type_str();
                            self.errors
                                .report_error(cannot_extend(what, key, Some(old_span)));
                            return None;
                        }
                        None => return None,
                    }
                }
                Value::Table(t) => {
                    if t.inline {
                        self.errors
                            .report_error(cannot_extend("inline table", key, None));
                        return None;
                    }
                    if dotted && t.implicit {
                        t.dotted = true;
                    }
                    if dotted && !t.implicit {
                        self.errors.report_error(duplicate(key, None));
                        return None;
                    }
                    t
                }
                other => {
                    let what = other.type_str();
                    self.errors
                        .report_error(cannot_extend(what, key, Some(old_span)));
                    return None;
                }
            };
        }
        Some(table)
    }

    /// The table being filled ends (a new header, or the end): it goes where
    /// its header says, or is the root.
    fn finish_table(&mut self, root: &mut Table, current: &mut Table, header: Option<Header>) {
        let finished = std::mem::take(current);
        let Some(header) = header else {
            *root = finished;
            return;
        };
        let Some(key) = header.key else { return };
        let table = Spanned::new(header.span.clone(), Value::Table(finished));
        let Some(parent) = self.descend(root, &header.path, false) else {
            return;
        };
        if !header.is_array {
            parent.entries.push((key, table));
            return;
        }
        let i = match parent.position(&key.value) {
            Some(i) => i,
            None => {
                let array = Array {
                    items: Vec::new(),
                    of_tables: true,
                };
                parent
                    .entries
                    .push((key.clone(), Spanned::new(header.span, Value::Array(array))));
                parent.entries.len() - 1
            }
        };
        let entry = &mut parent.entries[i].1;
        match &mut entry.value {
            Value::Array(a) if a.of_tables => a.items.push(table),
            _ => {
                let old = entry.span();
                self.errors.report_error(duplicate(&key, Some(old)));
            }
        }
    }

    /// A header starts a table: a table made implicitly before (by a longer
    /// header) is taken over; any other existing value is a duplicate.
    fn start_table(&mut self, root: &mut Table, current: &mut Table, header: &Header) {
        // As the toml crate does: the path is made even for a header
        // without a key.
        let parent = match header.is_array {
            true => None,
            false => self.descend(root, &header.path, false),
        };
        if let Some(parent) = parent
            && let Some(key) = &header.key
            && let Some(i) = parent.position(&key.value)
        {
            let (old_key, old_value) = parent.entries.remove(i);
            match old_value.value {
                Value::Table(t) if t.implicit && !t.dotted => *current = t,
                old => {
                    self.errors
                        .report_error(duplicate(key, Some(old_key.span())));
                    if let Value::Table(t) = old {
                        *current = t;
                    }
                }
            }
        }
        current.implicit = false;
        current.dotted = false;
    }
}

/// Where `key` is in `table`: its entry, or a new table `make` gives (a
/// table a dotted key or a header implies).
fn child(table: &mut Table, key: &Key, make: impl FnOnce() -> Table) -> usize {
    if let Some(i) = table.position(&key.value) {
        return i;
    }
    let t = Spanned::new(key.span(), Value::Table(make()));
    table.entries.push((key.clone(), t));
    table.entries.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::toml::de::{DeTable, DeValue};

    /// Same tree (keys, values, spans) as the toml crate's.
    fn same_table(mine: &Table, theirs: &DeTable<'_>, at: &str) {
        assert_eq!(mine.entries.len(), theirs.len(), "{at}: entry count");
        for (k, v) in theirs.iter() {
            let (mk, mv) = mine
                .iter()
                .find(|(mk, _)| mk.get_ref() == k.get_ref().as_ref())
                .unwrap_or_else(|| panic!("{at}: missing key {:?}", k.get_ref()));
            assert_eq!(mk.span(), k.span(), "{at}: span of key {:?}", k.get_ref());
            let at = format!("{at}.{}", k.get_ref());
            assert_eq!(mv.span(), v.span(), "{at}: value span");
            same_value(mv.get_ref(), v.get_ref(), &at);
        }
    }

    fn same_value(mine: &Value, theirs: &DeValue<'_>, at: &str) {
        assert_eq!(mine.type_str(), theirs.type_str(), "{at}: type");
        match (mine, theirs) {
            (Value::String(a), DeValue::String(b)) => assert_eq!(a, b.as_ref(), "{at}"),
            (Value::Integer(a), DeValue::Integer(b)) => {
                assert_eq!((a.as_str(), a.radix()), (b.as_str(), b.radix()), "{at}");
                assert_eq!(a.to_string(), b.to_string(), "{at}");
            }
            (Value::Float(a), DeValue::Float(b)) => {
                assert_eq!(a.to_string(), b.to_string(), "{at}")
            }
            (Value::Boolean(a), DeValue::Boolean(b)) => assert_eq!(a, b, "{at}"),
            (Value::Datetime(a), DeValue::Datetime(b)) => {
                assert_eq!(a.parse::<toml_datetime::Datetime>().unwrap(), *b, "{at}")
            }
            (Value::Array(a), DeValue::Array(b)) => {
                assert_eq!(a.len(), b.len(), "{at}: length");
                for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
                    let at = format!("{at}[{i}]");
                    assert_eq!(x.span(), y.span(), "{at}: span");
                    same_value(x.get_ref(), y.get_ref(), &at);
                }
            }
            (Value::Table(a), DeValue::Table(b)) => same_table(a, b, at),
            _ => unreachable!(),
        }
    }

    fn has_datetime(t: &Table) -> bool {
        fn value(v: &Value) -> bool {
            match v {
                Value::Datetime(_) => true,
                Value::Array(a) => a.iter().any(|v| value(v.get_ref())),
                Value::Table(t) => has_datetime(t),
                _ => false,
            }
        }
        t.iter().any(|(_, v)| value(v.get_ref()))
    }

    fn compare(doc: &str) {
        match (parse(doc), DeTable::parse(doc)) {
            (Ok(mine), Ok(theirs)) => same_table(&mine, theirs.get_ref(), &format!("{doc:?}")),
            // toml's first error is its datetime check's; ours comes later.
            (Err(_), Err(theirs))
                if ["invalid date", "invalid time"]
                    .iter()
                    .any(|w| theirs.message().starts_with(w)) => {}
            (Err(mine), Err(theirs)) => {
                assert_eq!(mine.message(), theirs.message(), "{doc:?}");
                assert_eq!(mine.span(), theirs.span(), "{doc:?}");
            }
            // Datetimes are not range-checked here: toml refuses what
            // rinit will refuse as "not a datetime" anyway.
            (Ok(mine), Err(_)) if has_datetime(&mine) => {}
            (mine, theirs) => panic!("{doc:?}: mine {mine:?}, toml {theirs:?}"),
        }
    }

    #[test]
    fn same_as_the_toml_crate_on_real_configs() {
        for f in [
            "conf/demo.toml",
            "conf/laravel.toml",
            "tests/fixtures/laravel.toml",
        ] {
            let doc = std::fs::read_to_string(f).unwrap();
            assert!(parse(&doc).is_ok(), "{f}");
            compare(&doc);
        }
    }

    /// Pieces of documents, valid and not, alone and in every pair and
    /// (for a subset) triple: the interactions of tables, dotted keys and
    /// arrays of tables are where a tree builder goes wrong.
    #[test]
    fn same_as_the_toml_crate_on_combinations() {
        let pieces = [
            "a = 1\n",
            "a.b = 2\n",
            "a.b.c = \"x\"\n",
            "[a]\n",
            "[a]\nb = 3\n",
            "[a.b]\nc = 4\n",
            "[[a]]\nb = 5\n",
            "[[a.b]]\nx = 1\n",
            "[a.b.c]\n",
            "a = { b = 1, c.d = 2 }\n",
            "a = [1, 2, [3, \"x\"], { y = 1 }]\n",
            "[x]\ny = 'lit'\nz = \"\"\"\nml\\\n  x\"\"\"\n",
            "[[x]]\n",
            "x.y = 1\n",
            "\"quoted key\" = 0x1F\n'lit.key' = 0o17\nbin = 0b101\n",
            "f = 1_000.5e-3\ng = -inf\nh = nan\ni = +1_000\n",
            "d1 = 1979-05-27T07:32:00Z\nd2 = 1979-05-27\nd3 = 07:32:00\nd4 = 1979-05-27 07:32:00.5+01:00\n",
            "t = { a = { b = 1 } , c = [ ] }\n",
            "# comment\n\n  k = true # trailing\n",
            "k = 1\nk = 2\n",
            "[t]\n[t]\n",
            "t = {}\n[t]\n",
            "t = { a = 1 }\nt.b = 2\n",
            "[[t]]\n[t]\n",
            "t = []\n[[t]]\n",
            "bad = \"\\q\"\n",
            "bad = 01\n",
            "bad = 1979-13-45\n",
            "bad = \"unterminated\n",
            "[unclosed\n",
            "= 1\n",
            "k = \n",
            "k = [1,,2]\n",
            "k = { a = 1, a = 2 }\n",
            "k = { a.b = 1, a = 2 }\n",
            "k = { a = { x = 1 }, a.y = 2 }\n",
            "k = \"\\u00e9\\U0001F600\\t\"\nl = '''\nraw\\n'''\n",
            "a.b = 1\n[a]\nc = 2\n",
            "[a.b]\n[a]\nb.c = 1\n",
            "[a]\nb.c = 1\n[a.b]\n",
            "[[a]]\n[a.b]\nc = 1\n[[a]]\n",
            "e = { }\nf = { a = 1, }\n",
            "g = [\n  1, # one\n  2,\n]\n",
            "\u{feff}k = 1\r\nl = 2\r\n",
            "k = \"a\" \"b\"\n",
            "[ a . b ]\n[a. c]\n",
            "a = 1\n[[a]]\n",
            "int = 9223372036854775808\n",
        ];
        for p in pieces {
            compare(p);
        }
        for a in pieces {
            for b in pieces {
                compare(&format!("{a}{b}"));
            }
        }
        for a in &pieces[..16] {
            for b in &pieces[..16] {
                for c in &pieces[..16] {
                    compare(&format!("{a}{b}{c}"));
                }
            }
        }
    }
}
