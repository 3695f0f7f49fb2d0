//! Workers KV through the real `wrangler` CLI: local state (what `wrangler dev
//! --persist-to DIR` serves) or the account's namespace.
//!
//! Wrangler 4.86 facts this works around, found by reading its output:
//! - in local mode `kv bulk put` decodes `base64: true` values to a UTF-8
//!   *string* before storing, and `kv bulk get` reads values as text, so both
//!   mangle binary values; binary values therefore go through `kv key put --path`
//!   and `kv key get` one key per process (byte-exact), text values in bulk;
//! - `kv key get` prints `Value not found` on stdout and exits 0 for a missing key;
//! - a binding with both `id` and `preview_id` needs `--preview false`.
use anyhow::{bail, Context, Result};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where the KV namespace lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Local state under this directory (`--local --persist-to DIR`).
    Local(PathBuf),
    /// The account's real namespace (`--remote`, credentials from the environment).
    Remote,
}

/// A KV namespace reached through wrangler.
#[derive(Debug, Clone)]
pub struct Kv {
    /// Path of the wrangler executable.
    pub bin: PathBuf,
    /// `wrangler.toml` naming the binding.
    pub config: PathBuf,
    /// Binding name of the namespace (`TABLES`).
    pub binding: String,
    /// Local or remote.
    pub target: Target,
    /// Scratch directory for bulk files.
    pub scratch: PathBuf,
}

/// Most pairs wrangler accepts in one bulk request.
const BULK_MAX_PAIRS: usize = 10_000;
/// Most bytes of values sent in one bulk file (the API's limit is 100 MB).
const BULK_MAX_BYTES: usize = 64 << 20;

impl Kv {
    /// Runs wrangler with `args` plus the target and binding flags; fails with its stderr.
    fn run(&self, args: &[&str]) -> Result<Output> {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .arg("--binding")
            .arg(&self.binding)
            .arg("--config")
            .arg(&self.config)
            .arg("--preview")
            .arg("false")
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("NO_UPDATE_NOTIFIER", "1")
            .env("FORCE_COLOR", "0");
        match &self.target {
            Target::Local(dir) => {
                cmd.arg("--local").arg("--persist-to").arg(dir);
            }
            Target::Remote => {
                cmd.arg("--remote");
            }
        }
        let out = cmd
            .output()
            .with_context(|| format!("cannot run {}", self.bin.display()))?;
        if !out.status.success() {
            bail!(
                "wrangler {} failed ({}): {}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            );
        }
        Ok(out)
    }

    /// Writes a scratch file and returns its path.
    fn scratch_file(&self, name: &str, body: &[u8]) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.scratch)?;
        let p = self.scratch.join(name);
        std::fs::write(&p, body).with_context(|| format!("cannot write {}", p.display()))?;
        Ok(p)
    }

    /// Stores every pair. Text values go in bulk; binary values one by one when local.
    pub fn put_all(&self, pairs: &[(String, Vec<u8>)]) -> Result<()> {
        let local = matches!(self.target, Target::Local(_));
        let (text, binary): (Vec<_>, Vec<_>) = pairs
            .iter()
            .partition(|(_, v)| !local || std::str::from_utf8(v).is_ok());
        let mut batch: Vec<Value> = Vec::new();
        let mut bytes = 0;
        for (k, v) in text {
            let item = match std::str::from_utf8(v) {
                Ok(s) => json!({"key": k, "value": s}),
                Err(_) => {
                    json!({"key": k, "value": base64::engine::general_purpose::STANDARD.encode(v), "base64": true})
                }
            };
            bytes += v.len() * 4 / 3 + k.len() + 32;
            batch.push(item);
            if batch.len() >= BULK_MAX_PAIRS || bytes >= BULK_MAX_BYTES {
                self.bulk_put(&std::mem::take(&mut batch))?;
                bytes = 0;
            }
        }
        if !batch.is_empty() {
            self.bulk_put(&batch)?;
        }
        for (i, (k, v)) in binary.iter().enumerate() {
            let p = self.scratch_file(&format!("value-{i}.bin"), v)?;
            let p = p.to_string_lossy().to_string();
            self.run(&["kv", "key", "put", k, "--path", &p])?;
        }
        Ok(())
    }

    /// One `kv bulk put` call.
    fn bulk_put(&self, items: &[Value]) -> Result<()> {
        let p = self.scratch_file("bulk-put.json", serde_json::to_string(items)?.as_bytes())?;
        self.run(&["kv", "bulk", "put", &p.to_string_lossy()])?;
        Ok(())
    }

    /// Reads text values in one call; a missing key maps to `None`.
    pub fn get_text(&self, keys: &[String]) -> Result<BTreeMap<String, Option<String>>> {
        let mut out = BTreeMap::new();
        for chunk in keys.chunks(BULK_MAX_PAIRS.min(100)) {
            let p = self.scratch_file("bulk-get.json", serde_json::to_string(chunk)?.as_bytes())?;
            let o = self.run(&["kv", "bulk", "get", &p.to_string_lossy()])?;
            let stdout = String::from_utf8_lossy(&o.stdout);
            let start = stdout
                .find('{')
                .context("wrangler kv bulk get printed no JSON")?;
            let end = stdout
                .rfind('}')
                .context("wrangler kv bulk get printed no JSON")?;
            let v: Value = serde_json::from_str(&stdout[start..=end])
                .context("wrangler kv bulk get output")?;
            for k in chunk {
                let val = v
                    .get(k)
                    .and_then(|e| e.get("value"))
                    .and_then(Value::as_str);
                out.insert(k.clone(), val.map(String::from));
            }
        }
        Ok(out)
    }

    /// Reads one value byte-exact; `None` when the key is missing.
    pub fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let o = self.run(&["kv", "key", "get", key])?;
        if o.stdout == b"Value not found\n" || o.stdout == b"Value not found" {
            return Ok(None);
        }
        Ok(Some(o.stdout))
    }

    /// Reads values byte-exact: in bulk when the caller knows they are text, else one by one.
    pub fn get_all(
        &self,
        keys: &[String],
        text: bool,
    ) -> Result<BTreeMap<String, Option<Vec<u8>>>> {
        if text {
            return Ok(self
                .get_text(keys)?
                .into_iter()
                .map(|(k, v)| (k, v.map(String::into_bytes)))
                .collect());
        }
        keys.iter()
            .map(|k| Ok((k.clone(), self.get_bytes(k)?)))
            .collect()
    }

    /// Key names under `prefix`.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let o = self.run(&["kv", "key", "list", "--prefix", prefix])?;
        let stdout = String::from_utf8_lossy(&o.stdout);
        let start = stdout
            .find('[')
            .context("wrangler kv key list printed no JSON")?;
        let v: Value =
            serde_json::from_str(stdout[start..].trim()).context("wrangler kv key list output")?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.get("name")?.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Deletes keys in bulk.
    pub fn delete_all(&self, keys: &[String]) -> Result<()> {
        for chunk in keys.chunks(BULK_MAX_PAIRS) {
            let p =
                self.scratch_file("bulk-delete.json", serde_json::to_string(chunk)?.as_bytes())?;
            self.run(&["kv", "bulk", "delete", &p.to_string_lossy(), "--force"])?;
        }
        Ok(())
    }
}

/// The default wrangler: `node_modules/.bin/wrangler` under `root`.
pub fn default_bin(root: &Path) -> PathBuf {
    root.join("node_modules/.bin/wrangler")
}
