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

/// Solves `A x = b` for symmetric positive definite `A` (n×n, row-major) by
/// Cholesky, in place. Returns false when `A` is not positive definite.
fn cholesky_solve(a: &mut [f64], b: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 1e-12 || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
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
pub fn ease_lists(
    gram: &[Vec<Neighbour>],
    diag: &[f64],
    offerable: &[bool],
    lambda: f64,
    candidates: usize,
    keep: usize,
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
    let lookup = |a: u32, b: u32| -> f64 {
        let row = &sorted[a as usize];
        if let Ok(k) = row.binary_search_by_key(&b, |x| x.0) {
            return row[k].1 as f64;
        }
        let row = &sorted[b as usize];
        match row.binary_search_by_key(&a, |x| x.0) {
            Ok(k) => row[k].1 as f64,
            Err(_) => 0.0,
        }
    };
    // Per target j: (source a, weight, raw count).
    let columns: Vec<Vec<(u32, f32, u32)>> = (0..n)
        .into_par_iter()
        .map(|j| {
            if !offerable[j] || gram[j].is_empty() {
                return Vec::new();
            }
            let mut s: Vec<&Neighbour> = gram[j].iter().collect();
            s.sort_unstable_by(|x, y| y.score.total_cmp(&x.score).then(x.id.cmp(&y.id)));
            s.truncate(candidates);
            let m = s.len();
            let mut a = vec![0.0f64; m * m];
            let rhs: Vec<f64> = s.iter().map(|x| x.score as f64).collect();
            for p in 0..m {
                a[p * m + p] = diag[s[p].id as usize] + lambda;
                for q in 0..p {
                    let g = lookup(s[p].id, s[q].id);
                    a[p * m + q] = g;
                    a[q * m + p] = g;
                }
            }
            let mut reg = lambda;
            let rhs = loop {
                let mut x = rhs.clone();
                if cholesky_solve(&mut a.clone(), &mut x, m) {
                    break x;
                }
                // The truncated Gram can lose definiteness: regularise harder.
                reg *= 2.0;
                if reg > 1e12 {
                    return Vec::new();
                }
                for p in 0..m {
                    a[p * m + p] += reg;
                }
            };
            s.iter()
                .zip(rhs)
                .filter(|(_, w)| *w > 0.0 && w.is_finite())
                .map(|(x, w)| (x.id, w as f32, x.count))
                .collect()
        })
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
        assert!(cholesky_solve(&mut a, &mut b, 2));
        // 4x + 2y = 2, 2x + 3y = 5 → x = -0.5, y = 2
        assert!((b[0] + 0.5).abs() < 1e-12 && (b[1] - 2.0).abs() < 1e-12);
        let mut bad = vec![0.0, 1.0, 1.0, 0.0];
        assert!(!cholesky_solve(&mut bad, &mut [1.0, 1.0], 2));
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
        let rows = ease_lists(&gram, &diag, &[true; 3], lambda, 10, 10);
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
