//! Catalog files: CSV, a JSON array, or JSON Lines with
//! `sku, title, price, url, image, category, in_stock` and optional `cost`.
use std::io::Read;
use std::path::Path;

use super::error::InputError;
use super::source::open;

/// One catalog row.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogRow {
    /// SKU id string.
    pub sku: String,
    /// Title.
    pub title: String,
    /// Unit price.
    pub price: f32,
    /// Product page URL.
    pub url: String,
    /// Image URL.
    pub image: String,
    /// Category, if any.
    pub category: Option<String>,
    /// In stock (true when the column is absent).
    pub in_stock: bool,
    /// Unit cost, if known.
    pub cost: Option<f32>,
}

const COLUMNS: [&str; 8] = [
    "sku", "title", "price", "url", "image", "category", "in_stock", "cost",
];

fn parse_row(
    path: &Path,
    line: u64,
    get: &dyn Fn(usize) -> Option<String>,
) -> Result<CatalogRow, InputError> {
    let val = |i: usize| {
        get(i)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let err = |i: usize, m: String| InputError::at(path, line, Some(COLUMNS[i]), m);
    let sku = val(0).ok_or_else(|| err(0, "empty (required)".into()))?;
    let num = |i: usize| -> Result<Option<f32>, InputError> {
        match val(i) {
            None => Ok(None),
            Some(v) => super::mapping::parse_number(&v, super::mapping::Decimal::Dot)
                .map(|x| x as f32)
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(Some)
                .ok_or_else(|| err(i, format!("not a non-negative number: {v:?}"))),
        }
    };
    let price = num(2)?.ok_or_else(|| err(2, "empty (required: offers need a price)".into()))?;
    let cost = num(7)?;
    let in_stock = match val(6).map(|s| s.to_ascii_lowercase()) {
        None => true,
        Some(v) => match v.as_str() {
            "true" | "1" | "yes" | "y" | "t" => true,
            "false" | "0" | "no" | "n" | "f" => false,
            _ => {
                return Err(err(
                    6,
                    format!("not a boolean (true/false, 1/0, yes/no): {v:?}"),
                ))
            }
        },
    };
    Ok(CatalogRow {
        sku,
        title: val(1).unwrap_or_default(),
        price,
        url: val(3).unwrap_or_default(),
        image: val(4).unwrap_or_default(),
        category: val(5),
        in_stock,
        cost,
    })
}

fn json_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Reads a catalog (format by content: `[` → JSON array, `{` → JSON Lines, else CSV).
pub fn load_catalog(path: &Path) -> Result<Vec<CatalogRow>, InputError> {
    let mut text = String::new();
    open(path, false)?
        .read_to_string(&mut text)
        .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let mut rows = Vec::new();
    if trimmed.starts_with('[') {
        let items: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(trimmed)
            .map_err(|e| {
                InputError::at(
                    path,
                    e.line() as u64,
                    None,
                    format!("not a JSON array of objects: {e}"),
                )
            })?;
        for (n, obj) in items.iter().enumerate() {
            // a JSON array has no row lines: report the item number
            let get = |i: usize| obj.get(COLUMNS[i]).and_then(json_text);
            rows.push(parse_row(path, n as u64 + 1, &get).map_err(|mut e| {
                e.message = format!("(array item {}) {}", n + 1, e.message);
                e.line = None;
                e
            })?);
        }
    } else if trimmed.starts_with('{') {
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)
                .map_err(|e| {
                    InputError::at(path, n as u64 + 1, None, format!("not a JSON object: {e}"))
                })?;
            let get = |i: usize| obj.get(COLUMNS[i]).and_then(json_text);
            rows.push(parse_row(path, n as u64 + 1, &get)?);
        }
    } else {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(super::split::sniff_delimiter(text.as_bytes()))
            .flexible(true)
            .from_reader(text.as_bytes());
        let header: Vec<String> = rdr
            .headers()
            .map_err(|e| InputError::at(path, 1, None, format!("cannot read the header: {e}")))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let index: Vec<Option<usize>> = COLUMNS
            .iter()
            .map(|c| header.iter().position(|h| h == c))
            .collect();
        for (i, required) in [(0, "sku"), (2, "price")] {
            if index[i].is_none() {
                return Err(InputError::at(
                    path,
                    1,
                    Some(required),
                    "required column missing from the header",
                ));
            }
        }
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                InputError::at(
                    path,
                    e.position().map_or(0, |p| p.line()),
                    None,
                    format!("malformed CSV: {e}"),
                )
            })?;
            let line = rec.position().map_or(0, |p| p.line());
            let get = |i: usize| index[i].and_then(|j| rec.get(j)).map(str::to_string);
            rows.push(parse_row(path, line, &get)?);
        }
    }
    Ok(rows)
}
