//! Runs every saved confirmation page in `tests/pages/` through the streaming
//! extractor, fed in small chunks, and compares with `<page>.expected.json`.
//! A page uses `<page>.config.json` when present, else the preset of the same
//! name, else the built-in defaults.

use std::path::PathBuf;

use upsell_edge::extract::{self, lookup, ExtractConfig, OrderSniffer};

const PAGES: &[&str] = &[
    "magento2",
    "sfra",
    "woocommerce",
    "bigcommerce",
    "prestashop",
    "shopify",
    "solidus",
    "sylius",
    "generic",
    "woocommerce-blocks",
    "pixels",
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pages")
}

fn read(name: &str) -> Vec<u8> {
    let path = dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn config_for(page: &str) -> ExtractConfig {
    let path = dir().join(format!("{page}.config.json"));
    if path.exists() {
        let text = std::fs::read_to_string(&path).unwrap();
        return ExtractConfig::from_json(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    ExtractConfig::preset(page).unwrap_or_default()
}

#[test]
fn every_page_matches_its_expected_report_in_any_chunking() {
    for page in PAGES {
        let html = read(&format!("{page}.html"));
        let expected: serde_json::Value =
            serde_json::from_slice(&read(&format!("{page}.expected.json"))).unwrap();
        let cfg = config_for(page);
        for chunk in [html.len(), 1, 7, 64, 1000] {
            let order = extract::extract_from_chunks(html.chunks(chunk), &cfg);
            let got = extract::report(&order, &cfg);
            assert_eq!(
                got,
                expected,
                "{page} fed in {chunk}-byte chunks:\n{}",
                serde_json::to_string_pretty(&got).unwrap()
            );
        }
    }
}

#[test]
fn defaults_alone_find_the_purchase_on_every_analytics_page() {
    for page in PAGES.iter().filter(|p| **p != "bigcommerce") {
        let html = read(&format!("{page}.html"));
        let expected: serde_json::Value =
            serde_json::from_slice(&read(&format!("{page}.expected.json"))).unwrap();
        let order = extract::extract_from_chunks(html.chunks(7), &ExtractConfig::default());
        assert!(
            order.order_id.is_some(),
            "{page}: no order id with defaults"
        );
        assert_eq!(
            serde_json::to_value(&order.skus).unwrap(),
            expected["skus"],
            "{page}: defaults give other SKUs"
        );
    }
}

#[test]
fn handlers_only_observe_output_is_byte_identical() {
    for page in PAGES {
        let html = read(&format!("{page}.html"));
        let sniffer = OrderSniffer::new(&config_for(page));
        let settings = sniffer
            .handlers()
            .into_iter()
            .fold(lol_html::Settings::new(), |s, h| {
                s.append_element_content_handler(h)
            });
        let mut out = Vec::new();
        let mut rw = lol_html::HtmlRewriter::new(settings, |c: &[u8]| out.extend_from_slice(c));
        for c in html.chunks(5) {
            rw.write(c).unwrap();
        }
        rw.end().unwrap();
        assert!(out == html, "{page}: rewriter output differs from input");
    }
}

#[test]
fn order_is_known_mid_stream_when_the_payload_is_in_the_head() {
    let html = read("magento2.html");
    let cfg = config_for("magento2");
    let sniffer = OrderSniffer::new(&cfg);
    let settings = sniffer
        .handlers()
        .into_iter()
        .fold(lol_html::Settings::new(), |s, h| {
            s.append_element_content_handler(h)
        });
    let mut rw = lol_html::HtmlRewriter::new(settings, |_: &[u8]| {});
    let mut complete_at = None;
    let mut fed = 0;
    for c in html.chunks(256) {
        rw.write(c).unwrap();
        fed += c.len();
        if complete_at.is_none() && sniffer.is_complete() {
            complete_at = Some(fed);
        }
    }
    rw.end().unwrap();
    let at = complete_at.expect("never complete");
    assert!(
        at < html.len() / 3,
        "complete only after {at} of {} bytes",
        html.len()
    );
}

#[test]
fn brand_config_picks_which_order_id_and_sku_field_count() {
    // Shopify: the customer-facing order number instead of the internal id.
    let html = read("shopify.html");
    let cfg =
        ExtractConfig::from_json(r#"{"preset": "shopify", "order_id_from": ["markup"]}"#).unwrap();
    let o = extract::extract_from_html(&html, &cfg);
    assert_eq!(o.order_id.as_deref(), Some("1001"));
    assert_eq!(
        o.sources.order_id.as_deref(),
        Some("selector span.os-order-number")
    );
    // Shopify: the data-layer push has product ids in item_id, SKU in item_variant.
    let cfg = ExtractConfig::from_json(
        r#"{"preset": "shopify", "skus_from": ["ga4"], "sku_fields": ["item_variant", "item_id"]}"#,
    )
    .unwrap();
    let o = extract::extract_from_html(&html, &cfg);
    assert_eq!(o.skus, ["TS-ORG-BLK-M", "BN-WOOL-GRY"]);
    assert!(o.sources.skus.as_deref().unwrap().starts_with("ga4 "));
    // WooCommerce: item_id is the post id; a brand that wants it says so.
    let html = read("woocommerce.html");
    let cfg = ExtractConfig::from_json(r#"{"preset": "woocommerce", "sku_fields": ["item_id"]}"#)
        .unwrap();
    assert_eq!(extract::extract_from_html(&html, &cfg).skus, ["53", "71"]);
    // Magento: the entity id from the order link, through a markup rule.
    let html = read("magento2.html");
    let cfg = ExtractConfig::from_json(
        r#"{"preset": "magento2", "order_id_from": ["markup"],
            "order_id_selectors": [{"selector": ".checkout-success a.order-number", "attr": "href",
                                    "after": "/order_id/", "before": "/"}]}"#,
    )
    .unwrap();
    assert_eq!(
        extract::extract_from_html(&html, &cfg).order_id.as_deref(),
        Some("45")
    );
}

#[test]
fn markup_skus_when_the_brand_has_no_analytics() {
    let html = br#"<html><body><div class="receipt"><p>Order <b class="ono"> A&#45;77 </b></p>
        <ul><li class="line" data-sku="SKU-1">One</li><li class="line" data-sku="SKU&#45;2">Two</li>
        <li class="line" data-sku="SKU-1">One again</li></ul></div></body></html>"#;
    let cfg = ExtractConfig::from_json(
        r#"{"analytics": false,
            "order_id_selectors": [{"selector": ".receipt .ono"}],
            "sku_selectors": [{"selector": "li.line", "attr": "data-sku"}]}"#,
    )
    .unwrap();
    let o = extract::extract_from_chunks(html.chunks(3), &cfg);
    assert_eq!(o.order_id.as_deref(), Some("A-77"));
    assert_eq!(o.skus, ["SKU-1", "SKU-2"]);
    assert_eq!(o.items.len(), 3);
    assert_eq!(
        o.sources.skus.as_deref(),
        Some("selector li.line [data-sku]")
    );
}

#[test]
fn bigcommerce_needs_the_lookup_and_the_answer_completes_the_order() {
    let cfg = config_for("bigcommerce");
    let page = extract::extract_from_html(&read("bigcommerce.html"), &cfg);
    let lookup_cfg = cfg.lookup.as_ref().unwrap();
    assert!(lookup::needs_lookup(&page, Some(lookup_cfg)));
    assert_eq!(
        lookup_cfg
            .url_for(page.order_id.as_deref().unwrap())
            .unwrap(),
        "https://api.bigcommerce.com/stores/abc123xyz/v2/orders/118/products"
    );
    let api = lookup_cfg
        .parse_response(&read("bigcommerce.lookup.json"))
        .unwrap();
    assert_eq!(api.order_id.as_deref(), Some("118"));
    let merged = lookup::merge(&page, &api);
    assert!(merged.is_complete());
    assert_eq!(merged.skus, ["CC3C", "ABS"]);
    assert_eq!(merged.items[0].price, Some(49.5));
    assert!(merged
        .sources
        .skus
        .unwrap()
        .starts_with("lookup https://api.bigcommerce.com"));
}

#[test]
fn preset_markup_rules_find_the_visible_order_number() {
    let cases = [
        ("magento2", "000000123"),
        ("sfra", "00001234"),
        ("woocommerce", "1234"),
        ("prestashop", "XKBKNABJK"),
        ("shopify", "1001"),
        ("solidus", "R392817465"),
    ];
    for (page, id) in cases {
        let cfg = ExtractConfig {
            analytics: false,
            ..ExtractConfig::preset(page).unwrap()
        };
        let html = read(&format!("{page}.html"));
        let o = extract::extract_from_chunks(html.chunks(11), &cfg);
        assert_eq!(o.order_id.as_deref(), Some(id), "{page}");
        assert!(
            o.sources.order_id.unwrap().starts_with("selector "),
            "{page}"
        );
        assert!(
            o.skus.is_empty(),
            "{page}: SKUs without analytics or SKU rules"
        );
    }
}

#[test]
fn payload_scripts_really_arrive_in_several_text_chunks() {
    // The trap the chunked runs exercise: lol_html hands a script's text over
    // in pieces as bytes arrive, so a payload is split across text chunks.
    let html = read("magento2.html");
    let pieces = std::rc::Rc::new(std::cell::RefCell::new(Vec::<usize>::new()));
    let counter = pieces.clone();
    let mut current = 0usize;
    let handler = lol_html::ElementContentHandlers::default().text(
        move |t: &mut lol_html::html_content::TextChunk| {
            current += 1;
            if t.last_in_text_node() {
                counter.borrow_mut().push(current);
                current = 0;
            }
            Ok(())
        },
    );
    let selector: lol_html::Selector = "script[type=\"text/x-magento-init\"]".parse().unwrap();
    let settings = lol_html::Settings::new()
        .append_element_content_handler((std::borrow::Cow::Owned(selector), handler));
    let mut rw = lol_html::HtmlRewriter::new(settings, |_: &[u8]| {});
    for c in html.chunks(7) {
        rw.write(c).unwrap();
    }
    rw.end().unwrap();
    let pieces = pieces.borrow();
    // The first x-magento-init block is the GA4 purchase payload.
    assert!(pieces[0] > 100, "payload came in {} chunks", pieces[0]);
    let order = extract::extract_from_chunks(html.chunks(7), &config_for("magento2"));
    assert_eq!(order.order_id.as_deref(), Some("000000123"));
}
