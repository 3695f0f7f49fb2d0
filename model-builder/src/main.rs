//! `model-builder`: learns which SKUs are bought together and compiles the
//! per-brand, per-region neighbour tables the edge worker serves from.
use clap::{Parser, Subcommand};

mod cmd;
mod config_files;
mod publish;

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
    /// Validate, show or compile the brand × region configuration.
    Config(cmd::config::Args),
    /// Publish built tables and configuration to Workers KV (verify, then switch; rollback; gc).
    Publish(cmd::publish::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Version => cmd::version::run(),
        Command::Config(args) => cmd::config::run(args),
        Command::Publish(args) => cmd::publish::run(args),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
