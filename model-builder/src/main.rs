//! `model-builder`: learns which SKUs are bought together and compiles the
//! per-brand, per-region neighbour tables the edge worker serves from.
use clap::{Parser, Subcommand};

mod cmd;
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
    /// Write a realistic synthetic order history (and its planted co-purchase truth).
    Synth(cmd::synth::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Version => cmd::version::run(),
        Command::Synth(args) => cmd::synth::run(args),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
