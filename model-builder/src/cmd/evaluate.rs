//! `model-builder evaluate`: the offer-quality protocol. Split by time (or
//! fraction), build the tables from the training orders exactly as `build`
//! does, decode them as the edge does, and score basket completion (leave one
//! out) with the edge's ranking, next to the baselines.
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args as ClapArgs;
use rayon::prelude::*;
use serde::Serialize;
use upsell_edge::rank::RankPolicy;

use super::model_args::{now_stamps, peak_rss_bytes, InputArgs, ModelArgs};
use crate::ingest::time::{format_timestamp, parse_timestamp};
use crate::ingest::Dataset;
use crate::model::{build_tables, BuildRequest};
use crate::serve::Tables;

/// Flags of `evaluate`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Train on orders before this time, test on orders at or after it.
    /// Without this or --fraction: 2011-11-01, the protocol's split of Online
    /// Retail, when it leaves at least 5 % of the orders on each side, else
    /// the latest 20 % of the orders are the test.
    #[arg(long, conflicts_with = "fraction")]
    split_at: Option<String>,
    /// Test only on orders before this time (e.g. a validation month).
    #[arg(long)]
    test_until: Option<String>,
    /// Test on the latest fraction of orders (by time, else file order).
    #[arg(long)]
    fraction: Option<f64>,
    /// Name of the data set for the record (default: the orders file name).
    #[arg(long)]
    dataset: Option<String>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Metrics of one system.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Metrics {
    /// System name.
    pub system: String,
    /// Hit rate at 3.
    pub hr3: f64,
    /// Hit rate at 10.
    pub hr10: f64,
    /// NDCG at 10.
    pub ndcg10: f64,
    /// Share of queries with at least 3 offers.
    pub coverage_queries: f64,
    /// Share of queries with at least 3 offers from co-purchases (not fallback).
    pub coverage_queries_model: f64,
    /// Share of train SKUs appearing in at least one top-10 list.
    pub coverage_skus: f64,
}

#[derive(Default)]
struct Acc {
    n: u64,
    hr3: f64,
    hr10: f64,
    ndcg: f64,
    cov: u64,
    cov_model: u64,
    shown: Vec<u32>,
}

impl Acc {
    fn add(&mut self, ranked: &[u32], target: u32, model_offers: usize) {
        self.n += 1;
        if let Some(r) = ranked.iter().take(10).position(|&x| x == target) {
            self.hr10 += 1.0;
            self.ndcg += 1.0 / ((r + 2) as f64).log2();
            if r < 3 {
                self.hr3 += 1.0;
            }
        }
        if ranked.len() >= 3 {
            self.cov += 1;
        }
        if model_offers >= 3 {
            self.cov_model += 1;
        }
        self.shown.extend(ranked.iter().take(10));
    }

    fn merge(mut self, o: Acc) -> Acc {
        self.n += o.n;
        self.hr3 += o.hr3;
        self.hr10 += o.hr10;
        self.ndcg += o.ndcg;
        self.cov += o.cov;
        self.cov_model += o.cov_model;
        self.shown.extend(o.shown);
        self.shown.sort_unstable();
        self.shown.dedup();
        self
    }

    fn metrics(mut self, system: &str, train_skus: &[bool]) -> Metrics {
        self.shown.sort_unstable();
        self.shown.dedup();
        let n = self.n.max(1) as f64;
        let train = train_skus.iter().filter(|&&x| x).count().max(1) as f64;
        let shown = self
            .shown
            .iter()
            .filter(|&&s| train_skus[s as usize])
            .count() as f64;
        Metrics {
            system: system.into(),
            hr3: self.hr3 / n,
            hr10: self.hr10 / n,
            ndcg10: self.ndcg / n,
            coverage_queries: self.cov as f64 / n,
            coverage_queries_model: self.cov_model as f64 / n,
            coverage_skus: shown / train,
        }
    }
}

fn parse_time(s: &str, flag: &str) -> Result<i64> {
    match parse_timestamp(s) {
        Some(t) => Ok(t),
        None => bail!("--{flag}: not a timestamp (RFC 3339, YYYY-MM-DD HH:MM:SS, YYYYMMDD or Unix epoch): {s:?}"),
    }
}

/// The protocol's split of UCI Online Retail, the default split.
const PROTOCOL_SPLIT: &str = "2011-11-01 00:00:00";
/// Test share when the default split does not fit the data.
const DEFAULT_FRACTION: f64 = 0.2;

/// True when every order has a time and `at` leaves at least 5 % of them on each side.
fn splits_well(data: &Dataset, at: i64) -> bool {
    let n = data.orders.len();
    let mut before = 0;
    for o in &data.orders {
        match o.ts {
            Some(t) if t < at => before += 1,
            Some(_) => {}
            None => return false,
        }
    }
    let min = (n / 20).max(1);
    before >= min && n - before >= min
}

/// Train/test assignment per order: Some(true) train, Some(false) test, None neither.
fn split(data: &Dataset, args: &Args) -> Result<(Vec<Option<bool>>, String)> {
    let n = data.orders.len();
    let protocol = parse_time(PROTOCOL_SPLIT, "split-at")?;
    let default_misses =
        args.split_at.is_none() && args.fraction.is_none() && !splits_well(data, protocol);
    let fraction = args.fraction.or(default_misses.then_some(DEFAULT_FRACTION));
    if let Some(f) = fraction {
        if !(0.0..1.0).contains(&f) || f == 0.0 {
            bail!("--fraction must be in (0, 1)");
        }
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by_key(|&o| (data.orders[o].ts.unwrap_or(i64::MIN), o));
        let cut = ((1.0 - f) * n as f64).round() as usize;
        let mut out = vec![Some(true); n];
        for &o in &idx[cut..] {
            out[o] = Some(false);
        }
        let mut desc = format!("latest {:.0}% of orders as test", f * 100.0);
        if default_misses {
            desc.push_str(&format!(
                " (no --split-at or --fraction, and {PROTOCOL_SPLIT} does not split these orders)"
            ));
        }
        return Ok((out, desc));
    }
    let at = match &args.split_at {
        Some(s) => parse_time(s, "split-at")?,
        None => protocol,
    };
    let until = args
        .test_until
        .as_deref()
        .map(|s| parse_time(s, "test-until"))
        .transpose()?;
    if data.orders.iter().any(|o| o.ts.is_none()) {
        bail!("a time split needs a timestamp on every order; use --fraction");
    }
    let out = data
        .orders
        .iter()
        .map(|o| {
            let t = o.ts.expect("checked");
            if t < at {
                Some(true)
            } else if until.is_none_or(|u| t < u) {
                Some(false)
            } else {
                None
            }
        })
        .collect();
    let desc = match until {
        Some(u) => format!(
            "train < {}, test [{}, {})",
            format_timestamp(at),
            format_timestamp(at),
            format_timestamp(u)
        ),
        None => format!(
            "train < {}, test >= {}",
            format_timestamp(at),
            format_timestamp(at)
        ),
    };
    Ok((out, desc))
}

/// Runs `evaluate`.
pub fn run(args: Args) -> Result<()> {
    let cfg = args.model.config()?;
    let (data, catalog) = args.input.load(cfg.customer_weight > 0.0)?;
    let (assign, split_desc) = split(&data, &args)?;
    let (built_at, tag) = now_stamps();
    let keep = |o: usize| assign[o] == Some(true);
    let t = Instant::now();
    let set = build_tables(&BuildRequest {
        data: &data,
        catalog: catalog.as_deref(),
        keep: &keep,
        cfg: &cfg,
        version: &tag,
        built_at: &built_at,
        progress: !args.input.quiet,
    });
    let build_s = t.elapsed().as_secs_f64();
    let tables = Tables::load(&set.manifests, &|k| {
        set.values
            .get(k)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("missing value {k}"))
    })?;
    let edges: usize = set.tables.iter().map(|t| t.edges).sum();
    let nbr_bytes: u64 = set.tables.iter().map(|t| t.neighbour_bytes).sum();

    // Train-side statistics for the baselines and the ceiling (dataset SKU ids).
    let n_skus = data.skus.len();
    let mut baskets: Vec<Vec<u32>> = vec![Vec::new(); data.orders.len()];
    for &(o, s) in &data.lines {
        baskets[o as usize].push(s);
    }
    for b in &mut baskets {
        b.sort_unstable();
        b.dedup();
    }
    let mut train_sku = vec![false; n_skus];
    let mut pop = vec![0u32; n_skus];
    let mut pop_region: HashMap<Option<u32>, Vec<u32>> = HashMap::new();
    for (o, b) in baskets.iter().enumerate() {
        if assign[o] != Some(true) {
            continue;
        }
        let r = pop_region
            .entry(data.orders[o].region)
            .or_insert_with(|| vec![0; n_skus]);
        for &s in b {
            train_sku[s as usize] = true;
            pop[s as usize] += 1;
            r[s as usize] += 1;
        }
    }
    let ranked_by = |counts: &[u32], len: usize| {
        let mut ids: Vec<u32> = (0..n_skus as u32)
            .filter(|&s| counts[s as usize] > 0)
            .collect();
        ids.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        ids.truncate(len);
        ids
    };
    let top_global = ranked_by(&pop, 200);
    let top_region: HashMap<Option<u32>, Vec<u32>> = pop_region
        .iter()
        .map(|(r, c)| (*r, ranked_by(c, 200)))
        .collect();
    // Category curation: category X → category Y most co-bought with it; Y's best sellers.
    let has_cat = data.sku_category.iter().any(Option::is_some);
    let n_cat = data.categories.len();
    let mut cat_pair = vec![vec![0u64; n_cat]; n_cat];
    let mut cat_best: Vec<Vec<u32>> = vec![Vec::new(); n_cat];
    if has_cat {
        for (o, b) in baskets.iter().enumerate() {
            if assign[o] != Some(true) {
                continue;
            }
            let mut cats: Vec<u32> = b
                .iter()
                .filter_map(|&s| data.sku_category[s as usize])
                .collect();
            cats.sort_unstable();
            cats.dedup();
            for &x in &cats {
                for &y in &cats {
                    if x != y {
                        cat_pair[x as usize][y as usize] += 1;
                    }
                }
            }
        }
        for s in ranked_by(&pop, n_skus) {
            if let Some(c) = data.sku_category[s as usize] {
                if cat_best[c as usize].len() < 50 {
                    cat_best[c as usize].push(s);
                }
            }
        }
    }
    let partner: Vec<Option<usize>> = (0..n_cat)
        .map(|x| {
            (0..n_cat)
                .filter(|&y| cat_pair[x][y] > 0)
                .max_by_key(|&y| (cat_pair[x][y], std::cmp::Reverse(y)))
        })
        .collect();

    let sku_id: HashMap<&str, u32> = data
        .skus
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as u32))
        .collect();
    let policy = RankPolicy {
        k: 10,
        ..RankPolicy::default()
    };
    let test_orders: Vec<usize> = (0..data.orders.len())
        .filter(|&o| assign[o] == Some(false) && baskets[o].len() >= 2)
        .collect();
    let names = [
        "model",
        "same three for everyone",
        "popular in region",
        "category-level curation",
    ];
    let t_eval = Instant::now();
    let (accs, seen, pairs) = test_orders
        .par_iter()
        .map(|&o| {
            let mut accs: Vec<Acc> = (0..4).map(|_| Acc::default()).collect();
            let mut seen = 0u64;
            let b = &baskets[o];
            let order = data.orders[o];
            let brand = &data.brands[order.brand as usize];
            let region = order.region.map(|r| data.regions[r as usize].as_str());
            for &t in b {
                if train_sku[t as usize] {
                    seen += 1;
                }
                let query: Vec<&str> = b
                    .iter()
                    .filter(|&&s| s != t)
                    .map(|&s| data.skus[s as usize].as_str())
                    .collect();
                let offers = tables.recommend(brand, region, &query, &policy);
                let ranked: Vec<u32> = offers
                    .iter()
                    .filter_map(|of| sku_id.get(of.sku.as_str()).copied())
                    .collect();
                let model_offers = offers.iter().filter(|o| !o.fallback).count();
                accs[0].add(&ranked, t, model_offers);
                let same: Vec<u32> = top_global.iter().take(10).copied().collect();
                accs[1].add(&same, t, same.len());
                let in_q = |s: &u32| *s != t && b.binary_search(s).is_ok();
                let reg: Vec<u32> = top_region
                    .get(&order.region)
                    .unwrap_or(&top_global)
                    .iter()
                    .filter(|s| !in_q(s))
                    .take(10)
                    .copied()
                    .collect();
                accs[2].add(&reg, t, reg.len());
                if has_cat {
                    let mut freq = vec![0u32; n_cat];
                    for &s in b.iter().filter(|&&s| s != t) {
                        if let Some(c) = data.sku_category[s as usize] {
                            freq[c as usize] += 1;
                        }
                    }
                    let top_cat = (0..n_cat)
                        .filter(|&c| freq[c] > 0)
                        .max_by_key(|&c| (freq[c], std::cmp::Reverse(c)));
                    let cur: Vec<u32> = top_cat
                        .and_then(|c| partner[c])
                        .map(|y| {
                            cat_best[y]
                                .iter()
                                .filter(|s| !in_q(s))
                                .take(10)
                                .copied()
                                .collect()
                        })
                        .unwrap_or_default();
                    accs[3].add(&cur, t, cur.len());
                }
            }
            (accs, seen, b.len() as u64)
        })
        .reduce(
            || ((0..4).map(|_| Acc::default()).collect(), 0, 0),
            |(a, s1, p1), (b, s2, p2)| {
                (
                    a.into_iter().zip(b).map(|(x, y)| x.merge(y)).collect(),
                    s1 + s2,
                    p1 + p2,
                )
            },
        );
    let eval_s = t_eval.elapsed().as_secs_f64();
    let mut results: Vec<Metrics> = Vec::new();
    for (i, acc) in accs.into_iter().enumerate() {
        if i == 3 && !has_cat {
            continue;
        }
        results.push(acc.metrics(names[i], &train_sku));
    }
    let ceiling = seen as f64 / pairs.max(1) as f64;
    let dataset = args.dataset.clone().unwrap_or_else(|| {
        args.input
            .orders
            .iter()
            .map(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(",")
    });
    let train_orders = assign.iter().filter(|a| **a == Some(true)).count();
    println!("data set: {dataset}; split: {split_desc}");
    println!(
        "train orders {train_orders}, test orders (>= 2 SKUs) {}, queries {pairs}; ceiling (held-out SKU seen in training) {ceiling:.3}",
        test_orders.len()
    );
    println!(
        "model {} | {} tables, {} edges, {:.2} bytes/edge | build {build_s:.2}s, eval {eval_s:.2}s, peak RSS {:.0} MiB",
        tag,
        set.tables.len(),
        edges,
        nbr_bytes as f64 / edges.max(1) as f64,
        peak_rss_bytes().unwrap_or(0) as f64 / 1048576.0
    );
    println!(
        "{:<26} {:>7} {:>7} {:>8} {:>10} {:>10} {:>9}",
        "system", "HR@3", "HR@10", "NDCG@10", "cov(>=3)", "cov(model)", "cov(SKUs)"
    );
    for m in &results {
        println!(
            "{:<26} {:>7.4} {:>7.4} {:>8.4} {:>10.3} {:>10.3} {:>9.3}",
            m.system,
            m.hr3,
            m.hr10,
            m.ndcg10,
            m.coverage_queries,
            m.coverage_queries_model,
            m.coverage_skus
        );
    }
    if let Some(p) = &args.json {
        let record = serde_json::json!({
            "dataset": dataset,
            "split": split_desc,
            "model_version": tag,
            "settings": cfg,
            "train_orders": train_orders,
            "test_orders": test_orders.len(),
            "queries": pairs,
            "ceiling": ceiling,
            "results": results,
            "tables": set.tables,
            "edges": edges,
            "neighbour_bytes": nbr_bytes,
            "bytes_per_edge": nbr_bytes as f64 / edges.max(1) as f64,
            "build_seconds": build_s,
            "eval_seconds": eval_s,
            "peak_rss_bytes": peak_rss_bytes(),
        });
        std::fs::write(p, serde_json::to_vec_pretty(&record)?)?;
    }
    Ok(())
}
