//! Writes the generated data: the orders CSV in the generic schema (plain or
//! gzip by extension, formatted by hand into a large buffer for speed), the
//! planted-partner truth file and the catalog. Each file is written to a
//! `.partial` sibling and renamed into place, so a reader never sees half a file.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;

use super::orders::Order;
use super::world::World;

/// Header of the orders file (the builder's generic schema).
pub const ORDERS_HEADER: &str = "order_id,sku,ts,region,price,quantity,category,customer_id,brand";
/// Header of the truth file.
pub const TRUTH_HEADER: &str = "sku,mission,launched,partners";
/// Header of the catalog file.
pub const CATALOG_HEADER: &str = "sku,title,price,url,image,category,in_stock";

/// Order ids start here so they look like a shop's invoice numbers.
pub const FIRST_ORDER_ID: u64 = 10_000_000;

/// A file being written atomically, gzip-compressed when its name ends in
/// `.gz`. Writing (and compressing) happens on a background thread so it
/// overlaps with generation; buffers are handed over and recycled.
pub struct AtomicOut {
    path: PathBuf,
    partial: PathBuf,
    tx: Option<SyncSender<Vec<u8>>>,
    recycled: Receiver<Vec<u8>>,
    worker: Option<JoinHandle<io::Result<()>>>,
}

impl AtomicOut {
    /// Creates `path.partial` for writing.
    pub fn create(path: &Path) -> Result<Self> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file =
            File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
        let gzip = path.extension().is_some_and(|e| e == "gz");
        let (tx, rx) = sync_channel::<Vec<u8>>(2);
        let (back_tx, recycled) = sync_channel::<Vec<u8>>(4);
        let worker = std::thread::spawn(move || -> io::Result<()> {
            let mut gz = gzip.then(|| GzEncoder::new(&file, Compression::fast()));
            for mut buf in rx {
                match &mut gz {
                    Some(gz) => gz.write_all(&buf)?,
                    None => (&file).write_all(&buf)?,
                }
                buf.clear();
                let _ = back_tx.try_send(buf);
            }
            if let Some(gz) = gz {
                gz.finish()?;
            }
            Ok(())
        });
        Ok(AtomicOut {
            path: path.to_owned(),
            partial,
            tx: Some(tx),
            recycled,
            worker: Some(worker),
        })
    }

    /// Hands the contents of `buf` to the writer, leaving `buf` empty (reusing
    /// a written buffer when one is free).
    pub fn write_buf(&mut self, buf: &mut Vec<u8>) -> Result<()> {
        let fresh = self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(buf.capacity()));
        let full = std::mem::replace(buf, fresh);
        let sent = self.tx.as_ref().map(|tx| tx.send(full));
        if !matches!(sent, Some(Ok(()))) {
            // The writer stopped: its error says why.
            return self.join().and_then(|_| {
                Err(anyhow::anyhow!(
                    "writer of {} stopped",
                    self.partial.display()
                ))
            });
        }
        Ok(())
    }

    fn join(&mut self) -> Result<()> {
        self.tx = None;
        match self.worker.take() {
            Some(w) => w
                .join()
                .map_err(|_| {
                    anyhow::anyhow!("writer thread of {} panicked", self.partial.display())
                })?
                .with_context(|| format!("writing {}", self.partial.display())),
            None => Ok(()),
        }
    }

    /// Flushes, closes and renames into place.
    pub fn finish(mut self) -> Result<()> {
        self.join()?;
        std::fs::rename(&self.partial, &self.path).with_context(|| {
            format!(
                "renaming {} to {}",
                self.partial.display(),
                self.path.display()
            )
        })
    }
}

/// Appends the decimal digits of `n`.
#[inline]
pub fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Appends cents as a decimal price, e.g. `1299` → `12.99`.
#[inline]
pub fn push_price(buf: &mut Vec<u8>, cents: u32) {
    push_u64(buf, (cents / 100) as u64);
    let c = cents % 100;
    buf.extend_from_slice(&[b'.', b'0' + (c / 10) as u8, b'0' + (c % 10) as u8]);
}

fn push_2(buf: &mut Vec<u8>, n: u32) {
    buf.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
}

/// Formats orders into CSV lines, caching the date string of the current day.
pub struct OrdersCsv {
    day: u32,
    date: Vec<u8>,
    order_head: Vec<u8>,
    order_mid: Vec<u8>,
    order_tail: Vec<u8>,
}

impl OrdersCsv {
    /// A formatter.
    pub fn new() -> Self {
        OrdersCsv {
            day: u32::MAX,
            date: Vec::new(),
            order_head: Vec::new(),
            order_mid: Vec::new(),
            order_tail: Vec::new(),
        }
    }

    /// Appends one order's lines to `buf`.
    pub fn order(&mut self, world: &World, o: &Order, buf: &mut Vec<u8>) {
        if o.day != self.day {
            self.day = o.day;
            self.date =
                super::dates::format_date(world.params.start_day + o.day as i64).into_bytes();
        }
        // Per-order fields before the SKU, between the SKU and the per-line
        // fields, and after them.
        self.order_head.clear();
        push_u64(&mut self.order_head, FIRST_ORDER_ID + o.seq);
        self.order_head.push(b',');
        let mid = &mut self.order_mid;
        mid.clear();
        mid.push(b',');
        mid.extend_from_slice(&self.date);
        mid.push(b' ');
        push_2(mid, o.second / 3600);
        mid.push(b':');
        push_2(mid, o.second / 60 % 60);
        mid.push(b':');
        push_2(mid, o.second % 60);
        mid.push(b',');
        mid.extend_from_slice(world.regions[o.region as usize].name.as_bytes());
        mid.push(b',');
        let tail = &mut self.order_tail;
        tail.clear();
        tail.extend_from_slice(b",C");
        push_u64(tail, o.customer);
        tail.push(b',');
        tail.extend_from_slice(world.params.brand.as_bytes());
        tail.push(b'\n');
        for l in &o.lines {
            let sku = &world.skus[l.sku as usize];
            buf.extend_from_slice(&self.order_head);
            buf.extend_from_slice(sku.id.as_bytes());
            buf.extend_from_slice(&self.order_mid);
            push_price(buf, l.price_cents);
            buf.push(b',');
            push_u64(buf, l.quantity as u64);
            buf.push(b',');
            buf.extend_from_slice(world.categories[sku.category as usize].name.as_bytes());
            buf.extend_from_slice(&self.order_tail);
        }
    }
}

impl Default for OrdersCsv {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes each SKU's planted partners: `sku,mission,launched,partners`, with
/// the date the SKU went on sale and its partners separated by spaces (empty
/// for a mission of one).
pub fn write_truth(world: &World, path: &Path) -> Result<()> {
    let mut out = AtomicOut::create(path)?;
    let mut buf = Vec::with_capacity(world.skus.len() * 40);
    buf.extend_from_slice(TRUTH_HEADER.as_bytes());
    buf.push(b'\n');
    for (i, s) in world.skus.iter().enumerate() {
        buf.extend_from_slice(s.id.as_bytes());
        buf.extend_from_slice(b",m");
        push_u64(&mut buf, s.mission as u64);
        buf.push(b',');
        let launched = super::dates::format_date(world.params.start_day + s.launch_day as i64);
        buf.extend_from_slice(launched.as_bytes());
        buf.push(b',');
        for (n, p) in world.partners(i as u32).enumerate() {
            if n > 0 {
                buf.push(b' ');
            }
            buf.extend_from_slice(world.skus[p as usize].id.as_bytes());
        }
        buf.push(b'\n');
    }
    out.write_buf(&mut buf)?;
    out.finish()
}

const ADJECTIVES: &[&str] = &[
    "Classic",
    "Vintage",
    "Rustic",
    "Modern",
    "Deluxe",
    "Mini",
    "Large",
    "Hand-made",
    "Retro",
    "Scandi",
    "Floral",
    "Striped",
    "Enamel",
    "Ceramic",
    "Wooden",
    "Glass",
];
const COLOURS: &[&str] = &[
    "Red", "Blue", "Green", "Ivory", "Pink", "Black", "White", "Gold", "Silver", "Teal", "Mustard",
    "Grey",
];

/// Writes the catalog: `sku,title,price,url,image,category,in_stock`.
pub fn write_catalog(world: &World, path: &Path) -> Result<()> {
    let mut out = AtomicOut::create(path)?;
    let mut buf = Vec::with_capacity(world.skus.len() * 120);
    buf.extend_from_slice(CATALOG_HEADER.as_bytes());
    buf.push(b'\n');
    for (i, s) in world.skus.iter().enumerate() {
        let h = super::rng::splitmix64(i as u64 ^ world.params.seed);
        let cat = &world.categories[s.category as usize].name;
        let title = format!(
            "{} {} {} {}",
            ADJECTIVES[(h % ADJECTIVES.len() as u64) as usize],
            COLOURS[((h >> 16) % COLOURS.len() as u64) as usize],
            cat.replace('-', " "),
            &s.id[1..]
        );
        buf.extend_from_slice(s.id.as_bytes());
        buf.push(b',');
        buf.extend_from_slice(title.as_bytes());
        buf.push(b',');
        push_price(&mut buf, s.price_cents);
        let id = &s.id;
        let slug = id.to_ascii_lowercase();
        let rest = format!(
            ",https://shop.example/p/{slug},https://shop.example/img/{slug}.jpg,{cat},{}\n",
            s.in_stock
        );
        buf.extend_from_slice(rest.as_bytes());
    }
    out.write_buf(&mut buf)?;
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_like_display() {
        for n in [0u64, 7, 10, 99, 12345, u64::MAX] {
            let mut b = Vec::new();
            push_u64(&mut b, n);
            assert_eq!(b, n.to_string().into_bytes());
        }
        let mut b = Vec::new();
        push_price(&mut b, 1205);
        b.push(b' ');
        push_price(&mut b, 25);
        assert_eq!(b, b"12.05 0.25");
    }
}
