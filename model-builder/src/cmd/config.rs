//! `model-builder config check|show|compile`: validate the configuration files,
//! show one brand × region's effective values with where each came from, and
//! compile the JSON the worker reads.
use crate::config_files::{check_dir, now_unix, root_of};
use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, Subcommand};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use upsell_edge::config::{compile, CompiledConfig, ConfigError, ConfigSet};

/// Arguments of `model-builder config`.
#[derive(ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Validate a configuration directory (or some of its files); exit 1 and name
    /// every problem with file, line and key if anything is wrong.
    Check {
        /// Configuration directory, or files inside one (only their problems are shown).
        #[arg(default_value = "config")]
        paths: Vec<PathBuf>,
    },
    /// Print the effective configuration of one brand in one region, with the
    /// source (platform, brand, brand × region file and line, or built-in default) of every value.
    Show {
        /// Configuration directory.
        #[arg(long, default_value = "config")]
        dir: PathBuf,
        /// Brand id.
        #[arg(long)]
        brand: String,
        /// Region id.
        #[arg(long)]
        region: String,
        /// Print JSON (`{"key": {"value": .., "source": ..}}`) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Record every started experiment's hash in DIR/experiments.lock (existing
    /// entries never change), so `check` refuses later edits to it.
    Lock {
        /// Configuration directory.
        #[arg(long, default_value = "config")]
        dir: PathBuf,
    },
    /// Validate, then write the compiled configuration JSON the worker reads.
    Compile {
        /// Configuration directory.
        #[arg(long, default_value = "config")]
        dir: PathBuf,
        /// Output file (stdout if absent).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

/// Runs `model-builder config ...`.
pub fn run(args: Args) -> Result<()> {
    match args.command {
        Cmd::Check { paths } => check(&paths),
        Cmd::Show {
            dir,
            brand,
            region,
            json,
        } => show(&dir, &brand, &region, json),
        Cmd::Lock { dir } => {
            let (set, errors) = crate::config_files::load_dir(&dir);
            let mut errors: Vec<ConfigError> = errors;
            if let Some(s) = &set {
                errors.extend(upsell_edge::config::validate(s, now_unix()));
            }
            if !errors.is_empty() {
                return fail_with(&errors);
            }
            let set = set.context("configuration did not load")?;
            let added = crate::config_files::write_lock(&dir, &set, now_unix())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "locked {} started experiment(s): {}",
                added.len(),
                added.join(", ")
            );
            Ok(())
        }
        Cmd::Compile { dir, out } => {
            let cfg = compile_dir(&dir)?;
            let body = serde_json::to_string_pretty(&cfg)?;
            match out {
                Some(p) => {
                    std::fs::write(&p, body + "\n")
                        .with_context(|| format!("cannot write {}", p.display()))?;
                    eprintln!(
                        "compiled configuration {} ({} brands) → {}",
                        cfg.version,
                        cfg.brands.len(),
                        p.display()
                    );
                }
                None => println!("{body}"),
            }
            Ok(())
        }
    }
}

/// Prints problems, one a line, and fails with their count.
fn fail_with(errors: &[ConfigError]) -> Result<()> {
    for e in errors {
        eprintln!("error: {e}");
    }
    bail!(
        "{} configuration problem(s); nothing is valid until all are fixed",
        errors.len()
    )
}

/// `config check`.
fn check(paths: &[PathBuf]) -> Result<()> {
    let mut all = Vec::new();
    let mut roots: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    for p in paths {
        if !p.exists() {
            bail!("{} does not exist", p.display());
        }
        let root = root_of(p).with_context(|| {
            format!(
                "{} is not in a configuration directory (no platform.toml above it)",
                p.display()
            )
        })?;
        let only = if p.is_dir() && *p == root {
            None
        } else {
            Some(p.clone())
        };
        match roots.iter_mut().find(|(r, _)| *r == root) {
            Some((_, files)) => files.extend(only),
            None => roots.push((root, only.into_iter().collect())),
        }
    }
    let mut notes = Vec::new();
    for (root, files) in &roots {
        let (set, errors) = check_dir(root, now_unix());
        let wanted = |e: &ConfigError| {
            files.is_empty()
                || files
                    .iter()
                    .any(|f| Path::new(&e.file) == f.as_path() || Path::new(&e.file).starts_with(f))
        };
        all.extend(errors.into_iter().filter(|e| wanted(e)));
        if let Some(set) = set {
            let (_, advice) = upsell_edge::config::validate_with_advice(&set, now_unix());
            notes.extend(advice.into_iter().filter(|e| wanted(e)));
        }
    }
    if !all.is_empty() {
        return fail_with(&all);
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    println!(
        "configuration OK: {}",
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// Loads and validates `dir`, failing with every problem.
pub fn load_valid(dir: &Path) -> Result<ConfigSet> {
    let (set, errors) = check_dir(dir, now_unix());
    if !errors.is_empty() {
        fail_with(&errors)?;
    }
    set.context("configuration did not load")
}

/// Validates and compiles `dir`; the version is the first 16 hex digits of the
/// SHA-256 of the compiled brands, so identical configuration gives the same version.
pub fn compile_dir(dir: &Path) -> Result<CompiledConfig> {
    let set = load_valid(dir)?;
    let mut cfg = match compile(&set, now_unix()) {
        Ok(c) => c,
        Err(errors) => {
            fail_with(&errors)?;
            unreachable!("fail_with always fails")
        }
    };
    let digest = Sha256::digest(serde_json::to_vec(&cfg.brands)?);
    cfg.version = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Ok(cfg)
}

/// `config show`.
fn show(dir: &Path, brand: &str, region: &str, json: bool) -> Result<()> {
    let set = load_valid(dir)?;
    if !set.brands.contains_key(brand) {
        bail!(
            "no brand `{brand}` (brands: {})",
            set.brands.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let regions = set.regions_of(brand);
    if !regions.iter().any(|r| r == region) {
        bail!(
            "brand `{brand}` has no region `{region}` (regions: {})",
            regions.join(", ")
        );
    }
    let eff = set
        .resolve(brand, region)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if json {
        let out: serde_json::Map<String, serde_json::Value> = eff
            .leaves
            .iter()
            .map(|(k, (v, s))| {
                (
                    k.clone(),
                    serde_json::json!({"value": v, "source": s.to_string()}),
                )
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let mut text = format!("# effective configuration: brand {brand} × region {region}\n");
    let rows: Vec<(String, String)> = eff
        .leaves
        .iter()
        .map(|(k, (v, _))| (k.clone(), format!("{k} = {v}")))
        .collect();
    let width = rows
        .iter()
        .map(|(_, r)| r.chars().count())
        .max()
        .unwrap_or(0)
        .min(72);
    for ((_, row), (_, (_, source))) in rows.iter().zip(eff.leaves.iter()) {
        let pad = width.saturating_sub(row.chars().count());
        text.push_str(&format!("{row}{}  # {source}\n", " ".repeat(pad)));
    }
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    Ok(())
}
