//! Safe publishing to Workers KV: upload a new version's values, read them back
//! and compare checksums, and only then switch the manifests; roll back in one
//! write per manifest; garbage-collect versions after a grace period.
//!
//! KV layout (values as written here):
//! - `config/current`, `config/previous` — compiled configuration JSON;
//! - `manifest/<brand>/<region>` — the build's manifest + `published_at` +
//!   `previous` (the manifest it replaced, without its own `previous`);
//! - `manifest/<brand>/<region>/history` — every version not yet collected:
//!   `[{"version", "keys", "published_at", "superseded_at"}]`;
//! - `tables/...` — values from the build output, uploaded as-is.
pub mod build_output;
pub mod wrangler;

use anyhow::{bail, Context, Result};
use build_output::{sha256_hex, BuildOutput};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use upsell_edge::config::manifest::{manifest_key, ManifestKey};
use upsell_edge::config::{
    format_rfc3339, parse_rfc3339, CompiledConfig, CONFIG_KEY, CONFIG_PREVIOUS_KEY,
};
use wrangler::Kv;

/// KV key of the history of `manifest/<brand>/<region>`.
pub fn history_key(brand: &str, region: &str) -> String {
    format!("{}/history", manifest_key(brand, region))
}

/// Parses a JSON text value read from KV; `None` if missing or not JSON.
fn parse(v: Option<&Option<String>>) -> Option<Value> {
    v.and_then(|s| s.as_deref())
        .and_then(|s| serde_json::from_str(s).ok())
}

/// A manifest without its `previous` (what gets nested one level).
fn strip_previous(m: &Value) -> Value {
    let mut m = m.clone();
    if let Some(o) = m.as_object_mut() {
        o.remove("previous");
    }
    m
}

/// `(key, sha256)` pairs a manifest value names.
fn keys_of(m: &Value) -> Vec<ManifestKey> {
    m.get("keys")
        .and_then(|k| serde_json::from_value(k.clone()).ok())
        .unwrap_or_default()
}

/// `version` of a manifest value.
fn version_of(m: &Value) -> Option<&str> {
    m.get("version").and_then(Value::as_str)
}

/// What a publish did.
#[derive(Debug, Default)]
pub struct Report {
    /// Values uploaded and verified.
    pub uploaded: usize,
    /// Values already live with the same checksum, not uploaded again.
    pub reused: usize,
    /// Manifests switched, as `brand/region: old → new`.
    pub switched: Vec<String>,
    /// Manifests already at the built version.
    pub unchanged: Vec<String>,
}

/// Publishes the compiled configuration: `config/previous` ← the live one, `config/current` ← `cfg`.
/// Skips the write when the live version is the same. Returns the version if it changed.
pub fn publish_config(kv: &Kv, cfg: &CompiledConfig, now: i64) -> Result<Option<String>> {
    let live = kv.get_text(&[CONFIG_KEY.to_string()])?;
    let live = parse(live.get(CONFIG_KEY));
    if live
        .as_ref()
        .and_then(|v| v.get("version"))
        .and_then(Value::as_str)
        == Some(cfg.version.as_str())
    {
        return Ok(None);
    }
    let mut cfg = cfg.clone();
    cfg.published_at = format_rfc3339(now);
    let body = cfg.to_json();
    let mut pairs = vec![(CONFIG_KEY.to_string(), body.clone().into_bytes())];
    if let Some(old) = live {
        pairs.push((
            CONFIG_PREVIOUS_KEY.to_string(),
            old.to_string().into_bytes(),
        ));
    }
    write_verified(kv, &pairs)?;
    Ok(Some(cfg.version))
}

/// Publishes a build: upload, verify by checksum, then switch each manifest.
/// Fails before any manifest is switched if a value does not read back intact,
/// or if the new version would overwrite a value a live version reads.
pub fn publish_tables(kv: &Kv, build: &BuildOutput, now: i64) -> Result<Report> {
    let mut report = Report::default();
    let mkeys: Vec<String> = build
        .manifests
        .iter()
        .map(|m| manifest_key(&m.brand, &m.region))
        .collect();
    let hkeys: Vec<String> = build
        .manifests
        .iter()
        .map(|m| history_key(&m.brand, &m.region))
        .collect();
    // Every published manifest, not only this build's: a value any live or
    // previous version reads (in any brand × region) must not change under it.
    let (live, cells) = live_manifests(kv)?;
    let mut live_sha: BTreeMap<String, String> = BTreeMap::new();
    for (b, r) in &cells {
        if let Some(m) = parse(live.get(&manifest_key(b, r))) {
            for level in [Some(m.clone()), m.get("previous").cloned()]
                .into_iter()
                .flatten()
            {
                for mk in keys_of(&level) {
                    live_sha.insert(mk.key, mk.sha256.to_ascii_lowercase());
                }
            }
        }
    }
    let mut upload: Vec<(String, Vec<u8>)> = Vec::new();
    let mut conflicts = Vec::new();
    for (key, path) in &build.values {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let sha = sha256_hex(&bytes);
        match live_sha.get(key) {
            Some(s) if *s == sha => report.reused += 1,
            Some(_) => conflicts.push(key.clone()),
            None => upload.push((key.clone(), bytes)),
        }
    }
    if !conflicts.is_empty() {
        bail!(
            "refusing to publish: {} value(s) would change under a live version (keys must be versioned): {}",
            conflicts.len(),
            conflicts.join(", ")
        );
    }

    let back = kv.put_and_read_back(&upload)?;
    let bad: Vec<String> = upload
        .iter()
        .filter(|(k, v)| {
            back.get(k).and_then(|b| b.as_ref()).map(|b| sha256_hex(b)) != Some(sha256_hex(v))
        })
        .map(|(k, _)| k.clone())
        .collect();
    if !bad.is_empty() {
        bail!(
            "verification failed, manifests NOT switched: {} value(s) did not read back with their checksum: {}",
            bad.len(),
            bad.join(", ")
        );
    }
    report.uploaded = upload.len();

    let stamp = format_rfc3339(now);
    let mut writes: Vec<(String, Vec<u8>)> = Vec::new();
    for ((m, mk), hk) in build.manifests.iter().zip(&mkeys).zip(&hkeys) {
        let current = parse(live.get(mk));
        let name = format!("{}/{}", m.brand, m.region);
        let current_version = current
            .as_ref()
            .and_then(|c| version_of(c).map(String::from));
        if current_version.as_deref() == Some(m.version.as_str()) {
            report.unchanged.push(format!("{name}: {}", m.version));
            continue;
        }
        let mut value = m.value.clone();
        value["published_at"] = json!(stamp);
        if let Some(c) = &current {
            value["previous"] = strip_previous(c);
        }
        let mut history: Vec<Value> = parse(live.get(hk))
            .and_then(|h| h.as_array().cloned())
            .unwrap_or_default();
        for h in history.iter_mut() {
            if h.get("superseded_at").is_none_or(Value::is_null) {
                h["superseded_at"] = json!(stamp);
            }
        }
        history.retain(|h| version_of(h) != Some(m.version.as_str()));
        history.push(json!({"version": m.version, "keys": m.keys, "published_at": stamp, "superseded_at": null}));
        writes.push((mk.clone(), value.to_string().into_bytes()));
        writes.push((hk.clone(), Value::Array(history).to_string().into_bytes()));
        report.switched.push(format!(
            "{name}: {} → {}",
            current_version.as_deref().unwrap_or("(none)"),
            m.version
        ));
    }
    // The switch: one write per manifest key, in one batch, read back.
    write_verified(kv, &writes)?;
    Ok(report)
}

/// Writes pairs, reads them back and fails unless each is exactly as written.
fn write_verified(kv: &Kv, writes: &[(String, Vec<u8>)]) -> Result<()> {
    let back = kv.put_and_read_back(writes)?;
    for (k, v) in writes {
        if back.get(k).and_then(|b| b.as_deref()) != Some(v.as_slice()) {
            bail!("`{k}` did not read back as written");
        }
    }
    Ok(())
}

/// Everything under `manifest/` (manifests and histories) with its value, and
/// the (brand, region) of every manifest key among them.
type Live = (BTreeMap<String, Option<String>>, Vec<(String, String)>);

/// Reads every manifest and history in one go.
pub fn live_manifests(kv: &Kv) -> Result<Live> {
    let all = kv.list_text("manifest/")?;
    let cells = all
        .keys()
        .filter_map(|k| {
            let parts: Vec<&str> = k.split('/').collect();
            match parts.as_slice() {
                ["manifest", b, r] => Some((b.to_string(), r.to_string())),
                _ => None,
            }
        })
        .collect();
    Ok((all, cells))
}

/// Switches each selected manifest back to its `previous` version, one write per
/// manifest; the version rolled back from becomes the new `previous`, so a second
/// rollback rolls forward. Returns `brand/region: from → to` lines.
pub fn rollback_tables(
    kv: &Kv,
    brand: Option<&str>,
    region: Option<&str>,
    now: i64,
) -> Result<Vec<String>> {
    let (live, cells) = live_manifests(kv)?;
    let targets: Vec<(String, String)> = cells
        .into_iter()
        .filter(|(b, r)| brand.is_none_or(|x| x == b) && region.is_none_or(|x| x == r))
        .collect();
    if targets.is_empty() {
        bail!("no published manifest matches brand {brand:?} region {region:?}");
    }
    let keys: Vec<String> = targets.iter().map(|(b, r)| manifest_key(b, r)).collect();
    let mut writes = Vec::new();
    let mut done = Vec::new();
    let mut missing = Vec::new();
    for ((b, r), k) in targets.iter().zip(&keys) {
        let Some(cur) = parse(live.get(k)) else {
            missing.push(format!("{b}/{r}: manifest unreadable"));
            continue;
        };
        let Some(prev) = cur.get("previous").filter(|p| p.is_object()) else {
            missing.push(format!("{b}/{r}: no previous version to roll back to"));
            continue;
        };
        let mut value = prev.clone();
        value["previous"] = strip_previous(&cur);
        value["rolled_back_at"] = json!(format_rfc3339(now));
        done.push(format!(
            "{b}/{r}: {} → {}",
            version_of(&cur).unwrap_or("?"),
            version_of(prev).unwrap_or("?")
        ));
        writes.push((k.clone(), value.to_string().into_bytes()));
    }
    if !missing.is_empty() {
        bail!(
            "rollback refused, nothing written:\n  {}",
            missing.join("\n  ")
        );
    }
    write_verified(kv, &writes)?;
    Ok(done)
}

/// Swaps `config/current` and `config/previous`. Returns `from → to`.
pub fn rollback_config(kv: &Kv) -> Result<String> {
    let keys = [CONFIG_KEY.to_string(), CONFIG_PREVIOUS_KEY.to_string()];
    let live = kv.get_text(&keys)?;
    let (Some(Some(cur)), Some(Some(prev))) = (live.get(CONFIG_KEY), live.get(CONFIG_PREVIOUS_KEY))
    else {
        bail!("no previous configuration to roll back to");
    };
    let version = |s: &str| {
        serde_json::from_str::<Value>(s)
            .ok()
            .and_then(|v| v.get("version").and_then(Value::as_str).map(String::from))
            .unwrap_or_default()
    };
    let line = format!("config: {} → {}", version(cur), version(prev));
    let writes = vec![
        (CONFIG_KEY.to_string(), prev.clone().into_bytes()),
        (CONFIG_PREVIOUS_KEY.to_string(), cur.clone().into_bytes()),
    ];
    write_verified(kv, &writes)?;
    Ok(line)
}

/// Deletes the values of versions that stopped being current more than `grace_secs`
/// ago and are neither the current nor the previous version; keys still used by a
/// kept version survive. Returns the number of values deleted.
pub fn gc(kv: &Kv, grace_secs: i64, now: i64) -> Result<(usize, Vec<String>)> {
    let (live, targets) = live_manifests(kv)?;
    let mkeys: Vec<String> = targets.iter().map(|(b, r)| manifest_key(b, r)).collect();
    let hkeys: Vec<String> = targets.iter().map(|(b, r)| history_key(b, r)).collect();
    let mut delete = BTreeSet::new();
    let mut keep = BTreeSet::new();
    let mut writes = Vec::new();
    let mut lines = Vec::new();
    for (mk, hk) in mkeys.iter().zip(&hkeys) {
        let Some(cur) = parse(live.get(mk)) else {
            continue;
        };
        let pinned: BTreeSet<String> = [version_of(&cur), cur.get("previous").and_then(version_of)]
            .into_iter()
            .flatten()
            .map(String::from)
            .collect();
        let history: Vec<Value> = parse(live.get(hk))
            .and_then(|h| h.as_array().cloned())
            .unwrap_or_default();
        let (mut kept, mut expired) = (Vec::new(), Vec::new());
        for h in history {
            let v = version_of(&h).unwrap_or_default().to_string();
            let gone_at = h
                .get("superseded_at")
                .and_then(Value::as_str)
                .and_then(parse_rfc3339);
            let old = gone_at.is_some_and(|t| t + grace_secs <= now);
            if old && !pinned.contains(&v) {
                expired.push(h);
            } else {
                kept.push(h);
            }
        }
        for level in [Some(cur.clone()), cur.get("previous").cloned()]
            .into_iter()
            .flatten()
        {
            keep.extend(keys_of(&level).into_iter().map(|k| k.key));
        }
        for h in &kept {
            keep.extend(keys_of(h).into_iter().map(|k| k.key));
        }
        for h in &expired {
            delete.extend(keys_of(h).into_iter().map(|k| k.key));
            lines.push(format!(
                "{}: collected version {}",
                &mk["manifest/".len()..],
                version_of(h).unwrap_or("?")
            ));
        }
        if !expired.is_empty() {
            writes.push((hk.clone(), Value::Array(kept).to_string().into_bytes()));
        }
    }
    let delete: Vec<String> = delete.difference(&keep).cloned().collect();
    if !delete.is_empty() {
        kv.delete_all(&delete)?;
    }
    if !writes.is_empty() {
        kv.put_all(&writes)?;
    }
    Ok((delete.len(), lines))
}
