//! Offer facts of a table: every SKU it knows (its ids), with price, stock,
//! category, cost and popularity, plus the popularity fallback list. Small,
//! fetched once per table version and cached in the isolate.
use serde::{Deserialize, Serialize};

use super::codec::{open, seal, Kind};
use super::error::TableError;

/// Facts about one SKU, as the builder hands them to the encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Ids sorted by SKU string, for lookups by SKU (rebuilt on decoding).
    #[serde(skip)]
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

/// Ids in SKU-string order. Sorts (string, id) pairs, not ids that point at
/// the strings, so comparisons read adjacent memory; unstable is exact here
/// since every pair differs in its id.
fn sku_index(skus: &[SkuFacts]) -> Vec<u32> {
    let mut pairs: Vec<(&str, u32)> = skus
        .iter()
        .enumerate()
        .map(|(i, f)| (f.sku.as_str(), i as u32))
        .collect();
    pairs.sort_unstable();
    pairs.into_iter().map(|(_, i)| i).collect()
}

/// Encodes the facts value.
pub fn encode_facts(facts: &Facts) -> Vec<u8> {
    seal(Kind::Facts, facts)
}

/// Decodes the facts value, verifying format version, checksum and ids.
pub fn decode_facts(bytes: &[u8]) -> Result<Facts, TableError> {
    let mut facts: Facts = open(Kind::Facts, bytes)?;
    facts.by_sku = sku_index(&facts.skus);
    if facts
        .by_sku
        .windows(2)
        .any(|w| facts.skus[w[0] as usize].sku == facts.skus[w[1] as usize].sku)
    {
        return Err(TableError::Invalid("facts SKUs not unique".into()));
    }
    if facts
        .popular
        .iter()
        .any(|&i| i as usize >= facts.skus.len())
    {
        return Err(TableError::Invalid("popular id out of range".into()));
    }
    Ok(facts)
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
