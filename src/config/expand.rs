//! `${VAR}` expansion inside one already-parsed string value.
//!
//! Forms: `${VAR}` (unset is an error), `${VAR:-default}` (default when unset
//! *or empty*, as in sh), `${VAR:?message}` (error with that message when
//! unset or empty). `$$` is a literal `$`; a `$` not followed by `{` or `$` is
//! kept as is, so `"$HOME"` passes through untouched for a shell command to
//! expand. The default is taken literally (no nested expansion).
//!
//! Runs on parsed values, never on the raw file, so TOML spans stay valid.
//! Pure: the environment is a lookup function.

/// A failed expansion: the message, and the byte offset inside the *value*
/// of the `$` that started the bad reference (for a precise column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandError {
    pub offset: usize,
    pub message: String,
}

/// Expand every reference in `value`.
pub fn expand(value: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, ExpandError> {
    if !value.contains('$') {
        return Ok(value.to_string());
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut pos = 0;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let at = pos + i;
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            pos = at + 2;
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                return Err(ExpandError {
                    offset: at,
                    message: "unterminated \"${\" (missing \"}\")".into(),
                });
            };
            out.push_str(&reference(&body[..end], at, env)?);
            pos = at + 2 + end + 1;
            rest = &body[end + 1..];
        } else {
            out.push('$');
            pos = at + 1;
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// One `${...}` body: `VAR`, `VAR:-default` or `VAR:?message`.
fn reference(
    body: &str,
    at: usize,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let err = |message: String| ExpandError {
        offset: at,
        message,
    };
    let (name, op) = match body.find(':') {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if !is_var_name(name) {
        return Err(err(format!(
            "invalid variable reference \"${{{body}}}\" (expected ${{VAR}}, ${{VAR:-default}} or ${{VAR:?message}})"
        )));
    }
    let value = env(name).filter(|v| !v.is_empty() || op.is_none());
    match (value, op) {
        (Some(v), _) => Ok(v),
        (None, None) => Err(err(format!(
            "environment variable {name} is not set (use ${{{name}:-default}} to give a default)"
        ))),
        (None, Some(op)) => {
            if let Some(default) = op.strip_prefix('-') {
                Ok(default.to_string())
            } else if let Some(message) = op.strip_prefix('?') {
                let message = if message.is_empty() {
                    "is not set"
                } else {
                    message
                };
                Err(err(format!("{name}: {message}")))
            } else {
                Err(err(format!(
                    "invalid variable reference \"${{{body}}}\" (expected ${{VAR:-default}} or ${{VAR:?message}})"
                )))
            }
        }
    }
}

fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/root".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn ex(s: &str) -> Result<String, ExpandError> {
        expand(s, &env)
    }

    #[test]
    fn plain_forms() {
        assert_eq!(ex("no refs").unwrap(), "no refs");
        assert_eq!(ex("${HOME}/x").unwrap(), "/root/x");
        assert_eq!(ex("a${HOME}b${HOME}").unwrap(), "a/rootb/root");
        assert_eq!(ex("${NOPE:-dflt}").unwrap(), "dflt");
        assert_eq!(ex("${EMPTY:-dflt}").unwrap(), "dflt");
        assert_eq!(ex("${HOME:-dflt}").unwrap(), "/root");
        assert_eq!(ex("${NOPE:-}").unwrap(), "");
        assert_eq!(ex("${HOME:?must be set}").unwrap(), "/root");
        // Set but empty is a value for the plain form, as in sh.
        assert_eq!(ex("[${EMPTY}]").unwrap(), "[]");
    }

    #[test]
    fn dollars_pass_through_or_escape() {
        assert_eq!(ex("$HOME").unwrap(), "$HOME");
        assert_eq!(ex("cost $5 $").unwrap(), "cost $5 $");
        assert_eq!(ex("$${HOME}").unwrap(), "${HOME}");
        assert_eq!(ex("$$$$").unwrap(), "$$");
    }

    #[test]
    fn errors_carry_offset_and_message() {
        let e = ex("abc${NOPE}").unwrap_err();
        assert_eq!(e.offset, 3);
        assert_eq!(
            e.message,
            "environment variable NOPE is not set (use ${NOPE:-default} to give a default)"
        );
        let e = ex("x ${DB_HOST:?set DB_HOST to the database host}").unwrap_err();
        assert_eq!(e.offset, 2);
        assert_eq!(e.message, "DB_HOST: set DB_HOST to the database host");
        let e = ex("${EMPTY:?}").unwrap_err();
        assert_eq!(e.message, "EMPTY: is not set");
        let e = ex("${HOME").unwrap_err();
        assert!(e.message.starts_with("unterminated"), "{}", e.message);
        let e = ex("${1BAD}").unwrap_err();
        assert!(e.message.starts_with("invalid variable reference"));
        let e = ex("${X:+alt}").unwrap_err();
        assert!(e.message.starts_with("invalid variable reference"));
    }
}
