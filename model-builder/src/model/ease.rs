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
use std::sync::atomic::{AtomicU32, Ordering};

use indicatif::ProgressBar;
use rayon::prelude::*;
use upsell_edge::table::Neighbour;

use super::baskets::Baskets;
use super::cooc::{blended_item_weight, ScopeCounts};

/// Dot product with four independent partial sums, so the compiler can keep
/// several multiply-adds in flight (and vectorise) instead of one serial chain.
#[inline(always)]
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

/// `dot(x, y)` for four `x` at once, each with the same operations in the
/// same order as [`dot`] (so bit-identical results).
#[inline(always)]
fn dot4(y: &[f64], x: [&[f64]; 4]) -> [f64; 4] {
    let n = y.len();
    let x = x.map(|x| &x[..n]);
    let mut acc = [[0.0f64; 4]; 4];
    let body = n - n % 4;
    let mut c = 0;
    while c < body {
        let yc = &y[c..c + 4];
        for (acc, x) in acc.iter_mut().zip(&x) {
            let xc = &x[c..c + 4];
            for l in 0..4 {
                acc[l] += xc[l] * yc[l];
            }
        }
        c += 4;
    }
    let mut out = [0.0f64; 4];
    for ((o, acc), x) in out.iter_mut().zip(&acc).zip(&x) {
        let mut s = (acc[0] + acc[2]) + (acc[1] + acc[3]);
        for (a, b) in x[body..].iter().zip(&y[body..]) {
            s += a * b;
        }
        *o = s;
    }
    out
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
#[cfg(test)]
fn cholesky_solve(a: &mut [f64], b: &mut [f64], n: usize, min_sq: f64) -> bool {
    cholesky_solve_from(a, b, n, min_sq, 0)
}

/// [`cholesky_solve`] where rows `..done` of `a` already hold the factor of
/// the leading `done`×`done` block (as a previous solve left them): only the
/// rows from `done` on are factorised. Each entry of the factor is computed
/// by the same operations either way, so the results are the same.
fn cholesky_solve_from(a: &mut [f64], b: &mut [f64], n: usize, min_sq: f64, done: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the only feature the function is compiled for.
        return unsafe { cholesky_solve_avx2_pairs(a, b, n, min_sq, done) };
    }
    cholesky_solve_portable(a, b, n, min_sq, done, dot4)
}

/// [`dot4`] on AVX2 vectors: lane l of each accumulator is `dot`'s partial
/// sum l, so the operations and their order are the same (no fused
/// multiply-adds).
#[cfg(all(test, target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn dot4_avx2(y: &[f64], x: [&[f64]; 4]) -> [f64; 4] {
    use std::arch::x86_64::*;
    let n = y.len();
    assert!(x.iter().all(|x| x.len() >= n));
    let body = n - n % 4;
    let mut acc = [_mm256_setzero_pd(); 4];
    let mut c = 0;
    while c < body {
        // SAFETY: c + 4 <= body <= n, and every x holds at least n values.
        unsafe {
            let yv = _mm256_loadu_pd(y.as_ptr().add(c));
            for (acc, x) in acc.iter_mut().zip(&x) {
                let xv = _mm256_loadu_pd(x.as_ptr().add(c));
                *acc = _mm256_add_pd(*acc, _mm256_mul_pd(xv, yv));
            }
        }
        c += 4;
    }
    let mut out = [0.0f64; 4];
    for ((o, acc), x) in out.iter_mut().zip(&acc).zip(&x) {
        let mut l = [0.0f64; 4];
        // SAFETY: `l` holds four f64.
        unsafe { _mm256_storeu_pd(l.as_mut_ptr(), *acc) };
        let mut s = (l[0] + l[2]) + (l[1] + l[3]);
        for (a, b) in x[body..n].iter().zip(&y[body..]) {
            s += a * b;
        }
        *o = s;
    }
    out
}

/// [`cholesky_solve_portable`] compiled for AVX2: the same operations in the
/// same order (no fused multiply-adds), so the same results, on 4-wide vectors.
#[cfg(all(test, target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
unsafe fn cholesky_solve_avx2(
    a: &mut [f64],
    b: &mut [f64],
    n: usize,
    min_sq: f64,
    done: usize,
) -> bool {
    // SAFETY: this function only runs where AVX2 is available.
    cholesky_solve_portable(a, b, n, min_sq, done, |y, x| unsafe { dot4_avx2(y, x) })
}

/// The sums of four accumulators as `dot` sums its lanes,
/// `(l0 + l2) + (l1 + l3)` each, in one vector (lane k from `acc[k]`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn hsum4(acc: [std::arch::x86_64::__m256d; 4]) -> std::arch::x86_64::__m256d {
    use std::arch::x86_64::*;
    // [A0+A2, A1+A3, B0+B2, B1+B3] and the same for C, D.
    let ab = _mm256_add_pd(
        _mm256_permute2f128_pd::<0x20>(acc[0], acc[1]),
        _mm256_permute2f128_pd::<0x31>(acc[0], acc[1]),
    );
    let cd = _mm256_add_pd(
        _mm256_permute2f128_pd::<0x20>(acc[2], acc[3]),
        _mm256_permute2f128_pd::<0x31>(acc[2], acc[3]),
    );
    // [A, C, B, D], then lanes in order.
    _mm256_permute4x64_pd::<0xD8>(_mm256_hadd_pd(ab, cd))
}

/// [`cholesky_solve_portable`] with two columns at a time and the four rows
/// of a group finished in one vector: every entry of the factor is computed
/// by the same operations in the same order (each dot product's four lanes
/// over the whole chunks, `(l0 + l2) + (l1 + l3)`, then the tail one
/// product at a time, then `(a - s) * (1 / d)`; no fused multiply-adds), so the
/// results are the same bits. Columns j and j + 1 (j even) have the same
/// whole chunks, so rows below both share their loads; column j + 1's entry
/// of a row needs the row's column-j entry, which its group finishes first.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn cholesky_solve_avx2_pairs(
    a: &mut [f64],
    b: &mut [f64],
    n: usize,
    min_sq: f64,
    done: usize,
) -> bool {
    use std::arch::x86_64::*;
    assert!(a.len() >= n * n && b.len() >= n);
    let bound = min_sq.max(1e-12);
    let ap = a.as_mut_ptr();
    // Row j's pivot: read if factored, else computed (None if too small).
    let pivot = |j: usize| -> Option<f64> {
        // SAFETY: j < n, so row j's first j + 1 entries are inside `a`.
        let row = unsafe { std::slice::from_raw_parts(ap.add(j * n), j + 1) };
        if j < done {
            return Some(row[j]);
        }
        let d = row[j] - dot(&row[..j], &row[..j]);
        if d <= bound || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        // SAFETY: as above.
        unsafe { *ap.add(j * n + j) = d };
        Some(d)
    };
    // One entry (i, j), i > j, as the row-by-row solve computes it, with
    // `inv` = 1 / pivot j.
    let single = |i: usize, j: usize, inv: f64| {
        // SAFETY: i, j < n; the two rows' first j + 1 entries are inside `a`
        // (and distinct: i != j), read before the one write.
        unsafe {
            let ri = std::slice::from_raw_parts(ap.add(i * n), j + 1);
            let rj = std::slice::from_raw_parts(ap.add(j * n), j);
            let s = ri[j] - dot(&ri[..j], rj);
            *ap.add(i * n + j) = s * inv;
        }
    };
    let mut j = 0;
    while j < n {
        let Some(dj) = pivot(j) else {
            return false;
        };
        let ij = 1.0 / dj;
        if j + 1 == n {
            break;
        }
        let j1 = j + 1;
        if j1 >= done {
            single(j1, j, ij);
        }
        let Some(dj1) = pivot(j1) else {
            return false;
        };
        let ij1 = 1.0 / dj1;
        // j is even, so j and j + 1 have the same whole chunks.
        let body = j - j % 4;
        let mut i = (j + 2).max(done);
        // SAFETY (the block): every pointer below is `ap` plus an offset of
        // an entry (r, c) with r < n and c <= j + 1 <= r.
        unsafe {
            let (ya, yb) = (ap.add(j * n), ap.add(j1 * n));
            let (dva, dvb) = (_mm256_set1_pd(ij), _mm256_set1_pd(ij1));
            while i + 4 <= n {
                let x = [
                    ap.add(i * n),
                    ap.add((i + 1) * n),
                    ap.add((i + 2) * n),
                    ap.add((i + 3) * n),
                ];
                let mut acc_a = [_mm256_setzero_pd(); 4];
                let mut acc_b = [_mm256_setzero_pd(); 4];
                let mut c = 0;
                while c < body {
                    let va = _mm256_loadu_pd(ya.add(c));
                    let vb = _mm256_loadu_pd(yb.add(c));
                    for k in 0..4 {
                        let xv = _mm256_loadu_pd(x[k].add(c));
                        acc_a[k] = _mm256_add_pd(acc_a[k], _mm256_mul_pd(xv, va));
                        acc_b[k] = _mm256_add_pd(acc_b[k], _mm256_mul_pd(xv, vb));
                    }
                    c += 4;
                }
                let col = |c: usize| {
                    _mm256_set_pd(*x[3].add(c), *x[2].add(c), *x[1].add(c), *x[0].add(c))
                };
                // Column j.
                let mut sa = hsum4(acc_a);
                for c in body..j {
                    sa = _mm256_add_pd(sa, _mm256_mul_pd(col(c), _mm256_set1_pd(*ya.add(c))));
                }
                let ra = _mm256_mul_pd(_mm256_sub_pd(col(j), sa), dva);
                let mut out = [0.0f64; 4];
                _mm256_storeu_pd(out.as_mut_ptr(), ra);
                for k in 0..4 {
                    *x[k].add(j) = out[k];
                }
                // Column j + 1: its tail ends with the entries just made.
                let mut sb = hsum4(acc_b);
                for c in body..j {
                    sb = _mm256_add_pd(sb, _mm256_mul_pd(col(c), _mm256_set1_pd(*yb.add(c))));
                }
                sb = _mm256_add_pd(sb, _mm256_mul_pd(ra, _mm256_set1_pd(*yb.add(j))));
                let rb = _mm256_mul_pd(_mm256_sub_pd(col(j1), sb), dvb);
                _mm256_storeu_pd(out.as_mut_ptr(), rb);
                for k in 0..4 {
                    *x[k].add(j1) = out[k];
                }
                i += 4;
            }
        }
        for i in i..n {
            single(i, j, ij);
            single(i, j1, ij1);
        }
        j += 2;
    }
    substitute(a, b, n);
    true
}

#[inline(always)]
fn cholesky_solve_portable(
    a: &mut [f64],
    b: &mut [f64],
    n: usize,
    min_sq: f64,
    done: usize,
    dot4: impl Fn(&[f64], [&[f64]; 4]) -> [f64; 4],
) -> bool {
    for j in 0..n {
        let d = if j < done {
            a[j * n + j]
        } else {
            let row_j = &a[j * n..j * n + j];
            let d = a[j * n + j] - dot(row_j, row_j);
            if d <= min_sq.max(1e-12) || !d.is_finite() {
                return false;
            }
            let d = d.sqrt();
            a[j * n + j] = d;
            d
        };
        let inv = 1.0 / d;
        let (head, tail) = a.split_at_mut((j + 1) * n);
        let row_j = &head[j * n..j * n + j];
        // Four rows at a time: four independent dot products (each summed
        // exactly as `dot` sums it) share the loads of row j and keep more
        // additions in flight than one dot product's dependency chain allows.
        let mut i = (j + 1).max(done);
        while i + 4 <= n {
            let at = (i - j - 1) * n;
            let rows = [at, at + n, at + 2 * n, at + 3 * n];
            let s = dot4(
                row_j,
                [
                    &tail[rows[0]..rows[0] + j],
                    &tail[rows[1]..rows[1] + j],
                    &tail[rows[2]..rows[2] + j],
                    &tail[rows[3]..rows[3] + j],
                ],
            );
            for (r, s) in rows.into_iter().zip(s) {
                tail[r + j] = (tail[r + j] - s) * inv;
            }
            i += 4;
        }
        for i in i..n {
            let row_i = &mut tail[(i - j - 1) * n..(i - j - 1) * n + j + 1];
            let s = row_i[j] - dot(&row_i[..j], row_j);
            row_i[j] = s * inv;
        }
    }
    substitute(a, b, n);
    true
}

/// Solves `L Lᵀ x = b` in place, with the Cholesky factor `L` in `a`'s lower triangle.
#[inline(always)]
fn substitute(a: &[f64], b: &mut [f64], n: usize) {
    for i in 0..n {
        let s = b[i] - dot(&a[i * n..i * n + i], &b[..i]);
        b[i] = s / a[i * n + i];
    }
    // Backwards by rows of L (contiguous, and each entry of b updated on
    // its own: no chain of dependent additions): x_i is final once every
    // later row has been subtracted.
    for i in (0..n).rev() {
        let xi = b[i] / a[i * n + i];
        b[i] = xi;
        for (bk, &l) in b[..i].iter_mut().zip(&a[i * n..i * n + i]) {
            *bk -= l * xi;
        }
    }
}

/// Rounds of [`solve_column`]'s support pruning at most (each drops at least
/// one candidate; in practice 2–4 rounds reach a non-negative solution).
const NONNEG_ROUNDS: usize = 16;

/// Solves target j's ridge problem over its candidates `s` (id and G_aj,
/// strongest first): `(G_SS + λI) b = G_Sj`, with `lookup(p, q)` the Gram
/// entry of candidates p and q. Returns the candidates kept (indices into `s`) and
/// their weights.
///
/// With truncated Gram rows a pair's entry can be missing (read as 0), and
/// G_SS may then lose definiteness. Regularising harder would put this
/// target's weights on another scale than the others', so λ stays and the
/// candidate set is halved instead (the strongest candidates' pairs are the
/// ones most surely present).
///
/// `nonnegative`: the table keeps only positive weights, and dropping the
/// negative ones of the unconstrained solution leaves positive weights that
/// were fitted expecting the negatives beside them. Instead the candidates
/// with a weight ≤ 0 are removed and the rest re-solved, until every weight
/// is positive (an active-set approximation of non-negative least squares),
/// so the kept weights are the best fit of a model with only those edges.
fn solve_column(
    s: &[(u32, f64)],
    diag: &[f64],
    lambda: f64,
    nonnegative: bool,
    fill: impl FnOnce(&mut [f64], usize),
    scratch: &mut SolveScratch,
) -> (Vec<usize>, Vec<f64>) {
    let SolveScratch {
        full,
        a,
        x,
        active,
        factored,
    } = scratch;
    // Lower triangle of G_SS + λI in candidate order, filled once. The
    // buffers are reused from block to block: only lower triangles (and
    // diagonals) are ever read, and each is written before it is read.
    let m0 = s.len();
    if full.len() < m0 * m0 {
        full.resize(m0 * m0, 0.0);
        a.resize(m0 * m0, 0.0);
    }
    fill(&mut full[..m0 * m0], m0);
    for p in 0..m0 {
        full[p * m0 + p] = diag[s[p].0 as usize] + lambda;
    }
    active.clear();
    active.extend(0..m0);
    factored.clear();
    let mut rounds = 0;
    // The last factor (in `a`, row stride `mp`) and its candidates: a
    // re-solve keeps the rows of the candidates before the first one removed
    // (Cholesky row k depends only on rows ..=k), and factorises the rest.
    loop {
        let m = active.len();
        let mp = factored.len();
        let done = factored
            .iter()
            .zip(active.iter())
            .take_while(|(f, a)| f == a)
            .count();
        // Kept rows move to stride m ≤ mp: row pi goes from pi·mp down to
        // pi·m, so in increasing order no row overwrites one still to move.
        for pi in 1..done {
            a.copy_within(pi * mp..pi * mp + pi + 1, pi * m);
        }
        for (pi, &p) in active.iter().enumerate().skip(done) {
            let row = &mut a[pi * m..pi * m + pi + 1];
            for (dst, &q) in row.iter_mut().zip(&active[..=pi]) {
                *dst = full[p * m0 + q];
            }
        }
        x.clear();
        x.extend(active.iter().map(|&p| s[p].1));
        // A true Gram matrix + λI has every eigenvalue ≥ λ, hence every
        // squared Cholesky pivot ≥ λ: a smaller one means the missing entries
        // made the system unlike any real one (and near-singular, with
        // exploding weights).
        if !cholesky_solve_from(&mut a[..m * m], x, m, 0.99 * lambda, done) {
            active.truncate(m / 2);
            factored.clear();
            continue;
        }
        factored.clone_from(active);
        if nonnegative && rounds < NONNEG_ROUNDS && x.iter().any(|&w| w <= 0.0) {
            rounds += 1;
            let mut k = 0;
            for i in 0..m {
                if x[i] > 0.0 {
                    active[k] = active[i];
                    k += 1;
                }
            }
            active.truncate(k);
            continue;
        }
        return (active.clone(), x.clone());
    }
}

/// Buffers [`solve_column`] reuses from one block to the next.
#[derive(Default)]
struct SolveScratch {
    full: Vec<f64>,
    a: Vec<f64>,
    x: Vec<f64>,
    active: Vec<usize>,
    factored: Vec<usize>,
}

/// Neighbour lists from sparse EASE.
///
/// `gram[i]` is SKU i's co-purchase row (score = Gram entry, count = raw
/// count), `diag[i]` its own weighted count; `offerable[j]` says whether j
/// may appear as a neighbour. Keeps the `keep` largest positive weights per SKU.
/// `complete_rows` says the rows hold every co-purchase (so row a has b
/// exactly when row b has a): each pair is then looked up once, in the row
/// of its smaller id; otherwise in both rows (a truncated row may lack it).
/// `nonnegative` fits the positive weights without the negative ones beside
/// them (see [`solve_column`]) instead of dropping the negatives afterwards.
#[allow(clippy::too_many_arguments)]
pub fn ease_lists(
    gram: &[Vec<Neighbour>],
    diag: &[f64],
    offerable: &[bool],
    lambda: f64,
    candidates: usize,
    keep: usize,
    complete_rows: bool,
    nonnegative: bool,
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
            || (vec![u32::MAX; n], SolveScratch::default()),
            |(pos, scratch), j| {
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
                let cand: Vec<(u32, f64)> = s.iter().map(|c| (c.id, c.score as f64)).collect();
                let fill = |full: &mut [f64], m0: usize| {
                    for p in 0..m0 {
                        for q in 0..p {
                            full[p * m0 + q] = lookup(p, q);
                        }
                    }
                };
                let (active, rhs) = solve_column(&cand, diag, lambda, nonnegative, fill, scratch);
                active
                    .iter()
                    .map(|&p| s[p])
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

/// What [`sparse_ease`] learns from.
pub struct EaseInput<'a> {
    /// Training baskets, packed with each basket's weight and scope.
    pub packed: &'a Packed,
    /// SKU ids are `< n_items`.
    pub n_items: usize,
    /// Scope totals (scope 0 brand-wide).
    pub counts: &'a [ScopeCounts],
    /// Which SKUs may be offered (targets).
    pub offerable: &'a [bool],
    /// Ridge penalty λ.
    pub lambda: f64,
    /// Candidates per target, M.
    pub candidates: usize,
    /// Neighbours kept per SKU.
    pub keep: usize,
    /// Region prior strength m, in weighted orders.
    pub prior: f64,
    /// EDLAE penalty: each regressor's λ is raised by this times its own
    /// diagonal entry (0 = plain ridge).
    pub diag_reg: f64,
    /// Fit non-negative weights (see [`solve_column`]).
    pub nonnegative: bool,
    /// L1 penalty on the weights: subtracted from each candidate's `G_aj`.
    pub l1: f64,
}

/// Bytes of Gram blocks filled at once: targets are taken in batches so that
/// their candidates' pairwise Gram entries fit in this. Every batch pays a
/// pass over its candidates' co-purchase rows (nearly every SKU's at scale),
/// so fewer batches are faster: the seed's year (40k SKUs, 6 scopes) takes
/// three, with peak memory under 3.2 GB (the build frees the dataset's
/// orders and lines before the model runs).
const BATCH_BYTES: usize = 1536 << 20;

/// Hints the CPU to fetch `x`'s cache line (no effect on results).
#[inline(always)]
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only hints the cache; any address is allowed.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_mm_prefetch(x as *const T as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// The baskets laid out for row accumulation: each basket is one record
/// `[weight bits, scope | len << 8, items…]` in `data`, and the inverted
/// index lists, per SKU, the offsets of the records of the baskets holding
/// it (in basket order, as [`Baskets::inverted`]), so accumulating a row
/// reads one scattered record per basket instead of four arrays.
pub struct Packed {
    data: Vec<u32>,
    inv_start: Vec<u32>,
    inv: Vec<u32>,
}

impl Packed {
    /// Packs baskets `b` (SKU ids `< n`) with each basket's weight and scope.
    pub fn new(b: &Baskets, weight: &[f32], scope_of: &[u8], n: usize) -> Self {
        let total = b.items.len() + 2 * b.len();
        assert!(total < u32::MAX as usize, "too many basket lines");
        let inv_start = b.item_starts(n);
        let mut fill = inv_start.clone();
        let mut inv = vec![0u32; b.items.len()];
        let mut data = Vec::with_capacity(total);
        for o in 0..b.len() {
            let items = b.get(o);
            assert!(items.len() < 1 << 24, "basket too large");
            let at = data.len() as u32;
            data.push(weight[o].to_bits());
            data.push(scope_of[o] as u32 | (items.len() as u32) << 8);
            data.extend_from_slice(items);
            for &s in items {
                inv[fill[s as usize] as usize] = at;
                fill[s as usize] += 1;
            }
        }
        Packed {
            data,
            inv_start,
            inv,
        }
    }
}

/// `n` zeroed atomic cells from a zeroed allocation (`calloc`: fresh pages
/// from the kernel are not written again).
fn zeroed_cells(n: usize) -> Vec<AtomicU32> {
    let mut v = std::mem::ManuallyDrop::new(vec![0u32; n]);
    // SAFETY: `AtomicU32` has the same size, alignment and bit validity as
    // `u32`, so the allocation is a valid `Vec<AtomicU32>` of the same length
    // and capacity, and is freed with the same layout.
    unsafe { Vec::from_raw_parts(v.as_mut_ptr().cast::<AtomicU32>(), v.len(), v.capacity()) }
}

/// Per-thread dense co-purchase accumulators, item-major (`[item * scopes + scope]`).
struct RowAcc {
    w: Vec<f32>,
    raw: Vec<u32>,
    /// The SKUs a row touched: in first-touch order, or in id order when
    /// `dense`.
    touched: Vec<u32>,
    /// Rows touch a large share of the SKUs: `touched` is found by one scan
    /// after the row instead of a test (a poorly predicted branch) per line.
    dense: bool,
}

impl RowAcc {
    fn new(n: usize, scopes: usize, raw: bool, dense: bool) -> Self {
        RowAcc {
            w: vec![0.0; n * scopes],
            raw: if raw { vec![0; n * scopes] } else { Vec::new() },
            touched: Vec::new(),
            dense,
        }
    }

    /// Adds SKU `i`'s co-purchases (weighted, and raw counts if kept) to
    /// scope 0 and each basket's own scope, in inverted-list order.
    fn add_row(&mut self, scopes: usize, pk: &Packed, i: usize) {
        if self.dense {
            self.accumulate::<false>(scopes, pk, i);
            self.scan_touched(scopes);
        } else {
            self.accumulate::<true>(scopes, pk, i);
        }
    }

    /// [`RowAcc::add_row`]'s sums, noting first touches if `TRACK`.
    #[inline(always)]
    fn accumulate<const TRACK: bool>(&mut self, scopes: usize, pk: &Packed, i: usize) {
        let with_raw = !self.raw.is_empty();
        let data = &pk.data[..];
        let orders = &pk.inv[pk.inv_start[i] as usize..pk.inv_start[i + 1] as usize];
        for (k, &at) in orders.iter().enumerate() {
            // The baskets are scattered: ask for the ones a few ahead (their
            // first two cache lines; a record is 2 words plus its items).
            if let Some(&ahead) = orders.get(k + 8) {
                let ahead = ahead as usize;
                prefetch(&data[ahead]);
                prefetch(&data[(ahead + 16).min(data.len() - 1)]);
            }
            let at = at as usize;
            let wo = f32::from_bits(data[at]);
            let head = data[at + 1];
            let s = (head & 0xff) as usize;
            let len = (head >> 8) as usize;
            for &j in &data[at + 2..at + 2 + len] {
                let j = j as usize;
                if j == i {
                    continue;
                }
                let at = j * scopes;
                if TRACK && self.w[at] == 0.0 && (!with_raw || self.raw[at] == 0) {
                    self.touched.push(j as u32);
                }
                self.w[at] += wo;
                if s != 0 {
                    self.w[at + s] += wo;
                }
                if with_raw {
                    self.raw[at] += 1;
                    if s != 0 {
                        self.raw[at + s] += 1;
                    }
                }
            }
        }
    }

    /// Lists in `touched`, in id order, the SKUs the tracked test would
    /// have listed: a raw count (or, without counts, a weight) not 0.
    fn scan_touched(&mut self, scopes: usize) {
        let touched = &mut self.touched;
        if self.raw.is_empty() {
            let nonzero = self.w.iter().step_by(scopes).map(|&w| w != 0.0);
            touched.extend((0..).zip(nonzero).filter(|x| x.1).map(|x| x.0));
        } else {
            let nonzero = self.raw.iter().step_by(scopes).map(|&c| c != 0);
            touched.extend((0..).zip(nonzero).filter(|x| x.1).map(|x| x.0));
        }
    }

    fn clear(&mut self, scopes: usize) {
        if self.dense {
            // Most cells were touched: one fill beats one per SKU.
            self.w.fill(0.0);
            self.raw.fill(0);
            self.touched.clear();
            return;
        }
        for &j in &self.touched {
            let at = j as usize * scopes;
            self.w[at..at + scopes].fill(0.0);
            if !self.raw.is_empty() {
                self.raw[at..at + scopes].fill(0);
            }
        }
        self.touched.clear();
    }
}

/// Gram entry in scope `s` from the weights `w[at..]` of one SKU (every
/// scope; 0 when absent): a region's own weight plus its borrowed share of
/// the brand-wide one.
#[inline]
fn gram_at(w: &[f32], at: usize, s: usize, prior: f64, w0: f64) -> f32 {
    let g = if s == 0 {
        w[at]
    } else {
        w[at + s] + (prior * w[at] as f64 / w0) as f32
    };
    if g > 0.0 && g.is_finite() {
        g
    } else {
        0.0
    }
}

/// Bytes of co-purchase rows the candidates step may keep for the Gram
/// blocks (see [`UpperRows`]): Online Retail's take 61 MB.
const UPPER_ROWS_BYTES: usize = 256 << 20;

/// Each SKU's Gram entries with the SKUs of higher id, every scope
/// (`[s * (n - p - 1) + q - p - 1]` in row p), as the candidates step
/// computed them: the Gram blocks read them instead of accumulating the
/// rows again. Kept only when every target is in one batch and they fit in
/// [`UPPER_ROWS_BYTES`]; empty otherwise.
struct UpperRows {
    w: Vec<f32>,
    n: usize,
    scopes: usize,
}

impl UpperRows {
    /// Zeroed rows for `n` SKUs if `keep`, else none.
    fn new(n: usize, scopes: usize, keep: bool) -> Self {
        let len = if keep { tri_len(n) * scopes } else { 0 };
        UpperRows {
            w: vec![0.0; len],
            n,
            scopes,
        }
    }

    /// Whether the rows are kept.
    fn kept(&self) -> bool {
        !self.w.is_empty()
    }

    /// Where row `p` starts in `w`.
    fn start(&self, p: usize) -> usize {
        (p * self.n - p * (p + 1) / 2) * self.scopes
    }

    /// Row `p`: its entry of SKU `q > p` in scope `s` is at
    /// `s * (n - p - 1) + q - p - 1`.
    fn row(&self, p: usize) -> &[f32] {
        &self.w[self.start(p)..self.start(p + 1)]
    }

    /// Hands `put(p, q, G_pq)` a block's Gram entries in scope `s`, each
    /// pair from the row of its smaller id (`ids` ascending; `order[r]` is
    /// the candidate of id rank r).
    fn block_entries(
        &self,
        ids: &[u32],
        order: &[u32],
        s: usize,
        put: &mut impl FnMut(usize, usize, f32),
    ) {
        for (r, &id) in ids.iter().enumerate() {
            let width = self.n - id as usize - 1;
            let g = &self.row(id as usize)[s * width..(s + 1) * width];
            let p = order[r] as usize;
            for (&q, &q_id) in order[r + 1..].iter().zip(&ids[r + 1..]) {
                put(p, q as usize, g[(q_id - id - 1) as usize]);
            }
        }
    }

    /// Each SKU's row to fill, in id order (empty rows when none are kept).
    fn rows_mut(&mut self) -> Vec<&mut [f32]> {
        let (n, scopes) = (self.n, self.scopes);
        let mut rest = &mut self.w[..];
        let mut out = Vec::with_capacity(n);
        for p in 0..n {
            let len = if rest.is_empty() {
                0
            } else {
                (n - p - 1) * scopes
            };
            let (row, tail) = std::mem::take(&mut rest).split_at_mut(len);
            out.push(row);
            rest = tail;
        }
        out
    }
}

/// One target in one scope: its candidates, in score order.
struct Block {
    target: u32,
    scope: u8,
    /// (SKU, Gram entry with the target, raw count in scope), best first.
    cand: Vec<(u32, f32, u32)>,
    /// Candidate ids sorted ascending; `rank[p]` is candidate p's index here.
    ids: Vec<u32>,
    rank: Vec<u32>,
}

fn tri_len(m: usize) -> usize {
    m * m.saturating_sub(1) / 2
}

/// What a co-purchase row's Gram entries are computed from.
struct GramCtx<'a> {
    pk: &'a Packed,
    scopes: usize,
    prior: f64,
    w0: f64,
}

/// Which (block, id rank) each SKU fills: CSR over SKUs. Each SKU's runs
/// (its Gram entries with the block's higher-id candidates) are laid out
/// one after another in the arena, in the order it writes them, so the
/// writes stream; `row_off` says where each block row went. Block ids are
/// copied into one flat array.
#[derive(Default)]
struct ArenaIndex {
    ids_off: Vec<u32>,
    ids_flat: Vec<u32>,
    start: Vec<u32>,
    run: Vec<u64>,
    slots: Vec<(u32, u32)>,
    row_off: Vec<u32>,
}

impl ArenaIndex {
    /// The index of `blocks` over SKUs `< n`.
    fn new(blocks: &[Block], n: usize) -> Self {
        let mut ids_off = Vec::with_capacity(blocks.len() + 1);
        ids_off.push(0u32);
        for b in blocks {
            ids_off.push(ids_off.last().copied().unwrap_or(0) + b.ids.len() as u32);
        }
        let mut ids_flat: Vec<u32> = Vec::with_capacity(ids_off[blocks.len()] as usize);
        for b in blocks {
            ids_flat.extend_from_slice(&b.ids);
        }
        let mut start = vec![0u32; n + 1];
        let mut run = vec![0u64; n + 1];
        for b in blocks {
            let m = b.ids.len();
            for (r, &id) in b.ids[..m.saturating_sub(1)].iter().enumerate() {
                start[id as usize + 1] += 1;
                run[id as usize + 1] += (m - r - 1) as u64;
            }
        }
        for i in 0..n {
            start[i + 1] += start[i];
            run[i + 1] += run[i];
        }
        assert!(run[n] < u32::MAX as u64, "Gram batch too large");
        let mut fill = start.clone();
        let mut fill_off = run.clone();
        let mut slots = vec![(0u32, 0u32); start[n] as usize];
        let mut row_off = vec![0u32; ids_flat.len()];
        for (bi, b) in blocks.iter().enumerate() {
            let m = b.ids.len();
            let base = ids_off[bi] as usize;
            for (r, &id) in b.ids[..m.saturating_sub(1)].iter().enumerate() {
                let id = id as usize;
                slots[fill[id] as usize] = (bi as u32, r as u32);
                fill[id] += 1;
                row_off[base + r] = fill_off[id] as u32;
                fill_off[id] += (m - r - 1) as u64;
            }
        }
        ArenaIndex {
            ids_off,
            ids_flat,
            start,
            run,
            slots,
            row_off,
        }
    }

    /// Where block `bi`'s rows start in the arena, by id rank.
    fn rows(&self, bi: usize) -> &[u32] {
        &self.row_off[self.ids_off[bi] as usize..self.ids_off[bi + 1] as usize]
    }

    /// Accumulates each source SKU's row and writes it into its runs
    /// (growing `arena` to the cells needed).
    fn fill(&self, blocks: &[Block], gx: &GramCtx<'_>, arena: &mut Vec<AtomicU32>) {
        let n = self.start.len() - 1;
        let total = self.run[n] as usize;
        if arena.len() < total {
            // Every cell is written below before it is read: a zeroed
            // allocation (fresh pages, no memset) is enough.
            drop(std::mem::take(arena));
            *arena = zeroed_cells(total);
        }
        let arena = &arena[..];
        let scope_of_block: Vec<u8> = blocks.iter().map(|b| b.scope).collect();
        let sources: Vec<u32> = (0..n as u32)
            .filter(|&i| self.start[i as usize + 1] > self.start[i as usize])
            .collect();
        let (start, ids_off) = (&self.start, &self.ids_off);
        sources.par_iter().for_each_init(
            || RowAcc::new(n, gx.scopes, false, false),
            |acc, &p| {
                let p = p as usize;
                acc.add_row(gx.scopes, gx.pk, p);
                let mut off = self.run[p] as usize;
                for &(bi, r) in &self.slots[start[p] as usize..start[p + 1] as usize] {
                    let bi = bi as usize;
                    let s = scope_of_block[bi] as usize;
                    let from = ids_off[bi] as usize + r as usize + 1;
                    let ids = &self.ids_flat[from..ids_off[bi + 1] as usize];
                    for (cell, &q) in arena[off..off + ids.len()].iter().zip(ids) {
                        let g = gram_at(&acc.w, q as usize * gx.scopes, s, gx.prior, gx.w0);
                        cell.store(g.to_bits(), Ordering::Relaxed);
                    }
                    off += ids.len();
                }
                acc.clear(gx.scopes);
            },
        );
    }
}

/// Hands `put(p, q, G_pq)` a block's Gram entries from its arena rows
/// (`rows_at`, by id rank), each read straight through: the row of id rank
/// r holds the entries with ranks r+1.. (`order[r]` is rank r's candidate).
fn block_entries(
    rows_at: &[u32],
    arena: &[AtomicU32],
    order: &[u32],
    put: &mut impl FnMut(usize, usize, f32),
) {
    let m0 = order.len();
    for (r, &at) in rows_at.iter().enumerate().take(m0.saturating_sub(1)) {
        let p = order[r] as usize;
        let cells = &arena[at as usize..at as usize + (m0 - r - 1)];
        for (cell, &q) in cells.iter().zip(&order[r + 1..]) {
            put(p, q as usize, f32::from_bits(cell.load(Ordering::Relaxed)));
        }
    }
}

/// Sparse EASE for every scope at once: neighbour lists `[scope][item]`.
///
/// Equivalent to [`ease_lists`] on complete Gram rows (`ease_row = 0`) but
/// without materialising them: targets go in batches; for each target and
/// scope the top-M candidates are selected from the target's own
/// co-purchase row (accumulated on the fly), then every SKU that is some
/// candidate of the batch accumulates its row once and writes its Gram
/// entries straight into the blocks that need them (each pair from the row
/// of its smaller id, as before), then every block is solved.
pub fn sparse_ease(x: &EaseInput<'_>, bar: &ProgressBar) -> Vec<Vec<Vec<Neighbour>>> {
    sparse_ease_within(x, bar, UPPER_ROWS_BYTES, None)
}

/// [`sparse_ease`] keeping the candidates step's rows (see [`UpperRows`])
/// only if they fit in `rows_bytes`, in batches of at most `most_targets`
/// targets when given (tests try both ways; the results are the same).
fn sparse_ease_within(
    x: &EaseInput<'_>,
    bar: &ProgressBar,
    rows_bytes: usize,
    most_targets: Option<usize>,
) -> Vec<Vec<Vec<Neighbour>>> {
    let pk = x.packed;
    let n = x.n_items;
    let scopes = x.counts.len();
    let w0 = x.counts[0].weight.max(1e-9);
    let mut diag = blended_item_weight(x.counts, x.prior);
    // EDLAE's penalty λ + κ·G_ii is the plain solve on a scaled diagonal.
    for d in diag.iter_mut().flatten() {
        *d *= 1.0 + x.diag_reg;
    }
    let m_max = x.candidates.max(1);
    let per_target = (tri_len(m_max) * 4).max(1) * scopes;
    // The fewest batches that fit, of equal size (not full ones and a sliver).
    let most = most_targets.unwrap_or_else(|| (BATCH_BYTES / per_target).clamp(64, n.max(64)));
    let batch = n.div_ceil(n.div_ceil(most).max(1)).max(1);
    let mut rows: Vec<Vec<Vec<Neighbour>>> = vec![vec![Vec::new(); n]; scopes];
    let mut arena: Vec<AtomicU32> = Vec::new();
    let mut upper = UpperRows::new(
        n,
        scopes,
        batch >= n && tri_len(n) * scopes * 4 <= rows_bytes,
    );
    let rss_start = super::rss_bytes();
    let mut spent = [0.0f64; 4];
    let mut cpu = [0.0f64; 4];
    let mut lap = (std::time::Instant::now(), super::cpu_seconds());
    let mut phase = |k: usize| {
        let c = super::cpu_seconds();
        spent[k] += lap.0.elapsed().as_secs_f64();
        cpu[k] += c - lap.1;
        lap = (std::time::Instant::now(), c);
    };
    let mut lo = 0;
    while lo < n {
        let hi = (lo + batch).min(n);
        // 1. Candidates of each target of the batch, per scope (and the
        // target's row kept for step 3, if rows are kept).
        let kept = upper.kept();
        let mut upper_rows = upper.rows_mut();
        let blocks: Vec<Block> = (lo..hi)
            .into_par_iter()
            .zip(upper_rows[lo..hi].par_iter_mut())
            .map_init(
                || {
                    let scored = vec![Vec::<(f32, u32)>::new(); scopes];
                    (RowAcc::new(n, scopes, true, kept), scored)
                },
                |(acc, by_scope), (j, upper_row)| {
                    let mut out = Vec::new();
                    if !x.offerable[j] && !kept {
                        return out;
                    }
                    acc.add_row(scopes, pk, j);
                    let by_score =
                        |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
                    // One sweep over the row fills every scope's list (and
                    // the kept row's entries with higher ids). A list
                    // that grows long is cut to its best M, whose smallest
                    // entry then bounds what can still enter the top M
                    // (ties kept): the final top M is the same, with fewer
                    // entries pushed and selected.
                    let m = x.candidates;
                    let mut bound = vec![0.0f32; scopes];
                    by_scope.iter_mut().for_each(Vec::clear);
                    let width = upper_row.len() / scopes;
                    for &k in &acc.touched {
                        // The brand-wide share a region borrows is the same
                        // for every region: computed once per SKU, with the
                        // expression of [`gram_at`].
                        let at = k as usize * scopes;
                        let borrowed = (x.prior * acc.w[at] as f64 / w0) as f32;
                        for (s, scored) in by_scope.iter_mut().enumerate() {
                            let g = if s == 0 {
                                acc.w[at]
                            } else {
                                acc.w[at + s] + borrowed
                            };
                            let g = if g > 0.0 && g.is_finite() { g } else { 0.0 };
                            if k as usize > j && width > 0 {
                                upper_row[s * width + k as usize - j - 1] = g;
                            }
                            if g > 0.0 && g >= bound[s] {
                                scored.push((g, k));
                                if m > 0 && scored.len() >= 4 * m.max(64) {
                                    scored.select_nth_unstable_by(m - 1, by_score);
                                    scored.truncate(m);
                                    bound[s] = scored[m - 1].0;
                                }
                            }
                        }
                    }
                    if !x.offerable[j] {
                        // Swept for its kept row only.
                        acc.clear(scopes);
                        return out;
                    }
                    for (s, scored) in by_scope.iter_mut().enumerate() {
                        if x.candidates < scored.len() {
                            scored.select_nth_unstable_by(x.candidates, by_score);
                            scored.truncate(x.candidates);
                        }
                        if scored.is_empty() {
                            continue;
                        }
                        scored.sort_unstable_by(by_score);
                        let cand: Vec<(u32, f32, u32)> = scored
                            .iter()
                            .map(|&(g, k)| (k, g, acc.raw[k as usize * scopes + s]))
                            .collect();
                        let mut order: Vec<u32> = (0..cand.len() as u32).collect();
                        order.sort_unstable_by_key(|&p| cand[p as usize].0);
                        let mut rank = vec![0u32; cand.len()];
                        for (r, &p) in order.iter().enumerate() {
                            rank[p as usize] = r as u32;
                        }
                        let ids = order.iter().map(|&p| cand[p as usize].0).collect();
                        out.push(Block {
                            target: j as u32,
                            scope: s as u8,
                            cand,
                            ids,
                            rank,
                        });
                    }
                    acc.clear(scopes);
                    out
                },
            )
            .flatten_iter()
            .collect();
        drop(upper_rows);
        bar.inc((hi - lo) as u64);
        phase(0);
        // 2–3. The blocks' Gram entries: read from the kept rows, or
        // gathered into the arena.
        let index = if upper.kept() {
            ArenaIndex::default()
        } else {
            let index = ArenaIndex::new(&blocks, n);
            phase(1);
            let gx = GramCtx {
                pk,
                scopes,
                prior: x.prior,
                w0,
            };
            index.fill(&blocks, &gx, &mut arena);
            index
        };
        phase(2);
        // 4. Solve each block.
        let arena_ref = &arena;
        let columns: Vec<Vec<(u32, f32, u32)>> = blocks
            .par_iter()
            .enumerate()
            .map_init(SolveScratch::default, |scratch, (bi, b)| {
                let fill = |full: &mut [f64], m0: usize| {
                    // `order` maps an id rank back to its candidate.
                    let mut order = vec![0u32; m0];
                    for (p, &r) in b.rank.iter().enumerate() {
                        order[r as usize] = p as u32;
                    }
                    let mut put = |p: usize, q: usize, g: f32| {
                        let (hi, lo) = if p > q { (p, q) } else { (q, p) };
                        full[hi * m0 + lo] = g as f64;
                    };
                    if upper.kept() {
                        let s = b.scope as usize;
                        upper.block_entries(&b.ids, &order, s, &mut put);
                    } else {
                        block_entries(index.rows(bi), arena_ref, &order, &mut put);
                    }
                };
                let d = &diag[b.scope as usize];
                let cand: Vec<(u32, f64)> =
                    b.cand.iter().map(|c| (c.0, c.1 as f64 - x.l1)).collect();
                let (active, rhs) = solve_column(&cand, d, x.lambda, x.nonnegative, fill, scratch);
                active
                    .iter()
                    .map(|&p| b.cand[p])
                    .zip(rhs)
                    .filter(|(_, w)| *w > 0.0 && w.is_finite())
                    .map(|(c, w)| (c.0, w as f32, c.2))
                    .collect()
            })
            .collect();
        // Transpose: edge a → target with weight b_a (targets in id order).
        for (b, col) in blocks.iter().zip(columns) {
            for (a, w, count) in col {
                rows[b.scope as usize][a as usize].push(Neighbour {
                    id: b.target,
                    score: w,
                    count,
                });
            }
        }
        phase(3);
        lo = hi;
    }
    if std::env::var_os("MODEL_BUILDER_TIMINGS").is_some() {
        eprintln!(
            "sparse EASE: {} SKUs, {} scopes, batches of {batch}: candidates {:.2}s, index {:.2}s, Gram blocks {:.2}s, solves {:.2}s (CPU {:.1}/{:.1}/{:.1}/{:.1}s); RSS {:.0} MiB at the start, arena {:.0} MiB, rows kept {:.0} MiB",
            n, scopes, spent[0], spent[1], spent[2], spent[3], cpu[0], cpu[1], cpu[2], cpu[3],
            rss_start as f64 / 1048576.0, (arena.len() * 4) as f64 / 1048576.0,
            (upper.w.len() * 4) as f64 / 1048576.0
        );
    }
    for scope_rows in rows.iter_mut() {
        scope_rows.par_iter_mut().for_each(|r| {
            if r.len() > x.keep {
                r.select_nth_unstable_by(x.keep, |a, b| {
                    b.score.total_cmp(&a.score).then(a.id.cmp(&b.id))
                });
                r.truncate(x.keep);
            }
        });
    }
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

    /// The Cholesky solve before `dot4`: one row at a time.
    fn cholesky_reference(a: &mut [f64], b: &mut [f64], n: usize) {
        for j in 0..n {
            let row_j = &a[j * n..j * n + j];
            let d = (a[j * n + j] - dot(row_j, row_j)).sqrt();
            a[j * n + j] = d;
            for i in j + 1..n {
                let s = a[i * n + j] - dot(&a[i * n..i * n + j], &a[j * n..j * n + j]);
                a[i * n + j] = s * (1.0 / d);
            }
        }
        substitute(a, b, n);
    }

    #[test]
    fn cholesky_is_bit_identical_to_the_row_by_row_reference() {
        let mut seed = 11u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 1000) as f64 / 997.0
        };
        for n in [1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 100] {
            let v: Vec<f64> = (0..n * n).map(|_| next()).collect();
            let mut a = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] = (0..n).map(|k| v[i * n + k] * v[j * n + k]).sum::<f64>();
                }
                a[i * n + i] += 1.0;
            }
            let b: Vec<f64> = (0..n).map(|_| next()).collect();
            let (mut a1, mut b1) = (a.clone(), b.clone());
            assert!(cholesky_solve(&mut a1, &mut b1, n, 0.5));
            let (mut a3, mut b3) = (a.clone(), b.clone());
            assert!(cholesky_solve_portable(&mut a3, &mut b3, n, 0.5, 0, dot4));
            let a_orig = a.clone();
            let (mut a2, mut b2) = (a, b.clone());
            cholesky_reference(&mut a2, &mut b2, n);
            let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&b1), bits(&b2), "n = {n}");
            assert_eq!(bits(&b3), bits(&b2), "n = {n}");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                let (mut a5, mut b5) = (a_orig.clone(), b.clone());
                // SAFETY: the CPU has AVX2.
                assert!(unsafe { cholesky_solve_avx2(&mut a5, &mut b5, n, 0.5, 0) });
                assert_eq!(bits(&b5), bits(&b2), "n = {n}, AVX2 row by row");
            }
            // Resuming from the first `done` rows of a previous factor.
            for done in [1, 2, 3, n / 3, n / 2, n - 1] {
                let mut a4 = a1.clone();
                for (i, row) in a4.chunks_mut(n).enumerate().skip(done) {
                    for (k, v) in row.iter_mut().enumerate().take(i + 1) {
                        *v = a_orig[i * n + k];
                    }
                }
                let mut b4 = b.clone();
                assert!(cholesky_solve_from(&mut a4, &mut b4, n, 0.5, done));
                assert_eq!(bits(&b4), bits(&b2), "n = {n}, from row {done}");
            }
        }
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
        let rows = ease_lists(&gram, &diag, &[true; 3], lambda, 10, 10, true, false);
        let both = ease_lists(&gram, &diag, &[true; 3], lambda, 10, 10, false, false);
        assert_eq!(rows, both);
        // Dense EASE column for target 0: solve [[4,1],[1,3]] b = [2,1].
        let det = 4.0 * 3.0 - 1.0;
        let b1 = (3.0 * 2.0 - 1.0 * 1.0) / det; // weight of SKU 1
        let b2 = (4.0 * 1.0 - 1.0 * 2.0) / det; // weight of SKU 2
        let w = |a: usize, j: u32| rows[a].iter().find(|n| n.id == j).map(|n| n.score as f64);
        assert!((w(1, 0).unwrap() - b1).abs() < 1e-6);
        assert!((w(2, 0).unwrap() - b2).abs() < 1e-6);
        assert_eq!(rows[1].iter().find(|n| n.id == 0).unwrap().count, 2);
        // Every weight positive: the non-negative fit is the same.
        let nonneg = ease_lists(&gram, &diag, &[true; 3], lambda, 10, 10, true, true);
        assert_eq!(rows, nonneg);
    }

    #[test]
    fn nonnegative_refits_without_the_negative_weights() {
        // SKUs 1 and 2 always together; 0 goes with 1 far more than with 2.
        let g = |id, score| Neighbour {
            id,
            score,
            count: 1,
        };
        let gram = vec![
            vec![g(1, 2.0), g(2, 0.5)],
            vec![g(0, 2.0), g(2, 3.0)],
            vec![g(0, 0.5), g(1, 3.0)],
        ];
        let diag = [3.0, 3.0, 3.0];
        let w = |rows: &[Vec<Neighbour>], a: usize, j: u32| {
            rows[a].iter().find(|n| n.id == j).map(|n| n.score as f64)
        };
        // Target 0: [[4,3],[3,4]] b = [2, 0.5] → b1 = 6.5/7, b2 = -4/7 (dropped).
        let plain = ease_lists(&gram, &diag, &[true; 3], 1.0, 10, 10, true, false);
        assert!((w(&plain, 1, 0).unwrap() - 6.5 / 7.0).abs() < 1e-6);
        assert_eq!(w(&plain, 2, 0), None);
        // Refitted on SKU 1 alone: 4 b1 = 2.
        let nonneg = ease_lists(&gram, &diag, &[true; 3], 1.0, 10, 10, true, true);
        assert!((w(&nonneg, 1, 0).unwrap() - 0.5).abs() < 1e-6);
        assert_eq!(w(&nonneg, 2, 0), None);
        assert!(nonneg.iter().flatten().all(|n| n.score > 0.0));
    }

    #[test]
    fn sparse_ease_matches_complete_rows() {
        use crate::model::cooc::{neighbour_rows, scope_counts};
        use crate::model::ModelConfig;
        // Pseudo-random baskets over 40 SKUs in two regions and none.
        let mut next = crate::model::test_rng(7);
        let mut b = Baskets {
            start: vec![0],
            ..Baskets::default()
        };
        let mut scope_of = Vec::new();
        let mut weight = Vec::new();
        for _ in 0..600 {
            let len = 1 + next(6) as usize;
            let mut items: Vec<u32> = (0..len).map(|_| next(40) as u32).collect();
            items.sort_unstable();
            items.dedup();
            b.items.extend_from_slice(&items);
            b.start.push(b.items.len() as u32);
            b.region.push(None);
            b.ts.push(None);
            scope_of.push(next(3) as u8);
            weight.push(0.5 + next(100) as f32 / 100.0);
        }
        let n = 40;
        let counts = scope_counts(&b, n, &weight, &scope_of, 3);
        let mut offerable = vec![true; n];
        offerable[5] = false;
        let cfg = ModelConfig {
            ease_candidates: 12,
            neighbours: 7,
            region_prior_orders: 50.0,
            ..ModelConfig::default()
        };
        let gram_cfg = ModelConfig {
            alpha: 0.0,
            beta: 0.0,
            shrink: 0.0,
            neighbours: usize::MAX,
            min_count: 1,
            ..cfg.clone()
        };
        let bar = ProgressBar::hidden();
        let gram = neighbour_rows(
            &b,
            n,
            &weight,
            &scope_of,
            &counts,
            &vec![true; n],
            &gram_cfg,
            &bar,
        );
        let diag = blended_item_weight(&counts, cfg.region_prior_orders);
        let sorted = |mut r: Vec<Neighbour>| {
            r.sort_by_key(|n| n.id);
            r
        };
        let mut edges = 0;
        for (nonnegative, rows_bytes, most_targets) in [
            (false, 0, None),
            (false, 1 << 20, None),
            (true, 0, None),
            (true, 1 << 20, None),
            (false, 1 << 20, Some(7)),
            (true, 0, Some(13)),
        ] {
            let sparse = sparse_ease_within(
                &EaseInput {
                    packed: &Packed::new(&b, &weight, &scope_of, n),
                    n_items: n,
                    counts: &counts,
                    offerable: &offerable,
                    lambda: cfg.ease_lambda,
                    candidates: cfg.ease_candidates,
                    keep: cfg.neighbours,
                    prior: cfg.region_prior_orders,
                    diag_reg: 0.0,
                    nonnegative,
                    l1: 0.0,
                },
                &bar,
                rows_bytes,
                most_targets,
            );
            for s in 0..3 {
                let dense = ease_lists(
                    &gram[s],
                    &diag[s],
                    &offerable,
                    cfg.ease_lambda,
                    12,
                    7,
                    true,
                    nonnegative,
                );
                for i in 0..n {
                    edges += dense[i].len();
                    assert_eq!(
                        sorted(dense[i].clone()),
                        sorted(sparse[s][i].clone()),
                        "scope {s} SKU {i} nonnegative {nonnegative} rows kept {rows_bytes} batch {most_targets:?}"
                    );
                }
            }
        }
        assert!(edges > 100, "{edges}");
    }

    #[test]
    fn l1_penalty_drops_weak_edges() {
        // Orders {i, i+1, i+2} for i < 10, repeated; {0, 7} once (a weak pair).
        let mut b = Baskets {
            start: vec![0],
            ..Baskets::default()
        };
        let mut add = |items: &[u32]| {
            b.items.extend_from_slice(items);
            b.start.push(b.items.len() as u32);
            b.region.push(None);
            b.ts.push(None);
        };
        for r in 0..6 {
            for i in 0..10u32 {
                add(&[i, i + 1, i + 2 + r % 2]);
            }
        }
        add(&[0, 7]);
        let n = 13;
        let weight = vec![1.0f32; b.len()];
        let scope_of = vec![0u8; b.len()];
        let counts = crate::model::cooc::scope_counts(&b, n, &weight, &scope_of, 1);
        let offerable = vec![true; n];
        let fit = |l1: f64| {
            let input = EaseInput {
                packed: &Packed::new(&b, &weight, &scope_of, n),
                n_items: n,
                counts: &counts,
                offerable: &offerable,
                lambda: 1.0,
                candidates: 20,
                keep: 20,
                prior: 0.0,
                diag_reg: 0.0,
                nonnegative: true,
                l1,
            };
            sparse_ease(&input, &ProgressBar::hidden()).remove(0)
        };
        let has = |rows: &[Vec<Neighbour>], a: usize, j: u32| rows[a].iter().any(|x| x.id == j);
        let (plain, lasso) = (fit(0.0), fit(1.5));
        assert!(has(&plain, 0, 7) && !has(&lasso, 0, 7));
        assert!(has(&lasso, 0, 1) && lasso.iter().flatten().all(|x| x.score > 0.0));
        let edges = |rows: &[Vec<Neighbour>]| rows.iter().map(Vec::len).sum::<usize>();
        assert!(edges(&lasso) < edges(&plain));
    }
}
