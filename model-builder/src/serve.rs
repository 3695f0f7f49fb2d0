//! Serving from built tables, natively, exactly as the edge does: decode the
//! manifest's values with the root crate's reader, then `rank::lists_for` +
//! `rank::rank`. Used by `recommend` and `evaluate`.
use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use upsell_edge::rank::{lists_for, rank, Offer, RankPolicy};
use upsell_edge::table::{
    decode_facts, decode_neighbours, shard_of, slug, Facts, Manifest, NeighbourShard,
};

use crate::model::ALL;

struct Table {
    facts: Facts,
    shards: Vec<NeighbourShard>,
}

/// Decoded tables of a build, addressed like the edge addresses them.
pub struct Tables {
    manifests: HashMap<(String, String), Manifest>,
    tables: HashMap<String, Table>,
}

impl Tables {
    /// Decodes every table named by `manifests`, reading values with `get`.
    pub fn load(manifests: &[Manifest], get: &dyn Fn(&str) -> Result<Vec<u8>>) -> Result<Tables> {
        let mut tables = HashMap::new();
        for m in manifests {
            if tables.contains_key(&m.prefix) {
                continue;
            }
            let facts = decode_facts(&get(&m.facts_key())?)
                .with_context(|| format!("decoding {}", m.facts_key()))?;
            let mut shards = Vec::with_capacity(m.nbr_shards as usize);
            for k in 0..m.nbr_shards {
                let key = format!("{}/nbr/{k}", m.prefix);
                shards.push(
                    decode_neighbours(&get(&key)?).with_context(|| format!("decoding {key}"))?,
                );
            }
            tables.insert(m.prefix.clone(), Table { facts, shards });
        }
        let manifests = manifests
            .iter()
            .map(|m| ((m.brand.clone(), m.region.clone()), m.clone()))
            .collect();
        Ok(Tables { manifests, tables })
    }

    /// Reads a build output directory (`manifests/` and `kv/`).
    pub fn from_dir(dir: &Path) -> Result<Tables> {
        let mdir = dir.join("manifests");
        let mut manifests = Vec::new();
        for brand in
            std::fs::read_dir(&mdir).with_context(|| format!("reading {}", mdir.display()))?
        {
            let brand = brand?.path();
            for f in
                std::fs::read_dir(&brand).with_context(|| format!("reading {}", brand.display()))?
            {
                let f = f?.path();
                if f.extension().is_some_and(|e| e == "json") {
                    let text = std::fs::read_to_string(&f)
                        .with_context(|| format!("reading {}", f.display()))?;
                    manifests.push(
                        serde_json::from_str::<Manifest>(&text)
                            .with_context(|| format!("parsing {}", f.display()))?,
                    );
                }
            }
        }
        if manifests.is_empty() {
            return Err(anyhow!(
                "{}: no manifests (is this a build output directory?)",
                dir.display()
            ));
        }
        let kv = dir.join("kv");
        Tables::load(&manifests, &|key| {
            let p = kv.join(key);
            std::fs::read(&p).with_context(|| format!("reading {}", p.display()))
        })
    }

    /// The manifest serving `brand` in `region` (its own, else the brand-wide one).
    pub fn manifest(&self, brand: &str, region: Option<&str>) -> Option<&Manifest> {
        let brand = slug(brand);
        region
            .and_then(|r| self.manifests.get(&(brand.clone(), slug(r))))
            .or_else(|| self.manifests.get(&(brand, ALL.to_string())))
    }

    /// Brands that have tables.
    pub fn brands(&self) -> Vec<String> {
        let mut b: Vec<String> = self.manifests.keys().map(|(b, _)| b.clone()).collect();
        b.sort();
        b.dedup();
        b
    }

    /// Offers for an order, ranked by the edge's function.
    pub fn recommend(
        &self,
        brand: &str,
        region: Option<&str>,
        skus: &[&str],
        policy: &RankPolicy,
    ) -> Vec<Offer> {
        let Some(m) = self.manifest(brand, region) else {
            return Vec::new();
        };
        let Some(t) = self.tables.get(&m.prefix) else {
            return Vec::new();
        };
        let lists = lists_for(&t.facts, skus, |sku| {
            t.shards.get(shard_of(sku, m.nbr_shards) as usize)
        });
        rank(&t.facts, skus, &lists, policy)
    }
}
