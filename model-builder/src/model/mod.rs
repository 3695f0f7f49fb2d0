//! The model: baskets → co-occurrence counts → scores (with region
//! shrinkage) → truncated neighbour lists, cold-start fallbacks → encoded tables.
pub mod baskets;
pub mod config;
pub mod cooc;
pub mod customers;
pub mod ease;
pub mod tables;

pub use config::ModelConfig;
pub use tables::{build_tables, BuildRequest, TableSet, ALL};
