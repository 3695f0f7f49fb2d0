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
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut after_quote = false;
    let mut line = 1usize;
    let mut start_line = 1usize;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    in_quotes = false;
                    after_quote = true;
                }
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !after_quote => {
                in_quotes = true;
                any = true;
            }
            '"' => {
                return Err(CsvError {
                    line,
                    reason: "stray quote inside a field".into(),
                });
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                after_quote = false;
                any = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if any || !field.is_empty() {
                    fields.push(std::mem::take(&mut field));
                    records.push((start_line, std::mem::take(&mut fields)));
                }
                after_quote = false;
                any = false;
                line += 1;
                start_line = line;
            }
            _ if after_quote => {
                return Err(CsvError {
                    line,
                    reason: "text after a closing quote".into(),
                });
            }
            _ => {
                field.push(c);
                any = true;
            }
        }
    }
    if in_quotes {
        return Err(CsvError {
            line: start_line,
            reason: "unterminated quoted field".into(),
        });
    }
    if any || !field.is_empty() {
        fields.push(field);
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
    }
}
