//! Subcommands of the model builder, one module each.
pub mod build;
pub mod config;
pub mod evaluate;
pub mod model_args;
pub mod page;
pub mod publish;
pub mod recommend;
pub mod register_experiment;
pub mod report;
pub mod synth;
pub mod version;
