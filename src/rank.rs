//! The one ranking function: merge the neighbour lists of an order's SKUs,
//! exclude what the order contains, apply the brand's rules, take k. The edge
//! worker, `model-builder recommend` and `model-builder evaluate` all call
//! [`rank`], so what is evaluated is what is served.
use serde::{Deserialize, Serialize};

use crate::table::{Facts, Neighbour, NeighbourShard};

/// What the ranking maximises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Likelihood of purchase (the merged score).
    #[default]
    Likelihood,
    /// Expected revenue: score × price.
    Revenue,
    /// Expected margin: score × (price − cost); SKUs without a cost count 0.
    Margin,
}

/// The edge's offer rules for one brand × region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RankPolicy {
    /// Offers to return.
    pub k: usize,
    /// Offer only in-stock SKUs.
    pub in_stock_only: bool,
    /// Lowest price offered.
    pub price_min: Option<f32>,
    /// Highest price offered.
    pub price_max: Option<f32>,
    /// SKUs always offered first, in this order, when eligible.
    pub pins: Vec<String>,
    /// SKUs never offered.
    pub blocks: Vec<String>,
    /// What to maximise.
    pub objective: Objective,
    /// Fill remaining slots with the table's best sellers (marked fallback).
    pub fill_with_popular: bool,
}

impl Default for RankPolicy {
    fn default() -> Self {
        RankPolicy {
            k: 3,
            in_stock_only: true,
            price_min: None,
            price_max: None,
            pins: Vec::new(),
            blocks: Vec::new(),
            objective: Objective::Likelihood,
            fill_with_popular: true,
        }
    }
}

/// The neighbour list of one of the order's SKUs, as read from its shard.
#[derive(Debug, Clone, Copy)]
pub struct QueryList<'a> {
    /// Id of the order's SKU in the table's facts (for evidence), if known.
    pub sku: Option<u32>,
    /// Its neighbours.
    pub neighbours: &'a [Neighbour],
    /// Whether the list is a cold-start fallback.
    pub fallback: bool,
}

/// A merged candidate before the rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// SKU id.
    pub id: u32,
    /// Sum of its scores over the order's lists.
    pub score: f32,
    /// True when every contributing list was a fallback.
    pub fallback: bool,
    /// Largest co-purchase count with one of the order's SKUs, and that SKU.
    pub together: u32,
    /// The order's SKU `together` refers to.
    pub with: Option<u32>,
}

/// One offer, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// SKU id string.
    pub sku: String,
    /// Merged score (0 for popularity fallbacks).
    pub score: f32,
    /// Not from the order's own co-purchases (category or popularity fallback).
    pub fallback: bool,
    /// Unit price.
    pub price: f32,
    /// Evidence: orders that contained it with one of the order's SKUs.
    pub together: u32,
    /// Evidence: lift of that pair.
    pub lift: f32,
}

/// The lists of an order's SKUs: `shard_for(sku)` returns the decoded shard
/// holding that SKU (if it was read); SKUs without a list are skipped.
pub fn lists_for<'a>(
    facts: &Facts,
    order_skus: &[&str],
    shard_for: impl Fn(&str) -> Option<&'a NeighbourShard>,
) -> Vec<QueryList<'a>> {
    let mut out = Vec::with_capacity(order_skus.len());
    for (k, sku) in order_skus.iter().enumerate() {
        if order_skus[..k].contains(sku) {
            continue;
        }
        if let Some((neighbours, fallback)) = shard_for(sku).and_then(|s| s.entry(sku)) {
            out.push(QueryList {
                sku: facts.id(sku),
                neighbours,
                fallback,
            });
        }
    }
    out
}

/// Sums the lists' scores per neighbour, drops `exclude`, best first (ties by id).
pub fn merge(lists: &[QueryList<'_>], exclude: &[u32]) -> Vec<Candidate> {
    let mut exclude = exclude.to_vec();
    exclude.sort_unstable();
    let mut out = merge_by_id(lists, &exclude);
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    out
}

/// [`merge`] without the final ordering (candidates by id). Scores are summed
/// in list order on both paths, so the sums are bit-identical.
fn merge_by_id(lists: &[QueryList<'_>], exclude: &[u32]) -> Vec<Candidate> {
    let total: usize = lists.iter().map(|l| l.neighbours.len()).sum();
    let max_id = lists
        .iter()
        .flat_map(|l| l.neighbours.iter().map(|n| n.id))
        .max()
        .unwrap_or(0) as usize;
    let add = |slot: &mut Option<Candidate>, n: &Neighbour, l: &QueryList<'_>| match slot {
        Some(c) => {
            c.score += n.score;
            c.fallback &= l.fallback;
            if n.count > c.together {
                c.together = n.count;
                c.with = l.sku;
            }
        }
        None => {
            *slot = Some(Candidate {
                id: n.id,
                score: n.score,
                fallback: l.fallback,
                together: n.count,
                with: l.sku,
            })
        }
    };
    let mut out: Vec<Candidate> = Vec::new();
    if total * 4 > max_id {
        // Many edges (large orders): a dense accumulator beats sorting.
        let mut dense: Vec<Option<Candidate>> = vec![None; max_id + 1];
        for l in lists {
            for n in l.neighbours {
                add(&mut dense[n.id as usize], n, l);
            }
        }
        for &x in exclude {
            if let Some(slot) = dense.get_mut(x as usize) {
                *slot = None;
            }
        }
        out.extend(dense.into_iter().flatten());
        return out;
    }
    let mut all: Vec<(&Neighbour, &QueryList<'_>)> = Vec::with_capacity(total);
    for l in lists {
        for n in l.neighbours {
            all.push((n, l));
        }
    }
    all.sort_by_key(|e| e.0.id);
    let mut slot: Option<Candidate> = None;
    for (n, l) in all {
        if exclude.binary_search(&n.id).is_ok() {
            continue;
        }
        if slot.is_some_and(|c| c.id != n.id) {
            out.extend(slot.take());
        }
        add(&mut slot, n, l);
    }
    out.extend(slot);
    out
}

fn eligible(facts: &Facts, id: u32, order: &[u32], policy: &RankPolicy) -> bool {
    let Some(f) = facts.get(id) else { return false };
    f.offerable
        && order.binary_search(&id).is_err()
        && (!policy.in_stock_only || f.in_stock)
        && policy.price_min.is_none_or(|m| f.price >= m)
        && policy.price_max.is_none_or(|m| f.price <= m)
        && !policy.blocks.contains(&f.sku)
}

fn objective_value(facts: &Facts, c: &Candidate, objective: Objective) -> f32 {
    let f = &facts.skus[c.id as usize];
    match objective {
        Objective::Likelihood => c.score,
        Objective::Revenue => c.score * f.price.max(0.0),
        Objective::Margin => c.score * f.cost.map_or(0.0, |cost| (f.price - cost).max(0.0)),
    }
}

/// Ranks offers for an order: merges `lists` (those of the order's SKUs that
/// the table has), excludes `order_skus`, applies `policy`, returns at most k.
pub fn rank(
    facts: &Facts,
    order_skus: &[&str],
    lists: &[QueryList<'_>],
    policy: &RankPolicy,
) -> Vec<Offer> {
    let mut order: Vec<u32> = order_skus.iter().filter_map(|s| facts.id(s)).collect();
    order.sort_unstable();
    let mut chosen: Vec<Candidate> = Vec::with_capacity(policy.k);
    let mut merged = merge_by_id(lists, &order);
    merged.retain(|c| eligible(facts, c.id, &order, policy));
    // Best first by objective, then score, popularity, id; only the top k
    // (plus room for pins) need ordering.
    let mut keyed: Vec<(f32, f32, u32, u32, usize)> = merged
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let pop = facts.skus[c.id as usize].popularity;
            (
                objective_value(facts, c, policy.objective),
                c.score,
                pop,
                c.id,
                i,
            )
        })
        .collect();
    let cmp = |a: &(f32, f32, u32, u32, usize), b: &(f32, f32, u32, u32, usize)| {
        b.0.total_cmp(&a.0)
            .then(b.1.total_cmp(&a.1))
            .then(b.2.cmp(&a.2))
            .then(a.3.cmp(&b.3))
    };
    let need = policy.k + policy.pins.len();
    if keyed.len() > need {
        keyed.select_nth_unstable_by(need, cmp);
        keyed.truncate(need);
    }
    keyed.sort_unstable_by(cmp);
    let merged: Vec<Candidate> = keyed.iter().map(|e| merged[e.4]).collect();
    for pin in &policy.pins {
        if chosen.len() >= policy.k {
            break;
        }
        let Some(id) = facts.id(pin) else { continue };
        if !eligible(facts, id, &order, policy) || chosen.iter().any(|c| c.id == id) {
            continue;
        }
        let found = merged.iter().find(|c| c.id == id).copied();
        chosen.push(found.unwrap_or(Candidate {
            id,
            score: 0.0,
            fallback: false,
            together: 0,
            with: None,
        }));
    }
    for c in merged {
        if chosen.len() >= policy.k {
            break;
        }
        if !chosen.iter().any(|x| x.id == c.id) {
            chosen.push(c);
        }
    }
    if policy.fill_with_popular {
        for &id in &facts.popular {
            if chosen.len() >= policy.k {
                break;
            }
            if eligible(facts, id, &order, policy) && !chosen.iter().any(|x| x.id == id) {
                chosen.push(Candidate {
                    id,
                    score: 0.0,
                    fallback: true,
                    together: 0,
                    with: None,
                });
            }
        }
    }
    chosen
        .into_iter()
        .map(|c| {
            let f = &facts.skus[c.id as usize];
            Offer {
                sku: f.sku.clone(),
                score: c.score,
                fallback: c.fallback,
                price: f.price,
                together: c.together,
                lift: c.with.map_or(0.0, |w| facts.lift(w, c.id, c.together)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::SkuFacts;

    fn facts() -> Facts {
        let s = |sku: &str, price: f32, cost: Option<f32>, in_stock: bool, pop: u32| SkuFacts {
            sku: sku.into(),
            price,
            cost,
            in_stock,
            offerable: sku != "X",
            category: None,
            popularity: pop,
        };
        Facts::new(
            "v",
            "b",
            "all",
            100,
            vec![
                s("A", 1.0, None, true, 50),
                s("B", 10.0, Some(5.0), true, 40),
                s("C", 2.0, Some(0.5), true, 30),
                s("D", 5.0, None, false, 20),
                s("E", 3.0, None, true, 10),
                s("X", 1.0, None, true, 90),
            ],
            10,
        )
    }

    fn n(id: u32, score: f32, count: u32) -> Neighbour {
        Neighbour { id, score, count }
    }

    /// Neighbour by SKU name (ids follow popularity in the facts).
    fn s(f: &Facts, sku: &str, score: f32, count: u32) -> Neighbour {
        n(f.id(sku).unwrap(), score, count)
    }

    #[test]
    fn merge_sums_and_excludes() {
        let l1 = [n(1, 0.5, 3), n(2, 0.4, 2), n(0, 0.9, 9)];
        let l2 = [n(2, 0.3, 5), n(4, 0.6, 1)];
        let lists = [
            QueryList {
                sku: Some(0),
                neighbours: &l1,
                fallback: false,
            },
            QueryList {
                sku: Some(3),
                neighbours: &l2,
                fallback: true,
            },
        ];
        let m = merge(&lists, &[0]);
        assert_eq!(m.iter().map(|c| c.id).collect::<Vec<_>>(), vec![2, 4, 1]);
        assert!((m[0].score - 0.7).abs() < 1e-6);
        assert_eq!(
            (m[0].together, m[0].with, m[0].fallback),
            (5, Some(3), false)
        );
        assert!(m[1].fallback);
        // Same lists with sparse ids take the sorting path: same result.
        let big = |l: &[Neighbour]| -> Vec<Neighbour> {
            l.iter().map(|x| n(x.id * 1000, x.score, x.count)).collect()
        };
        let (b1, b2) = (big(&l1), big(&l2));
        let sparse = [
            QueryList {
                neighbours: &b1,
                ..lists[0]
            },
            QueryList {
                neighbours: &b2,
                ..lists[1]
            },
        ];
        let ms = merge(&sparse, &[0]);
        assert_eq!(
            ms.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![2000, 4000, 1000]
        );
        for (a, b) in m.iter().zip(&ms) {
            assert_eq!(
                (a.score, a.together, a.with, a.fallback),
                (b.score, b.together, b.with, b.fallback)
            );
        }
    }

    #[test]
    fn rules_stock_band_pins_blocks_objective_and_fill() {
        let f = facts();
        let l = [
            s(&f, "B", 0.2, 4),
            s(&f, "C", 0.5, 3),
            s(&f, "D", 0.9, 2),
            s(&f, "E", 0.1, 1),
            s(&f, "X", 1.0, 9),
        ];
        let lists = [QueryList {
            sku: f.id("A"),
            neighbours: &l,
            fallback: false,
        }];
        let ids = |o: Vec<Offer>| o.into_iter().map(|o| o.sku).collect::<Vec<_>>();
        let mut p = RankPolicy {
            k: 3,
            ..RankPolicy::default()
        };
        // D out of stock, X not offerable, A is in the order.
        assert_eq!(ids(rank(&f, &["A"], &lists, &p)), ["C", "B", "E"]);
        p.objective = Objective::Revenue;
        assert_eq!(ids(rank(&f, &["A"], &lists, &p)), ["B", "C", "E"]);
        p.objective = Objective::Margin;
        assert_eq!(ids(rank(&f, &["A"], &lists, &p)), ["B", "C", "E"]);
        p.objective = Objective::Likelihood;
        p.price_max = Some(4.0);
        p.pins = vec!["E".into(), "D".into()];
        p.blocks = vec!["C".into()];
        // E pinned first; D pinned but out of stock; C blocked; B over the band;
        // one slot left, filled by popularity (A is in the order) → nothing else eligible.
        let o = rank(&f, &["A"], &lists, &p);
        assert_eq!(ids(o.clone()), ["E"]);
        p.in_stock_only = false;
        p.price_max = None;
        p.blocks.clear();
        p.pins.clear();
        let o = rank(&f, &["A"], &lists, &p);
        assert_eq!(ids(o.clone()), ["D", "C", "B"]);
        assert_eq!(o[0].together, 2);
        assert!((o[0].lift - 2.0 * 100.0 / (50.0 * 20.0)).abs() < 1e-6);
    }

    #[test]
    fn no_history_falls_back_to_popularity() {
        let f = facts();
        let o = rank(&f, &["A", "unknown"], &[], &RankPolicy::default());
        assert_eq!(
            o.iter().map(|o| o.sku.as_str()).collect::<Vec<_>>(),
            ["B", "C", "E"]
        );
        assert!(o.iter().all(|o| o.fallback && o.score == 0.0));
        let p = RankPolicy {
            fill_with_popular: false,
            ..RankPolicy::default()
        };
        assert!(rank(&f, &["A"], &[], &p).is_empty());
    }
}
