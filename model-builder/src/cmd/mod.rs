//! Subcommands of the model builder, one module each.
pub mod config;
pub mod publish;
pub mod version;
