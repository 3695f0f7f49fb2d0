//! Differential check: the published lol_html 3.0.3 against the vendored, patched
//! one (`crates/lol_html`, PATCHES.md); `cargo run --release -- [PAGES]`.
//! Random pages (nesting, stray/missing end tags, custom elements, foreign
//! content, raw text) × random selector sets × random chunking; every handler
//! event and the output bytes must be identical.
use rand::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

const TAGS: &[&str] = &[
    "div",
    "span",
    "a",
    "li",
    "ul",
    "p",
    "table",
    "tr",
    "td",
    "script",
    "style",
    "title",
    "textarea",
    "svg",
    "math",
    "path",
    "img",
    "br",
    "meta",
    "x-foo-bar",
    "my-element",
    "DIV",
    "Span",
    "X-Foo-Bar",
    "main",
    "section",
    "h1",
    "b",
    "i",
    "form",
    "input",
    "select",
    "option",
    "template",
    "iframe",
    "noscript",
    "pre",
    "foreignObject",
    "desc",
    "averyveryverylongtagname",
];
const ATTRS: &[&str] = &[
    "id=x",
    "id=y",
    "class=a",
    "class=\"a b\"",
    "class=b",
    "data-sku=1",
    "http-equiv=refresh",
    "type=text/javascript",
    "href=/p/1",
    "href=/q",
    "data-order-id=9",
    "ID=X",
    "/",
];
const SELECTORS: &[&str] = &[
    "div",
    "span.a",
    "#x",
    ".b",
    "div#x",
    "li > a",
    "ul li",
    "div span",
    "script",
    "meta[http-equiv]",
    "*",
    ":not(div)",
    "x-foo-bar",
    "X-FOO-BAR",
    "td",
    "p:nth-child(2)",
    "li:first-child",
    "a[href^='/p']",
    "div > *",
    ":not(span) > .b",
    "svg path",
    "[data-sku]",
    "table td",
    "p:nth-of-type(2)",
    "main",
    "my-element span",
    "averyveryverylongtagname",
    "span",
    "a",
    "li",
    "div.a > span",
    "ul > li > a",
    "section p",
    ":not(:not(div))",
    "div:not(.a)",
    "x-foo-bar > span",
];

fn page(rng: &mut StdRng) -> String {
    let mut s = String::new();
    if rng.gen_bool(0.5) {
        s.push_str("<!doctype html><html><head>");
    }
    let mut open: Vec<&str> = Vec::new();
    for _ in 0..rng.gen_range(5..200) {
        match rng.gen_range(0..12) {
            0..=4 => {
                let t = TAGS[rng.gen_range(0..TAGS.len())];
                s.push('<');
                s.push_str(t);
                for _ in 0..rng.gen_range(0..3) {
                    s.push(' ');
                    s.push_str(ATTRS[rng.gen_range(0..ATTRS.len())]);
                }
                s.push('>');
                open.push(t);
                if matches!(t, "script" | "style" | "title" | "textarea") {
                    s.push_str(
                        ["var a = '<div>';", "x < y && </span>", "hi", ""][rng.gen_range(0..4)],
                    );
                    s.push_str("</");
                    s.push_str(t);
                    s.push('>');
                    open.pop();
                }
            }
            5..=7 => {
                if let Some(t) = open.pop() {
                    s.push_str("</");
                    s.push_str(if rng.gen_bool(0.2) { &t[..1] } else { t });
                    s.push('>');
                }
            }
            8 => {
                // stray end tag
                let t = TAGS[rng.gen_range(0..TAGS.len())];
                s.push_str("</");
                s.push_str(t);
                s.push('>');
            }
            9 => s.push_str(
                ["text ", "a &amp; b", " ", "<!-- c -->", "<![CDATA[x]]>"][rng.gen_range(0..5)],
            ),
            10 => {
                if !open.is_empty() {
                    let i = rng.gen_range(0..open.len());
                    let t = open[i];
                    open.truncate(i);
                    s.push_str("</");
                    s.push_str(t);
                    s.push('>');
                }
            }
            _ => s.push_str("<br/><img src=x>"),
        }
    }
    s
}

macro_rules! run_with {
    ($name:ident, $lol:ident) => {
        fn $name(
            html: &[u8],
            sels: &[usize],
            cuts: &[usize],
            mutate: usize,
        ) -> (Vec<String>, Vec<u8>, String) {
            use $lol::html_content::ContentType;
            use $lol::{HtmlRewriter, Settings};
            let log = Rc::new(RefCell::new(Vec::<String>::new()));
            let mut handlers = Vec::new();
            for (k, &si) in sels.iter().enumerate() {
                let sel: $lol::Selector = SELECTORS[si].parse().unwrap();
                let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
                let h = $lol::ElementContentHandlers::default()
                    .element(move |el: &mut $lol::html_content::Element<'_, '_>| {
                        let loc = el.source_location().bytes();
                        l1.borrow_mut()
                            .push(format!("el {k} {} {:?}", el.tag_name(), loc));
                        if k == mutate {
                            el.set_attribute("data-m", "1").ok();
                            if el.can_have_content() && el.tag_name().len() % 2 == 0 {
                                el.set_inner_content("<i>x</i>", ContentType::Html);
                            }
                        }
                        let l = l1.clone();
                        if let Some(h) = el.end_tag_handlers() {
                            h.push(Box::new(move |end| {
                                l.borrow_mut().push(format!(
                                    "end {k} {} {:?}",
                                    end.name(),
                                    end.source_location().bytes()
                                ));
                                Ok(())
                            }));
                        }
                        Ok(())
                    })
                    .text(move |t: &mut $lol::html_content::TextChunk<'_>| {
                        l2.borrow_mut().push(format!(
                            "text {k} {:?} {}",
                            t.as_str(),
                            t.last_in_text_node()
                        ));
                        Ok(())
                    })
                    .comments(move |c: &mut $lol::html_content::Comment<'_>| {
                        l3.borrow_mut().push(format!("comment {k} {:?}", c.text()));
                        Ok(())
                    });
                handlers.push((std::borrow::Cow::Owned(sel), h));
            }
            let mut out = Vec::new();
            let settings = handlers
                .into_iter()
                .fold(Settings::new(), |s, h| s.append_element_content_handler(h));
            let mut rw = HtmlRewriter::new(settings, |c: &[u8]| out.extend_from_slice(c));
            let mut err = String::new();
            let mut at = 0;
            for &c in cuts.iter().chain([&html.len()]) {
                if let Err(e) = rw.write(&html[at..c]) {
                    err = e.to_string();
                    break;
                }
                at = c;
            }
            if err.is_empty() {
                if let Err(e) = rw.end() {
                    err = e.to_string();
                }
            }
            let log = log.borrow().clone();
            (log, out, err)
        }
    };
}
run_with!(run_published, published);
run_with!(run_patched, patched);

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(20000, |a| a.parse().unwrap());
    let mut events = 0usize;
    for seed in 0..n {
        let mut rng = StdRng::seed_from_u64(seed);
        let html = page(&mut rng).into_bytes();
        let sels: Vec<usize> = (0..rng.gen_range(1..6))
            .map(|_| rng.gen_range(0..SELECTORS.len()))
            .collect();
        let mut cuts: Vec<usize> = (0..rng.gen_range(0..6))
            .map(|_| rng.gen_range(0..=html.len()))
            .collect();
        cuts.sort();
        let mutate = rng.gen_range(0..8);
        let a = run_published(&html, &sels, &cuts, mutate);
        let b = run_patched(&html, &sels, &cuts, mutate);
        events += a.0.len();
        if a != b {
            eprintln!(
                "MISMATCH seed {seed}\nselectors {:?}\nhtml {}",
                sels.iter().map(|&i| SELECTORS[i]).collect::<Vec<_>>(),
                String::from_utf8_lossy(&html)
            );
            for (x, y) in a.0.iter().zip(&b.0) {
                if x != y {
                    eprintln!("first diff: {x} | {y}");
                    break;
                }
            }
            eprintln!(
                "lens {} {} out eq {} err {:?} {:?}",
                a.0.len(),
                b.0.len(),
                a.1 == b.1,
                a.2,
                b.2
            );
            std::process::exit(1);
        }
    }
    // The handlers must have fired, or identical logs would prove nothing.
    assert!(
        n == 0 || events > n as usize,
        "only {events} handler events over {n} pages"
    );
    println!("{n} pages identical ({events} handler events)");
}
