//! Reading a table manifest the way the worker must: tolerant of KV's eventual
//! consistency and of manifests written by newer code.
//!
//! `model-builder publish` writes KV key `manifest/<brand>/<region>` as the
//! build's manifest (`{"format", "version", "keys": [{"key", "sha256"}], ...}`)
//! plus `published_at` and `previous` (the manifest it replaced, without its own
//! `previous`). A reader takes the newest version it understands and whose
//! shards it can all read; otherwise the previous one; otherwise no offers. It
//! never mixes shards of two versions.
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;

/// Highest manifest format this code reads: the table codec's version (the
/// configuration's manifests are format 1, which every reader reads).
pub const MANIFEST_FORMAT: u32 = crate::table::FORMAT_VERSION as u32;

/// KV key of the manifest for `brand` in `region`.
pub fn manifest_key(brand: &str, region: &str) -> String {
    format!("manifest/{brand}/{region}")
}

/// One KV value a version consists of, with its checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestKey {
    /// KV key (under `tables/...`).
    pub key: String,
    /// Lower-case hex SHA-256 of the value.
    pub sha256: String,
}

/// One readable table version named by a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct TableVersion {
    /// Manifest format of this version.
    pub format: u32,
    /// Version name.
    pub version: String,
    /// Its KV values.
    pub keys: Vec<ManifestKey>,
    /// The whole manifest level (without `previous`), for fields other modules read.
    pub raw: Value,
}

/// Parses one manifest level; `None` if it is of a newer format or malformed.
fn level(v: &Value) -> Option<TableVersion> {
    let format = match v.get("format") {
        None => 1,
        Some(f) => u32::try_from(f.as_u64()?).ok()?,
    };
    if format > MANIFEST_FORMAT {
        return None;
    }
    let version = v.get("version")?.as_str()?.to_string();
    let keys: Vec<ManifestKey> = serde_json::from_value(v.get("keys")?.clone()).ok()?;
    let mut raw = v.clone();
    if let Some(o) = raw.as_object_mut() {
        o.remove("previous");
    }
    Some(TableVersion {
        format,
        version,
        keys,
        raw,
    })
}

/// The versions a manifest offers that this code can read, best first (current,
/// then previous). Empty when neither is readable; `Err` only for bytes that are
/// not JSON at all.
pub fn readable_versions(bytes: &[u8]) -> Result<Vec<TableVersion>, String> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("manifest is not JSON: {e}"))?;
    let mut out: Vec<TableVersion> = level(&v).into_iter().collect();
    if let Some(p) = v.get("previous").and_then(level) {
        if out.first().is_none_or(|c| c.version != p.version) {
            out.push(p);
        }
    }
    Ok(out)
}

/// Reads the shards `wanted` picks from the first version whose every wanted
/// shard `get` can return, trying versions in order. `None` means "no offers":
/// no version is complete yet (KV may not have propagated it) or none is readable.
pub async fn read_complete<W, G, F>(
    versions: &[TableVersion],
    wanted: W,
    mut get: G,
) -> Option<(&TableVersion, Vec<Vec<u8>>)>
where
    W: Fn(&TableVersion) -> Vec<String>,
    G: FnMut(String) -> F,
    F: Future<Output = Option<Vec<u8>>>,
{
    'versions: for v in versions {
        let mut values = Vec::new();
        for key in wanted(v) {
            match get(key).await {
                Some(bytes) => values.push(bytes),
                None => continue 'versions,
            }
        }
        return Some((v, values));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::task::{Context, Poll, Waker};

    /// Polls a future that never waits (our `get` closures are ready at once).
    fn run<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("future waited"),
        }
    }

    fn manifest(format: u32, version: &str, keys: &[&str], previous: Option<Value>) -> Value {
        let mut m = serde_json::json!({
            "format": format,
            "version": version,
            "shards": keys.len(),
            "keys": keys.iter().map(|k| serde_json::json!({"key": k, "sha256": "00"})).collect::<Vec<_>>(),
        });
        if let Some(p) = previous {
            m["previous"] = p;
        }
        m
    }

    fn store(keys: &[&str]) -> HashMap<String, Vec<u8>> {
        keys.iter()
            .map(|k| (k.to_string(), k.as_bytes().to_vec()))
            .collect()
    }

    fn read(m: &Value, kv: &HashMap<String, Vec<u8>>) -> Option<(String, Vec<Vec<u8>>)> {
        let versions = readable_versions(m.to_string().as_bytes()).unwrap();
        run(read_complete(
            &versions,
            |v| v.keys.iter().map(|k| k.key.clone()).collect(),
            |k| std::future::ready(kv.get(&k).cloned()),
        ))
        .map(|(v, vals)| (v.version.clone(), vals))
    }

    #[test]
    fn current_version_when_all_its_shards_are_readable() {
        let m = manifest(
            1,
            "v2",
            &["t/v2/0", "t/v2/1"],
            Some(manifest(1, "v1", &["t/v1/0"], None)),
        );
        let kv = store(&["t/v2/0", "t/v2/1", "t/v1/0"]);
        let (v, vals) = read(&m, &kv).unwrap();
        assert_eq!(v, "v2");
        assert_eq!(vals, vec![b"t/v2/0".to_vec(), b"t/v2/1".to_vec()]);
    }

    #[test]
    fn missing_shard_falls_back_to_the_whole_previous_version() {
        let m = manifest(
            1,
            "v2",
            &["t/v2/0", "t/v2/1"],
            Some(manifest(1, "v1", &["t/v1/0"], None)),
        );
        let kv = store(&["t/v2/0", "t/v1/0"]);
        let (v, vals) = read(&m, &kv).unwrap();
        assert_eq!(v, "v1");
        assert_eq!(vals, vec![b"t/v1/0".to_vec()], "no shard of v2 mixed in");
    }

    #[test]
    fn nothing_readable_means_no_offers() {
        let m = manifest(
            1,
            "v2",
            &["t/v2/0"],
            Some(manifest(1, "v1", &["t/v1/0"], None)),
        );
        assert_eq!(read(&m, &store(&[])), None);
        let lone = manifest(1, "v1", &["t/v1/0"], None);
        assert_eq!(read(&lone, &store(&["t/v2/0"])), None);
    }

    #[test]
    fn newer_format_is_skipped_for_the_previous_version() {
        let m = manifest(
            MANIFEST_FORMAT + 1,
            "v3",
            &["t/v3/0"],
            Some(manifest(1, "v2", &["t/v2/0"], None)),
        );
        let kv = store(&["t/v3/0", "t/v2/0"]);
        assert_eq!(read(&m, &kv).unwrap().0, "v2");
        let newer_only = manifest(MANIFEST_FORMAT + 1, "v3", &["t/v3/0"], None);
        assert!(readable_versions(newer_only.to_string().as_bytes())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn newer_format_with_a_changed_shape_is_skipped_not_an_error() {
        let m = serde_json::json!({"format": 9, "version": {"major": 3}, "keys": "elsewhere",
            "previous": manifest(1, "v2", &["t/v2/0"], None)});
        let vs = readable_versions(m.to_string().as_bytes()).unwrap();
        assert_eq!(vs.len(), 1);
        assert_eq!(vs[0].version, "v2");
        assert!(
            vs[0].raw.get("shards").is_some(),
            "other fields kept for other readers"
        );
        assert!(readable_versions(b"not json").is_err());
    }
}
