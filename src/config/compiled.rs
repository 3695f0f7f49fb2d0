//! The compiled configuration: what `model-builder config compile` writes and the
//! worker reads from KV key `config/current`.
//!
//! Every brand carries its hosts, its region map and the fully resolved
//! settings of each of its regions, so the worker does no layering at request
//! time and never sees a file it would have to validate.
use super::error::ConfigError;
use super::layer::ConfigSet;
use super::model::{Regions, Settings};
use super::validate::{region_set, validate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Format of the compiled configuration this code reads and writes. The types
/// deny unknown fields (they also validate what people write), so any change to
/// the compiled shape must bump this: an older worker then reports
/// [`LoadError::NewerFormat`] and keeps its last good configuration.
pub const CONFIG_FORMAT: u32 = 1;

/// KV key of the published configuration.
pub const CONFIG_KEY: &str = "config/current";

/// KV key of the configuration that was current before the last publish.
pub const CONFIG_PREVIOUS_KEY: &str = "config/previous";

/// The whole deployment's configuration, resolved per brand × region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledConfig {
    /// Format of this document ([`CONFIG_FORMAT`] when written by this code).
    pub format: u32,
    /// Content version (a hash of the brands, set by the compiler).
    pub version: String,
    /// When it was published (RFC 3339), empty before publishing.
    pub published_at: String,
    /// Brand id → its compiled configuration.
    pub brands: BTreeMap<String, CompiledBrand>,
}

/// One brand, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledBrand {
    /// Host patterns that route to this brand.
    pub hosts: Vec<String>,
    /// Country → region map and default region.
    pub regions: Regions,
    /// Region id → effective settings.
    pub by_region: BTreeMap<String, Settings>,
}

/// Why a compiled configuration could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// Written by newer code in a format this worker does not know.
    NewerFormat(u32),
    /// Not a compiled configuration at all.
    Invalid(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::NewerFormat(v) => {
                write!(f, "configuration format {v} is newer than {CONFIG_FORMAT}")
            }
            LoadError::Invalid(e) => write!(
                f,
                "configuration is not valid JSON for format {CONFIG_FORMAT}: {e}"
            ),
        }
    }
}

impl std::error::Error for LoadError {}

impl CompiledConfig {
    /// Parses the JSON the worker reads; a newer format is reported as such, not as garbage.
    pub fn from_json(bytes: &[u8]) -> Result<Self, LoadError> {
        #[derive(Deserialize)]
        struct Head {
            format: u32,
        }
        let head: Head =
            serde_json::from_slice(bytes).map_err(|e| LoadError::Invalid(e.to_string()))?;
        if head.format > CONFIG_FORMAT {
            return Err(LoadError::NewerFormat(head.format));
        }
        serde_json::from_slice(bytes).map_err(|e| LoadError::Invalid(e.to_string()))
    }

    /// Serializes to the JSON the worker reads.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("compiled config serializes")
    }

    /// Settings for `brand` in `region` (the brand's default region if `region` is unknown).
    pub fn settings(&self, brand: &str, region: &str) -> Option<&Settings> {
        let b = self.brands.get(brand)?;
        b.by_region
            .get(region)
            .or_else(|| b.by_region.get(&b.regions.default))
    }
}

/// Validates `set` and, only if it has no problem, resolves every brand × region.
/// `version` and `published_at` are left empty for the publisher to fill in.
pub fn compile(set: &ConfigSet, now_unix: i64) -> Result<CompiledConfig, Vec<ConfigError>> {
    let errors = validate(set, now_unix);
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut brands = BTreeMap::new();
    for brand in set.brands.keys() {
        let base = set.resolve(brand, "").map_err(|e| vec![e])?;
        let mut by_region = BTreeMap::new();
        for region in region_set(&base.settings) {
            let eff = set.resolve(brand, &region).map_err(|e| vec![e])?;
            by_region.insert(region, eff.settings);
        }
        brands.insert(
            brand.clone(),
            CompiledBrand {
                hosts: base.settings.hosts.clone(),
                regions: base.settings.regions.clone(),
                by_region,
            },
        );
    }
    Ok(CompiledConfig {
        format: CONFIG_FORMAT,
        version: String::new(),
        published_at: String::new(),
        brands,
    })
}
