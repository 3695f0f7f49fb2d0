//! Ingest: order exports (CSV / JSON Lines, gzip or not, or Parquet; generic
//! schema or a mapping file) and catalogs, with errors that name file, line and field.
pub mod catalog;
pub mod error;
pub mod mapping;
pub mod orders;
mod parquet;
pub mod source;
mod split;
pub mod time;
pub mod ts_format;

pub use catalog::{load_catalog, CatalogRow};
pub use mapping::Mapping;
pub use orders::{load_orders, Dataset, LoadOptions};
