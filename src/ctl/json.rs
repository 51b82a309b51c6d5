//! Just enough JSON for the control protocol: a parsed [`Value`], typed
//! getters that say what is wrong in serde's words ("missing field
//! `names`", "invalid type: string \"x\", expected a boolean"), and
//! writers. The protocol is small and flat; a general JSON library (and
//! serde's per-type code) cost the static binary far more than this.

use crate::logmux::format::json_string;

/// serde_json's nesting limit: deeper input is refused, never recursed into.
const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// A number as written (validated JSON number syntax).
    Number(String),
    String(String),
    Array(Vec<Value>),
    /// Members in input order; a repeated key: the last one counts.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// What serde calls the value in an "invalid type" message.
    pub fn unexpected(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(b) => format!("boolean `{b}`"),
            Value::Number(n) if is_integer(n) => format!("integer `{n}`"),
            Value::Number(n) => format!("floating point `{n}`"),
            Value::String(s) => format!("string {s:?}"),
            Value::Array(_) => "sequence".into(),
            Value::Object(_) => "map".into(),
        }
    }

    fn invalid_type(&self, expected: &str) -> String {
        format!("invalid type: {}, expected {expected}", self.unexpected())
    }

    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn to_str(&self) -> Result<String, String> {
        match self {
            Value::String(s) => Ok(s.clone()),
            v => Err(v.invalid_type("a string")),
        }
    }

    pub fn to_bool(&self) -> Result<bool, String> {
        match self {
            Value::Bool(b) => Ok(*b),
            v => Err(v.invalid_type("a boolean")),
        }
    }

    /// An unsigned integer up to `max`; `ty` names the Rust type for errors
    /// ("u32", "usize", ...), as serde does.
    pub fn to_u64(&self, max: u64, ty: &str) -> Result<u64, String> {
        let n = self.integer(ty)?;
        match n.parse::<u64>() {
            Ok(i) if i <= max => Ok(i),
            _ => Err(out_of_range(n, ty)),
        }
    }

    pub fn to_i32(&self) -> Result<i32, String> {
        let n = self.integer("i32")?;
        n.parse().map_err(|_| out_of_range(n, "i32"))
    }

    fn integer(&self, ty: &str) -> Result<&str, String> {
        match self {
            Value::Number(n) if is_integer(n) => Ok(n),
            v => Err(v.invalid_type(ty)),
        }
    }

    pub fn to_strings(&self) -> Result<Vec<String>, String> {
        match self {
            Value::Array(items) => items.iter().map(Value::to_str).collect(),
            v => Err(v.invalid_type("a sequence")),
        }
    }
}

fn out_of_range(n: &str, ty: &str) -> String {
    format!("invalid value: integer `{n}`, expected {ty}")
}

fn is_integer(n: &str) -> bool {
    !n.contains(['.', 'e', 'E'])
}

/// The members of one JSON object, read as the fields of a struct.
pub struct Fields<'a>(pub &'a [(String, Value)]);

impl<'a> Fields<'a> {
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// A field that must be there.
    pub fn req<T>(
        &self,
        name: &str,
        read: impl Fn(&Value) -> Result<T, String>,
    ) -> Result<T, String> {
        match self.get(name) {
            Some(v) => read(v),
            None => Err(format!("missing field `{name}`")),
        }
    }

    /// An `Option` field: missing or null is `None`.
    pub fn opt<T>(
        &self,
        name: &str,
        read: impl Fn(&Value) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => read(v).map(Some),
        }
    }

    /// Refuse members other than `known` (serde's `deny_unknown_fields`).
    pub fn deny_unknown(&self, known: &[&str]) -> Result<(), String> {
        match self.0.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some((k, _)) => Err(format!("unknown field `{k}`, {}", one_of(known))),
        }
    }
}

/// serde's "expected ..." list of names.
pub fn one_of(names: &[&str]) -> String {
    match names {
        [] => "there are no fields".into(),
        [one] => format!("expected `{one}`"),
        [a, b] => format!("expected `{a}` or `{b}`"),
        _ => {
            let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!("expected one of {}", list.join(", "))
        }
    }
}

/// Parse one JSON document (surrounding whitespace allowed).
pub fn parse(input: &[u8]) -> Result<Value, String> {
    let mut p = Parser { s: input, i: 0 };
    let v = p.value(0)?;
    p.skip_ws();
    if p.i < p.s.len() {
        p.i += 1;
        return Err(p.error("trailing characters"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    /// serde_json's wording: "... at line L column C".
    fn error(&self, what: &str) -> String {
        let upto = &self.s[..self.i.min(self.s.len())];
        let line = 1 + upto.iter().filter(|&&b| b == b'\n').count();
        let col = upto.len() - upto.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        format!("{what} at line {line} column {col}")
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Result<Value, String> {
        for &want in word {
            match self.s.get(self.i) {
                Some(&b) if b == want => self.i += 1,
                Some(_) => {
                    self.i += 1;
                    return Err(self.error("expected ident"));
                }
                None => return Err(self.error("EOF while parsing a value")),
            }
        }
        Ok(v)
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        let Some(b) = self.peek() else {
            return Err(self.error("EOF while parsing a value"));
        };
        match b {
            b'n' => self.literal(b"null", Value::Null),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'"' => {
                self.i += 1;
                self.string().map(Value::String)
            }
            b'-' | b'0'..=b'9' => self.number(),
            b'[' | b'{' => {
                if depth >= MAX_DEPTH {
                    return Err(self.error("recursion limit exceeded"));
                }
                self.i += 1;
                if b == b'[' {
                    self.array(depth + 1)
                } else {
                    self.object(depth + 1)
                }
            }
            _ => {
                self.i += 1;
                Err(self.error("expected value"))
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, String> {
        let mut items = Vec::new();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            if self.separator(b']', "a list")? {
                return Ok(Value::Array(items));
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, String> {
        let mut members = Vec::new();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Object(members));
        }
        loop {
            match self.peek() {
                Some(b'"') => self.i += 1,
                Some(_) => {
                    self.i += 1;
                    return Err(self.error("key must be a string"));
                }
                None => return Err(self.error("EOF while parsing an object")),
            }
            let key = self.string()?;
            match self.peek() {
                Some(b':') => self.i += 1,
                Some(_) => {
                    self.i += 1;
                    return Err(self.error("expected `:`"));
                }
                None => return Err(self.error("EOF while parsing an object")),
            }
            let v = self.value(depth)?;
            members.push((key, v));
            if self.separator(b'}', "an object")? {
                return Ok(Value::Object(members));
            }
        }
    }

    /// After a member of a list (`close` is `]`) or an object (`}`, `what`
    /// names it for the error): true at its end, false after a `,`.
    fn separator(&mut self, close: u8, what: &str) -> Result<bool, String> {
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                if self.peek() == Some(close) {
                    self.i += 1;
                    return Err(self.error("trailing comma"));
                }
                Ok(false)
            }
            Some(c) if c == close => {
                self.i += 1;
                Ok(true)
            }
            Some(_) => {
                self.i += 1;
                Err(self.error(&format!("expected `,` or `{}`", close as char)))
            }
            None => Err(self.error(&format!("EOF while parsing {what}"))),
        }
    }

    /// After the opening quote.
    fn string(&mut self) -> Result<String, String> {
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return Err(self.error("EOF while parsing a string"));
            };
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return Err(self.error("EOF while parsing a string"));
                    };
                    self.i += 1;
                    let c = match e {
                        b'"' | b'\\' | b'/' => e,
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let c = self.unicode_escape()?;
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                            continue;
                        }
                        _ => return Err(self.error("invalid escape")),
                    };
                    out.push(c);
                }
                0x00..=0x1f => {
                    return Err(self.error(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ));
                }
                _ => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| self.error("invalid unicode code point"))
    }

    fn hex4(&mut self) -> Result<u16, String> {
        let mut n: u16 = 0;
        for _ in 0..4 {
            let Some(&b) = self.s.get(self.i) else {
                return Err(self.error("EOF while parsing a string"));
            };
            self.i += 1;
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return Err(self.error("invalid escape")),
            };
            n = n * 16 + u16::from(d);
        }
        Ok(n)
    }

    /// After `\u`: one code point, a surrogate pair taken whole.
    fn unicode_escape(&mut self) -> Result<char, String> {
        let hi = self.hex4()?;
        let code = match hi {
            0xdc00..=0xdfff => return Err(self.error("lone leading surrogate in hex escape")),
            0xd800..=0xdbff => {
                if self.s.get(self.i..self.i + 2) != Some(b"\\u") {
                    self.i = (self.i + 1).min(self.s.len());
                    return Err(self.error("unexpected end of hex escape"));
                }
                self.i += 2;
                let lo = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&lo) {
                    return Err(self.error("lone leading surrogate in hex escape"));
                }
                0x10000 + ((u32::from(hi) - 0xd800) << 10) + (u32::from(lo) - 0xdc00)
            }
            _ => u32::from(hi),
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid unicode code point"))
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - from
        };
        if self.s[self.i] == b'-' {
            self.i += 1;
        }
        match self.s.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.error("invalid number")),
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.s.get(self.i) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.error("invalid number"));
            }
        }
        // Only ASCII digits and signs were consumed.
        let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        Ok(Value::Number(text))
    }
}

/// Writers: `out` grows by one JSON token each.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    json_string(out, s.as_bytes());
}

pub fn write_strings(out: &mut Vec<u8>, items: &[String]) {
    out.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, s);
    }
    out.push(b']');
}

pub fn write_num(out: &mut Vec<u8>, n: impl std::fmt::Display) {
    use std::io::Write;
    let _ = write!(out, "{n}");
}

pub fn write_opt_num(out: &mut Vec<u8>, n: Option<impl std::fmt::Display>) {
    match n {
        Some(n) => write_num(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

pub fn write_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

pub fn write_bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Value {
        parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn parses_what_json_has() {
        assert_eq!(v(" null "), Value::Null);
        assert_eq!(
            v("[true,false]"),
            Value::Array(vec![Value::Bool(true), Value::Bool(false)])
        );
        assert_eq!(v("-12.5e+3"), Value::Number("-12.5e+3".into()));
        assert_eq!(
            v(r#"{"a":"x\n\"\u00e9\ud83d\ude00","b":{}}"#),
            Value::Object(vec![
                ("a".into(), Value::String("x\n\"é😀".into())),
                ("b".into(), Value::Object(vec![])),
            ])
        );
    }

    #[test]
    fn refuses_what_json_does_not_have() {
        let e = |s: &[u8]| parse(s).unwrap_err();
        assert_eq!(e(b"hello"), "expected value at line 1 column 1");
        assert_eq!(e(b"{\"a\":1,}"), "trailing comma at line 1 column 8");
        assert_eq!(e(b"[1] x"), "trailing characters at line 1 column 5");
        assert!(e(b"\"\xff\"").starts_with("invalid unicode code point"));
        assert!(e(b"\"a\x01\"").starts_with("control character"));
        assert!(e(b"01").starts_with("trailing characters"));
        assert!(e(b"1.").starts_with("invalid number"));
        assert!(e(b"{\"a\"").starts_with("EOF while parsing an object"));
        assert_eq!(
            e(b"\"\\ud800\""),
            "unexpected end of hex escape at line 1 column 8"
        );
        let deep = "[".repeat(100_000);
        assert!(e(deep.as_bytes()).starts_with("recursion limit exceeded"));
    }

    #[test]
    fn typed_reads_say_what_is_wrong() {
        let obj = v(r#"{"n":300,"s":"x","f":1.5,"neg":-1}"#);
        let f = Fields(obj.as_object().unwrap());
        assert_eq!(
            f.req("n", |v| v.to_u64(255, "u8")).unwrap_err(),
            "invalid value: integer `300`, expected u8"
        );
        assert_eq!(
            f.req("s", Value::to_bool).unwrap_err(),
            "invalid type: string \"x\", expected a boolean"
        );
        assert_eq!(
            f.req("f", |v| v.to_u64(9, "usize")).unwrap_err(),
            "invalid type: floating point `1.5`, expected usize"
        );
        assert_eq!(
            f.req("gone", Value::to_str).unwrap_err(),
            "missing field `gone`"
        );
        assert_eq!(f.opt("gone", Value::to_str), Ok(None));
        assert_eq!(
            f.deny_unknown(&["n", "s", "f"]).unwrap_err(),
            "unknown field `neg`, expected one of `n`, `s`, `f`"
        );
    }
}
