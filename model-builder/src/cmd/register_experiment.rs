//! `model-builder register-experiment`: pre-registers experiments (salt, arm weights,
//! success thresholds) before they start, as SQL for
//! `wrangler d1 execute upsell-events --file <out> [--local|--remote]`.
//!
//! The statement is a plain INSERT and the schema's triggers refuse UPDATE and
//! DELETE, so a registered experiment can be neither re-registered nor edited.

use std::path::PathBuf;

use anyhow::{bail, Context};
use upsell_edge::assign::Experiment;
use upsell_edge::events::{register_experiment, SqlValue, Stmt};
use upsell_edge::stats::{power_two_proportions, sample_size_two_proportions};

/// Arguments of `model-builder register-experiment`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Experiment definition(s): one JSON object or an array of them.
    #[arg(long, required_unless_present = "config", conflicts_with = "config")]
    pub definition: Option<PathBuf>,
    /// Or: register every experiment of this configuration directory (as the worker resolves them).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Registration time (Unix ms or UTC `YYYY-MM-DD[THH:MM:SS]`); default: now.
    /// Every experiment must start at or after it.
    #[arg(long)]
    pub at: Option<String>,
    /// Expected attach rate of `curated` (e.g. 0.03): adds a power analysis of each
    /// experiment's `min_sample` for its `min_conversion_lift`, and warns below 80 %.
    #[arg(long)]
    pub baseline_attach_rate: Option<f64>,
    /// Write the SQL here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// A SQL literal for a bound value (text quoted with `'` doubled).
fn literal(v: &SqlValue) -> String {
    match v {
        SqlValue::Null => "NULL".into(),
        SqlValue::Int(i) => i.to_string(),
        SqlValue::Text(s) => format!("'{}'", s.replace('\'', "''")),
    }
}

/// The statement with its `?N` placeholders replaced by literals, in one pass over
/// the SQL template (so text that itself contains `?1` is never substituted again).
pub fn inline(stmt: &Stmt) -> anyhow::Result<String> {
    let mut out = String::with_capacity(stmt.sql.len() + 256);
    let mut chars = stmt.sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '?' {
            out.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some(&(_, d)) = chars.peek() {
            if !d.is_ascii_digit() {
                break;
            }
            digits.push(d);
            chars.next();
        }
        let n: usize = digits.parse().context("bare `?` placeholder")?;
        let v = stmt
            .params
            .get(n.wrapping_sub(1))
            .with_context(|| format!("no parameter for ?{n}"))?;
        out.push_str(&literal(v));
    }
    Ok(out)
}

/// One line of power analysis: orders per arm needed for 80 % power to detect the
/// registered minimum lift over `baseline`, and the power `min_sample` gives.
fn power_note(e: &Experiment, baseline: f64) -> String {
    let t = &e.thresholds;
    let target = baseline * (1.0 + t.min_conversion_lift);
    let needed = sample_size_two_proportions(target, baseline, t.alpha, 0.8);
    let power = power_two_proportions(target, baseline, t.min_sample, t.alpha);
    let verdict = if power < 0.8 {
        "WARNING: underpowered"
    } else {
        "ok"
    };
    format!(
        "power: attach {baseline} -> {target:.5} (lift {}), alpha {}: {} orders/arm for 80 % power; min_sample {} gives {:.1} % ({verdict})",
        t.min_conversion_lift,
        t.alpha,
        needed.map_or("n/a".into(), |n| n.to_string()),
        t.min_sample,
        100.0 * power
    )
}

/// The experiments of a configuration directory, brand-wide, each once, in the
/// registered form the worker assigns arms with.
fn from_config(dir: &std::path::Path) -> anyhow::Result<Vec<serde_json::Value>> {
    let (set, errors) = crate::config_files::load_dir(dir);
    if let Some(e) = errors.first() {
        bail!(
            "{e} ({} problem(s); run `model-builder config check`)",
            errors.len()
        );
    }
    let set = set.context("no configuration")?;
    let mut out: Vec<Experiment> = Vec::new();
    for brand in set.brands.keys() {
        for region in set.regions_of(brand) {
            let settings = set
                .resolve(brand, &region)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .settings;
            for e in &settings.experiments {
                let resolved = upsell_edge::offers::experiment_from_config(e, brand, None)
                    .with_context(|| {
                        format!(
                            "experiment {:?} of {brand}: unreadable start or no thresholds",
                            e.id
                        )
                    })?;
                if !out.iter().any(|o| o.id == resolved.id) {
                    out.push(resolved);
                }
            }
        }
    }
    out.into_iter()
        .map(|e| Ok(serde_json::to_value(e)?))
        .collect()
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (name, items) = match (&args.definition, &args.config) {
        (Some(def), _) => {
            let name = def.display().to_string();
            let text = std::fs::read_to_string(def).with_context(|| format!("reading {name}"))?;
            let value: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{name}: JSON"))?;
            let items = match value {
                serde_json::Value::Array(a) => a,
                other => vec![other],
            };
            (name, items)
        }
        (None, Some(dir)) => (dir.display().to_string(), from_config(dir)?),
        (None, None) => bail!("give --definition FILE or --config DIR"),
    };
    let now_ms = match &args.at {
        Some(at) => upsell_edge::report::parse_time(at).ok_or_else(|| {
            anyhow::anyhow!("--at {at:?}: expected Unix ms or YYYY-MM-DD[THH:MM:SS]")
        })?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("system clock before 1970")?
            .as_millis() as u64,
    };
    let mut sql = String::from("-- Generated by model-builder register-experiment; apply once with\n-- wrangler d1 execute upsell-events --file <this file>\n");
    let mut ids = std::collections::BTreeSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let e: Experiment = serde_json::from_value(item)
            .with_context(|| format!("{name}: experiment #{}", i + 1))?;
        if !ids.insert(e.id.clone()) {
            bail!("{name}: experiment #{}: id {:?} appears twice", i + 1, e.id);
        }
        let stmt = register_experiment(&e, now_ms)
            .with_context(|| format!("{name}: experiment #{} ({})", i + 1, e.id))?;
        sql.push_str(&format!("-- {} fingerprint {}\n", e.id, e.fingerprint()));
        if let Some(base) = args.baseline_attach_rate {
            let line = power_note(&e, base);
            eprintln!("{}: {line}", e.id);
            sql.push_str(&format!("-- {line}\n"));
        }
        sql.push_str(&inline(&stmt)?);
        sql.push_str(";\n");
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, sql).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{sql}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_quotes_text_and_substitutes_once() {
        let stmt = Stmt {
            sql: "SELECT ?1, ?10, ?2",
            params: (1..=10)
                .map(|i| match i {
                    1 => SqlValue::Text("it's".into()),
                    2 => SqlValue::Text("?1 stays".into()),
                    _ => SqlValue::Int(i),
                })
                .collect(),
        };
        assert_eq!(inline(&stmt).unwrap(), "SELECT 'it''s', 10, '?1 stays'");
        let null = Stmt {
            sql: "?1",
            params: vec![SqlValue::Null],
        };
        assert_eq!(inline(&null).unwrap(), "NULL");
        assert!(inline(&Stmt {
            sql: "?3",
            params: vec![]
        })
        .is_err());
        assert!(inline(&Stmt {
            sql: "? ",
            params: vec![]
        })
        .is_err());
    }
}
