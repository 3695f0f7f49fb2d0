//! Recognisers for the purchase payloads that confirmation pages carry:
//! GA4 data layer and gtag, Universal Analytics (enhanced and standard),
//! analytics.js ecommerce/ec plugins, Magento's `ordersTrackingData`,
//! schema.org `Order` in JSON-LD, generic order objects such as
//! `Shopify.checkout`, and BigCommerce's checkout-js bootstrap; the
//! advertising tags' purchase events are read by [`pixels`].
//!
//! Non-purchase events (`view_item_list`, `add_to_cart`, ...) are rejected
//! with everything under them, so recommendation carousels on the thank-you
//! page never leak into the order.

use super::config::ExtractConfig;
use super::jsvalue::JsValue;
use super::pixels;
use super::script::Found;
use super::Item;

/// One purchase payload found on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    /// Shape that matched: `ga4`, `gtag`, `ua-enhanced`, `ua`, `ga-ecommerce`,
    /// `ga-ec`, `magento-ga`, `json-ld`, `shopify-checkout`, `order-object`,
    /// `bigcommerce-checkout`.
    pub kind: &'static str,
    /// Where it was found, e.g. `ga4 dataLayer.push in <script> #3`.
    pub source: String,
    /// Order id the payload reports.
    pub order_id: Option<String>,
    /// Purchased items (only those with a SKU).
    pub items: Vec<Item>,
    /// Currency code.
    pub currency: Option<String>,
    /// Order total.
    pub total: Option<f64>,
}

/// Events that are not a purchase; objects carrying them are skipped whole.
const NOT_PURCHASE: &[&str] = &[
    "view_item_list",
    "view_item",
    "select_item",
    "add_to_cart",
    "remove_from_cart",
    "view_cart",
    "begin_checkout",
    "add_shipping_info",
    "add_payment_info",
    "add_to_wishlist",
    "view_promotion",
    "select_promotion",
    "refund",
    "addtocart",
    "removefromcart",
    "productclick",
    "productdetail",
    "productimpression",
    "impressions",
    "checkout",
    "checkoutoption",
    "promotionclick",
    "promotionview",
    "gtm.js",
    "gtm.dom",
    "gtm.load",
];

const QTY_FIELDS: &[&str] = &["quantity", "qty", "orderQuantity", "quantity_ordered"];
const PRICE_FIELDS: &[&str] = &[
    "price",
    "item_price",
    "unit_price",
    "final_price",
    "price_inc_tax",
];
const TOTAL_FIELDS: &[&str] = &[
    "value",
    "revenue",
    "total",
    "total_price",
    "totalPrice",
    "grand_total",
    "order_total",
];
const CURRENCY_FIELDS: &[&str] = &[
    "currency",
    "currencyCode",
    "currency_code",
    "presentment_currency",
    "priceCurrency",
];
const ITEM_LIST_FIELDS: &[&str] = &["line_items", "lineItems", "items", "products"];

/// Limit on how deep the recognisers walk into a value.
const WALK_DEPTH: usize = 16;

/// Reads purchase payloads out of one literal found in the script described
/// by `place` (e.g. `<script> #3`). Analytics.js plugin calls are
/// accumulated in `ga`.
pub fn payloads(
    found: &Found,
    place: &str,
    cfg: &ExtractConfig,
    ga: &mut GaEcommerce,
) -> Vec<Payload> {
    let mut out = Vec::new();
    match found {
        Found::Call { callee, args } => {
            let how = format!("{callee}() in {place}");
            let last = callee.rsplit('.').next().unwrap_or("");
            let first = args.first().and_then(JsValue::as_str).unwrap_or("");
            if first == "event" {
                // gtag('event', name, params): only `purchase` counts.
                let name = args.get(1).and_then(JsValue::as_str).unwrap_or("");
                if name.trim().eq_ignore_ascii_case("purchase") {
                    if let Some(p) = args.get(2).filter(|p| p.is_object()) {
                        out.push(flat_purchase("gtag", p, &how, cfg));
                    }
                }
                return out;
            }
            let cmd = first.rsplit('.').next().unwrap_or("");
            if cmd.starts_with("ecommerce:") || cmd.starts_with("ec:") {
                ga.call(first, &args[1..], &how, cfg);
                return out;
            }
            if last == "renderOrderConfirmation" || last == "renderOrderConfirmationPage" {
                if let Some(id) = args
                    .first()
                    .and_then(|a| a.get("orderId"))
                    .and_then(as_order_id)
                {
                    out.push(Payload {
                        kind: "bigcommerce-checkout",
                        source: format!("bigcommerce-checkout {how}"),
                        order_id: Some(id),
                        items: Vec::new(),
                        currency: None,
                        total: None,
                    });
                }
                return out;
            }
            match pixels::call(callee, args, &how) {
                pixels::TagCall::Purchase(p) => {
                    out.push(p);
                    return out;
                }
                pixels::TagCall::Other => return out,
                pixels::TagCall::NotATag => {}
            }
            for a in args {
                walk(a, 0, "order-object", &how, cfg, &mut out);
            }
        }
        Found::Assign { target, value } => {
            let how = format!("{target} = in {place}");
            if target.ends_with("ga4w") {
                out.extend(pixels::woocommerce_ga4(value, &how, cfg));
                return out;
            }
            let generic = if target.ends_with("Shopify.checkout") {
                "shopify-checkout"
            } else {
                "order-object"
            };
            walk(value, 0, generic, &how, cfg, &mut out);
        }
        Found::Json(value) => {
            let how = format!("JSON in {place}");
            walk(value, 0, "order-object", &how, cfg, &mut out);
        }
    }
    out
}

fn walk(
    v: &JsValue,
    depth: usize,
    generic: &'static str,
    how: &str,
    cfg: &ExtractConfig,
    out: &mut Vec<Payload>,
) {
    if depth > WALK_DEPTH {
        return;
    }
    match v {
        JsValue::Array(a) => {
            for e in a {
                walk(e, depth + 1, generic, how, cfg, out);
            }
        }
        JsValue::Object(members) => match recognize(v, generic, how, cfg) {
            Match::Found(p) => out.push(*p),
            Match::Reject => {}
            Match::None => {
                for (_, m) in members {
                    walk(m, depth + 1, generic, how, cfg, out);
                }
            }
        },
        _ => {}
    }
}

enum Match {
    Found(Box<Payload>),
    /// A non-purchase event: skip it and everything under it.
    Reject,
    None,
}

fn recognize(o: &JsValue, generic: &'static str, how: &str, cfg: &ExtractConfig) -> Match {
    let event = o
        .get("event")
        .and_then(JsValue::as_str)
        .map(|e| e.trim().to_ascii_lowercase());
    if event.as_deref().is_some_and(|e| NOT_PURCHASE.contains(&e)) {
        return Match::Reject;
    }
    let found = |p: Payload| Match::Found(Box::new(p));
    if let Some(p) = pixels::object(o, how) {
        return found(p);
    }
    if let Some(ec) = o.get("ecommerce").filter(|e| e.is_object()) {
        if let Some(purchase) = ec.get("purchase").filter(|p| p.is_object()) {
            let af = purchase.get("actionField");
            return found(Payload {
                kind: "ua-enhanced",
                source: format!("ua-enhanced {how}"),
                order_id: af.and_then(|a| a.get("id")).and_then(as_order_id),
                items: items_of(purchase.get("products"), cfg, &[]),
                currency: currency_of(ec).or_else(|| af.and_then(currency_of)),
                total: af.and_then(|a| first_f64(a, &["revenue", "value"])),
            });
        }
        if ec.get("transaction_id").is_some() || event.as_deref() == Some("purchase") {
            return found(flat_purchase("ga4", ec, how, cfg));
        }
        return Match::Reject;
    }
    if o.get("transactionId").is_some() || o.get("transactionProducts").is_some() {
        return found(Payload {
            kind: "ua",
            source: format!("ua {how}"),
            order_id: o.get("transactionId").and_then(as_order_id),
            items: items_of(o.get("transactionProducts"), cfg, &[]),
            currency: o
                .get("transactionCurrency")
                .and_then(JsValue::as_id)
                .filter(|c| c.len() <= 8),
            total: o.get("transactionTotal").and_then(JsValue::as_f64),
        });
    }
    if let Some(t) = o.get("ordersTrackingData").filter(|t| t.is_object()) {
        let order = t
            .get("orders")
            .and_then(JsValue::as_array)
            .and_then(<[JsValue]>::first);
        return found(Payload {
            kind: "magento-ga",
            source: format!("magento-ga {how}"),
            order_id: order
                .and_then(|o| o.get("transaction_id").or_else(|| o.get("id")))
                .and_then(as_order_id),
            items: items_of(t.get("products"), cfg, &[]),
            currency: currency_of(t).or_else(|| order.and_then(currency_of)),
            total: order.and_then(|o| first_f64(o, TOTAL_FIELDS)),
        });
    }
    if is_type(o, "Order") {
        return found(json_ld_order(o, how, cfg));
    }
    // Generic order object: an order id and a list of item objects.
    let items_field = ITEM_LIST_FIELDS.iter().find_map(|f| {
        o.get(f)
            .and_then(JsValue::as_array)
            .filter(|a| a.iter().any(JsValue::is_object))
    });
    let id = cfg
        .order_id_fields
        .iter()
        .find_map(|f| o.get(f).and_then(as_order_id));
    if let (Some(list), Some(id)) = (items_field, id) {
        return found(Payload {
            kind: generic,
            source: format!("{generic} {how}"),
            order_id: Some(id),
            items: items_from(list, cfg, &[]),
            currency: currency_of(o),
            total: first_f64(o, TOTAL_FIELDS),
        });
    }
    Match::None
}

/// GA4-shaped flat parameters (`transaction_id`, `value`, `currency`,
/// `items`) as in `gtag('event','purchase',{...})` or `ecommerce: {...}`.
fn flat_purchase(kind: &'static str, p: &JsValue, how: &str, cfg: &ExtractConfig) -> Payload {
    Payload {
        kind,
        source: format!("{kind} {how}"),
        order_id: p
            .get("transaction_id")
            .or_else(|| p.get("transactionId"))
            .and_then(as_order_id),
        items: items_of(p.get("items"), cfg, &[]),
        currency: currency_of(p),
        total: first_f64(p, &["value", "revenue", "total"]),
    }
}

fn is_type(o: &JsValue, ty: &str) -> bool {
    match o.get("@type") {
        Some(JsValue::Str(s)) => s == ty || s.ends_with(&format!("/{ty}")),
        Some(JsValue::Array(a)) => a.iter().any(|t| t.as_str() == Some(ty)),
        _ => false,
    }
}

/// schema.org `Order`: `orderNumber`, `acceptedOffer[]` (Offer with
/// `itemOffered` Product) or `orderedItem[]` (OrderItem or Product).
fn json_ld_order(o: &JsValue, how: &str, cfg: &ExtractConfig) -> Payload {
    let list = |k: &str| -> Vec<&JsValue> {
        match o.get(k) {
            Some(JsValue::Array(a)) => a.iter().collect(),
            Some(v @ JsValue::Object(_)) => vec![v],
            _ => Vec::new(),
        }
    };
    let mut items = Vec::new();
    let mut currency = None;
    for offer in list("acceptedOffer") {
        let product = offer.get("itemOffered").unwrap_or(offer);
        let sku = sku_of(product, cfg, &[]).or_else(|| sku_of(offer, cfg, &[]));
        currency = currency.or_else(|| currency_of(offer));
        if let Some(sku) = sku {
            items.push(Item {
                sku,
                quantity: offer
                    .get("eligibleQuantity")
                    .and_then(|q| q.get("value"))
                    .and_then(JsValue::as_f64),
                price: offer.get("price").and_then(JsValue::as_f64),
            });
        }
    }
    for oi in list("orderedItem") {
        let product = oi
            .get("orderedItem")
            .filter(|p| p.is_object())
            .unwrap_or(oi);
        if let Some(sku) = sku_of(product, cfg, &[]) {
            items.push(Item {
                sku,
                quantity: first_f64(oi, QTY_FIELDS),
                price: product
                    .get("offers")
                    .and_then(|of| of.get("price"))
                    .and_then(JsValue::as_f64),
            });
        }
    }
    let due = o
        .get("partOfInvoice")
        .and_then(|i| i.get("totalPaymentDue"));
    Payload {
        kind: "json-ld",
        source: format!("json-ld {how}"),
        order_id: o.get("orderNumber").and_then(as_order_id),
        items,
        currency: currency.or_else(|| due.and_then(currency_of)),
        total: due
            .and_then(|d| first_f64(d, &["price", "value"]))
            .or_else(|| o.get("price").and_then(JsValue::as_f64)),
    }
}

/// Accumulates analytics.js `ecommerce:` and `ec:` plugin calls, which
/// spread one purchase over several calls.
#[derive(Debug, Clone, Default)]
pub struct GaEcommerce {
    transaction: Option<Payload>,
    ec_products: Vec<Item>,
    ec_purchase: Option<Payload>,
}

impl GaEcommerce {
    fn call(&mut self, command: &str, rest: &[JsValue], how: &str, cfg: &ExtractConfig) {
        // Commands may be prefixed with a tracker name: `t2.ecommerce:addItem`.
        let cmd = command.rsplit('.').next().unwrap_or(command);
        let obj = rest.iter().find(|v| v.is_object());
        match cmd {
            "ecommerce:addTransaction" => {
                if let Some(o) = obj {
                    self.transaction = Some(Payload {
                        kind: "ga-ecommerce",
                        source: format!("ga-ecommerce {how}"),
                        order_id: o.get("id").and_then(as_order_id),
                        items: Vec::new(),
                        currency: currency_of(o),
                        total: first_f64(o, &["revenue", "value"]),
                    });
                }
            }
            "ecommerce:addItem" => {
                // `id` here is the transaction id, never the SKU.
                if let Some(item) = obj.and_then(|o| item_of(o, cfg, &["id"])) {
                    let t = self.transaction.get_or_insert_with(|| Payload {
                        kind: "ga-ecommerce",
                        source: format!("ga-ecommerce {how}"),
                        order_id: obj.and_then(|o| o.get("id")).and_then(as_order_id),
                        items: Vec::new(),
                        currency: None,
                        total: None,
                    });
                    if t.items.len() < 500 {
                        t.items.push(item);
                    }
                }
            }
            "ec:addProduct" => {
                if let Some(item) = obj.and_then(|o| item_of(o, cfg, &[])) {
                    if self.ec_products.len() < 500 {
                        self.ec_products.push(item);
                    }
                }
            }
            "ec:setAction" => {
                let action = rest.first().and_then(JsValue::as_str).unwrap_or("");
                if action == "purchase" {
                    let o = obj;
                    self.ec_purchase = Some(Payload {
                        kind: "ga-ec",
                        source: format!("ga-ec {how}"),
                        order_id: o.and_then(|o| o.get("id")).and_then(as_order_id),
                        items: std::mem::take(&mut self.ec_products),
                        currency: o.and_then(currency_of),
                        total: o.and_then(|o| first_f64(o, &["revenue", "value"])),
                    });
                } else {
                    // Products belonged to some other action.
                    self.ec_products.clear();
                }
            }
            _ => {}
        }
    }

    /// The purchase payloads accumulated so far.
    pub fn payloads(&self) -> impl Iterator<Item = &Payload> {
        self.transaction.iter().chain(self.ec_purchase.iter())
    }
}

/// An order id: a string or integer of at most 64 characters.
pub(super) fn as_order_id(v: &JsValue) -> Option<String> {
    v.as_id().filter(|s| s.len() <= 64)
}

/// A currency code: a non-empty string of at most 8 characters.
pub(super) fn as_currency(v: &JsValue) -> Option<String> {
    v.as_str()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty() && c.len() <= 8)
}

fn currency_of(o: &JsValue) -> Option<String> {
    CURRENCY_FIELDS
        .iter()
        .find_map(|f| o.get(f).filter(|v| v.as_str().is_some()))
        .and_then(as_currency)
}

fn first_f64(o: &JsValue, fields: &[&str]) -> Option<f64> {
    fields
        .iter()
        .find_map(|f| o.get(f).and_then(JsValue::as_f64))
}

pub(super) fn sku_of(o: &JsValue, cfg: &ExtractConfig, exclude: &[&str]) -> Option<String> {
    cfg.sku_fields
        .iter()
        .filter(|f| !exclude.contains(&f.as_str()))
        .find_map(|f| o.path(f).and_then(JsValue::as_id))
        .filter(|s| s.len() <= 128)
}

fn item_of(o: &JsValue, cfg: &ExtractConfig, exclude: &[&str]) -> Option<Item> {
    Some(Item {
        sku: sku_of(o, cfg, exclude)?,
        quantity: first_f64(o, QTY_FIELDS),
        price: first_f64(o, PRICE_FIELDS),
    })
}

fn items_from(list: &[JsValue], cfg: &ExtractConfig, exclude: &[&str]) -> Vec<Item> {
    list.iter()
        .filter_map(|o| item_of(o, cfg, exclude))
        .collect()
}

fn items_of(v: Option<&JsValue>, cfg: &ExtractConfig, exclude: &[&str]) -> Vec<Item> {
    match v {
        Some(JsValue::Array(a)) => items_from(a, cfg, exclude),
        // Some integrations emit an object keyed by line number.
        Some(JsValue::Object(m)) => m
            .iter()
            .filter_map(|(_, o)| item_of(o, cfg, exclude))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::script::{scan, ScriptKind, Triggers};
    use super::*;

    fn run(js: &str, cfg: &ExtractConfig) -> Vec<Payload> {
        let mut ga = GaEcommerce::default();
        let mut out = Vec::new();
        for f in scan(
            js,
            ScriptKind::JavaScript,
            &Triggers::new(&cfg.order_id_fields),
        ) {
            out.extend(payloads(&f, "<script> #1", cfg, &mut ga));
        }
        out.extend(ga.payloads().cloned());
        out
    }

    #[test]
    fn ga4_push_and_ignores_other_events() {
        let js = "dataLayer.push({event: 'view_item_list', ecommerce: {items: [{item_id: 'REC-1'}]}});
                  dataLayer.push({ ecommerce: null });
                  dataLayer.push({event:'purchase', ecommerce:{transaction_id:'100', value:'1,331.99', currency:'USD',
                     items:[{item_id:'A', price:'146.5200', quantity:2,},{item_id:'B'}],}, eventCallback: function(){ go(); }});
                  dataLayer.push({event: 'add_to_cart', ecommerce: {transaction_id: 'NO', items: [{item_id: 'X'}]}});";
        let p = run(js, &ExtractConfig::default());
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].kind, "ga4");
        assert_eq!(p[0].order_id.as_deref(), Some("100"));
        assert_eq!(p[0].total, Some(1331.99));
        let skus: Vec<_> = p[0].items.iter().map(|i| i.sku.as_str()).collect();
        assert_eq!(skus, ["A", "B"]);
        assert_eq!(p[0].items[0].price, Some(146.52));
    }

    #[test]
    fn ua_shapes_and_ga_plugin() {
        let js = "dataLayer.push({'ecommerce': {'currencyCode': 'EUR', 'purchase': {'actionField': {'id': 'T-9', 'revenue': '35.43'}, 'products': [{'id': 'P1', 'quantity': 1}]}}});
                  var dataLayer = [{transactionId: 'T-10', transactionTotal: 12, transactionProducts: [{sku: 'S1', name: 'x'}]}];
                  ga('ecommerce:addTransaction', {id: 'R1', revenue: '10.00', currency: 'GBP'});
                  ga('ecommerce:addItem', {id: 'R1', sku: 'SKU-1', quantity: '3'});
                  ga('ecommerce:send');";
        let p = run(js, &ExtractConfig::default());
        let summary: Vec<_> = p
            .iter()
            .map(|p| (p.kind, p.order_id.clone().unwrap(), p.items[0].sku.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                ("ua-enhanced", "T-9".to_string(), "P1".to_string()),
                ("ua", "T-10".to_string(), "S1".to_string()),
                ("ga-ecommerce", "R1".to_string(), "SKU-1".to_string()),
            ]
        );
        assert_eq!(p[2].items[0].quantity, Some(3.0));
    }

    #[test]
    fn sku_field_preference_is_configurable() {
        let js = "gtag('event', 'purchase', {transaction_id: 5, items: [{item_id: '123', item_variant: 'V-1', sku: 'S-1'}]});";
        let mut cfg = ExtractConfig::default();
        assert_eq!(run(js, &cfg)[0].items[0].sku, "S-1");
        cfg.sku_fields = vec!["item_variant".into()];
        assert_eq!(run(js, &cfg)[0].items[0].sku, "V-1");
        cfg.sku_fields = vec!["item_id".into()];
        assert_eq!(run(js, &cfg)[0].items[0].sku, "123");
    }

    fn json(text: &str, cfg: &ExtractConfig) -> Vec<Payload> {
        let mut ga = GaEcommerce::default();
        let t = Triggers::new(&cfg.order_id_fields);
        scan(text, ScriptKind::Json, &t)
            .iter()
            .flat_map(|f| payloads(f, "<script> #1", cfg, &mut ga))
            .collect()
    }

    #[test]
    fn json_ld_order_with_offers_or_ordered_items() {
        let cfg = ExtractConfig::default();
        let p = json(
            r#"{"@context": "https://schema.org", "@type": "Order", "orderNumber": "ON-1",
                "acceptedOffer": {"@type": "Offer", "itemOffered": {"@type": "Product", "sku": "S-1"},
                                  "price": "9.50", "priceCurrency": "CHF", "eligibleQuantity": {"value": 3}},
                "partOfInvoice": {"totalPaymentDue": {"price": "28.50", "priceCurrency": "CHF"}}}"#,
            &cfg,
        );
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].kind, p[0].order_id.as_deref()),
            ("json-ld", Some("ON-1"))
        );
        assert_eq!(p[0].items[0].sku, "S-1");
        assert_eq!(p[0].items[0].quantity, Some(3.0));
        assert_eq!(p[0].currency.as_deref(), Some("CHF"));
        assert_eq!(p[0].total, Some(28.5));
        let p = json(
            r#"[{"@type": "WebPage"}, {"@type": ["Order"], "orderNumber": 77,
                "orderedItem": [{"@type": "OrderItem", "orderQuantity": 2, "orderedItem": {"@type": "Product", "productID": "P-9"}}]}]"#,
            &cfg,
        );
        assert_eq!(p[0].order_id.as_deref(), Some("77"));
        assert_eq!(p[0].items[0].sku, "P-9");
        assert_eq!(p[0].items[0].quantity, Some(2.0));
    }

    #[test]
    fn magento_ua_module_and_platform_objects() {
        let cfg = ExtractConfig::default();
        // Magento_GoogleAnalytics (UA): orders[].id, products[].id.
        let p = json(
            r#"{"*": {"Magento_GoogleAnalytics/js/google-analytics": {"ordersTrackingData":
                {"orders": [{"id": "000000009", "revenue": "10.0000"}], "products": [{"id": "MJ01", "quantity": "1.0000"}], "currency": "GBP"}}}}"#,
            &cfg,
        );
        assert_eq!(p[0].kind, "magento-ga");
        assert_eq!(p[0].order_id.as_deref(), Some("000000009"));
        assert_eq!(p[0].items[0].sku, "MJ01");
        assert_eq!(p[0].total, Some(10.0));
        // BigCommerce checkout-js bootstrap: order id only.
        let p = run(
            "loader.load('checkout-js').then(function (m) { m.renderOrderConfirmation({containerId: 'app', orderId: 118}); });",
            &cfg,
        );
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].kind, p[0].order_id.as_deref()),
            ("bigcommerce-checkout", Some("118"))
        );
        assert!(p[0].items.is_empty());
        // Shopify.checkout: internal order_id, line_items[].sku.
        let p = run(
            "Shopify.checkout = {order_id: 5123, total_price: '146.52', currency: 'USD', line_items: [{sku: 'A', product_id: 1, quantity: 2}]};",
            &cfg,
        );
        assert_eq!(p[0].kind, "shopify-checkout");
        assert_eq!(p[0].order_id.as_deref(), Some("5123"));
        assert_eq!(p[0].items[0].sku, "A");
        assert_eq!(p[0].total, Some(146.52));
        // A product without a SKU: the Shopify preset falls back to the
        // variant id, never the line item id.
        let js = "Shopify.checkout = {order_id: 9, line_items: [{id: 13560093286543, sku: '', variant_id: 439, product_id: 12}]};";
        assert_eq!(
            run(js, &ExtractConfig::preset("shopify").unwrap())[0].items[0].sku,
            "439"
        );
        // A cart object (items, no order id) is not an order.
        assert!(run("window.cart = {token: 'x', items: [{sku: 'A'}]};", &cfg).is_empty());
    }

    #[test]
    fn ga_ec_plugin_only_counts_the_purchase_action() {
        let cfg = ExtractConfig::default();
        let p = run(
            "ga('ec:addProduct', {id: 'VIEWED'}); ga('ec:setAction', 'detail');
             ga('ec:addProduct', {id: 'P-1', quantity: 2, price: '3.00'});
             ga('ec:addProduct', {id: 'P-2'});
             ga('ec:setAction', 'purchase', {id: 'T-1', revenue: '6.00'});",
            &cfg,
        );
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].kind, "ga-ec");
        let skus: Vec<_> = p[0].items.iter().map(|i| i.sku.as_str()).collect();
        assert_eq!(skus, ["P-1", "P-2"]);
        assert_eq!(p[0].order_id.as_deref(), Some("T-1"));
    }
}
