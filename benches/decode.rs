//! Shard decode time (native). `cargo bench -p upsell-edge --bench decode`
//! times a seed-scale shard (256 SKUs × 30 neighbours over 40,000 SKU ids);
//! with `TABLE_DIR=<build output>` it also decodes every neighbour shard of
//! that build and prints size and time per shard.
use std::time::Instant;

use upsell_edge::table::{
    decode_facts, decode_neighbours, encode_facts, encode_neighbours, Facts, Neighbour,
    NeighbourList, Quantiser, SkuFacts,
};

fn time_decode(name: &str, bytes: &[u8], edges: usize) {
    let reps = 2000;
    let t = Instant::now();
    for _ in 0..reps {
        let s = decode_neighbours(std::hint::black_box(bytes)).expect("decodes");
        std::hint::black_box(s.edges());
    }
    let per = t.elapsed().as_secs_f64() / reps as f64;
    println!(
        "{name:<40} {:>8} bytes {:>6} edges {:>5.2} bytes/edge  decode {:>7.1} µs",
        bytes.len(),
        edges,
        bytes.len() as f64 / edges.max(1) as f64,
        per * 1e6
    );
}

/// Seconds per decode of a facts value, the median of 21 (the first pays
/// page faults), and its SKU count.
fn facts_decode_median(bytes: &[u8]) -> (f64, usize) {
    let mut times: Vec<f64> = (0..21)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(decode_facts(bytes).expect("decodes"));
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let skus = decode_facts(bytes).expect("decodes").skus.len();
    (times[10], skus)
}

fn main() {
    // A deterministic seed-scale shard: Zipf-ish neighbour ids, log-spread scores.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let lists: Vec<NeighbourList> = (0..256)
        .map(|i| NeighbourList {
            sku: format!("SKU-{:06}", i * 157),
            fallback: false,
            neighbours: (0..30)
                .map(|_| {
                    let u = (next() % 10_000) as f64 / 10_000.0;
                    Neighbour {
                        id: (40_000.0 * u.powi(3)) as u32,
                        score: (1.0 + (next() % 1000) as f32).recip(),
                        count: (next() % 50) as u32,
                    }
                })
                .collect(),
        })
        .collect();
    let q = Quantiser::fit(
        lists
            .iter()
            .flat_map(|l| l.neighbours.iter().map(|n| n.score)),
    );
    let bytes = encode_neighbours(0, &q, &lists);
    let edges = decode_neighbours(&bytes).expect("decodes").edges();
    time_decode("synthetic 256 SKUs x 30 (40k ids)", &bytes, edges);

    // A seed-scale facts value: 40k SKUs, 300 categories, Zipf-ish popularity.
    let skus: Vec<SkuFacts> = (0..40_000u32)
        .map(|i| SkuFacts {
            sku: format!("SKU-{:06}", (i * 7_919) % 1_000_000),
            price: 1.0 + (next() % 10_000) as f32 / 100.0,
            cost: (i % 3 == 0).then_some(0.5),
            in_stock: i % 17 != 0,
            offerable: true,
            category: (i % 11 != 0).then(|| format!("category-{}", next() % 300)),
            popularity: 1 + 1_000_000 / (1 + i),
        })
        .collect();
    let facts = Facts::new("v", "brand", "all", 18_000_000, skus, 50);
    let bytes = encode_facts(&facts);
    println!(
        "{:<40} {:>8} bytes {:>6} SKUs   decode {:>7.1} µs (median of 21)",
        "synthetic facts, 40k SKUs",
        bytes.len(),
        facts.skus.len(),
        facts_decode_median(&bytes).0 * 1e6
    );

    if let Ok(dir) = std::env::var("TABLE_DIR") {
        let root = std::path::Path::new(&dir).join("kv");
        let mut stack = vec![root];
        let (mut total_bytes, mut total_edges, mut total_t, mut shards) =
            (0usize, 0usize, 0f64, 0usize);
        let mut max_t = 0f64;
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("readable dir") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.parent().is_some_and(|q| q.ends_with("nbr")) {
                    let b = std::fs::read(&p).expect("readable");
                    let reps = 200;
                    let t = Instant::now();
                    let mut edges = 0;
                    for _ in 0..reps {
                        edges = decode_neighbours(std::hint::black_box(&b))
                            .expect("decodes")
                            .edges();
                    }
                    let per = t.elapsed().as_secs_f64() / reps as f64;
                    max_t = max_t.max(per);
                    total_t += per;
                    total_bytes += b.len();
                    total_edges += edges;
                    shards += 1;
                } else if p.file_name().is_some_and(|n| n == "facts") {
                    let b = std::fs::read(&p).expect("readable");
                    let (median, skus) = facts_decode_median(&b);
                    println!(
                        "facts {:<50} {:>8} bytes {:>6} SKUs  decode {:>7.1} µs (median of 21)",
                        p.strip_prefix(&dir).unwrap_or(&p).display(),
                        b.len(),
                        skus,
                        median * 1e6
                    );
                }
            }
        }
        println!(
            "{shards} neighbour shards of {dir}: {:.2} bytes/edge, mean {:.0} bytes/shard, decode mean {:.1} µs, max {:.1} µs",
            total_bytes as f64 / total_edges.max(1) as f64,
            total_bytes as f64 / shards.max(1) as f64,
            total_t / shards.max(1) as f64 * 1e6,
            max_t * 1e6
        );
    }
}
