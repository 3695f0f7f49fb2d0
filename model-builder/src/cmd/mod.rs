//! Subcommands of the model builder, one module each.
pub mod page;
pub mod version;
