//! Extract: find the order (id, SKUs, currency, total) on an order
//! confirmation page while its HTML streams through lol_html, without
//! building a DOM.
//!
//! Data path: [`sniffer`] registers observe-only handlers → inline scripts go
//! through [`script`] (find calls/assignments/JSON) → [`jsvalue`] (tolerant
//! literal parser) → [`analytics`] (purchase payload recognisers); configured
//! selectors go through [`markup`]. [`config`] holds the per-brand settings
//! and platform presets; [`lookup`] maps the optional order API.
//!
//! Entry points: [`OrderSniffer`] for streaming, [`extract_from_html`] and
//! [`extract_from_chunks`] for whole pages.

use serde::{Deserialize, Serialize};

pub mod analytics;
pub mod config;
pub mod jsvalue;
pub mod lookup;
pub mod markup;
pub mod pixels;
pub mod script;
pub mod sniffer;

pub use config::{ConfigError, ExtractConfig, SelectorRule, PRESETS};
pub use lookup::{LookupConfig, LookupError};
pub use sniffer::OrderSniffer;

/// One purchased line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The SKU (per the brand's `sku_fields` preference).
    pub sku: String,
    /// Quantity, when the source gives one.
    pub quantity: Option<f64>,
    /// Unit price, when the source gives one.
    pub price: Option<f64>,
}

/// A value seen on the page and where it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The value.
    pub value: String,
    /// Where it came from, e.g. `selector .order-number`.
    pub source: String,
}

/// Provenance of each field of an [`ExtractedOrder`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sources {
    /// Source of the order id, e.g. `ga4 dataLayer.push() in <script> #3`.
    pub order_id: Option<String>,
    /// Source of the SKUs and items.
    pub skus: Option<String>,
    /// Source of the currency.
    pub currency: Option<String>,
    /// Source of the total.
    pub total: Option<String>,
    /// Other order ids the page showed (e.g. an internal entity id), not chosen.
    pub other_order_ids: Vec<Candidate>,
}

/// What was found, with provenance per field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtractedOrder {
    /// The order id per the brand's preference.
    pub order_id: Option<String>,
    /// Distinct SKUs in page order.
    pub skus: Vec<String>,
    /// Purchased lines (SKU, quantity, price) as the source listed them.
    pub items: Vec<Item>,
    /// Currency code.
    pub currency: Option<String>,
    /// Order total.
    pub total: Option<f64>,
    /// Where each field came from.
    pub sources: Sources,
}

impl ExtractedOrder {
    /// Sets the items and derives the distinct SKUs (page order).
    pub fn set_items(&mut self, items: Vec<Item>, source: &str) {
        self.skus.clear();
        for it in &items {
            if !self.skus.contains(&it.sku) {
                self.skus.push(it.sku.clone());
            }
        }
        self.sources.skus = (!items.is_empty()).then(|| source.to_string());
        self.items = items;
    }

    /// True once an order id and at least one SKU are known.
    pub fn is_complete(&self) -> bool {
        self.order_id.is_some() && !self.skus.is_empty()
    }
}

/// Runs lol_html over the page fed as `chunks` (output discarded) and returns
/// what was found. Never panics; a rewriter error ends the scan early.
pub fn extract_from_chunks<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
    cfg: &ExtractConfig,
) -> ExtractedOrder {
    let sniffer = OrderSniffer::new(cfg);
    let settings = sniffer
        .handlers()
        .into_iter()
        .fold(lol_html::Settings::new(), |s, h| {
            s.append_element_content_handler(h)
        });
    let mut rewriter = lol_html::HtmlRewriter::new(settings, |_: &[u8]| {});
    let mut ok = true;
    for chunk in chunks {
        if rewriter.write(chunk).is_err() {
            ok = false;
            break;
        }
    }
    if ok {
        let _ = rewriter.end();
    }
    sniffer.current()
}

/// One-shot convenience: runs lol_html over the whole page and returns the result.
pub fn extract_from_html(html: &[u8], cfg: &ExtractConfig) -> ExtractedOrder {
    extract_from_chunks([html], cfg)
}

/// The report `model-builder page` prints and the page tests compare: the
/// order plus whether it is complete and whether the lookup API would run.
pub fn report(order: &ExtractedOrder, cfg: &ExtractConfig) -> serde_json::Value {
    let mut v = serde_json::to_value(order).unwrap_or_default();
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("complete".into(), order.is_complete().into());
        let needs = lookup::needs_lookup(order, cfg.lookup.as_ref());
        m.insert("needs_lookup".into(), needs.into());
        if needs {
            let url = cfg
                .lookup
                .as_ref()
                .zip(order.order_id.as_deref())
                .and_then(|(l, id)| l.url_for(id).ok());
            m.insert("lookup_url".into(), url.into());
        }
    }
    v
}
