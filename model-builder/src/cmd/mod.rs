//! Subcommands of the model builder, one module each.
pub mod report;
pub mod version;
