//! Subcommands of the model builder, one module each.
pub mod build;
pub mod evaluate;
pub mod model_args;
pub mod recommend;
pub mod config;
pub mod publish;
pub mod report;
pub mod synth;
pub mod version;
pub mod page;
