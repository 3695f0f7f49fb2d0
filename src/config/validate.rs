//! Validation: every problem in a [`ConfigSet`], each named by file, line and key.
//!
//! Two passes. First each file alone against the typed model (unknown keys,
//! wrong types, keys in the wrong kind of file); the offending keys are dropped
//! so the second pass still sees the rest. Then every brand × region's merged
//! settings are checked for meaning (URL template, price band, experiment
//! weights and thresholds, ...) and each problem is charged to the file that
//! set the key. Finally hosts are checked across brands for overlaps.
use super::error::ConfigError;
use super::layer::{merge, ConfigSet, Layer, Scope, Source};
use super::model::{Settings, Thresholds};
use super::time::parse_rfc3339;
use serde_json::Value;
use std::collections::BTreeSet;

/// Placeholders a cart URL template may use.
pub const CART_PLACEHOLDERS: &[&str] = &["sku", "qty", "brand", "region", "token"];

/// Checks every layer and every brand × region of `set`; `now_unix` decides which
/// experiments have started. Returns all problems found, sorted; empty means valid.
pub fn validate(set: &ConfigSet, now_unix: i64) -> Vec<ConfigError> {
    validate_with_advice(set, now_unix).0
}

/// As [`validate`], plus advice: settings that are valid but costly (e.g.
/// selectors that slow down every confirmation page), located the same way.
pub fn validate_with_advice(
    set: &ConfigSet,
    now_unix: i64,
) -> (Vec<ConfigError>, Vec<ConfigError>) {
    let mut advice = BTreeSet::new();
    let mut errors = BTreeSet::new();
    let platform = clean_layer(&set.platform, &mut errors);
    let mut hosts: Vec<(String, String, &Layer)> = Vec::new();
    for (brand, b) in &set.brands {
        if !is_id(brand) {
            errors.insert(b.base.error(
                "",
                format!("brand id `{brand}` must be lower-case letters, digits, `-` or `_`"),
            ));
        }
        let base = clean_layer(&b.base, &mut errors);
        let Ok(brand_eff) = merge(&[&platform, &base]) else {
            continue;
        };
        let regions = region_set(&brand_eff.settings);
        for (region, layer) in &b.regions {
            if !regions.contains(region) {
                errors.insert(layer.error(
                    "",
                    format!(
                        "region `{region}` is not a region of brand `{brand}` (its region map names: {})",
                        regions.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        if brand_eff.settings.hosts.is_empty() {
            errors.insert(b.base.error("hosts", "a brand needs at least one host"));
        }
        for (i, h) in brand_eff.settings.hosts.iter().enumerate() {
            let key = format!("hosts[{i}]");
            match check_host(h) {
                Err(msg) => {
                    errors.insert(b.base.error(&key, msg));
                }
                Ok(()) => hosts.push((h.clone(), brand.clone(), &b.base)),
            }
        }
        let cleaned: std::collections::BTreeMap<&String, Layer> = b
            .regions
            .iter()
            .map(|(r, l)| (r, clean_layer(l, &mut errors)))
            .collect();
        for region in &regions {
            let mut layers = vec![&platform, &base];
            if let Some(c) = cleaned.get(region) {
                layers.push(c);
            }
            let eff = match merge(&layers) {
                Ok(e) => e,
                Err(e) => {
                    errors.insert(e);
                    continue;
                }
            };
            let locate = |key: String, msg: String| match eff.source_of(&key) {
                Some(Source::Layer { file, .. }) => {
                    let layer = [&set.platform, &b.base]
                        .into_iter()
                        .chain(b.regions.get(region))
                        .find(|l| &l.file == file)
                        .unwrap_or(&b.base);
                    layer.error(&key, msg)
                }
                _ => b.base.error(&key, format!("{msg} (built-in default)")),
            };
            for (key, msg) in check_settings(&eff.settings, now_unix) {
                errors.insert(locate(key, msg));
            }
            for (key, msg) in advise_settings(&eff.settings) {
                advice.insert(locate(key, msg));
            }
        }
    }
    check_host_overlaps(&hosts, &mut errors);
    (errors.into_iter().collect(), advice.into_iter().collect())
}

/// Advice on merged settings that are valid but costly: (dotted key, message).
pub fn advise_settings(s: &Settings) -> Vec<(String, String)> {
    let mut selectors: Vec<(String, String)> = Vec::new();
    if let Some(sel) = &s.placement.selector {
        selectors.push(("placement.selector".into(), sel.clone()));
    }
    if let Ok(x) = crate::extract::ExtractConfig::from_json(&s.extract.to_string()) {
        for (name, rules) in [
            ("order_id_selectors", &x.order_id_selectors),
            ("sku_selectors", &x.sku_selectors),
        ] {
            for (i, r) in rules.iter().enumerate() {
                selectors.push((format!("extract.{name}[{i}].selector"), r.selector.clone()));
            }
        }
    }
    selectors
        .into_iter()
        .filter_map(|(key, sel)| {
            let part = unnamed_compound(&sel)?;
            Some((
                key,
                format!(
                    "`{part}` does not name an element, so the worker reads the attributes of \
                     every tag of every confirmation page (about twice the parse CPU); name it, \
                     e.g. `div{part}`"
                ),
            ))
        })
        .collect()
}

/// The first compound selector of `selector` (e.g. `#order` in `main #order`)
/// that starts with an id, class, attribute or pseudo-class rather than an element name.
fn unnamed_compound(selector: &str) -> Option<&str> {
    let mut depth = 0i32;
    let mut start = None;
    let mut found = None;
    for (i, c) in selector.char_indices().chain([(selector.len(), ' ')]) {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            _ => {}
        }
        let boundary = depth == 0 && matches!(c, ' ' | '>' | '+' | '~' | ',' | '\t' | '\n');
        if boundary {
            if let Some(s) = start.take() {
                let part = &selector[s..i];
                if part.starts_with(['#', '.', '[', ':', '*']) {
                    found = Some(part);
                    break;
                }
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    found
}

/// The regions a brand serves according to its settings.
pub fn region_set(s: &Settings) -> BTreeSet<String> {
    std::iter::once(s.regions.default.clone())
        .chain(s.regions.countries.values().cloned())
        .collect()
}

/// Checks one layer alone; records its problems and returns it without the offending keys.
fn clean_layer(layer: &Layer, errors: &mut BTreeSet<ConfigError>) -> Layer {
    let mut out = layer.clone();
    if out.values.is_null() {
        out.values = Value::Object(Default::default());
    }
    if !out.values.is_object() {
        errors.insert(layer.error("", "a configuration file must be a table of keys"));
        out.values = Value::Object(Default::default());
        return out;
    }
    let obj = out.values.as_object_mut().expect("object");
    let misplaced: &[(&str, &str)] = match layer.scope {
        Scope::Platform => &[("hosts", "hosts belong in a brand file")],
        Scope::Brand(_) => &[],
        Scope::BrandRegion(..) => &[
            (
                "hosts",
                "hosts belong in the brand file, not a brand × region file",
            ),
            (
                "regions",
                "the region map belongs in the platform or brand file, not a brand × region file",
            ),
        ],
    };
    for (key, msg) in misplaced {
        if obj.remove(*key).is_some() {
            errors.insert(layer.error(key, *msg));
        }
    }
    for _ in 0..256 {
        let de = out.values.clone();
        match serde_path_to_error::deserialize::<_, Settings>(de) {
            Ok(_) => break,
            Err(e) => {
                let path: Vec<String> = e
                    .path()
                    .iter()
                    .map(|seg| match seg {
                        serde_path_to_error::Segment::Seq { index } => format!("[{index}]"),
                        serde_path_to_error::Segment::Map { key } => key.clone(),
                        serde_path_to_error::Segment::Enum { variant } => variant.clone(),
                        serde_path_to_error::Segment::Unknown => "?".to_string(),
                    })
                    .collect();
                let key = dotted(&path);
                let msg = e.into_inner().to_string();
                let msg = msg
                    .strip_prefix("unknown field")
                    .map_or(msg.clone(), |rest| format!("unknown key{rest}"));
                errors.insert(layer.error(&key, msg));
                if !remove_path(&mut out.values, &path) {
                    break;
                }
            }
        }
    }
    out
}

/// Joins path segments as `a.b[0].c`.
fn dotted(path: &[String]) -> String {
    let mut s = String::new();
    for seg in path {
        if seg.starts_with('[') || s.is_empty() {
            s.push_str(seg);
        } else {
            s.push('.');
            s.push_str(seg);
        }
    }
    s
}

/// Removes the value at `path` (segments as produced for [`dotted`]); false if nothing was removed.
fn remove_path(v: &mut Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = v;
    for seg in parents {
        let next = match (seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')), cur) {
            (Some(i), Value::Array(a)) => i.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            (None, Value::Object(m)) => m.get_mut(seg),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    match (
        last.strip_prefix('[').and_then(|s| s.strip_suffix(']')),
        cur,
    ) {
        (Some(i), Value::Array(a)) => match i.parse::<usize>() {
            Ok(i) if i < a.len() => {
                a.remove(i);
                true
            }
            _ => false,
        },
        (None, Value::Object(m)) => m.remove(last).is_some(),
        _ => false,
    }
}

/// True for identifiers: lower-case ASCII letters, digits, `-`, `_`, not empty.
fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
}

/// Checks a host pattern: lower-case DNS name, optionally `*.` + name; no scheme, port or path.
pub fn check_host(h: &str) -> Result<(), String> {
    let name = h.strip_prefix("*.").unwrap_or(h);
    if h.contains(':') || h.contains('/') {
        return Err(format!(
            "host `{h}` must be a bare hostname (no scheme, port or path)"
        ));
    }
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "host `{h}` is not a lower-case hostname or `*.` wildcard"
        ))
    }
}

/// True when host patterns `a` and `b` can match the same request host.
pub fn hosts_overlap(a: &str, b: &str) -> bool {
    let covers = |wild: &str, other: &str| {
        let suffix = &wild[1..]; // ".example.com"
        other.ends_with(suffix)
            && other.len() > suffix.len()
            && !other[..other.len() - suffix.len()].ends_with('.')
    };
    match (a.starts_with("*."), b.starts_with("*.")) {
        (false, false) => a == b,
        (true, false) => covers(a, b),
        (false, true) => covers(b, a),
        (true, true) => covers(a, &b[2..]) || covers(b, &a[2..]) || a == b,
    }
}

/// Reports every pair of host patterns (across or within brands) that overlap.
fn check_host_overlaps(hosts: &[(String, String, &Layer)], errors: &mut BTreeSet<ConfigError>) {
    for (i, (ha, ba, la)) in hosts.iter().enumerate() {
        for (hb, bb, lb) in &hosts[i + 1..] {
            if hosts_overlap(ha, hb) {
                let key_a = host_key(la, ha);
                let key_b = host_key(lb, hb);
                let what = if ba == bb {
                    format!("brand `{bb}` lists it twice")
                } else {
                    format!("brand `{bb}` ({}) also serves it", lb.file)
                };
                errors.insert(la.error(&key_a, format!("host `{ha}` overlaps `{hb}`: {what}")));
                if ba != bb {
                    errors.insert(lb.error(
                        &key_b,
                        format!("host `{hb}` overlaps `{ha}` of brand `{ba}` ({})", la.file),
                    ));
                }
            }
        }
    }
}

/// Dotted key of host `h` in layer `l` (`hosts[i]`).
fn host_key(l: &Layer, h: &str) -> String {
    l.values
        .get("hosts")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().position(|x| x.as_str() == Some(h)))
        .map_or("hosts".to_string(), |i| format!("hosts[{i}]"))
}

/// Checks a cart URL template; `Err` says what is wrong.
pub fn check_cart_template(t: &str) -> Result<(), String> {
    let rest = if let Some(r) = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
    {
        let host_end = r.find(['/', '?', '#']).unwrap_or(r.len());
        if host_end == 0 {
            return Err(format!("`{t}` has no host after the scheme"));
        }
        r
    } else if t.starts_with('/') && !t.starts_with("//") {
        t
    } else {
        return Err(format!(
            "`{t}` must be a path starting with `/` or an absolute http(s):// URL"
        ));
    };
    if let Some(c) = rest
        .chars()
        .find(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
    {
        return Err(format!(
            "`{t}` contains `{c}`, which is not allowed in a URL"
        ));
    }
    let mut seen_sku = false;
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' => {
                let close = rest[i..]
                    .find('}')
                    .ok_or_else(|| format!("`{t}` has an unclosed `{{`"))?;
                let name = &rest[i + 1..i + close];
                if !CART_PLACEHOLDERS.contains(&name) {
                    return Err(format!(
                        "`{t}` uses unknown placeholder `{{{name}}}` (known: {})",
                        CART_PLACEHOLDERS
                            .iter()
                            .map(|p| format!("{{{p}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                seen_sku |= name == "sku";
                for _ in 0..close {
                    chars.next();
                }
            }
            '}' => return Err(format!("`{t}` has a `}}` without `{{`")),
            _ => {}
        }
    }
    if seen_sku {
        Ok(())
    } else {
        Err(format!(
            "`{t}` never uses `{{sku}}`, so every offer would add the same thing"
        ))
    }
}

/// Checks a confirmation path pattern.
pub fn check_path_pattern(p: &str) -> Result<(), String> {
    if !p.starts_with('/') {
        return Err(format!("pattern `{p}` must start with `/`"));
    }
    if p.contains(['?', '#']) || p.chars().any(char::is_whitespace) {
        return Err(format!(
            "pattern `{p}` must be a bare path (no query, fragment or spaces)"
        ));
    }
    let segs: Vec<&str> = p.trim_end_matches('/').split('/').skip(1).collect();
    for (i, s) in segs.iter().enumerate() {
        if s.contains('*') && *s != "*" && *s != "**" {
            return Err(format!("pattern `{p}`: `*` must be a whole segment"));
        }
        if *s == "**" && i + 1 != segs.len() {
            return Err(format!("pattern `{p}`: `**` may only be the last segment"));
        }
        if s.is_empty() && i + 1 != segs.len() {
            return Err(format!("pattern `{p}` has an empty segment"));
        }
    }
    Ok(())
}

/// True for a CSS hex colour `#rgb` or `#rrggbb`.
fn is_hex_colour(s: &str) -> bool {
    s.strip_prefix('#')
        .is_some_and(|h| matches!(h.len(), 3 | 6) && h.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// Meaning checks on merged settings: (dotted key, message) for each problem.
pub fn check_settings(s: &Settings, now_unix: i64) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut err = |k: String, m: String| out.push((k, m));
    if !is_id(&s.regions.default) {
        err(
            "regions.default".into(),
            format!(
                "region id `{}` must be lower-case letters, digits, `-` or `_`",
                s.regions.default
            ),
        );
    }
    for (country, region) in &s.regions.countries {
        let key = format!("regions.countries.{country}");
        if country.len() != 2 || !country.bytes().all(|c| c.is_ascii_uppercase()) {
            err(
                key.clone(),
                format!("`{country}` is not an upper-case ISO 3166-1 alpha-2 country code"),
            );
        }
        if !is_id(region) {
            err(
                key,
                format!("region id `{region}` must be lower-case letters, digits, `-` or `_`"),
            );
        }
    }
    if s.confirmation.paths.is_empty() {
        err(
            "confirmation.paths".into(),
            "no confirmation-page patterns: offers could never show".into(),
        );
    }
    for (i, p) in s.confirmation.paths.iter().enumerate() {
        if let Err(m) = check_path_pattern(p) {
            err(format!("confirmation.paths[{i}]"), m);
        }
    }
    if !s.extract.is_object() {
        err("extract".into(), "must be a table".into());
    } else if let Err(e) = crate::extract::ExtractConfig::from_json(&s.extract.to_string()) {
        let key = e
            .field
            .as_deref()
            .map_or("extract".to_string(), |f| format!("extract.{f}"));
        err(key, e.message.clone());
    }
    if let Some(sel) = s.placement.selector.as_deref() {
        if sel.parse::<lol_html::Selector>().is_err() {
            err(
                "placement.selector".into(),
                format!("{sel:?} is not a CSS selector lol_html supports"),
            );
        }
    }
    if let Err(m) = check_cart_template(&s.cart.url_template) {
        err("cart.url_template".into(), m);
    }
    let o = &s.offers;
    if !(1..=12).contains(&o.count) {
        err(
            "offers.count".into(),
            format!("{} offers: must be between 1 and 12", o.count),
        );
    }
    for (k, v) in [
        ("offers.price_min", o.price_min),
        ("offers.price_max", o.price_max),
    ] {
        if v.is_some_and(|p| !(p.is_finite() && p >= 0.0)) {
            err(k.into(), "a price must be a non-negative number".into());
        }
    }
    if let (Some(lo), Some(hi)) = (o.price_min, o.price_max) {
        if lo > hi {
            err(
                "offers.price_max".into(),
                format!("price band is empty: price_min {lo} > price_max {hi}"),
            );
        }
    }
    let blocked: BTreeSet<&String> = o.blocks.iter().collect();
    for (i, p) in o.pins.iter().enumerate() {
        if blocked.contains(p) {
            err(
                format!("offers.pins[{i}]"),
                format!("SKU `{p}` is both pinned and blocked"),
            );
        }
    }
    for (cat, skus) in &s.curation {
        if skus.is_empty() {
            err(format!("curation.{cat}"), "empty curation list".into());
        }
    }
    if !(1..=1000).contains(&s.budget.time_ms) {
        err(
            "budget.time_ms".into(),
            format!("{} ms: must be between 1 and 1000", s.budget.time_ms),
        );
    }
    if !is_hex_colour(&s.style.accent) {
        err(
            "style.accent".into(),
            format!("`{}` is not a #rgb or #rrggbb colour", s.style.accent),
        );
    }
    if s.style.font.is_empty() || s.style.font.contains([';', '{', '}', '<', '>', '\\']) {
        err(
            "style.font".into(),
            format!("`{}` is not a plain CSS font-family list", s.style.font),
        );
    }
    if s.style.heading.trim().is_empty() {
        err("style.heading".into(), "heading is empty".into());
    }
    let mut ids = BTreeSet::new();
    for (i, x) in s.experiments.iter().enumerate() {
        let k = |f: &str| format!("experiments[{i}].{f}");
        if !is_id(&x.id) {
            err(
                k("id"),
                format!(
                    "experiment id `{}` must be lower-case letters, digits, `-` or `_`",
                    x.id
                ),
            );
        } else if !ids.insert(&x.id) {
            err(k("id"), format!("experiment id `{}` is used twice", x.id));
        }
        if x.salt.is_empty() {
            err(k("salt"), "salt is empty".into());
        }
        let start = parse_rfc3339(&x.start);
        if start.is_none() {
            err(
                k("start"),
                format!("`{}` is not an RFC 3339 timestamp", x.start),
            );
        }
        if x.arms.is_empty() {
            err(k("arms"), "an experiment needs arms".into());
        }
        let mut names = BTreeSet::new();
        for (j, a) in x.arms.iter().enumerate() {
            if !names.insert(a.name) {
                err(
                    format!("experiments[{i}].arms[{j}].name"),
                    format!("arm `{:?}` appears twice", a.name).to_lowercase(),
                );
            }
            if !(a.weight.is_finite() && (0.0..=1.0).contains(&a.weight)) {
                err(
                    format!("experiments[{i}].arms[{j}].weight"),
                    format!("weight {} must be between 0 and 1", a.weight),
                );
            }
        }
        let sum: f64 = x.arms.iter().map(|a| a.weight).sum();
        if !x.arms.is_empty() && (sum - 1.0).abs() > 1e-9 {
            err(k("arms"), format!("arm weights sum to {sum}, not 1"));
        }
        match (&x.thresholds, start) {
            (None, Some(t)) if t <= now_unix => err(
                k("thresholds"),
                format!(
                    "experiment `{}` started at {} but has no pre-registered thresholds",
                    x.id, x.start
                ),
            ),
            (Some(th), _) => check_thresholds(th, &k("thresholds"), &mut err),
            _ => {}
        }
    }
    out
}

/// Range checks on thresholds.
fn check_thresholds(t: &Thresholds, key: &str, err: &mut impl FnMut(String, String)) {
    if !(t.alpha > 0.0 && t.alpha < 1.0) {
        err(
            format!("{key}.alpha"),
            format!("alpha {} must be between 0 and 1", t.alpha),
        );
    }
    if !(0.0..=1.0).contains(&t.min_attach_rate) {
        err(
            format!("{key}.min_attach_rate"),
            format!("{} must be between 0 and 1", t.min_attach_rate),
        );
    }
    if !t.min_lift_ai_over_curated.is_finite() {
        err(
            format!("{key}.min_lift_ai_over_curated"),
            "must be a finite number".into(),
        );
    }
    if !(t.min_revenue_per_1000_orders.is_finite() && t.min_revenue_per_1000_orders >= 0.0) {
        err(
            format!("{key}.min_revenue_per_1000_orders"),
            "must be a non-negative number".into(),
        );
    }
    if t.min_sample == 0 {
        err(format!("{key}.min_sample"), "must be at least 1".into());
    }
}
