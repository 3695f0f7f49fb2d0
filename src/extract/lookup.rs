//! Per-brand order lookup API, used when the page exposes an order id but no
//! items (client-rendered confirmation pages, no analytics).
//!
//! This module builds the request URL from the brand's template and maps the
//! JSON response into an [`ExtractedOrder`]; the HTTP call itself (with the
//! secret header and the time budget) belongs to the worker glue.

use serde::{Deserialize, Serialize};

use super::jsvalue::JsValue;
use super::{ExtractedOrder, Item};

/// Where the order lookup API lives and how to read its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupConfig {
    /// URL template; `{order_id}` is replaced by the URL-encoded order id,
    /// e.g. `https://api.shop.example/orders/{order_id}`.
    pub url: String,
    /// Name of the request header that carries the secret (e.g. `X-Auth-Token`).
    pub header: String,
    /// Name of the worker secret whose value goes in that header.
    pub secret: String,
    /// Time budget for the call in milliseconds.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u32,
    /// Where the fields are in the JSON response.
    #[serde(default)]
    pub response: ResponseMap,
}

fn default_timeout() -> u32 {
    300
}

/// Dotted paths into the lookup response (`data.order.items`; numeric
/// segments index arrays). Item paths are relative to each item. An empty
/// `items` path means the response itself is the item array; an empty path
/// for a scalar field means the response does not carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseMap {
    /// Path of the order id.
    pub order_id: String,
    /// Path of the item array.
    pub items: String,
    /// Path of the SKU within an item.
    pub sku: String,
    /// Path of the quantity within an item.
    pub quantity: String,
    /// Path of the unit price within an item.
    pub price: String,
    /// Path of the currency code.
    pub currency: String,
    /// Path of the order total.
    pub total: String,
}

impl Default for ResponseMap {
    fn default() -> Self {
        ResponseMap {
            order_id: "id".into(),
            items: "items".into(),
            sku: "sku".into(),
            quantity: "quantity".into(),
            price: "price".into(),
            currency: "currency".into(),
            total: "total".into(),
        }
    }
}

/// A lookup that cannot be built or whose answer cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupError {
    /// The config field or response path at fault, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for LookupError {}

impl LookupConfig {
    /// Checks the template and header; errors name the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(self.url.starts_with("https://") || self.url.starts_with("http://")) {
            return Err(("url".into(), "must start with https:// or http://".into()));
        }
        if !self.url.contains("{order_id}") {
            return Err(("url".into(), "must contain {order_id}".into()));
        }
        let token_ok = !self.header.is_empty()
            && self
                .header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token_ok {
            return Err((
                "header".into(),
                format!("{:?} is not a header name", self.header),
            ));
        }
        if self.secret.is_empty() {
            return Err(("secret".into(), "must name a worker secret".into()));
        }
        if self.response.sku.is_empty() {
            return Err(("response.sku".into(), "the SKU path must be set".into()));
        }
        Ok(())
    }

    /// The request URL for `order_id` (percent-encoded into the template).
    pub fn url_for(&self, order_id: &str) -> Result<String, LookupError> {
        self.validate().map_err(|(f, m)| LookupError {
            field: Some(f),
            message: m,
        })?;
        if order_id.trim().is_empty() {
            return Err(LookupError {
                field: Some("order_id".into()),
                message: "empty order id".into(),
            });
        }
        Ok(self.url.replace("{order_id}", &percent_encode(order_id)))
    }

    /// Reads a lookup response body into an order (sources name the API).
    pub fn parse_response(&self, body: &[u8]) -> Result<ExtractedOrder, LookupError> {
        let json: serde_json::Value = serde_json::from_slice(body).map_err(|e| LookupError {
            field: None,
            message: format!(
                "response is not JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        })?;
        let root = JsValue::from(&json);
        let r = &self.response;
        let scalar = |path: &str| {
            if path.is_empty() {
                None
            } else {
                get_path(&root, path)
            }
        };
        let items_v = get_path(&root, &r.items)
            .and_then(JsValue::as_array)
            .ok_or_else(|| LookupError {
                field: Some(format!("response.items ({})", r.items)),
                message: "no array at this path".into(),
            })?;
        let mut items = Vec::new();
        for it in items_v {
            let Some(sku) = get_path(it, &r.sku).and_then(JsValue::as_id) else {
                continue;
            };
            items.push(Item {
                sku,
                quantity: get_path(it, &r.quantity).and_then(JsValue::as_f64),
                price: get_path(it, &r.price).and_then(JsValue::as_f64),
            });
        }
        let source = format!("lookup {}", self.url);
        let mut order = ExtractedOrder {
            order_id: scalar(&r.order_id).and_then(JsValue::as_id),
            ..ExtractedOrder::default()
        };
        if order.order_id.is_some() {
            order.sources.order_id = Some(source.clone());
        }
        order.set_items(items, &source);
        order.currency = scalar(&r.currency)
            .and_then(JsValue::as_id)
            .filter(|c| c.len() <= 8);
        if order.currency.is_some() {
            order.sources.currency = Some(source.clone());
        }
        order.total = scalar(&r.total).and_then(JsValue::as_f64);
        if order.total.is_some() {
            order.sources.total = Some(source);
        }
        Ok(order)
    }
}

/// Whether the worker should call the lookup API for what the page gave:
/// an order id is known, no SKUs were found, and a lookup is configured.
pub fn needs_lookup(order: &ExtractedOrder, lookup: Option<&LookupConfig>) -> bool {
    lookup.is_some() && order.order_id.is_some() && order.skus.is_empty()
}

/// Fills what the page lacked from the lookup answer; the page's order id
/// stays authoritative.
pub fn merge(page: &ExtractedOrder, api: &ExtractedOrder) -> ExtractedOrder {
    let mut out = page.clone();
    if out.order_id.is_none() {
        out.order_id = api.order_id.clone();
        out.sources.order_id = api.sources.order_id.clone();
    }
    if out.skus.is_empty() {
        out.skus = api.skus.clone();
        out.items = api.items.clone();
        out.sources.skus = api.sources.skus.clone();
    }
    if out.currency.is_none() {
        out.currency = api.currency.clone();
        out.sources.currency = api.sources.currency.clone();
    }
    if out.total.is_none() {
        out.total = api.total;
        out.sources.total = api.sources.total.clone();
    }
    out
}

/// Follows a dotted path; numeric segments index arrays; `""` is the value.
pub fn get_path<'v>(v: &'v JsValue, path: &str) -> Option<&'v JsValue> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .try_fold(v, |v, seg| match v {
            JsValue::Array(a) => a.get(seg.parse::<usize>().ok()?),
            _ => v.get(seg),
        })
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl From<&serde_json::Value> for JsValue {
    fn from(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => JsValue::Null,
            serde_json::Value::Bool(b) => JsValue::Bool(*b),
            serde_json::Value::Number(n) => n.as_f64().map_or(JsValue::Other, JsValue::Num),
            serde_json::Value::String(s) => JsValue::Str(s.clone()),
            serde_json::Value::Array(a) => JsValue::Array(a.iter().map(JsValue::from).collect()),
            serde_json::Value::Object(m) => JsValue::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), JsValue::from(v)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LookupConfig {
        LookupConfig {
            url: "https://api.shop.example/v3/orders/{order_id}?include=items".into(),
            header: "X-Auth-Token".into(),
            secret: "ORDER_API_TOKEN".into(),
            timeout_ms: 250,
            response: ResponseMap {
                order_id: "data.id".into(),
                items: "data.products".into(),
                sku: "sku".into(),
                quantity: "qty".into(),
                price: "price_inc_tax".into(),
                currency: "data.currency_code".into(),
                total: "data.total_inc_tax".into(),
            },
        }
    }

    #[test]
    fn url_encodes_the_order_id() {
        assert_eq!(
            cfg().url_for("#10 01/é").unwrap(),
            "https://api.shop.example/v3/orders/%2310%2001%2F%C3%A9?include=items"
        );
        assert!(cfg().url_for("  ").is_err());
        let bad = LookupConfig {
            url: "ftp://x/{id}".into(),
            ..cfg()
        };
        assert_eq!(bad.url_for("1").unwrap_err().field.as_deref(), Some("url"));
    }

    #[test]
    fn parses_a_response_into_an_order() {
        let body = br#"{"data": {"id": 118, "currency_code": "EUR", "total_inc_tax": "1,331.99",
            "products": [{"sku": "SKU-1", "qty": 2, "price_inc_tax": "12.50"},
                         {"sku": "SKU-2", "qty": "1"}, {"sku": "SKU-1", "qty": 1}, {"name": "no sku"}]}}"#;
        let o = cfg().parse_response(body).unwrap();
        assert_eq!(o.order_id.as_deref(), Some("118"));
        assert_eq!(o.skus, ["SKU-1", "SKU-2"]);
        assert_eq!(o.items.len(), 3);
        assert_eq!(o.items[0].price, Some(12.5));
        assert_eq!(o.currency.as_deref(), Some("EUR"));
        assert_eq!(o.total, Some(1331.99));
        let e = cfg().parse_response(b"{\"data\": {}}").unwrap_err();
        assert!(e.to_string().contains("data.products"), "{e}");
        assert!(cfg().parse_response(b"<html>").is_err());
    }

    #[test]
    fn merge_keeps_page_order_id() {
        let page = ExtractedOrder {
            order_id: Some("100".into()),
            ..ExtractedOrder::default()
        };
        assert!(needs_lookup(&page, Some(&cfg())));
        assert!(!needs_lookup(&page, None));
        let api = cfg()
            .parse_response(br#"{"data": {"id": 999, "products": [{"sku": "A"}]}}"#)
            .unwrap();
        let m = merge(&page, &api);
        assert_eq!(m.order_id.as_deref(), Some("100"));
        assert_eq!(m.skus, ["A"]);
        assert!(!needs_lookup(&m, Some(&cfg())));
    }
}
