//! Offer facts of a table: every SKU it knows (its ids), with price, stock,
//! category, cost and popularity, plus the popularity fallback list. Small,
//! fetched once per table version and cached in the isolate.
use serde::{Deserialize, Serialize};

use super::blob::{get_varint, put_varint, Blob};
use super::codec::{open, seal, Kind};
use super::error::TableError;

/// Facts about one SKU, as the builder hands them to the encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct SkuFacts {
    /// SKU id string.
    pub sku: String,
    /// Unit price (catalog, else the median order-line price; 0 if unknown).
    pub price: f32,
    /// Unit cost, when the catalog has it (margin objective).
    pub cost: Option<f32>,
    /// In stock (always true without a catalog).
    pub in_stock: bool,
    /// May be offered at all (false for SKUs missing from a given catalog).
    pub offerable: bool,
    /// Category name, if known.
    pub category: Option<String>,
    /// Orders in the table's scope that contained the SKU.
    pub popularity: u32,
}

/// The decoded facts of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// Table (model) version.
    pub version: String,
    /// Brand of the table.
    pub brand: String,
    /// Region of the table (`all` for the brand-wide table).
    pub region: String,
    /// Orders the table learned from (its scope), for lift.
    pub orders: u64,
    /// SKUs, most popular first; a SKU's id is its index here (so the ids of
    /// neighbour lists, mostly popular SKUs, are small and compress well).
    pub skus: Vec<SkuFacts>,
    /// Ids sorted by SKU string, for lookups by SKU.
    pub by_sku: Vec<u32>,
    /// Ids of the most popular offerable SKUs, best first (the popularity fallback).
    pub popular: Vec<u32>,
}

impl Facts {
    /// Builds facts from `skus` in any order (sorted here; ids are then the
    /// positions) and the popularity fallback computed from them.
    pub fn new(
        version: &str,
        brand: &str,
        region: &str,
        orders: u64,
        mut skus: Vec<SkuFacts>,
        popular_len: usize,
    ) -> Facts {
        skus.sort_by(|a, b| a.sku.cmp(&b.sku));
        skus.dedup_by(|a, b| a.sku == b.sku);
        skus.sort_by(|a, b| b.popularity.cmp(&a.popularity).then(a.sku.cmp(&b.sku)));
        let by_sku = sku_index(&skus);
        let mut popular: Vec<u32> = (0..skus.len() as u32)
            .filter(|&i| skus[i as usize].offerable && skus[i as usize].popularity > 0)
            .collect();
        popular.sort_by(|&a, &b| {
            skus[b as usize]
                .popularity
                .cmp(&skus[a as usize].popularity)
                .then(a.cmp(&b))
        });
        popular.truncate(popular_len);
        Facts {
            version: version.into(),
            brand: brand.into(),
            region: region.into(),
            orders,
            skus,
            by_sku,
            popular,
        }
    }

    /// Id of `sku`, if the table knows it.
    pub fn id(&self, sku: &str) -> Option<u32> {
        self.by_sku
            .binary_search_by(|&i| self.skus[i as usize].sku.as_str().cmp(sku))
            .ok()
            .map(|k| self.by_sku[k])
    }

    /// Facts of SKU id `id`.
    pub fn get(&self, id: u32) -> Option<&SkuFacts> {
        self.skus.get(id as usize)
    }

    /// Lift of a pair bought together in `together` orders:
    /// `together × orders / (popularity(a) × popularity(b))`.
    pub fn lift(&self, a: u32, b: u32, together: u32) -> f32 {
        let pa = self.get(a).map_or(0, |f| f.popularity) as f64;
        let pb = self.get(b).map_or(0, |f| f.popularity) as f64;
        if pa == 0.0 || pb == 0.0 {
            return 0.0;
        }
        (together as f64 * self.orders as f64 / (pa * pb)) as f32
    }
}

/// Ids in SKU-string order (written by the builder, checked by the reader).
fn sku_index(skus: &[SkuFacts]) -> Vec<u32> {
    let mut by_sku: Vec<u32> = (0..skus.len() as u32).collect();
    by_sku.sort_by(|&a, &b| skus[a as usize].sku.cmp(&skus[b as usize].sku));
    by_sku
}

/// Facts on the wire: columns (a few large msgpack values, not one struct
/// per SKU), with the SKU-order index written by the builder and checked by
/// the reader (a linear pass instead of a sort). A 40k-SKU value decodes
/// several times faster than the per-SKU structs did.
#[derive(Serialize, Deserialize)]
struct Wire {
    version: String,
    brand: String,
    region: String,
    orders: u64,
    /// SKU strings in id order, concatenated; `sku_lens` splits them.
    sku_text: String,
    /// LEB128 varints: byte length of each SKU string.
    sku_lens: Blob,
    /// f32 LE per SKU.
    prices: Blob,
    /// f32 LE per SKU; NaN when there is no cost.
    costs: Blob,
    /// One byte per SKU: bit 0 in stock, bit 1 offerable.
    flags: Blob,
    /// Distinct category names.
    categories: Vec<String>,
    /// LEB128 varints per SKU: 0 none, else 1 + index into `categories`.
    category_of: Blob,
    /// LEB128 varints: popularity per SKU.
    popularity: Blob,
    /// LEB128 varints: ids in SKU-string order.
    by_sku: Blob,
    popular: Vec<u32>,
}

/// Encodes the facts value.
pub fn encode_facts(facts: &Facts) -> Vec<u8> {
    let n = facts.skus.len();
    let mut categories: Vec<String> = facts
        .skus
        .iter()
        .filter_map(|f| f.category.clone())
        .collect();
    categories.sort();
    categories.dedup();
    let mut w = Wire {
        version: facts.version.clone(),
        brand: facts.brand.clone(),
        region: facts.region.clone(),
        orders: facts.orders,
        sku_text: String::new(),
        sku_lens: Blob::default(),
        prices: Blob(Vec::with_capacity(4 * n)),
        costs: Blob(Vec::with_capacity(4 * n)),
        flags: Blob(Vec::with_capacity(n)),
        category_of: Blob::default(),
        popularity: Blob::default(),
        by_sku: Blob::default(),
        categories: Vec::new(),
        popular: facts.popular.clone(),
    };
    for f in &facts.skus {
        w.sku_text.push_str(&f.sku);
        put_varint(&mut w.sku_lens.0, f.sku.len() as u32);
        w.prices.0.extend_from_slice(&f.price.to_le_bytes());
        w.costs
            .0
            .extend_from_slice(&f.cost.unwrap_or(f32::NAN).to_le_bytes());
        w.flags.0.push(f.in_stock as u8 | (f.offerable as u8) << 1);
        let c = f.category.as_ref().map_or(0, |c| {
            1 + categories.binary_search(c).expect("collected above") as u32
        });
        put_varint(&mut w.category_of.0, c);
        put_varint(&mut w.popularity.0, f.popularity);
    }
    for i in sku_index(&facts.skus) {
        put_varint(&mut w.by_sku.0, i);
    }
    w.categories = categories;
    seal(Kind::Facts, &w)
}

/// Decodes the facts value, verifying format version, checksum and ids.
pub fn decode_facts(bytes: &[u8]) -> Result<Facts, TableError> {
    let w: Wire = open(Kind::Facts, bytes)?;
    let bad = |what: &str| TableError::Invalid(format!("facts {what}"));
    let n = w.flags.0.len();
    if w.prices.0.len() != 4 * n || w.costs.0.len() != 4 * n {
        return Err(bad("column lengths"));
    }
    let f32_at = |b: &[u8], i: usize| {
        f32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
    };
    let (mut len_at, mut cat_at, mut pop_at, mut text_at) = (0, 0, 0, 0);
    let mut skus = Vec::with_capacity(n);
    for i in 0..n {
        let len =
            get_varint(&w.sku_lens.0, &mut len_at).ok_or_else(|| bad("SKU lengths"))? as usize;
        let sku = w
            .sku_text
            .get(text_at..text_at + len)
            .ok_or_else(|| bad("SKU text"))?;
        text_at += len;
        let category =
            match get_varint(&w.category_of.0, &mut cat_at).ok_or_else(|| bad("categories"))? {
                0 => None,
                c => Some(
                    w.categories
                        .get(c as usize - 1)
                        .ok_or_else(|| bad("category id"))?
                        .clone(),
                ),
            };
        let cost = f32_at(&w.costs.0, i);
        skus.push(SkuFacts {
            sku: sku.to_string(),
            price: f32_at(&w.prices.0, i),
            cost: (!cost.is_nan()).then_some(cost),
            in_stock: w.flags.0[i] & 1 != 0,
            offerable: w.flags.0[i] & 2 != 0,
            category,
            popularity: get_varint(&w.popularity.0, &mut pop_at)
                .ok_or_else(|| bad("popularity"))?,
        });
    }
    let mut by_sku = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    let mut at = 0;
    while at < w.by_sku.0.len() {
        let i = get_varint(&w.by_sku.0, &mut at).ok_or_else(|| bad("index"))? as usize;
        if i >= n || std::mem::replace(&mut seen[i], true) {
            return Err(bad("index not a permutation"));
        }
        by_sku.push(i as u32);
    }
    if by_sku.len() != n
        || text_at != w.sku_text.len()
        || by_sku
            .windows(2)
            .any(|p| skus[p[0] as usize].sku >= skus[p[1] as usize].sku)
    {
        return Err(bad("index not in SKU order, or SKUs not unique"));
    }
    if w.popular.iter().any(|&i| i as usize >= n) {
        return Err(bad("popular id out of range"));
    }
    Ok(Facts {
        version: w.version,
        brand: w.brand,
        region: w.region,
        orders: w.orders,
        skus,
        by_sku,
        popular: w.popular,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sku(s: &str, pop: u32, offerable: bool) -> SkuFacts {
        SkuFacts {
            sku: s.into(),
            price: 2.5,
            cost: None,
            in_stock: true,
            offerable,
            category: Some("c".into()),
            popularity: pop,
        }
    }

    #[test]
    fn facts_roundtrip_ids_popular_and_lift() {
        let f = Facts::new(
            "v1",
            "default",
            "all",
            100,
            vec![
                sku("B", 10, true),
                sku("A", 20, true),
                sku("C", 30, false),
                sku("D", 0, true),
            ],
            10,
        );
        let back = decode_facts(&encode_facts(&f)).unwrap();
        assert_eq!(back, f);
        // ids by popularity: C, A, B, D
        assert_eq!(back.id("C"), Some(0));
        assert_eq!(back.id("A"), Some(1));
        assert_eq!(back.id("D"), Some(3));
        assert_eq!(back.id("Z"), None);
        // C is not offerable, D never sold: neither is a popularity fallback.
        assert_eq!(back.popular, vec![1, 2]);
        assert!((back.lift(1, 2, 5) - 5.0 * 100.0 / 200.0).abs() < 1e-6);
        let mut bad = encode_facts(&f);
        let n = bad.len();
        bad[n - 2] ^= 1;
        assert!(decode_facts(&bad).is_err());
    }
}
