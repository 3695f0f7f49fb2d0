//! The neighbour-table format: one codec for the builder (writer) and the
//! edge worker (reader).
//!
//! A table is one brand × region at one version. It is stored as opaque KV
//! values, each a checksummed, compressed envelope ([`codec`]):
//! - `nbr/<shard>`: per-SKU neighbour lists ([`neighbours`]); a SKU's shard is
//!   [`shard_of`] of its id string, so one order needs a few small reads;
//! - `facts`: the offer facts of every SKU the table knows (price, stock,
//!   category, cost, popularity) and the popularity fallback ([`facts`]);
//! - `cat/<shard>` (brand-wide): display details for the chosen SKUs ([`catalog`]).
//!
//! A version goes live only through its [`Manifest`], written last.

mod blob;
pub mod catalog;
mod checksum;
pub mod codec;
pub mod error;
pub mod facts;
pub mod manifest;
pub mod neighbours;
pub mod quant;
pub mod shard;

pub use catalog::{decode_catalog, encode_catalog, CatalogEntry, CatalogShard};
pub use codec::FORMAT_VERSION;
pub use error::TableError;
pub use facts::{decode_facts, encode_facts, Facts, SkuFacts};
pub use manifest::{slug, Manifest, ManifestKey};
pub use neighbours::{
    decode_neighbours, encode_neighbours, Neighbour, NeighbourList, NeighbourShard,
};
pub use quant::Quantiser;
pub use shard::shard_of;
