//! `model-builder`: learns which SKUs are bought together and compiles the
//! per-brand, per-region neighbour tables the edge worker serves from.
use clap::{Parser, Subcommand};

mod cmd;

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
    /// Experiment report (per-arm figures, lifts with CIs, verdict) from an export.
    Report(cmd::report::Args),
    /// Pre-register experiments (thresholds fixed before the start) as D1 SQL.
    RegisterExperiment(cmd::register_experiment::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Version => cmd::version::run(),
        Command::Report(args) => cmd::report::run(args),
        Command::RegisterExperiment(args) => cmd::register_experiment::run(args),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
