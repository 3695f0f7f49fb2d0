//! `model-builder recommend`: JSON Lines queries `{"skus":[...],"region":"..."}`
//! on stdin, `{"offers":[...]}` per line on stdout, ranked as the edge ranks.
use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use serde::Deserialize;
use upsell_edge::rank::RankPolicy;

use crate::serve::Tables;

/// Flags of `recommend`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Build output directory.
    #[arg(long)]
    table: PathBuf,
    /// Offers per query.
    #[arg(short = 'k', long, default_value_t = 3)]
    k: usize,
    /// Region for queries that name none.
    #[arg(long)]
    region: Option<String>,
    /// Brand (default: the only brand, else `default`).
    #[arg(long)]
    brand: Option<String>,
    /// Ranking rules (JSON `RankPolicy`); `-k` overrides its k.
    #[arg(long)]
    policy: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Query {
    skus: Vec<String>,
    region: Option<String>,
    brand: Option<String>,
}

/// Runs `recommend`.
pub fn run(args: Args) -> Result<()> {
    let tables = Tables::from_dir(&args.table)?;
    let mut policy = match &args.policy {
        Some(p) => serde_json::from_str(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .with_context(|| format!("{}: invalid policy", p.display()))?,
        None => RankPolicy::default(),
    };
    policy.k = args.k;
    let default_brand = args.brand.clone().unwrap_or_else(|| {
        let b = tables.brands();
        if b.len() == 1 {
            b[0].clone()
        } else {
            "default".into()
        }
    });
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let q: Query = serde_json::from_str(&line)
            .with_context(|| format!("<stdin>:{}: invalid query", n + 1))?;
        let skus: Vec<&str> = q.skus.iter().map(String::as_str).collect();
        let region = q.region.as_deref().or(args.region.as_deref());
        let brand = q.brand.as_deref().unwrap_or(&default_brand);
        let offers = tables.recommend(brand, region, &skus, &policy);
        serde_json::to_writer(&mut out, &serde_json::json!({ "offers": offers }))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
