//! Reads what `model-builder build` wrote: `OUT/kv/<key>` (values uploaded as-is
//! under KV key `<key>`) and `OUT/manifests/<brand>/<region>.json` (the manifest
//! for KV key `manifest/<brand>/<region>`), and checks it before anything is uploaded.
use anyhow::{bail, Context, Result};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use upsell_edge::config::manifest::ManifestKey;

/// Largest KV value (25 MiB).
pub const MAX_VALUE_BYTES: u64 = 25 << 20;
/// Longest KV key (512 bytes).
pub const MAX_KEY_BYTES: usize = 512;

/// One manifest the build produced.
#[derive(Debug, Clone)]
pub struct BuiltManifest {
    /// Brand id (directory name).
    pub brand: String,
    /// Region id (file stem).
    pub region: String,
    /// The manifest JSON as built.
    pub value: Value,
    /// Its `version`.
    pub version: String,
    /// Its `keys`.
    pub keys: Vec<ManifestKey>,
}

/// The whole build output.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// KV key → file holding its value.
    pub values: BTreeMap<String, PathBuf>,
    /// Manifests, by (brand, region).
    pub manifests: Vec<BuiltManifest>,
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file under `dir`, recursively, sorted.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// Reads and checks a build output directory: every manifest names a version and
/// keys, every key it names exists under `kv/` with the checksum it states, and
/// every key and value fits KV's limits.
pub fn read_build(out: &Path) -> Result<BuildOutput> {
    let kv_dir = out.join("kv");
    let mut files = Vec::new();
    if kv_dir.is_dir() {
        walk(&kv_dir, &mut files)?;
    }
    let mut values = BTreeMap::new();
    let mut problems = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&kv_dir).expect("under kv/");
        let key = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if key.len() > MAX_KEY_BYTES {
            problems.push(format!(
                "{}: key is {} bytes, KV allows {MAX_KEY_BYTES}",
                f.display(),
                key.len()
            ));
        }
        let size = f.metadata()?.len();
        if size > MAX_VALUE_BYTES {
            problems.push(format!(
                "{}: value is {size} bytes, KV allows {MAX_VALUE_BYTES}",
                f.display()
            ));
        }
        values.insert(key, f);
    }
    let mdir = out.join("manifests");
    let mut mfiles = Vec::new();
    if mdir.is_dir() {
        walk(&mdir, &mut mfiles)?;
    }
    let mut manifests = Vec::new();
    for f in mfiles {
        let rel: Vec<String> = f
            .strip_prefix(&mdir)
            .expect("under manifests/")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .collect();
        let (brand, region) = match rel.as_slice() {
            [b, r] if r.ends_with(".json") => (b.clone(), r.trim_end_matches(".json").to_string()),
            _ => {
                problems.push(format!(
                    "{}: expected manifests/<brand>/<region>.json",
                    f.display()
                ));
                continue;
            }
        };
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("cannot read {}", f.display()))?;
        let value: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("{}: not JSON: {e}", f.display()));
                continue;
            }
        };
        let Some(version) = value
            .get("version")
            .and_then(Value::as_str)
            .map(String::from)
        else {
            problems.push(format!("{}: no string `version`", f.display()));
            continue;
        };
        let keys: Vec<ManifestKey> =
            match value.get("keys").map(|k| serde_json::from_value(k.clone())) {
                Some(Ok(k)) => k,
                _ => {
                    problems.push(format!(
                        "{}: `keys` must be [{{\"key\", \"sha256\"}}]",
                        f.display()
                    ));
                    continue;
                }
            };
        if value.get("previous").is_some() {
            problems.push(format!(
                "{}: `previous` is the publisher's field, not the build's",
                f.display()
            ));
        }
        for (i, k) in keys.iter().enumerate() {
            match values.get(&k.key) {
                None => problems.push(format!(
                    "{}: keys[{i}] `{}` has no file under kv/",
                    f.display(),
                    k.key
                )),
                Some(p) => {
                    let got = sha256_hex(&std::fs::read(p)?);
                    if got != k.sha256.to_ascii_lowercase() {
                        problems.push(format!(
                            "{}: keys[{i}] `{}` has sha256 {got}, the manifest says {}",
                            f.display(),
                            k.key,
                            k.sha256
                        ));
                    }
                }
            }
        }
        manifests.push(BuiltManifest {
            brand,
            region,
            value,
            version,
            keys,
        });
    }
    if !problems.is_empty() {
        bail!(
            "build output {} is not publishable:\n  {}",
            out.display(),
            problems.join("\n  ")
        );
    }
    Ok(BuildOutput { values, manifests })
}
