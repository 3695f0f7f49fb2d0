//! Synthetic retailer data for scale tests and for checking that the builder
//! recovers structure that is known to be there.
//!
//! [`world::World`] holds the fixed part (categories, SKUs with Zipf
//! popularity, regions, planted missions); [`orders::Plan`] lays the orders
//! out over days and chunks and [`orders::OrderStream`] generates a chunk, so
//! [`write_orders`] can generate in parallel, in bounded memory; [`write`] formats them
//! in the builder's generic CSV schema, plus a truth file and a catalog.

pub mod alias;
pub mod dates;
pub mod orders;
pub mod rng;
pub mod world;
pub mod write;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Condvar, Mutex};

use anyhow::Result;

pub use orders::{Order, Plan};
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

/// Writes all orders of `world` to `out` (gzip if it ends in `.gz`) in time
/// order, generating chunks on `threads` threads (the bytes do not depend on
/// the thread count), and calls `progress` with the number of orders written
/// after each chunk. Memory stays bounded: at most a few chunks per thread are
/// in flight.
pub fn write_orders(
    world: &World,
    out: &Path,
    threads: usize,
    mut progress: impl FnMut(u64),
) -> Result<Summary> {
    let plan = Plan::new(world);
    let n_chunks = plan.chunks().len();
    let threads = threads.clamp(1, 64);
    let window = 4 * threads;
    let mut file = write::AtomicOut::create(out)?;
    let mut header = format!("{}\n", write::ORDERS_HEADER).into_bytes();
    file.write_buf(&mut header)?;

    let next = AtomicUsize::new(0);
    // Shared with the workers: (chunks handed to the writer, stop because the
    // writer failed), and a
    // signal for workers waiting to stay within the window.
    let gate = (Mutex::new((0usize, false)), Condvar::new());
    let (tx, rx) = sync_channel::<(usize, Vec<u8>, u64)>(window);
    let summary = std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (plan, next, gate) = (&plan, &next, &gate);
            scope.spawn(move || {
                let mut csv = write::OrdersCsv::new();
                let mut order = Order::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n_chunks {
                        return;
                    }
                    // Stay within a window of the writer so memory stays bounded.
                    let (lock, cv) = gate;
                    let state = lock.lock().expect("gate lock");
                    let state = cv
                        .wait_while(state, |(written, stop)| i >= *written + window && !*stop)
                        .expect("gate lock");
                    if state.1 {
                        return;
                    }
                    drop(state);
                    let chunk = plan.chunks()[i];
                    let mut buf = Vec::with_capacity(((chunk.end - chunk.start) * 256) as usize);
                    let mut lines = 0;
                    let mut stream = plan.stream(i);
                    while stream.next_into(&mut order) {
                        csv.order(world, &order, &mut buf);
                        lines += order.lines.len() as u64;
                    }
                    if tx.send((i, buf, lines)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        // Put chunks back in order and hand them to the writer thread.
        let result = (|| -> Result<Summary> {
            let mut pending: BTreeMap<usize, (Vec<u8>, u64)> = BTreeMap::new();
            let mut summary = Summary::default();
            let mut written = 0;
            for (i, buf, lines) in rx {
                pending.insert(i, (buf, lines));
                while let Some((mut buf, lines)) = pending.remove(&written) {
                    let chunk = plan.chunks()[written];
                    summary.orders += chunk.end - chunk.start;
                    summary.lines += lines;
                    summary.bytes += buf.len() as u64;
                    file.write_buf(&mut buf)?;
                    written += 1;
                    gate.0.lock().expect("gate lock").0 = written;
                    gate.1.notify_all();
                    progress(summary.orders);
                }
            }
            Ok(summary)
        })();
        if result.is_err() {
            gate.0.lock().expect("gate lock").1 = true;
            gate.1.notify_all();
        }
        result
    })?;
    anyhow::ensure!(
        summary.orders == world.params.orders,
        "generated {} of {} orders",
        summary.orders,
        world.params.orders
    );
    file.finish()?;
    Ok(summary)
}
