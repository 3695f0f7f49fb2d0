//! Input and model flags shared by `build` and `evaluate`.
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args as ClapArgs;

use crate::ingest::{load_catalog, load_orders, CatalogRow, Dataset, LoadOptions, Mapping};
use crate::model::config::Method;
use crate::model::ModelConfig;

/// Where the orders come from and how to read them.
#[derive(ClapArgs, Debug, Clone)]
pub struct InputArgs {
    /// Order export(s): CSV or JSON Lines (optionally gzip-compressed), or Parquet.
    #[arg(long, required = true, num_args = 1..)]
    pub orders: Vec<PathBuf>,
    /// Catalog (CSV / JSON / JSON Lines): only its SKUs are offered.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Mapping file for layouts other than the generic schema.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Skip malformed rows (counted and reported) instead of failing.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

impl InputArgs {
    /// Reads orders and catalog; customer ids only when `customers` (the
    /// model's customer windows are on).
    pub fn load(&self, customers: bool) -> Result<(Dataset, Option<Vec<CatalogRow>>)> {
        let mapping = match &self.mapping {
            Some(p) => Mapping::load(p)?,
            None => Mapping::generic(),
        };
        let opts = LoadOptions {
            skip_bad_rows: self.skip_bad_rows,
            progress: !self.quiet,
            customers,
        };
        let data = load_orders(&self.orders, &mapping, &opts)?;
        if data.stats.skipped_bad > 0 {
            eprintln!("skipped {} malformed rows, e.g.:", data.stats.skipped_bad);
            for e in &data.stats.bad_examples {
                eprintln!("  {e}");
            }
        }
        let catalog = self.catalog.as_deref().map(load_catalog).transpose()?;
        Ok((data, catalog))
    }
}

/// Model settings: `--config FILE` (TOML or JSON), then these flags.
#[derive(ClapArgs, Debug, Clone, Default)]
pub struct ModelArgs {
    /// Settings file (TOML or JSON) with any `ModelConfig` field.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Scoring method: `ease` (sparse EASE) or `cooc` (normalised co-occurrence).
    #[arg(long)]
    pub method: Option<String>,
    /// EASE ridge penalty λ.
    #[arg(long)]
    pub lambda: Option<f64>,
    /// EASE candidates per target SKU.
    #[arg(long)]
    pub candidates: Option<usize>,
    /// Recency half-life in days (0 = no decay).
    #[arg(long)]
    pub half_life: Option<f64>,
    /// Basket-size discount exponent.
    #[arg(long)]
    pub basket_exp: Option<f64>,
    /// Exponent on the query SKU's count.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Exponent on the neighbour's count (popularity penalty).
    #[arg(long)]
    pub beta: Option<f64>,
    /// Shrinkage added to the query SKU's count.
    #[arg(long)]
    pub shrink: Option<f64>,
    /// Neighbours kept per SKU.
    #[arg(long)]
    pub neighbours: Option<usize>,
    /// Training orders a region needs for its own table.
    #[arg(long)]
    pub region_min_orders: Option<u64>,
    /// Prior strength (orders) pulling region counts toward the brand-wide ones.
    #[arg(long)]
    pub region_prior: Option<f64>,
}

impl ModelArgs {
    /// The effective settings.
    pub fn config(&self) -> Result<ModelConfig> {
        let mut c = match &self.config {
            Some(p) => read_config(p)?,
            None => ModelConfig::default(),
        };
        if let Some(h) = self.half_life {
            c.half_life_days = (h > 0.0).then_some(h);
        }
        if let Some(m) = &self.method {
            c.method = match m.as_str() {
                "ease" => Method::Ease,
                "cooc" => Method::Cooc,
                other => anyhow::bail!("--method must be ease or cooc, not {other:?}"),
            };
        }
        c.ease_lambda = self.lambda.unwrap_or(c.ease_lambda);
        c.ease_candidates = self.candidates.unwrap_or(c.ease_candidates);
        c.basket_exp = self.basket_exp.unwrap_or(c.basket_exp);
        c.alpha = self.alpha.unwrap_or(c.alpha);
        c.beta = self.beta.unwrap_or(c.beta);
        c.shrink = self.shrink.unwrap_or(c.shrink);
        c.neighbours = self.neighbours.unwrap_or(c.neighbours);
        c.region_min_orders = self.region_min_orders.unwrap_or(c.region_min_orders);
        c.region_prior_orders = self.region_prior.unwrap_or(c.region_prior_orders);
        Ok(c)
    }
}

fn read_config(p: &Path) -> Result<ModelConfig> {
    let text =
        std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
    if p.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).with_context(|| format!("{}: invalid settings", p.display()))
    } else {
        toml::from_str(&text).with_context(|| format!("{}: invalid settings", p.display()))
    }
}

/// Peak resident memory of this process (VmHWM), in bytes, if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Current UTC time as RFC 3339 and as a compact version tag.
pub fn now_stamps() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let t = crate::ingest::time::format_timestamp(secs);
    let rfc = format!("{}T{}Z", &t[..10], &t[11..]);
    let tag = format!(
        "v{}",
        rfc.replace(['-', ':'], "")
            .trim_end_matches('Z')
            .replace('T', "-")
    );
    (rfc, tag)
}
