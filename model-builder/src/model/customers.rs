//! Customer windows: the SKUs one customer bought across several orders
//! within a time window, as extra (down-weighted) Gram rows for EASE. Items a
//! customer buys on separate visits are related the way items of one basket
//! are, only more weakly; data without customer ids get no windows.
use super::baskets::Baskets;
use crate::ingest::Dataset;

/// Pseudo-baskets of `brand`: per customer, its training orders (passing
/// `keep`) grouped into windows — a window starts at the customer's earliest
/// order not yet grouped and takes every later order less than `window_s`
/// seconds after it (`None`: all of the customer's orders). Only windows of
/// at least two orders and two SKUs are kept (a single order is a basket
/// already). Each window carries the union of its orders' SKUs (mapped
/// through `local`, `u32::MAX` = not in the brand), the region of its latest
/// order and the timestamp of its latest order.
pub fn customer_windows(
    data: &Dataset,
    brand: u32,
    keep: &dyn Fn(usize) -> bool,
    local: &[u32],
    window_s: Option<i64>,
) -> Baskets {
    let mut out = Baskets {
        start: vec![0],
        ..Baskets::default()
    };
    let Some(customer) = data.customers.as_ref() else {
        return out;
    };
    let n = data.orders.len();
    let wanted = |o: usize| data.orders[o].brand == brand && keep(o) && customer[o] != u32::MAX;
    // Lines per order (CSR), only for wanted orders.
    let mut lstart = vec![0u32; n + 1];
    for &(o, _) in &data.lines {
        lstart[o as usize + 1] += 1;
    }
    for i in 0..n {
        lstart[i + 1] += lstart[i];
    }
    let mut fill = lstart.clone();
    let mut skus = vec![0u32; data.lines.len()];
    for &(o, s) in &data.lines {
        skus[fill[o as usize] as usize] = s;
        fill[o as usize] += 1;
    }
    // Orders by (customer, time, id).
    let mut orders: Vec<usize> = (0..n).filter(|&o| wanted(o)).collect();
    orders.sort_unstable_by_key(|&o| (customer[o], data.orders[o].ts.unwrap_or(i64::MIN), o));
    let mut items: Vec<u32> = Vec::new();
    let mut i = 0;
    while i < orders.len() {
        let first = orders[i];
        let c = customer[first];
        let t0 = data.orders[first].ts;
        let mut j = i + 1;
        while j < orders.len() && customer[orders[j]] == c {
            let inside = match (window_s, t0, data.orders[orders[j]].ts) {
                (Some(w), Some(a), Some(b)) => b - a < w,
                _ => true,
            };
            if !inside {
                break;
            }
            j += 1;
        }
        if j - i >= 2 {
            items.clear();
            for &o in &orders[i..j] {
                let lines = &skus[lstart[o] as usize..lstart[o + 1] as usize];
                items.extend(
                    lines
                        .iter()
                        .map(|&s| local[s as usize])
                        .filter(|&l| l != u32::MAX),
                );
            }
            items.sort_unstable();
            items.dedup();
            if items.len() >= 2 {
                let last = orders[j - 1];
                out.items.extend_from_slice(&items);
                out.start.push(out.items.len() as u32);
                out.region.push(data.orders[last].region);
                out.ts.push(data.orders[last].ts);
            }
        }
        i = j;
    }
    out
}

/// `a` followed by `b`.
pub fn concat(a: &Baskets, b: &Baskets) -> Baskets {
    let mut out = a.clone();
    if out.start.is_empty() {
        out.start.push(0);
    }
    let base = out.items.len() as u32;
    out.items.extend_from_slice(&b.items);
    out.start.extend(b.start.iter().skip(1).map(|&s| s + base));
    out.region.extend_from_slice(&b.region);
    out.ts.extend_from_slice(&b.ts);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::orders::Order;

    fn data(orders: &[(Option<i64>, u32, &[u32])]) -> Dataset {
        let mut d = Dataset {
            skus: (0..5).map(|i| format!("s{i}")).collect(),
            brands: vec!["default".into()],
            ..Dataset::default()
        };
        let mut cust = Vec::new();
        for (o, (ts, c, items)) in orders.iter().enumerate() {
            d.orders.push(Order {
                ts: *ts,
                region: None,
                brand: 0,
            });
            cust.push(*c);
            for &s in *items {
                d.lines.push((o as u32, s));
            }
        }
        d.customers = Some(cust);
        d
    }

    #[test]
    fn windows_join_a_customers_orders_within_the_window() {
        let day = 86_400;
        let d = data(&[
            (Some(0), 7, &[0, 1]),
            (Some(2 * day), 7, &[2]),
            (Some(40 * day), 7, &[3]),
            (Some(41 * day), 7, &[3]),
            (Some(0), 9, &[4]),
            (Some(day), u32::MAX, &[0]),
            (Some(day), 8, &[1]),
        ]);
        let local: Vec<u32> = (0..5).collect();
        let w = customer_windows(&d, 0, &|_| true, &local, Some(30 * day));
        // customer 7: {0,1,2} (days 0, 2); days 40, 41 make one SKU only.
        assert_eq!(w.len(), 1);
        assert_eq!(w.get(0), &[0, 1, 2]);
        assert_eq!(w.ts[0], Some(2 * day));
        let all = customer_windows(&d, 0, &|_| true, &local, None);
        assert_eq!(all.len(), 1);
        assert_eq!(all.get(0), &[0, 1, 2, 3]);
        // orders outside training are ignored
        let some = customer_windows(&d, 0, &|o| o != 1, &local, Some(30 * day));
        assert_eq!(some.len(), 0);
        // no customer ids: nothing
        let mut none = d.clone();
        none.customers = None;
        assert_eq!(customer_windows(&none, 0, &|_| true, &local, None).len(), 0);
        let both = concat(&w, &all);
        assert_eq!(both.len(), 2);
        assert_eq!(both.get(1), &[0, 1, 2, 3]);
    }
}
