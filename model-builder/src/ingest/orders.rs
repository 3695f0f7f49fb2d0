//! Reading order lines (CSV or JSON Lines, optionally gzip) into a compact
//! [`Dataset`]: interned SKUs, regions, brands and categories, one record per
//! order, and (order, SKU) line pairs.
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use super::error::InputError;
use super::mapping::{Mapping, Verdict, FIELDS};
use super::source::{format_of, open};
use super::time::parse_timestamp;

const ORDER_ID: usize = 0;
const SKU: usize = 1;
const TS: usize = 2;
const REGION: usize = 3;
const PRICE: usize = 4;
const QUANTITY: usize = 5;
const CATEGORY: usize = 6;
const CUSTOMER: usize = 7;
const BRAND: usize = 8;

/// How to read orders.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Skip malformed rows (counted and reported) instead of failing.
    pub skip_bad_rows: bool,
    /// Show a progress bar per file.
    pub progress: bool,
}

/// One order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Order {
    /// Unix seconds, if the input has timestamps.
    pub ts: Option<i64>,
    /// Region id (index into [`Dataset::regions`]).
    pub region: Option<u32>,
    /// Brand id (index into [`Dataset::brands`]; `default` when absent).
    pub brand: u32,
}

/// Counts of what ingest did with the rows.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct IngestStats {
    /// Data rows read.
    pub rows: u64,
    /// Rows kept.
    pub kept: u64,
    /// Rows dropped by the mapping's filters.
    pub filtered: u64,
    /// Malformed rows skipped (only with `--skip-bad-rows`).
    pub skipped_bad: u64,
    /// The first few skipped rows' errors.
    pub bad_examples: Vec<String>,
}

/// Everything read from the order files.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// SKU strings by id.
    pub skus: Vec<String>,
    /// Category of each SKU (last seen), if any.
    pub sku_category: Vec<Option<u32>>,
    /// Sum and count of line prices per SKU (for a default price).
    pub sku_price: Vec<(f64, u32)>,
    /// Category names by id.
    pub categories: Vec<String>,
    /// Region names by id.
    pub regions: Vec<String>,
    /// Brand names by id.
    pub brands: Vec<String>,
    /// Orders by id.
    pub orders: Vec<Order>,
    /// Customer id string per order, if the input has it (`None` otherwise).
    pub customers: Option<Vec<u32>>,
    /// (order id, SKU id) per kept line.
    pub lines: Vec<(u32, u32)>,
    /// What ingest did.
    pub stats: IngestStats,
}

#[derive(Default)]
struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(s.into(), id);
        self.names.push(s.to_string());
        id
    }
}

/// A 64-bit FxHash of (brand, order id): orders are keyed by hash to keep
/// memory flat at tens of millions of orders (collision odds ~1e-5 at 18M).
fn order_key(brand: u32, id: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write_u32(brand);
    h.write(id.as_bytes());
    let x = h.finish();
    // finaliser (splitmix64) so that similar ids spread
    let x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys")
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

struct Builder<'m> {
    mapping: &'m Mapping,
    opts: &'m LoadOptions,
    skus: Interner,
    categories: Interner,
    regions: Interner,
    brands: Interner,
    customers: Interner,
    order_ids: HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>,
    last_order: Option<(u64, u32)>,
    data: Dataset,
    customer_per_order: Vec<u32>,
    any_customer: bool,
}

/// Slot layout: the canonical fields first, then filter-only columns.
fn needed_columns(mapping: &Mapping) -> (Vec<String>, Vec<usize>) {
    let mut cols: Vec<String> = mapping.columns.clone();
    let mut filter_slots = Vec::new();
    for f in &mapping.filters {
        let slot = match cols.iter().position(|c| *c == f.column) {
            Some(i) => i,
            None => {
                cols.push(f.column.clone());
                cols.len() - 1
            }
        };
        filter_slots.push(slot);
    }
    (cols, filter_slots)
}

impl<'m> Builder<'m> {
    /// Handles one row; `get(slot)` returns the value of a needed column.
    fn row<'a>(
        &mut self,
        file: &Path,
        line: u64,
        filter_slots: &[usize],
        get: impl Fn(usize) -> Option<&'a str>,
    ) -> Result<(), InputError> {
        self.data.stats.rows += 1;
        match self.parse_row(file, line, filter_slots, get) {
            Ok(()) => Ok(()),
            Err(e) if self.opts.skip_bad_rows => {
                self.data.stats.skipped_bad += 1;
                if self.data.stats.bad_examples.len() < 5 {
                    self.data.stats.bad_examples.push(e.to_string());
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn parse_row<'a>(
        &mut self,
        file: &Path,
        line: u64,
        filter_slots: &[usize],
        get: impl Fn(usize) -> Option<&'a str>,
    ) -> Result<(), InputError> {
        let cols = &self.mapping.columns;
        for (f, &slot) in self.mapping.filters.iter().zip(filter_slots) {
            match f.check(get(slot).unwrap_or("")) {
                Verdict::Keep => {}
                Verdict::Drop => {
                    self.data.stats.filtered += 1;
                    return Ok(());
                }
                Verdict::NotANumber => {
                    return Err(InputError::at(
                        file,
                        line,
                        Some(&f.column),
                        format!("not a number: {:?}", get(slot).unwrap_or("")),
                    ))
                }
            }
        }
        let value = |slot: usize| get(slot).map(str::trim).filter(|v| !v.is_empty());
        let required = |slot: usize| {
            value(slot)
                .ok_or_else(|| InputError::at(file, line, Some(&cols[slot]), "empty (required)"))
        };
        let order_id = required(ORDER_ID)?;
        let sku = required(SKU)?;
        let ts = match value(TS) {
            None => None,
            Some(v) => Some(parse_timestamp(v).ok_or_else(|| {
                InputError::at(
                    file,
                    line,
                    Some(&cols[TS]),
                    format!("not a timestamp (RFC 3339 or YYYY-MM-DD HH:MM:SS): {v:?}"),
                )
            })?),
        };
        let number = |slot: usize| -> Result<Option<f64>, InputError> {
            match value(slot) {
                None => Ok(None),
                Some(v) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(Some)
                    .ok_or_else(|| {
                        InputError::at(
                            file,
                            line,
                            Some(&cols[slot]),
                            format!("not a number: {v:?}"),
                        )
                    }),
            }
        };
        let price = number(PRICE)?;
        number(QUANTITY)?;
        let brand = self.brands.id(value(BRAND).unwrap_or("default"));
        let region = value(REGION).map(|r| self.regions.id(r));
        let key = order_key(brand, order_id);
        let order = match self.last_order {
            Some((k, id)) if k == key => id,
            _ => {
                let next = self.data.orders.len() as u32;
                let id = *self.order_ids.entry(key).or_insert(next);
                if id == next {
                    self.data.orders.push(Order { ts, region, brand });
                    let customer = match value(CUSTOMER) {
                        Some(c) => {
                            self.any_customer = true;
                            self.customers.id(c)
                        }
                        None => u32::MAX,
                    };
                    self.customer_per_order.push(customer);
                }
                self.last_order = Some((key, id));
                id
            }
        };
        let sku = self.skus.id(sku);
        if sku as usize == self.data.sku_category.len() {
            self.data.sku_category.push(None);
            self.data.sku_price.push((0.0, 0));
        }
        if let Some(c) = value(CATEGORY) {
            self.data.sku_category[sku as usize] = Some(self.categories.id(c));
        }
        if let Some(p) = price {
            let e = &mut self.data.sku_price[sku as usize];
            e.0 += p;
            e.1 += 1;
        }
        self.data.lines.push((order, sku));
        self.data.stats.kept += 1;
        Ok(())
    }

    fn csv(&mut self, path: &Path, reader: Box<dyn BufRead>) -> Result<(), InputError> {
        let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
        let header = rdr
            .byte_headers()
            .map_err(|e| InputError::at(path, 1, None, format!("cannot read the header: {e}")))?
            .clone();
        let names: Vec<String> = header
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_string()
            })
            .collect();
        let (cols, filter_slots) = needed_columns(self.mapping);
        let index: Vec<Option<usize>> = cols
            .iter()
            .map(|c| names.iter().position(|n| n == c))
            .collect();
        for slot in [ORDER_ID, SKU] {
            if index[slot].is_none() {
                return Err(InputError::at(
                    path,
                    1,
                    Some(&cols[slot]),
                    format!(
                        "required column missing from the header (field `{}`; header: {})",
                        FIELDS[slot],
                        names.join(",")
                    ),
                ));
            }
        }
        for &slot in &filter_slots {
            if index[slot].is_none() {
                return Err(InputError::at(
                    path,
                    1,
                    Some(&cols[slot]),
                    "a filter reads this column but the header has none",
                ));
            }
        }
        let mut record = csv::ByteRecord::new();
        loop {
            let line = rdr.position().line();
            match rdr.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(line, |p| p.line());
                    let err = InputError::at(path, line, None, format!("malformed CSV: {e}"));
                    if self.opts.skip_bad_rows {
                        self.data.stats.rows += 1;
                        self.data.stats.skipped_bad += 1;
                        if self.data.stats.bad_examples.len() < 5 {
                            self.data.stats.bad_examples.push(err.to_string());
                        }
                        continue;
                    }
                    return Err(err);
                }
            }
            let line = record.position().map_or(line, |p| p.line());
            let mut texts: Vec<&str> = Vec::with_capacity(index.len());
            let mut bad_utf8 = None;
            for (slot, idx) in index.iter().enumerate() {
                let raw = idx.and_then(|i| record.get(i)).unwrap_or(b"");
                match std::str::from_utf8(raw) {
                    Ok(s) => texts.push(s),
                    Err(_) => {
                        bad_utf8.get_or_insert(slot);
                        texts.push("");
                    }
                }
            }
            if let Some(slot) = bad_utf8 {
                let err = InputError::at(path, line, Some(&cols[slot]), "not valid UTF-8");
                if self.opts.skip_bad_rows {
                    self.data.stats.rows += 1;
                    self.data.stats.skipped_bad += 1;
                    continue;
                }
                return Err(err);
            }
            let present: Vec<bool> = index
                .iter()
                .map(|i| i.is_some_and(|i| i < record.len()))
                .collect();
            let texts_ref = &texts;
            self.row(path, line, &filter_slots, |s| {
                if present[s] {
                    Some(texts_ref[s])
                } else {
                    None
                }
            })?;
        }
        Ok(())
    }

    fn jsonl(&mut self, path: &Path, reader: Box<dyn BufRead>) -> Result<(), InputError> {
        let (cols, filter_slots) = needed_columns(self.mapping);
        for (n, line) in reader.lines().enumerate() {
            let n = n as u64 + 1;
            let line =
                line.map_err(|e| InputError::at(path, n, None, format!("cannot read: {e}")))?;
            if line.trim().is_empty() {
                continue;
            }
            let obj: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(&line)
            {
                Ok(o) => o,
                Err(e) => {
                    let err = InputError::at(path, n, None, format!("not a JSON object: {e}"));
                    if self.opts.skip_bad_rows {
                        self.data.stats.rows += 1;
                        self.data.stats.skipped_bad += 1;
                        continue;
                    }
                    return Err(err);
                }
            };
            let values: Vec<Option<String>> = cols
                .iter()
                .map(|c| match obj.get(c) {
                    None | Some(serde_json::Value::Null) => None,
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(v) => Some(v.to_string()),
                })
                .collect();
            let values_ref = &values;
            self.row(path, n, &filter_slots, |s| values_ref[s].as_deref())?;
        }
        Ok(())
    }
}

/// Reads all order files with `mapping` into one dataset.
pub fn load_orders(
    paths: &[PathBuf],
    mapping: &Mapping,
    opts: &LoadOptions,
) -> Result<Dataset, InputError> {
    let mut b = Builder {
        mapping,
        opts,
        skus: Interner::default(),
        categories: Interner::default(),
        regions: Interner::default(),
        brands: Interner::default(),
        customers: Interner::default(),
        order_ids: HashMap::default(),
        last_order: None,
        data: Dataset::default(),
        customer_per_order: Vec::new(),
        any_customer: false,
    };
    for path in paths {
        let reader = open(path, opts.progress)?;
        b.last_order = None;
        match format_of(path, mapping.format.as_deref()) {
            "jsonl" => b.jsonl(path, reader)?,
            _ => b.csv(path, reader)?,
        }
    }
    let mut data = b.data;
    data.skus = b.skus.names;
    data.categories = b.categories.names;
    data.regions = b.regions.names;
    data.brands = b.brands.names;
    if data.brands.is_empty() {
        data.brands.push("default".into());
    }
    data.customers = b.any_customer.then_some(b.customer_per_order);
    Ok(data)
}
