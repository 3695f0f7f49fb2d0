//! `model-builder build`: orders (+ catalog) → tables in an output directory,
//! written to a temporary directory beside it and renamed into place only
//! when everything succeeded.
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;

use super::model_args::{now_stamps, peak_rss_bytes, InputArgs, ModelArgs};
use crate::model::{build_gathered, gather, BuildRequest, TableSet};

/// Flags of `build`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Output directory (replaced as a whole on success).
    #[arg(long)]
    out: PathBuf,
    /// Table version tag (default: `v<UTC time>`).
    #[arg(long)]
    version_tag: Option<String>,
}

/// Writes `set` and `summary` into `out` atomically: a temporary directory
/// beside it, renamed over it at the end.
pub fn write_output(out: &Path, set: &TableSet, summary: &serde_json::Value) -> Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = out
        .file_name()
        .context("--out needs a directory name")?
        .to_string_lossy()
        .to_string();
    let pid = std::process::id();
    let tmp = parent.join(format!(".{name}.tmp-{pid}"));
    let result = (|| -> Result<()> {
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        for (key, value) in &set.values {
            let p = tmp.join("kv").join(key);
            std::fs::create_dir_all(p.parent().expect("key has a parent"))?;
            std::fs::write(&p, value).with_context(|| format!("writing {}", p.display()))?;
        }
        for m in &set.manifests {
            let p = tmp
                .join("manifests")
                .join(&m.brand)
                .join(format!("{}.json", m.region));
            std::fs::create_dir_all(p.parent().expect("has parent"))?;
            std::fs::write(&p, serde_json::to_vec_pretty(m)?)
                .with_context(|| format!("writing {}", p.display()))?;
        }
        std::fs::write(tmp.join("build.json"), serde_json::to_vec_pretty(summary)?)?;
        let old = parent.join(format!(".{name}.old-{pid}"));
        if out.exists() {
            std::fs::rename(out, &old)
                .with_context(|| format!("moving the previous {} aside", out.display()))?;
        }
        std::fs::rename(&tmp, out).with_context(|| format!("renaming into {}", out.display()))?;
        if old.exists() {
            std::fs::remove_dir_all(&old)?;
        }
        Ok(())
    })();
    if result.is_err() && tmp.exists() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// Runs `build`.
pub fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let cfg = args.model.config()?;
    let (mut data, catalog) = args.input.load(cfg.customer_weight > 0.0)?;
    let ingest_s = started.elapsed().as_secs_f64();
    let timings = std::env::var_os("MODEL_BUILDER_TIMINGS").is_some();
    if timings {
        let cpu = crate::model::cpu_seconds();
        let (rss, peak) = (
            crate::model::rss_bytes() >> 20,
            peak_rss_bytes().unwrap_or(0) >> 20,
        );
        eprintln!("ingest: {ingest_s:.2}s (CPU {cpu:.1}s), RSS {rss} MiB, peak {peak} MiB");
    }
    let (built_at, tag) = now_stamps();
    let version = args.version_tag.clone().unwrap_or(tag);
    let keep = |_: usize| true;
    let t = Instant::now();
    let gathered = gather(&data, catalog.as_deref(), &keep, &cfg);
    // The baskets hold what the model needs of the orders and lines: free
    // them (about 1 GB at 18M orders) before its working memory.
    let (n_orders, n_lines) = (data.orders.len(), data.lines.len());
    data.release_orders();
    let set = build_gathered(
        &BuildRequest {
            data: &data,
            catalog: catalog.as_deref(),
            keep: &keep,
            cfg: &cfg,
            version: &version,
            built_at: &built_at,
            progress: !args.input.quiet,
        },
        gathered,
    );
    let model_s = t.elapsed().as_secs_f64();
    if timings {
        let cpu = crate::model::cpu_seconds();
        eprintln!("model and encode: {model_s:.2}s (process CPU so far {cpu:.1}s)");
    }
    let edges: usize = set.tables.iter().map(|t| t.edges).sum();
    let nbr_bytes: u64 = set.tables.iter().map(|t| t.neighbour_bytes).sum();
    let bytes: u64 = set.values.values().map(|v| v.len() as u64).sum();
    let summary = serde_json::json!({
        "version": version,
        "built_at": built_at,
        "inputs": {
            "orders": args.input.orders,
            "catalog": args.input.catalog,
            "mapping": args.input.mapping,
        },
        "settings": cfg,
        "ingest": data.stats,
        "counts": {
            "orders": n_orders,
            "lines": n_lines,
            "skus": data.skus.len(),
            "regions": data.regions.len(),
            "brands": data.brands.len(),
            "tables": set.tables.len(),
            "manifests": set.manifests.len(),
            "edges": edges,
            "kv_values": set.values.len(),
            "bytes": bytes,
            "neighbour_bytes": nbr_bytes,
            "bytes_per_edge": if edges > 0 { nbr_bytes as f64 / edges as f64 } else { 0.0 },
        },
        "tables": set.tables,
        "timings_s": { "ingest": ingest_s, "model_and_encode": model_s, "total": started.elapsed().as_secs_f64() },
        "peak_rss_bytes": peak_rss_bytes(),
    });
    write_output(&args.out, &set, &summary)?;
    let total = started.elapsed().as_secs_f64();
    println!(
        "built {} in {:.2}s: {} orders ({} lines kept of {}; {} filtered, {} bad skipped), {} SKUs, {} regions, {} brands",
        args.out.display(),
        total,
        n_orders,
        data.stats.kept,
        data.stats.rows,
        data.stats.filtered,
        data.stats.skipped_bad,
        data.skus.len(),
        data.regions.len(),
        data.brands.len()
    );
    println!(
        "{} tables ({} manifests), {} edges, {} bytes in {} KV values ({:.2} bytes/edge in neighbour shards); peak RSS {:.0} MiB",
        set.tables.len(),
        set.manifests.len(),
        edges,
        bytes,
        set.values.len(),
        if edges > 0 { nbr_bytes as f64 / edges as f64 } else { 0.0 },
        peak_rss_bytes().unwrap_or(0) as f64 / 1048576.0
    );
    Ok(())
}
