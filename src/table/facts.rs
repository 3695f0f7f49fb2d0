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
    /// SKUs sorted by id string; a SKU's id is its index here.
    pub skus: Vec<SkuFacts>,
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
            popular,
        }
    }

    /// Id of `sku`, if the table knows it.
    pub fn id(&self, sku: &str) -> Option<u32> {
        self.skus
            .binary_search_by(|f| f.sku.as_str().cmp(sku))
            .ok()
            .map(|i| i as u32)
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

/// Encodes the facts value.
pub fn encode_facts(facts: &Facts) -> Vec<u8> {
    seal(Kind::Facts, facts)
}

/// Decodes the facts value, verifying format version, checksum and ids.
pub fn decode_facts(bytes: &[u8]) -> Result<Facts, TableError> {
    let facts: Facts = open(Kind::Facts, bytes)?;
    if facts.skus.windows(2).any(|w| w[0].sku >= w[1].sku) {
        return Err(TableError::Invalid("facts SKUs not sorted".into()));
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
        assert_eq!(back.id("A"), Some(0));
        assert_eq!(back.id("C"), Some(2));
        assert_eq!(back.id("Z"), None);
        // C is not offerable, D never sold: neither is a popularity fallback.
        assert_eq!(back.popular, vec![0, 1]);
        assert!((back.lift(0, 1, 5) - 5.0 * 100.0 / 200.0).abs() < 1e-6);
        let mut bad = encode_facts(&f);
        let n = bad.len();
        bad[n - 2] ^= 1;
        assert!(decode_facts(&bad).is_err());
    }
}
