//! Extraction throughput: CPU time per confirmation page, natively.
//!
//! `cargo bench --bench extract` prints, for each saved test page and for a
//! ~150 KB page (the Magento page padded with a large nav, product grid and
//! a 60 KB inline application script), the time per page with the sniffer
//! and for a bare lol_html pass-through, so the sniffer's own cost is
//! visible. The big page comes twice: once with an application script that
//! mentions no payload word (skipped by the pre-filter, the common case) and
//! once where it mentions `purchase`/`order_id` in every call, so every call
//! is parsed (the worst case).

use std::hint::black_box;
use std::time::{Duration, Instant};

use upsell_edge::extract::{self, ExtractConfig, OrderSniffer};

fn passthrough(html: &[u8], chunk: usize) {
    let mut rw = lol_html::HtmlRewriter::new(lol_html::Settings::new(), |c: &[u8]| {
        black_box(c);
    });
    for c in html.chunks(chunk) {
        rw.write(c).unwrap();
    }
    rw.end().unwrap();
}

fn sniff(html: &[u8], cfg: &ExtractConfig, chunk: usize) -> bool {
    let sniffer = OrderSniffer::new(cfg);
    let settings = sniffer
        .handlers()
        .into_iter()
        .fold(lol_html::Settings::new(), |s, h| {
            s.append_element_content_handler(h)
        });
    let mut rw = lol_html::HtmlRewriter::new(settings, |c: &[u8]| {
        black_box(c);
    });
    for c in html.chunks(chunk) {
        rw.write(c).unwrap();
    }
    rw.end().unwrap();
    sniffer.is_complete()
}

/// User+system CPU time of this process so far (Linux `/proc`), so the
/// figure is not inflated by other processes competing for the cores.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 12th and 13th of those, in clock ticks (USER_HZ, 100 on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Time per call of `f`: (median wall clock, mean CPU time), over about
/// half a second of calls.
fn time(mut f: impl FnMut()) -> (Duration, Option<Duration>) {
    let mut iters = 1u32;
    loop {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        if t.elapsed() > Duration::from_millis(20) {
            break;
        }
        iters *= 2;
    }
    let cpu0 = cpu_time();
    let mut samples: Vec<Duration> = (0..25)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed() / iters
        })
        .collect();
    let cpu = cpu0.zip(cpu_time()).map(|(a, b)| (b - a) / (25 * iters));
    samples.sort();
    (samples[samples.len() / 2], cpu)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn big_page(base: &[u8], trigger_words: bool) -> Vec<u8> {
    let base = String::from_utf8_lossy(base).into_owned();
    let mut nav = String::from("<nav class=\"mega-menu\"><ul>");
    for i in 0..300 {
        nav.push_str(&format!(
            "<li class=\"level1 nav-{i}\"><a href=\"https://shop.example/category-{i}.html\"><span>Catégorie {i} — Été</span></a></li>"
        ));
    }
    nav.push_str("</ul></nav>");
    let mut grid = String::from("<ol class=\"products list\">");
    for i in 0..120 {
        grid.push_str(&format!(
            "<li class=\"item product\"><div class=\"product-item-info\"><a href=\"/p/{i}.html\"><img src=\"/media/{i}.jpg\" alt=\"Product {i}\"/></a><strong class=\"product-item-name\">Product {i}</strong><span class=\"price\">${i}.99</span></div></li>"
        ));
    }
    grid.push_str("</ol>");
    // A large inline application script with many calls and object literals.
    let mut js = String::from("<script>\n");
    let label = if trigger_words {
        "Purchase protection"
    } else {
        "Ünïcode"
    };
    let key = if trigger_words {
        "order_id"
    } else {
        "widget_id"
    };
    for i in 0..400 {
        js.push_str(&format!(
            "window.app.register('widget{i}', {{selector: '.w{i}', options: {{delay: {i}, label: '{label} {i}', {key}: {i}, cb: function (e) {{ return e && e.target ? track('click', {{id: {i}}}) : null; }}}}}});\n"
        ));
    }
    js.push_str("</script>");
    base.replacen("<main", &format!("{nav}{js}<main"), 1)
        .replacen("</main>", &format!("{grid}</main>"), 1)
        .into_bytes()
}

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pages");
    println!(
        "{:<16} {:>8} {:>14} {:>14} {:>14} {:>14}",
        "page", "bytes", "sniffer wall", "sniffer CPU", "bare wall", "bare CPU"
    );
    let row = |name: &str, html: &[u8], cfg: &ExtractConfig| {
        assert!(
            name == "bigcommerce" || !cfg.analytics || sniff(html, cfg, 4096),
            "{name}: not complete"
        );
        let (wall, cpu) = time(|| {
            black_box(sniff(black_box(html), cfg, 4096));
        });
        let (bare_wall, bare_cpu) = time(|| passthrough(black_box(html), 4096));
        let show =
            |d: Option<Duration>| d.map_or("n/a".to_string(), |d| format!("{:.1} µs", us(d)));
        println!(
            "{:<16} {:>8} {:>11.1} µs {:>14} {:>11.1} µs {:>14}",
            name,
            html.len(),
            us(wall),
            show(cpu),
            us(bare_wall),
            show(bare_cpu)
        );
    };
    for name in extract::PRESETS {
        let html = std::fs::read(dir.join(format!("{name}.html"))).unwrap();
        row(name, &html, &ExtractConfig::preset(name).unwrap());
    }
    let magento = std::fs::read(dir.join("magento2.html")).unwrap();
    let preset = ExtractConfig::preset("magento2").unwrap();
    let worst = big_page(&magento, true);
    row("big, worst", &worst, &preset);
    let big = big_page(&magento, false);
    row("big, typical", &big, &preset);
    assert_eq!(extract::extract_from_html(&big, &preset).skus.len(), 3);
    // Where the time goes on the big page.
    row("  scripts only", &big, &ExtractConfig::default());
    let selectors_only = ExtractConfig {
        analytics: false,
        ..preset.clone()
    };
    row("  selectors only", &big, &selectors_only);
}
