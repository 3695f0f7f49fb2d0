//! Layering, provenance and every validation error, on small hand-written sets.
use super::*;
use serde_json::{json, Value};

const NOW: i64 = 1_795_501_085; // 2026-11-24T06:18:05Z

fn layer(scope: Scope, file: &str, v: Value) -> Layer {
    Layer::new(scope, file, v)
}

fn brand(b: &str, v: Value) -> Layer {
    layer(Scope::Brand(b.into()), &format!("brands/{b}.toml"), v)
}

fn region(b: &str, r: &str, v: Value) -> Layer {
    layer(
        Scope::BrandRegion(b.into(), r.into()),
        &format!("brands/{b}/{r}.toml"),
        v,
    )
}

fn set() -> ConfigSet {
    let platform = layer(
        Scope::Platform,
        "platform.toml",
        json!({
            "regions": {"default": "row", "countries": {"GB": "uk", "FR": "eu", "DE": "eu"}},
            "offers": {"count": 3, "price_max": 50.0},
            "style": {"accent": "#000000"},
        }),
    );
    let mut brands = std::collections::BTreeMap::new();
    brands.insert(
        "homewares".to_string(),
        BrandLayers {
            base: brand("homewares", json!({"hosts": ["homewares.localhost"], "style": {"accent": "#2a6f4e", "heading": "For your home"}})),
            regions: [("uk".to_string(), region("homewares", "uk", json!({"offers": {"count": 4}})))].into(),
        },
    );
    brands.insert(
        "gifts".to_string(),
        BrandLayers {
            base: brand(
                "gifts",
                json!({"hosts": ["gifts.localhost"], "offers": {"price_max": 20.0}}),
            ),
            regions: Default::default(),
        },
    );
    ConfigSet { platform, brands }
}

fn errors_of(s: &ConfigSet) -> Vec<String> {
    validate(s, NOW).iter().map(|e| e.to_string()).collect()
}

/// Asserts exactly one error mentions `file` and `key` and contains `needle`.
fn assert_error(s: &ConfigSet, file: &str, key: &str, needle: &str) {
    let errs = validate(s, NOW);
    let hits: Vec<_> = errs
        .iter()
        .filter(|e| e.file == file && e.key == key && e.message.contains(needle))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "want one `{file}: {key}: ..{needle}..` in {errs:#?}"
    );
}

#[test]
fn the_base_set_is_valid() {
    assert_eq!(errors_of(&set()), Vec::<String>::new());
}

#[test]
fn layers_apply_in_order_and_every_leaf_knows_its_source() {
    let s = set();
    let e = s.resolve("homewares", "uk").unwrap();
    assert_eq!(e.settings.offers.count, 4);
    assert_eq!(e.settings.offers.price_max, Some(50.0));
    assert_eq!(e.settings.style.accent, "#2a6f4e");
    assert_eq!(e.settings.budget.time_ms, Budget::default().time_ms);
    let file = |k: &str| match e.source_of(k).unwrap() {
        Source::Layer { file, .. } => file.clone(),
        Source::Default => "default".into(),
    };
    assert_eq!(file("offers.count"), "brands/homewares/uk.toml");
    assert_eq!(file("offers.price_max"), "platform.toml");
    assert_eq!(file("style.accent"), "brands/homewares.toml");
    assert_eq!(file("style.font"), "default");
    assert_eq!(file("regions.countries.GB"), "platform.toml");
    assert_eq!(file("confirmation.paths"), "default");
    assert!(e.leaves.contains_key("offers.pins"), "arrays are leaves");
}

#[test]
fn a_brand_region_override_changes_only_that_brand_and_region() {
    let s = set();
    let before: Vec<_> = ["uk", "eu", "row"]
        .iter()
        .flat_map(|r| ["homewares", "gifts"].map(|b| (b, *r, s.resolve(b, r).unwrap().settings)))
        .collect();
    let mut changed = s.clone();
    changed.brands.get_mut("gifts").unwrap().regions.insert(
        "eu".into(),
        region(
            "gifts",
            "eu",
            json!({"offers": {"count": 2}, "features": {"offers": false}}),
        ),
    );
    assert!(validate(&changed, NOW).is_empty());
    for (b, r, old) in before {
        let new = changed.resolve(b, r).unwrap().settings;
        if (b, r) == ("gifts", "eu") {
            assert_eq!(new.offers.count, 2);
            assert!(!new.features.offers);
            assert_eq!(new.offers.price_max, Some(20.0), "brand value kept");
        } else {
            assert_eq!(new, old, "{b} × {r} must not change");
        }
    }
}

#[test]
fn maps_merge_key_by_key_arrays_replace() {
    let mut s = set();
    s.brands.get_mut("gifts").unwrap().base.values["regions"] = json!({"countries": {"IE": "eu"}});
    s.brands.get_mut("gifts").unwrap().base.values["confirmation"] = json!({"paths": ["/thanks"]});
    let e = s.resolve("gifts", "eu").unwrap();
    assert_eq!(e.settings.regions.countries.len(), 4);
    assert_eq!(e.settings.confirmation.paths, vec!["/thanks".to_string()]);
}

#[test]
fn compile_covers_every_brand_region_and_round_trips_as_json() {
    let c = compile(&set(), NOW).unwrap();
    assert_eq!(c.brands.len(), 2);
    let regions: Vec<_> = c.brands["gifts"].by_region.keys().cloned().collect();
    assert_eq!(regions, ["eu", "row", "uk"]);
    assert_eq!(c.settings("homewares", "uk").unwrap().offers.count, 4);
    assert_eq!(
        c.settings("homewares", "mars").unwrap().offers.count,
        3,
        "unknown region → default"
    );
    let back = CompiledConfig::from_json(c.to_json().as_bytes()).unwrap();
    assert_eq!(back, c);
    let mut newer: Value = serde_json::from_str(&c.to_json()).unwrap();
    newer["format"] = json!(CONFIG_FORMAT + 1);
    newer["brands"] = json!("reshaped");
    assert_eq!(
        CompiledConfig::from_json(newer.to_string().as_bytes()),
        Err(LoadError::NewerFormat(CONFIG_FORMAT + 1))
    );
}

#[test]
fn compile_refuses_an_invalid_set() {
    let mut s = set();
    s.platform.values["offers"]["count"] = json!(0);
    let errs = compile(&s, NOW).unwrap_err();
    assert!(errs
        .iter()
        .any(|e| e.key == "offers.count" && e.file == "platform.toml"));
}

#[test]
fn unknown_keys_are_all_named_with_file_and_path() {
    let mut s = set();
    s.platform.values["offers"]["cuont"] = json!(3);
    s.platform.values["colour"] = json!("red");
    s.platform.lines.insert("offers.cuont".into(), 7);
    let b = &mut s
        .brands
        .get_mut("homewares")
        .unwrap()
        .regions
        .get_mut("uk")
        .unwrap()
        .values;
    b["style"] = json!({"accent": "#fff", "emoji": "yes"});
    let errs = validate(&s, NOW);
    assert_error(&s, "platform.toml", "offers.cuont", "unknown key `cuont`");
    assert_error(&s, "platform.toml", "colour", "unknown key `colour`");
    assert_error(&s, "brands/homewares/uk.toml", "style.emoji", "unknown key");
    let cuont = errs.iter().find(|e| e.key == "offers.cuont").unwrap();
    assert_eq!(cuont.line, Some(7));
    assert!(cuont
        .to_string()
        .starts_with("platform.toml:7: offers.cuont: unknown key"));
    assert_eq!(errs.len(), 3, "{errs:#?}");
}

#[test]
fn wrong_types_are_named_and_the_rest_still_checked() {
    let mut s = set();
    s.platform.values["offers"]["count"] = json!("three");
    s.platform.values["budget"] = json!({"time_ms": 0});
    s.platform.values["experiments"] = json!([{"id": "x", "salt": "s", "start": "2026-01-01T00:00:00Z",
        "arms": [{"name": "robots", "weight": 1.0}]}]);
    assert_error(&s, "platform.toml", "offers.count", "invalid type");
    assert_error(&s, "platform.toml", "budget.time_ms", "between 1 and 1000");
    assert_error(
        &s,
        "platform.toml",
        "experiments[0].arms[0].name",
        "unknown variant `robots`",
    );
}

#[test]
fn keys_in_the_wrong_kind_of_file() {
    let mut s = set();
    s.platform.values["hosts"] = json!(["x.localhost"]);
    let r = s
        .brands
        .get_mut("homewares")
        .unwrap()
        .regions
        .get_mut("uk")
        .unwrap();
    r.values["hosts"] = json!(["y.localhost"]);
    r.values["regions"] = json!({"default": "uk"});
    assert_error(&s, "platform.toml", "hosts", "brand file");
    assert_error(&s, "brands/homewares/uk.toml", "hosts", "brand file");
    assert_error(&s, "brands/homewares/uk.toml", "regions", "region map");
}

#[test]
fn bad_url_templates() {
    for (t, needle) in [
        ("cart/add?sku={sku}", "must be a path"),
        ("//evil.example/add?sku={sku}", "must be a path"),
        ("https:///add?sku={sku}", "no host"),
        ("/cart/add?sku={sku", "unclosed"),
        ("/cart/add?sku=sku}", "without"),
        ("/cart/add?sku={product}", "unknown placeholder `{product}`"),
        ("/cart/add", "never uses `{sku}`"),
        ("/cart/add?sku={sku}&note=a b", "not allowed"),
        ("javascript:alert(1)//{sku}", "must be a path"),
    ] {
        let mut s = set();
        s.brands.get_mut("gifts").unwrap().base.values["cart"] = json!({"url_template": t});
        assert_error(&s, "brands/gifts.toml", "cart.url_template", needle);
    }
    for ok in [
        "/cart/add?sku={sku}&qty={qty}",
        "https://shop.example/c/{brand}/{region}/{sku}?t={token}",
    ] {
        assert_eq!(check_cart_template(ok), Ok(()), "{ok}");
    }
}

#[test]
fn overlapping_hosts_across_and_within_brands() {
    let mut s = set();
    s.brands.get_mut("gifts").unwrap().base.values["hosts"] =
        json!(["gifts.localhost", "homewares.localhost"]);
    assert_error(
        &s,
        "brands/gifts.toml",
        "hosts[1]",
        "overlaps `homewares.localhost`",
    );
    assert_error(
        &s,
        "brands/homewares.toml",
        "hosts[0]",
        "overlaps `homewares.localhost`",
    );

    let mut s = set();
    s.brands.get_mut("gifts").unwrap().base.values["hosts"] = json!(["*.localhost"]);
    assert_error(&s, "brands/gifts.toml", "hosts[0]", "overlaps");

    let mut s = set();
    s.brands.get_mut("gifts").unwrap().base.values["hosts"] =
        json!(["gifts.localhost", "gifts.localhost"]);
    assert_error(&s, "brands/gifts.toml", "hosts[0]", "lists it twice");

    let mut s = set();
    s.brands.get_mut("gifts").unwrap().base.values["hosts"] =
        json!(["https://gifts.localhost:8787"]);
    assert_error(&s, "brands/gifts.toml", "hosts[0]", "bare hostname");

    let mut s = set();
    s.brands.get_mut("gifts").unwrap().base.values["hosts"] = json!([]);
    assert_error(&s, "brands/gifts.toml", "hosts", "at least one host");

    assert!(hosts_overlap("*.example.com", "a.b.example.com"));
    assert!(hosts_overlap("*.example.com", "*.shop.example.com"));
    assert!(!hosts_overlap("*.example.com", "example.com"));
    assert!(!hosts_overlap("*.example.com", "badexample.com"));
    assert!(!hosts_overlap("a.example.com", "b.example.com"));
}

fn experiment(weights: &[(&str, f64)], start: &str, thresholds: bool) -> Value {
    let mut x = json!({
        "id": "ai-vs-curated", "salt": "s1", "start": start,
        "arms": weights.iter().map(|(n, w)| json!({"name": n, "weight": w})).collect::<Vec<_>>(),
    });
    if thresholds {
        x["thresholds"] = json!({"min_lift_ai_over_curated": 0.05, "min_attach_rate": 0.01,
            "min_revenue_per_1000_orders": 50.0, "alpha": 0.05, "min_sample": 2000});
    }
    x
}

#[test]
fn experiment_weights_must_sum_to_one() {
    let mut s = set();
    s.brands.get_mut("gifts").unwrap().base.values["experiments"] = json!([experiment(
        &[("ai", 0.5), ("curated", 0.4), ("holdout", 0.2)],
        "2027-01-01T00:00:00Z",
        true
    )]);
    assert_error(&s, "brands/gifts.toml", "experiments[0].arms", "sum to 1.1");
    s.brands.get_mut("gifts").unwrap().base.values["experiments"] = json!([experiment(
        &[("ai", 0.45), ("curated", 0.45), ("holdout", 0.1)],
        "2027-01-01T00:00:00Z",
        true
    )]);
    assert!(
        validate(&s, NOW).is_empty(),
        "0.45+0.45+0.1 sums to 1 within rounding"
    );
    s.brands.get_mut("gifts").unwrap().base.values["experiments"] = json!([experiment(
        &[("ai", 1.5), ("ai", -0.5)],
        "2027-01-01T00:00:00Z",
        true
    )]);
    assert_error(
        &s,
        "brands/gifts.toml",
        "experiments[0].arms[1].name",
        "twice",
    );
    assert_error(
        &s,
        "brands/gifts.toml",
        "experiments[0].arms[0].weight",
        "between 0 and 1",
    );
}

#[test]
fn a_started_experiment_needs_thresholds() {
    let arms = [("ai", 0.8), ("curated", 0.1), ("holdout", 0.1)];
    let mut s = set();
    s.platform.values["experiments"] = json!([experiment(&arms, "2026-11-01T00:00:00Z", false)]);
    // Inherited by both brands, charged once to the file that set it.
    assert_error(
        &s,
        "platform.toml",
        "experiments[0].thresholds",
        "no pre-registered thresholds",
    );
    s.platform.values["experiments"] = json!([experiment(&arms, "2027-11-01T00:00:00Z", false)]);
    assert!(
        validate(&s, NOW).is_empty(),
        "not started yet: thresholds may come later"
    );
    s.platform.values["experiments"] = json!([experiment(&arms, "next tuesday", true)]);
    assert_error(&s, "platform.toml", "experiments[0].start", "RFC 3339");
    let mut x = experiment(&arms, "2026-11-01T00:00:00Z", true);
    x["thresholds"]["alpha"] = json!(1.5);
    s.platform.values["experiments"] = json!([x]);
    assert_error(
        &s,
        "platform.toml",
        "experiments[0].thresholds.alpha",
        "between 0 and 1",
    );
}

#[test]
fn other_meaning_checks() {
    let mut s = set();
    s.platform.values["offers"] =
        json!({"price_min": 30.0, "price_max": 10.0, "pins": ["A"], "blocks": ["A"]});
    s.platform.values["style"] = json!({"accent": "green", "font": "x;}body{display:none"});
    s.platform.values["confirmation"] = json!({"paths": ["checkout", "/a/**/b", "/x*/"]});
    s.platform.values["regions"] = json!({"countries": {"gb": "uk", "US": "North America"}});
    assert_error(
        &s,
        "platform.toml",
        "offers.price_max",
        "price band is empty",
    );
    assert_error(&s, "platform.toml", "offers.pins[0]", "pinned and blocked");
    assert_error(&s, "platform.toml", "style.accent", "colour");
    assert_error(&s, "platform.toml", "style.font", "font-family");
    assert_error(
        &s,
        "platform.toml",
        "confirmation.paths[0]",
        "start with `/`",
    );
    assert_error(&s, "platform.toml", "confirmation.paths[1]", "last segment");
    assert_error(
        &s,
        "platform.toml",
        "confirmation.paths[2]",
        "whole segment",
    );
    assert_error(&s, "platform.toml", "regions.countries.gb", "ISO 3166-1");
    assert_error(&s, "platform.toml", "regions.countries.US", "region id");
}

#[test]
fn an_override_for_a_region_the_brand_does_not_have() {
    let mut s = set();
    s.brands.get_mut("gifts").unwrap().regions.insert(
        "apac".into(),
        region("gifts", "apac", json!({"offers": {"count": 2}})),
    );
    assert_error(
        &s,
        "brands/gifts/apac.toml",
        "",
        "not a region of brand `gifts`",
    );
}

#[test]
fn selectors_that_name_no_element_get_advice_where_they_are_set() {
    let mut s = set();
    s.brands.get_mut("gifts").unwrap().base = brand(
        "gifts",
        json!({
            "hosts": ["gifts.localhost"],
            "placement": {"selector": "main > .summary"},
            "extract": {"order_id_selectors": [{"selector": "div#order"}, {"selector": "[data-order-id]"}],
                        "sku_selectors": [{"selector": "table.items td.sku, span[itemprop=sku]"}]},
        }),
    );
    let (errors, advice) = validate_with_advice(&s, NOW);
    assert!(errors.is_empty(), "{errors:#?}");
    let got: Vec<(String, String)> = advice
        .iter()
        .map(|a| (format!("{}: {}", a.file, a.key), a.message.clone()))
        .collect();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(
        got[0].0,
        "brands/gifts.toml: extract.order_id_selectors[1].selector"
    );
    assert!(got[0]
        .1
        .contains("`[data-order-id]` does not name an element"));
    assert_eq!(got[1].0, "brands/gifts.toml: placement.selector");
    assert!(got[1].1.contains("`.summary`"), "{}", got[1].1);
    // The base set names elements everywhere (or sets no selectors): no advice.
    assert!(validate_with_advice(&set(), NOW).1.is_empty());
}
