//! Subcommands of the model builder, one module each.
pub mod register_experiment;
pub mod report;
pub mod version;
