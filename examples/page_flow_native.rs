//! The worker's page flow (lol_html with the order sniffer, the brand's markup
//! selectors, the meta-CSP observer and the injector), natively, for
//! instruction counts: `valgrind --tool=callgrind` counts do not move with the
//! machine's load as wall time does (BENCHMARKS.md, "Worker CPU per page").
//!
//! `cargo run --release --example page_flow_native -- CONFIG.json BRAND REGION PAGE.html [RUNS] [bare]`
//! runs the page flow (deciding "no offers") RUNS times over PAGE in 16 KB
//! chunks and prints the bytes sent; with `bare`, lol_html alone with no
//! handlers (the parser's floor). `scripts/bench-wasm` writes the config
//! and, with `BENCH_PAGE_OUT=DIR`, its two pages.

use std::rc::Rc;

use upsell_edge::config::CompiledConfig;
use upsell_edge::serve::{meta_csp_observer, PageFlow, PreparedConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, brand, region, page, rest @ ..] = args.as_slice() else {
        eprintln!("usage: page_flow_native CONFIG.json BRAND REGION PAGE.html [RUNS] [bare]");
        std::process::exit(2);
    };
    let runs: usize = rest
        .first()
        .map_or(1, |r| r.parse().expect("RUNS is a number"));
    let bare = rest.get(1).is_some_and(|m| m == "bare");
    let config = CompiledConfig::from_json(&std::fs::read(config).expect("config readable"))
        .expect("config valid");
    let config = PreparedConfig::new(config);
    let html = std::fs::read(page).expect("page readable");
    let settings = config
        .settings(brand, region)
        .expect("brand and region configured");
    let extract = config.extract(brand, region);
    let mut sent = 0;
    for _ in 0..runs {
        if bare {
            let mut rw = lol_html::HtmlRewriter::new(lol_html::Settings::new(), |c: &[u8]| {
                sent += c.len();
            });
            for piece in html.chunks(16 * 1024) {
                rw.write(piece).expect("lol_html parses the page");
            }
            rw.end().expect("lol_html ends the page");
            continue;
        }
        let csp = Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut flow = PageFlow::new(settings, &extract, vec![meta_csp_observer(csp)]);
        for piece in html.chunks(16 * 1024) {
            sent += flow.write(piece).len();
            if flow.wants_decision(false) {
                sent += flow.decide(None).len();
            }
        }
        sent += flow.finish().0.len();
    }
    println!("{sent} bytes sent over {runs} runs");
}
