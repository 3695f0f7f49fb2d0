//! Per-brand extraction settings ([`ExtractConfig`]) and the named presets
//! for the major commerce platforms.
//!
//! A brand config is JSON. It may name a preset (`"preset": "magento2"`);
//! the keys it sets replace the preset's. Unknown keys are errors, so a typo
//! is reported with its line and column instead of being silently ignored.

use serde::{Deserialize, Serialize};

use super::lookup::LookupConfig;

/// Names of the built-in platform presets, for `"preset": ...`.
pub const PRESETS: &[&str] = &[
    "magento2",
    "sfra",
    "woocommerce",
    "bigcommerce",
    "prestashop",
    "shopify",
    "solidus",
    "sylius",
];

/// How to read the order id or SKUs from visible markup.
///
/// Cost note: a selector whose first compound names a tag (`span.order-number`)
/// is about half as expensive for lol_html as a bare class or id
/// (`.order-number`), which makes it parse the attributes of every element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorRule {
    /// CSS selector (the subset lol_html supports).
    pub selector: String,
    /// Attribute to read; when absent the element's text is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attr: Option<String>,
    /// Keep only what follows the first occurrence of this marker
    /// (e.g. `"#"` for `Order #1001`, `"/order_id/"` in a URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Keep only what precedes the first occurrence of this marker (applied
    /// after `after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
}

impl SelectorRule {
    /// A rule reading the text of elements matching `selector`.
    pub fn text(selector: &str) -> Self {
        SelectorRule {
            selector: selector.to_string(),
            attr: None,
            after: None,
            before: None,
        }
    }

    /// A rule reading attribute `attr` of elements matching `selector`.
    pub fn attr(selector: &str, attr: &str) -> Self {
        SelectorRule {
            attr: Some(attr.to_string()),
            ..Self::text(selector)
        }
    }

    /// Same rule, keeping only what follows `marker`.
    pub fn after(mut self, marker: &str) -> Self {
        self.after = Some(marker.to_string());
        self
    }

    /// Applies `after`/`before`, trims and collapses whitespace; `None` when
    /// nothing is left or a marker is missing.
    pub fn clean(&self, raw: &str) -> Option<String> {
        let mut s = raw;
        if let Some(a) = self.after.as_deref().filter(|a| !a.is_empty()) {
            s = &s[s.find(a)? + a.len()..];
        }
        if let Some(b) = self.before.as_deref().filter(|b| !b.is_empty()) {
            s = &s[..s.find(b)?];
        }
        let out = s.split_whitespace().collect::<Vec<_>>().join(" ");
        (!out.is_empty() && out.len() <= 256).then_some(out)
    }
}

/// Extraction settings for one brand. Every field has a default, so `{}` is a
/// valid config that handles the common analytics formats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExtractConfig {
    /// Preset the config was built from (informational once resolved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Read analytics payloads from inline scripts.
    pub analytics: bool,
    /// Item fields tried in order for the SKU (some integrations put an
    /// internal product id in `item_id` and the SKU elsewhere).
    pub sku_fields: Vec<String>,
    /// Fields tried in order for the order id of a generic order object
    /// (e.g. `Shopify.checkout`); the GA/UA shapes use their own field.
    pub order_id_fields: Vec<String>,
    /// Which source wins when several give an order id: `"analytics"`,
    /// `"markup"`, or a payload kind such as `"shopify-checkout"`; the first
    /// entry with a candidate wins, else the first candidate in page order.
    pub order_id_from: Vec<String>,
    /// Which source wins for SKUs: `"analytics"` or `"markup"`.
    pub skus_from: Vec<String>,
    /// Visible-markup rules for the order id, tried in order.
    pub order_id_selectors: Vec<SelectorRule>,
    /// Visible-markup rules for SKUs (every match is a SKU).
    pub sku_selectors: Vec<SelectorRule>,
    /// Largest inline script (bytes) that is buffered and scanned.
    pub max_script_bytes: usize,
    /// Order lookup API, called when the page exposes no items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookup: Option<LookupConfig>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl Default for ExtractConfig {
    fn default() -> Self {
        ExtractConfig {
            preset: None,
            analytics: true,
            sku_fields: strings(&["sku", "item_sku", "item_id", "id", "productID"]),
            order_id_fields: strings(&[
                "transaction_id",
                "transactionId",
                "order_number",
                "orderNumber",
                "order_id",
                "orderId",
            ]),
            order_id_from: strings(&["analytics", "markup"]),
            skus_from: strings(&["analytics", "markup"]),
            order_id_selectors: Vec::new(),
            sku_selectors: Vec::new(),
            max_script_bytes: 512 * 1024,
            lookup: None,
        }
    }
}

/// A config that could not be read: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line in the config text (0 when not tied to a line).
    pub line: usize,
    /// 1-based column (0 when not tied to a position).
    pub column: usize,
    /// The field at fault, e.g. `sku_selectors[1].selector`, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (0, _) => {}
            (line, 0) => write!(f, "line {line}: ")?,
            (line, column) => write!(f, "line {line}, column {column}: ")?,
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ExtractConfig {
    /// The named platform preset, or `None` for an unknown name.
    pub fn preset(name: &str) -> Option<ExtractConfig> {
        let base = ExtractConfig {
            preset: Some(name.to_string()),
            ..ExtractConfig::default()
        };
        let cfg = match name {
            // Success page: "Your order number is: <a class=order-number
            // href=.../order_id/45/><strong>000000123</strong></a>" (logged
            // in) or "Your order # is: <span>000000123</span>" (guest). The
            // increment id (customer-facing) is what GA/GTM report; the entity
            // id in the link is internal.
            "magento2" => ExtractConfig {
                order_id_from: strings(&[
                    "magento-ga",
                    "ua-enhanced",
                    "ga4",
                    "markup",
                    "analytics",
                ]),
                order_id_selectors: vec![
                    SelectorRule::text("a.order-number strong"),
                    SelectorRule::text("div.checkout-success > p > span"),
                ],
                ..base
            },
            // SFRA checkout/confirmation: <span class="summary-details
            // order-number">; items come from the GTM data layer.
            "sfra" => ExtractConfig {
                order_id_selectors: vec![SelectorRule::text("span.order-number")],
                ..base
            },
            // Order-received page: <li class="woocommerce-order-overview__order
            // order">Order number: <strong>1234</strong></li>. GTM4WP and
            // similar put the post id in item_id and the SKU in `sku`.
            "woocommerce" => ExtractConfig {
                sku_fields: strings(&["sku", "item_sku", "id", "item_id"]),
                order_id_selectors: vec![SelectorRule::text(
                    "li.woocommerce-order-overview__order strong",
                )],
                ..base
            },
            // Optimized one-page checkout renders the confirmation client-side:
            // only the order id is in the HTML (checkout-js bootstrap); items
            // need the order lookup API.
            "bigcommerce" => ExtractConfig {
                order_id_from: strings(&["bigcommerce-checkout", "analytics", "markup"]),
                ..base
            },
            // order-confirmation.tpl shows the order *reference* (e.g.
            // XKBKNABJK) while ps_googleanalytics reports the numeric id_order;
            // the reference is what the customer sees and the API can filter on.
            "prestashop" => ExtractConfig {
                order_id_from: strings(&["markup", "analytics"]),
                order_id_selectors: vec![SelectorRule::text("li#order-reference-value").after(":")],
                sku_fields: strings(&["sku", "reference", "item_id", "id"]),
                ..base
            },
            // Legacy thank-you page: Shopify.checkout carries the internal
            // order_id (what the Admin API takes) and line_items[].sku; the
            // page shows the order name "#1001".
            "shopify" => ExtractConfig {
                order_id_from: strings(&["shopify-checkout", "analytics", "markup"]),
                order_id_fields: strings(&["order_id", "transaction_id", "orderId"]),
                // Products without a SKU are common; the variant id is the
                // stable fallback (never the line item `id`).
                sku_fields: strings(&["sku", "variant_id", "item_id"]),
                order_id_selectors: vec![SelectorRule::text("span.os-order-number").after("#")],
                ..base
            },
            // Order page after checkout: "Order R123456789"; analytics via
            // analytics.js ecommerce plugin (ecommerce:addItem carries `sku`).
            "solidus" => ExtractConfig {
                order_id_selectors: vec![
                    SelectorRule::text("fieldset#order_summary legend").after("Order")
                ],
                ..base
            },
            // Thank-you page; the GTM enhanced-ecommerce plugin pushes the
            // order number in ecommerce.purchase.actionField.id.
            "sylius" => ExtractConfig { ..base },
            _ => return None,
        };
        Some(cfg)
    }

    /// Reads a config from JSON text. A `"preset"` key starts from that
    /// preset; the other keys replace the preset's values.
    pub fn from_json(text: &str) -> Result<ExtractConfig, ConfigError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ConfigError {
            line: e.line(),
            column: e.column(),
            field: None,
            message: e.to_string(),
        })?;
        let serde_json::Value::Object(mut map) = value else {
            return Err(ConfigError {
                line: 1,
                column: 1,
                field: None,
                message: "config must be a JSON object".into(),
            });
        };
        let base = match map.get("preset") {
            None | Some(serde_json::Value::Null) => ExtractConfig::default(),
            Some(serde_json::Value::String(name)) => {
                ExtractConfig::preset(name).ok_or_else(|| ConfigError {
                    line: line_of_key(text, "preset"),
                    column: 0,
                    field: Some("preset".into()),
                    message: format!("unknown preset {name:?}; known: {}", PRESETS.join(", ")),
                })?
            }
            Some(_) => {
                return Err(ConfigError {
                    line: line_of_key(text, "preset"),
                    column: 0,
                    field: Some("preset".into()),
                    message: "preset must be a string".into(),
                })
            }
        };
        // Overlay the given keys on the preset.
        let mut merged = match serde_json::to_value(&base) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        for (k, v) in std::mem::take(&mut map) {
            merged.insert(k, v);
        }
        let cfg: ExtractConfig = serde_json::from_value(serde_json::Value::Object(merged))
            .map_err(|e| {
                let msg = e.to_string();
                let field = msg
                    .split('`')
                    .nth(1)
                    .filter(|_| msg.contains("field"))
                    .map(str::to_string);
                ConfigError {
                    line: field.as_deref().map_or(0, |f| line_of_key(text, f)),
                    column: 0,
                    field,
                    message: msg,
                }
            })?;
        cfg.validate().map_err(|mut e| {
            if let Some(f) = &e.field {
                e.line = line_of_key(text, f);
            }
            e
        })?;
        Ok(cfg)
    }

    /// Checks what serde cannot: selectors parse, lookup template is usable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: String, message: String| ConfigError {
            line: 0,
            column: 0,
            field: Some(field),
            message,
        };
        for (name, rules) in [
            ("order_id_selectors", &self.order_id_selectors),
            ("sku_selectors", &self.sku_selectors),
        ] {
            for (i, rule) in rules.iter().enumerate() {
                if let Err(e) = rule.selector.parse::<lol_html::Selector>() {
                    return Err(bad(
                        format!("{name}[{i}].selector"),
                        format!("invalid selector {:?}: {e}", rule.selector),
                    ));
                }
            }
        }
        for (name, list) in [
            ("order_id_from", &self.order_id_from),
            ("skus_from", &self.skus_from),
        ] {
            if list.is_empty() {
                return Err(bad(name.into(), "must name at least one source".into()));
            }
        }
        if self.sku_fields.is_empty() {
            return Err(bad(
                "sku_fields".into(),
                "must name at least one field".into(),
            ));
        }
        if let Some(lookup) = &self.lookup {
            lookup
                .validate()
                .map_err(|(f, m)| bad(format!("lookup.{f}"), m))?;
        }
        Ok(())
    }
}

/// 1-based line of a field in the config text, or 0: follows a path such as
/// `sku_selectors[1].selector` or `lookup.header` key by key (the n-th
/// occurrence of the key after an `[n]` index). Best effort, for messages.
fn line_of_key(text: &str, path: &str) -> usize {
    let mut pos = 0;
    let mut nth = 0;
    for seg in path.split('.') {
        let (key, index) = match seg.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (seg, None),
        };
        let needle = format!("\"{key}\"");
        for _ in 0..=nth {
            match text[pos..].find(&needle) {
                Some(p) => pos += p + needle.len(),
                None => return 0,
            }
        }
        nth = index.unwrap_or(0);
    }
    text[..pos].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid() {
        for name in PRESETS {
            let cfg = ExtractConfig::preset(name).unwrap();
            cfg.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            let json = format!("{{\"preset\": \"{name}\"}}");
            assert_eq!(ExtractConfig::from_json(&json).unwrap(), cfg);
        }
        assert!(ExtractConfig::preset("nope").is_none());
    }

    #[test]
    fn overlay_replaces_preset_keys() {
        let cfg = ExtractConfig::from_json(
            r#"{"preset": "magento2", "sku_fields": ["item_variant"], "order_id_from": ["markup"]}"#,
        )
        .unwrap();
        assert_eq!(cfg.sku_fields, ["item_variant"]);
        assert_eq!(cfg.order_id_from, ["markup"]);
        assert_eq!(cfg.order_id_selectors.len(), 2);
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = ExtractConfig::from_json("{\n  \"preset\": \"magento2\",\n  \"sku_feilds\": []\n}")
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sku_feilds"));
        assert_eq!(e.line, 3);
        let e = ExtractConfig::from_json(
            "{\n\"sku_selectors\": [\n {\"selector\": \"div\"},\n {\"selector\": \"div[\"}\n]}",
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sku_selectors[1].selector"));
        assert_eq!(e.line, 4);
        let e = ExtractConfig::from_json(
            "{\"lookup\": {\n \"url\": \"https://x/{order_id}\",\n \"header\": \"a b\", \"secret\": \"S\"}}",
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("lookup.header"));
        assert_eq!(e.line, 3);
        let e = ExtractConfig::from_json("{\"preset\": \"magento3\"}").unwrap_err();
        assert!(e.message.contains("unknown preset"), "{e}");
        let e = ExtractConfig::from_json("{\n  \"analytics\": @\n}").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn selector_rule_cleaning() {
        let r = SelectorRule::text(".x").after("#");
        assert_eq!(r.clean("  Order\n #1001 ").as_deref(), Some("1001"));
        assert_eq!(r.clean("no marker"), None);
        let r = SelectorRule {
            before: Some("/".into()),
            ..SelectorRule::attr("a", "href").after("/order_id/")
        };
        assert_eq!(
            r.clean("https://x/sales/order/view/order_id/45/")
                .as_deref(),
            Some("45")
        );
    }
}
