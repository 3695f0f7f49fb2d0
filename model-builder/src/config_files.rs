//! Reads a configuration directory written by people (TOML or JSON) into the
//! root crate's [`ConfigSet`], keeping the line of every key for error messages.
//!
//! Layout of `DIR`:
//! - `platform.toml` — platform defaults (required);
//! - `brands/<brand>.toml` — one file per brand;
//! - `brands/<brand>/<region>.toml` — optional brand × region overrides.
//!
//! - `experiments.lock` — written by `model-builder config lock`: the SHA-256 of
//!   every started experiment, so a change after the start is an error.
//!
//! `.json` works wherever `.toml` does. Other `.toml`/`.json` files are errors
//! (a misplaced override would otherwise be silently ignored); other files
//! (`README.md`, ...) are ignored.
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};
use toml::Spanned;
use upsell_edge::config::{BrandLayers, ConfigError, ConfigSet, Layer, Scope};

/// Byte offset → 1-based line.
struct Lines(Vec<usize>);

impl Lines {
    fn new(src: &str) -> Self {
        Lines(src.match_indices('\n').map(|(i, _)| i).collect())
    }

    fn line(&self, offset: usize) -> u32 {
        (self.0.partition_point(|&nl| nl < offset) + 1) as u32
    }
}

/// Converts a parsed TOML value to JSON, recording the line of every key path.
fn to_json(
    v: &Spanned<DeValue<'_>>,
    path: &str,
    lines: &Lines,
    out: &mut BTreeMap<String, u32>,
) -> Value {
    match v.get_ref() {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => {
            let digits: String = i.as_str().chars().filter(|c| *c != '_').collect();
            i64::from_str_radix(&digits, i.radix())
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(i.as_str().to_string()))
        }
        DeValue::Float(f) => {
            let digits: String = f.as_str().chars().filter(|c| *c != '_').collect();
            digits
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map_or(Value::Null, Value::Number)
        }
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::String(d.to_string()),
        DeValue::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| {
                    let p = format!("{path}[{i}]");
                    out.insert(p.clone(), lines.line(x.span().start));
                    to_json(x, &p, lines, out)
                })
                .collect(),
        ),
        DeValue::Table(t) => table_to_json(t, path, lines, out),
    }
}

/// Converts a TOML table to a JSON object (see [`to_json`]).
fn table_to_json(
    t: &DeTable<'_>,
    path: &str,
    lines: &Lines,
    out: &mut BTreeMap<String, u32>,
) -> Value {
    let mut m = Map::new();
    for (k, v) in t {
        let key = k.get_ref().to_string();
        let p = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        out.entry(p.clone())
            .or_insert_with(|| lines.line(k.span().start));
        m.insert(key, to_json(v, &p, lines, out));
    }
    Value::Object(m)
}

/// Parses one file's text into a layer; a syntax error names the file and line.
pub fn parse_layer(scope: Scope, file: &str, src: &str, json: bool) -> Result<Layer, ConfigError> {
    let line_index = Lines::new(src);
    if json {
        let values: Value = serde_json::from_str(src).map_err(|e| ConfigError {
            file: file.to_string(),
            line: Some(e.line() as u32),
            key: String::new(),
            message: format!("not valid JSON: {e}"),
        })?;
        return Ok(Layer::new(scope, file, values));
    }
    let doc = DeTable::parse(src).map_err(|e| ConfigError {
        file: file.to_string(),
        line: e.span().map(|s| line_index.line(s.start)),
        key: String::new(),
        message: format!("not valid TOML: {}", e.message()),
    })?;
    let mut lines = BTreeMap::new();
    let values = table_to_json(doc.get_ref(), "", &line_index, &mut lines);
    Ok(Layer {
        scope,
        file: file.to_string(),
        values,
        lines,
    })
}

/// Reads and parses one file.
fn read_layer(scope: Scope, path: &Path) -> Result<Layer, ConfigError> {
    let file = path.display().to_string();
    let src = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&file, "", format!("cannot read: {e}")))?;
    parse_layer(
        scope,
        &file,
        &src,
        path.extension().is_some_and(|e| e == "json"),
    )
}

/// `name.toml` / `name.json` → `name`, for configuration files only.
fn config_stem(p: &Path) -> Option<String> {
    let ext = p.extension()?.to_str()?;
    matches!(ext, "toml" | "json").then(|| p.file_stem()?.to_str().map(String::from))?
}

/// Sorted directory entries (so errors come out in a stable order).
fn entries(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let rd = std::fs::read_dir(dir).map_err(|e| {
        ConfigError::new(
            &dir.display().to_string(),
            "",
            format!("cannot read directory: {e}"),
        )
    })?;
    let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    v.sort();
    Ok(v)
}

/// Loads a configuration directory. Returns the set of layers that parsed and
/// every problem met while reading (syntax errors, misplaced files); validation
/// of the content is [`upsell_edge::config::validate`]'s job.
pub fn load_dir(dir: &Path) -> (Option<ConfigSet>, Vec<ConfigError>) {
    let mut errors = Vec::new();
    let mut platform = None;
    let mut brands: BTreeMap<String, BrandLayers> = BTreeMap::new();
    let mut region_files: Vec<(String, PathBuf)> = Vec::new();
    let root = match entries(dir) {
        Ok(v) => v,
        Err(e) => return (None, vec![e]),
    };
    for p in root {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if p.is_dir() && name == "brands" {
            let listing = match entries(&p) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            for bp in listing {
                if bp.is_dir() {
                    let brand = bp
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default()
                        .to_string();
                    match entries(&bp) {
                        Ok(rs) => region_files.extend(
                            rs.into_iter()
                                .filter(|r| config_stem(r).is_some() || r.is_dir())
                                .map(|r| (brand.clone(), r)),
                        ),
                        Err(e) => errors.push(e),
                    }
                } else if let Some(brand) = config_stem(&bp) {
                    match read_layer(Scope::Brand(brand.clone()), &bp) {
                        Ok(base) => {
                            brands.insert(
                                brand,
                                BrandLayers {
                                    base,
                                    regions: BTreeMap::new(),
                                },
                            );
                        }
                        Err(e) => errors.push(e),
                    }
                }
            }
        } else if config_stem(&p).as_deref() == Some("platform") {
            if platform.is_some() {
                errors.push(ConfigError::new(
                    &p.display().to_string(),
                    "",
                    "a second platform file (both .toml and .json?)",
                ));
                continue;
            }
            match read_layer(Scope::Platform, &p) {
                Ok(l) => platform = Some(l),
                Err(e) => errors.push(e),
            }
        } else if config_stem(&p).is_some() || p.is_dir() {
            errors.push(ConfigError::new(
                &p.display().to_string(),
                "",
                "unexpected here: expected platform.toml and brands/<brand>.toml, brands/<brand>/<region>.toml",
            ));
        }
    }
    for (brand, rp) in region_files {
        let file = rp.display().to_string();
        let Some(region) = config_stem(&rp) else {
            errors.push(ConfigError::new(
                &file,
                "",
                "unexpected directory: overrides are brands/<brand>/<region>.toml",
            ));
            continue;
        };
        let Some(b) = brands.get_mut(&brand) else {
            errors.push(ConfigError::new(
                &file,
                "",
                format!("override for brand `{brand}`, which has no brands/{brand}.toml"),
            ));
            continue;
        };
        match read_layer(Scope::BrandRegion(brand.clone(), region.clone()), &rp) {
            Ok(l) => {
                if b.regions.insert(region.clone(), l).is_some() {
                    errors.push(ConfigError::new(
                        &file,
                        "",
                        format!("a second override for region `{region}`"),
                    ));
                }
            }
            Err(e) => errors.push(e),
        }
    }
    let Some(platform) = platform else {
        errors.push(ConfigError::new(
            &dir.join("platform.toml").display().to_string(),
            "",
            "missing: every configuration needs platform defaults",
        ));
        return (None, errors);
    };
    (Some(ConfigSet { platform, brands }), errors)
}

/// The configuration root a path belongs to: the path itself if it is a
/// directory with `platform.*`, else the nearest ancestor that has one.
pub fn root_of(path: &Path) -> Option<PathBuf> {
    let start = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()?.to_path_buf()
    };
    let mut cur: Option<&Path> = Some(&start);
    while let Some(d) = cur {
        if d.join("platform.toml").is_file() || d.join("platform.json").is_file() {
            return Some(d.to_path_buf());
        }
        cur = d.parent().filter(|p| !p.as_os_str().is_empty());
    }
    None
}

/// Loads and validates a directory: the set (if it parsed) and every problem, sorted.
pub fn check_dir(dir: &Path, now_unix: i64) -> (Option<ConfigSet>, Vec<ConfigError>) {
    let (set, mut errors) = load_dir(dir);
    if let Some(s) = &set {
        errors.extend(upsell_edge::config::validate(s, now_unix));
        errors.extend(check_lock(dir, s, now_unix));
    }
    errors.sort();
    errors.dedup();
    (set, errors)
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// File in the configuration directory that records started experiments.
pub const LOCK_FILE: &str = "experiments.lock";

/// SHA-256 of an experiment's canonical JSON (field order of the typed model).
pub fn experiment_hash(x: &upsell_edge::config::Experiment) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(x).expect("experiment serializes");
    Sha256::digest(json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One started experiment as found in the configuration.
struct Started {
    hash: String,
    start: String,
    file: String,
    line: Option<u32>,
    key: String,
}

/// Every started experiment of every brand × region, by id.
fn started(set: &ConfigSet, now: i64) -> BTreeMap<String, Vec<Started>> {
    let mut out: BTreeMap<String, Vec<Started>> = BTreeMap::new();
    for brand in set.brands.keys() {
        for region in set.regions_of(brand) {
            let Ok(eff) = set.resolve(brand, &region) else {
                continue;
            };
            for (i, x) in eff.settings.experiments.iter().enumerate() {
                if upsell_edge::config::parse_rfc3339(&x.start).is_none_or(|t| t > now) {
                    continue;
                }
                let key = format!("experiments[{i}]");
                let (file, line) = match eff.source_of(&key) {
                    Some(upsell_edge::config::Source::Layer { file, line, .. }) => {
                        (file.clone(), *line)
                    }
                    _ => (set.brands[brand].base.file.clone(), None),
                };
                out.entry(x.id.clone()).or_default().push(Started {
                    hash: experiment_hash(x),
                    start: x.start.clone(),
                    file,
                    line,
                    key,
                });
            }
        }
    }
    out
}

/// Reads the lock file: experiment id → recorded sha256 (empty when there is no file).
fn read_lock(dir: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let p = dir.join(LOCK_FILE);
    let file = p.display().to_string();
    let Ok(text) = std::fs::read_to_string(&p) else {
        return Ok(BTreeMap::new());
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| ConfigError {
        file: file.clone(),
        line: Some(e.line() as u32),
        key: String::new(),
        message: format!("not valid JSON: {e}"),
    })?;
    let obj = v
        .as_object()
        .ok_or_else(|| ConfigError::new(&file, "", "must be a JSON object"))?;
    obj.iter()
        .map(|(id, e)| {
            let sha = e.get("sha256").and_then(Value::as_str);
            sha.map(|s| (id.clone(), s.to_string()))
                .ok_or_else(|| ConfigError::new(&file, id, "entry needs a string `sha256`"))
        })
        .collect()
}

/// Immutability of started experiments: each must be recorded in the lock file
/// and still match its recorded hash; one id may not have two definitions.
pub fn check_lock(dir: &Path, set: &ConfigSet, now: i64) -> Vec<ConfigError> {
    let lock = match read_lock(dir) {
        Ok(l) => l,
        Err(e) => return vec![e],
    };
    let mut errors = Vec::new();
    for (id, defs) in started(set, now) {
        let at = |s: &Started, message: String| ConfigError {
            file: s.file.clone(),
            line: s.line,
            key: s.key.clone(),
            message,
        };
        let first = &defs[0];
        if let Some(other) = defs.iter().find(|d| d.hash != first.hash) {
            errors.push(at(
                other,
                format!(
                    "experiment `{id}` has two different definitions ({} and {})",
                    first.file, other.file
                ),
            ));
        }
        match lock.get(&id) {
            None => errors.push(at(
                first,
                format!(
                    "experiment `{id}` started at {} but is not recorded in {LOCK_FILE}: run `model-builder config lock --dir {}`",
                    first.start,
                    dir.display()
                ),
            )),
            Some(h) => {
                for d in defs.iter().filter(|d| d.hash != *h) {
                    errors.push(at(
                        d,
                        format!(
                            "experiment `{id}` changed after it started at {}: it no longer matches {LOCK_FILE} (sha256 {h}); a started experiment is immutable, give the new design a new id",
                            d.start
                        ),
                    ));
                }
            }
        }
    }
    errors.sort();
    errors.dedup();
    errors
}

/// Records every started experiment not yet in the lock file (never changes an
/// existing entry). Returns the ids added.
pub fn write_lock(dir: &Path, set: &ConfigSet, now: i64) -> Result<Vec<String>, ConfigError> {
    let p = dir.join(LOCK_FILE);
    let mut v: serde_json::Map<String, Value> = match std::fs::read_to_string(&p) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            ConfigError::new(&p.display().to_string(), "", format!("not valid JSON: {e}"))
        })?,
        Err(_) => serde_json::Map::new(),
    };
    let mut added = Vec::new();
    for (id, defs) in started(set, now) {
        if v.contains_key(&id) {
            continue;
        }
        v.insert(
            id.clone(),
            serde_json::json!({"sha256": defs[0].hash, "start": defs[0].start, "locked_at": upsell_edge::config::format_rfc3339(now)}),
        );
        added.push(id);
    }
    let body = serde_json::to_string_pretty(&Value::Object(v)).expect("lock serializes") + "\n";
    std::fs::write(&p, body).map_err(|e| {
        ConfigError::new(&p.display().to_string(), "", format!("cannot write: {e}"))
    })?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_keys_keep_their_lines() {
        let src = "# platform\n[offers]\ncount = 3\nprice_max = 1_000.5\n\n[[experiments]]\nid = \"x\"\nstart = 2026-01-01T00:00:00Z\n\n[[experiments]]\nid = \"y\"\n";
        let l = parse_layer(Scope::Platform, "p.toml", src, false).unwrap();
        assert_eq!(l.values["offers"]["count"], 3);
        assert_eq!(l.values["offers"]["price_max"], 1000.5);
        assert_eq!(l.values["experiments"][0]["start"], "2026-01-01T00:00:00Z");
        assert_eq!(l.line_of("offers.count"), Some(3));
        assert_eq!(l.line_of("offers.price_max"), Some(4));
        assert_eq!(l.line_of("experiments[1].id"), Some(11));
        // A key the file does not set takes the line of its nearest enclosing key:
        // here the `[[experiments]]` header of element 0.
        assert_eq!(l.line_of("experiments[0].arms"), Some(6));
        assert_eq!(l.line_of("experiments[0].start"), Some(8));
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let e = parse_layer(Scope::Platform, "p.toml", "a = 1\nb = = 2\n", false).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("p.toml", Some(2)));
        let e = parse_layer(Scope::Platform, "p.json", "{\n\"a\": ,\n}", true).unwrap_err();
        assert_eq!(e.line, Some(2));
    }
}
