//! `model-builder synth` end to end: determinism, schema, and the statistical
//! structure it promises (basket sizes, Zipf skew, regional taste, seasonality,
//! repeat customers, planted partners that co-occur far above chance).

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const HEADER: &str = "order_id,sku,ts,region,price,quantity,category,customer_id,brand";

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("synth-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `model-builder synth` with `args`, returning (status ok, stderr).
fn synth(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_model-builder"))
        .arg("synth")
        .args(args)
        .output()
        .expect("run model-builder");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Generates orders (+ truth + catalog) into `d` and returns their paths.
fn generate(d: &Path, extra: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
    let (o, t, c) = (
        d.join("orders.csv"),
        d.join("truth.csv"),
        d.join("catalog.csv"),
    );
    let mut args = vec![
        "--out",
        o.to_str().unwrap(),
        "--truth",
        t.to_str().unwrap(),
        "--catalog",
        c.to_str().unwrap(),
        "-q",
    ];
    args.extend_from_slice(extra);
    let (ok, err) = synth(&args);
    assert!(ok, "synth failed: {err}");
    (o, t, c)
}

struct Row {
    order: u64,
    sku: String,
    ts: String,
    region: String,
    category: String,
    customer: String,
}

fn read_orders(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(HEADER));
    lines
        .enumerate()
        .map(|(i, l)| {
            let n = i + 2;
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 9, "line {n}: {l:?}");
            let price: f64 = f[4]
                .parse()
                .unwrap_or_else(|_| panic!("line {n}: price {:?}", f[4]));
            let cents = f[4].split('.').nth(1).map(str::len);
            assert!(price > 0.0 && cents == Some(2), "line {n}: {l}");
            let qty: u32 = f[5].parse().unwrap();
            assert!(qty >= 1, "line {n}: quantity {qty}");
            assert!(
                f[7].starts_with('C') && f[7][1..].parse::<u64>().is_ok(),
                "line {n}: {l}"
            );
            assert_eq!(f[8], "acme", "line {n}: brand");
            Row {
                order: f[0].parse().unwrap(),
                sku: f[1].to_string(),
                ts: f[2].to_string(),
                region: f[3].to_string(),
                category: f[6].to_string(),
                customer: f[7].to_string(),
            }
        })
        .collect()
}

/// One SKU's line of the truth file.
struct Truth {
    launched: String,
    partners: Vec<String>,
}

fn read_truth(path: &Path) -> HashMap<String, Truth> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("sku,mission,launched,partners"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 4, "{l:?}");
            let partners = f[3].split_whitespace().map(str::to_string).collect();
            (
                f[0].to_string(),
                Truth {
                    launched: f[2].to_string(),
                    partners,
                },
            )
        })
        .collect()
}

/// Orders as lists of SKUs (rows of one order are adjacent).
fn baskets(rows: &[Row]) -> Vec<Vec<&str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    let mut last = None;
    for r in rows {
        if last != Some(r.order) {
            out.push(Vec::new());
            last = Some(r.order);
        }
        out.last_mut().unwrap().push(&r.sku);
    }
    out
}

fn mean_size(b: &[Vec<&str>]) -> f64 {
    b.iter().map(Vec::len).sum::<usize>() as f64 / b.len() as f64
}

/// Share of lines per category among `rows`.
fn category_shares<'a>(rows: impl Iterator<Item = &'a Row>) -> HashMap<&'a str, f64> {
    let mut m: HashMap<&str, f64> = HashMap::new();
    let mut n = 0.0;
    for r in rows {
        *m.entry(&r.category).or_default() += 1.0;
        n += 1.0;
    }
    m.into_iter().map(|(k, v)| (k, v / n)).collect()
}

/// Total variation distance between two distributions.
fn total_variation(a: &HashMap<&str, f64>, b: &HashMap<&str, f64>) -> f64 {
    let keys: HashSet<&str> = a.keys().chain(b.keys()).copied().collect();
    keys.iter()
        .map(|k| (a.get(k).unwrap_or(&0.0) - b.get(k).unwrap_or(&0.0)).abs())
        .sum::<f64>()
        / 2.0
}

#[test]
fn same_seed_gives_identical_files_for_any_thread_count_and_another_seed_differs() {
    let common = "--skus 300 --regions 3";
    let run = |name: &str, extra: &str| {
        let args: Vec<String> = format!("{common} {extra}")
            .split(' ')
            .map(String::from)
            .collect();
        generate(
            &dir(name),
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    };
    let fa = run("det-a", "--orders 3000 --seed 42 --threads 1");
    let fb = run("det-b", "--orders 3000 --seed 42 --threads 3");
    let fc = run("det-c", "--orders 3000 --seed 43 --threads 1");
    for (x, y) in [(&fa.0, &fb.0), (&fa.1, &fb.1), (&fa.2, &fb.2)] {
        assert_eq!(
            std::fs::read(x).unwrap(),
            std::fs::read(y).unwrap(),
            "{}",
            x.display()
        );
    }
    assert_ne!(std::fs::read(&fa.0).unwrap(), std::fs::read(&fc.0).unwrap());
    assert_ne!(std::fs::read(&fa.1).unwrap(), std::fs::read(&fc.1).unwrap());

    // Days busier than one generation chunk (8192 orders) are split across threads too.
    let one = run("det-d", "--seed 7 --days 2 --orders 40000 --threads 1");
    let two = run("det-e", "--seed 7 --days 2 --orders 40000 --threads 2");
    let text = std::fs::read(&one.0).unwrap();
    assert_eq!(text, std::fs::read(&two.0).unwrap());
    let rows = read_orders(&one.0);
    let ids: Vec<u64> = rows.iter().map(|r| r.order).collect();
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] || w[1] == w[0] + 1),
        "order ids run consecutively"
    );
    assert_eq!(ids.last().unwrap() - ids[0] + 1, 40000);
}

#[test]
fn gzip_output_holds_the_same_bytes() {
    let d = dir("gzip");
    let plain = d.join("o.csv");
    let gz = d.join("o.csv.gz");
    for out in [&plain, &gz] {
        let (ok, err) = synth(&[
            "--orders",
            "2000",
            "--skus",
            "200",
            "--seed",
            "5",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
    }
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap())
        .read_to_end(&mut text)
        .unwrap();
    assert_eq!(text, std::fs::read(&plain).unwrap());
    assert!(!d.join("o.csv.gz.partial").exists());
}

#[test]
fn schema_catalog_and_time_order() {
    let d = dir("schema");
    let (o, t, c) = generate(
        &d,
        &[
            "--orders",
            "5000",
            "--skus",
            "500",
            "--regions",
            "4",
            "--days",
            "30",
            "--start",
            "2024-02-20",
        ],
    );
    let rows = read_orders(&o);
    let orders: HashSet<u64> = rows.iter().map(|r| r.order).collect();
    assert_eq!(orders.len(), 5000);
    let regions: HashSet<&str> = rows.iter().map(|r| r.region.as_str()).collect();
    assert_eq!(regions.len(), 4, "{regions:?}");
    // Timestamps: `YYYY-MM-DD HH:MM:SS`, within the 30 days, never decreasing.
    let mut prev = String::new();
    for r in &rows {
        let b = r.ts.as_bytes();
        assert_eq!(b.len(), 19, "{}", r.ts);
        assert!(
            b[4] == b'-' && b[7] == b'-' && b[10] == b' ' && b[13] == b':' && b[16] == b':',
            "{}",
            r.ts
        );
        assert!(
            r.ts.as_str() >= "2024-02-20 00:00:00" && r.ts.as_str() < "2024-03-21 00:00:00",
            "{}",
            r.ts
        );
        assert!(r.ts >= prev, "{} after {prev}", r.ts);
        prev.clone_from(&r.ts);
    }
    assert!(
        rows.iter().any(|r| r.ts.starts_with("2024-02-29")),
        "leap day present"
    );
    // Catalog: every SKU once, with 7 fields, and every ordered SKU in it with its category.
    let cat = std::fs::read_to_string(&c).unwrap();
    let mut lines = cat.lines();
    assert_eq!(
        lines.next(),
        Some("sku,title,price,url,image,category,in_stock")
    );
    let mut catalog = HashMap::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 7, "{l:?}");
        assert!(f[2].parse::<f64>().unwrap() > 0.0, "{l}");
        assert!(
            f[3].starts_with("https://") && f[4].starts_with("https://"),
            "{l}"
        );
        assert!(f[6] == "true" || f[6] == "false", "{l}");
        catalog.insert(f[0].to_string(), f[5].to_string());
    }
    assert_eq!(catalog.len(), 500);
    for r in &rows {
        assert_eq!(catalog.get(&r.sku), Some(&r.category), "{} category", r.sku);
    }
    for b in baskets(&rows) {
        assert_eq!(
            b.iter().collect::<HashSet<_>>().len(),
            b.len(),
            "SKU twice in {b:?}"
        );
    }
    // Launches: a share of SKUs go on sale during the history and never sell before.
    let truth = read_truth(&t);
    assert_eq!(truth.len(), 500);
    let late: HashSet<&str> = truth
        .iter()
        .filter(|(_, t)| t.launched.as_str() > "2024-02-20")
        .map(|(s, _)| s.as_str())
        .collect();
    assert!(
        (20..=80).contains(&late.len()),
        "{} SKUs launched during the history",
        late.len()
    );
    for r in &rows {
        assert!(
            r.ts[..10] >= *truth[&r.sku].launched,
            "{} sold on {} before its launch",
            r.sku,
            r.ts
        );
    }
    assert!(
        rows.iter().any(|r| late.contains(r.sku.as_str())),
        "launched SKUs do sell"
    );
}

#[test]
fn basket_sizes_have_the_requested_mean_and_a_long_tail() {
    let (o, _, _) = generate(&dir("basket"), &["--orders", "40000", "--skus", "3000"]);
    let rows = read_orders(&o);
    let b = baskets(&rows);
    let mean = mean_size(&b);
    assert!((mean - 3.3).abs() < 0.1, "mean basket {mean}");
    let singles = b.iter().filter(|x| x.len() == 1).count() as f64 / b.len() as f64;
    assert!((0.2..0.4).contains(&singles), "single-line share {singles}");
    assert!(b.iter().any(|x| x.len() >= 15), "long tail");

    let (o, _, _) = generate(
        &dir("basket-2"),
        &["--orders", "20000", "--skus", "3000", "--mean-basket", "2"],
    );
    let mean = mean_size(&baskets(&read_orders(&o)));
    assert!((mean - 2.0).abs() < 0.1, "mean basket {mean}");
}

#[test]
fn popularity_is_zipf_skewed_and_regions_differ_in_taste() {
    let (o, _, _) = generate(
        &dir("zipf"),
        &["--orders", "60000", "--skus", "4000", "--regions", "3"],
    );
    let rows = read_orders(&o);
    let mut count: HashMap<&str, f64> = HashMap::new();
    for r in &rows {
        *count.entry(&r.sku).or_default() += 1.0;
    }
    let mut freq: Vec<f64> = count.values().copied().collect();
    freq.sort_by(|a, b| b.total_cmp(a));
    let total: f64 = freq.iter().sum();
    let top10: f64 = freq[..400].iter().sum::<f64>() / total;
    assert!(
        top10 > 0.4,
        "top 10% of SKUs carry {top10} of lines (uniform: 0.1)"
    );
    // Log-log slope of frequency against rank over ranks 10..1000.
    let pts: Vec<(f64, f64)> = (10..1000)
        .map(|i| (((i + 1) as f64).ln(), freq[i].ln()))
        .collect();
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / pts.len() as f64;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
    let slope = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>()
        / pts.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>();
    assert!((-1.3..-0.5).contains(&slope), "log-log slope {slope}");

    // Category shares: two regions differ far more than two halves of one region.
    let uk = category_shares(rows.iter().filter(|r| r.region == "uk"));
    let eu = category_shares(rows.iter().filter(|r| r.region == "eu"));
    let uk_even = category_shares(rows.iter().filter(|r| r.region == "uk" && r.order % 2 == 0));
    let uk_odd = category_shares(rows.iter().filter(|r| r.region == "uk" && r.order % 2 == 1));
    let between = total_variation(&uk, &eu);
    let within = total_variation(&uk_even, &uk_odd);
    assert!(
        between > 3.0 * within && between > 0.1,
        "between regions {between}, within {within}"
    );
}

#[test]
fn seasons_and_repeat_customers() {
    let (o, _, _) = generate(
        &dir("season"),
        &["--orders", "30000", "--skus", "1000", "--days", "365"],
    );
    let rows = read_orders(&o);
    let mut per_month = [0usize; 12];
    let mut orders_of: HashMap<&str, HashSet<u64>> = HashMap::new();
    let mut region_of: HashMap<&str, &str> = HashMap::new();
    for r in &rows {
        per_month[r.ts[5..7].parse::<usize>().unwrap() - 1] += 1;
        orders_of.entry(&r.customer).or_default().insert(r.order);
        let reg = region_of.entry(&r.customer).or_insert(&r.region);
        assert_eq!(
            *reg, r.region,
            "customer {} lives in one region",
            r.customer
        );
    }
    assert!(
        per_month[11] as f64 > 1.2 * per_month[2] as f64,
        "December vs March: {per_month:?}"
    );
    let repeat =
        orders_of.values().filter(|o| o.len() >= 2).count() as f64 / orders_of.len() as f64;
    let loyal = orders_of.values().filter(|o| o.len() >= 10).count();
    assert!(
        repeat > 0.3,
        "share of customers with repeat orders {repeat}"
    );
    assert!(loyal > 0, "some customers order at least 10 times");

    // Category seasonality: some categories swing through the year far more
    // than sampling noise does, while the flattest barely moves.
    let mut by_cat: HashMap<&str, [f64; 12]> = HashMap::new();
    for r in &rows {
        by_cat.entry(&r.category).or_default()[r.ts[5..7].parse::<usize>().unwrap() - 1] += 1.0;
    }
    let mut swings: Vec<f64> = by_cat
        .values()
        .filter(|m| m.iter().sum::<f64>() > 0.02 * rows.len() as f64)
        .map(|m| {
            let share: Vec<f64> = m.iter().zip(per_month).map(|(c, t)| c / t as f64).collect();
            share.iter().copied().fold(0.0, f64::max) / share.iter().copied().fold(1.0, f64::min)
        })
        .collect();
    swings.sort_by(f64::total_cmp);
    let (min, max) = (swings[0], swings[swings.len() - 1]);
    assert!(
        max > 3.0 && min < 1.5,
        "max/min monthly share per category: {swings:?}"
    );
}

#[test]
fn planted_partners_co_occur_far_above_chance() {
    let (o, t, _) = generate(
        &dir("partners"),
        &["--orders", "50000", "--skus", "2000", "--seed", "9"],
    );
    let rows = read_orders(&o);
    let truth = read_truth(&t);
    let b = baskets(&rows);
    let n = b.len() as f64;
    let mut count: HashMap<&str, f64> = HashMap::new();
    for r in &rows {
        *count.entry(&r.sku).or_default() += 1.0;
    }
    let mut ranked: Vec<(&str, f64)> = count.iter().map(|(k, v)| (*k, *v)).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let top: Vec<&str> = ranked.into_iter().take(50).map(|x| x.0).collect();
    let top_set: HashSet<&str> = top.iter().copied().collect();
    let mut co: HashMap<&str, HashMap<&str, f64>> = HashMap::new();
    for basket in &b {
        for &a in basket.iter().filter(|a| top_set.contains(**a)) {
            for &x in basket.iter().filter(|x| **x != a) {
                *co.entry(a).or_default().entry(x).or_default() += 1.0;
            }
        }
    }
    let lift = |a: &str, x: &str, c: &HashMap<&str, f64>| {
        let expect = count[a] * count.get(x).copied().unwrap_or(0.0) / n;
        (expect > 0.0).then(|| c.get(x).copied().unwrap_or(0.0) / expect)
    };
    let (mut partner_lifts, mut other_lifts, mut partner_is_best) = (Vec::new(), Vec::new(), 0);
    for (i, a) in top.iter().enumerate() {
        let partners = &truth[*a].partners;
        let c = co.get(a).cloned().unwrap_or_default();
        partner_lifts.extend(partners.iter().filter_map(|p| lift(a, p, &c)));
        // A non-partner of similar popularity: the next best seller.
        let other = top[(i + 1) % top.len()];
        if !partners.iter().any(|p| p == other) {
            other_lifts.extend(lift(a, other, &c));
        }
        let best = c
            .iter()
            .max_by(|x, y| x.1.total_cmp(y.1).then(y.0.cmp(x.0)))
            .map(|x| *x.0);
        if best.is_some_and(|b| partners.iter().any(|p| p == b)) {
            partner_is_best += 1;
        }
    }
    partner_lifts.sort_by(f64::total_cmp);
    other_lifts.sort_by(f64::total_cmp);
    let median = partner_lifts[partner_lifts.len() / 2];
    let other_median = other_lifts[other_lifts.len() / 2];
    assert!(median > 10.0, "median lift of planted partners {median}");
    assert!(
        other_median < 3.0,
        "median lift of non-partners {other_median}"
    );
    assert!(
        partner_is_best >= 40,
        "most co-bought item is a planted partner for {partner_is_best}/50"
    );
}

#[test]
fn bad_flags_are_named() {
    let d = dir("bad");
    let out = d.join("o.csv");
    let (ok, err) = synth(&["--skus", "5", "--out", out.to_str().unwrap()]);
    assert!(!ok && err.contains("--skus"), "{err}");
    let (ok, err) = synth(&["--start", "2025-13-01", "--out", out.to_str().unwrap()]);
    assert!(!ok && err.contains("--start"), "{err}");
    let missing = d.join("missing/dir/o.csv");
    let (ok, err) = synth(&["--orders", "10", "--out", missing.to_str().unwrap()]);
    assert!(!ok && err.contains("missing/dir/o.csv.partial"), "{err}");
}

/// The builder recovers the planted structure: `build` on synthetic orders,
/// then `recommend` for best sellers, offers mostly their planted partners.
#[test]
fn build_and_recommend_recover_planted_partners() {
    let d = dir("recover");
    let (o, t, c) = generate(&d, &["--orders", "10000", "--skus", "600", "--seed", "3"]);
    let bin = env!("CARGO_BIN_EXE_model-builder");
    let table = d.join("table");
    let out = Command::new(bin)
        .args([
            "build",
            "--orders",
            o.to_str().unwrap(),
            "--catalog",
            c.to_str().unwrap(),
        ])
        .args(["--out", table.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rows = read_orders(&o);
    let truth = read_truth(&t);
    let mut count: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        *count.entry(&r.sku).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = count.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    // Best sellers with at least three planted partners, so three slots can all be partners.
    let queries: Vec<&str> = ranked
        .iter()
        .map(|x| x.0)
        .filter(|s| truth[*s].partners.len() >= 3)
        .take(30)
        .collect();
    let input: String = queries
        .iter()
        .map(|s| format!("{{\"skus\":[\"{s}\"]}}\n"))
        .collect();
    let mut child = Command::new(bin)
        .args(["recommend", "--table", table.to_str().unwrap(), "-k", "3"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let (mut hits, mut offered) = (0, 0);
    for (q, line) in queries.iter().zip(text.lines()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for offer in v["offers"].as_array().unwrap() {
            offered += 1;
            let sku = offer["sku"].as_str().unwrap();
            if truth[*q].partners.iter().any(|p| p == sku) {
                hits += 1;
            }
        }
    }
    assert_eq!(text.lines().count(), queries.len());
    assert!(
        offered >= 80,
        "{offered} offers for {} queries",
        queries.len()
    );
    let precision = hits as f64 / offered as f64;
    // By chance about 3 in 600; the planted signal makes most offers partners.
    assert!(
        precision > 0.6,
        "share of offers that are planted partners: {precision}"
    );
}
