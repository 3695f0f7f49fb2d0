//! Count → score → blend → truncate: recency- and basket-weighted item-item
//! co-occurrence, normalised with shrinkage and a popularity exponent, for
//! the brand-wide table and each region table at once (one pass per SKU).
//!
//! Score of neighbour j for SKU i in a scope:
//! `C(i,j) / ((N(i) + shrink)^alpha · N(j)^beta)` with weighted counts; a
//! region's counts are shrunk toward the brand-wide ones,
//! `C_r + m·C_all/W_all` (m = `region_prior_orders`, W = total weight), so a
//! small region borrows smoothly and a large one keeps its own pattern.
use indicatif::ProgressBar;
use rayon::prelude::*;
use upsell_edge::table::Neighbour;

use super::baskets::Baskets;
use super::config::ModelConfig;

/// Totals of one scope (the brand-wide table is scope 0).
#[derive(Debug, Clone, Default)]
pub struct ScopeCounts {
    /// Orders in the scope.
    pub orders: u64,
    /// Sum of order weights in the scope.
    pub weight: f64,
    /// Weighted orders containing each SKU.
    pub item_weight: Vec<f64>,
    /// Orders containing each SKU.
    pub item_orders: Vec<u32>,
}

/// Scope totals from the baskets; `scope_of[o]` is 0 (brand-wide only) or
/// the region scope of basket o.
pub fn scope_counts(
    b: &Baskets,
    n_items: usize,
    weight: &[f32],
    scope_of: &[u8],
    scopes: usize,
) -> Vec<ScopeCounts> {
    // Each scope is summed on its own (in parallel), over its baskets in
    // order, so every sum takes the same additions in the same order.
    (0..scopes)
        .into_par_iter()
        .map(|scope| {
            let mut sc = ScopeCounts {
                item_weight: vec![0.0; n_items],
                item_orders: vec![0; n_items],
                ..ScopeCounts::default()
            };
            for o in 0..b.len() {
                if scope != 0 && scope_of[o] as usize != scope {
                    continue;
                }
                let w = weight[o] as f64;
                sc.orders += 1;
                sc.weight += w;
                for &i in b.get(o) {
                    sc.item_weight[i as usize] += w;
                    sc.item_orders[i as usize] += 1;
                }
            }
            sc
        })
        .collect()
}

/// Each scope's per-SKU weighted order counts, regions shrunk toward the
/// brand-wide ones: `n_r(i) + m·n_all(i)/W_all` (scope 0 as is).
pub fn blended_item_weight(counts: &[ScopeCounts], m: f64) -> Vec<Vec<f64>> {
    let w0 = counts[0].weight.max(1e-9);
    let n_items = counts[0].item_weight.len();
    (0..counts.len())
        .map(|s| {
            (0..n_items)
                .map(|i| {
                    if s == 0 {
                        counts[0].item_weight[i]
                    } else {
                        counts[s].item_weight[i] + m * counts[0].item_weight[i] / w0
                    }
                })
                .collect()
        })
        .collect()
}

struct Acc {
    w: Vec<Vec<f32>>,
    raw: Vec<Vec<u32>>,
    touched: Vec<u32>,
    scored: Vec<(f32, u32)>,
}

/// Neighbour lists `[scope][item]` (scores unquantised, counts raw in scope).
#[allow(clippy::too_many_arguments)]
pub fn neighbour_rows(
    b: &Baskets,
    n_items: usize,
    weight: &[f32],
    scope_of: &[u8],
    counts: &[ScopeCounts],
    offerable: &[bool],
    cfg: &ModelConfig,
    bar: &ProgressBar,
) -> Vec<Vec<Vec<Neighbour>>> {
    let scopes = counts.len();
    let (inv_start, inv) = b.inverted(n_items);
    let w0 = counts[0].weight.max(1e-9);
    let m = cfg.region_prior_orders;
    let item_n = blended_item_weight(counts, m);
    let beta_pow: Vec<Vec<f32>> = item_n
        .iter()
        .map(|v| {
            v.iter()
                .map(|&x| x.max(1e-9).powf(cfg.beta) as f32)
                .collect()
        })
        .collect();
    let per_item: Vec<Vec<Vec<Neighbour>>> = (0..n_items)
        .into_par_iter()
        .map_init(
            || Acc {
                w: vec![vec![0.0; n_items]; scopes],
                raw: vec![vec![0; n_items]; scopes],
                touched: Vec::new(),
                scored: Vec::new(),
            },
            |acc, i| {
                if i % 1024 == 0 {
                    bar.inc(1024.min(n_items - i) as u64);
                }
                let orders = &inv[inv_start[i] as usize..inv_start[i + 1] as usize];
                for &o in orders {
                    let o = o as usize;
                    let wo = weight[o];
                    let s = scope_of[o] as usize;
                    for &j in b.get(o) {
                        let j = j as usize;
                        if j == i {
                            continue;
                        }
                        if acc.raw[0][j] == 0 {
                            acc.touched.push(j as u32);
                        }
                        acc.w[0][j] += wo;
                        acc.raw[0][j] += 1;
                        if s != 0 {
                            acc.w[s][j] += wo;
                            acc.raw[s][j] += 1;
                        }
                    }
                }
                let mut lists = Vec::with_capacity(scopes);
                for s in 0..scopes {
                    let ni = (item_n[s][i] + cfg.shrink).powf(cfg.alpha) as f32;
                    acc.scored.clear();
                    for &j in &acc.touched {
                        let j = j as usize;
                        if !offerable[j] || acc.raw[0][j] < cfg.min_count {
                            continue;
                        }
                        let c = if s == 0 {
                            acc.w[0][j]
                        } else {
                            acc.w[s][j] + (m * acc.w[0][j] as f64 / w0) as f32
                        };
                        let score = c / (ni * beta_pow[s][j]);
                        if score > 0.0 && score.is_finite() {
                            acc.scored.push((score, j as u32));
                        }
                    }
                    let k = cfg.neighbours.min(acc.scored.len());
                    if k < acc.scored.len() {
                        acc.scored.select_nth_unstable_by(k, |a, b| {
                            b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
                        });
                        acc.scored.truncate(k);
                    }
                    lists.push(
                        acc.scored
                            .iter()
                            .map(|&(score, j)| Neighbour {
                                id: j,
                                score,
                                count: acc.raw[s][j as usize],
                            })
                            .collect(),
                    );
                }
                for &j in &acc.touched {
                    for s in 0..scopes {
                        acc.w[s][j as usize] = 0.0;
                        acc.raw[s][j as usize] = 0;
                    }
                }
                acc.touched.clear();
                lists
            },
        )
        .collect();
    // transpose to [scope][item]
    let mut out: Vec<Vec<Vec<Neighbour>>> =
        (0..scopes).map(|_| Vec::with_capacity(n_items)).collect();
    for lists in per_item {
        for (s, l) in lists.into_iter().enumerate() {
            out[s].push(l);
        }
    }
    out
}

/// Cold start: for each SKU without a list but with a category, the
/// category's co-purchase pattern — the average of the lists of its (up to
/// `members`) most popular SKUs — as a fallback list. Returns the SKUs given one.
pub fn category_fallback(
    lists: &mut [Vec<Neighbour>],
    fallback: &mut [bool],
    category: &[Option<u32>],
    popularity: &[u32],
    members: usize,
    keep: usize,
) -> usize {
    let n_cat = category
        .iter()
        .flatten()
        .map(|&c| c as usize + 1)
        .max()
        .unwrap_or(0);
    let mut by_cat: Vec<Vec<u32>> = vec![Vec::new(); n_cat];
    for (i, c) in category.iter().enumerate() {
        if let Some(c) = c {
            if !lists[i].is_empty() && !fallback[i] {
                by_cat[*c as usize].push(i as u32);
            }
        }
    }
    let mut pattern: Vec<Vec<Neighbour>> = Vec::with_capacity(n_cat);
    for mut m in by_cat {
        m.sort_by(|&a, &b| {
            popularity[b as usize]
                .cmp(&popularity[a as usize])
                .then(a.cmp(&b))
        });
        m.truncate(members);
        let mut sum: std::collections::BTreeMap<u32, f32> = Default::default();
        for &i in &m {
            for n in &lists[i as usize] {
                *sum.entry(n.id).or_default() += n.score;
            }
        }
        let denom = m.len().max(1) as f32;
        let mut l: Vec<Neighbour> = sum
            .into_iter()
            .map(|(id, s)| Neighbour {
                id,
                score: s / denom,
                count: 0,
            })
            .collect();
        l.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        l.truncate(keep);
        pattern.push(l);
    }
    let mut given = 0;
    for i in 0..lists.len() {
        if lists[i].is_empty() {
            if let Some(c) = category[i] {
                let p: Vec<Neighbour> = pattern[c as usize]
                    .iter()
                    .filter(|n| n.id as usize != i)
                    .copied()
                    .collect();
                if !p.is_empty() {
                    lists[i] = p;
                    fallback[i] = true;
                    given += 1;
                }
            }
        }
    }
    given
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baskets(orders: &[(&[u32], Option<u32>)]) -> Baskets {
        let mut b = Baskets {
            start: vec![0],
            ..Baskets::default()
        };
        for (items, region) in orders {
            b.items.extend_from_slice(items);
            b.start.push(b.items.len() as u32);
            b.region.push(*region);
            b.ts.push(None);
        }
        b
    }

    fn cfg() -> ModelConfig {
        ModelConfig {
            half_life_days: None,
            basket_exp: 0.0,
            alpha: 1.0,
            beta: 0.0,
            shrink: 0.0,
            neighbours: 10,
            region_prior_orders: 2.0,
            ..ModelConfig::default()
        }
    }

    #[test]
    fn conditional_probability_and_region_shrinkage() {
        // scope 1 = region; in the region 0 goes with 2, elsewhere with 1.
        let b = baskets(&[
            (&[0, 1], None),
            (&[0, 1], None),
            (&[0, 1], None),
            (&[0, 1], None),
            (&[0, 2], Some(7)),
            (&[0, 2], Some(7)),
        ]);
        let scope_of = [0u8, 0, 0, 0, 1, 1];
        let w = [1.0f32; 6];
        let counts = scope_counts(&b, 3, &w, &scope_of, 2);
        assert_eq!(counts[0].orders, 6);
        assert_eq!(counts[1].orders, 2);
        assert_eq!(counts[1].item_orders, vec![2, 0, 2]);
        let rows = neighbour_rows(
            &b,
            3,
            &w,
            &scope_of,
            &counts,
            &[true; 3],
            &cfg(),
            &ProgressBar::hidden(),
        );
        let get = |s: usize, i: usize, j: u32| rows[s][i].iter().find(|n| n.id == j).copied();
        // all: P(1|0) = 4/6, P(2|0) = 2/6
        assert!((get(0, 0, 1).unwrap().score - 4.0 / 6.0).abs() < 1e-6);
        assert!((get(0, 0, 2).unwrap().score - 2.0 / 6.0).abs() < 1e-6);
        // region, prior m = 2 orders: C(0,2) = 2 + 2·2/6, N(0) = 2 + 2·6/6
        let c02 = 2.0 + 2.0 * 2.0 / 6.0;
        let c01 = 0.0 + 2.0 * 4.0 / 6.0;
        assert!((get(1, 0, 2).unwrap().score - c02 / 4.0).abs() < 1e-6);
        assert!(
            (get(1, 0, 1).unwrap().score - c01 / 4.0).abs() < 1e-6,
            "borrowed from all"
        );
        assert!(get(1, 0, 2).unwrap().score > get(1, 0, 1).unwrap().score);
        assert_eq!(get(1, 0, 2).unwrap().count, 2);
        assert_eq!(get(1, 0, 1).unwrap().count, 0);
        // a stronger prior pulls the region toward the brand-wide pattern
        let strong = ModelConfig {
            region_prior_orders: 100.0,
            ..cfg()
        };
        let rows = neighbour_rows(
            &b,
            3,
            &w,
            &scope_of,
            &counts,
            &[true; 3],
            &strong,
            &ProgressBar::hidden(),
        );
        let s1 = rows[1][0].iter().find(|n| n.id == 1).unwrap().score;
        let s2 = rows[1][0].iter().find(|n| n.id == 2).unwrap().score;
        assert!(s1 > s2);
    }

    #[test]
    fn truncates_and_skips_unofferable() {
        let b = baskets(&[
            (&[0, 1, 2, 3], None),
            (&[0, 1], None),
            (&[0, 2], None),
            (&[0, 2], None),
        ]);
        let w = [1.0f32; 4];
        let counts = scope_counts(&b, 4, &w, &[0; 4], 1);
        let c = ModelConfig {
            neighbours: 1,
            ..cfg()
        };
        let rows = neighbour_rows(
            &b,
            4,
            &w,
            &[0; 4],
            &counts,
            &[true, true, true, false],
            &c,
            &ProgressBar::hidden(),
        );
        assert_eq!(rows[0][0].iter().map(|n| n.id).collect::<Vec<_>>(), vec![2]);
        assert!(rows[0][1].iter().all(|n| n.id != 3));
    }

    #[test]
    fn cold_start_uses_the_category_pattern() {
        let n = |id, score| Neighbour {
            id,
            score,
            count: 1,
        };
        let mut lists = vec![
            vec![n(2, 1.0), n(3, 0.5)],
            vec![n(3, 1.0)],
            vec![],
            vec![],
            vec![],
        ];
        let mut fb = vec![false; 5];
        let cat = [Some(0), Some(0), Some(0), Some(1), None];
        let given = category_fallback(&mut lists, &mut fb, &cat, &[5, 3, 0, 0, 0], 10, 10);
        assert_eq!(given, 1);
        assert!(fb[2] && !fb[3] && !fb[4]);
        // average of 0's and 1's lists, without SKU 2 itself
        assert_eq!(lists[2].len(), 1);
        assert_eq!(lists[2][0].id, 3);
        assert!((lists[2][0].score - 0.75).abs() < 1e-6);
        assert!(lists[3].is_empty() && lists[4].is_empty());
    }
}
