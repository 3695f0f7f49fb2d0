//! Purchase events of the advertising and CRM tags that confirmation pages
//! carry besides (or instead of) web analytics: the Meta pixel
//! (`fbq('track','Purchase',…)`), TikTok (`ttq.track('CompletePayment',…)`),
//! Pinterest (`pintrk('track','checkout',…)`), Klaviyo (`Placed Order`),
//! Criteo (`trackTransaction`), and the WooCommerce GA4 integration's data
//! object (`window.ga4w = {data: {order: …}}`, which its script turns into the
//! GA4 purchase at run time, so the page holds no literal `purchase` call).
//!
//! The tags' item ids are the ids of the merchant's product feed for that
//! network, usually but not always the SKU; so the sniffer ranks these
//! payloads after the analytics ones ([`is_pixel`]): they name the order's
//! items only when no analytics payload does.

use std::borrow::Cow;

use super::analytics::{as_currency, as_order_id, sku_of, Payload};
use super::config::ExtractConfig;
use super::jsvalue::JsValue;
use super::Item;

/// Payload kinds of the advertising and CRM tags (ranked after analytics).
const PIXEL_KINDS: &[&str] = &[
    "meta-pixel",
    "tiktok-pixel",
    "pinterest-tag",
    "klaviyo",
    "criteo",
];

/// Words a script must contain for these recognisers to see it parsed
/// (added to the sniffer's trigger words).
pub const TRIGGERS: &[&str] = &[
    "Purchase",
    "CompletePayment",
    "PlaceAnOrder",
    "Placed Order",
    "trackTransaction",
];

/// True for a payload of an advertising or CRM tag.
pub fn is_pixel(kind: &str) -> bool {
    PIXEL_KINDS.contains(&kind)
}

/// Item fields of one tag: where the id, quantity and unit price are.
struct ItemShape {
    ids: &'static [&'static str],
    quantity: &'static [&'static str],
    price: &'static [&'static str],
}

/// What a call is, as far as the tags go.
pub enum TagCall {
    /// A tag's purchase event.
    Purchase(Payload),
    /// A tag's call that is not a purchase (skipped whole).
    Other,
    /// Not a call of these tags.
    NotATag,
}

/// Classifies a call `callee(args…)` found in a script (`how` says where,
/// for the payload's source).
pub fn call(callee: &str, args: &[JsValue], how: &str) -> TagCall {
    let name = |i: usize| args.get(i).and_then(JsValue::as_str).map(str::trim);
    let last = callee.rsplit('.').next().unwrap_or("");
    let found = match last {
        // fbq('track', 'Purchase', params) or fbq('trackSingle', pixel, 'Purchase', params)
        "fbq" => {
            let (event, params) = match name(0) {
                Some("track") => (name(1), args.get(2)),
                Some("trackSingle") => (name(2), args.get(3)),
                _ => (None, None),
            };
            let purchase = event.is_some_and(|e| e.eq_ignore_ascii_case("purchase"));
            params.filter(|_| purchase).map(|p| meta(p, how))
        }
        // ttq.track('CompletePayment' | 'PlaceAnOrder', params)
        "track" if callee.ends_with("ttq.track") => {
            let purchase = name(0)
                .is_some_and(|e| ["CompletePayment", "PlaceAnOrder", "Purchase"].contains(&e));
            args.get(1).filter(|_| purchase).map(|p| tiktok(p, how))
        }
        // klaviyo.track('Placed Order', params)
        "track" if callee.ends_with("klaviyo.track") => args
            .get(1)
            .filter(|_| name(0) == Some("Placed Order"))
            .map(|p| klaviyo(p, how)),
        // pintrk('track', 'checkout', params)
        "pintrk" => {
            let purchase = name(0) == Some("track")
                && name(1).is_some_and(|e| e.eq_ignore_ascii_case("checkout"));
            args.get(2).filter(|_| purchase).map(|p| pinterest(p, how))
        }
        // _learnq.push(['track', 'Placed Order', params]), klaviyo.push([...])
        "push" if callee.ends_with("_learnq.push") || callee.ends_with("klaviyo.push") => {
            let cmd = args.first().and_then(JsValue::as_array).unwrap_or_default();
            let is = |i: usize, s: &str| cmd.get(i).and_then(JsValue::as_str) == Some(s);
            cmd.get(2)
                .filter(|_| is(0, "track") && is(1, "Placed Order"))
                .map(|p| klaviyo(p, how))
        }
        _ => return TagCall::NotATag,
    };
    found.map_or(TagCall::Other, TagCall::Purchase)
}

/// An object of a tag's queue that is a purchase (Criteo's `trackTransaction`).
pub fn object(o: &JsValue, how: &str) -> Option<Payload> {
    let event = o.get("event")?.as_str()?;
    if !event.trim().eq_ignore_ascii_case("trackTransaction") {
        return None;
    }
    let shape = ItemShape {
        ids: &["id"],
        quantity: &["quantity"],
        price: &["price"],
    };
    Some(Payload {
        kind: "criteo",
        source: source("criteo", how),
        order_id: o.get("id").and_then(as_order_id),
        items: items(o.get("item"), &shape),
        currency: o.get("currency").and_then(as_currency),
        total: None,
    })
}

/// The WooCommerce GA4 integration's `window.ga4w = {data: {order: …}}`:
/// prices in minor units, the item id its settings chose in
/// `extensions.woocommerce_google_analytics_integration.identifier` (a SKU,
/// or `#` and the product id when the product has none).
pub fn woocommerce_ga4(value: &JsValue, how: &str, cfg: &ExtractConfig) -> Option<Payload> {
    let order = value.path("data.order").filter(|o| o.is_object())?;
    let totals = order.get("totals");
    let unit = |o: Option<&JsValue>| {
        let digits = o
            .and_then(|o| o.get("currency_minor_unit"))
            .and_then(JsValue::as_f64)
            .unwrap_or(2.0)
            .clamp(0.0, 6.0);
        10f64.powi(digits as i32)
    };
    let items = order
        .get("items")
        .and_then(JsValue::as_array)
        .unwrap_or_default()
        .iter()
        .filter_map(|it| {
            let sku = it
                .path("extensions.woocommerce_google_analytics_integration.identifier")
                .and_then(JsValue::as_id)
                .map(|s| s.trim_start_matches('#').to_string())
                .filter(|s| !s.is_empty())
                .or_else(|| sku_of(it, cfg, &[]))?;
            let prices = it.get("prices");
            Some(Item {
                sku,
                quantity: it.get("quantity").and_then(JsValue::as_f64),
                price: prices
                    .and_then(|p| p.get("price"))
                    .and_then(JsValue::as_f64)
                    .map(|p| p / unit(prices)),
            })
        })
        .collect();
    Some(Payload {
        kind: "woocommerce-ga4",
        source: source("woocommerce-ga4", how),
        order_id: order.get("id").and_then(as_order_id),
        items,
        currency: totals
            .and_then(|t| t.get("currency_code"))
            .and_then(as_currency),
        total: totals
            .and_then(|t| t.get("total_price"))
            .and_then(JsValue::as_f64)
            .map(|t| t / unit(totals)),
    })
}

fn meta(p: &JsValue, how: &str) -> Payload {
    let shape = ItemShape {
        ids: &["id"],
        quantity: &["quantity"],
        price: &["item_price", "price"],
    };
    contents("meta-pixel", p, &shape, "content_ids", how)
}

fn tiktok(p: &JsValue, how: &str) -> Payload {
    let shape = ItemShape {
        ids: &["content_id"],
        quantity: &["quantity"],
        price: &["price"],
    };
    // A single product may come as `content_id` at the top level.
    contents("tiktok-pixel", p, &shape, "content_id", how)
}

/// A Meta- or TikTok-shaped event: items in `contents`, else bare ids in `ids_field`.
fn contents(
    kind: &'static str,
    p: &JsValue,
    shape: &ItemShape,
    ids_field: &str,
    how: &str,
) -> Payload {
    let mut list = items(p.get("contents"), shape);
    if list.is_empty() {
        list = ids(p.get(ids_field));
    }
    flat(kind, p, list, how)
}

fn pinterest(p: &JsValue, how: &str) -> Payload {
    let shape = ItemShape {
        ids: &["product_id"],
        quantity: &["product_quantity"],
        price: &["product_price"],
    };
    let list = items(p.get("line_items"), &shape);
    flat("pinterest-tag", p, list, how)
}

fn klaviyo(p: &JsValue, how: &str) -> Payload {
    let shape = ItemShape {
        ids: &["SKU", "ProductID"],
        quantity: &["Quantity"],
        price: &["ItemPrice"],
    };
    Payload {
        kind: "klaviyo",
        source: source("klaviyo", how),
        order_id: ["OrderId", "order_id", "$event_id"]
            .iter()
            .find_map(|f| p.get(f).and_then(as_order_id)),
        items: items(p.get("Items"), &shape),
        currency: p.get("Currency").and_then(as_currency),
        total: p.get("$value").and_then(JsValue::as_f64),
    }
}

/// A payload with the flat `order_id`, `value` and `currency` parameters
/// these tags share.
fn flat(kind: &'static str, p: &JsValue, items: Vec<Item>, how: &str) -> Payload {
    Payload {
        kind,
        source: source(kind, how),
        order_id: p.get("order_id").and_then(as_order_id),
        items,
        currency: p.get("currency").and_then(as_currency),
        total: p.get("value").and_then(JsValue::as_f64),
    }
}

/// A list, also when it came JSON-encoded in a string (the Facebook for
/// WooCommerce plugin sends `"contents": "[{\"id\": …}]"`).
fn list(v: Option<&JsValue>) -> Cow<'_, [JsValue]> {
    match v {
        Some(JsValue::Array(a)) => Cow::Borrowed(a),
        Some(JsValue::Str(s)) if s.trim_start().starts_with('[') => {
            match super::jsvalue::parse_value(s) {
                Ok(JsValue::Array(a)) => Cow::Owned(a),
                _ => Cow::Borrowed(&[]),
            }
        }
        _ => Cow::Borrowed(&[]),
    }
}

/// Where a payload came from: its kind, then where its literal was.
fn source(kind: &str, how: &str) -> String {
    format!("{kind} {how}")
}

fn items(v: Option<&JsValue>, shape: &ItemShape) -> Vec<Item> {
    list(v)
        .iter()
        .filter_map(|o| {
            let first = |keys: &[&str]| keys.iter().find_map(|k| o.get(k));
            Some(Item {
                sku: first(shape.ids).and_then(sku)?,
                quantity: first(shape.quantity).and_then(JsValue::as_f64),
                price: first(shape.price).and_then(JsValue::as_f64),
            })
        })
        .collect()
}

/// Items from a bare id list (`content_ids: ['A', 'B']`) or a single id.
fn ids(v: Option<&JsValue>) -> Vec<Item> {
    let one = |v: &JsValue| {
        sku(v).map(|sku| Item {
            sku,
            quantity: None,
            price: None,
        })
    };
    match v {
        Some(JsValue::Str(s)) if s.trim_start().starts_with('[') => {
            list(v).iter().filter_map(one).collect()
        }
        Some(JsValue::Array(a)) => a.iter().filter_map(one).collect(),
        Some(v) => one(v).into_iter().collect(),
        None => Vec::new(),
    }
}

fn sku(v: &JsValue) -> Option<String> {
    // `as_id` is never empty.
    v.as_id().filter(|s| s.len() <= 128)
}

#[cfg(test)]
mod tests {
    use super::super::analytics::{payloads, GaEcommerce};
    use super::super::script::{scan, ScriptKind, Triggers};
    use super::*;

    fn run(js: &str) -> Vec<Payload> {
        let cfg = ExtractConfig::default();
        let mut ga = GaEcommerce::default();
        let triggers = Triggers::new(&cfg.order_id_fields);
        scan(js, ScriptKind::JavaScript, &triggers)
            .iter()
            .flat_map(|f| payloads(f, "<script> #1", &cfg, &mut ga))
            .collect()
    }

    fn skus(p: &Payload) -> Vec<&str> {
        p.items.iter().map(|i| i.sku.as_str()).collect()
    }

    #[test]
    fn meta_pixel_purchase_in_each_call_shape() {
        let p = run("fbq('trackSingle', '99', 'Purchase', {content_ids: ['A', 'B'], value: '10.50', currency: 'EUR', order_id: 'X1'});");
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].kind, skus(&p[0])), ("meta-pixel", vec!["A", "B"]));
        assert_eq!(
            (p[0].order_id.as_deref(), p[0].total),
            (Some("X1"), Some(10.5))
        );
        // `contents` JSON-encoded in a string wins over `content_ids`, with quantities.
        let p = run(
            r#"fbq('track', 'Purchase', {contents: "[{\"id\":\"C\",\"quantity\":3}]", content_ids: ['Z']});"#,
        );
        assert_eq!(skus(&p[0]), vec!["C"]);
        assert_eq!(p[0].items[0].quantity, Some(3.0));
        // Other events are not purchases.
        assert!(
            run("fbq('track', 'AddToCart', {content_ids: ['A']}); fbq('track', 'Purchase');")
                .is_empty()
        );
    }

    #[test]
    fn tiktok_klaviyo_and_pinterest_purchases() {
        let p = run("ttq.track('PlaceAnOrder', {content_id: 'T1', value: 5, currency: 'USD'});");
        assert_eq!((p[0].kind, skus(&p[0])), ("tiktok-pixel", vec!["T1"]));
        assert!(run("ttq.track('ViewContent', {content_id: 'T1'}); ttq.track('AddToCart', {contents: [{content_id: 'T2'}]});").is_empty());
        let p = run("klaviyo.track('Placed Order', {OrderId: 77, '$value': 9, Items: [{ProductID: 'p1'}, {SKU: 'S2', ProductID: 'p2', Quantity: 2}]});");
        assert_eq!(
            (p[0].kind, p[0].order_id.as_deref()),
            ("klaviyo", Some("77"))
        );
        assert_eq!(skus(&p[0]), vec!["p1", "S2"]);
        assert!(
            run("_learnq.push(['track', 'Viewed Product', {SKU: 'S', OrderId: 1}]);").is_empty()
        );
        let p = run("pintrk('track', 'checkout', {order_id: 'O9', line_items: [{product_id: 'P', product_quantity: 2, product_price: 3.5}]});");
        assert_eq!(
            (p[0].kind, p[0].order_id.as_deref()),
            ("pinterest-tag", Some("O9"))
        );
        assert_eq!(
            (p[0].items[0].quantity, p[0].items[0].price),
            (Some(2.0), Some(3.5))
        );
        assert!(run(
            "pintrk('track', 'addtocart', {order_id: 'O9', line_items: [{product_id: 'P'}]});"
        )
        .is_empty());
    }

    #[test]
    fn criteo_transaction_among_queue_entries() {
        let p = run(
            r#"window.criteo_q.push({event: "setAccount", account: 1}, {event: "viewBasket", item: [{id: "V"}]}, {event: "trackTransaction", id: "T-1", item: [{id: "K", price: 2, quantity: 1}]});"#,
        );
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].kind, p[0].order_id.as_deref(), skus(&p[0])),
            ("criteo", Some("T-1"), vec!["K"])
        );
    }

    #[test]
    fn woocommerce_ga4_data_in_minor_units() {
        let js = r#"window.ga4w = { data: {"order":{"id":5,"totals":{"currency_code":"JPY","currency_minor_unit":0,"total_price":12960},"items":[{"id":1,"sku":"fallback-field","prices":{"price":6480,"currency_minor_unit":0},"quantity":2},{"id":2,"prices":{"price":1999},"extensions":{"woocommerce_google_analytics_integration":{"identifier":"W-2"}},"quantity":1}]}}, settings: {"events":["purchase"]} };"#;
        let p = run(js);
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].kind, p[0].order_id.as_deref()),
            ("woocommerce-ga4", Some("5"))
        );
        assert_eq!(
            (p[0].currency.as_deref(), p[0].total),
            (Some("JPY"), Some(12960.0))
        );
        assert_eq!(skus(&p[0]), vec!["fallback-field", "W-2"]);
        assert_eq!(p[0].items[0].price, Some(6480.0));
        // Two decimals when the unit is not given.
        assert_eq!(p[0].items[1].price, Some(19.99));
        // A cart page's data object has no order: nothing.
        assert!(run(
            r#"window.ga4w = { data: {"cart":{"items":[]}}, settings: {"events":["purchase"]} };"#
        )
        .is_empty());
    }
}
