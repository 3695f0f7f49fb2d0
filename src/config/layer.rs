//! Layers as people write them, and their merge into effective settings with provenance.
//!
//! Order: built-in defaults < platform < brand < brand × region. Tables merge key
//! by key; scalars and arrays are replaced whole. Every leaf of the result
//! remembers which layer set it.
use super::error::ConfigError;
use super::model::Settings;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Where a layer applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Platform defaults, for every brand and region.
    Platform,
    /// One brand, every region.
    Brand(String),
    /// One brand in one region.
    BrandRegion(String, String),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Platform => write!(f, "platform"),
            Scope::Brand(b) => write!(f, "brand {b}"),
            Scope::BrandRegion(b, r) => write!(f, "brand {b} × region {r}"),
        }
    }
}

/// One configuration file, already parsed into a JSON tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Where it applies.
    pub scope: Scope,
    /// File name shown in errors and provenance.
    pub file: String,
    /// The keys the file sets (a JSON object).
    pub values: Value,
    /// Dotted key path → 1-based line, when the loader knows them.
    pub lines: BTreeMap<String, u32>,
}

impl Layer {
    /// A layer with no line information.
    pub fn new(scope: Scope, file: &str, values: Value) -> Self {
        Layer {
            scope,
            file: file.to_string(),
            values,
            lines: BTreeMap::new(),
        }
    }

    /// Line of `key`, or of its nearest enclosing key that has one.
    pub fn line_of(&self, key: &str) -> Option<u32> {
        let mut k = key;
        loop {
            if let Some(l) = self.lines.get(k) {
                return Some(*l);
            }
            let cut = k.rfind(['.', '['])?;
            k = &k[..cut];
        }
    }

    /// An error at `key` of this layer, with the line filled in when known.
    pub fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            line: self.line_of(key),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// The layers of one brand.
#[derive(Debug, Clone, PartialEq)]
pub struct BrandLayers {
    /// The brand's own file.
    pub base: Layer,
    /// Region id → the brand × region override file.
    pub regions: BTreeMap<String, Layer>,
}

/// Every layer of a deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSet {
    /// Platform defaults.
    pub platform: Layer,
    /// Brand id → its layers.
    pub brands: BTreeMap<String, BrandLayers>,
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in default in [`Settings::default`].
    Default,
    /// Set by a layer.
    Layer {
        /// The layer's scope.
        scope: Scope,
        /// The layer's file.
        file: String,
        /// Line in that file, when known.
        line: Option<u32>,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => write!(f, "built-in default"),
            Source::Layer { scope, file, line } => {
                write!(f, "{scope} ({file}")?;
                if let Some(l) = line {
                    write!(f, ":{l}")?;
                }
                write!(f, ")")
            }
        }
    }
}

/// Resolved settings for one brand × region, with the origin of every leaf.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    /// The typed settings.
    pub settings: Settings,
    /// Dotted key → (value, where it came from), for every leaf (arrays are leaves).
    pub leaves: BTreeMap<String, (Value, Source)>,
}

impl Effective {
    /// Where the leaf at `key` (or the leaf enclosing it) came from.
    pub fn source_of(&self, key: &str) -> Option<&Source> {
        let mut k = key;
        loop {
            if let Some((_, s)) = self.leaves.get(k) {
                return Some(s);
            }
            let cut = k.rfind(['.', '['])?;
            k = &k[..cut];
        }
    }
}

/// Joins a dotted path and a key.
fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Merges `over` into `base` at `path`, recording `source` for each leaf written.
fn merge_into(
    base: &mut Value,
    over: &Value,
    path: &str,
    source: &Source,
    prov: &mut BTreeMap<String, Source>,
) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                let p = join(path, k);
                let slot = b.entry(k.clone()).or_insert(Value::Null);
                if !(slot.is_object() && v.is_object()) {
                    forget_below(prov, &p);
                }
                merge_into(slot, v, &p, source, prov);
            }
        }
        (slot, v) => {
            *slot = v.clone();
            flatten_sources(v, path, source, prov);
        }
    }
}

/// Drops provenance for `path` and everything below it.
fn forget_below(prov: &mut BTreeMap<String, Source>, path: &str) {
    let below: Vec<String> = prov
        .range(path.to_string()..)
        .map(|(k, _)| k)
        .take_while(|k| k.starts_with(path))
        .filter(|k| k.len() == path.len() || matches!(k.as_bytes()[path.len()], b'.' | b'['))
        .cloned()
        .collect();
    for k in below {
        prov.remove(&k);
    }
}

/// Records `source` for every leaf of `v` under `path`.
fn flatten_sources(v: &Value, path: &str, source: &Source, prov: &mut BTreeMap<String, Source>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                flatten_sources(x, &join(path, k), source, prov);
            }
        }
        _ => {
            prov.insert(path.to_string(), source.clone());
        }
    }
}

/// Collects every leaf of `v` under `path` (objects recurse, arrays are leaves).
pub fn leaves(v: &Value, path: &str, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                leaves(x, &join(path, k), out);
            }
        }
        _ => {
            out.insert(path.to_string(), v.clone());
        }
    }
}

/// Merges `layers` (lowest first) over the built-in defaults.
///
/// Fails with the first layer error only if the merged tree does not fit the
/// typed model; run [`super::validate()`] for a full list of problems.
pub fn merge(layers: &[&Layer]) -> Result<Effective, ConfigError> {
    let mut value = serde_json::to_value(Settings::default()).expect("settings serialize");
    let mut prov = BTreeMap::new();
    flatten_sources(&value, "", &Source::Default, &mut prov);
    for layer in layers {
        let source = Source::Layer {
            scope: layer.scope.clone(),
            file: layer.file.clone(),
            line: None,
        };
        let empty = Value::Object(Map::new());
        let over = if layer.values.is_null() {
            &empty
        } else {
            &layer.values
        };
        merge_into(&mut value, over, "", &source, &mut prov);
    }
    let settings: Settings = serde_json::from_value(value.clone()).map_err(|e| {
        let file = layers.last().map_or("", |l| l.file.as_str());
        ConfigError::new(
            file,
            "",
            format!("layers do not merge into valid settings: {e}"),
        )
    })?;
    let mut vals = BTreeMap::new();
    leaves(&value, "", &mut vals);
    let file_line = |s: Source, key: &str| match s {
        Source::Layer { scope, file, .. } => {
            let line = layers
                .iter()
                .find(|l| l.file == file)
                .and_then(|l| l.line_of(key));
            Source::Layer { scope, file, line }
        }
        d => d,
    };
    let leaves = vals
        .into_iter()
        .map(|(k, v)| {
            let s = prov.get(&k).cloned().unwrap_or(Source::Default);
            let s = file_line(s, &k);
            (k, (v, s))
        })
        .collect();
    Ok(Effective { settings, leaves })
}

impl ConfigSet {
    /// The layers that apply to `brand` in `region`, lowest first.
    pub fn layers_for(&self, brand: &str, region: &str) -> Option<Vec<&Layer>> {
        let b = self.brands.get(brand)?;
        let mut v = vec![&self.platform, &b.base];
        if let Some(r) = b.regions.get(region) {
            v.push(r);
        }
        Some(v)
    }

    /// Effective settings for `brand` in `region`, with provenance.
    pub fn resolve(&self, brand: &str, region: &str) -> Result<Effective, ConfigError> {
        let layers = self
            .layers_for(brand, region)
            .ok_or_else(|| ConfigError::new("", "", format!("no brand `{brand}`")))?;
        merge(&layers)
    }

    /// Regions a brand serves: its default region and every region its country map names.
    pub fn regions_of(&self, brand: &str) -> Vec<String> {
        let Ok(eff) = self
            .layers_for(brand, "")
            .map_or_else(|| Err(ConfigError::new("", "", "")), |l| merge(&l))
        else {
            return Vec::new();
        };
        let r = &eff.settings.regions;
        let mut out: Vec<String> = std::iter::once(r.default.clone())
            .chain(r.countries.values().cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}
