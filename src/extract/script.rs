//! Finds the literals worth looking at in an inline script: the arguments of
//! calls (`dataLayer.push({...})`, `gtag('event', ...)`), the right-hand side
//! of assignments (`Shopify.checkout = {...}`), or the whole body of a JSON
//! script (`application/ld+json`, `text/x-magento-init`).
//!
//! This is a scanner, not a JavaScript parser: it skips strings, comments and
//! (heuristically) regular expressions, and hands anything that looks like a
//! call or assignment to [`jsvalue`](super::jsvalue). Work per script is
//! bounded.

use super::jsvalue::{self, JsValue};

/// One literal found in a script, with how it was reached.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// A call `callee(args...)`; `callee` is the dotted name before `(`.
    Call {
        /// Dotted callee name, e.g. `dataLayer.push` or `gtag`.
        callee: String,
        /// Parsed arguments.
        args: Vec<JsValue>,
    },
    /// An assignment `target = value` whose value is an object or array.
    Assign {
        /// Dotted assignment target, e.g. `Shopify.checkout`.
        target: String,
        /// Parsed right-hand side.
        value: JsValue,
    },
    /// The whole script body parsed as one value (JSON script types).
    Json(JsValue),
}

/// How a `<script>` element's body should be read, from its `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    /// Classic or module JavaScript.
    JavaScript,
    /// A JSON data block (`application/ld+json`, `application/json`,
    /// `text/x-magento-init`).
    Json,
    /// Anything else (templates, `text/plain`, ...): ignored.
    Ignored,
}

impl ScriptKind {
    /// Classifies a `type` attribute value (absent means JavaScript).
    pub fn from_type(ty: Option<&str>) -> Self {
        let Some(ty) = ty else {
            return ScriptKind::JavaScript;
        };
        let t = ty.trim().to_ascii_lowercase();
        let t = t.split(';').next().unwrap_or("").trim();
        match t {
            ""
            | "text/javascript"
            | "application/javascript"
            | "module"
            | "application/x-javascript"
            | "text/ecmascript"
            | "application/ecmascript" => ScriptKind::JavaScript,
            // Consent managers park scripts as text/plain until consent.
            "text/plain" => ScriptKind::JavaScript,
            t if t.ends_with("json") || t == "text/x-magento-init" => ScriptKind::Json,
            _ => ScriptKind::Ignored,
        }
    }
}

/// Keywords that are followed by `(` but are not calls.
const NOT_CALLS: &[&str] = &[
    "if", "for", "while", "switch", "catch", "function", "return", "typeof", "with", "do", "else",
    "new", "in", "of", "void", "delete", "await", "yield", "async",
];

/// Scans a script body and returns the literals found, in source order.
pub fn scan(body: &str, kind: ScriptKind) -> Vec<Found> {
    match kind {
        ScriptKind::Ignored => Vec::new(),
        ScriptKind::Json => {
            // JSON blocks sometimes carry a trailing comment or `;`.
            match jsvalue::parse_value(body.trim_start_matches('\u{feff}')) {
                Ok(v @ (JsValue::Object(_) | JsValue::Array(_))) => vec![Found::Json(v)],
                _ => Vec::new(),
            }
        }
        ScriptKind::JavaScript => scan_js(body),
    }
}

fn scan_js(body: &str) -> Vec<Found> {
    let s = body.as_bytes();
    let mut out = Vec::new();
    // Parsing work allowed for this script, in bytes consumed by the literal
    // parser; keeps pathological nesting from going quadratic.
    let mut budget = s.len().saturating_mul(4).max(4096);
    let mut last_sig: u8 = b';';
    let mut i = 0;
    while i < s.len() && budget > 0 {
        let b = s[i];
        match b {
            b'\'' | b'"' | b'`' => {
                i = jsvalue::skip_string(s, i);
                last_sig = b'"';
            }
            b'/' if matches!(s.get(i + 1), Some(b'/' | b'*')) => i = jsvalue::skip_ws(s, i),
            b'/' if b"(,=:[!&|?{};+-*%<>~^".contains(&last_sig) => {
                i = skip_regex(s, i);
                last_sig = b'/';
            }
            _ if b.is_ascii_alphabetic() || b == b'_' || b == b'$' => {
                let (path, end) = read_path(body, i);
                let j = jsvalue::skip_ws(s, end);
                let last_seg = path.rsplit('.').next().unwrap_or("");
                if s.get(j) == Some(&b'(') && !NOT_CALLS.contains(&last_seg) {
                    let parsed = jsvalue::parse_args_at(body, j + 1);
                    budget = budget.saturating_sub(consumed(&parsed, j));
                    if let Ok((args, _)) = parsed {
                        if args
                            .iter()
                            .any(|a| matches!(a, JsValue::Object(_) | JsValue::Array(_)))
                        {
                            out.push(Found::Call {
                                callee: path.to_string(),
                                args,
                            });
                        }
                    }
                    // Continue inside the arguments: calls nest.
                    i = j + 1;
                    last_sig = b'(';
                } else if s.get(j) == Some(&b'=') && !matches!(s.get(j + 1), Some(b'=' | b'>')) {
                    let parsed = jsvalue::parse_value_at(body, j + 1);
                    budget = budget.saturating_sub(consumed(&parsed, j));
                    if let Ok((value, _)) = parsed {
                        if matches!(value, JsValue::Object(_) | JsValue::Array(_)) {
                            out.push(Found::Assign {
                                target: path.to_string(),
                                value,
                            });
                        }
                    }
                    i = j + 1;
                    last_sig = b'=';
                } else {
                    i = end;
                    last_sig = b'a';
                }
            }
            _ if b >= 0x80 => {
                i += 1;
                last_sig = b'a';
            }
            _ => {
                if !b.is_ascii_whitespace() {
                    last_sig = b;
                }
                i += 1;
            }
        }
    }
    out
}

/// Bytes the literal parser went through from `start`, whether it succeeded
/// or not (failures count too, or nested unterminated calls go quadratic).
fn consumed<T>(parsed: &Result<(T, usize), jsvalue::ParseError>, start: usize) -> usize {
    let end = match parsed {
        Ok((_, end)) => *end,
        Err(e) => e.offset,
    };
    end.saturating_sub(start).max(1)
}

/// Reads a dotted identifier path at `i` (`window.dataLayer.push`,
/// `a . b`); returns it and the offset after it.
fn read_path(body: &str, i: usize) -> (&str, usize) {
    let s = body.as_bytes();
    let ident = |mut j: usize| {
        while s
            .get(j)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'$')
        {
            j += 1;
        }
        j
    };
    let mut end = ident(i);
    loop {
        let j = jsvalue::skip_ws(s, end);
        if s.get(j) == Some(&b'.') {
            let k = jsvalue::skip_ws(s, j + 1);
            if s.get(k)
                .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_' || *b == b'$')
            {
                end = ident(k);
                continue;
            }
        }
        break;
    }
    // Paths are ASCII by construction, so slicing is on char boundaries.
    (&body[i..end], end)
}

/// Skips a regular-expression literal starting at the `/` at `i`.
fn skip_regex(s: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    let mut in_class = false;
    while let Some(&b) = s.get(j) {
        match b {
            b'\\' => j += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'/' if !in_class => return j + 1,
            b'\n' => return j,
            _ => {}
        }
        j += 1;
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_calls_and_assignments() {
        let js = r#"
          window.dataLayer = window.dataLayer || [];
          function gtag(){dataLayer.push(arguments);}
          var re = /['"]/g; // a regex with quotes
          gtag('event', 'purchase', {transaction_id: 'A1', items: [{id: 'S'}]});
          Shopify.checkout = {"order_id": 5, line_items: []};
          (function(){ dataLayer.push({event: 'x', ecommerce: {}}) })();
        "#;
        let found = scan(js, ScriptKind::JavaScript);
        let names: Vec<String> = found
            .iter()
            .map(|f| match f {
                Found::Call { callee, .. } => callee.clone(),
                Found::Assign { target, .. } => format!("{target} ="),
                Found::Json(_) => "json".into(),
            })
            .collect();
        assert_eq!(names, ["gtag", "Shopify.checkout =", "dataLayer.push"]);
    }

    #[test]
    fn json_blocks_and_ignored_types() {
        assert_eq!(scan("{\"a\":1}", ScriptKind::Json).len(), 1);
        assert_eq!(
            ScriptKind::from_type(Some("text/x-magento-init")),
            ScriptKind::Json
        );
        assert_eq!(
            ScriptKind::from_type(Some("application/ld+json")),
            ScriptKind::Json
        );
        assert_eq!(
            ScriptKind::from_type(Some("text/x-template")),
            ScriptKind::Ignored
        );
        assert_eq!(ScriptKind::from_type(None), ScriptKind::JavaScript);
    }
}
