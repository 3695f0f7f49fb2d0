//! Wasm tests for the worker crate, run under Node by `wasm-bindgen-test-runner`
//! (`scripts/test`). They check that the code the worker runs behaves in wasm
//! as it does natively (extraction on every platform page, the page flow's
//! byte-exactness, table codec, tokens and randomness) and exercise the glue
//! that runs outside workerd too: response candidacy on real `Headers` and the
//! published-manifest reader. (The time budget's timer is workerd's: Node's
//! `setTimeout` returns an object where workerd's returns a number, so the
//! budget is exercised end to end by `tests/e2e/lookup.test.mjs` instead.)
#![cfg(target_arch = "wasm32")]

use upsell_edge::config::Settings;
use upsell_edge::extract::{self, ExtractConfig};
use upsell_edge::origin::upstream_url;
use upsell_edge::serve::PageFlow;
use upsell_edge::table::{
    decode_neighbours, encode_neighbours, Neighbour, NeighbourList, Quantiser,
};
use upsell_edge::token::{nonce_from_bytes, Keyring, OfferToken};
use upsell_edge::worker_glue::{page, store};
use wasm_bindgen_test::wasm_bindgen_test;

/// The saved platform pages with their expected extraction reports.
const PAGES: &[(&str, &[u8], &str)] = &[
    (
        "magento2",
        include_bytes!("pages/magento2.html"),
        include_str!("pages/magento2.expected.json"),
    ),
    (
        "sfra",
        include_bytes!("pages/sfra.html"),
        include_str!("pages/sfra.expected.json"),
    ),
    (
        "woocommerce",
        include_bytes!("pages/woocommerce.html"),
        include_str!("pages/woocommerce.expected.json"),
    ),
    (
        "prestashop",
        include_bytes!("pages/prestashop.html"),
        include_str!("pages/prestashop.expected.json"),
    ),
    (
        "shopify",
        include_bytes!("pages/shopify.html"),
        include_str!("pages/shopify.expected.json"),
    ),
    (
        "solidus",
        include_bytes!("pages/solidus.html"),
        include_str!("pages/solidus.expected.json"),
    ),
    (
        "sylius",
        include_bytes!("pages/sylius.html"),
        include_str!("pages/sylius.expected.json"),
    ),
    (
        "generic",
        include_bytes!("pages/generic.html"),
        include_str!("pages/generic.expected.json"),
    ),
];

#[wasm_bindgen_test]
fn upstream_url_in_wasm_matches_native() {
    assert_eq!(
        upstream_url("https://shop.example/checkout/?id=1", "http://127.0.0.1:9").unwrap(),
        "http://127.0.0.1:9/checkout/?id=1"
    );
}

#[wasm_bindgen_test]
fn every_platform_page_extracts_in_wasm_as_expected() {
    for (name, html, expected) in PAGES {
        let cfg = ExtractConfig::preset(name).unwrap_or_default();
        let expected: serde_json::Value = serde_json::from_str(expected).unwrap();
        for chunk in [html.len(), 64] {
            let order = extract::extract_from_chunks(html.chunks(chunk), &cfg);
            assert_eq!(
                extract::report(&order, &cfg),
                expected,
                "{name} in {chunk}-byte chunks"
            );
        }
    }
}

/// Streams `html` through a page flow the way the glue does; `block` is the decision.
fn flow(html: &[u8], block: Option<&[u8]>, anchor: Option<&str>) -> Vec<u8> {
    let mut settings = Settings::default();
    settings.placement.selector = anchor.map(str::to_string);
    let mut f = PageFlow::new(&settings, &ExtractConfig::default(), Vec::new());
    let mut out = Vec::new();
    let mut due = false;
    for piece in html.chunks(100) {
        if due {
            out.extend(f.decide(block.map(<[u8]>::to_vec)));
        }
        out.extend(f.write(piece));
        due = f.wants_decision(false);
    }
    if due || f.wants_decision(true) {
        out.extend(f.decide(block.map(<[u8]>::to_vec)));
    }
    out.extend(f.finish().0);
    out
}

#[wasm_bindgen_test]
fn the_page_flow_adds_exactly_the_block_in_wasm() {
    const BLOCK: &[u8] = b"<section class=\"upsell-offers\">X</section>";
    for (name, html, _) in PAGES {
        assert_eq!(
            flow(html, None, None),
            *html,
            "{name}: no offers, same bytes"
        );
        for anchor in [None, Some("main"), Some("h1")] {
            let with = flow(html, Some(BLOCK), anchor);
            let at = with.windows(BLOCK.len()).position(|w| w == BLOCK);
            if let Some(at) = at {
                let mut back = with.clone();
                back.drain(at..at + BLOCK.len());
                assert_eq!(back, *html, "{name} {anchor:?}: only the block is added");
            } else {
                assert_eq!(with, *html, "{name} {anchor:?}: no block, same bytes");
            }
        }
    }
}

#[wasm_bindgen_test]
fn table_shards_round_trip_in_wasm() {
    let lists: Vec<NeighbourList> = (0..50u32)
        .map(|i| NeighbourList {
            sku: format!("SKU{i:04}"),
            fallback: i % 7 == 0,
            neighbours: (1..=20u32)
                .map(|j| Neighbour {
                    id: (i * 31 + j * 17) % 4000,
                    score: 1.0 / j as f32,
                    count: j * 3,
                })
                .collect(),
        })
        .collect();
    let q = Quantiser::fit(
        lists
            .iter()
            .flat_map(|l| l.neighbours.iter().map(|n| n.score)),
    );
    let bytes = encode_neighbours(3, &q, &lists);
    let shard = decode_neighbours(&bytes).expect("decodes");
    assert_eq!(shard.skus().len(), 50);
    assert_eq!(shard.edges(), 50 * 20);
    let mut corrupt = bytes.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0x55;
    assert!(
        decode_neighbours(&corrupt).is_err(),
        "a flipped byte is caught"
    );
}

#[wasm_bindgen_test]
fn tokens_sign_and_verify_in_wasm_with_runtime_randomness() {
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).expect("crypto.getRandomValues");
    assert_ne!(random, [0u8; 16]);
    let keys = Keyring::from_env("new-secret-0123456789,old-secret-0123456789").unwrap();
    let claims = OfferToken {
        brand: "gifts".into(),
        region: "uk".into(),
        parent_order_id: "536365".into(),
        arm: upsell_edge::assign::Arm::Ai,
        experiment: "none".into(),
        model_version: "v1".into(),
        skus: vec!["85123A".into()],
        issued_at: 1_000,
        expires_at: 2_000,
        nonce: nonce_from_bytes(&random),
    };
    let token = keys.sign(&claims);
    assert_eq!(keys.verify(&token, 1_500).unwrap(), claims);
    assert!(keys.verify(&token, 2_500).is_err(), "expired");
    let old = Keyring::from_env("old-secret-0123456789")
        .unwrap()
        .sign(&claims);
    assert!(
        keys.verify(&old, 1_500).is_ok(),
        "rotation keeps the old key"
    );
}

#[wasm_bindgen_test]
fn only_utf8_html_200_responses_are_candidates() {
    let h = |pairs: &[(&str, &str)]| {
        let headers = worker::Headers::new();
        for (k, v) in pairs {
            headers.set(k, v).unwrap();
        }
        headers
    };
    assert!(page::is_candidate(
        200,
        &h(&[("content-type", "text/html; charset=utf-8")])
    ));
    assert!(page::is_candidate(
        200,
        &h(&[("content-type", "text/html")])
    ));
    assert!(!page::is_candidate(
        404,
        &h(&[("content-type", "text/html")])
    ));
    assert!(!page::is_candidate(
        200,
        &h(&[("content-type", "application/json")])
    ));
    assert!(!page::is_candidate(
        200,
        &h(&[("content-type", "text/html; charset=iso-8859-1")])
    ));
    assert!(!page::is_candidate(
        200,
        &h(&[("content-type", "text/html"), ("content-encoding", "gzip")])
    ));
}

#[wasm_bindgen_test]
fn published_manifests_are_read_current_then_previous() {
    let level = |version: &str, format: u32| {
        serde_json::json!({
            "format": format, "version": version, "brand": "gifts", "region": "uk",
            "built_at": "2026-11-24T10:35:34Z", "prefix": format!("tables/gifts/uk/{version}"),
            "nbr_shards": 1, "catalog_prefix": null, "cat_shards": 0, "fallback_region": null,
            "keys": [{"key": format!("tables/gifts/uk/{version}/facts"), "sha256": "00", "bytes": 1}],
        })
    };
    let current = u32::from(upsell_edge::table::FORMAT_VERSION);
    let mut m = level("v2", current);
    m["previous"] = level("v1", current);
    let versions = store::parse_manifests(m.to_string().as_bytes());
    let names: Vec<&str> = versions.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(names, ["v2", "v1"]);
    let mut newer = level("v3", 99);
    newer["previous"] = level("v2", current);
    let versions = store::parse_manifests(newer.to_string().as_bytes());
    assert_eq!(
        versions.len(),
        1,
        "a newer format is skipped for the previous version"
    );
    assert!(store::parse_manifests(b"not json").is_empty());
}
