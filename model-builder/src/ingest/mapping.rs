//! Mapping files: how another export layout maps onto the generic schema
//! (column names) and which rows to keep (filters).
//!
//! ```toml
//! [columns]            # canonical field = source column
//! order_id = "InvoiceNo"
//! sku = "StockCode"
//! [[filters]]          # a row is kept only if every filter passes
//! field = "order_id"   # canonical field, or any source column name
//! not_starts_with = "C"
//! ```
//!
//! JSON Lines may hold one order line per line, or one order per line with
//! its lines in an array (`items = "line_items"`; a line's own fields win
//! over the order's).
//!
//! Exports with no order number name the columns that together make one
//! (`order_id = ["CUSTOMER_ID", "TRANSACTION_DT"]`: a customer's day).
//!
//! CSV exports from European tools often use `;`: the delimiter is read from
//! the header (`,`, `;`, tab or `|`) unless `delimiter = ";"` names it.
//! Timestamps in a layout the built-in ones miss take `ts_format =
//! "%m/%d/%Y %H:%M"` (see [`TsFormat`]). Numbers such as `1,331` read by
//! the file's convention ([`Decimal`]) unless `decimal = ","` names it.
use std::collections::BTreeMap;
use std::path::Path;

use super::time::parse_timestamp;
use super::ts_format::TsFormat;

use regex::Regex;
use serde::Deserialize;

use super::error::InputError;

/// Canonical fields of the generic schema.
pub const FIELDS: [&str; 9] = [
    "order_id",
    "sku",
    "ts",
    "region",
    "price",
    "quantity",
    "category",
    "customer_id",
    "brand",
];

/// One filter as written in the mapping file: a field and exactly one test.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    /// Canonical field or source column the test reads.
    pub field: String,
    /// Keep rows whose value starts with this.
    pub starts_with: Option<String>,
    /// Keep rows whose value does not start with this.
    pub not_starts_with: Option<String>,
    /// Keep rows whose value matches this regular expression.
    pub matches: Option<String>,
    /// Keep rows whose value does not match this regular expression.
    pub not_matches: Option<String>,
    /// Keep rows whose value equals this.
    pub equals: Option<String>,
    /// Keep rows whose value differs from this.
    pub not_equals: Option<String>,
    /// Keep rows whose numeric value is greater.
    pub gt: Option<f64>,
    /// Keep rows whose numeric value is greater or equal.
    pub ge: Option<f64>,
    /// Keep rows whose numeric value is smaller.
    pub lt: Option<f64>,
    /// Keep rows whose numeric value is smaller or equal.
    pub le: Option<f64>,
}

/// The source of a field: one column, or (order id only) several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ColumnSpec {
    /// One column.
    One(String),
    /// Columns whose values together make the value.
    Many(Vec<String>),
}

/// A mapping file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    /// `csv`, `jsonl` or `parquet`; by default taken from the file name (or a
    /// Parquet file's magic bytes).
    pub format: Option<String>,
    /// Canonical field → source column (unmapped fields keep their own name).
    /// `order_id` may list several columns that together identify an order
    /// (`["CUSTOMER_ID", "TRANSACTION_DT"]` for exports with no order number).
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnSpec>,
    /// Row filters.
    #[serde(default)]
    pub filters: Vec<FilterSpec>,
    /// JSON Lines with one order per line: the field holding its array of
    /// line objects (by default `items`, `line_items`, `lines` or `products`
    /// when the order object has no SKU field of its own).
    pub items: Option<String>,
    /// CSV field delimiter, one character (`\t` for tab); by default read
    /// from the header line.
    pub delimiter: Option<String>,
    /// Layout of the `ts` column (`strftime` subset); by default RFC 3339,
    /// `YYYY-MM-DD[ HH:MM[:SS]]`, `YYYYMMDD` or Unix epoch numbers.
    pub ts_format: Option<String>,
    /// The decimal point, `.` or `,`, for numbers like `1,331` that read
    /// either way; by default `.` in `,`-separated CSV and JSON Lines, `,`
    /// in CSV separated otherwise.
    pub decimal: Option<String>,
}

/// A compiled test of a filter.
#[derive(Debug, Clone)]
pub enum Test {
    /// Value starts with.
    StartsWith(String),
    /// Value does not start with.
    NotStartsWith(String),
    /// Value matches.
    Matches(Regex),
    /// Value does not match.
    NotMatches(Regex),
    /// Value equals.
    Equals(String),
    /// Value differs.
    NotEquals(String),
    /// Number greater than.
    Gt(f64),
    /// Number at least.
    Ge(f64),
    /// Number smaller than.
    Lt(f64),
    /// Number at most.
    Le(f64),
}

/// A compiled filter: the source column it reads and its test.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Source column name.
    pub column: String,
    /// The test.
    pub test: Test,
}

/// Outcome of a filter on one value.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The row passes.
    Keep,
    /// The row is filtered out.
    Drop,
    /// The value is not a number where one is needed.
    NotANumber,
}

/// What a lone separator followed by exactly three digits means (`1,331`,
/// `1.331`): thousands or a decimal point. Every other form reads the same
/// either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decimal {
    /// `.` is the decimal point: `1,331` is 1331, `1.331` is 1.331.
    Dot,
    /// `,` is the decimal point: `1,331` is 1.331, `1.331` is 1331.
    Comma,
}

impl Decimal {
    /// The convention of a CSV with this delimiter: a `,`-separated file
    /// quotes `"1,331"` when `,` groups thousands (US, UK, Japan); exports
    /// from decimal-comma locales separate fields with `;` or tabs.
    pub fn for_delimiter(delim: u8) -> Self {
        if delim == b',' {
            Decimal::Dot
        } else {
            Decimal::Comma
        }
    }
}

/// A number as exports write it: `5.99`, or with a decimal comma (`5,99`, as
/// `;`-separated European exports do), or with thousands separators
/// (`1,331.99`, `1.331,99`, `1,331,000`). One separator before exactly three
/// digits (`1,331`, `1.331`) is read by `decimal`. Only finite values.
pub fn parse_number(value: &str, decimal: Decimal) -> Option<f64> {
    let v = value.trim();
    if let Some(x) = plain_decimal(v) {
        return Some(x);
    }
    let (mut commas, mut dots) = (0, 0);
    for b in v.bytes() {
        commas += usize::from(b == b',');
        dots += usize::from(b == b'.');
    }
    // A lone separator, three digits after it and a whole part that is not
    // zero: the only ambiguous form.
    let lone = |sep: char| {
        let Some((whole, frac)) = v.split_once(sep) else {
            return false;
        };
        let whole = whole.trim_start_matches(['-', '+']);
        frac.len() == 3
            && frac.bytes().all(|b| b.is_ascii_digit())
            && !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && whole.trim_start_matches('0') == whole
    };
    let plain = match (commas, dots) {
        (0, 1) if decimal == Decimal::Comma && lone('.') => v.replace('.', ""),
        (1, 0) if decimal == Decimal::Dot && lone(',') => v.replace(',', ""),
        (0, _) => return v.parse::<f64>().ok().filter(|x| x.is_finite()),
        (1, 0) => v.replace(',', "."),
        (_, 0) => v.replace(',', ""),
        _ if v.rfind(',') > v.rfind('.') && commas == 1 => v.replace('.', "").replace(',', "."),
        _ if v.rfind('.') > v.rfind(',') && dots == 1 => v.replace(',', ""),
        _ => return None,
    };
    plain.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// `[-]digits[.digits]` with at most 15 digits and a decimal part of 1 or 2
/// digits (or none), the usual price or quantity, computed exactly (an
/// integer below 2^53 over an exact power of ten, one correctly rounded
/// division: the same value `str::parse` gives); `None` for anything else,
/// including `1.331`, which may mean 1331.
fn plain_decimal(v: &str) -> Option<f64> {
    let (neg, digits) = match v.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    let (whole, frac) = match digits.iter().position(|&b| b == b'.') {
        Some(p) => (&digits[..p], &digits[p + 1..]),
        None => (digits, &digits[..0]),
    };
    if whole.is_empty() || frac.len() > 2 || whole.len() + frac.len() > 15 {
        return None;
    }
    let mut m: u64 = 0;
    for &b in whole.iter().chain(frac) {
        if !b.is_ascii_digit() {
            return None;
        }
        m = m * 10 + u64::from(b - b'0');
    }
    let x = m as f64 / [1.0, 10.0, 100.0][frac.len()];
    Some(if neg { -x } else { x })
}

impl Filter {
    /// Applies the test to a value (a missing value is the empty string).
    pub fn check(&self, value: &str, decimal: Decimal) -> Verdict {
        let num = || parse_number(value, decimal);
        let keep = match &self.test {
            Test::StartsWith(p) => value.starts_with(p.as_str()),
            Test::NotStartsWith(p) => !value.starts_with(p.as_str()),
            Test::Matches(r) => r.is_match(value),
            Test::NotMatches(r) => !r.is_match(value),
            Test::Equals(p) => value == p,
            Test::NotEquals(p) => value != p,
            Test::Gt(x) => match num() {
                Some(v) => v > *x,
                None => return Verdict::NotANumber,
            },
            Test::Ge(x) => match num() {
                Some(v) => v >= *x,
                None => return Verdict::NotANumber,
            },
            Test::Lt(x) => match num() {
                Some(v) => v < *x,
                None => return Verdict::NotANumber,
            },
            Test::Le(x) => match num() {
                Some(v) => v <= *x,
                None => return Verdict::NotANumber,
            },
        };
        if keep {
            Verdict::Keep
        } else {
            Verdict::Drop
        }
    }
}

/// A compiled mapping: source column per canonical field, and filters.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Format override (`csv` / `jsonl`).
    pub format: Option<String>,
    /// Source column per canonical field, in [`FIELDS`] order (for a
    /// composite order id, its first column).
    pub columns: Vec<String>,
    /// Further columns of a composite order id, after `columns[0]`.
    pub order_key_extra: Vec<String>,
    /// Filters, all of which a row must pass.
    pub filters: Vec<Filter>,
    /// JSON Lines: the field of an order object that holds its line objects.
    pub items: Option<String>,
    /// CSV delimiter named by the mapping (else read from the header).
    pub delimiter: Option<u8>,
    /// The `ts` column's layout named by the mapping.
    pub ts_format: Option<TsFormat>,
    /// The decimal point named by the mapping (else by the file's kind:
    /// [`Decimal::for_delimiter`]).
    pub decimal: Option<Decimal>,
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping::compile(MappingSpec::default(), Path::new("<built-in>"))
            .expect("the built-in generic mapping is valid")
    }
}

impl Mapping {
    /// The generic schema (identity mapping, no filters).
    pub fn generic() -> Self {
        Mapping::default()
    }

    /// Reads and compiles a mapping file.
    pub fn load(path: &Path) -> Result<Self, InputError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::file(path, format!("cannot read mapping: {e}")))?;
        let spec: MappingSpec = toml::from_str(&text)
            .map_err(|e| InputError::file(path, format!("invalid mapping: {e}")))?;
        Mapping::compile(spec, path)
    }

    /// Checks and compiles a parsed mapping.
    pub fn compile(spec: MappingSpec, path: &Path) -> Result<Self, InputError> {
        for key in spec.columns.keys() {
            if !FIELDS.contains(&key.as_str()) {
                return Err(InputError::file(
                    path,
                    format!(
                        "unknown field `{key}` in [columns] (known: {})",
                        FIELDS.join(", ")
                    ),
                ));
            }
        }
        if let Some(f) = &spec.format {
            if !matches!(f.as_str(), "csv" | "jsonl" | "parquet") {
                return Err(InputError::file(
                    path,
                    format!("format must be csv, jsonl or parquet, not `{f}`"),
                ));
            }
        }
        let delimiter = match spec.delimiter.as_deref() {
            None => None,
            Some("\\t" | "tab") => Some(b'\t'),
            Some(d) if d.len() == 1 && !matches!(d, "\"" | "\r" | "\n") => Some(d.as_bytes()[0]),
            Some(d) => {
                return Err(InputError::file(
                    path,
                    format!("delimiter must be one ASCII character other than a quote or line break (or \"\\t\"), not {d:?}"),
                ))
            }
        };
        let decimal = match spec.decimal.as_deref() {
            None => None,
            Some(".") => Some(Decimal::Dot),
            Some(",") => Some(Decimal::Comma),
            Some(d) => {
                return Err(InputError::file(
                    path,
                    format!("decimal must be \".\" or \",\", not {d:?}"),
                ))
            }
        };
        let ts_format = match spec.ts_format.as_deref() {
            None => None,
            Some(t) => Some(
                TsFormat::compile(t)
                    .map_err(|e| InputError::file(path, format!("ts_format {t:?}: {e}")))?,
            ),
        };
        let mut order_key_extra = Vec::new();
        let mut columns: Vec<String> = Vec::with_capacity(FIELDS.len());
        for f in FIELDS {
            columns.push(match spec.columns.get(f) {
                None => f.to_string(),
                Some(ColumnSpec::One(c)) => c.clone(),
                Some(ColumnSpec::Many(cs)) if f == "order_id" && !cs.is_empty() => {
                    order_key_extra = cs[1..].to_vec();
                    cs[0].clone()
                }
                Some(ColumnSpec::Many(_)) => {
                    return Err(InputError::file(
                        path,
                        format!("[columns] {f}: a list of columns is allowed for order_id only, and not empty"),
                    ))
                }
            });
        }
        let mut filters = Vec::new();
        for (n, f) in spec.filters.into_iter().enumerate() {
            let column = match FIELDS.iter().position(|x| *x == f.field) {
                Some(i) => columns[i].clone(),
                None => f.field.clone(),
            };
            let regex = |r: &str| {
                Regex::new(r).map_err(|e| {
                    InputError::file(
                        path,
                        format!("filter {} (`{}`): bad pattern: {e}", n + 1, f.field),
                    )
                })
            };
            let mut tests = Vec::new();
            if let Some(v) = &f.starts_with {
                tests.push(Test::StartsWith(v.clone()));
            }
            if let Some(v) = &f.not_starts_with {
                tests.push(Test::NotStartsWith(v.clone()));
            }
            if let Some(v) = &f.matches {
                tests.push(Test::Matches(regex(v)?));
            }
            if let Some(v) = &f.not_matches {
                tests.push(Test::NotMatches(regex(v)?));
            }
            if let Some(v) = &f.equals {
                tests.push(Test::Equals(v.clone()));
            }
            if let Some(v) = &f.not_equals {
                tests.push(Test::NotEquals(v.clone()));
            }
            tests.extend(f.gt.map(Test::Gt));
            tests.extend(f.ge.map(Test::Ge));
            tests.extend(f.lt.map(Test::Lt));
            tests.extend(f.le.map(Test::Le));
            if tests.len() != 1 {
                return Err(InputError::file(
                    path,
                    format!(
                        "filter {} (`{}`) must have exactly one test, has {}",
                        n + 1,
                        f.field,
                        tests.len()
                    ),
                ));
            }
            filters.push(Filter {
                column,
                test: tests.pop().expect("one test"),
            });
        }
        Ok(Mapping {
            format: spec.format,
            items: spec.items,
            delimiter,
            ts_format,
            decimal,
            columns,
            order_key_extra,
            filters,
        })
    }

    /// Unix seconds of a `ts` value, read with the mapping's layout if it
    /// names one, else with the built-in ones.
    pub fn timestamp(&self, value: &str) -> Option<i64> {
        match &self.ts_format {
            Some(f) => f.parse(value),
            None => parse_timestamp(value),
        }
    }

    /// What a `ts` value must look like, for error messages.
    pub fn timestamp_layouts(&self) -> String {
        match &self.ts_format {
            Some(f) => format!("layout {:?} from the mapping's ts_format", f.text()),
            None => "RFC 3339, YYYY-MM-DD HH:MM:SS, YYYYMMDD or Unix epoch; a mapping's ts_format reads others".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> Result<Mapping, InputError> {
        Mapping::compile(toml::from_str(text).unwrap(), Path::new("m.toml"))
    }

    #[test]
    fn filters_keep_and_drop() {
        let m = compile(
            r#"
            [columns]
            order_id = "InvoiceNo"
            [[filters]]
            field = "order_id"
            not_starts_with = "C"
            [[filters]]
            field = "Quantity"
            gt = 0
            [[filters]]
            field = "sku"
            matches = "^[0-9]{5}"
            "#,
        )
        .unwrap();
        assert_eq!(m.columns[0], "InvoiceNo");
        assert_eq!(m.filters[0].column, "InvoiceNo");
        assert_eq!(m.filters[0].check("C536379", Decimal::Dot), Verdict::Drop);
        assert_eq!(m.filters[0].check("536379", Decimal::Dot), Verdict::Keep);
        assert_eq!(m.filters[1].column, "Quantity");
        assert_eq!(m.filters[1].check("0", Decimal::Dot), Verdict::Drop);
        assert_eq!(m.filters[1].check(" 3", Decimal::Dot), Verdict::Keep);
        assert_eq!(m.filters[1].check("x", Decimal::Dot), Verdict::NotANumber);
        assert_eq!(m.filters[2].column, "sku");
        assert_eq!(m.filters[2].check("85123A", Decimal::Dot), Verdict::Keep);
        assert_eq!(m.filters[2].check("POST", Decimal::Dot), Verdict::Drop);
    }

    #[test]
    fn bad_mappings_are_rejected_with_the_reason() {
        let e = compile("[columns]\nsku_code = \"x\"").unwrap_err();
        assert!(e.to_string().contains("unknown field `sku_code`"), "{e}");
        let e = compile("[[filters]]\nfield = \"sku\"\ngt = 1\nlt = 3").unwrap_err();
        assert!(e.to_string().contains("exactly one test"), "{e}");
        let e = compile("[[filters]]\nfield = \"sku\"\nmatches = \"(\"").unwrap_err();
        assert!(e.to_string().contains("bad pattern"), "{e}");
        assert!(compile("format = \"xml\"").is_err());
        let e = compile("delimiter = \";;\"").unwrap_err();
        assert!(e.to_string().contains("delimiter"), "{e}");
        let e = compile("ts_format = \"%d/%m/%Q\"").unwrap_err();
        assert!(
            e.to_string().contains("ts_format") && e.to_string().contains("%Q"),
            "{e}"
        );
    }

    #[test]
    fn numbers_with_decimal_commas_and_thousands_separators() {
        for (text, want) in [
            ("5.99", Some(5.99)),
            (" 5,99 ", Some(5.99)),
            ("-2", Some(-2.0)),
            ("1,331.99", Some(1331.99)),
            ("1.331,99", Some(1331.99)),
            ("1,331,000", Some(1_331_000.0)),
            ("1.331.000,5", Some(1_331_000.5)),
            ("1,2,3.4.5", None),
            ("abc", None),
            ("", None),
            ("inf", None),
        ] {
            for decimal in [Decimal::Dot, Decimal::Comma] {
                assert_eq!(parse_number(text, decimal), want, "{text:?} {decimal:?}");
            }
        }
    }

    #[test]
    fn plain_decimals_read_exactly_as_str_parse_does() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let whole = seed % 10u64.pow(1 + (seed >> 60) as u32 % 12);
            let text = match seed >> 58 & 3 {
                0 => format!("{whole}"),
                1 => format!("{whole}.{}", seed >> 20 & 7),
                2 => format!("-{whole}.{:02}", seed >> 24 & 63),
                _ => format!("{whole}.{:02}", (seed >> 30) % 100),
            };
            let want = text.parse::<f64>().unwrap();
            let got = plain_decimal(&text).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{text}");
        }
        for text in ["1.331", "+5", ".5", "1e3", "1,5", "", "-", "0x1"] {
            assert_eq!(plain_decimal(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_lone_separator_before_three_digits_follows_the_files_convention() {
        use Decimal::{Comma, Dot};
        for (text, decimal, want) in [
            ("1,331", Dot, 1331.0),
            ("1,331", Comma, 1.331),
            ("1.331", Dot, 1.331),
            ("1.331", Comma, 1331.0),
            ("-12,500", Dot, -12500.0),
            ("0,331", Dot, 0.331),
            ("0.331", Comma, 0.331),
            ("1,33", Dot, 1.33),
            ("1,3310", Dot, 1.331),
            ("1.5", Comma, 1.5),
        ] {
            assert_eq!(
                parse_number(text, decimal),
                Some(want),
                "{text:?} {decimal:?}"
            );
        }
        assert_eq!(Decimal::for_delimiter(b','), Dot);
        assert_eq!(Decimal::for_delimiter(b';'), Comma);
        assert_eq!(Decimal::for_delimiter(b'\t'), Comma);
        assert_eq!(compile("decimal = \",\"").unwrap().decimal, Some(Comma));
        assert_eq!(compile("decimal = \".\"").unwrap().decimal, Some(Dot));
        assert_eq!(compile("").unwrap().decimal, None);
        let e = compile("decimal = \"x\"").unwrap_err();
        assert!(e.to_string().contains("decimal"), "{e}");
    }

    #[test]
    fn composite_order_ids() {
        let m = compile(
            "[columns]\norder_id = [\"CUSTOMER_ID\", \"TRANSACTION_DT\"]\nsku = \"PRODUCT_ID\"",
        )
        .unwrap();
        assert_eq!(m.columns[0], "CUSTOMER_ID");
        assert_eq!(m.order_key_extra, ["TRANSACTION_DT"]);
        assert_eq!(m.columns[1], "PRODUCT_ID");
        assert!(compile("[columns]\nsku = [\"a\", \"b\"]").is_err());
        assert!(compile("[columns]\norder_id = []").is_err());
    }

    #[test]
    fn delimiter_and_timestamp_layout() {
        assert_eq!(compile("delimiter = \";\"").unwrap().delimiter, Some(b';'));
        assert_eq!(
            compile("delimiter = \"\\t\"").unwrap().delimiter,
            Some(b'\t')
        );
        assert_eq!(compile("").unwrap().delimiter, None);
        let m = compile("ts_format = \"%m/%d/%Y %H:%M\"").unwrap();
        assert_eq!(m.timestamp("12/1/2010 8:26"), Some(1_291_191_960));
        assert_eq!(m.timestamp("2010-12-01 08:26"), None);
        assert_eq!(
            compile("").unwrap().timestamp("2010-12-01 08:26"),
            Some(1_291_191_960)
        );
    }
}
