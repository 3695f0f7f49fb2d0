//! Subcommands of the model builder, one module each.
pub mod synth;
pub mod version;
