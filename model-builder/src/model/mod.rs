//! The model: baskets → co-occurrence counts → scores (with region
//! shrinkage) → truncated neighbour lists, cold-start fallbacks → encoded tables.
pub mod baskets;
pub mod config;
pub mod cooc;
pub mod customers;
pub mod ease;
pub mod tables;

pub use config::ModelConfig;
pub use tables::{build_gathered, build_tables, gather, BuildRequest, TableSet, ALL};

/// CPU time (user + system) of the whole process so far, in seconds (Linux;
/// 0 elsewhere): for `MODEL_BUILDER_TIMINGS`, whose wall times the other
/// work on a shared machine inflates.
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which ends at the last ')'): utime and
    // stime are the 12th and 13th, in clock ticks (100 per second on Linux).
    let after = stat.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// Resident set size of the process now, in bytes (Linux; 0 elsewhere).
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok());
    kb.unwrap_or(0) * 1024
}

/// A seeded xorshift generator for tests: each call returns the next value
/// below `k`.
#[cfg(test)]
pub(crate) fn test_rng(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |k| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % k
    }
}
