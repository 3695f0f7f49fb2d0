//! Baskets: the distinct SKUs of each training order of one brand, in the
//! brand's id space, with each order's weight and scope (region table).
use rayon::prelude::*;

use crate::ingest::Dataset;

/// Training baskets of one brand, CSR layout.
#[derive(Debug, Clone, Default)]
pub struct Baskets {
    /// `items[start[o]..start[o+1]]` are order o's distinct SKU ids (sorted).
    pub start: Vec<u32>,
    /// Concatenated SKU ids.
    pub items: Vec<u32>,
    /// Dataset region id of each basket.
    pub region: Vec<Option<u32>>,
    /// Timestamp of each basket.
    pub ts: Vec<Option<i64>>,
}

impl Baskets {
    /// Number of baskets.
    pub fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// SKU ids of basket `o`.
    pub fn get(&self, o: usize) -> &[u32] {
        &self.items[self.start[o] as usize..self.start[o + 1] as usize]
    }

    /// Builds the baskets of `brand` from the dataset's orders passing `keep`,
    /// mapping dataset SKU ids through `local` (`u32::MAX` = not in the brand).
    pub fn collect(
        data: &Dataset,
        brand: u32,
        keep: &dyn Fn(usize) -> bool,
        local: &[u32],
    ) -> Baskets {
        let n = data.orders.len();
        let mut counts = vec![0u32; n + 1];
        let wanted = |o: usize| data.orders[o].brand == brand && keep(o);
        let mask: Vec<bool> = (0..n).map(wanted).collect();
        for &(o, _) in &data.lines {
            if mask[o as usize] {
                counts[o as usize + 1] += 1;
            }
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let mut fill = counts.clone();
        let mut flat = vec![0u32; counts[n] as usize];
        for &(o, s) in &data.lines {
            if mask[o as usize] {
                flat[fill[o as usize] as usize] = local[s as usize];
                fill[o as usize] += 1;
            }
        }
        // Each order's distinct SKUs, in parallel over ranges of orders
        // (each range owns its orders' part of `flat`), then concatenated in
        // order: the same baskets as one pass over the orders.
        let parts = (rayon::current_num_threads() * 16).max(1);
        let per = (counts[n] as usize).div_ceil(parts).max(1);
        let mut ranges: Vec<(usize, usize, &mut [u32])> = Vec::with_capacity(parts + 1);
        let mut rest: &mut [u32] = &mut flat;
        let mut o = 0;
        while o < n {
            let mut hi = o + 1;
            while hi < n && ((counts[hi] - counts[o]) as usize) < per {
                hi += 1;
            }
            let (head, tail) = rest.split_at_mut((counts[hi] - counts[o]) as usize);
            ranges.push((o, hi, head));
            rest = tail;
            o = hi;
        }
        // Per range: (distinct SKUs, (order, basket length) per kept basket).
        type Part = (Vec<u32>, Vec<(u32, u32)>);
        let done: Vec<Part> = ranges
            .into_par_iter()
            .map(|(lo, hi, part)| {
                let base = counts[lo] as usize;
                let mut items = Vec::with_capacity(part.len());
                let mut kept = Vec::new();
                for o in lo..hi {
                    if !mask[o] {
                        continue;
                    }
                    let b = &mut part[counts[o] as usize - base..counts[o + 1] as usize - base];
                    b.sort_unstable();
                    let before = items.len();
                    let mut last = u32::MAX;
                    for &s in b.iter() {
                        if s != last && s != u32::MAX {
                            items.push(s);
                            last = s;
                        }
                    }
                    if items.len() > before {
                        kept.push((o as u32, (items.len() - before) as u32));
                    }
                }
                (items, kept)
            })
            .collect();
        drop(flat);
        let total: usize = done.iter().map(|p| p.0.len()).sum();
        let baskets: usize = done.iter().map(|p| p.1.len()).sum();
        let mut out = Baskets {
            start: Vec::with_capacity(baskets + 1),
            items: Vec::with_capacity(total),
            region: Vec::with_capacity(baskets),
            ts: Vec::with_capacity(baskets),
        };
        out.start.push(0);
        for (items, kept) in done {
            out.items.extend_from_slice(&items);
            for (o, len) in kept {
                let end = out.start.last().expect("start") + len;
                out.start.push(end);
                out.region.push(data.orders[o as usize].region);
                out.ts.push(data.orders[o as usize].ts);
            }
        }
        out
    }

    /// For each SKU id `< n_items`, where its baskets start in an inverted
    /// index ([`Baskets::inverted`]); entry `n_items` is the total.
    pub fn item_starts(&self, n_items: usize) -> Vec<u32> {
        let mut start = vec![0u32; n_items + 1];
        for &s in &self.items {
            start[s as usize + 1] += 1;
        }
        for i in 0..n_items {
            start[i + 1] += start[i];
        }
        start
    }

    /// Inverted index: for each SKU id `< n_items`, the baskets containing it.
    pub fn inverted(&self, n_items: usize) -> (Vec<u32>, Vec<u32>) {
        let start = self.item_starts(n_items);
        let mut fill = start.clone();
        let mut orders = vec![0u32; self.items.len()];
        for o in 0..self.len() {
            for &s in self.get(o) {
                orders[fill[s as usize] as usize] = o as u32;
                fill[s as usize] += 1;
            }
        }
        (start, orders)
    }
}
