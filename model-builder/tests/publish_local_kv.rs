//! `model-builder publish` against local KV through the real wrangler: upload,
//! verify, switch, refuse bad builds, roll back, collect garbage; and the worker's
//! manifest reader falling back when a shard is missing.
//!
//! Skips (with a notice) only when `node_modules/.bin/wrangler` is missing.
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use upsell_edge::config::manifest::{read_complete, readable_versions};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn wrangler() -> PathBuf {
    repo().join("node_modules/.bin/wrangler")
}

struct Env {
    dir: tempfile::TempDir,
    /// A private copy of the binary (a shared target dir may be rebuilt under us).
    bin: PathBuf,
}

impl Env {
    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Runs `model-builder publish --local ...` with `args`.
    fn publish(&self, args: &[&str]) -> Output {
        let state = self.state();
        let wcfg = repo().join("wrangler.toml");
        let w = wrangler();
        let mut full = vec![
            "publish",
            "--local",
            "--persist-to",
            state.to_str().unwrap(),
        ];
        full.extend([
            "--wrangler",
            w.to_str().unwrap(),
            "--wrangler-config",
            wcfg.to_str().unwrap(),
        ]);
        full.extend(args);
        Command::new(&self.bin)
            .args(&full)
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.publish(args);
        assert!(
            o.status.success(),
            "publish {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let o = self.publish(args);
        assert!(
            !o.status.success(),
            "publish {args:?} should fail:\n{}",
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8(o.stderr).unwrap()
    }

    /// Runs `wrangler kv ...` on the same local state.
    fn kv(&self, args: &[&str]) -> Vec<u8> {
        let o = Command::new(wrangler())
            .args(["kv"])
            .args(args)
            .args([
                "--binding",
                "TABLES",
                "--preview",
                "false",
                "--local",
                "--persist-to",
            ])
            .arg(self.state())
            .arg("--config")
            .arg(repo().join("wrangler.toml"))
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "wrangler kv {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    }

    fn get(&self, key: &str) -> Option<Vec<u8>> {
        let v = self.kv(&["key", "get", key]);
        (v != b"Value not found\n").then_some(v)
    }

    /// Keys under `prefix`, as `wrangler kv key list` sees them.
    fn list(&self, prefix: &str) -> Vec<String> {
        let v: Value =
            serde_json::from_slice(&self.kv(&["key", "list", "--prefix", prefix])).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    }

    fn get_json(&self, key: &str) -> Value {
        serde_json::from_slice(&self.get(key).unwrap_or_else(|| panic!("{key} missing"))).unwrap()
    }

    /// Writes a build output `name` with `version` for each (brand, region); each
    /// has a binary shard and a JSON shard. Returns the directory name.
    fn build(&self, name: &str, version: &str, cells: &[(&str, &str)]) -> String {
        let out = self.dir.path().join(name);
        for (b, r) in cells {
            let mut keys = Vec::new();
            for (shard, bytes) in [
                (
                    "s0",
                    format!("\0\u{1}bin {b} {r} {version}")
                        .into_bytes()
                        .into_iter()
                        .chain([0xff, 0xfe, 0x80])
                        .collect::<Vec<u8>>(),
                ),
                (
                    "s1",
                    json!({"b": b, "r": r, "v": version})
                        .to_string()
                        .into_bytes(),
                ),
            ] {
                let key = format!("tables/{b}/{r}/{version}/{shard}");
                let p = out.join("kv").join(&key);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, &bytes).unwrap();
                keys.push(json!({"key": key, "sha256": hex(&bytes)}));
            }
            let m = out.join("manifests").join(b).join(format!("{r}.json"));
            std::fs::create_dir_all(m.parent().unwrap()).unwrap();
            std::fs::write(
                m,
                json!({"format": upsell_edge::table::FORMAT_VERSION, "version": version, "keys": keys, "shards": 2}).to_string(),
            )
            .unwrap();
        }
        name.to_string()
    }
}

fn hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn version(m: &Value) -> &str {
    m["version"].as_str().unwrap()
}

/// Polls a future whose awaits are all ready at once.
fn run<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("future waited"),
    }
}

#[test]
fn publish_verify_switch_rollback_gc_against_local_kv() {
    if !wrangler().exists() {
        println!(
            "SKIPPED: {} is missing (run scripts/setup)",
            wrangler().display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("model-builder");
    std::fs::copy(env!("CARGO_BIN_EXE_model-builder"), &bin).unwrap();
    let env = Env { dir, bin };
    let cfg = repo().join("config");
    let cfg = cfg.to_str().unwrap();
    let cells = [("homewares", "uk"), ("gifts", "eu")];

    // v1: tables and configuration.
    let b1 = env.build("out1", "v1", &cells);
    let out = env.ok(&["--tables", &b1, "--config", cfg]);
    assert!(out.contains("4 value(s) uploaded and verified"), "{out}");
    assert!(out.contains("switched homewares/uk: (none) → v1"), "{out}");
    let on_disk = std::fs::read(env.dir.path().join("out1/kv/tables/homewares/uk/v1/s0")).unwrap();
    assert_eq!(
        env.get("tables/homewares/uk/v1/s0").unwrap(),
        on_disk,
        "binary value byte-exact"
    );
    let m = env.get_json("manifest/homewares/uk");
    assert_eq!(version(&m), "v1");
    assert_eq!(m["shards"], 2, "build fields kept");
    assert!(m.get("previous").is_none());
    let c = upsell_edge::config::CompiledConfig::from_json(&env.get("config/current").unwrap())
        .unwrap();
    assert_eq!(c.brands.len(), 2);
    assert!(!c.published_at.is_empty());

    // v2 switches; v1 becomes `previous`.
    let b2 = env.build("out2", "v2", &cells);
    env.ok(&["--tables", &b2]);
    let m = env.get_json("manifest/gifts/eu");
    assert_eq!((version(&m), version(&m["previous"])), ("v2", "v1"));

    // A build whose value does not match its manifest's checksum: nothing uploaded, nothing switched.
    let b3 = env.build("bad", "v3", &cells);
    std::fs::write(
        env.dir.path().join("bad/kv/tables/gifts/eu/v3/s1"),
        b"tampered",
    )
    .unwrap();
    let err = env.fails(&["--tables", &b3]);
    assert!(
        err.contains("keys[1] `tables/gifts/eu/v3/s1` has sha256"),
        "{err}"
    );
    assert_eq!(
        env.get("tables/homewares/uk/v3/s0"),
        None,
        "nothing uploaded"
    );
    assert_eq!(version(&env.get_json("manifest/gifts/eu")), "v2");

    // A build that would overwrite a value the live version reads is refused.
    let b4 = env.build("clobber", "v2", &[("homewares", "uk")]);
    std::fs::write(
        env.dir.path().join("clobber/kv/tables/homewares/uk/v2/s1"),
        b"{}",
    )
    .unwrap();
    let m = env.dir.path().join("clobber/manifests/homewares/uk.json");
    let mut mv: Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
    mv["version"] = json!("v2b");
    mv["keys"][1]["sha256"] = json!(hex(b"{}"));
    std::fs::write(&m, mv.to_string()).unwrap();
    let err = env.fails(&["--tables", &b4]);
    assert!(err.contains("would change under a live version"), "{err}");
    assert_eq!(version(&env.get_json("manifest/homewares/uk")), "v2");

    // An invalid configuration is never published.
    let bad_cfg = env.dir.path().join("badcfg");
    std::fs::create_dir_all(bad_cfg.join("brands")).unwrap();
    std::fs::copy(
        repo().join("config/platform.toml"),
        bad_cfg.join("platform.toml"),
    )
    .unwrap();
    std::fs::write(
        bad_cfg.join("brands/x.toml"),
        "hosts = [\"x.localhost\"]\n[offers]\ncount = 0\n",
    )
    .unwrap();
    let before = env.get("config/current");
    let err = env.fails(&["--config", bad_cfg.to_str().unwrap()]);
    assert!(err.contains("brands/x.toml:3: offers.count"), "{err}");
    assert_eq!(env.get("config/current"), before);

    // Rollback: one write per manifest, back to v1; v2 becomes `previous`.
    let out = env.ok(&["--rollback", "--only", "tables", "--brand", "gifts"]);
    assert!(out.contains("rolled back gifts/eu: v2 → v1"), "{out}");
    let m = env.get_json("manifest/gifts/eu");
    assert_eq!((version(&m), version(&m["previous"])), ("v1", "v2"));
    assert_eq!(
        version(&env.get_json("manifest/homewares/uk")),
        "v2",
        "other brand untouched"
    );

    // v3 over the rolled-back gifts/eu: current v3, previous v1; v2 is collectable.
    let b5 = env.build("out3", "v3", &cells);
    env.ok(&["--tables", &b5]);
    let out = env.ok(&["--gc", "--grace-hours", "1"]);
    assert!(
        out.contains("gc: 0 value(s) deleted"),
        "inside the grace period: {out}"
    );
    let out = env.ok(&["--gc", "--grace-hours", "0"]);
    assert!(out.contains("gifts/eu: collected version v2"), "{out}");
    assert!(out.contains("homewares/uk: collected version v1"), "{out}");
    let left = env.list("tables/");
    let has = |k: &str| left.iter().any(|x| x == k);
    assert!(
        !has("tables/gifts/eu/v2/s0") && !has("tables/gifts/eu/v2/s1"),
        "{left:?}"
    );
    assert!(
        has("tables/gifts/eu/v1/s0"),
        "previous of gifts/eu kept: {left:?}"
    );
    assert!(has("tables/gifts/eu/v3/s0"), "{left:?}");
    assert!(!has("tables/homewares/uk/v1/s1"), "{left:?}");
    assert!(
        has("tables/homewares/uk/v2/s1"),
        "previous of homewares/uk kept: {left:?}"
    );

    // The worker's reader: with a shard of v3 not (yet) readable, it serves all of v1, never a mix.
    env.kv(&["key", "delete", "tables/gifts/eu/v3/s1"]);
    let raw = env.get("manifest/gifts/eu").unwrap();
    let versions = readable_versions(&raw).unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| v.version.as_str())
            .collect::<Vec<_>>(),
        ["v3", "v1"]
    );
    let got = run(read_complete(
        &versions,
        |v| v.keys.iter().map(|k| k.key.clone()).collect(),
        |k| std::future::ready(env.get(&k)),
    ))
    .unwrap();
    assert_eq!(got.0.version, "v1");
    for (k, bytes) in got.0.keys.iter().zip(&got.1) {
        assert_eq!(hex(bytes), k.sha256, "{} read back intact", k.key);
    }
}
