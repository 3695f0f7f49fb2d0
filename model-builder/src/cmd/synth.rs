//! `model-builder synth`: writes a realistic synthetic order history (generic
//! CSV schema), optionally with the planted co-purchase truth and a catalog.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, Result};
use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressStyle};

use crate::synth::{self, dates, Params, World};

/// Flags of `model-builder synth`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Number of orders.
    #[arg(long, default_value_t = 100_000)]
    pub orders: u64,
    /// Number of days the orders span.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// Number of SKUs.
    #[arg(long, default_value_t = 5_000)]
    pub skus: u32,
    /// Number of regions.
    #[arg(long, default_value_t = 5)]
    pub regions: u32,
    /// Random seed; the same flags and seed give byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of distinct customers [default: orders / 3].
    #[arg(long)]
    pub customers: Option<u64>,
    /// First day of the history, YYYY-MM-DD.
    #[arg(long, default_value = "2025-01-01")]
    pub start: String,
    /// Zipf exponent of SKU popularity.
    #[arg(long, default_value_t = 1.0)]
    pub zipf: f64,
    /// Mean lines per order.
    #[arg(long, default_value_t = 3.3)]
    pub mean_basket: f64,
    /// Value of the `brand` column.
    #[arg(long, default_value = "acme")]
    pub brand: String,
    /// Orders CSV to write (gzip-compressed if it ends in `.gz`).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write each SKU's launch date and planted partners here (`sku,mission,launched,partners`).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Also write a catalog here (`sku,title,price,url,image,category,in_stock`).
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Generator threads [default: the number of CPUs]; the output is the same for any count.
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar or summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `model-builder synth`.
pub fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let params = Params {
        orders: args.orders,
        days: args.days,
        skus: args.skus,
        regions: args.regions,
        seed: args.seed,
        customers: args.customers.unwrap_or((args.orders / 3).max(1)),
        start_day: dates::parse_date(&args.start).map_err(|e| anyhow!("--start: {e}"))?,
        zipf: args.zipf,
        mean_basket: args.mean_basket,
        brand: args.brand,
    };
    params.validate().map_err(|e| anyhow!(e))?;
    let world = World::new(params);
    if let Some(path) = &args.truth {
        synth::write::write_truth(&world, path)?;
    }
    if let Some(path) = &args.catalog {
        synth::write::write_catalog(&world, path)?;
    }
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(args.orders)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "synth [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} orders ({per_sec}, eta {eta})",
        )
        .expect("valid template"),
    );
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let summary = synth::write_orders(&world, &args.out, threads, |n| bar.set_position(n))?;
    bar.finish_and_clear();
    if !args.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "synth: {} orders, {} lines ({:.2} per order), {} SKUs, {} regions, {} customers, {:.1} MB -> {} in {:.1} s",
            summary.orders,
            summary.lines,
            summary.lines as f64 / summary.orders as f64,
            world.skus.len(),
            world.regions.len(),
            world.params.customers,
            summary.bytes as f64 / 1e6,
            args.out.display(),
            secs
        );
    }
    Ok(())
}
