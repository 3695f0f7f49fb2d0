//! `model-builder report`: the experiment report from an events export and a
//! conversion ledger, through the same `upsell_edge::report` code the worker's
//! `/__upsell/report` uses, so an analyst can reproduce its figures.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::ValueEnum;
use upsell_edge::assign::Experiment;
use upsell_edge::report::{
    build_report, filter_ledger, ledger_csv, parse_conversions, parse_events, totals_from_records,
    ReportFilter,
};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned plain text.
    Table,
    /// The report as JSON.
    Json,
    /// The report as long-format CSV.
    Csv,
    /// The filtered conversion ledger as CSV (for BI).
    Ledger,
}

/// Arguments of `model-builder report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events export: served / impression / click rows (CSV, JSON array, JSON lines,
    /// or `wrangler d1 execute --json` output).
    #[arg(long)]
    pub events: PathBuf,
    /// Conversion ledger (CSV or JSON, same forms as --events).
    #[arg(long)]
    pub conversions: PathBuf,
    /// Experiment definition (JSON) with the pre-registered thresholds; enables the verdict.
    #[arg(long)]
    pub experiment: Option<PathBuf>,
    /// Experiment id to report (default: the definition's id, or the only id in the events).
    #[arg(long)]
    pub id: Option<String>,
    /// Only this brand.
    #[arg(long)]
    pub brand: Option<String>,
    /// Only this region.
    #[arg(long)]
    pub region: Option<String>,
    /// Orders served at or after this time (Unix ms, or UTC `YYYY-MM-DD[THH:MM:SS]`).
    #[arg(long)]
    pub from: Option<String>,
    /// Orders served before this time (Unix ms, or UTC `YYYY-MM-DD[THH:MM:SS]`).
    #[arg(long)]
    pub to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Parses `--from` / `--to`: Unix ms, or a UTC date / date-time.
fn parse_time(flag: &str, s: &str) -> anyhow::Result<u64> {
    upsell_edge::report::parse_time(s).ok_or_else(|| {
        anyhow::anyhow!("--{flag} {s:?}: expected Unix ms or YYYY-MM-DD[THH:MM:SS] (UTC)")
    })
}

/// Runs the report.
pub fn run(args: Args) -> anyhow::Result<()> {
    let experiment: Option<Experiment> = match &args.experiment {
        Some(path) => {
            let e: Experiment = serde_json::from_str(&read(path)?)
                .with_context(|| format!("{}: experiment definition", path.display()))?;
            e.validate()
                .with_context(|| format!("{}", path.display()))?;
            Some(e)
        }
        None => None,
    };
    let events_name = args.events.display().to_string();
    let events = parse_events(&read(&args.events)?, &events_name)?;
    let conv_name = args.conversions.display().to_string();
    let conversions = parse_conversions(&read(&args.conversions)?, &conv_name)?;

    let id = match (&args.id, &experiment) {
        (Some(id), Some(e)) if *id != e.id => {
            bail!(
                "--id {id} differs from the experiment definition's id {}",
                e.id
            )
        }
        (Some(id), _) => id.clone(),
        (None, Some(e)) => e.id.clone(),
        (None, None) => {
            let mut ids: Vec<&str> = events.iter().map(|e| e.experiment.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            match ids.as_slice() {
                [one] => one.to_string(),
                [] => bail!("{events_name}: no rows"),
                many => {
                    bail!("{events_name}: several experiments {many:?}: pass --id or --experiment")
                }
            }
        }
    };
    let filter = ReportFilter {
        experiment: id,
        brand: args.brand.clone(),
        region: args.region.clone(),
        from_ms: args
            .from
            .as_deref()
            .map(|s| parse_time("from", s))
            .transpose()?,
        to_ms: args
            .to
            .as_deref()
            .map(|s| parse_time("to", s))
            .transpose()?,
    };
    if args.format == Format::Ledger {
        let rows = filter_ledger(&events, &conversions, &filter);
        print!("{}", ledger_csv(&rows));
        return Ok(());
    }
    let totals = totals_from_records(&events, &conversions, &filter)
        .with_context(|| format!("{events_name} + {conv_name}"))?;
    let report = build_report(&filter, &totals, experiment.as_ref());
    match args.format {
        Format::Table => print!("{}", report.to_table()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Csv => print!("{}", report.to_csv()),
        Format::Ledger => unreachable!("handled above"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_utc() {
        assert_eq!(
            parse_time("from", "1700000000000").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(parse_time("from", "1970-01-02").unwrap(), 86_400_000);
        assert_eq!(
            parse_time("from", "2011-11-01T00:00:00Z").unwrap(),
            1_320_105_600_000
        );
        assert_eq!(
            parse_time("to", "2024-02-29 12:30").unwrap(),
            1_709_209_800_000
        );
        assert!(parse_time("to", "2024-13-01").is_err());
        assert!(parse_time("to", "yesterday").is_err());
    }
}
