//! Nothing in extraction may panic, whatever the bytes: random input,
//! garbled and truncated confirmation pages, hostile script bodies.

use upsell_edge::extract::{self, jsvalue, ExtractConfig};

/// Small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn pages() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pages");
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert!(out.len() >= 8);
    out.sort();
    out
}

fn configs() -> Vec<ExtractConfig> {
    let mut c: Vec<ExtractConfig> = extract::PRESETS
        .iter()
        .filter_map(|p| ExtractConfig::preset(p))
        .collect();
    c.push(ExtractConfig::default());
    c
}

#[test]
fn random_bytes_do_not_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let cfg = ExtractConfig::preset("magento2").unwrap();
    // Bytes biased towards the characters the parsers care about.
    let alphabet = b"<>/=\"' {}[]():,;.\\`-+0123456789abcdefscriptSCRIPTpush(gtag'event'purchase'ecommerce!\n\t\x00\xff\xc3\xa9";
    for round in 0..300 {
        let len = rng.below(3000);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if round % 2 == 0 {
                    alphabet[rng.below(alphabet.len())]
                } else {
                    rng.next() as u8
                }
            })
            .collect();
        let chunk = 1 + rng.below(50);
        let _ = extract::extract_from_chunks(bytes.chunks(chunk), &cfg);
        let text = String::from_utf8_lossy(&bytes);
        let _ = jsvalue::parse_value(&text);
        let wrapped =
            format!("<script>{text}</script><script type=\"application/ld+json\">{text}</script>");
        let _ = extract::extract_from_html(wrapped.as_bytes(), &cfg);
    }
}

#[test]
fn truncated_and_garbled_pages_do_not_panic() {
    let mut rng = Rng(42);
    let configs = configs();
    for (i, page) in pages().iter().enumerate() {
        let cfg = &configs[i % configs.len()];
        // Truncations at many points, including inside scripts and UTF-8 chars.
        for _ in 0..40 {
            let cut = rng.below(page.len());
            let _ = extract::extract_from_chunks(page[..cut].chunks(1 + rng.below(97)), cfg);
        }
        // Byte flips and deletions.
        for _ in 0..20 {
            let mut p = page.clone();
            for _ in 0..1 + rng.below(30) {
                let at = rng.below(p.len());
                match rng.below(3) {
                    0 => p[at] = rng.next() as u8,
                    1 => {
                        p.remove(at);
                    }
                    _ => p.insert(at, b"{[('\"`</"[rng.below(8)]),
                }
            }
            let _ = extract::extract_from_chunks(p.chunks(1 + rng.below(200)), cfg);
        }
    }
}

#[test]
fn hostile_script_bodies_are_bounded() {
    let cfg = ExtractConfig::default();
    let cases = [
        format!("<script>dataLayer.push({})</script>", "[".repeat(100_000)),
        format!("<script>{}</script>", "f(".repeat(50_000)),
        format!("<script>x = {}</script>", "{a:".repeat(50_000)),
        format!("<script>'{}</script>", "\\".repeat(10_001)),
        format!(
            "<script type=\"application/ld+json\">{}</script>",
            "{\"@type\":\"Order\",\"x\":".repeat(20_000)
        ),
        format!(
            "<script>gtag('event','purchase',{{items:[{}]}})</script>",
            "{item_id:'A'},".repeat(20_000)
        ),
    ];
    for html in &cases {
        let o = extract::extract_from_chunks(html.as_bytes().chunks(4096), &cfg);
        assert!(o.items.len() <= 50_000);
    }
}
