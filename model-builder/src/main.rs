//! `model-builder`: learns which SKUs are bought together and compiles the
//! per-brand, per-region neighbour tables the edge worker serves from.
use clap::{Parser, Subcommand};

mod cmd;
mod config_files;
mod ingest;
mod model;
mod publish;
mod serve;
mod synth;

/// Command-line interface of the model builder.
#[derive(Parser)]
#[command(name = "model-builder", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One subcommand per job; each lives in `cmd/<name>.rs`.
#[derive(Subcommand)]
enum Command {
    /// Print the crate version and the table format version.
    Version,
    /// Build the neighbour tables from orders (and a catalog).
    Build(cmd::build::Args),
    /// Rank offers for JSON Lines queries from a built table.
    Recommend(cmd::recommend::Args),
    /// Measure offer quality with the evaluation protocol.
    Evaluate(cmd::evaluate::Args),
    /// Print what the worker would extract from a saved confirmation page.
    Page(cmd::page::Args),
    /// Validate, show or compile the brand × region configuration.
    Config(cmd::config::Args),
    /// Publish built tables and configuration to Workers KV (verify, then switch; rollback; gc).
    Publish(cmd::publish::Args),
    /// Experiment report (per-arm figures, lifts with CIs, verdict) from an export.
    Report(cmd::report::Args),
    /// Pre-register experiments (thresholds fixed before the start) as D1 SQL.
    RegisterExperiment(cmd::register_experiment::Args),
    /// Write a realistic synthetic order history (and its planted co-purchase truth).
    Synth(cmd::synth::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Version => cmd::version::run(),
        Command::Build(a) => cmd::build::run(a),
        Command::Recommend(a) => cmd::recommend::run(a),
        Command::Evaluate(a) => cmd::evaluate::run(a),
        Command::Page(args) => cmd::page::run(args),
        Command::Config(args) => cmd::config::run(args),
        Command::Publish(args) => cmd::publish::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::RegisterExperiment(args) => cmd::register_experiment::run(args),
        Command::Synth(args) => cmd::synth::run(args),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
