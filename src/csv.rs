//! Minimal RFC 4180 CSV: quoting writer and a reader that reports line numbers.
//!
//! Enough for the report and ledger exports (and reading them back in the CLI)
//! without pulling a CSV crate into the wasm worker.

/// Appends one CSV record (quoted where needed) and a `\n` to `out`.
pub fn write_row<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let f = f.as_ref();
        if f.contains([',', '"', '\n', '\r']) || f.starts_with(' ') || f.ends_with(' ') {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push('\n');
}

/// A CSV syntax error at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvError {
    /// 1-based line where the bad record starts.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Parses CSV text into records, each with the 1-based line it starts on. Blank
/// lines are skipped; `\r\n` and `\n` both end records; quoted fields may span lines.
pub fn parse(text: &str) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    let b = text.as_bytes();
    let crlf = |i: usize| b[i] == b'\r' && b.get(i + 1) == Some(&b'\n');
    let mut i = 0;
    let mut line = 1;
    let mut records = Vec::new();
    while i < b.len() {
        if b[i] == b'\n' || crlf(i) {
            i += if b[i] == b'\n' { 1 } else { 2 };
            line += 1;
            continue;
        }
        let start_line = line;
        let mut fields = Vec::new();
        loop {
            if b.get(i) == Some(&b'"') {
                i += 1;
                let mut field = String::new();
                let mut seg = i;
                loop {
                    match b.get(i) {
                        None => {
                            return Err(CsvError {
                                line: start_line,
                                reason: "unterminated quoted field".into(),
                            })
                        }
                        Some(b'"') if b.get(i + 1) == Some(&b'"') => {
                            field.push_str(&text[seg..=i]);
                            i += 2;
                            seg = i;
                        }
                        Some(b'"') => {
                            field.push_str(&text[seg..i]);
                            i += 1;
                            break;
                        }
                        Some(b'\n') => {
                            line += 1;
                            i += 1;
                        }
                        Some(_) => i += 1,
                    }
                }
                fields.push(field);
            } else {
                let start = i;
                while i < b.len() && b[i] != b',' && b[i] != b'\n' && !crlf(i) {
                    if b[i] == b'"' {
                        return Err(CsvError {
                            line,
                            reason: "stray quote inside a field".into(),
                        });
                    }
                    i += 1;
                }
                fields.push(text[start..i].to_string());
            }
            match b.get(i) {
                None => break,
                Some(b',') => i += 1,
                Some(b'\n') => {
                    i += 1;
                    line += 1;
                    break;
                }
                Some(_) if crlf(i) => {
                    i += 2;
                    line += 1;
                    break;
                }
                Some(_) => {
                    return Err(CsvError {
                        line,
                        reason: "text after a closing quote".into(),
                    })
                }
            }
        }
        records.push((start_line, fields));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_quotes_commas_and_newlines() {
        let rows = vec![
            vec!["a".to_string(), "b,c".into(), "say \"hi\"".into()],
            vec!["multi\nline".into(), "".into(), " padded ".into()],
        ];
        let mut out = String::new();
        for r in &rows {
            write_row(&mut out, r);
        }
        let parsed = parse(&out).unwrap();
        assert_eq!(
            parsed.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
            rows
        );
        assert_eq!(parsed[0].0, 1);
        assert_eq!(parsed[1].0, 2);
    }

    #[test]
    fn errors_carry_lines() {
        assert_eq!(parse("a,b\nc,\"d").unwrap_err().line, 2);
        assert_eq!(parse("a,b\r\nc,d\"x\n").unwrap_err().line, 2);
        assert_eq!(parse("x\n\n\ny\n").unwrap()[1].0, 4);
        assert_eq!(
            parse("a,\"b\"c\n").unwrap_err().reason,
            "text after a closing quote"
        );
        let trailing = parse("a,\r\n\"\",b").unwrap();
        assert_eq!(trailing[0].1, vec!["a".to_string(), String::new()]);
        assert_eq!(trailing[1].1, vec![String::new(), "b".to_string()]);
    }
}
