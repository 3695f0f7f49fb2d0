//! Workers KV through the real wrangler: local state (what `wrangler dev
//! --persist-to DIR` serves) or the account's namespace.
//!
//! - Local: one `node` process per batch drives wrangler's own
//!   `getPlatformProxy()` over `DIR/v3` (`kv_local.mjs`). Not the `wrangler kv`
//!   CLI, because in wrangler 4.86 local `kv bulk put` decodes `base64: true`
//!   values to a UTF-8 *string* before storing and `kv bulk get` reads values as
//!   text, so both mangle binary values, and one `kv key put|get` process per
//!   key costs ~2 s.
//! - Remote: `wrangler kv bulk put` (base64 for binary values, which the API
//!   decodes correctly), `kv bulk get` for text, `kv key get` for binary,
//!   `kv key list`, `kv bulk delete`. A binding with both `id` and `preview_id`
//!   needs `--preview false`.
use anyhow::{bail, Context, Result};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where the KV namespace lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Local state under this directory (`--persist-to DIR`).
    Local(PathBuf),
    /// The account's real namespace (credentials from the environment or `wrangler login`).
    Remote,
}

/// A KV namespace reached through wrangler.
#[derive(Debug, Clone)]
pub struct Kv {
    /// Path of the wrangler executable (`node_modules/.bin/wrangler`).
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

/// The local helper script, written to the scratch directory when needed.
const KV_LOCAL_JS: &str = include_str!("kv_local.mjs");

/// Environment that keeps wrangler quiet and offline where it can be.
fn quiet(cmd: &mut Command) -> &mut Command {
    cmd.env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_SEND_ERROR_REPORTS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("NO_UPDATE_NOTIFIER", "1")
        .env("FORCE_COLOR", "0")
}

/// Fails with the command's output unless it succeeded.
fn checked(what: &str, out: Output) -> Result<Output> {
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    Ok(out)
}

/// Result of a local batch.
#[derive(Default)]
struct LocalResult {
    found: BTreeMap<String, bool>,
    list: Vec<String>,
    values: BTreeMap<String, Option<String>>,
}

impl Kv {
    /// Absolute path (the helper runs from the scratch directory).
    fn abs(p: &Path) -> Result<PathBuf> {
        Ok(if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir()?.join(p)
        })
    }

    /// Writes a scratch file and returns its path.
    fn scratch_file(&self, name: &str, body: &[u8]) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.scratch)?;
        let p = self.scratch.join(name);
        std::fs::write(&p, body).with_context(|| format!("cannot write {}", p.display()))?;
        Ok(p)
    }

    /// Runs one batch of local operations through `kv_local.mjs`.
    fn local(&self, dir: &Path, ops: Vec<Value>) -> Result<LocalResult> {
        if ops.is_empty() {
            return Ok(LocalResult::default());
        }
        let node_modules = Self::abs(&self.bin)?
            .parent()
            .and_then(Path::parent)
            .context("wrangler is expected at node_modules/.bin/wrangler")?
            .to_path_buf();
        let module = node_modules.join("wrangler/wrangler-dist/cli.js");
        if !module.is_file() {
            bail!("{} not found (run scripts/setup)", module.display());
        }
        let script = self.scratch_file("kv_local.mjs", KV_LOCAL_JS.as_bytes())?;
        let result = self.scratch.join("kv-local-result.json");
        let job = json!({
            "wrangler": module,
            "config": Self::abs(&self.config)?,
            "persist": Self::abs(dir)?.join("v3"),
            "binding": self.binding,
            "ops": ops,
            "result": result,
        });
        let job_path = self.scratch_file("kv-local-job.json", job.to_string().as_bytes())?;
        let out = quiet(
            Command::new("node")
                .arg(&script)
                .arg(&job_path)
                .current_dir(&self.scratch),
        )
        .output()
        .context("cannot run node")?;
        checked("local KV helper (node kv_local.mjs)", out)?;
        let v: Value =
            serde_json::from_slice(&std::fs::read(&result)?).context("local KV helper result")?;
        Ok(LocalResult {
            found: serde_json::from_value(v["found"].clone())?,
            list: serde_json::from_value(v["list"].clone())?,
            values: serde_json::from_value(v.get("values").cloned().unwrap_or(Value::Null))
                .unwrap_or_default(),
        })
    }

    /// Runs `wrangler kv ...` against the remote namespace.
    fn remote(&self, args: &[&str]) -> Result<Output> {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("kv")
            .args(args)
            .arg("--binding")
            .arg(&self.binding)
            .arg("--config")
            .arg(&self.config);
        cmd.args(["--preview", "false", "--remote"]);
        let out = quiet(&mut cmd)
            .output()
            .with_context(|| format!("cannot run {}", self.bin.display()))?;
        checked(&format!("wrangler kv {}", args.join(" ")), out)
    }

    /// Stores every pair.
    pub fn put_all(&self, pairs: &[(String, Vec<u8>)]) -> Result<()> {
        if let Target::Local(dir) = &self.target {
            let mut ops = Vec::new();
            for (i, (k, v)) in pairs.iter().enumerate() {
                let p = self.scratch_file(&format!("put-{i}.bin"), v)?;
                ops.push(json!({"op": "put", "key": k, "path": p}));
            }
            self.local(dir, ops)?;
            return Ok(());
        }
        let mut batch: Vec<Value> = Vec::new();
        let mut bytes = 0;
        for (k, v) in pairs {
            batch.push(match std::str::from_utf8(v) {
                Ok(s) => json!({"key": k, "value": s}),
                Err(_) => json!({"key": k, "value": base64::engine::general_purpose::STANDARD.encode(v), "base64": true}),
            });
            bytes += v.len() * 4 / 3 + k.len() + 32;
            if batch.len() >= BULK_MAX_PAIRS || bytes >= BULK_MAX_BYTES {
                self.bulk_put(&std::mem::take(&mut batch))?;
                bytes = 0;
            }
        }
        if !batch.is_empty() {
            self.bulk_put(&batch)?;
        }
        Ok(())
    }

    /// Stores every pair, then reads each back byte-exact (locally in the same
    /// batch, so one process does both). The caller compares what came back.
    pub fn put_and_read_back(
        &self,
        pairs: &[(String, Vec<u8>)],
    ) -> Result<BTreeMap<String, Option<Vec<u8>>>> {
        if let Target::Local(dir) = &self.target {
            let mut ops = Vec::new();
            let mut gets = Vec::new();
            for (i, (k, v)) in pairs.iter().enumerate() {
                let p = self.scratch_file(&format!("put-{i}.bin"), v)?;
                ops.push(json!({"op": "put", "key": k, "path": p}));
            }
            for (i, (k, _)) in pairs.iter().enumerate() {
                let p = self.scratch.join(format!("get-{i}.bin"));
                ops.push(json!({"op": "get", "key": k, "path": p}));
                gets.push((k.clone(), p));
            }
            let r = self.local(dir, ops)?;
            return gets
                .into_iter()
                .map(|(k, p)| {
                    let v = if r.found.get(&k).copied().unwrap_or(false) {
                        Some(std::fs::read(&p)?)
                    } else {
                        None
                    };
                    Ok((k, v))
                })
                .collect();
        }
        self.put_all(pairs)?;
        let (text, binary): (Vec<_>, Vec<_>) = pairs
            .iter()
            .partition(|(_, v)| std::str::from_utf8(v).is_ok());
        let mut back = BTreeMap::new();
        for (part, is_text) in [(text, true), (binary, false)] {
            if !part.is_empty() {
                back.extend(self.get_all(
                    &part.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
                    is_text,
                )?);
            }
        }
        Ok(back)
    }

    /// One remote `kv bulk put` call.
    fn bulk_put(&self, items: &[Value]) -> Result<()> {
        let p = self.scratch_file("bulk-put.json", serde_json::to_string(items)?.as_bytes())?;
        self.remote(&["bulk", "put", &p.to_string_lossy()])?;
        Ok(())
    }

    /// Reads values byte-exact; a missing key maps to `None`. `text` tells the
    /// remote path the values are UTF-8, so one bulk call can read them all.
    pub fn get_all(
        &self,
        keys: &[String],
        text: bool,
    ) -> Result<BTreeMap<String, Option<Vec<u8>>>> {
        if let Target::Local(dir) = &self.target {
            let paths: Vec<PathBuf> = (0..keys.len())
                .map(|i| self.scratch.join(format!("get-{i}.bin")))
                .collect();
            let ops = keys
                .iter()
                .zip(&paths)
                .map(|(k, p)| json!({"op": "get", "key": k, "path": p}))
                .collect();
            let r = self.local(dir, ops)?;
            return keys
                .iter()
                .zip(&paths)
                .map(|(k, p)| {
                    let v = if r.found.get(k).copied().unwrap_or(false) {
                        Some(std::fs::read(p)?)
                    } else {
                        None
                    };
                    Ok((k.clone(), v))
                })
                .collect();
        }
        if text {
            let mut out = BTreeMap::new();
            for chunk in keys.chunks(100) {
                let p =
                    self.scratch_file("bulk-get.json", serde_json::to_string(chunk)?.as_bytes())?;
                let o = self.remote(&["bulk", "get", &p.to_string_lossy()])?;
                let stdout = String::from_utf8_lossy(&o.stdout);
                let (start, end) = (stdout.find('{'), stdout.rfind('}'));
                let (Some(start), Some(end)) = (start, end) else {
                    bail!("wrangler kv bulk get printed no JSON")
                };
                let v: Value = serde_json::from_str(&stdout[start..=end])
                    .context("wrangler kv bulk get output")?;
                for k in chunk {
                    let val = v
                        .get(k)
                        .and_then(|e| e.get("value"))
                        .and_then(Value::as_str);
                    out.insert(k.clone(), val.map(|s| s.as_bytes().to_vec()));
                }
            }
            return Ok(out);
        }
        keys.iter()
            .map(|k| {
                // `kv key get` prints `Value not found` on stdout and exits 0 for a missing key.
                let o = self.remote(&["key", "get", k])?;
                let missing = o.stdout == b"Value not found\n" || o.stdout == b"Value not found";
                Ok((k.clone(), (!missing).then_some(o.stdout)))
            })
            .collect()
    }

    /// Reads UTF-8 values (manifests, configuration); a missing or non-UTF-8 value is `None`.
    pub fn get_text(&self, keys: &[String]) -> Result<BTreeMap<String, Option<String>>> {
        Ok(self
            .get_all(keys, true)?
            .into_iter()
            .map(|(k, v)| (k, v.and_then(|b| String::from_utf8(b).ok())))
            .collect())
    }

    /// Key names under `prefix`.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>> {
        if let Target::Local(dir) = &self.target {
            return Ok(self
                .local(dir, vec![json!({"op": "list", "prefix": prefix})])?
                .list);
        }
        let o = self.remote(&["key", "list", "--prefix", prefix])?;
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

    /// Keys under `prefix` with their text values (one local batch; list then bulk get remotely).
    pub fn list_text(&self, prefix: &str) -> Result<BTreeMap<String, Option<String>>> {
        if let Target::Local(dir) = &self.target {
            let r = self.local(dir, vec![json!({"op": "list_get", "prefix": prefix})])?;
            return Ok(r
                .list
                .into_iter()
                .map(|k| {
                    let v = r.values.get(&k).cloned().flatten();
                    (k, v)
                })
                .collect());
        }
        let keys = self.list(prefix)?;
        self.get_text(&keys)
    }

    /// Deletes keys.
    pub fn delete_all(&self, keys: &[String]) -> Result<()> {
        if let Target::Local(dir) = &self.target {
            self.local(
                dir,
                keys.iter()
                    .map(|k| json!({"op": "delete", "key": k}))
                    .collect(),
            )?;
            return Ok(());
        }
        for chunk in keys.chunks(BULK_MAX_PAIRS) {
            let p =
                self.scratch_file("bulk-delete.json", serde_json::to_string(chunk)?.as_bytes())?;
            self.remote(&["bulk", "delete", &p.to_string_lossy(), "--force"])?;
        }
        Ok(())
    }
}

/// The default wrangler: `node_modules/.bin/wrangler` under `root`.
pub fn default_bin(root: &Path) -> PathBuf {
    root.join("node_modules/.bin/wrangler")
}
