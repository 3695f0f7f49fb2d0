//! Reading order lines (CSV or JSON Lines, optionally gzip) into a compact
//! [`Dataset`]: interned SKUs, regions, brands and categories, one record per
//! order, and (order, SKU) line pairs.
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use rustc_hash::FxHashMap;

use super::error::InputError;
use super::mapping::{parse_number, Decimal, Mapping, Verdict, FIELDS};
use super::source::{file_head, format_of, open, FileHead};
use super::split::{last_record_end, sniff_delimiter, Records};

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
    /// Read customer ids into [`Dataset::customers`]. Only customer windows
    /// use them; off, the column is not read (faster, and no personal data
    /// is held that the model does not need).
    pub customers: bool,
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

impl Dataset {
    /// Frees the per-order data (orders, lines, customer ids), keeping the
    /// SKU, category, price, region and brand facts and the stats: all a
    /// build reads once [`crate::model::gather`] has run.
    pub fn release_orders(&mut self) {
        self.orders = Vec::new();
        self.lines = Vec::new();
        self.customers = None;
    }
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

/// A 64-bit FxHash of an order id's text; [`order_key`] adds the brand.
fn id_hash(id: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(id.as_bytes());
    h.finish()
}

/// The key of (brand, order id) from the id's [`id_hash`]: orders are keyed
/// by hash to keep memory flat at tens of millions of orders (collision odds
/// ~1e-5 at 18M).
fn order_key(brand: u32, id_hash: u64) -> u64 {
    let x = id_hash ^ u64::from(brand).wrapping_mul(0x9e37_79b9_7f4a_7c15);
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
    /// [`check_row`]'s state for the files read row by row (JSON Lines,
    /// Parquet: `.` is the decimal point unless the mapping says).
    row_state: RowState,
}

/// Slot layout: the canonical fields first, then a composite order id's
/// further columns (slots `FIELDS.len()..`), then filter-only columns.
fn needed_columns(mapping: &Mapping) -> (Vec<String>, Vec<usize>) {
    let mut cols: Vec<String> = mapping.columns.clone();
    cols.extend(mapping.order_key_extra.iter().cloned());
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

/// `str::trim`, with a shortcut for the usual field that starts and ends with
/// a printable ASCII byte (never whitespace).
fn trim(s: &str) -> &str {
    match s.as_bytes() {
        [first, .., last] if (0x21..0x7f).contains(first) && (0x21..0x7f).contains(last) => s,
        [only] if (0x21..0x7f).contains(only) => s,
        _ => s.trim(),
    }
}

/// One row's values once the filters passed and the fields are valid.
struct RowFields<'a> {
    order_id: Cow<'a, str>,
    sku: &'a str,
    ts: Option<i64>,
    price: Option<f64>,
    brand: &'a str,
    region: Option<&'a str>,
    customer: Option<&'a str>,
    category: Option<&'a str>,
}

/// What [`check_row`] carries from row to row.
struct RowState {
    /// How `1,331` reads.
    decimal: Decimal,
    /// The last timestamp text read and its value (an order's lines
    /// repeat it); the text is empty before the first.
    last_ts: (String, i64),
}

impl RowState {
    fn new(decimal: Decimal) -> Self {
        RowState {
            decimal,
            last_ts: (String::new(), 0),
        }
    }
}

/// The filters and field checks of one row: `Ok(None)` when a filter drops
/// it. `get(slot)` returns the value of a needed column.
fn check_row<'a>(
    mapping: &Mapping,
    file: &Path,
    line: u64,
    filter_slots: &[usize],
    state: &mut RowState,
    get: impl Fn(usize) -> Option<&'a str>,
) -> Result<Option<RowFields<'a>>, InputError> {
    let decimal = state.decimal;
    let cols = &mapping.columns;
    for (f, &slot) in mapping.filters.iter().zip(filter_slots) {
        match f.check(get(slot).unwrap_or(""), decimal) {
            Verdict::Keep => {}
            Verdict::Drop => return Ok(None),
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
    let value = |slot: usize| get(slot).map(trim).filter(|v| !v.is_empty());
    let required = |slot: usize| {
        value(slot).ok_or_else(|| {
            let column = cols
                .get(slot)
                .unwrap_or_else(|| &mapping.order_key_extra[slot - FIELDS.len()]);
            InputError::at(file, line, Some(column), "empty (required)")
        })
    };
    let mut order_id = Cow::Borrowed(required(ORDER_ID)?);
    for k in 0..mapping.order_key_extra.len() {
        // U+001F (unit separator) between the parts: never in real ids.
        let part = required(FIELDS.len() + k)?;
        let id = order_id.to_mut();
        id.push('\u{1f}');
        id.push_str(part);
    }
    let sku = required(SKU)?;
    let ts = match value(TS) {
        None => None,
        Some(v) => match &state.last_ts {
            (text, ts) if text == v => Some(*ts),
            _ => {
                let ts = mapping.timestamp(v).ok_or_else(|| {
                    InputError::at(
                        file,
                        line,
                        Some(&cols[TS]),
                        format!("not a timestamp ({}): {v:?}", mapping.timestamp_layouts()),
                    )
                })?;
                state.last_ts.0.clear();
                state.last_ts.0.push_str(v);
                state.last_ts.1 = ts;
                Some(ts)
            }
        },
    };
    let number = |slot: usize| -> Result<Option<f64>, InputError> {
        match value(slot) {
            None => Ok(None),
            Some(v) => parse_number(v, decimal).map(Some).ok_or_else(|| {
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
    Ok(Some(RowFields {
        order_id,
        sku,
        ts,
        price,
        brand: value(BRAND).unwrap_or("default"),
        region: value(REGION),
        customer: value(CUSTOMER),
        category: value(CATEGORY),
    }))
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
        let state = &mut self.row_state;
        let Some(f) = check_row(self.mapping, file, line, filter_slots, state, get)? else {
            self.data.stats.filtered += 1;
            return Ok(());
        };
        let (order_id, sku, ts, price) = (f.order_id, f.sku, f.ts, f.price);
        let brand = self.brands.id(f.brand);
        let region = f.region.map(|r| self.regions.id(r));
        let key = order_key(brand, id_hash(&order_id));
        let order = match self.last_order {
            Some((k, id)) if k == key => id,
            _ => {
                let next = self.data.orders.len() as u32;
                let id = *self.order_ids.entry(key).or_insert(next);
                if id == next {
                    self.data.orders.push(Order { ts, region, brand });
                    let customer = match f.customer.filter(|_| self.opts.customers) {
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
        if let Some(c) = f.category {
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

    /// Reads a CSV file: a reader thread cuts it (inflating gzip on the way)
    /// into chunks at record ends; the chunks are parsed on the rayon pool
    /// and merged here in file order, so ids, counts and errors are those of
    /// reading row by row.
    fn csv(
        &mut self,
        path: &Path,
        mut reader: Box<dyn BufRead + Send>,
        chunk_bytes: usize,
        plain_size: Option<u64>,
    ) -> Result<(), InputError> {
        let (cols, filter_slots) = needed_columns(self.mapping);
        let mapping = self.mapping;
        let skip_bad_rows = self.opts.skip_bad_rows;
        let delim = match mapping.delimiter {
            Some(d) => d,
            // The reader's first buffer holds the header line (or most of it).
            None => sniff_delimiter(reader.fill_buf().map_err(|e| {
                InputError::at(path, 1, None, format!("cannot read the header: {e}"))
            })?),
        };
        std::thread::scope(|threads| {
            let (tx, rx) = mpsc::sync_channel::<Piece>(2);
            // Parsed chunks' buffers go back to the reader to be filled again
            // (a fresh one per chunk is a fresh mapping: page faults and
            // zeroing on every byte).
            let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
            threads.spawn(move || read_pieces(reader, chunk_bytes, delim, tx, free_rx));
            let first = match rx.recv() {
                Ok(Piece::Chunk { data, .. }) => data,
                Ok(Piece::Failed { err, .. }) => {
                    return Err(InputError::at(
                        path,
                        1,
                        None,
                        format!("cannot read the header: {err}"),
                    ))
                }
                Err(_) => Vec::new(),
            };
            let mut hdr = csv::ReaderBuilder::new()
                .delimiter(delim)
                .flexible(true)
                .from_reader(&first[..]);
            let header = hdr.byte_headers().map_err(|e| {
                InputError::at(path, 1, None, format!("cannot read the header: {e}"))
            })?;
            let names: Vec<String> = header
                .iter()
                .map(|h| {
                    String::from_utf8_lossy(h)
                        .trim()
                        .trim_start_matches('\u{feff}')
                        .to_string()
                })
                .collect();
            drop(hdr);
            let index: Vec<Option<usize>> = cols
                .iter()
                .map(|c| names.iter().position(|n| n == c))
                .collect();
            let key_slots = FIELDS.len()..FIELDS.len() + mapping.order_key_extra.len();
            for slot in [ORDER_ID, SKU].into_iter().chain(key_slots) {
                if index[slot].is_none() {
                    return Err(InputError::at(
                        path,
                        1,
                        Some(&cols[slot]),
                        format!(
                            "required column missing from the header (field `{}`; header split on {:?}: {}; a mapping's `delimiter` names another)",
                            FIELDS.get(slot).unwrap_or(&"order_id"),
                            delim as char,
                            names.join(" | ")
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
            let spec = ChunkSpec {
                path,
                mapping,
                cols: &cols,
                index: &index,
                filter_slots: &filter_slots,
                skip_bad_rows,
                customers: self.opts.customers,
                delim,
            };
            let spec = &spec;
            let (otx, orx) = mpsc::channel::<(usize, ChunkOut)>();
            let mut result = Ok(());
            let mut failed: Option<(std::io::Error, u64)> = None;
            rayon::in_place_scope(|pool| {
                let mut sent = 0usize;
                let mut merged = 0usize;
                let spawn = |seq: usize, mut data: Vec<u8>, base: u64, header: bool| {
                    let otx = otx.clone();
                    let free_tx = free_tx.clone();
                    pool.spawn(move |_| {
                        let _ = otx.send((seq, parse_chunk(spec, &data, base, header)));
                        data.clear();
                        let _ = free_tx.send(data);
                    });
                };
                let first_len = first.len();
                spawn(0, first, 0, true);
                sent += 1;
                let mut more = true;
                let mut ready: BTreeMap<usize, ChunkOut> = BTreeMap::new();
                loop {
                    while more && result.is_ok() && sent - merged < IN_FLIGHT {
                        match rx.recv() {
                            Ok(Piece::Chunk { data, base }) => {
                                spawn(sent, data, base, false);
                                sent += 1;
                            }
                            Ok(Piece::Failed { err, base }) => {
                                failed = Some((err, base));
                                more = false;
                            }
                            Err(_) => more = false,
                        }
                    }
                    if merged == sent {
                        break;
                    }
                    let (seq, out) = orx.recv().expect("chunk parsers report");
                    ready.insert(seq, out);
                    while let Some(out) = ready.remove(&merged) {
                        if merged == 0 {
                            if let Some(size) = plain_size {
                                self.reserve_like(&out, first_len, size);
                            }
                        }
                        merged += 1;
                        if result.is_ok() {
                            result = self.merge(out);
                        }
                    }
                }
            });
            result?;
            if let Some((err, line)) = failed {
                let err = InputError::at(path, line, None, format!("malformed CSV: {err}"));
                if !skip_bad_rows {
                    return Err(err);
                }
                // The `csv` reader stops at a read error: so does this.
                let stats = &mut self.data.stats;
                stats.rows += 1;
                stats.skipped_bad += 1;
                if stats.bad_examples.len() < 5 {
                    stats.bad_examples.push(err.to_string());
                }
            }
            Ok(())
        })
    }

    /// Sizes the order map and the order and line vectors for a file of
    /// `size` bytes whose first `first_len` bytes parsed into `first`, so
    /// they are not grown (rehashed, copied) step by step. Capacity only:
    /// nothing read changes.
    fn reserve_like(&mut self, first: &ChunkOut, first_len: usize, size: u64) {
        let scale = size as f64 / first_len.max(1) as f64;
        if scale < 2.0 {
            return;
        }
        // 5 % spare; an order or a line takes a few bytes of CSV at least.
        let orders = ((first.orders.len() as f64 * scale * 1.05) as u64).min(size / 4) as usize;
        let lines = ((first.lines.len() as f64 * scale * 1.05) as u64).min(size / 4) as usize;
        self.order_ids.reserve(orders);
        self.data.orders.reserve(orders);
        self.customer_per_order.reserve(orders);
        self.data.lines.reserve(lines);
    }

    /// Adds one parsed chunk: local ids become global ones, in
    /// first-appearance order, as if its rows were read here one by one.
    fn merge(&mut self, out: ChunkOut) -> Result<(), InputError> {
        let stats = &mut self.data.stats;
        stats.rows += out.rows;
        stats.filtered += out.filtered;
        stats.skipped_bad += out.skipped_bad;
        for e in out.bad_examples {
            if stats.bad_examples.len() < 5 {
                stats.bad_examples.push(e);
            }
        }
        let mut sku = Vec::with_capacity(out.skus.len());
        for l in 0..out.skus.len() as u32 {
            let g = self.skus.id(out.skus.get(l));
            if g as usize == self.data.sku_category.len() {
                self.data.sku_category.push(None);
                self.data.sku_price.push((0.0, 0));
            }
            sku.push(g);
        }
        let global = |ids: &LocalIds, to: &mut Interner| -> Vec<u32> {
            (0..ids.len() as u32).map(|l| to.id(ids.get(l))).collect()
        };
        let region = global(&out.regions, &mut self.regions);
        let brand = global(&out.brands, &mut self.brands);
        let cat = global(&out.categories, &mut self.categories);
        for (l, c) in out.sku_category.iter().enumerate() {
            if let Some(c) = c {
                self.data.sku_category[sku[l] as usize] = Some(cat[*c as usize]);
            }
        }
        for &(s, p) in &out.prices {
            let e = &mut self.data.sku_price[sku[s as usize] as usize];
            e.0 += p;
            e.1 += 1;
        }
        // Customers are interned when an order is new overall (not just new
        // to the chunk), as row by row.
        let mut customer = vec![u32::MAX; out.customers.len()];
        let mut order = Vec::with_capacity(out.orders.len());
        for (l, o) in out.orders.iter().enumerate() {
            let b = brand[o.brand as usize];
            let key = order_key(b, out.order_keys[l]);
            let next = self.data.orders.len() as u32;
            let id = *self.order_ids.entry(key).or_insert(next);
            if id == next {
                self.data.orders.push(Order {
                    ts: o.ts,
                    region: o.region.map(|r| region[r as usize]),
                    brand: b,
                });
                let c = match o.customer {
                    None => u32::MAX,
                    Some(lc) => {
                        self.any_customer = true;
                        let c = &mut customer[lc as usize];
                        if *c == u32::MAX {
                            *c = self.customers.id(out.customers.get(lc));
                        }
                        *c
                    }
                };
                self.customer_per_order.push(c);
            }
            order.push(id);
        }
        self.data.lines.extend(
            out.lines
                .iter()
                .map(|&(o, s)| (order[o as usize], sku[s as usize])),
        );
        self.data.stats.kept += out.lines.len() as u64;
        match out.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Reads a Parquet file row by row (see [`super::parquet`]).
    fn parquet(&mut self, path: &Path) -> Result<(), InputError> {
        let (cols, filter_slots) = needed_columns(self.mapping);
        let key_slots = FIELDS.len()..FIELDS.len() + self.mapping.order_key_extra.len();
        let required: Vec<usize> = [ORDER_ID, SKU]
            .into_iter()
            .chain(key_slots)
            .chain(filter_slots.iter().copied())
            .collect();
        super::parquet::read_rows(path, &cols, &required, |n, values| {
            self.row(path, n, &filter_slots, |s| values[s].as_deref())
        })
    }

    fn jsonl(&mut self, path: &Path, reader: Box<dyn BufRead + Send>) -> Result<(), InputError> {
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
            let lines = match order_lines(&obj, self.mapping) {
                Ok(lines) => lines,
                Err(why) => {
                    self.data.stats.rows += 1;
                    let err = InputError::at(path, n, None, why);
                    if self.opts.skip_bad_rows {
                        self.data.stats.skipped_bad += 1;
                        continue;
                    }
                    return Err(err);
                }
            };
            for line in lines {
                let values: Vec<Option<String>> = cols
                    .iter()
                    .map(
                        |c| match line.and_then(|l| l.get(c)).or_else(|| obj.get(c)) {
                            None | Some(serde_json::Value::Null) => None,
                            Some(serde_json::Value::String(s)) => Some(s.clone()),
                            Some(v) => Some(v.to_string()),
                        },
                    )
                    .collect();
                let values_ref = &values;
                self.row(path, n, &filter_slots, |s| values_ref[s].as_deref())?;
            }
        }
        Ok(())
    }
}

/// Arrays that hold an order's lines when a JSON Lines record is a whole order.
const LINE_ARRAYS: [&str; 4] = ["items", "line_items", "lines", "products"];

type JsonObject = serde_json::Map<String, serde_json::Value>;

/// The order lines of one JSON Lines record: `[None]` when the record is
/// itself one line, else one object per element of its line array (the
/// mapping's `items`, or a usual name when the record has no SKU field).
fn order_lines<'a>(
    obj: &'a JsonObject,
    mapping: &Mapping,
) -> Result<Vec<Option<&'a JsonObject>>, String> {
    let sku = &mapping.columns[1]; // FIELDS[1]: the SKU
    let field = match &mapping.items {
        Some(f) => f.as_str(),
        None if obj.contains_key(sku) => return Ok(vec![None]),
        None => match LINE_ARRAYS
            .iter()
            .find(|f| obj.get(**f).is_some_and(|v| v.is_array()))
        {
            Some(f) => f,
            None => return Ok(vec![None]),
        },
    };
    let Some(serde_json::Value::Array(list)) = obj.get(field) else {
        return Err(format!("`{field}`: expected an array of order lines"));
    };
    list.iter()
        .enumerate()
        .map(|(k, v)| {
            v.as_object()
                .map(Some)
                .ok_or_else(|| format!("`{field}[{k}]`: expected an object (an order line)"))
        })
        .collect()
}

/// Chunks read ahead of the merge (bounds memory).
const IN_FLIGHT: usize = 6;

/// What the reader thread hands over.
enum Piece {
    /// Whole records; `base` = newlines in the file before them.
    Chunk { data: Vec<u8>, base: u64 },
    /// A read error at the record starting on line `base`.
    Failed { err: std::io::Error, base: u64 },
}

fn count_newlines(data: &[u8]) -> u64 {
    data.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Reads up to `want` more bytes into `buf`; returns how many (0 = end).
fn fill(reader: &mut dyn BufRead, buf: &mut Vec<u8>, want: usize) -> std::io::Result<usize> {
    let before = buf.len();
    buf.reserve(want.min(1 << 24));
    while buf.len() - before < want {
        let got = match reader.fill_buf() {
            Ok(got) => got,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if got.is_empty() {
            break;
        }
        let k = got.len().min(want - (buf.len() - before));
        buf.extend_from_slice(&got[..k]);
        reader.consume(k);
    }
    Ok(buf.len() - before)
}

/// The reader thread: cuts the input into chunks of about `size` bytes at
/// record ends (see [`last_record_end`]).
fn read_pieces(
    mut reader: Box<dyn BufRead + Send>,
    size: usize,
    delim: u8,
    tx: mpsc::SyncSender<Piece>,
    free: mpsc::Receiver<Vec<u8>>,
) {
    let cap = size.min(1 << 26) + (size.min(1 << 26) >> 4);
    let mut buf: Vec<u8> = Vec::with_capacity(cap);
    let mut base = 0u64;
    let mut want = size;
    let mut at_start = true;
    loop {
        let mut eof = false;
        while buf.len() < want {
            let more = (want - buf.len()).max(1 << 16);
            match fill(&mut reader, &mut buf, more) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(_) => {}
                Err(err) => {
                    // Whole records before the error are read; the error
                    // belongs to the record after them.
                    if let Some(end) = last_record_end(&buf, at_start, delim) {
                        let rest = buf.split_off(end);
                        let lines = count_newlines(&buf);
                        if tx.send(Piece::Chunk { data: buf, base }).is_err() {
                            return;
                        }
                        base += lines;
                        drop(rest);
                    }
                    let _ = tx.send(Piece::Failed {
                        err,
                        base: base + 1,
                    });
                    return;
                }
            }
        }
        if eof {
            if !buf.is_empty() {
                let _ = tx.send(Piece::Chunk { data: buf, base });
            }
            return;
        }
        let Some(end) = last_record_end(&buf, at_start, delim) else {
            // One record longer than the chunk: read on.
            want = buf.len() + size;
            continue;
        };
        want = size;
        at_start = false;
        let mut next = free.try_recv().unwrap_or_else(|_| Vec::with_capacity(cap));
        next.extend_from_slice(&buf[end..]);
        buf.truncate(end);
        let lines = count_newlines(&buf);
        if tx.send(Piece::Chunk { data: buf, base }).is_err() {
            return;
        }
        base += lines;
        buf = next;
    }
}

/// What every chunk parser needs to know about the file.
struct ChunkSpec<'m> {
    path: &'m Path,
    mapping: &'m Mapping,
    cols: &'m [String],
    index: &'m [Option<usize>],
    filter_slots: &'m [usize],
    skip_bad_rows: bool,
    /// Whether customer ids are read ([`LoadOptions::customers`]).
    customers: bool,
    delim: u8,
}

/// An order as first seen in a chunk (ids local to the chunk).
struct ChunkOrder {
    brand: u32,
    ts: Option<i64>,
    region: Option<u32>,
    customer: Option<u32>,
}

/// A parsed chunk: strings interned locally in first-appearance order.
#[derive(Default)]
struct ChunkOut {
    rows: u64,
    filtered: u64,
    skipped_bad: u64,
    bad_examples: Vec<String>,
    /// The error that stopped the chunk (rows before it are kept).
    error: Option<InputError>,
    skus: LocalIds,
    /// Last category seen per local SKU.
    sku_category: Vec<Option<u32>>,
    /// (local SKU, price) per kept line with a price, in row order.
    prices: Vec<(u32, f64)>,
    categories: LocalIds,
    regions: LocalIds,
    brands: LocalIds,
    customers: LocalIds,
    /// [`id_hash`] of each local order's id. An order whose lines are not
    /// adjacent gets one local order per run of lines; the merge maps them
    /// all to the order's first appearance, as reading row by row does.
    order_keys: Vec<u64>,
    orders: Vec<ChunkOrder>,
    /// (local order, local SKU) per kept line.
    lines: Vec<(u32, u32)>,
}

/// Strings to local ids, in first-appearance order, kept in one arena:
/// no allocation per string. A string of up to 15 bytes (most SKUs,
/// customer ids, categories) is looked up by its bytes packed into a `u128`
/// (one compare, no trip to the arena); longer ones by hash, then compared
/// in the arena.
#[derive(Default)]
struct LocalIds {
    arena: String,
    /// (start, end) in `arena` per id.
    spans: Vec<(u32, u32)>,
    /// Packed short string to id.
    short: HashMap<u128, u32, BuildHasherDefault<rustc_hash::FxHasher>>,
    /// Hash of a long string to the newest id with that hash; `chain` links
    /// older ones (`u32::MAX` ends a chain; unused for short strings).
    heads: HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>,
    chain: Vec<u32>,
    /// The id last returned by [`LocalIds::id_repeat`].
    last: Option<u32>,
}

/// `s` packed into a `u128` (bytes, then the length in the top byte) when
/// it has at most 15 bytes. Built from overlapping word loads, not a copy
/// into a buffer read back as a whole (a store-forwarding stall per call).
fn pack_short(s: &[u8]) -> Option<u128> {
    fn word<const N: usize>(s: &[u8], at: usize) -> u64 {
        let mut b = [0u8; 8];
        b[..N].copy_from_slice(&s[at..at + N]);
        u64::from_le_bytes(b)
    }
    let n = s.len();
    let (lo, hi) = match n {
        16.. => return None,
        8..=15 => {
            // Bytes 8..n are the top n - 8 of the last eight.
            let tail = if n == 8 {
                0
            } else {
                word::<8>(s, n - 8) >> ((16 - n) * 8)
            };
            (word::<8>(s, 0), tail)
        }
        4..=7 => (word::<4>(s, 0) | word::<4>(s, n - 4) << ((n - 4) * 8), 0),
        _ => (s.iter().rev().fold(0, |a, &b| a << 8 | u64::from(b)), 0),
    };
    Some(u128::from(lo) | u128::from(hi | (n as u64) << 56) << 64)
}

impl LocalIds {
    fn with_capacity(n: usize) -> Self {
        LocalIds {
            arena: String::with_capacity(n * 8),
            spans: Vec::with_capacity(n),
            short: HashMap::with_capacity_and_hasher(n, Default::default()),
            ..LocalIds::default()
        }
    }

    /// [`LocalIds::id`] for values that tend to repeat from row to row
    /// (brand, region): the previous answer is checked first.
    fn id_repeat(&mut self, s: &str) -> u32 {
        if let Some(i) = self.last {
            if self.get(i) == s {
                return i;
            }
        }
        let i = self.id(s);
        self.last = Some(i);
        i
    }

    /// The id of `s`, a new one (the next number) the first time.
    fn id(&mut self, s: &str) -> u32 {
        let next = self.spans.len() as u32;
        let id = match pack_short(s.as_bytes()) {
            Some(key) => *self.short.entry(key).or_insert(next),
            None => self.long_id(s, next),
        };
        if id == next {
            let start = self.arena.len() as u32;
            self.arena.push_str(s);
            self.spans.push((start, self.arena.len() as u32));
        }
        id
    }

    /// The id of a long `s`, or `next` after recording it in the chains.
    fn long_id(&mut self, s: &str, next: u32) -> u32 {
        let mut h = rustc_hash::FxHasher::default();
        h.write(s.as_bytes());
        let h = h.finish();
        let head = self.heads.get(&h).copied();
        let mut at = head;
        while let Some(i) = at {
            if self.get(i) == s {
                return i;
            }
            at = Some(self.chain[i as usize]).filter(|&n| n != u32::MAX);
        }
        if self.chain.len() < next as usize {
            self.chain.resize(next as usize, u32::MAX);
        }
        self.chain.push(head.unwrap_or(u32::MAX));
        self.heads.insert(h, next);
        next
    }

    fn len(&self) -> usize {
        self.spans.len()
    }

    fn get(&self, id: u32) -> &str {
        let (a, b) = self.spans[id as usize];
        &self.arena[a as usize..b as usize]
    }
}

/// An empty vector of field texts reusing `v`'s allocation, for the next
/// row (the collect is done in place).
fn recycle<'b>(mut v: Vec<&str>) -> Vec<&'b str> {
    v.clear();
    v.into_iter().map(|_| "").collect()
}

/// Parses one chunk with the checks and messages of reading row by row;
/// `base` is added to the chunk's line numbers (the header chunk, read from
/// the start of the file, has base 0 and skips the header).
fn parse_chunk(spec: &ChunkSpec<'_>, chunk: &[u8], base: u64, header: bool) -> ChunkOut {
    // Rough sizes (a synthetic line is ~70 bytes, an order ~3 lines).
    let est = chunk.len() / 64;
    let mut out = ChunkOut {
        skus: LocalIds::with_capacity(est / 8),
        order_keys: Vec::with_capacity(est / 3),
        orders: Vec::with_capacity(est / 3),
        lines: Vec::with_capacity(est),
        prices: Vec::with_capacity(est),
        ..ChunkOut::default()
    };
    let mut last: Option<(u32, u64, u32)> = None;
    let path = spec.path;
    let mut record = Records::new(chunk, header, spec.delim);
    if header {
        record.next_record();
    }
    let n = spec.index.len();
    let mut texts_store: Vec<&str> = Vec::with_capacity(n);
    let mut present = vec![false; n];
    let skip = spec.skip_bad_rows;
    let mut state = RowState::new(
        spec.mapping
            .decimal
            .unwrap_or_else(|| Decimal::for_delimiter(spec.delim)),
    );
    // Fields are the chunk's bytes less ASCII quotes and separators, so when
    // the chunk is valid UTF-8 so is every field.
    let chunk_utf8 = std::str::from_utf8(chunk).is_ok();
    while let Some(line) = record.next_record() {
        let line = line + base;
        let mut bad_utf8 = None;
        let mut texts = recycle(std::mem::take(&mut texts_store));
        for (slot, idx) in spec.index.iter().enumerate() {
            present[slot] = idx.is_some_and(|i| i < record.len());
            let raw = idx.and_then(|i| record.get(i)).unwrap_or(b"");
            if chunk_utf8 {
                // SAFETY: a field of a valid UTF-8 chunk (see above).
                texts.push(unsafe { std::str::from_utf8_unchecked(raw) });
                continue;
            }
            match std::str::from_utf8(raw) {
                Ok(s) => texts.push(s),
                Err(_) => {
                    bad_utf8.get_or_insert(slot);
                    texts.push("");
                }
            }
        }
        if let Some(slot) = bad_utf8 {
            texts_store = recycle(texts);
            let err = InputError::at(path, line, Some(&spec.cols[slot]), "not valid UTF-8");
            if !skip {
                out.error = Some(err);
                break;
            }
            out.rows += 1;
            out.skipped_bad += 1;
            continue;
        }
        out.rows += 1;
        let get = |s: usize| if present[s] { Some(texts[s]) } else { None };
        let checked = check_row(spec.mapping, path, line, spec.filter_slots, &mut state, get);
        texts_store = recycle(texts);
        let f = match checked {
            Ok(Some(f)) => f,
            Ok(None) => {
                out.filtered += 1;
                continue;
            }
            Err(err) => {
                if !skip {
                    out.error = Some(err);
                    break;
                }
                out.skipped_bad += 1;
                if out.bad_examples.len() < 5 {
                    out.bad_examples.push(err.to_string());
                }
                continue;
            }
        };
        let brand = out.brands.id_repeat(f.brand);
        let region = f.region.map(|r| out.regions.id_repeat(r));
        // The order key needs the global brand id: the merge adds it.
        let key = id_hash(&f.order_id);
        let order = match last {
            Some((b, k, o)) if b == brand && k == key => o,
            _ => {
                let o = out.orders.len() as u32;
                out.orders.push(ChunkOrder {
                    brand,
                    ts: f.ts,
                    region,
                    customer: f
                        .customer
                        .filter(|_| spec.customers)
                        .map(|c| out.customers.id(c)),
                });
                out.order_keys.push(key);
                last = Some((brand, key, o));
                o
            }
        };
        let sku = out.skus.id(f.sku);
        if sku as usize == out.sku_category.len() {
            out.sku_category.push(None);
        }
        if let Some(c) = f.category {
            // Usually the SKU's category again: a compare, not a lookup.
            let known = out.sku_category[sku as usize];
            if known.is_none_or(|k| out.categories.get(k) != c) {
                out.sku_category[sku as usize] = Some(out.categories.id(c));
            }
        }
        if let Some(p) = f.price {
            out.prices.push((sku, p));
        }
        out.lines.push((order, sku));
    }
    out
}

/// Reads all order files with `mapping` into one dataset.
pub fn load_orders(
    paths: &[PathBuf],
    mapping: &Mapping,
    opts: &LoadOptions,
) -> Result<Dataset, InputError> {
    load_orders_chunked(paths, mapping, opts, None)
}

/// CSV chunk bytes for a file: a 32nd of its (estimated) text, between 4
/// and 32 MiB. Small files get enough chunks to keep both cores busy (and,
/// when gzip, to parse while the rest inflates); large ones get big chunks,
/// whose SKU tables are built once per 32 MiB instead of per few MiB (25 %
/// less ingest CPU at 18M orders than 8 MiB chunks).
fn chunk_size(head: Option<FileHead>) -> usize {
    // Order exports deflate about 5:1.
    let text = head.map_or(0, |h| if h.gzip { h.len * 5 } else { h.len });
    ((text / 32) as usize).clamp(4 << 20, 32 << 20)
}

/// [`load_orders`] with CSV chunks of `chunk_bytes` (by file size when
/// `None`; tests use tiny ones).
fn load_orders_chunked(
    paths: &[PathBuf],
    mapping: &Mapping,
    opts: &LoadOptions,
    chunk_bytes: Option<usize>,
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
        row_state: RowState::new(mapping.decimal.unwrap_or(Decimal::Dot)),
    };
    for path in paths {
        b.last_order = None;
        let head = file_head(path);
        let format = format_of(path, mapping.format.as_deref(), head);
        if format == "parquet" {
            b.parquet(path)?;
            continue;
        }
        let reader = open(path, opts.progress)?;
        match format {
            "jsonl" => b.jsonl(path, reader)?,
            _ => {
                let chunk = chunk_bytes.unwrap_or_else(|| chunk_size(head));
                let plain = head.filter(|h| !h.gzip).map(|h| h.len);
                b.csv(path, reader, chunk, plain)?
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &tempfile::TempDir, name: &str, data: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(data)
            .unwrap();
        path
    }

    fn load(path: &Path, skip: bool, chunk: usize) -> Result<Dataset, String> {
        let opts = LoadOptions {
            skip_bad_rows: skip,
            progress: false,
            customers: true,
        };
        load_orders_chunked(
            &[path.to_path_buf()],
            &Mapping::generic(),
            &opts,
            Some(chunk),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn short_strings_pack_as_their_zero_padded_bytes_and_length() {
        for n in 0..=16 {
            let s: Vec<u8> = (0..n as u8).map(|i| b'a' + i).collect();
            let mut b = [0u8; 16];
            b[..n.min(15)].copy_from_slice(&s[..n.min(15)]);
            b[15] = n as u8;
            let want = (n <= 15).then(|| u128::from_le_bytes(b));
            assert_eq!(pack_short(&s), want, "length {n}");
        }
        // A trailing NUL is not padding.
        assert_ne!(pack_short(b"ab"), pack_short(b"ab\0"));
    }

    /// Orders whose quoted categories hold newlines, doubled quotes and CRs,
    /// with blank lines and CRLF ends here and there.
    fn tricky_csv(rows: usize, bad_at: Option<usize>) -> (Vec<u8>, Option<u64>) {
        let mut s = String::from("order_id,sku,ts,region,price,category,customer_id\n");
        let mut line = 2u64;
        let mut bad_line = None;
        for i in 0..rows {
            let order = i / 3;
            let ts = if Some(i) == bad_at {
                bad_line = Some(line);
                "yesterday".to_string()
            } else {
                format!("2025-01-01 00:{:02}:{:02}", (i / 60) % 60, i % 60)
            };
            let category = match i % 7 {
                0 => "\"multi\nline\n\"\"cat\"\"\"".to_string(),
                1 => "\"comma, and \r\nCRLF\"".to_string(),
                2 => "plain".to_string(),
                3 => "\"\"".to_string(),
                _ => format!("c{}", i % 11),
            };
            let end = if i % 5 == 0 { "\r\n" } else { "\n" };
            s.push_str(&format!(
                "O{order},S{},{ts},r{},{}.25,{category},C{}{end}",
                i % 37,
                order % 3,
                i % 13,
                order % 17
            ));
            line += category.matches('\n').count() as u64 + 1;
            if i % 41 == 0 {
                s.push('\n');
                line += 1;
            }
        }
        (s.into_bytes(), bad_line)
    }

    #[test]
    fn quoted_newlines_near_chunk_boundaries_parse_as_in_one_piece() {
        let dir = tempfile::tempdir().unwrap();
        let (data, _) = tricky_csv(3000, None);
        let path = write(&dir, "o.csv", &data);
        let whole = format!("{:?}", load(&path, false, usize::MAX / 4).unwrap());
        // Small, odd chunk sizes put cuts next to (and inside) quoted fields.
        for chunk in [1, 7, 64, 100, 257, 1000, 4093] {
            let got = format!("{:?}", load(&path, false, chunk).unwrap());
            assert_eq!(got, whole, "chunk size {chunk}");
        }
        let data = load(&path, false, 64).unwrap();
        assert_eq!(data.stats.rows, 3000);
        assert_eq!(data.categories[0], "multi\nline\n\"cat\"");
    }

    #[test]
    fn a_bad_row_deep_in_a_many_chunk_input_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let (data, bad_line) = tricky_csv(60_000, Some(51_234));
        let bad_line = bad_line.unwrap();
        let path = write(&dir, "o.csv", &data);
        let expected = format!(
            "{}:{bad_line}: field `ts`: not a timestamp (RFC 3339, YYYY-MM-DD HH:MM:SS, YYYYMMDD or Unix epoch; a mapping's ts_format reads others): \"yesterday\"",
            path.display()
        );
        for chunk in [4096, 65_536, usize::MAX / 4] {
            assert_eq!(
                load(&path, false, chunk).unwrap_err(),
                expected,
                "chunk {chunk}"
            );
            let data = load(&path, true, chunk).unwrap();
            assert_eq!(data.stats.skipped_bad, 1);
            assert_eq!(data.stats.rows, 60_000);
            assert_eq!(data.stats.bad_examples, vec![expected.clone()]);
        }
        // The line is the real one: count the newlines before the row.
        let at = data.windows(9).position(|w| w == b"yesterday").unwrap();
        let start = data[..at].iter().rposition(|&b| b == b'\n').unwrap();
        // (the bad row is not right after a CRLF row: 51_234 % 5 != 1)
        assert_eq!(
            data[..=start].iter().filter(|&&b| b == b'\n').count() as u64 + 1,
            bad_line
        );
    }

    #[test]
    fn invalid_utf8_is_reported_per_field_in_any_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let (mut data, _) = tricky_csv(500, None);
        let at = data.windows(5).rposition(|w| w == b",S12,").unwrap();
        data[at + 2] = 0xff;
        let path = write(&dir, "o.csv", &data);
        // (one reader over the whole file gives the reference line)
        let whole = load(&path, false, usize::MAX / 4).unwrap_err();
        assert!(whole.ends_with(": field `sku`: not valid UTF-8"), "{whole}");
        for chunk in [50, 333, 4096] {
            assert_eq!(load(&path, false, chunk).unwrap_err(), whole);
            let skipped = load(&path, true, chunk).unwrap();
            assert_eq!(skipped.stats.skipped_bad, 1);
            assert_eq!(skipped.stats.rows, 500);
        }
    }

    #[test]
    fn gzip_input_is_chunked_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let (data, _) = tricky_csv(2000, None);
        let plain = write(&dir, "o.csv", &data);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        let gz = write(&dir, "o.csv.gz", &gz.finish().unwrap());
        let whole = format!("{:?}", load(&plain, false, usize::MAX / 4).unwrap());
        assert_eq!(format!("{:?}", load(&gz, false, 333).unwrap()), whole);
    }
}
