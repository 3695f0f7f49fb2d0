//! Catalog shards: display details (title, url, image) of SKUs, read only for
//! the few SKUs actually offered.
use serde::{Deserialize, Serialize};

use super::codec::{open, seal, Kind};
use super::error::TableError;

/// Display details of one SKU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// SKU id string.
    pub sku: String,
    /// Product title.
    pub title: String,
    /// Product page URL.
    pub url: String,
    /// Image URL.
    pub image: String,
}

/// A decoded catalog shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogShard {
    /// Shard number.
    pub shard: u32,
    entries: Vec<CatalogEntry>,
}

impl CatalogShard {
    /// Display details of `sku`, if in this shard.
    pub fn get(&self, sku: &str) -> Option<&CatalogEntry> {
        self.entries
            .binary_search_by(|e| e.sku.as_str().cmp(sku))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the shard has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Encodes catalog shard `shard` from `entries` (any order).
pub fn encode_catalog(shard: u32, mut entries: Vec<CatalogEntry>) -> Vec<u8> {
    entries.sort_by(|a, b| a.sku.cmp(&b.sku));
    entries.dedup_by(|a, b| a.sku == b.sku);
    seal(Kind::Catalog, &CatalogShard { shard, entries })
}

/// Decodes a catalog shard, verifying format version and checksum.
pub fn decode_catalog(bytes: &[u8]) -> Result<CatalogShard, TableError> {
    let shard: CatalogShard = open(Kind::Catalog, bytes)?;
    if shard.entries.windows(2).any(|w| w[0].sku >= w[1].sku) {
        return Err(TableError::Invalid("catalog SKUs not sorted".into()));
    }
    Ok(shard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_roundtrip_and_corruption() {
        let e = |s: &str| CatalogEntry {
            sku: s.into(),
            title: format!("T {s}"),
            url: format!("/p/{s}"),
            image: format!("/i/{s}.jpg"),
        };
        let bytes = encode_catalog(2, vec![e("b"), e("a")]);
        let shard = decode_catalog(&bytes).unwrap();
        assert_eq!(shard.len(), 2);
        assert_eq!(shard.get("b").unwrap().title, "T b");
        assert!(shard.get("c").is_none());
        let mut bad = bytes.clone();
        bad[12] ^= 0xFF;
        assert!(decode_catalog(&bad).is_err());
    }
}
