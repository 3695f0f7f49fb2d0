//! Chooses the offers for one order: the experiment arm, then the candidate
//! source for that arm (the neighbour table for `ai`, category curation for
//! `curated`, nothing for `holdout`), then the one shared ranking function
//! ([`crate::rank::rank`]) with the brand × region's rules. Pure and
//! synchronous: the worker calls it once its KV reads are done, and the
//! preview and `model-builder` call it on tables read from disk.
use std::collections::BTreeMap;

use crate::assign::{Arm, ArmWeights, Experiment, Thresholds};
use crate::config::{self, Settings};
use crate::rank::{self, Offer, QueryList, RankPolicy};
use crate::table::{Facts, Neighbour, NeighbourShard};

/// The rules the ranking applies for a brand × region's settings.
pub fn rank_policy(s: &Settings) -> RankPolicy {
    RankPolicy {
        k: s.offers.count as usize,
        in_stock_only: true,
        price_min: s.offers.price_min.map(|v| v as f32),
        price_max: s.offers.price_max.map(|v| v as f32),
        pins: s.offers.pins.clone(),
        blocks: s.offers.blocks.clone(),
        objective: s.offers.objective,
        fill_with_popular: true,
    }
}

/// Resolves a configured experiment into its registered form for `brand` (and
/// `region` when the experiment is a region override). `None` if its start
/// time or thresholds are missing or unreadable: such an experiment never runs.
pub fn experiment_from_config(
    e: &config::Experiment,
    brand: &str,
    region: Option<&str>,
) -> Option<Experiment> {
    let start = config::parse_rfc3339(&e.start)?;
    let t = e.thresholds.as_ref()?;
    let mut weights = ArmWeights {
        ai: 0,
        curated: 0,
        holdout: 0,
    };
    for arm in &e.arms {
        // Weights are shares of 1; ten-thousandths keep four decimals exactly.
        let w = (arm.weight.clamp(0.0, 1.0) * 10_000.0).round() as u32;
        match arm.name {
            config::ArmName::Ai => weights.ai += w,
            config::ArmName::Curated => weights.curated += w,
            config::ArmName::Holdout => weights.holdout += w,
        }
    }
    Some(Experiment {
        id: e.id.clone(),
        brand: brand.to_string(),
        region: region.map(str::to_string),
        salt: e.salt.clone(),
        start_ms: u64::try_from(start).ok()?.saturating_mul(1000),
        end_ms: None,
        weights,
        thresholds: Thresholds {
            min_conversion_lift: t.min_lift_ai_over_curated,
            min_attach_rate: t.min_attach_rate,
            min_revenue_per_1000: t.min_revenue_per_1000_orders,
            alpha: t.alpha,
            min_sample: t.min_sample,
        },
    })
}

/// The experiment running for this brand × region at `now_ms`, if any.
pub fn running_experiment(
    settings: &Settings,
    brand: &str,
    region: &str,
    now_ms: u64,
) -> Option<Experiment> {
    settings
        .experiments
        .iter()
        .filter_map(|e| experiment_from_config(e, brand, Some(region)))
        .find(|e| e.is_running(now_ms))
}

/// The arm for an order: assigned by the running experiment, `ai` when none runs.
pub fn arm_for(experiment: Option<&Experiment>, order_id: &str) -> Arm {
    experiment.map_or(Arm::Ai, |e| e.arm_for(order_id))
}

/// Offers from the neighbour table (the `ai` arm). `shard_for(sku)` returns the
/// decoded shard holding `sku`, if it was read.
pub fn ai_offers<'a>(
    facts: &Facts,
    order_skus: &[&str],
    shard_for: impl Fn(&str) -> Option<&'a NeighbourShard>,
    policy: &RankPolicy,
) -> Vec<Offer> {
    let lists = rank::lists_for(facts, order_skus, shard_for);
    rank::rank(facts, order_skus, &lists, policy)
}

/// The order's main category: the most frequent category among its SKUs
/// (ties go to the one seen first); `None` when no SKU has a category.
pub fn main_category<'f>(facts: &'f Facts, order_skus: &[&str]) -> Option<&'f str> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for sku in order_skus {
        let Some(cat) = facts
            .id(sku)
            .and_then(|id| facts.get(id))
            .and_then(|f| f.category.as_deref())
        else {
            continue;
        };
        match counts.iter_mut().find(|(c, _)| *c == cat) {
            Some((_, n)) => *n += 1,
            None => counts.push((cat, 1)),
        }
    }
    let best = counts.iter().map(|&(_, n)| n).max()?;
    counts.into_iter().find(|&(_, n)| n == best).map(|(c, _)| c)
}

/// The curation list for an order: the merchandiser's list for its main
/// category, else the list under `*`, else none (the ranking then fills with
/// the table's best sellers).
pub fn curation_for<'c>(
    curation: &'c BTreeMap<String, Vec<String>>,
    main: Option<&str>,
) -> &'c [String] {
    main.and_then(|c| curation.get(c))
        .or_else(|| curation.get("*"))
        .map_or(&[], Vec::as_slice)
}

/// Offers from category curation (the `curated` arm): the list's SKUs in their
/// order, through the same eligibility rules, pins and fill as the `ai` arm.
pub fn curated_offers(
    facts: &Facts,
    order_skus: &[&str],
    curation: &BTreeMap<String, Vec<String>>,
    policy: &RankPolicy,
) -> Vec<Offer> {
    let list = curation_for(curation, main_category(facts, order_skus));
    let n = list.len().max(1) as f32;
    let neighbours: Vec<Neighbour> = list
        .iter()
        .enumerate()
        .filter_map(|(i, sku)| {
            let id = facts.id(sku)?;
            Some(Neighbour {
                id,
                score: (n - i as f32) / n,
                count: 0,
            })
        })
        .collect();
    let lists = [QueryList {
        sku: None,
        neighbours: &neighbours,
        fallback: true,
    }];
    rank::rank(facts, order_skus, &lists, policy)
}

/// Offers for `arm`: the table's for `ai`, curation for `curated`, none for `holdout`.
pub fn offers_for_arm<'a>(
    arm: Arm,
    facts: &Facts,
    order_skus: &[&str],
    shard_for: impl Fn(&str) -> Option<&'a NeighbourShard>,
    settings: &Settings,
) -> Vec<Offer> {
    let policy = rank_policy(settings);
    match arm {
        Arm::Ai => ai_offers(facts, order_skus, shard_for, &policy),
        Arm::Curated => curated_offers(facts, order_skus, &settings.curation, &policy),
        Arm::Holdout => Vec::new(),
    }
}

/// Why an offer was chosen, in words a marketer reads in the preview.
pub fn explain(offer: &Offer) -> String {
    if offer.fallback && offer.score == 0.0 {
        "best seller (no co-purchase evidence for this order)".to_string()
    } else if offer.fallback {
        "from the category's pattern or a curated list (fallback)".to_string()
    } else if offer.together > 0 {
        format!(
            "bought together in {} orders, lift {:.1}",
            offer.together, offer.lift
        )
    } else {
        format!("related by the model (score {:.3})", offer.score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::SkuFacts;

    fn facts() -> Facts {
        let s = |sku: &str, cat: &str, pop: u32| SkuFacts {
            sku: sku.into(),
            price: 5.0,
            cost: None,
            in_stock: true,
            offerable: true,
            category: Some(cat.into()),
            popularity: pop,
        };
        Facts::new(
            "v1",
            "b",
            "all",
            1000,
            vec![
                s("A", "mugs", 10),
                s("B", "mugs", 9),
                s("C", "tea", 50),
                s("D", "tea", 40),
                s("E", "cards", 30),
            ],
            10,
        )
    }

    fn settings() -> Settings {
        let mut s = Settings::default();
        s.curation
            .insert("mugs".into(), vec!["D".into(), "E".into(), "A".into()]);
        s.curation.insert("*".into(), vec!["E".into()]);
        s
    }

    #[test]
    fn curated_uses_the_main_categorys_list_minus_the_order() {
        let f = facts();
        let offers = curated_offers(
            &f,
            &["A", "B", "C"],
            &settings().curation,
            &rank_policy(&settings()),
        );
        let skus: Vec<&str> = offers.iter().map(|o| o.sku.as_str()).collect();
        assert_eq!(
            skus,
            ["D", "E"],
            "mugs list, without A (in the order), no popular fill beyond eligible"
        );
        assert!(offers.iter().all(|o| o.fallback));
    }

    #[test]
    fn curated_falls_back_to_the_default_list_then_best_sellers() {
        let f = facts();
        let offers = curated_offers(&f, &["C"], &settings().curation, &rank_policy(&settings()));
        let skus: Vec<&str> = offers.iter().map(|o| o.sku.as_str()).collect();
        assert_eq!(skus[0], "E");
        assert_eq!(skus.len(), 3);
        assert!(!skus.contains(&"C"));
    }

    #[test]
    fn holdout_gets_nothing() {
        let f = facts();
        let out = offers_for_arm(Arm::Holdout, &f, &["A"], |_| None, &settings());
        assert!(out.is_empty());
    }

    #[test]
    fn main_category_is_the_most_frequent() {
        let f = facts();
        assert_eq!(main_category(&f, &["C", "A", "B"]), Some("mugs"));
        assert_eq!(main_category(&f, &["C", "A"]), Some("tea"));
        assert_eq!(main_category(&f, &["Z"]), None);
    }

    #[test]
    fn configured_experiment_resolves_and_assigns_deterministically() {
        let e = config::Experiment {
            id: "exp1".into(),
            salt: "s".into(),
            start: "2026-01-01T00:00:00Z".into(),
            arms: vec![
                config::Arm {
                    name: config::ArmName::Ai,
                    weight: 0.5,
                },
                config::Arm {
                    name: config::ArmName::Curated,
                    weight: 0.25,
                },
                config::Arm {
                    name: config::ArmName::Holdout,
                    weight: 0.25,
                },
            ],
            thresholds: Some(config::Thresholds {
                min_lift_ai_over_curated: 0.1,
                min_attach_rate: 0.01,
                min_revenue_per_1000_orders: 50.0,
                alpha: 0.05,
                min_sample: 1000,
            }),
        };
        let r = experiment_from_config(&e, "b", Some("uk")).unwrap();
        assert_eq!(
            (r.weights.ai, r.weights.curated, r.weights.holdout),
            (5000, 2500, 2500)
        );
        assert_eq!(r.start_ms, 1_767_225_600_000);
        assert!(r.is_running(1_767_225_600_000));
        assert!(!r.is_running(1_767_225_599_999));
        assert_eq!(arm_for(Some(&r), "100001"), arm_for(Some(&r), "100001"));
        let mut no_thresholds = e.clone();
        no_thresholds.thresholds = None;
        assert!(experiment_from_config(&no_thresholds, "b", None).is_none());
        assert_eq!(arm_for(None, "1"), Arm::Ai);
    }
}
