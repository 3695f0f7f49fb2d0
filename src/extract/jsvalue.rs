//! Tolerant parser for JavaScript object/array literals as they appear in
//! analytics snippets: single quotes, unquoted keys, trailing commas,
//! comments, function values and arbitrary expressions.
//!
//! It never panics, and bounds nesting depth and node count, so any input is
//! safe. Anything it cannot represent (functions, identifiers, expressions) is
//! kept as [`JsValue::Other`] and skipped over by bracket balancing.

/// Maximum nesting of arrays/objects before the parser gives up.
pub const MAX_DEPTH: usize = 48;
/// Maximum number of values in one parsed literal.
pub const MAX_NODES: usize = 50_000;
/// Longest string kept; longer strings are truncated (on a char boundary).
pub const MAX_STRING: usize = 4_096;

/// A small value tree for the literal subset of JavaScript.
#[derive(Debug, Clone, PartialEq)]
pub enum JsValue {
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
    /// `true` / `false`.
    Bool(bool),
    /// A numeric literal.
    Num(f64),
    /// A string literal (quotes and escapes resolved).
    Str(String),
    /// An array literal.
    Array(Vec<JsValue>),
    /// An object literal: keys in source order.
    Object(Vec<(String, JsValue)>),
    /// A bare identifier or dotted path, e.g. `window` or `a.b`.
    Ident(String),
    /// Anything else: a function, call, or expression we skipped.
    Other,
}

/// Why a literal could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the input where parsing failed.
    pub offset: usize,
    /// What went wrong.
    pub reason: &'static str,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl JsValue {
    /// Member `key` of an object (first match), if this is an object.
    pub fn get(&self, key: &str) -> Option<&JsValue> {
        match self {
            JsValue::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows a dotted path of object keys, e.g. `"ecommerce.purchase"`.
    pub fn path(&self, path: &str) -> Option<&JsValue> {
        path.split('.')
            .filter(|s| !s.is_empty())
            .try_fold(self, |v, k| v.get(k))
    }

    /// Elements if this is an array.
    pub fn as_array(&self) -> Option<&[JsValue]> {
        match self {
            JsValue::Array(a) => Some(a),
            _ => None,
        }
    }

    /// String content if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            JsValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// True for objects.
    pub fn is_object(&self) -> bool {
        matches!(self, JsValue::Object(_))
    }

    /// The value as an identifier-like text: strings (trimmed, non-empty) and
    /// integral numbers. Used for order ids and SKUs.
    pub fn as_id(&self) -> Option<String> {
        match self {
            JsValue::Str(s) => {
                let t = s.trim();
                (!t.is_empty()).then(|| t.to_string())
            }
            JsValue::Num(n) if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e17 => {
                Some(format!("{}", *n as i64))
            }
            JsValue::Num(n) if n.is_finite() => Some(n.to_string()),
            _ => None,
        }
    }

    /// The value as a number: numbers, and strings such as `'1,331.99'`,
    /// `"146.5200"` or `"€ 12,50"` (see [`parse_amount`]).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            JsValue::Num(n) if n.is_finite() => Some(*n),
            JsValue::Str(s) => parse_amount(s),
            _ => None,
        }
    }
}

/// Parses a money/quantity amount written as text: strips currency symbols
/// and spaces; when both `,` and `.` occur the later one is the decimal
/// separator; a lone `,` is a decimal separator unless exactly three digits
/// follow it (`1,331` is one thousand three hundred thirty-one).
pub fn parse_amount(text: &str) -> Option<f64> {
    let t = text.trim();
    let neg = t.starts_with('-');
    let kept: String = t
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .collect();
    if !kept.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let last_dot = kept.rfind('.');
    let last_comma = kept.rfind(',');
    let normal: String = match (last_dot, last_comma) {
        (Some(d), Some(c)) if c > d => kept.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => kept.replace(',', ""),
        (None, Some(c)) => {
            let after = kept.len() - c - 1;
            if after == 3 || kept.matches(',').count() > 1 {
                kept.replace(',', "")
            } else {
                kept.replace(',', ".")
            }
        }
        _ => kept,
    };
    // Several dots left (e.g. "1.234.567"): thousands separators.
    let normal = if normal.matches('.').count() > 1 {
        normal.replace('.', "")
    } else {
        normal
    };
    let v: f64 = normal.parse().ok()?;
    v.is_finite().then_some(if neg { -v } else { v })
}

/// Parses one value starting at byte `pos` of `src` (leading whitespace and
/// comments skipped). Returns the value and the offset just after it.
pub fn parse_value_at(src: &str, pos: usize) -> Result<(JsValue, usize), ParseError> {
    let mut p = Parser {
        s: src.as_bytes(),
        src,
        i: pos.min(src.len()),
        nodes: 0,
    };
    let v = p.value(0)?;
    Ok((v, p.i))
}

/// Parses a whole text as one value (e.g. a JSON-LD block); trailing `;` and
/// whitespace are allowed.
pub fn parse_value(src: &str) -> Result<JsValue, ParseError> {
    parse_value_at(src, 0).map(|(v, _)| v)
}

/// Parses a call's argument list; `pos` is just after the opening `(`.
/// Returns the arguments parsed before the closing `)` and the offset after
/// it. Arguments that are not literals come back as [`JsValue::Other`].
pub fn parse_args_at(src: &str, pos: usize) -> Result<(Vec<JsValue>, usize), ParseError> {
    let mut p = Parser {
        s: src.as_bytes(),
        src,
        i: pos.min(src.len()),
        nodes: 0,
    };
    let mut args = Vec::new();
    loop {
        p.ws();
        match p.peek() {
            Some(b')') => {
                p.i += 1;
                return Ok((args, p.i));
            }
            Some(b',') => p.i += 1,
            None => return Err(p.err("unterminated argument list")),
            _ => {
                if args.len() >= 64 {
                    return Err(p.err("too many arguments"));
                }
                args.push(p.value(1)?);
            }
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    nodes: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$' || b >= 0x80
}

fn is_ident_char(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

impl<'a> Parser<'a> {
    fn err(&self, reason: &'static str) -> ParseError {
        ParseError {
            offset: self.i,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips whitespace and comments (also HTML comment markers `<!--`/`-->`
    /// that old snippets wrap scripts in).
    fn ws(&mut self) {
        self.i = skip_ws(self.s, self.i);
    }

    fn value(&mut self, depth: usize) -> Result<JsValue, ParseError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(self.err("literal too large"));
        }
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.ws();
        let start = self.i;
        let prim = match self.peek() {
            None => return Err(self.err("unexpected end of input")),
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(q @ (b'\'' | b'"' | b'`')) => JsValue::Str(self.string(q)?),
            Some(b'-' | b'+' | b'.' | b'0'..=b'9') => self.number()?,
            Some(b) if is_ident_start(b) => self.word(depth)?,
            Some(b'(') => {
                // Parenthesised expression or arrow function parameters.
                self.i = skip_balanced(self.s, self.i);
                JsValue::Other
            }
            Some(b'/') => {
                // A regular expression literal.
                self.i = skip_regex(self.s, self.i);
                JsValue::Other
            }
            Some(b'!') => {
                self.i += 1;
                let v = self.value(depth + 1)?;
                match v {
                    JsValue::Num(n) => JsValue::Bool(n == 0.0),
                    JsValue::Bool(b) => JsValue::Bool(!b),
                    _ => JsValue::Other,
                }
            }
            Some(_) => return Err(self.err("unexpected character")),
        };
        // Anything that continues the expression (operators, member access,
        // calls, arrow bodies) turns the value into `Other`.
        if self.i == start {
            return Err(self.err("no progress"));
        }
        let after = skip_ws(self.s, self.i);
        match self.s.get(after) {
            Some(&b) if is_continuation(b) => {
                self.i = skip_expression(self.s, self.i);
                Ok(JsValue::Other)
            }
            _ => Ok(prim),
        }
    }

    fn object(&mut self, depth: usize) -> Result<JsValue, ParseError> {
        self.i += 1; // '{'
        let mut members = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                None => return Err(self.err("unterminated object")),
                Some(b'}') => {
                    self.i += 1;
                    return Ok(JsValue::Object(members));
                }
                Some(b',') => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            // Spread `...x`: skip.
            if self.s[self.i..].starts_with(b"...") {
                self.i = skip_expression(self.s, self.i + 3);
                continue;
            }
            let key = match self.peek() {
                Some(q @ (b'\'' | b'"' | b'`')) => self.string(q)?,
                Some(b'[') => {
                    self.i = skip_balanced(self.s, self.i);
                    "[computed]".to_string()
                }
                Some(b'0'..=b'9' | b'.' | b'-') => match self.number()? {
                    JsValue::Num(n) => JsValue::Num(n).as_id().unwrap_or_default(),
                    _ => String::new(),
                },
                Some(b) if is_ident_start(b) => self.ident().to_string(),
                _ => return Err(self.err("expected object key")),
            };
            self.ws();
            match self.peek() {
                Some(b':') => {
                    self.i += 1;
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                }
                // Shorthand `{a, b}`.
                Some(b',' | b'}') => members.push((key, JsValue::Other)),
                // Method `name(args) { body }` (also `get x() {}`).
                Some(b'(') | Some(_) if is_method_tail(self.s, self.i) => {
                    self.i = skip_expression(self.s, self.i);
                    members.push((key, JsValue::Other));
                }
                None => return Err(self.err("unterminated object")),
                _ => return Err(self.err("expected ':' after key")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<JsValue, ParseError> {
        self.i += 1; // '['
        let mut items = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                None => return Err(self.err("unterminated array")),
                Some(b']') => {
                    self.i += 1;
                    return Ok(JsValue::Array(items));
                }
                Some(b',') => {
                    self.i += 1;
                    continue;
                }
                _ => {
                    if self.s[self.i..].starts_with(b"...") {
                        self.i = skip_expression(self.s, self.i + 3);
                        continue;
                    }
                    items.push(self.value(depth + 1)?);
                }
            }
        }
    }

    fn ident(&mut self) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(is_ident_char) {
            self.i += 1;
        }
        // Identifier chars are ASCII or any byte >= 0x80; stop on a char
        // boundary in case a multi-byte char was cut.
        let mut end = self.i;
        while !self.src.is_char_boundary(end) {
            end -= 1;
        }
        &self.src[start..end]
    }

    fn word(&mut self, depth: usize) -> Result<JsValue, ParseError> {
        let w = self.ident();
        Ok(match w {
            "true" => JsValue::Bool(true),
            "false" => JsValue::Bool(false),
            "null" => JsValue::Null,
            "undefined" => JsValue::Undefined,
            "NaN" | "Infinity" => JsValue::Other,
            "function" | "async" | "class" => {
                // function name?(params) { body }
                self.i = skip_function(self.s, self.i);
                JsValue::Other
            }
            "new" | "typeof" | "void" => {
                self.i = skip_expression(self.s, self.i);
                JsValue::Other
            }
            _ => {
                let mut path = w.to_string();
                loop {
                    let j = skip_ws(self.s, self.i);
                    if self.s.get(j) == Some(&b'.')
                        && self.s.get(j + 1).is_some_and(|b| is_ident_start(*b))
                    {
                        self.i = j + 1;
                        let seg = self.ident();
                        if path.len() < 256 {
                            path.push('.');
                            path.push_str(seg);
                        }
                    } else {
                        break;
                    }
                }
                let _ = depth;
                JsValue::Ident(path)
            }
        })
    }

    fn number(&mut self) -> Result<JsValue, ParseError> {
        let start = self.i;
        let mut neg = false;
        if matches!(self.peek(), Some(b'-' | b'+')) {
            neg = self.peek() == Some(b'-');
            self.i += 1;
            self.ws();
        }
        let ns = self.i;
        if self.s[self.i..].len() > 2
            && self.s[self.i] == b'0'
            && matches!(self.s[self.i + 1], b'x' | b'X')
        {
            self.i += 2;
            let hs = self.i;
            while self.peek().is_some_and(|b| b.is_ascii_hexdigit()) {
                self.i += 1;
            }
            let v = u64::from_str_radix(&self.src[hs..self.i], 16).unwrap_or(0) as f64;
            return Ok(JsValue::Num(if neg { -v } else { v }));
        }
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'_'))
            || (matches!(self.peek(), Some(b'+' | b'-'))
                && matches!(self.s.get(self.i.wrapping_sub(1)), Some(b'e' | b'E')))
        {
            self.i += 1;
        }
        if self.i == ns {
            // A sign before something else (`-Infinity`, `-x`): an expression.
            if self.i == start {
                return Err(self.err("expected a number"));
            }
            self.i = skip_expression(self.s, self.i);
            return Ok(JsValue::Other);
        }
        let text: String = self.src[ns..self.i].chars().filter(|c| *c != '_').collect();
        match text.parse::<f64>() {
            Ok(v) => Ok(JsValue::Num(if neg { -v } else { v })),
            Err(_) => Ok(JsValue::Other),
        }
    }

    fn string(&mut self, quote: u8) -> Result<String, ParseError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            if b == quote {
                self.i += 1;
                return Ok(out);
            }
            if (b == b'\n' || b == b'\r') && quote != b'`' {
                return Err(self.err("newline in string"));
            }
            if b == b'\\' {
                self.i += 1;
                let Some(e) = self.peek() else {
                    return Err(self.err("unterminated string"));
                };
                self.i += 1;
                let c = match e {
                    b'n' => Some('\n'),
                    b't' => Some('\t'),
                    b'r' => Some('\r'),
                    b'b' => Some('\u{8}'),
                    b'f' => Some('\u{c}'),
                    b'v' => Some('\u{b}'),
                    b'0' => Some('\0'),
                    b'\n' => None,
                    b'\r' => {
                        if self.peek() == Some(b'\n') {
                            self.i += 1;
                        }
                        None
                    }
                    b'x' => {
                        let v = self.hex(2);
                        Some(v.and_then(char::from_u32).unwrap_or('\u{fffd}'))
                    }
                    b'u' => Some(self.unicode_escape()),
                    _ => {
                        // Any other escaped char stands for itself (`\/`, `\'`,
                        // or a multi-byte char).
                        self.i -= 1;
                        let ch = self.src[self.i..].chars().next().unwrap_or('\u{fffd}');
                        self.i += ch.len_utf8();
                        Some(ch)
                    }
                };
                if let Some(c) = c {
                    if out.len() < MAX_STRING {
                        out.push(c);
                    }
                }
                continue;
            }
            // Copy a run of plain bytes.
            let start = self.i;
            while self
                .peek()
                .is_some_and(|c| c != quote && c != b'\\' && c != b'\n' && c != b'\r')
            {
                self.i += 1;
            }
            if out.len() < MAX_STRING {
                let mut end = self.i.min(start + (MAX_STRING - out.len()));
                while !self.src.is_char_boundary(end) {
                    end -= 1;
                }
                out.push_str(&self.src[start..end]);
            }
            if quote == b'`' && matches!(self.peek(), Some(b'\n' | b'\r')) {
                self.i += 1;
                out.push('\n');
            }
        }
    }

    fn hex(&mut self, n: usize) -> Option<u32> {
        let end = self.i + n;
        let digits = self.src.get(self.i..end)?;
        let v = u32::from_str_radix(digits, 16).ok()?;
        self.i = end;
        Some(v)
    }

    fn unicode_escape(&mut self) -> char {
        if self.peek() == Some(b'{') {
            let close = self.s[self.i..]
                .iter()
                .take(10)
                .position(|b| *b == b'}')
                .map(|p| self.i + p);
            if let Some(close) = close {
                let v = self
                    .src
                    .get(self.i + 1..close)
                    .and_then(|d| u32::from_str_radix(d, 16).ok());
                self.i = close + 1;
                return v.and_then(char::from_u32).unwrap_or('\u{fffd}');
            }
            return '\u{fffd}';
        }
        let Some(hi) = self.hex(4) else {
            return '\u{fffd}';
        };
        if (0xD800..0xDC00).contains(&hi) && self.s[self.i..].starts_with(b"\\u") {
            let save = self.i;
            self.i += 2;
            if let Some(lo) = self.hex(4).filter(|lo| (0xDC00..0xE000).contains(lo)) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return char::from_u32(c).unwrap_or('\u{fffd}');
            }
            self.i = save;
        }
        char::from_u32(hi).unwrap_or('\u{fffd}')
    }
}

/// Bytes that continue an expression after a complete operand (so a value
/// followed by one is not a plain literal). A newline followed by a new
/// statement is not a continuation (automatic semicolon insertion).
fn is_continuation(b: u8) -> bool {
    matches!(
        b,
        b'.' | b'['
            | b'('
            | b'+'
            | b'-'
            | b'*'
            | b'/'
            | b'%'
            | b'?'
            | b'|'
            | b'&'
            | b'='
            | b'<'
            | b'>'
            | b'^'
            | b'`'
    )
}

/// True when the bytes at `i` look like a method definition tail: `( ... ) {`.
fn is_method_tail(s: &[u8], i: usize) -> bool {
    if s.get(i) != Some(&b'(') {
        return false;
    }
    let after = skip_ws(s, skip_balanced(s, i));
    s.get(after) == Some(&b'{')
}

/// Skips whitespace, `//` and `/* */` comments, and `<!--` / `-->` markers.
pub fn skip_ws(s: &[u8], mut i: usize) -> usize {
    loop {
        while s.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        let rest = s.get(i..).unwrap_or(&[]);
        if rest.starts_with(b"//") {
            while s.get(i).is_some_and(|b| *b != b'\n') {
                i += 1;
            }
        } else if rest.starts_with(b"/*") {
            i = match rest[2..].windows(2).position(|w| w == b"*/") {
                Some(p) => i + 2 + p + 2,
                None => s.len(),
            };
        } else if rest.starts_with(b"<!--") {
            i += 4;
        } else if rest.starts_with(b"-->") {
            i += 3;
        } else {
            return i;
        }
    }
}

/// Skips a string literal starting at the quote at `i`; returns the offset
/// after the closing quote (or the end of line/input if unterminated).
pub fn skip_string(s: &[u8], i: usize) -> usize {
    let q = s[i];
    let mut j = i + 1;
    while let Some(&b) = s.get(j) {
        if b == b'\\' {
            j += 2;
            continue;
        }
        if b == q {
            return j + 1;
        }
        if (b == b'\n') && q != b'`' {
            return j;
        }
        j += 1;
    }
    s.len()
}

/// Skips a bracketed region starting at the opener at `i` (`(`, `[` or `{`),
/// respecting strings and comments; returns the offset after the matching
/// closer (or the end of input).
pub fn skip_balanced(s: &[u8], i: usize) -> usize {
    let mut depth = 0usize;
    let mut j = i;
    while j < s.len() {
        match s[j] {
            b'(' | b'[' | b'{' => {
                depth += 1;
                j += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                j += 1;
                if depth == 0 {
                    return j;
                }
            }
            b'\'' | b'"' | b'`' => j = skip_string(s, j),
            b'/' if matches!(s.get(j + 1), Some(b'/' | b'*')) => j = skip_ws(s, j),
            _ => j += 1,
        }
    }
    s.len()
}

/// Skips the rest of an expression from `i`: stops before a `,`, `;`, or a
/// closer that does not belong to it, at nesting depth zero.
pub fn skip_expression(s: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < s.len() {
        match s[j] {
            b'(' | b'[' | b'{' => j = skip_balanced(s, j),
            b')' | b']' | b'}' | b',' | b';' => return j,
            b'\'' | b'"' | b'`' => j = skip_string(s, j),
            b'/' if matches!(s.get(j + 1), Some(b'/' | b'*')) => j = skip_ws(s, j),
            _ => j += 1,
        }
    }
    s.len()
}

/// Skips a regular-expression literal starting at the `/` at `i`; returns
/// the offset after its closing `/` and flags (or the end of the line).
pub fn skip_regex(s: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    let mut in_class = false;
    while let Some(&b) = s.get(j) {
        match b {
            b'\\' => j += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'/' if !in_class => {
                j += 1;
                while s.get(j).is_some_and(|b| b.is_ascii_alphabetic()) {
                    j += 1;
                }
                return j;
            }
            b'\n' => return j,
            _ => {}
        }
        j += 1;
    }
    s.len()
}

/// Skips `function name?(params) { body }` from just after the keyword.
fn skip_function(s: &[u8], i: usize) -> usize {
    let mut j = skip_ws(s, i);
    // Optional `*`, name, or (for `async`) the rest of an arrow function.
    while j < s.len() && s[j] != b'(' && s[j] != b'{' && !matches!(s[j], b',' | b'}' | b']' | b';')
    {
        j += 1;
    }
    if s.get(j) == Some(&b'(') {
        j = skip_ws(s, skip_balanced(s, j));
    }
    if s[j.min(s.len())..].starts_with(b"=>") {
        return skip_expression(s, j + 2);
    }
    if s.get(j) == Some(&b'{') {
        j = skip_balanced(s, j);
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(src: &str) -> JsValue {
        parse_value(src).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    #[test]
    fn parses_loose_object_literal() {
        let v = obj(
            "{event:'purchase', /* c */ ecommerce: {transaction_id: \"T1\", // x\n value: '1,331.99', items: [{item_id: 12, price: \"146.5200\", quantity: '2',},],},}",
        );
        assert_eq!(v.path("event").and_then(JsValue::as_str), Some("purchase"));
        let ec = v.get("ecommerce").unwrap();
        assert_eq!(ec.get("transaction_id").unwrap().as_id().unwrap(), "T1");
        assert_eq!(ec.get("value").unwrap().as_f64(), Some(1331.99));
        let item = &ec.get("items").unwrap().as_array().unwrap()[0];
        assert_eq!(item.get("item_id").unwrap().as_id().unwrap(), "12");
        assert_eq!(item.get("price").unwrap().as_f64(), Some(146.52));
        assert_eq!(item.get("quantity").unwrap().as_f64(), Some(2.0));
    }

    #[test]
    fn skips_functions_and_expressions() {
        let v = obj("{a: function(x){ return {y: '}'}; }, b: () => { if (x) {} }, c: new Date(), d: 'x' + y, e: w.z, f(){ }, g: 1}");
        assert_eq!(v.get("a"), Some(&JsValue::Other));
        assert_eq!(v.get("b"), Some(&JsValue::Other));
        assert_eq!(v.get("c"), Some(&JsValue::Other));
        assert_eq!(v.get("d"), Some(&JsValue::Other));
        assert_eq!(v.get("e"), Some(&JsValue::Ident("w.z".into())));
        assert_eq!(v.get("f"), Some(&JsValue::Other));
        assert_eq!(v.get("g"), Some(&JsValue::Num(1.0)));
        let v = obj("{re: /a'b[/]c/gi, n: -Infinity, m: -x.y, k: 'ok'}");
        assert_eq!(v.get("re"), Some(&JsValue::Other));
        assert_eq!(v.get("n"), Some(&JsValue::Other));
        assert_eq!(v.get("m"), Some(&JsValue::Other));
        assert_eq!(v.get("k").and_then(JsValue::as_str), Some("ok"));
    }

    #[test]
    fn resolves_escapes() {
        let v = obj(r#"{"s": "a<\/script>\u00e9\x41\uD83D\uDE00", t: 'it\'s'}"#);
        assert_eq!(v.get("s").unwrap().as_str(), Some("a</script>éA😀"));
        assert_eq!(v.get("t").unwrap().as_str(), Some("it's"));
    }

    #[test]
    fn parses_call_arguments() {
        let src = "gtag('event', 'purchase', {transaction_id: 'X'}) ;";
        let (args, end) = parse_args_at(src, 5).unwrap();
        assert_eq!(args.len(), 3);
        assert_eq!(&src[end..], " ;");
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("1,331.99"), Some(1331.99));
        assert_eq!(parse_amount("1.331,99"), Some(1331.99));
        assert_eq!(parse_amount("12,50 €"), Some(12.5));
        assert_eq!(parse_amount("$1,331"), Some(1331.0));
        assert_eq!(parse_amount("146.5200"), Some(146.52));
        assert_eq!(parse_amount("-3.5"), Some(-3.5));
        assert_eq!(parse_amount("n/a"), None);
    }

    #[test]
    fn bounded_depth_and_garbage_do_not_panic() {
        let deep = "[".repeat(10_000);
        assert!(parse_value(&deep).is_err());
        for s in [
            "{", "{a:", "'abc", "{a:1,,,}", "[1,2", "{'a' 1}", "\\", "-", "{[x]:1}", "0x",
        ] {
            let _ = parse_value(s);
        }
    }
}
