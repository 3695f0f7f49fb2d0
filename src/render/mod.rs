//! Renders the offer block that is injected into a confirmation page.
//!
//! Every value that comes from the catalog, the configuration or the page is
//! escaped for the context it lands in (text, attribute, URL, CSS); the block
//! adds a `<script>` or `<style>` only where the page's CSP allows it
//! (see [`csp`]), and works without either: "Add to order" is a plain link
//! through the worker's accept endpoint, so no script is needed to follow an
//! offer or to count the click.
pub mod csp;
mod escape;

pub use escape::{escape_html, money, safe_css_color, safe_css_font, url_encode};

use csp::{Inline, InlinePolicy};

/// One offer as shown to the shopper.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferView {
    /// The SKU offered.
    pub sku: String,
    /// Product title.
    pub title: String,
    /// Unit price in the order's currency.
    pub price: f64,
    /// Product image URL, if any.
    pub image: Option<String>,
    /// Where "Add to order" goes (the worker's accept endpoint, carrying the token).
    pub accept_href: String,
}

/// Brand styling and wording for the block.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockStyle {
    /// Heading above the offers.
    pub heading: String,
    /// Label of the add button.
    pub button_label: String,
    /// Accent colour (CSS colour; unsafe values are replaced by the default).
    pub accent: String,
    /// Font stack (CSS; unsafe values are dropped).
    pub font: Option<String>,
}

impl Default for BlockStyle {
    fn default() -> Self {
        BlockStyle {
            heading: "Complete your order".into(),
            button_label: "Add to order".into(),
            accent: "#1a73e8".into(),
            font: None,
        }
    }
}

/// Everything the block needs besides the offers.
#[derive(Debug, Clone)]
pub struct BlockContext<'a> {
    /// Signed offer token (opaque to the page).
    pub token: &'a str,
    /// ISO currency code for prices.
    pub currency: &'a str,
    /// Styling and wording.
    pub style: &'a BlockStyle,
    /// What inline content the page's CSP allows.
    pub inline: &'a InlinePolicy,
    /// Path the impression/click beacons are sent to.
    pub beacon_path: &'a str,
}

/// The beacon script: an impression once at least half the block has been in
/// view, and a click beacon when an offer link is followed.
const BEACON_JS: &str = r#"(function(s){if(!s||!navigator.sendBeacon)return;var t=s.getAttribute("data-upsell-token"),u=s.getAttribute("data-upsell-beacon"),sent=false;function b(k,x){try{navigator.sendBeacon(u,new Blob([JSON.stringify({type:k,token:t,sku:x||null})],{type:"application/json"}))}catch(e){}}if("IntersectionObserver"in window){var o=new IntersectionObserver(function(es){es.forEach(function(e){if(!sent&&e.intersectionRatio>=0.5){sent=true;b("impression");o.disconnect()}})},{threshold:[0.5]});o.observe(s)}s.addEventListener("click",function(e){var a=e.target.closest&&e.target.closest("a[data-sku]");if(a)b("click",a.getAttribute("data-sku"))})})(document.currentScript&&document.currentScript.parentNode);"#;

/// The block's stylesheet; colours and fonts come in as CSS custom properties.
const BLOCK_CSS: &str = ".upsell-offers{font-family:var(--upsell-font,inherit);margin:2rem auto;max-width:min(60rem,calc(100% - 2rem));box-sizing:border-box;padding:1.25rem;border:1px solid #e3e3e3;border-radius:12px;background:#fff}.upsell-offers h2{margin:0 0 1rem;font-size:1.25rem}.upsell-list{list-style:none;margin:0;padding:0;display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr))}.upsell-offer{display:flex;flex-direction:column;gap:.4rem}.upsell-offer img{width:100%;height:auto;aspect-ratio:1;object-fit:cover;border-radius:8px;background:#f4f4f4}.upsell-offer h3{font-size:1rem;margin:0;line-height:1.3}.upsell-price{margin:0;font-weight:600}.upsell-add{display:inline-block;margin-top:auto;padding:.55rem .9rem;border-radius:8px;background:var(--upsell-accent,#1a73e8);color:#fff;text-align:center;text-decoration:none;font-weight:600}.upsell-add:focus-visible{outline:3px solid #000;outline-offset:2px}";

fn nonce_attr(inline: &Inline) -> Option<String> {
    match inline {
        Inline::Allowed => Some(String::new()),
        Inline::Nonce(n) => Some(format!(" nonce=\"{}\"", escape_html(n))),
        Inline::Blocked => None,
    }
}

/// Renders the block's HTML; `None` when there is nothing to offer.
pub fn render_block(offers: &[OfferView], cx: &BlockContext<'_>) -> Option<String> {
    if offers.is_empty() {
        return None;
    }
    let mut h = String::with_capacity(2048);
    let accent = safe_css_color(&cx.style.accent).unwrap_or("#1a73e8");
    h.push_str(
        "<section class=\"upsell-offers\" aria-labelledby=\"upsell-heading\" data-upsell-token=\"",
    );
    h.push_str(&escape_html(cx.token));
    h.push_str("\" data-upsell-beacon=\"");
    h.push_str(&escape_html(cx.beacon_path));
    h.push_str("\">");
    if let Some(attr) = nonce_attr(&cx.inline.style) {
        h.push_str(&format!(
            "<style{attr}>.upsell-offers{{--upsell-accent:{accent};"
        ));
        if let Some(font) = cx.style.font.as_deref().and_then(safe_css_font) {
            h.push_str(&format!("--upsell-font:{font};"));
        }
        h.push('}');
        h.push_str(BLOCK_CSS);
        h.push_str("</style>");
    }
    h.push_str("<h2 id=\"upsell-heading\">");
    h.push_str(&escape_html(&cx.style.heading));
    h.push_str("</h2><ul class=\"upsell-list\">");
    for o in offers {
        let title = escape_html(&o.title);
        h.push_str("<li class=\"upsell-offer\">");
        if let Some(img) = o.image.as_deref().filter(|s| is_safe_url(s)) {
            h.push_str(&format!(
                "<img src=\"{}\" alt=\"{title}\" loading=\"lazy\" width=\"240\" height=\"240\">",
                escape_html(img)
            ));
        }
        h.push_str(&format!(
            "<h3>{title}</h3><p class=\"upsell-price\">{}</p><a class=\"upsell-add\" data-sku=\"{}\" href=\"{}\" aria-label=\"{} : {title}\">{}</a></li>",
            escape_html(&money(o.price, cx.currency)),
            escape_html(&o.sku),
            escape_html(&o.accept_href),
            escape_html(&cx.style.button_label),
            escape_html(&cx.style.button_label),
        ));
    }
    h.push_str("</ul>");
    if let Some(attr) = nonce_attr(&cx.inline.script) {
        h.push_str(&format!("<script{attr}>{BEACON_JS}</script>"));
    }
    h.push_str("</section>");
    Some(h)
}

/// Only `http(s)://` or root-relative URLs are put into `src`/`href` attributes.
pub fn is_safe_url(u: &str) -> bool {
    let l = u.trim_start().to_ascii_lowercase();
    l.starts_with("https://")
        || l.starts_with("http://")
        || (l.starts_with('/') && !l.starts_with("//"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(title: &str) -> OfferView {
        OfferView {
            sku: "85123A".into(),
            title: title.into(),
            price: 2.55,
            image: Some("https://img.example/a.jpg?x=1&y=2".into()),
            accept_href: "/__upsell/accept?t=abc&sku=85123A".into(),
        }
    }

    fn render(offers: &[OfferView], inline: InlinePolicy) -> String {
        let style = BlockStyle::default();
        let cx = BlockContext {
            token: "tok.sig",
            currency: "GBP",
            style: &style,
            inline: &inline,
            beacon_path: "/__upsell/events",
        };
        render_block(offers, &cx).unwrap()
    }

    #[test]
    fn every_inserted_value_is_escaped() {
        let html = render(
            &[offer("<img src=x onerror=alert(1)> \"quoted\" & 'single'")],
            InlinePolicy::unrestricted(),
        );
        assert!(!html.contains("<img src=x"));
        assert!(html.contains(
            "&lt;img src=x onerror=alert(1)&gt; &quot;quoted&quot; &amp; &#39;single&#39;"
        ));
        assert!(html.contains("src=\"https://img.example/a.jpg?x=1&amp;y=2\""));
        assert!(html.contains("£2.55"));
    }

    #[test]
    fn unsafe_urls_and_css_are_dropped() {
        let mut o = offer("t");
        o.image = Some("javascript:alert(1)".into());
        let style = BlockStyle {
            accent: "red;}</style><script>".into(),
            font: Some("x;}body{display:none".into()),
            ..BlockStyle::default()
        };
        let inline = InlinePolicy::unrestricted();
        let cx = BlockContext {
            token: "t",
            currency: "EUR",
            style: &style,
            inline: &inline,
            beacon_path: "/b",
        };
        let html = render_block(&[o], &cx).unwrap();
        assert!(!html.contains("javascript:"));
        assert!(html.contains("--upsell-accent:#1a73e8"));
        assert!(!html.contains("display:none"));
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only our own beacon script"
        );
    }

    #[test]
    fn nonce_is_reused_and_blocked_csp_gets_no_script_or_style() {
        let with_nonce = InlinePolicy {
            script: Inline::Nonce("n0nce".into()),
            style: Inline::Nonce("n0nce".into()),
        };
        let html = render(&[offer("a")], with_nonce);
        assert!(html.contains("<script nonce=\"n0nce\">"));
        assert!(html.contains("<style nonce=\"n0nce\">"));
        let blocked = InlinePolicy {
            script: Inline::Blocked,
            style: Inline::Blocked,
        };
        let html = render(&[offer("a")], blocked);
        assert!(!html.contains("<script") && !html.contains("<style"));
        assert!(
            html.contains("href=\"/__upsell/accept?t=abc&amp;sku=85123A\""),
            "offers still work without script"
        );
    }

    #[test]
    fn no_offers_no_block() {
        let style = BlockStyle::default();
        let inline = InlinePolicy::unrestricted();
        let cx = BlockContext {
            token: "t",
            currency: "GBP",
            style: &style,
            inline: &inline,
            beacon_path: "/b",
        };
        assert!(render_block(&[], &cx).is_none());
    }

    #[test]
    fn block_is_accessible() {
        let html = render(&[offer("Lantern")], InlinePolicy::unrestricted());
        assert!(html.contains("aria-labelledby=\"upsell-heading\""));
        assert!(html.contains("alt=\"Lantern\""));
        assert!(html.contains("<h2 id=\"upsell-heading\">Complete your order</h2>"));
    }
}
