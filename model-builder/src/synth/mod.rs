//! Synthetic retailer data for scale tests and for checking that the builder
//! recovers structure that is known to be there.
//!
//! [`world::World`] holds the fixed part (categories, SKUs with Zipf
//! popularity, regions, planted missions); [`orders::OrderStream`] streams
//! orders from it in time order in constant memory; [`write`] formats them
//! in the builder's generic CSV schema, plus a truth file and a catalog.

pub mod alias;
pub mod dates;
pub mod orders;
pub mod rng;
pub mod world;
pub mod write;

use std::path::Path;

use anyhow::Result;

pub use orders::{Order, OrderStream};
pub use world::{Params, World};

/// What a generation run produced.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Orders written.
    pub orders: u64,
    /// Order lines written.
    pub lines: u64,
    /// Uncompressed bytes of order lines written (excluding the header).
    pub bytes: u64,
}

/// Streams all orders of `world` to `out` (gzip if it ends in `.gz`), calling
/// `progress` with the number of orders done every 65,536 orders and at the end.
pub fn write_orders(world: &World, out: &Path, mut progress: impl FnMut(u64)) -> Result<Summary> {
    let mut file = write::AtomicOut::create(out)?;
    let mut csv = write::OrdersCsv::new();
    csv.header(&mut file)?;
    let mut stream = OrderStream::new(world);
    let mut order = Order::default();
    let mut n = 0u64;
    while stream.next_into(&mut order) {
        csv.order(world, &order, &mut file)?;
        n += 1;
        if n.is_multiple_of(65_536) {
            progress(n);
        }
    }
    csv.flush(&mut file)?;
    file.finish()?;
    progress(n);
    Ok(Summary {
        orders: n,
        lines: csv.lines,
        bytes: csv.bytes,
    })
}
