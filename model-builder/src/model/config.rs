//! Model settings: every knob of count → score → blend → truncate → shard.
use serde::{Deserialize, Serialize};

/// How neighbour scores are learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Normalised co-occurrence (conditional probability with a popularity exponent).
    Cooc,
    /// Sparse EASE: per-SKU ridge regression over its top co-purchases.
    Ease,
}

/// Settings of a build (from `--config` TOML/JSON, then flags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Scoring method.
    pub method: Method,
    /// EASE ridge penalty λ (in weighted orders).
    pub ease_lambda: f64,
    /// EASE candidates per target SKU (its strongest co-purchases), M.
    pub ease_candidates: usize,
    /// Co-purchase row length kept for the EASE Gram lookups; 0 = whole rows
    /// (exact). Truncated rows read missing pairs as 0, which measurably
    /// degrades EASE toward plain conditional probability (validation: rows of
    /// 400 lose ~0.001 HR@3 on Online Retail, rows of 200 lose nearly all).
    pub ease_row: usize,
    /// Popularity-dependent ridge (EDLAE, Steck 2020): each regressor's
    /// penalty is `λ + ease_diag_reg·G_ii`, i.e. dropout with probability p
    /// where `ease_diag_reg = p/(1-p)`. 0 = plain ridge.
    pub ease_diag_reg: f64,
    /// Fit EASE's weights under the table's constraint that they are
    /// positive (re-solve without the candidates whose weight is ≤ 0) rather
    /// than dropping the negative weights of the unconstrained solution.
    pub ease_nonnegative: bool,
    /// L1 penalty on the non-negative EASE weights (SLIM's lasso term), in
    /// weighted orders: the fit's right-hand side `G_Sj` is lowered by it, so
    /// weakly co-purchased candidates drop out (fewer edges). 0 = off;
    /// applies to exact Gram rows (`ease_row` = 0) only.
    pub ease_l1: f64,
    /// Weight of a customer window (the SKUs one customer bought over several
    /// orders within `customer_window_days`) as an extra EASE Gram row,
    /// relative to an order; 0 = off. Needs `customer_id` in the orders.
    pub customer_weight: f64,
    /// Length of a customer window in days (`None`: all of a customer's orders).
    pub customer_window_days: Option<f64>,
    /// Half-life of an order's weight by its age before the newest training
    /// order, in days (`None`: no decay).
    pub half_life_days: Option<f64>,
    /// Basket-size discount: a pair in an order of n distinct SKUs counts
    /// `(n-1)^-basket_exp`.
    pub basket_exp: f64,
    /// Exponent on the query SKU's count in the score denominator.
    pub alpha: f64,
    /// Exponent on the neighbour's count (popularity penalty).
    pub beta: f64,
    /// Added to the query SKU's count (shrinks rare SKUs' scores).
    pub shrink: f64,
    /// Neighbours kept per SKU.
    pub neighbours: usize,
    /// Minimum raw co-purchase count for an edge in the `all` table.
    pub min_count: u32,
    /// Orders a region needs (in training) for a table of its own.
    pub region_min_orders: u64,
    /// Prior strength, in (weighted) orders, pulling a region's counts toward
    /// the brand-wide ones: `c_r + m·c_all/N_all`.
    pub region_prior_orders: f64,
    /// Target SKUs with a list per neighbour shard.
    pub skus_per_shard: usize,
    /// Target SKUs per catalog shard.
    pub catalog_skus_per_shard: usize,
    /// Length of the popularity fallback list in the facts.
    pub popular: usize,
    /// Members of a category whose lists make the category's cold-start list.
    pub category_members: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            method: Method::Ease,
            ease_lambda: 10.0,
            ease_candidates: 100,
            ease_row: 0,
            ease_diag_reg: 0.0,
            ease_nonnegative: true,
            ease_l1: 0.0,
            customer_weight: 0.0,
            customer_window_days: Some(30.0),
            half_life_days: Some(120.0),
            basket_exp: 0.0,
            alpha: 0.5,
            beta: 0.3,
            shrink: 2.0,
            neighbours: 50,
            min_count: 1,
            region_min_orders: 500,
            region_prior_orders: 500.0,
            skus_per_shard: 128,
            catalog_skus_per_shard: 512,
            popular: 50,
            category_members: 20,
        }
    }
}
