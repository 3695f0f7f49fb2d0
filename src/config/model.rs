//! The typed settings one brand × region runs with, after layering.
//!
//! Every struct is plain serde with `#[serde(default, deny_unknown_fields)]`, so
//! the same types serve three jobs: a partial layer as people write it (any
//! subset of keys), the fully resolved settings, and the compiled JSON the
//! worker reads. Field names are the dotted keys people write in TOML
//! (`offers.count`, `cart.url_template`, ...).
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// All settings for one brand in one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Hostnames that serve this brand (brand files only); `*.example.com` matches subdomains.
    pub hosts: Vec<String>,
    /// Country → region map and the default region (platform and brand files only).
    pub regions: Regions,
    /// Which paths are order-confirmation pages.
    pub confirmation: Confirmation,
    /// Order-extraction settings. Opaque here until `upsell_edge::extract::ExtractConfig`
    /// lands (serde, `#[serde(default)]`, with a `preset` name); the lead swaps the type in.
    pub extract: serde_json::Value,
    /// Add-to-cart link for an offer.
    pub cart: Cart,
    /// Ranking rules: how many offers, price band, pins, blocks, objective.
    pub offers: Offers,
    /// Category curation lists: category → SKUs, best first (the `curated` arm).
    pub curation: BTreeMap<String, Vec<String>>,
    /// Experiments running for this brand (and region).
    pub experiments: Vec<Experiment>,
    /// Time budget for a decision on one page.
    pub budget: Budget,
    /// Feature switches; `features.offers = false` is the kill switch.
    pub features: Features,
    /// Styling tokens of the injected block.
    pub style: Style,
    /// Where on the confirmation page the offer block goes.
    pub placement: Placement,
    /// Privacy signals the brand honours besides `Sec-GPC`.
    pub privacy: Privacy,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            hosts: Vec::new(),
            regions: Regions::default(),
            confirmation: Confirmation::default(),
            extract: serde_json::Value::Object(serde_json::Map::new()),
            cart: Cart::default(),
            offers: Offers::default(),
            curation: BTreeMap::new(),
            experiments: Vec::new(),
            budget: Budget::default(),
            features: Features::default(),
            style: Style::default(),
            placement: Placement::default(),
            privacy: Privacy::default(),
        }
    }
}

/// Country → region routing for a brand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Regions {
    /// Region for countries not in `countries` (and for requests with no country).
    pub default: String,
    /// ISO 3166-1 alpha-2 country code (upper case) → region id.
    pub countries: BTreeMap<String, String>,
}

impl Default for Regions {
    fn default() -> Self {
        Regions {
            default: "row".to_string(),
            countries: BTreeMap::new(),
        }
    }
}

/// Confirmation-page recognition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Confirmation {
    /// Path patterns: `*` is one non-empty segment, a trailing `**` any rest; a
    /// trailing `/` is optional when matching. Only GET requests are considered.
    pub paths: Vec<String>,
}

impl Default for Confirmation {
    fn default() -> Self {
        Confirmation {
            paths: [
                "/checkout/onepage/success/",
                "/checkout/order-received/*/",
                "/order-confirmation",
                "/checkout/thank_you",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// Add-to-cart link settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cart {
    /// URL template; placeholders `{sku}` (required), `{qty}`, `{brand}`, `{region}`, `{token}`.
    /// Either a path starting with `/` or an absolute `http(s)://` URL.
    pub url_template: String,
}

impl Default for Cart {
    fn default() -> Self {
        Cart {
            url_template: "/cart/add?sku={sku}&qty={qty}".to_string(),
        }
    }
}

/// What the ranking optimises: the ranking's own type, so config and ranking cannot drift.
pub use crate::rank::Objective;

/// Ranking rules, kept plain; the lead maps them onto `upsell_edge::rank::RankPolicy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Offers {
    /// Number of offers shown.
    pub count: u32,
    /// Lowest price offered (inclusive), if any.
    pub price_min: Option<f64>,
    /// Highest price offered (inclusive), if any.
    pub price_max: Option<f64>,
    /// SKUs always offered first, in order (when in stock).
    pub pins: Vec<String>,
    /// SKUs never offered.
    pub blocks: Vec<String>,
    /// What the ranking optimises.
    pub objective: Objective,
}

impl Default for Offers {
    fn default() -> Self {
        Offers {
            count: 3,
            price_min: None,
            price_max: None,
            pins: Vec::new(),
            blocks: Vec::new(),
            objective: Objective::Likelihood,
        }
    }
}

/// Arms an experiment may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArmName {
    /// Offers from the learned neighbour tables.
    Ai,
    /// Offers from the category curation lists.
    Curated,
    /// No offers (the control).
    Holdout,
}

/// One arm of an experiment with its share of traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arm {
    /// Which arm.
    pub name: ArmName,
    /// Share of orders, 0..=1; the arms' weights sum to 1.
    pub weight: f64,
}

/// Pre-registered decision thresholds of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Smallest relative lift of `ai` over `curated` that counts as a win.
    pub min_lift_ai_over_curated: f64,
    /// Smallest attach rate (upsell orders / shown orders) worth keeping.
    pub min_attach_rate: f64,
    /// Smallest upsell revenue per 1000 orders worth keeping.
    pub min_revenue_per_1000_orders: f64,
    /// Significance level of the test.
    pub alpha: f64,
    /// Orders per arm before any decision.
    pub min_sample: u64,
}

/// An experiment: immutable once `start` has passed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Stable identifier (also used in reports).
    pub id: String,
    /// Salt for hashing order ids to arms.
    pub salt: String,
    /// Start time, RFC 3339.
    pub start: String,
    /// Arms and their weights.
    pub arms: Vec<Arm>,
    /// Decision thresholds; required once the experiment has started.
    #[serde(default)]
    pub thresholds: Option<Thresholds>,
}

/// Time budget for one page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Budget {
    /// Milliseconds the worker may spend deciding before it passes the page through untouched.
    pub time_ms: u32,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { time_ms: 20 }
    }
}

/// Feature switches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Features {
    /// Offers on/off: the kill switch (per brand or brand × region).
    pub offers: bool,
    /// Impression/click beacons on/off.
    pub beacons: bool,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            offers: true,
            beacons: true,
        }
    }
}

/// Styling tokens of the injected offers block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Style {
    /// Accent colour, CSS hex (`#rgb` or `#rrggbb`).
    pub accent: String,
    /// CSS font-family list.
    pub font: String,
    /// Heading above the offers.
    pub heading: String,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            accent: "#333333".to_string(),
            font: "system-ui, sans-serif".to_string(),
            heading: "You might also like".to_string(),
        }
    }
}

/// Where the offer block is inserted: a CSS selector and a position relative to
/// it; no selector means just before `</body>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Placement {
    /// CSS selector of the anchor element (first match); empty: before `</body>`.
    pub selector: Option<String>,
    /// `before`, `after` (default), `prepend` or `append`, relative to the anchor.
    pub position: crate::inject::Position,
}

/// Privacy settings of a brand.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Privacy {
    /// The consent cookie and the values that mean "no": then only what attribution
    /// strictly needs is stored (no client hash).
    pub consent_cookie: Option<crate::events::ConsentCookie>,
}
