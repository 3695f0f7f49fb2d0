//! `model-builder publish`: built tables and configuration to Workers KV, safely.
use crate::cmd::config::compile_dir;
use crate::config_files::now_unix;
use crate::publish::build_output::read_build;
use crate::publish::wrangler::{default_bin, Kv, Target};
use crate::publish::{gc, publish_config, publish_tables, rollback_config, rollback_tables};
use anyhow::{bail, Result};
use clap::{Args as ClapArgs, ValueEnum};
use std::path::PathBuf;

/// What a rollback switches back.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    /// Table manifests only.
    Tables,
    /// Configuration only.
    Config,
    /// Both.
    All,
}

/// Arguments of `model-builder publish`.
#[derive(ClapArgs)]
pub struct Args {
    /// Build output directory (`kv/<key>`, `manifests/<brand>/<region>.json`).
    #[arg(long)]
    tables: Option<PathBuf>,
    /// Configuration directory to validate, compile and publish.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Write to the local state `wrangler dev --persist-to` serves, not the account.
    #[arg(long)]
    local: bool,
    /// Local state directory (with `--local`).
    #[arg(long, default_value = ".wrangler/state")]
    persist_to: PathBuf,
    /// The wrangler executable.
    #[arg(long)]
    wrangler: Option<PathBuf>,
    /// Wrangler configuration naming the KV binding.
    #[arg(long, default_value = "wrangler.toml")]
    wrangler_config: PathBuf,
    /// KV binding name.
    #[arg(long, default_value = "TABLES")]
    binding: String,
    /// Switch manifests (and/or configuration) back to their previous version, one write each.
    #[arg(long, conflicts_with_all = ["tables", "config", "gc"])]
    rollback: bool,
    /// With `--rollback`: what to switch back.
    #[arg(long, value_enum, default_value = "all", requires = "rollback")]
    only: Part,
    /// With `--rollback`: only this brand.
    #[arg(long, requires = "rollback")]
    brand: Option<String>,
    /// With `--rollback`: only this region.
    #[arg(long, requires = "rollback")]
    region: Option<String>,
    /// Delete values of versions superseded longer than the grace period ago.
    #[arg(long)]
    gc: bool,
    /// Grace period for `--gc`, in hours.
    #[arg(long, default_value_t = 24.0)]
    grace_hours: f64,
}

/// Runs `model-builder publish`.
pub fn run(args: Args) -> Result<()> {
    let cwd = std::env::current_dir()?;
    let scratch =
        std::env::temp_dir().join(format!("model-builder-publish-{}", std::process::id()));
    let kv = Kv {
        bin: args.wrangler.clone().unwrap_or_else(|| default_bin(&cwd)),
        config: args.wrangler_config.clone(),
        binding: args.binding.clone(),
        target: if args.local {
            Target::Local(args.persist_to.clone())
        } else {
            Target::Remote
        },
        scratch: scratch.clone(),
    };
    let result = run_with(&kv, &args);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// The work of [`run`], with the KV handle made.
fn run_with(kv: &Kv, args: &Args) -> Result<()> {
    let now = now_unix();
    if args.rollback {
        if args.only != Part::Config {
            for line in rollback_tables(kv, args.brand.as_deref(), args.region.as_deref(), now)? {
                println!("rolled back {line}");
            }
        }
        if args.only != Part::Tables {
            println!("rolled back {}", rollback_config(kv)?);
        }
        return Ok(());
    }
    if args.tables.is_none() && args.config.is_none() && !args.gc {
        bail!("nothing to do: give --config DIR and/or --tables OUT, --rollback or --gc");
    }
    // Validate everything before the first write.
    let cfg = args.config.as_deref().map(compile_dir).transpose()?;
    let build = args.tables.as_deref().map(read_build).transpose()?;
    if let (Some(c), Some(b)) = (&cfg, &build) {
        for m in &b.manifests {
            if c.settings(&m.brand, &m.region).is_none() {
                eprintln!(
                    "warning: tables for {}/{}, a brand the configuration does not have",
                    m.brand, m.region
                );
            }
        }
    }
    if let Some(b) = &build {
        let r = publish_tables(kv, b, now)?;
        println!(
            "tables: {} value(s) uploaded and verified, {} already live",
            r.uploaded, r.reused
        );
        for s in &r.switched {
            println!("switched {s}");
        }
        for s in &r.unchanged {
            println!("unchanged {s}");
        }
    }
    if let Some(c) = &cfg {
        match publish_config(kv, c, now)? {
            Some(v) => println!("config: published version {v}"),
            None => println!("config: version {} already live", c.version),
        }
    }
    if args.gc {
        let (n, lines) = gc(kv, (args.grace_hours * 3600.0) as i64, now)?;
        for l in lines {
            println!("{l}");
        }
        println!("gc: {n} value(s) deleted");
    }
    Ok(())
}
