//! One typed configuration model for the worker, the CLI and the preview.
//!
//! People write layers (TOML, parsed by `model-builder`; JSON trees here):
//! built-in defaults < platform < brand < brand × region. [`ConfigSet::resolve`]
//! merges them with the provenance of every value; [`validate()`] names every
//! problem by file, line and dotted key; [`compile`] turns a valid set into the
//! [`CompiledConfig`] the worker reads from KV as JSON. [`manifest`] is how the
//! worker reads a table manifest safely.
mod compiled;
mod error;
mod layer;
pub mod manifest;
mod model;
mod time;
mod validate;

pub use compiled::{
    compile, CompiledBrand, CompiledConfig, LoadError, CONFIG_FORMAT, CONFIG_KEY,
    CONFIG_PREVIOUS_KEY,
};
pub use error::ConfigError;
pub use layer::{leaves, merge, BrandLayers, ConfigSet, Effective, Layer, Scope, Source};
pub use model::{
    Arm, ArmName, Budget, Cart, Confirmation, Experiment, Features, Objective, Offers, Placement,
    Privacy, Regions, Settings, Style, Thresholds,
};
pub use time::{format_rfc3339, parse_rfc3339};
pub use validate::{
    check_cart_template, check_host, check_path_pattern, check_settings, hosts_overlap, region_set,
    validate, validate_with_advice, CART_PLACEHOLDERS,
};
#[cfg(test)]
mod tests;
