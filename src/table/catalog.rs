//! Catalog shards: display details (title, url, image) of SKUs, read only for
//! the few SKUs actually offered.
use serde::{Deserialize, Serialize};

use super::codec::{inflate, seal, Kind};
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

/// A decoded catalog shard: the inflated msgpack kept as it is, with where
/// each entry's four strings lie in it. Decoding allocates two buffers, not
/// four strings per SKU (a shard has hundreds of SKUs, an order reads three).
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogShard {
    /// Shard number.
    pub shard: u32,
    raw: Vec<u8>,
    /// Per entry, (start, end) of sku, title, url and image in `raw`.
    spans: Vec<[(u32, u32); 4]>,
}

/// The wire layout, written from owned entries.
#[derive(Serialize)]
struct WireOut {
    shard: u32,
    entries: Vec<CatalogEntry>,
}

/// The wire layout, read borrowing the strings.
#[derive(Deserialize)]
struct WireIn<'a> {
    shard: u32,
    #[serde(borrow)]
    entries: Vec<(&'a str, &'a str, &'a str, &'a str)>,
}

impl CatalogShard {
    /// Display details of `sku`, if in this shard.
    pub fn get(&self, sku: &str) -> Option<CatalogEntry> {
        let i = self
            .spans
            .binary_search_by(|e| self.bytes(e[0]).cmp(sku.as_bytes()))
            .ok()?;
        let text = |k: usize| String::from_utf8_lossy(self.bytes(self.spans[i][k])).into_owned();
        Some(CatalogEntry {
            sku: text(0),
            title: text(1),
            url: text(2),
            image: text(3),
        })
    }

    fn bytes(&self, (a, b): (u32, u32)) -> &[u8] {
        &self.raw[a as usize..b as usize]
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when the shard has no entries.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// Encodes catalog shard `shard` from `entries` (any order).
pub fn encode_catalog(shard: u32, mut entries: Vec<CatalogEntry>) -> Vec<u8> {
    entries.sort_by(|a, b| a.sku.cmp(&b.sku));
    entries.dedup_by(|a, b| a.sku == b.sku);
    seal(Kind::Catalog, &WireOut { shard, entries })
}

/// Decodes a catalog shard, verifying format version and checksum.
pub fn decode_catalog(bytes: &[u8]) -> Result<CatalogShard, TableError> {
    let raw = inflate(Kind::Catalog, bytes)?;
    let base = raw.as_ptr() as usize;
    // Strings borrowed from `raw` (msgpack str, checked UTF-8): their places.
    let span = |s: &str| {
        let a = s.as_ptr() as usize - base;
        (a as u32, (a + s.len()) as u32)
    };
    let wire: WireIn<'_> =
        rmp_serde::from_slice(&raw).map_err(|e| TableError::Decode(e.to_string()))?;
    if wire.entries.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(TableError::Invalid("catalog SKUs not sorted".into()));
    }
    let spans = wire
        .entries
        .iter()
        .map(|e| [span(e.0), span(e.1), span(e.2), span(e.3)])
        .collect();
    let shard = wire.shard;
    Ok(CatalogShard { shard, raw, spans })
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
        assert_eq!(shard.get("b").unwrap(), e("b"));
        assert_eq!(shard.get("a").unwrap().image, "/i/a.jpg");
        assert!(shard.get("c").is_none());
        let mut bad = bytes.clone();
        bad[12] ^= 0xFF;
        assert!(decode_catalog(&bad).is_err());
    }
}
