//! Sparse EASE: the EASE item-item regression (Steck 2019) solved per target
//! SKU over only its top-M co-purchased SKUs, so it scales to tens of
//! thousands of SKUs without a dense inverse.
//!
//! For target j with candidate set S (its M strongest co-purchases), the
//! weights of S for predicting j are `b = (G_SS + λI)^-1 G_Sj`, G the
//! (recency-weighted, region-blended) co-purchase Gram matrix. Entry `b_a`
//! is how much having a in the order raises j, so it becomes edge a → j of
//! a's neighbour list; the edge sums them over the order, which is EASE's
//! scoring restricted to the kept edges.
use rayon::prelude::*;
use upsell_edge::table::Neighbour;

/// Dot product with four independent partial sums, so the compiler can keep
/// several multiply-adds in flight (and vectorise) instead of one serial chain.
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let mut acc = [0.0f64; 4];
    let xc = x.chunks_exact(4);
    let yc = y.chunks_exact(4);
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        acc[0] += a[0] * b[0];
        acc[1] += a[1] * b[1];
        acc[2] += a[2] * b[2];
        acc[3] += a[3] * b[3];
    }
    let mut s = (acc[0] + acc[2]) + (acc[1] + acc[3]);
    for (a, b) in xr.iter().zip(yr) {
        s += a * b;
    }
    s
}

/// Fills `out[p]` with the entry of `row` (sorted by id) for each id in
/// `ids` (sorted), `None` where the row has none. `pos[id]` is the id's slot
/// `p` (`u32::MAX` for ids not wanted by anyone): rows up to 64 times longer
/// than `ids` are scanned straight through (sequential, prefetch-friendly),
/// longer ones searched id by id.
fn intersect(row: &[(u32, f32)], ids: &[(u32, usize)], pos: &[u32], out: &mut [Option<f32>]) {
    let Some(&(first, _)) = ids.first() else {
        return;
    };
    if row.len() <= 64 * ids.len() {
        for &(_, p) in ids {
            out[p] = None;
        }
        let from = row.partition_point(|x| x.0 < first);
        for &(q, g) in &row[from..] {
            let p = pos[q as usize];
            if p != u32::MAX {
                out[p as usize] = Some(g);
            }
        }
    } else {
        // Galloping: exponential steps from the last position, then a binary
        // search inside the bracket, so each probe stays near the previous one.
        let mut lo = 0;
        for &(id, p) in ids {
            let mut step = 1;
            let mut hi = lo;
            while hi < row.len() && row[hi].0 < id {
                lo = hi + 1;
                hi += step;
                step *= 2;
            }
            let hi = hi.min(row.len());
            let k = lo + row[lo..hi].partition_point(|x| x.0 < id);
            out[p] = (k < row.len() && row[k].0 == id).then(|| row[k].1);
            lo = k;
        }
    }
}

/// Solves `A x = b` for symmetric positive definite `A` (n×n, row-major) by
/// Cholesky, in place. Returns false when a squared pivot falls to `min_sq`
/// or below (not positive definite, or less definite than required).
fn cholesky_solve(a: &mut [f64], b: &mut [f64], n: usize, min_sq: f64) -> bool {
    for j in 0..n {
        let row_j = &a[j * n..j * n + j];
        let d = a[j * n + j] - dot(row_j, row_j);
        if d <= min_sq.max(1e-12) || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        let (head, tail) = a.split_at_mut((j + 1) * n);
        let row_j = &head[j * n..j * n + j];
        for i in j + 1..n {
            let row_i = &mut tail[(i - j - 1) * n..(i - j - 1) * n + j + 1];
            let s = row_i[j] - dot(&row_i[..j], row_j);
            row_i[j] = s / d;
        }
    }
    for i in 0..n {
        let s = b[i] - dot(&a[i * n..i * n + i], &b[..i]);
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    true
}

/// Neighbour lists from sparse EASE.
///
/// `gram[i]` is SKU i's co-purchase row (score = Gram entry, count = raw
/// count), `diag[i]` its own weighted count; `offerable[j]` says whether j
/// may appear as a neighbour. Keeps the `keep` largest positive weights per SKU.
/// `complete_rows` says the rows hold every co-purchase (so row a has b
/// exactly when row b has a): each pair is then looked up once, in the row
/// of its smaller id; otherwise in both rows (a truncated row may lack it).
pub fn ease_lists(
    gram: &[Vec<Neighbour>],
    diag: &[f64],
    offerable: &[bool],
    lambda: f64,
    candidates: usize,
    keep: usize,
    complete_rows: bool,
) -> Vec<Vec<Neighbour>> {
    let n = gram.len();
    // Rows sorted by id for lookups.
    let sorted: Vec<Vec<(u32, f32)>> = gram
        .par_iter()
        .map(|r| {
            let mut v: Vec<(u32, f32)> = r.iter().map(|x| (x.id, x.score)).collect();
            v.sort_unstable_by_key(|x| x.0);
            v
        })
        .collect();
    // Per target j: (source a, weight, raw count).
    let columns: Vec<Vec<(u32, f32, u32)>> = (0..n)
        .into_par_iter()
        .map_init(
            || vec![u32::MAX; n],
            |pos, j| {
                if !offerable[j] || gram[j].is_empty() {
                    return Vec::new();
                }
                let mut s: Vec<&Neighbour> = gram[j].iter().collect();
                let by_score = |x: &&Neighbour, y: &&Neighbour| {
                    y.score.total_cmp(&x.score).then(x.id.cmp(&y.id))
                };
                if candidates < s.len() {
                    s.select_nth_unstable_by(candidates, by_score);
                    s.truncate(candidates);
                }
                s.sort_unstable_by(by_score);
                // found[p * m0 + q]: candidate q's entry in candidate p's row.
                let m0 = s.len();
                let mut ids: Vec<(u32, usize)> =
                    s.iter().enumerate().map(|(p, c)| (c.id, p)).collect();
                ids.sort_unstable();
                let mut found = vec![None; m0 * m0];
                for &(id, p) in &ids {
                    pos[id as usize] = p as u32;
                }
                for (p, c) in s.iter().enumerate() {
                    let wanted = if complete_rows {
                        &ids[ids.partition_point(|x| x.0 <= c.id)..]
                    } else {
                        &ids[..]
                    };
                    intersect(
                        &sorted[c.id as usize],
                        wanted,
                        pos,
                        &mut found[p * m0..(p + 1) * m0],
                    );
                }
                for &(id, _) in &ids {
                    pos[id as usize] = u32::MAX;
                }
                // As a symmetric lookup: p's row first, else q's (rows may be truncated).
                let lookup = |p: usize, q: usize| -> f64 {
                    found[p * m0 + q].or(found[q * m0 + p]).unwrap_or(0.0) as f64
                };
                // With truncated Gram rows a pair's entry can be missing (read as
                // 0), and G_SS may then lose definiteness. Regularising harder
                // would put this target's weights on another scale than the
                // others', so keep λ and halve the candidate set instead (the
                // strongest candidates' pairs are the ones most surely present).
                let rhs = loop {
                    let m = s.len();
                    let mut a = vec![0.0f64; m * m];
                    let mut x: Vec<f64> = s.iter().map(|c| c.score as f64).collect();
                    for p in 0..m {
                        a[p * m + p] = diag[s[p].id as usize] + lambda;
                        for q in 0..p {
                            let g = lookup(p, q);
                            a[p * m + q] = g;
                            a[q * m + p] = g;
                        }
                    }
                    // A true Gram matrix + λI has every eigenvalue ≥ λ, hence
                    // every squared Cholesky pivot ≥ λ: a smaller one means the
                    // missing entries made the system unlike any real one (and
                    // near-singular, with exploding weights).
                    if cholesky_solve(&mut a, &mut x, m, 0.99 * lambda) {
                        break x;
                    }
                    s.truncate(m / 2);
                };
                s.iter()
                    .zip(rhs)
                    .filter(|(_, w)| *w > 0.0 && w.is_finite())
                    .map(|(x, w)| (x.id, w as f32, x.count))
                    .collect()
            },
        )
        .collect();
    // Transpose: edge a → j with weight b_a.
    let mut rows: Vec<Vec<Neighbour>> = vec![Vec::new(); n];
    for (j, col) in columns.into_iter().enumerate() {
        for (a, w, count) in col {
            rows[a as usize].push(Neighbour {
                id: j as u32,
                score: w,
                count,
            });
        }
    }
    rows.par_iter_mut().for_each(|r| {
        if r.len() > keep {
            r.select_nth_unstable_by(keep, |x, y| {
                y.score.total_cmp(&x.score).then(x.id.cmp(&y.id))
            });
            r.truncate(keep);
        }
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_small_system() {
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![2.0, 5.0];
        assert!(cholesky_solve(&mut a.clone(), &mut b.clone(), 2, 0.0));
        // smallest eigenvalue of [[4,2],[2,3]] is ~1.44: a bound of 2.5 on the
        // squared pivots (4, then 3 - 1 = 2) rejects it
        assert!(!cholesky_solve(&mut a.clone(), &mut b.clone(), 2, 2.5));
        assert!(cholesky_solve(&mut a, &mut b, 2, 1.0));
        // 4x + 2y = 2, 2x + 3y = 5 → x = -0.5, y = 2
        assert!((b[0] + 0.5).abs() < 1e-12 && (b[1] - 2.0).abs() < 1e-12);
        let mut bad = vec![0.0, 1.0, 1.0, 0.0];
        assert!(!cholesky_solve(&mut bad, &mut [1.0, 1.0], 2, 0.0));
    }

    #[test]
    fn intersect_scans_short_rows_and_gallops_long_ones() {
        let ids = [(3u32, 0usize), (40, 1), (41, 2), (999, 3)];
        let mut pos = vec![u32::MAX; 1000];
        for &(id, p) in &ids {
            pos[id as usize] = p as u32;
        }
        let short: Vec<(u32, f32)> = vec![(1, 1.0), (3, 3.0), (41, 41.0)];
        let long: Vec<(u32, f32)> = (0..1000)
            .filter(|i| i % 2 == 1)
            .map(|i| (i, i as f32))
            .collect();
        for row in [&short, &long] {
            let mut out = [Some(-1.0f32); 4];
            intersect(row, &ids, &pos, &mut out);
            assert_eq!(
                out,
                [Some(3.0), None, Some(41.0), Some(999.0)]
                    .map(|x| { x.filter(|&v| row.iter().any(|r| r.1 == v)) })
            );
        }
    }

    #[test]
    fn dot_matches_the_serial_sum() {
        let x: Vec<f64> = (0..11).map(|i| i as f64).collect();
        let y: Vec<f64> = (0..11).map(|i| (i * i) as f64 + 0.5).collect();
        let serial: f64 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
        assert!((dot(&x, &y) - serial).abs() < 1e-9);
    }

    #[test]
    fn matches_dense_ease_when_nothing_is_truncated() {
        // Three SKUs; baskets {0,1}, {0,1}, {1,2}, {0,2}: Gram off-diagonals.
        let g = |id, score, count| Neighbour { id, score, count };
        let gram = vec![
            vec![g(1, 2.0, 2), g(2, 1.0, 1)],
            vec![g(0, 2.0, 2), g(2, 1.0, 1)],
            vec![g(0, 1.0, 1), g(1, 1.0, 1)],
        ];
        let diag = [3.0, 3.0, 2.0];
        let lambda = 1.0;
        let rows = ease_lists(&gram, &diag, &[true; 3], lambda, 10, 10, true);
        let both = ease_lists(&gram, &diag, &[true; 3], lambda, 10, 10, false);
        assert_eq!(rows, both);
        // Dense EASE column for target 0: solve [[4,1],[1,3]] b = [2,1].
        let det = 4.0 * 3.0 - 1.0;
        let b1 = (3.0 * 2.0 - 1.0 * 1.0) / det; // weight of SKU 1
        let b2 = (4.0 * 1.0 - 1.0 * 2.0) / det; // weight of SKU 2
        let w = |a: usize, j: u32| rows[a].iter().find(|n| n.id == j).map(|n| n.score as f64);
        assert!((w(1, 0).unwrap() - b1).abs() < 1e-6);
        assert!((w(2, 0).unwrap() - b2).abs() < 1e-6);
        assert_eq!(rows[1].iter().find(|n| n.id == 0).unwrap().count, 2);
    }
}
