//! Subcommands of the model builder, one module each.
pub mod version;
pub mod page;
