//! The synchronous work of serving one confirmation page, shared by the worker
//! glue and the wasm benchmark (`scripts/bench-wasm`), so that what is measured
//! is exactly what runs: the page's rewriter (injector plus order sniffer), the
//! offer views and the rendered block. KV reads, clocks and randomness stay in
//! the glue.
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use crate::config::{CompiledConfig, Settings};
use crate::extract::{lookup::needs_lookup, ExtractConfig, ExtractedOrder, OrderSniffer};
use crate::inject::{Anchor, Handler, Injector, DEFAULT_HOLD_LIMIT};
use crate::rank::Offer;
use crate::render::csp::{Inline, InlinePolicy};
use crate::render::{render_block, url_encode, BlockContext, BlockStyle, OfferView};
use crate::table::CatalogEntry;

/// A compiled configuration with what each page would otherwise re-derive
/// (the brands' extraction settings) prepared once per configuration version.
#[derive(Debug)]
pub struct PreparedConfig {
    /// The configuration as published.
    pub config: CompiledConfig,
    extract: BTreeMap<(String, String), Rc<ExtractConfig>>,
}

impl PreparedConfig {
    /// Prepares every brand × region. An `extract` section the extractor cannot
    /// read (the publisher validates it, so only a hand-edited KV value) falls
    /// back to the built-in defaults, which handle the common analytics formats.
    pub fn new(config: CompiledConfig) -> Self {
        let mut extract = BTreeMap::new();
        for (brand, b) in &config.brands {
            for (region, s) in &b.by_region {
                let cfg = ExtractConfig::from_json(&s.extract.to_string()).unwrap_or_default();
                extract.insert((brand.clone(), region.clone()), Rc::new(cfg));
            }
        }
        PreparedConfig { config, extract }
    }

    /// Settings for `brand` in `region` (as [`CompiledConfig::settings`]).
    pub fn settings(&self, brand: &str, region: &str) -> Option<&Settings> {
        self.config.settings(brand, region)
    }

    /// The extraction settings of `brand` in `region` (defaults when unknown).
    pub fn extract(&self, brand: &str, region: &str) -> Rc<ExtractConfig> {
        self.extract
            .get(&(brand.to_string(), region.to_string()))
            .cloned()
            .unwrap_or_default()
    }
}

/// The bytes of one confirmation page on their way through, without I/O: the
/// caller feeds the origin's chunks, sends what comes back, and makes the one
/// decision (block or none) when asked. Every byte the origin sent comes out
/// exactly once, in order, with the block (if any) at the brand's anchor.
pub struct PageFlow {
    injector: Injector,
    sniffer: OrderSniffer,
    lookup: Option<crate::extract::LookupConfig>,
    decided: bool,
}

impl PageFlow {
    /// The flow of one page: the order sniffer's observers, then `extra`
    /// observers, feeding an injector anchored where the brand places offers.
    pub fn new(settings: &Settings, extract: &ExtractConfig, extra: Vec<Handler>) -> Self {
        let sniffer = OrderSniffer::new(extract);
        let mut handlers = sniffer.handlers();
        handlers.extend(extra);
        let anchor = Anchor {
            selector: settings.placement.selector.clone(),
            position: settings.placement.position,
        };
        PageFlow {
            injector: Injector::new(&anchor, handlers, DEFAULT_HOLD_LIMIT),
            sniffer,
            lookup: extract.lookup.clone(),
            decided: false,
        }
    }

    /// Feeds the next chunk of the origin's body; returns the bytes to send now.
    pub fn write(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.injector.write(chunk)
    }

    /// True when the decision is due: none made yet and the page has named the
    /// order and its items. At the end of the body (`at_end`), also when it
    /// named only the order and the brand has an order lookup API (only then is
    /// it certain that no items will follow).
    pub fn wants_decision(&self, at_end: bool) -> bool {
        if self.decided || !self.injector.awaiting_decision() {
            return false;
        }
        let order = self.sniffer.current();
        order.is_complete() || (at_end && needs_lookup(&order, self.lookup.as_ref()))
    }

    /// The order as found so far.
    pub fn order(&self) -> ExtractedOrder {
        self.sniffer.current()
    }

    /// Makes the page's one decision (`None`: no offers); returns the bytes now
    /// sendable. Later decisions are ignored.
    pub fn decide(&mut self, block: Option<Vec<u8>>) -> Vec<u8> {
        let block = if self.decided { None } else { block };
        self.decided = true;
        // The order is known: the page's remaining bytes only need the anchor found.
        self.injector.observers_done();
        self.injector.decide(block)
    }

    /// How many of the origin's bytes have been sent so far (the block not counted).
    pub fn origin_sent(&self) -> usize {
        self.injector.forwarded()
    }

    /// Ends the page: every byte not yet sent, and why injection was abandoned, if it was.
    pub fn finish(self) -> (Vec<u8>, Option<String>) {
        self.injector.end()
    }
}

/// What each chosen offer shows: catalog title and image when the catalog has
/// them, and the signed "Add to order" link.
pub fn offer_views(
    chosen: &[Offer],
    catalog: &HashMap<String, CatalogEntry>,
    token: &str,
) -> Vec<OfferView> {
    chosen
        .iter()
        .map(|o| {
            let entry = catalog.get(&o.sku);
            OfferView {
                sku: o.sku.clone(),
                title: entry.map_or_else(|| o.sku.clone(), |e| e.title.clone()),
                price: f64::from(o.price),
                image: entry.map(|e| e.image.clone()).filter(|s| !s.is_empty()),
                accept_href: format!(
                    "/__upsell/accept?sku={}&t={}",
                    url_encode(&o.sku),
                    url_encode(token)
                ),
            }
        })
        .collect()
}

/// The offer block's markup for `views`, styled per the brand; `None` when
/// there is nothing to show. Beacon scripts only where the page's CSP allows
/// them and the brand has beacons on.
pub fn offer_block(
    settings: &Settings,
    views: &[OfferView],
    token: &str,
    currency: &str,
    inline: &InlinePolicy,
) -> Option<String> {
    let style = BlockStyle {
        heading: settings.style.heading.clone(),
        accent: settings.style.accent.clone(),
        font: Some(settings.style.font.clone()),
        ..BlockStyle::default()
    };
    let inline = if settings.features.beacons {
        inline.clone()
    } else {
        InlinePolicy {
            script: Inline::Blocked,
            style: inline.style.clone(),
        }
    };
    let cx = BlockContext {
        token,
        currency,
        style: &style,
        inline: &inline,
        beacon_path: "/__upsell/events",
    };
    render_block(views, &cx)
}

/// Records `<meta http-equiv="Content-Security-Policy">` contents as they stream past.
pub fn meta_csp_observer(seen: Rc<std::cell::RefCell<Vec<String>>>) -> Handler {
    let handler = move |el: &mut lol_html::html_content::Element| {
        let is_csp = el
            .get_attribute("http-equiv")
            .is_some_and(|v| v.eq_ignore_ascii_case("content-security-policy"));
        if is_csp {
            if let Some(c) = el.get_attribute("content") {
                seen.borrow_mut().push(c);
            }
        }
        Ok(())
    };
    let selector: lol_html::Selector = "meta[http-equiv]".parse().expect("static selector parses");
    (
        std::borrow::Cow::Owned(selector),
        lol_html::ElementContentHandlers::default().element(handler),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CompiledBrand, Regions, CONFIG_FORMAT};

    fn config(extract: serde_json::Value) -> CompiledConfig {
        let settings = Settings {
            extract,
            ..Settings::default()
        };
        let mut by_region = BTreeMap::new();
        by_region.insert("uk".to_string(), settings);
        let mut brands = BTreeMap::new();
        brands.insert(
            "gifts".to_string(),
            CompiledBrand {
                hosts: vec!["gifts.example".into()],
                regions: Regions {
                    default: "uk".into(),
                    ..Regions::default()
                },
                by_region,
            },
        );
        CompiledConfig {
            format: CONFIG_FORMAT,
            version: "v".into(),
            published_at: String::new(),
            brands,
        }
    }

    #[test]
    fn extraction_settings_are_prepared_per_brand_and_region() {
        let p = PreparedConfig::new(config(serde_json::json!({"sku_fields": ["sku"]})));
        assert_eq!(p.extract("gifts", "uk").sku_fields, vec!["sku".to_string()]);
        // Unknown brand or region: the defaults.
        assert_eq!(*p.extract("nope", "uk"), ExtractConfig::default());
    }

    #[test]
    fn unreadable_extraction_settings_fall_back_to_defaults() {
        let p = PreparedConfig::new(config(serde_json::json!({"preset": 7})));
        assert_eq!(*p.extract("gifts", "uk"), ExtractConfig::default());
    }

    #[test]
    fn views_use_catalog_facts_and_sign_the_link() {
        let offer = Offer {
            sku: "A&B".into(),
            score: 1.0,
            fallback: false,
            price: 2.5,
            together: 3,
            lift: 1.5,
        };
        let mut catalog = HashMap::new();
        catalog.insert(
            "A&B".to_string(),
            CatalogEntry {
                sku: "A&B".into(),
                title: "Mug".into(),
                url: "/p/ab".into(),
                image: String::new(),
            },
        );
        let v = offer_views(&[offer], &catalog, "t.k");
        assert_eq!(v[0].title, "Mug");
        assert_eq!(v[0].image, None);
        assert_eq!(v[0].accept_href, "/__upsell/accept?sku=A%26B&t=t.k");
    }

    #[test]
    fn beacons_off_means_no_script_even_with_a_nonce() {
        let mut settings = Settings::default();
        settings.features.beacons = false;
        let view = OfferView {
            sku: "1".into(),
            title: "One".into(),
            price: 1.0,
            image: None,
            accept_href: "/a".into(),
        };
        let inline = InlinePolicy::from_policies(["script-src 'nonce-abc'"]);
        let html =
            offer_block(&settings, std::slice::from_ref(&view), "t", "GBP", &inline).unwrap();
        assert!(!html.contains("<script"));
        settings.features.beacons = true;
        let html = offer_block(&settings, &[view], "t", "GBP", &inline).unwrap();
        assert!(html.contains("<script nonce=\"abc\""));
    }
}
