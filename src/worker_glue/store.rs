//! Reads the published configuration and tables from Workers KV, through an
//! isolate-level cache, within a time budget.
//!
//! Table values live under versioned keys and never change once written, so
//! decoded shards are cached for the isolate's life (bounded by count). The
//! configuration and the manifests are the only mutable keys: they are cached
//! for a few seconds, so the kill switch and a table switch take effect within
//! seconds, and a KV failure keeps serving the last good copy.
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{join_all, select, Either};
use worker::kv::KvStore;

use crate::config::{CompiledConfig, CONFIG_KEY};
use crate::serve::PreparedConfig;
use crate::table::{
    decode_catalog, decode_facts, decode_neighbours, CatalogShard, Facts, Manifest, NeighbourShard,
};

/// How long the configuration is trusted before it is read again.
const CONFIG_TTL_MS: f64 = 5_000.0;
/// How long a manifest is trusted before it is read again.
const MANIFEST_TTL_MS: f64 = 15_000.0;
/// Decoded table values kept per isolate.
const MAX_VALUES: usize = 512;

/// One decoded immutable table value.
#[derive(Clone)]
enum Value {
    Facts(Rc<Facts>),
    Neighbours(Rc<NeighbourShard>),
    Catalog(Rc<CatalogShard>),
}

#[derive(Default)]
struct Cache {
    config: Option<(f64, Rc<PreparedConfig>)>,
    manifests: HashMap<String, (f64, Rc<Vec<Manifest>>)>,
    values: HashMap<String, (u64, Value)>,
    tick: u64,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// Milliseconds since the epoch, from the runtime's clock.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Resolves to `None` if `fut` has not finished within `ms` milliseconds.
pub async fn within<F: std::future::Future>(ms: u64, fut: F) -> Option<F::Output> {
    let timer = worker::Delay::from(Duration::from_millis(ms));
    match select(Box::pin(fut), timer).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(_) => None,
    }
}

/// The current configuration, prepared for serving: cached for a few seconds
/// (re-prepared only when its version changes); the last good copy if KV fails.
pub async fn config(kv: &KvStore) -> Option<Rc<PreparedConfig>> {
    let now = now_ms();
    let cached = CACHE.with(|c| c.borrow().config.clone());
    if let Some((at, cfg)) = &cached {
        if now - at < CONFIG_TTL_MS {
            return Some(cfg.clone());
        }
    }
    let fresh = match kv.get(CONFIG_KEY).bytes().await {
        Ok(Some(bytes)) => match CompiledConfig::from_json(&bytes) {
            Ok(cfg) => match &cached {
                Some((_, old)) if old.config == cfg => Some(old.clone()),
                _ => Some(Rc::new(PreparedConfig::new(cfg))),
            },
            Err(e) => {
                worker::console_warn!(
                    "upsell: config/current unreadable, keeping the last good one: {e}"
                );
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            worker::console_warn!("upsell: KV read of config failed: {e}");
            None
        }
    };
    match fresh {
        Some(cfg) => {
            CACHE.with(|c| c.borrow_mut().config = Some((now, cfg.clone())));
            Some(cfg)
        }
        None => cached.map(|(_, cfg)| cfg),
    }
}

/// The manifests this reader understands for a brand × region: current first,
/// then the one it replaced. Empty when there is no readable manifest.
pub async fn manifests(kv: &KvStore, brand: &str, region: &str) -> Rc<Vec<Manifest>> {
    let key = crate::config::manifest::manifest_key(brand, region);
    let now = now_ms();
    let cached = CACHE.with(|c| c.borrow().manifests.get(&key).cloned());
    if let Some((at, m)) = &cached {
        if now - at < MANIFEST_TTL_MS {
            return m.clone();
        }
    }
    let parsed = match kv.get(&key).bytes().await {
        Ok(Some(bytes)) => Some(Rc::new(parse_manifests(&bytes))),
        Ok(None) => Some(Rc::new(Vec::new())),
        Err(e) => {
            worker::console_warn!("upsell: KV read of {key} failed: {e}");
            None
        }
    };
    match parsed {
        Some(m) => {
            CACHE.with(|c| c.borrow_mut().manifests.insert(key, (now, m.clone())));
            m
        }
        None => cached.map(|(_, m)| m).unwrap_or_default(),
    }
}

/// Parses a published manifest (`{..current, "previous": {..}}`) into the
/// versions this code can read, current first: the shared rule of
/// [`crate::config::manifest::readable_versions`], typed as table manifests.
pub fn parse_manifests(bytes: &[u8]) -> Vec<Manifest> {
    crate::config::manifest::readable_versions(bytes)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| serde_json::from_value::<Manifest>(v.raw).ok())
        .filter(Manifest::is_supported)
        .collect()
}

/// Why a table value could not be used.
#[derive(Debug)]
pub enum ReadError {
    /// Not in KV (yet): the version may not have propagated.
    Missing(String),
    /// KV failed.
    Kv(String),
    /// The bytes did not decode (corrupt, or a format this reader does not know).
    Corrupt(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Missing(k) => write!(f, "{k}: not in KV"),
            ReadError::Kv(e) => write!(f, "KV: {e}"),
            ReadError::Corrupt(e) => write!(f, "corrupt value: {e}"),
        }
    }
}

/// What kind of value a key holds.
#[derive(Clone, Copy)]
enum Kind {
    Facts,
    Neighbours,
    Catalog,
}

fn cached_value(key: &str) -> Option<Value> {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.tick += 1;
        let tick = c.tick;
        c.values.get_mut(key).map(|(t, v)| {
            *t = tick;
            v.clone()
        })
    })
}

fn remember(key: String, value: Value) {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.values.len() >= MAX_VALUES {
            // Evict the least recently used quarter in one go.
            let mut ticks: Vec<u64> = c.values.values().map(|(t, _)| *t).collect();
            ticks.sort_unstable();
            let cut = ticks[ticks.len() / 4];
            c.values.retain(|_, (t, _)| *t > cut);
        }
        c.tick += 1;
        let tick = c.tick;
        c.values.insert(key, (tick, value));
    });
}

async fn value(kv: &KvStore, key: String, kind: Kind) -> Result<Value, ReadError> {
    if let Some(v) = cached_value(&key) {
        return Ok(v);
    }
    let bytes = kv
        .get(&key)
        .bytes()
        .await
        .map_err(|e| ReadError::Kv(e.to_string()))?
        .ok_or_else(|| ReadError::Missing(key.clone()))?;
    let corrupt = |e: crate::table::TableError| ReadError::Corrupt(format!("{key}: {e}"));
    let v = match kind {
        Kind::Facts => Value::Facts(Rc::new(decode_facts(&bytes).map_err(corrupt)?)),
        Kind::Neighbours => Value::Neighbours(Rc::new(decode_neighbours(&bytes).map_err(corrupt)?)),
        Kind::Catalog => Value::Catalog(Rc::new(decode_catalog(&bytes).map_err(corrupt)?)),
    };
    remember(key, v.clone());
    Ok(v)
}

/// The parts of one table version an order needs.
pub struct TableRead {
    /// The manifest of the version read.
    pub manifest: Manifest,
    /// Its offer facts.
    pub facts: Rc<Facts>,
    /// Decoded neighbour shards by KV key.
    pub shards: HashMap<String, Rc<NeighbourShard>>,
}

impl TableRead {
    /// The shard holding `sku`, if read.
    pub fn shard_for(&self, sku: &str) -> Option<&NeighbourShard> {
        self.shards
            .get(&self.manifest.neighbour_key(sku))
            .map(|s| s.as_ref())
    }
}

/// Reads the facts and the order's neighbour shards (in parallel) from the first
/// version, current then previous, whose values are all readable. Never mixes versions.
pub async fn read_table(
    kv: &KvStore,
    versions: &[Manifest],
    skus: &[&str],
) -> Result<TableRead, ReadError> {
    let mut last = ReadError::Missing("no readable manifest".into());
    for m in versions {
        let keys = m.neighbour_keys(skus.iter().copied());
        let facts = value(kv, m.facts_key(), Kind::Facts);
        let shards = join_all(keys.iter().map(|k| value(kv, k.clone(), Kind::Neighbours)));
        let (facts, shards) = futures_util::join!(facts, shards);
        let facts = match facts {
            Ok(Value::Facts(f)) => f,
            Ok(_) => continue,
            Err(e) => {
                last = e;
                continue;
            }
        };
        let mut map = HashMap::new();
        let mut failed = None;
        for (k, s) in keys.into_iter().zip(shards) {
            match s {
                Ok(Value::Neighbours(s)) => {
                    map.insert(k, s);
                }
                Ok(_) => failed = Some(ReadError::Corrupt(k)),
                Err(e) => failed = Some(e),
            }
        }
        match failed {
            Some(e) => last = e,
            None => {
                return Ok(TableRead {
                    manifest: m.clone(),
                    facts,
                    shards: map,
                })
            }
        }
    }
    Err(last)
}

/// Catalog entries (title, url, image) of `skus` from the version's catalog shards, read in parallel.
pub async fn catalog(
    kv: &KvStore,
    manifest: &Manifest,
    skus: &[&str],
) -> HashMap<String, crate::table::CatalogEntry> {
    let mut keys: Vec<String> = skus
        .iter()
        .filter_map(|s| manifest.catalog_key(s))
        .collect();
    keys.sort();
    keys.dedup();
    let shards = join_all(keys.into_iter().map(|k| value(kv, k, Kind::Catalog))).await;
    let mut out = HashMap::new();
    for shard in shards.into_iter().flatten() {
        if let Value::Catalog(c) = shard {
            for sku in skus {
                if let Some(e) = c.get(sku) {
                    out.insert(sku.to_string(), e);
                }
            }
        }
    }
    out
}
