//! Property test on generated pages: whatever the markup and however the
//! bytes are chunked, a page's flow (the injector with the order sniffer
//! watching, driven exactly as the worker drives it) returns the origin's
//! bytes unchanged when there are no offers, and the origin's bytes plus
//! exactly one block when there are.
use upsell_edge::config::Settings;
use upsell_edge::extract::{ExtractConfig, LookupConfig, SelectorRule};
use upsell_edge::inject::{Anchor, Position};
use upsell_edge::serve::PageFlow;

/// A small deterministic generator (SplitMix64), so failures reproduce by seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const TEXT: &[&str] = &[
    "Danke ✓",
    "Größe",
    "日本語",
    "🎁🛒",
    "a & b",
    "x < y",
    "\"quoted\"",
    "plain text",
    "",
    "&amp;",
    "\u{a0}",
];
const TAGS: &[&str] = &[
    "div", "p", "span", "section", "li", "table", "td", "a", "b", "template", "noscript",
    "textarea", "title", "svg", "math", "iframe",
];

fn fragment(g: &mut Gen, depth: usize, out: &mut String) {
    for _ in 0..g.below(6) {
        match g.below(12) {
            0 => out.push_str(g.pick(TEXT)),
            1 => out.push_str("<!-- a comment with <div> inside -->"),
            2 => out.push_str(&format!(
                "<script>dataLayer.push({{event:'purchase',ecommerce:{{transaction_id:'{}',items:[{{item_id:'SKU{}'}}]}}}});</script>",
                g.below(1000),
                g.below(50)
            )),
            3 => out.push_str("<script>var s = '</div>'; if (a < b && c > d) {}</script>"),
            4 => out.push_str("<br><img src=x alt='y'><input value=\"z\">"),
            5 => out.push_str(g.pick(&["<div", "</p>", "<<>>", "<a href='", "\u{0}", "<![CDATA[x]]>", "</body>", "<body>", "<html>"])),
            6 => out.push_str("<style>body > p { color: red }</style>"),
            7 => out.push_str(&format!("<div id=\"order\" class=\"o{}\">", g.below(3))),
            _ if depth < 4 => {
                let tag = g.pick(TAGS);
                out.push_str(&format!("<{tag} data-x=\"{}\">", g.below(99)));
                fragment(g, depth + 1, out);
                if g.below(4) > 0 {
                    out.push_str(&format!("</{tag}>"));
                }
            }
            _ => out.push_str(g.pick(TEXT)),
        }
    }
}

fn page(g: &mut Gen) -> Vec<u8> {
    let mut s = String::new();
    if g.below(2) == 0 {
        s.push_str(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>t</title></head><body>",
        );
    }
    fragment(g, 0, &mut s);
    if g.below(3) > 0 {
        s.push_str("</body></html>\n");
    }
    let mut bytes = s.into_bytes();
    if g.below(10) == 0 {
        // Invalid UTF-8 and raw control bytes: the stream must survive them too.
        let at = g.below(bytes.len().max(1));
        bytes.splice(at..at, [0xff, 0xfe, 0xc3, 0x28, 0x00]);
    }
    bytes
}

/// Extraction settings: the defaults, or markup order ids plus an order lookup
/// API (so that a page naming only the order is decided at its end).
fn extract_config(g: &mut Gen) -> ExtractConfig {
    if g.below(2) == 0 {
        return ExtractConfig::default();
    }
    ExtractConfig {
        order_id_selectors: vec![SelectorRule {
            selector: "div#order".into(),
            attr: Some("class".into()),
            after: None,
            before: None,
        }],
        lookup: Some(LookupConfig {
            url: "https://oms.example/orders/{order_id}".into(),
            header: "X-Key".into(),
            secret: "OMS".into(),
            timeout_ms: 40,
            response: Default::default(),
        }),
        ..ExtractConfig::default()
    }
}

/// Streams `bytes` through a page flow as the worker's glue does: send each
/// chunk's output, decide on the next pull once the flow asks, decide at the
/// end if it asks then, and finish.
fn run(bytes: &[u8], g: &mut Gen, anchor: &Anchor, block: Option<&[u8]>) -> Vec<u8> {
    let mut settings = Settings::default();
    settings.placement.selector = anchor.selector.clone();
    settings.placement.position = anchor.position;
    let mut flow = PageFlow::new(&settings, &extract_config(g), Vec::new());
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut decide_now = false;
    while !rest.is_empty() {
        if decide_now {
            out.extend(flow.decide(block.map(<[u8]>::to_vec)));
        }
        let take = (1 + g.below(97)).min(rest.len());
        out.extend(flow.write(&rest[..take]));
        rest = &rest[take..];
        decide_now = flow.wants_decision(false);
    }
    if decide_now || flow.wants_decision(true) {
        out.extend(flow.decide(block.map(<[u8]>::to_vec)));
    }
    out.extend(flow.finish().0);
    out
}

#[test]
fn generated_pages_are_never_corrupted() {
    const BLOCK: &[u8] = b"<section class=\"upsell-offers\">OFFERS</section>";
    let anchors = [
        Anchor::default(),
        Anchor {
            selector: Some("#order".into()),
            position: Position::After,
        },
        Anchor {
            selector: Some("div.o1".into()),
            position: Position::Prepend,
        },
        Anchor {
            selector: Some("li".into()),
            position: Position::Before,
        },
    ];
    let mut inserted = 0;
    for seed in 0..400u64 {
        let mut g = Gen(seed);
        let bytes = page(&mut g);
        for anchor in &anchors {
            let without = run(&bytes, &mut g, anchor, None);
            assert_eq!(
                without, bytes,
                "seed {seed}, {anchor:?}: no offers must mean identical bytes"
            );
            let with = run(&bytes, &mut g, anchor, Some(BLOCK));
            let found = with.windows(BLOCK.len()).filter(|w| *w == BLOCK).count();
            let pre_existing = bytes.windows(BLOCK.len()).filter(|w| *w == BLOCK).count();
            assert!(found <= pre_existing + 1, "seed {seed}: block at most once");
            if found > pre_existing {
                inserted += 1;
                let at = with
                    .windows(BLOCK.len())
                    .position(|w| w == BLOCK)
                    .expect("found");
                let mut back = with.clone();
                back.drain(at..at + BLOCK.len());
                assert_eq!(
                    back, bytes,
                    "seed {seed}, {anchor:?}: only the block is added"
                );
            } else {
                assert_eq!(with, bytes, "seed {seed}, {anchor:?}: no block, no change");
            }
        }
    }
    assert!(
        inserted > 200,
        "the generator must exercise insertion too ({inserted})"
    );
}
