//! The manifest: the one value that makes a table version live. It names the
//! version, its shard counts and every KV key with a checksum.
use serde::{Deserialize, Serialize};

use super::codec::FORMAT_VERSION;
use super::shard::shard_of;

/// One KV value of a table version, with its checksum for read-back checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestKey {
    /// KV key.
    pub key: String,
    /// Hex SHA-256 of the value.
    pub sha256: String,
    /// Size of the value in bytes.
    pub bytes: u64,
}

/// Manifest of one brand × region (KV key `manifest/<brand>/<region>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Table format version of the values.
    pub format: u16,
    /// Table (model) version.
    pub version: String,
    /// Brand.
    pub brand: String,
    /// Region this manifest is for.
    pub region: String,
    /// Build time, RFC 3339 UTC.
    pub built_at: String,
    /// Key prefix of the table served (`tables/<brand>/<region>/<version>`);
    /// a region without its own table points at the `all` table's prefix.
    pub prefix: String,
    /// Number of neighbour shards under `<prefix>/nbr/`.
    pub nbr_shards: u32,
    /// Key prefix of the brand's catalog shards, if a catalog was given.
    pub catalog_prefix: Option<String>,
    /// Number of catalog shards under `<catalog_prefix>/cat/`.
    pub cat_shards: u32,
    /// Region whose table this region borrows, when it has none of its own.
    pub fallback_region: Option<String>,
    /// Every KV value this manifest relies on, with checksums.
    pub keys: Vec<ManifestKey>,
}

impl Manifest {
    /// Key prefix of table `brand`/`region` at `version`.
    pub fn table_prefix(brand: &str, region: &str, version: &str) -> String {
        format!("tables/{brand}/{region}/{version}")
    }

    /// KV key of the neighbour shard holding `sku`.
    pub fn neighbour_key(&self, sku: &str) -> String {
        format!("{}/nbr/{}", self.prefix, shard_of(sku, self.nbr_shards))
    }

    /// KV key of the table's offer facts.
    pub fn facts_key(&self) -> String {
        format!("{}/facts", self.prefix)
    }

    /// KV key of the catalog shard holding `sku`, if the table has a catalog.
    pub fn catalog_key(&self, sku: &str) -> Option<String> {
        let prefix = self.catalog_prefix.as_ref()?;
        Some(format!("{prefix}/cat/{}", shard_of(sku, self.cat_shards)))
    }

    /// The distinct neighbour-shard keys an order's SKUs need (one read each).
    pub fn neighbour_keys<'a>(&self, skus: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut keys: Vec<String> = skus.into_iter().map(|s| self.neighbour_key(s)).collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// True when this reader can decode the manifest's values.
    pub fn is_supported(&self) -> bool {
        self.format == FORMAT_VERSION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_addressed_by_shard() {
        let m = Manifest {
            format: FORMAT_VERSION,
            version: "v1".into(),
            brand: "b".into(),
            region: "uk".into(),
            built_at: "2026-01-01T00:00:00Z".into(),
            prefix: Manifest::table_prefix("b", "uk", "v1"),
            nbr_shards: 4,
            catalog_prefix: None,
            cat_shards: 0,
            fallback_region: None,
            keys: vec![],
        };
        assert_eq!(
            m.neighbour_key("a"),
            format!("tables/b/uk/v1/nbr/{}", shard_of("a", 4))
        );
        assert_eq!(m.facts_key(), "tables/b/uk/v1/facts");
        assert_eq!(m.catalog_key("a"), None);
        assert!(m.neighbour_keys(["a", "a", "b"]).len() <= 2);
        let json = serde_json::to_string(&m).unwrap();
        let back: Manifest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert!(back.is_supported());
    }
}

/// The key-safe form of a brand or region name: lowercase ASCII letters and
/// digits, other runs of characters become one `-` (`"United Kingdom"` →
/// `"united-kingdom"`). The builder names tables with it; the edge looks
/// manifests up with it.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("default");
    }
    out
}

#[cfg(test)]
mod slug_tests {
    #[test]
    fn slugs() {
        assert_eq!(super::slug("United Kingdom"), "united-kingdom");
        assert_eq!(super::slug("  EIRE "), "eire");
        assert_eq!(super::slug("Channel  Islands/"), "channel-islands");
        assert_eq!(super::slug("??"), "default");
    }
}
