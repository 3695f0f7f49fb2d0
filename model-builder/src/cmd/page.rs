//! `model-builder page FILE.html [--config FILE | --preset NAME]`: prints, as
//! JSON, what the edge worker would extract from a saved confirmation page.

use std::path::PathBuf;

use anyhow::{bail, Context};
use upsell_edge::extract::{self, ExtractConfig, PRESETS};

/// Arguments of `model-builder page`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Saved order-confirmation page (HTML).
    pub file: PathBuf,
    /// Brand extraction config (JSON). Without it (and without --preset) the
    /// built-in defaults are used.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Use a built-in platform preset instead of a config file.
    #[arg(long, conflicts_with = "config")]
    pub preset: Option<String>,
    /// Feed the page to the parser in chunks of this many bytes, as the
    /// network would (0 = all at once).
    #[arg(long, default_value_t = 0)]
    pub chunk: usize,
}

/// Loads the config named by the arguments.
pub fn load_config(args: &Args) -> anyhow::Result<ExtractConfig> {
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        return ExtractConfig::from_json(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    if let Some(name) = &args.preset {
        return match ExtractConfig::preset(name) {
            Some(cfg) => Ok(cfg),
            None => bail!("unknown preset {name:?}; known: {}", PRESETS.join(", ")),
        };
    }
    Ok(ExtractConfig::default())
}

/// Runs the extraction and prints the report.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = load_config(&args)?;
    let html = std::fs::read(&args.file)
        .with_context(|| format!("reading page {}", args.file.display()))?;
    let order = if args.chunk > 0 {
        extract::extract_from_chunks(html.chunks(args.chunk), &cfg)
    } else {
        extract::extract_from_html(&html, &cfg)
    };
    let report = extract::report(&order, &cfg);
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
