//! Edge post-purchase upsell engine.
//!
//! The logic a request follows lives in plain Rust modules that build and test
//! natively; the Cloudflare Workers glue is a thin layer compiled only for
//! `wasm32` (see [`worker_glue`]).
//!
//! Request path: route → extract → lookup → rank → render → inject → beacon.
//! Builder path (in the `model-builder` crate): ingest → count → score →
//! truncate → encode → publish, sharing this crate's table codec and config.
#![warn(missing_docs)]

pub mod assign;
pub mod config;
pub mod csv;
pub mod events;
pub mod extract;
pub mod inject;
pub mod offers;
pub mod origin;
pub mod rank;
pub mod render;
pub mod report;
pub mod route;
pub mod serve;
pub mod stats;
pub mod table;
pub mod token;

#[cfg(target_arch = "wasm32")]
pub mod worker_glue;
