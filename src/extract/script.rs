//! Finds the literals worth looking at in an inline script: the arguments of
//! calls (`dataLayer.push({...})`, `gtag('event', ...)`), the right-hand side
//! of assignments (`Shopify.checkout = {...}`), or the whole body of a JSON
//! script (`application/ld+json`, `text/x-magento-init`).
//!
//! This is a scanner, not a JavaScript parser: it skips strings, comments and
//! (heuristically) regular expressions, and hands anything that looks like a
//! call or assignment to [`jsvalue`] (only when it mentions
//! a payload word; see [`Triggers`]). Work per script is
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
            // Script loaders that delay inline scripts by renaming their type:
            // Partytown, WP Rocket, Perfmatters, LiteSpeed (`litespeed/javascript`)
            // and Cloudflare Rocket Loader (`<hash>-text/javascript`).
            "text/partytown" | "rocketlazyloadscript" | "pmdelayedscript" => ScriptKind::JavaScript,
            t if t.ends_with("json") || t == "text/x-magento-init" => ScriptKind::Json,
            t if t.ends_with("/javascript") => ScriptKind::JavaScript,
            _ => ScriptKind::Ignored,
        }
    }
}

/// Keywords that are followed by `(` but are not calls.
const NOT_CALLS: &[&str] = &[
    "if", "for", "while", "switch", "catch", "function", "return", "typeof", "with", "do", "else",
    "new", "in", "of", "void", "delete", "await", "yield", "async",
];

/// Words without which a script cannot hold any payload the recognisers
/// accept (they match keys and event names case-sensitively too); scripts
/// and call arguments lacking all of them are skipped unparsed, which keeps
/// large application scripts cheap.
const BASE_TRIGGERS: &[&str] = &[
    "transaction",
    "purchase",
    "ecommerce",
    "ec:",
    "ordersTrackingData",
    "Order\"",
    "OrderConfirmation",
];

/// Fast pre-filter: does a script mention anything worth parsing?
#[derive(Debug, Clone)]
pub struct Triggers {
    finders: Vec<memchr::memmem::Finder<'static>>,
}

impl Triggers {
    /// The built-in trigger words plus `extra` (the configured order id
    /// field names, which generic order objects are recognised by).
    pub fn new(extra: &[String]) -> Self {
        let mut words: Vec<&str> = BASE_TRIGGERS
            .iter()
            .chain(super::pixels::TRIGGERS)
            .copied()
            .chain(extra.iter().map(String::as_str))
            .filter(|w| !w.is_empty())
            .collect();
        words.sort_unstable();
        words.dedup();
        Triggers {
            finders: words
                .iter()
                .map(|w| memchr::memmem::Finder::new(w.as_bytes()).into_owned())
                .collect(),
        }
    }

    /// True when `body` contains any trigger word.
    pub fn any_in(&self, body: &str) -> bool {
        let s = body.as_bytes();
        self.finders.iter().any(|f| f.find(s).is_some())
    }
}

/// Scans a script body and returns the literals found, in source order.
/// Only literals that mention a trigger word are parsed.
pub fn scan(body: &str, kind: ScriptKind, triggers: &Triggers) -> Vec<Found> {
    if !triggers.any_in(body) {
        return Vec::new();
    }
    match kind {
        ScriptKind::Ignored => Vec::new(),
        ScriptKind::Json => {
            // JSON blocks sometimes carry a trailing comment or `;`.
            match jsvalue::parse_value(body.trim_start_matches('\u{feff}')) {
                Ok(v @ (JsValue::Object(_) | JsValue::Array(_))) => vec![Found::Json(v)],
                _ => Vec::new(),
            }
        }
        ScriptKind::JavaScript => scan_js(body, triggers),
    }
}

fn scan_js(body: &str, triggers: &Triggers) -> Vec<Found> {
    let s = body.as_bytes();
    let mut out = Vec::new();
    // Work allowed for this script, in bytes looked at again by the trigger
    // check and the literal parser; keeps nesting from going quadratic.
    let mut budget = s.len().saturating_mul(16).max(4096);
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
                i = jsvalue::skip_regex(s, i);
                last_sig = b'/';
            }
            _ if b.is_ascii_alphabetic() || b == b'_' || b == b'$' => {
                let (path, end) = read_path(body, i);
                let j = jsvalue::skip_ws(s, end);
                let last_seg = path.rsplit('.').next().unwrap_or("");
                if s.get(j) == Some(&b'(') && !NOT_CALLS.contains(&last_seg) {
                    let extent = jsvalue::skip_balanced(s, j);
                    budget = budget.saturating_sub(extent - j);
                    let parsed = if triggers.any_in(&body[j..extent]) {
                        let p = jsvalue::parse_args_at(body, j + 1);
                        budget = budget.saturating_sub(consumed(&p, j));
                        p.ok()
                    } else {
                        None
                    };
                    if let Some((args, _)) = parsed {
                        // Literals, or an analytics.js plugin command such as
                        // `ga('ec:setAction', 'detail')` that changes state.
                        let plugin_command = args
                            .first()
                            .and_then(JsValue::as_str)
                            .is_some_and(|c| c.contains("ec:") || c.contains("ecommerce:"));
                        if plugin_command
                            || args
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
                    let k = jsvalue::skip_ws(s, j + 1);
                    let parsed = if matches!(s.get(k), Some(b'{' | b'[')) {
                        let extent = jsvalue::skip_balanced(s, k);
                        budget = budget.saturating_sub(extent - k);
                        if triggers.any_in(&body[k..extent]) {
                            let p = jsvalue::parse_value_at(body, k);
                            budget = budget.saturating_sub(consumed(&p, k));
                            p.ok()
                        } else {
                            None
                        }
                    } else {
                        None
                    };
                    if let Some((value, _)) = parsed {
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
        let found = scan(
            js,
            ScriptKind::JavaScript,
            &Triggers::new(&["order_id".into()]),
        );
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
    fn triggers_skip_scripts_without_payload_words() {
        let t = Triggers::new(&["orderId".to_string()]);
        assert!(!t.any_in("window.app.register('w', {border: 1, label: 'Ünï'});"));
        assert!(t.any_in("gtag('event', 'purchase', {})"));
        assert!(t.any_in("x({\"@type\": \"Order\"})"));
        assert!(t.any_in("m.render({orderId: 5})"));
        assert!(!t.any_in("order orderid"));
    }

    #[test]
    fn json_blocks_and_ignored_types() {
        let t = Triggers::new(&[]);
        assert_eq!(
            scan("{\"a\":1, \"purchase\": 2}", ScriptKind::Json, &t).len(),
            1
        );
        assert_eq!(scan("{\"a\":1}", ScriptKind::Json, &t).len(), 0);
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
        for delayed in [
            "rocketlazyloadscript",
            "litespeed/javascript",
            "text/partytown",
            "pmdelayedscript",
            "4f3c2b1a9e8d7c6b5a4f3e2d-text/javascript",
        ] {
            assert_eq!(
                ScriptKind::from_type(Some(delayed)),
                ScriptKind::JavaScript,
                "{delayed}"
            );
        }
        assert_eq!(
            ScriptKind::from_type(Some("text/html")),
            ScriptKind::Ignored
        );
    }
}
