//! The experiment report: per-arm figures, lifts with confidence intervals, the
//! verdict against the pre-registered thresholds, and the CSV/JSON exports.
//!
//! Two ways in, one way out: [`totals_from_records`] sums exported rows (the CLI)
//! and [`crate::events::SELECT_ARM_TOTALS`] sums the same in D1 (the worker);
//! both feed [`build_report`], so `/__upsell/report` and `model-builder report`
//! print the same figures.
//!
//! Definitions (all per arm, over orders enrolled in the date range):
//! - attach rate = orders with ≥ 1 non-refunded upsell line / enrolled orders;
//! - conversion per impression = non-refunded upsell lines / impression events;
//! - revenue per 1,000 orders = 1000 × upsell revenue / enrolled orders;
//! - AOV without = mean parent order value; AOV with = (parent + upsell revenue) / orders,
//!   both over orders whose page exposed the order value;
//! - lift of `ai` over X: difference of attach rates (Newcombe hybrid score 95 % CI)
//!   and of revenue per 1,000 orders (Welch 95 % CI on per-order upsell revenue),
//!   and the relative attach-rate lift ai / X − 1 (Katz log 95 % CI).
//!
//! Verdict (decision rule fixed in advance, at the experiment's `alpha`):
//! not enough data while `ai` or `curated` has fewer than `min_sample` orders;
//! otherwise met when every criterion is met: conversion lift (the `1 − alpha`
//! Newcombe interval of ai − curated attach rate lies above 0 *and* the relative
//! lift (ai − curated) / curated ≥ `min_conversion_lift`), `ai` attach rate ≥
//! `min_attach_rate`, and `ai` revenue per 1,000 orders ≥ `min_revenue_per_1000`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::assign::{Arm, Experiment, Thresholds};
use crate::csv;
use crate::stats::{newcombe_diff, normal_quantile, welch_diff, ArmTotals, Interval, MeanSample};

/// Minor units per currency unit (all amounts are stored in cents).
pub const MINOR_PER_UNIT: f64 = 100.0;
/// z for the report's 95 % intervals.
const Z95: f64 = 1.959_963_984_540_054;

/// Kind of row in the events export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// An enrolled order (block served, or holdout decision).
    Served,
    /// The block was in view.
    Impression,
    /// An offer was clicked.
    Click,
}

/// One row of the events export (offers served, impressions, clicks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Unix ms.
    pub ts: u64,
    /// Experiment id.
    pub experiment: String,
    /// Brand.
    pub brand: String,
    /// Region.
    pub region: String,
    /// Parent order id.
    pub parent_order_id: String,
    /// Arm.
    pub arm: Arm,
    /// Row kind.
    #[serde(rename = "type")]
    pub kind: RecordKind,
    /// SKU (clicks).
    #[serde(default)]
    pub sku: Option<String>,
    /// Parent order value in minor units (served rows).
    #[serde(default)]
    pub order_value_minor: Option<i64>,
    /// Currency of the order value.
    #[serde(default)]
    pub currency: Option<String>,
}

/// Status of a conversion line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversionStatus {
    /// Seen on the upsell confirmation page, not yet confirmed by the OMS.
    Pending,
    /// Confirmed by the OMS.
    Confirmed,
    /// Refunded or cancelled: excluded from the figures.
    Refunded,
}

impl ConversionStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversionStatus::Pending => "pending",
            ConversionStatus::Confirmed => "confirmed",
            ConversionStatus::Refunded => "refunded",
        }
    }
}

/// One row of the conversion ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversionRecord {
    /// The order whose confirmation page showed the offer.
    pub parent_order_id: String,
    /// The upsell order.
    pub upsell_order_id: String,
    /// Offered SKU bought.
    pub sku: String,
    /// Line revenue, minor units.
    pub revenue_minor: i64,
    /// ISO currency.
    pub currency: String,
    /// Arm of the parent order.
    pub arm: Arm,
    /// Experiment id.
    pub experiment: String,
    /// Brand.
    pub brand: String,
    /// Region.
    pub region: String,
    /// Table version the offer came from.
    #[serde(default)]
    pub model_version: String,
    /// Status.
    pub status: ConversionStatus,
    /// When the parent order was served, Unix ms (if known).
    #[serde(default)]
    pub served_at: Option<u64>,
    /// When the conversion was recorded, Unix ms.
    pub converted_at: u64,
    /// Last status change, Unix ms.
    pub updated_at: u64,
}

/// Which orders a report covers (mirrors the query string of `/__upsell/report`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFilter {
    /// Experiment id.
    pub experiment: String,
    /// Brand, or every brand of the experiment.
    #[serde(default)]
    pub brand: Option<String>,
    /// Region, or every region.
    #[serde(default)]
    pub region: Option<String>,
    /// Orders served at or after this Unix ms.
    #[serde(default)]
    pub from_ms: Option<u64>,
    /// Orders served before this Unix ms.
    #[serde(default)]
    pub to_ms: Option<u64>,
}

impl ReportFilter {
    /// Whether an order of `experiment`, `brand`, `region` served at `ts` is in scope.
    pub fn admits(&self, experiment: &str, brand: &str, region: &str, ts: u64) -> bool {
        experiment == self.experiment
            && self.brand.as_deref().is_none_or(|b| b == brand)
            && self.region.as_deref().is_none_or(|r| r == region)
            && self.from_ms.is_none_or(|f| ts >= f)
            && self.to_ms.is_none_or(|t| ts < t)
    }
}

/// Input rows that cannot be summed together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InconsistentRows(pub String);

impl std::fmt::Display for InconsistentRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InconsistentRows {}

/// Sums exported rows into per-arm totals, with the same semantics as
/// [`crate::events::SELECT_ARM_TOTALS`]: orders are the `served` rows the filter
/// admits (first row per order wins), events and non-refunded conversions count
/// when their parent order is one of them. Refuses mixed currencies.
pub fn totals_from_records(
    events: &[EventRecord],
    conversions: &[ConversionRecord],
    filter: &ReportFilter,
) -> Result<BTreeMap<Arm, ArmTotals>, InconsistentRows> {
    struct Order {
        arm: Arm,
        value: Option<i64>,
        impressions: u64,
        clicks: u64,
        lines: u64,
        revenue: i64,
    }
    let mut served: Vec<&EventRecord> = events
        .iter()
        .filter(|e| e.kind == RecordKind::Served)
        .filter(|e| filter.admits(&e.experiment, &e.brand, &e.region, e.ts))
        .collect();
    served.sort_by_key(|e| e.ts);
    let mut orders: HashMap<&str, Order> = HashMap::new();
    let mut currencies = BTreeSet::new();
    for e in served {
        orders.entry(&e.parent_order_id).or_insert_with(|| {
            if e.order_value_minor.is_some() {
                if let Some(c) = &e.currency {
                    currencies.insert(c.clone());
                }
            }
            Order {
                arm: e.arm,
                value: e.order_value_minor,
                impressions: 0,
                clicks: 0,
                lines: 0,
                revenue: 0,
            }
        });
    }
    for e in events.iter().filter(|e| e.experiment == filter.experiment) {
        if let Some(o) = orders.get_mut(e.parent_order_id.as_str()) {
            match e.kind {
                RecordKind::Impression => o.impressions += 1,
                RecordKind::Click => o.clicks += 1,
                RecordKind::Served => {}
            }
        }
    }
    for c in conversions {
        if c.experiment != filter.experiment || c.status == ConversionStatus::Refunded {
            continue;
        }
        if let Some(o) = orders.get_mut(c.parent_order_id.as_str()) {
            o.lines += 1;
            o.revenue += c.revenue_minor;
            currencies.insert(c.currency.clone());
        }
    }
    if currencies.len() > 1 {
        return Err(InconsistentRows(format!(
            "mixed currencies {:?} in experiment {}: report one region (currency) at a time",
            currencies, filter.experiment
        )));
    }
    let mut totals: BTreeMap<Arm, ArmTotals> = BTreeMap::new();
    for o in orders.values() {
        let t = totals.entry(o.arm).or_default();
        t.orders += 1;
        if let Some(v) = o.value {
            t.orders_with_value += 1;
            t.primary_revenue_minor += v;
            t.upsell_revenue_valued_minor += o.revenue;
        }
        t.impressions += o.impressions;
        t.viewed_orders += u64::from(o.impressions > 0);
        t.clicks += o.clicks;
        t.conversions += o.lines;
        t.converted_orders += u64::from(o.lines > 0);
        t.upsell_revenue_minor += o.revenue;
        t.upsell_revenue_sq += (o.revenue as f64) * (o.revenue as f64);
    }
    Ok(totals)
}

/// The ledger rows in scope: conversions of the filter's experiment whose parent
/// order has a `served` row the filter admits (what the BI export contains).
pub fn filter_ledger(
    events: &[EventRecord],
    conversions: &[ConversionRecord],
    filter: &ReportFilter,
) -> Vec<ConversionRecord> {
    let enrolled: BTreeSet<&str> = events
        .iter()
        .filter(|e| e.kind == RecordKind::Served)
        .filter(|e| filter.admits(&e.experiment, &e.brand, &e.region, e.ts))
        .map(|e| e.parent_order_id.as_str())
        .collect();
    conversions
        .iter()
        .filter(|c| {
            c.experiment == filter.experiment && enrolled.contains(c.parent_order_id.as_str())
        })
        .cloned()
        .collect()
}

/// Output format of `/__upsell/report` and `model-builder report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// The [`Report`] as JSON.
    Json,
    /// The report as long-format CSV ([`Report::to_csv`]).
    Csv,
    /// The conversion ledger as CSV ([`ledger_csv`]).
    Ledger,
    /// The events export as CSV ([`events_csv`]), the CLI's `--events` input.
    Events,
}

/// A bad `/__upsell/report` query parameter (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadQuery {
    /// Parameter name.
    pub param: String,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for BadQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "query parameter `{}`: {}", self.param, self.reason)
    }
}

impl std::error::Error for BadQuery {}

/// Decodes `%XX` escapes and `+` (as space) of a query-string value.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a time bound: Unix ms, or a UTC `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS][Z]`
/// (a space may replace the `T`).
pub fn parse_time(s: &str) -> Option<u64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let (date, time) = s.split_once(['T', ' ']).unwrap_or((s, "00:00:00"));
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let t: Vec<i64> = time
        .trim_end_matches('Z')
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let valid = d.len() == 3
        && (1970..=9999).contains(&d[0])
        && (1..=12).contains(&d[1])
        && (1..=31).contains(&d[2])
        && (1..=3).contains(&t.len())
        && (0..24).contains(&t[0])
        && t[1..].iter().all(|v| (0..60).contains(v));
    if !valid {
        return None;
    }
    let secs = days_from_civil(d[0], d[1], d[2]) * 86_400
        + t[0] * 3600
        + t.get(1).copied().unwrap_or(0) * 60
        + t.get(2).copied().unwrap_or(0);
    u64::try_from(secs).ok()?.checked_mul(1000)
}

/// Parses the query string of `GET /__upsell/report?experiment=&brand=&region=&from=&to=&format=`
/// (without the `?`). `experiment` is required; `format` defaults to JSON.
pub fn parse_report_query(query: &str) -> Result<(ReportFilter, ReportFormat), BadQuery> {
    let bad = |param: &str, reason: String| BadQuery {
        param: param.into(),
        reason,
    };
    let mut filter = ReportFilter::default();
    let mut format = ReportFormat::Json;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v).ok_or_else(|| bad(k, "bad percent-encoding".into()))?;
        let nonempty = |v: String| (!v.is_empty()).then_some(v);
        match k {
            "experiment" => filter.experiment = v,
            "brand" => filter.brand = nonempty(v),
            "region" => filter.region = nonempty(v),
            "from" | "to" => {
                let t = if v.is_empty() {
                    None
                } else {
                    Some(parse_time(&v).ok_or_else(|| {
                        bad(k, format!("{v:?} is not Unix ms or YYYY-MM-DD[THH:MM:SS]"))
                    })?)
                };
                if k == "from" {
                    filter.from_ms = t;
                } else {
                    filter.to_ms = t;
                }
            }
            "format" => {
                format = match v.as_str() {
                    "json" | "" => ReportFormat::Json,
                    "csv" => ReportFormat::Csv,
                    "ledger" => ReportFormat::Ledger,
                    "events" => ReportFormat::Events,
                    other => {
                        return Err(bad(
                            "format",
                            format!("{other:?} is not json|csv|ledger|events"),
                        ))
                    }
                }
            }
            _ => {}
        }
    }
    if filter.experiment.is_empty() {
        return Err(bad("experiment", "required".into()));
    }
    Ok((filter, format))
}

/// Checks `Authorization: Bearer <admin secret>` in constant time (SHA-256 of both
/// sides compared byte by byte without early exit). An empty configured secret
/// refuses everything.
pub fn authorize_admin(authorization: Option<&str>, admin_secret: &str) -> bool {
    use sha2::{Digest, Sha256};
    let Some(given) = authorization.and_then(|h| h.trim().strip_prefix("Bearer ")) else {
        return false;
    };
    if admin_secret.is_empty() {
        return false;
    }
    let a = Sha256::digest(given.trim().as_bytes());
    let b = Sha256::digest(admin_secret.as_bytes());
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Per-arm totals from the JSON rows of [`crate::events::SELECT_ARM_TOTALS`] as D1
/// returns them (numbers may arrive as floats, e.g. `3.0`).
pub fn arm_totals_from_rows(
    rows: &[serde_json::Value],
) -> Result<BTreeMap<Arm, ArmTotals>, RecordError> {
    let mut out = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let err = |field: &str, reason: String| RecordError {
            source: "SELECT_ARM_TOTALS".into(),
            line: i + 1,
            field: field.into(),
            reason,
        };
        let num = |name: &str| -> Result<f64, RecordError> {
            row.get(name)
                .and_then(serde_json::Value::as_f64)
                .ok_or_else(|| err(name, "missing or not a number".into()))
        };
        let count = |name: &str| -> Result<u64, RecordError> {
            let v = num(name)?;
            if v < 0.0 || v.fract() != 0.0 {
                return Err(err(name, format!("{v} is not a count")));
            }
            Ok(v as u64)
        };
        let arm_name = row
            .get("arm")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        let arm = Arm::parse(arm_name).ok_or_else(|| err("arm", format!("{arm_name:?}")))?;
        let totals = ArmTotals {
            orders: count("orders")?,
            orders_with_value: count("orders_with_value")?,
            primary_revenue_minor: num("primary_revenue_minor")? as i64,
            impressions: count("impressions")?,
            viewed_orders: count("viewed_orders")?,
            clicks: count("clicks")?,
            conversions: count("conversions")?,
            converted_orders: count("converted_orders")?,
            upsell_revenue_minor: num("upsell_revenue_minor")? as i64,
            upsell_revenue_sq: num("upsell_revenue_sq")?,
            upsell_revenue_valued_minor: num("upsell_revenue_valued_minor")? as i64,
        };
        out.insert(arm, totals);
    }
    Ok(out)
}

/// Figures for one arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmReport {
    /// Arm.
    pub arm: Arm,
    /// Enrolled orders.
    pub orders: u64,
    /// Impression events.
    pub impressions: u64,
    /// Orders with an impression.
    pub viewed_orders: u64,
    /// Click events.
    pub clicks: u64,
    /// Non-refunded conversion lines.
    pub conversions: u64,
    /// Orders with a conversion.
    pub converted_orders: u64,
    /// Attach rate with its 95 % Wilson interval.
    pub attach_rate: Option<Interval>,
    /// Conversion lines per impression.
    pub conversion_per_impression: Option<f64>,
    /// Post-purchase revenue, currency units.
    pub upsell_revenue: f64,
    /// Upsell revenue per 1,000 enrolled orders, currency units.
    pub revenue_per_1000_orders: Option<f64>,
    /// Mean parent order value, currency units.
    pub aov_without_upsell: Option<f64>,
    /// Mean parent order value plus its upsell revenue, currency units.
    pub aov_with_upsell: Option<f64>,
}

/// `ai` against another arm, at 95 %.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Always `ai`.
    pub treatment: Arm,
    /// `curated` or `holdout`.
    pub control: Arm,
    /// Attach rate difference (treatment − control), Newcombe 95 % CI.
    pub attach_rate_diff: Option<Interval>,
    /// Relative attach-rate lift (treatment / control − 1); None when control is 0.
    pub attach_rate_relative_lift: Option<f64>,
    /// The same relative lift with its 95 % Katz log interval (None when either arm
    /// has no conversion).
    pub attach_rate_relative_lift_ci: Option<Interval>,
    /// Revenue per 1,000 orders difference, Welch 95 % CI, currency units.
    pub revenue_per_1000_diff: Option<Interval>,
    /// Welch–Satterthwaite degrees of freedom of that interval.
    pub revenue_welch_df: Option<f64>,
}

/// Outcome of a pre-registered criterion or of the whole experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Threshold met.
    Met,
    /// Threshold not met.
    NotMet,
    /// Fewer orders than the pre-registered minimum sample.
    NotEnoughData,
}

impl Verdict {
    /// Wire / display name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::NotMet => "not_met",
            Verdict::NotEnoughData => "not_enough_data",
        }
    }
}

/// One pre-registered criterion, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// Threshold name (the `Thresholds` field).
    pub name: String,
    /// Registered threshold.
    pub threshold: f64,
    /// Observed value (None when it cannot be computed yet).
    pub observed: Option<f64>,
    /// For the lift criterion: the `1 − alpha` Newcombe interval of ai − curated attach rate.
    pub interval: Option<Interval>,
    /// Outcome.
    pub verdict: Verdict,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Scope.
    pub filter: ReportFilter,
    /// Fingerprint of the experiment definition judged against (if given).
    pub experiment_fingerprint: Option<String>,
    /// The registered thresholds (if given).
    pub thresholds: Option<Thresholds>,
    /// Per-arm figures, in `ai`, `curated`, `holdout` order (arms with no orders included).
    pub arms: Vec<ArmReport>,
    /// `ai` vs `curated` and `ai` vs `holdout`.
    pub comparisons: Vec<Comparison>,
    /// Pre-registered criteria (empty without an experiment definition).
    pub criteria: Vec<Criterion>,
    /// Overall verdict (None without an experiment definition).
    pub verdict: Option<Verdict>,
}

fn units(minor: i64) -> f64 {
    minor as f64 / MINOR_PER_UNIT
}

fn ratio(num: f64, den: u64) -> Option<f64> {
    (den > 0).then(|| num / den as f64)
}

fn arm_report(arm: Arm, t: &ArmTotals) -> ArmReport {
    ArmReport {
        arm,
        orders: t.orders,
        impressions: t.impressions,
        viewed_orders: t.viewed_orders,
        clicks: t.clicks,
        conversions: t.conversions,
        converted_orders: t.converted_orders,
        attach_rate: crate::stats::wilson(t.converted_orders, t.orders, Z95),
        conversion_per_impression: ratio(t.conversions as f64, t.impressions),
        upsell_revenue: units(t.upsell_revenue_minor),
        revenue_per_1000_orders: ratio(1000.0 * units(t.upsell_revenue_minor), t.orders),
        aov_without_upsell: ratio(units(t.primary_revenue_minor), t.orders_with_value),
        aov_with_upsell: ratio(
            units(t.primary_revenue_minor + t.upsell_revenue_valued_minor),
            t.orders_with_value,
        ),
    }
}

fn revenue_sample(t: &ArmTotals) -> MeanSample {
    // Per-order upsell revenue in currency units.
    MeanSample {
        n: t.orders,
        sum: units(t.upsell_revenue_minor),
        sum_sq: t.upsell_revenue_sq / (MINOR_PER_UNIT * MINOR_PER_UNIT),
    }
}

fn compare(a: &ArmTotals, b: &ArmTotals, control: Arm, z: f64, alpha: f64) -> Comparison {
    let diff = newcombe_diff(
        a.converted_orders,
        a.orders,
        b.converted_orders,
        b.orders,
        z,
    );
    let rel = match (
        ratio(a.converted_orders as f64, a.orders),
        ratio(b.converted_orders as f64, b.orders),
    ) {
        (Some(pa), Some(pb)) if pb > 0.0 => Some(pa / pb - 1.0),
        _ => None,
    };
    let welch = welch_diff(&revenue_sample(a), &revenue_sample(b), alpha);
    Comparison {
        treatment: Arm::Ai,
        control,
        attach_rate_diff: diff,
        attach_rate_relative_lift: rel,
        attach_rate_relative_lift_ci: crate::stats::ratio_log_ci(
            a.converted_orders,
            a.orders,
            b.converted_orders,
            b.orders,
            z,
        )
        .map(|i| Interval {
            estimate: i.estimate - 1.0,
            low: i.low - 1.0,
            high: i.high - 1.0,
        }),
        revenue_per_1000_diff: welch.map(|(i, _)| Interval {
            estimate: 1000.0 * i.estimate,
            low: 1000.0 * i.low,
            high: 1000.0 * i.high,
        }),
        revenue_welch_df: welch.map(|(_, df)| df),
    }
}

/// Judges the pre-registered criteria; returns them and the overall verdict.
pub fn judge(
    totals: &BTreeMap<Arm, ArmTotals>,
    thresholds: &Thresholds,
) -> (Vec<Criterion>, Verdict) {
    let zero = ArmTotals::default();
    let ai = totals.get(&Arm::Ai).unwrap_or(&zero);
    let cur = totals.get(&Arm::Curated).unwrap_or(&zero);
    let sample = ai.orders.min(cur.orders);
    let enough = sample >= thresholds.min_sample;
    let gate = |met: bool| match (enough, met) {
        (false, _) => Verdict::NotEnoughData,
        (true, true) => Verdict::Met,
        (true, false) => Verdict::NotMet,
    };
    let z = normal_quantile(1.0 - thresholds.alpha / 2.0);
    let diff = newcombe_diff(
        ai.converted_orders,
        ai.orders,
        cur.converted_orders,
        cur.orders,
        z,
    );
    let p_ai = ratio(ai.converted_orders as f64, ai.orders);
    let p_cur = ratio(cur.converted_orders as f64, cur.orders);
    let rel = match (p_ai, p_cur) {
        (Some(a), Some(c)) if c > 0.0 => Some(a / c - 1.0),
        (Some(a), Some(_)) if a > 0.0 => Some(f64::INFINITY),
        _ => None,
    };
    let lift_met = diff.is_some_and(|d| d.low > 0.0)
        && rel.is_some_and(|r| r >= thresholds.min_conversion_lift);
    let rev = ratio(1000.0 * units(ai.upsell_revenue_minor), ai.orders);
    let criteria = vec![
        Criterion {
            name: "min_sample".into(),
            threshold: thresholds.min_sample as f64,
            observed: Some(sample as f64),
            interval: None,
            verdict: if enough {
                Verdict::Met
            } else {
                Verdict::NotEnoughData
            },
        },
        Criterion {
            name: "min_conversion_lift".into(),
            threshold: thresholds.min_conversion_lift,
            observed: rel,
            interval: diff,
            verdict: gate(lift_met),
        },
        Criterion {
            name: "min_attach_rate".into(),
            threshold: thresholds.min_attach_rate,
            observed: p_ai,
            interval: None,
            verdict: gate(p_ai.is_some_and(|p| p >= thresholds.min_attach_rate)),
        },
        Criterion {
            name: "min_revenue_per_1000".into(),
            threshold: thresholds.min_revenue_per_1000,
            observed: rev,
            interval: None,
            verdict: gate(rev.is_some_and(|r| r >= thresholds.min_revenue_per_1000)),
        },
    ];
    let verdict = if !enough {
        Verdict::NotEnoughData
    } else if criteria.iter().all(|c| c.verdict == Verdict::Met) {
        Verdict::Met
    } else {
        Verdict::NotMet
    };
    (criteria, verdict)
}

/// Builds the report from per-arm totals; with `experiment`, also the verdict.
pub fn build_report(
    filter: &ReportFilter,
    totals: &BTreeMap<Arm, ArmTotals>,
    experiment: Option<&Experiment>,
) -> Report {
    let zero = ArmTotals::default();
    let get = |arm| totals.get(&arm).unwrap_or(&zero);
    let arms = Arm::ALL.iter().map(|&a| arm_report(a, get(a))).collect();
    let comparisons = [Arm::Curated, Arm::Holdout]
        .into_iter()
        .map(|c| compare(get(Arm::Ai), get(c), c, Z95, 0.05))
        .collect();
    let (criteria, verdict) = match experiment {
        Some(e) => {
            let (c, v) = judge(totals, &e.thresholds);
            (c, Some(v))
        }
        None => (Vec::new(), None),
    };
    Report {
        filter: filter.clone(),
        experiment_fingerprint: experiment.map(Experiment::fingerprint),
        thresholds: experiment.map(|e| e.thresholds),
        arms,
        comparisons,
        criteria,
        verdict,
    }
}

fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.6}"),
        Some(x) if x > 0.0 => "inf".into(),
        Some(_) => "-inf".into(),
        None => String::new(),
    }
}

impl Report {
    /// Long-format CSV: `experiment,section,subject,metric,value,ci_low,ci_high`, one row
    /// per figure (sections `arm`, `lift`, `criterion`, `verdict`).
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let exp = self.filter.experiment.as_str();
        csv::write_row(
            &mut out,
            &[
                "experiment",
                "section",
                "subject",
                "metric",
                "value",
                "ci_low",
                "ci_high",
            ],
        );
        let mut lines: Vec<[String; 7]> = Vec::new();
        let mut row =
            |section: &str, subject: &str, metric: &str, v: Option<f64>, ci: Option<Interval>| {
                let (lo, hi) = ci.map_or((None, None), |i| (Some(i.low), Some(i.high)));
                lines.push([
                    exp.into(),
                    section.into(),
                    subject.into(),
                    metric.into(),
                    num(v),
                    num(lo),
                    num(hi),
                ]);
            };
        for a in &self.arms {
            let s = a.arm.as_str();
            row("arm", s, "orders", Some(a.orders as f64), None);
            row("arm", s, "impressions", Some(a.impressions as f64), None);
            row(
                "arm",
                s,
                "viewed_orders",
                Some(a.viewed_orders as f64),
                None,
            );
            row("arm", s, "clicks", Some(a.clicks as f64), None);
            row("arm", s, "conversions", Some(a.conversions as f64), None);
            row(
                "arm",
                s,
                "converted_orders",
                Some(a.converted_orders as f64),
                None,
            );
            row(
                "arm",
                s,
                "attach_rate",
                a.attach_rate.map(|i| i.estimate),
                a.attach_rate,
            );
            row(
                "arm",
                s,
                "conversion_per_impression",
                a.conversion_per_impression,
                None,
            );
            row("arm", s, "upsell_revenue", Some(a.upsell_revenue), None);
            row(
                "arm",
                s,
                "revenue_per_1000_orders",
                a.revenue_per_1000_orders,
                None,
            );
            row("arm", s, "aov_without_upsell", a.aov_without_upsell, None);
            row("arm", s, "aov_with_upsell", a.aov_with_upsell, None);
        }
        for c in &self.comparisons {
            let s = format!("{}_vs_{}", c.treatment, c.control);
            row(
                "lift",
                &s,
                "attach_rate_diff",
                c.attach_rate_diff.map(|i| i.estimate),
                c.attach_rate_diff,
            );
            row(
                "lift",
                &s,
                "attach_rate_relative_lift",
                c.attach_rate_relative_lift,
                c.attach_rate_relative_lift_ci,
            );
            row(
                "lift",
                &s,
                "revenue_per_1000_diff",
                c.revenue_per_1000_diff.map(|i| i.estimate),
                c.revenue_per_1000_diff,
            );
        }
        for c in &self.criteria {
            row("criterion", &c.name, "threshold", Some(c.threshold), None);
            row("criterion", &c.name, "observed", c.observed, c.interval);
        }
        for l in &lines {
            csv::write_row(&mut out, l);
        }
        for c in &self.criteria {
            csv::write_row(
                &mut out,
                &[
                    exp,
                    "criterion",
                    &c.name,
                    "verdict",
                    c.verdict.as_str(),
                    "",
                    "",
                ],
            );
        }
        if let Some(v) = self.verdict {
            csv::write_row(
                &mut out,
                &[exp, "verdict", "experiment", "verdict", v.as_str(), "", ""],
            );
        }
        out
    }

    /// Plain-text table for terminals.
    pub fn to_table(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let f = &self.filter;
        let _ = writeln!(
            s,
            "experiment {}  brand {}  region {}  from {}  to {}",
            f.experiment,
            f.brand.as_deref().unwrap_or("*"),
            f.region.as_deref().unwrap_or("*"),
            f.from_ms.map_or("*".into(), |v| v.to_string()),
            f.to_ms.map_or("*".into(), |v| v.to_string()),
        );
        let opt = |v: Option<f64>, prec: usize| match v {
            Some(x) => format!("{x:.prec$}"),
            None => "-".into(),
        };
        let _ = writeln!(
            s,
            "{:<8} {:>8} {:>8} {:>7} {:>6} {:>8} {:>9} {:>12} {:>10} {:>9} {:>9}",
            "arm",
            "orders",
            "impr",
            "clicks",
            "conv",
            "attach%",
            "conv/imp",
            "revenue",
            "rev/1000",
            "aov",
            "aov+up"
        );
        for a in &self.arms {
            let _ = writeln!(
                s,
                "{:<8} {:>8} {:>8} {:>7} {:>6} {:>8} {:>9} {:>12.2} {:>10} {:>9} {:>9}",
                a.arm.as_str(),
                a.orders,
                a.impressions,
                a.clicks,
                a.conversions,
                opt(a.attach_rate.map(|i| 100.0 * i.estimate), 3),
                opt(a.conversion_per_impression, 4),
                a.upsell_revenue,
                opt(a.revenue_per_1000_orders, 2),
                opt(a.aov_without_upsell, 2),
                opt(a.aov_with_upsell, 2),
            );
        }
        for c in &self.comparisons {
            let ci = |i: Option<Interval>, scale: f64, prec: usize| match i {
                Some(i) => format!(
                    "{:.prec$} [{:.prec$}, {:.prec$}]",
                    scale * i.estimate,
                    scale * i.low,
                    scale * i.high
                ),
                None => "-".into(),
            };
            let _ = writeln!(
                s,
                "{} vs {}: attach rate diff (pp) {}  relative (%) {}  revenue/1000 diff {}",
                c.treatment,
                c.control,
                ci(c.attach_rate_diff, 100.0, 3),
                match c.attach_rate_relative_lift_ci {
                    Some(_) => ci(c.attach_rate_relative_lift_ci, 100.0, 1),
                    None => opt(c.attach_rate_relative_lift.map(|r| 100.0 * r), 1),
                },
                ci(c.revenue_per_1000_diff, 1.0, 2),
            );
        }
        for c in &self.criteria {
            let _ = writeln!(
                s,
                "criterion {:<22} threshold {:>10.4}  observed {:>10}  {}",
                c.name,
                c.threshold,
                opt(c.observed, 4),
                c.verdict.as_str()
            );
        }
        match self.verdict {
            Some(v) => {
                let _ = writeln!(s, "verdict: {}", v.as_str());
            }
            None => {
                let _ = writeln!(s, "verdict: - (no experiment definition given)");
            }
        }
        s
    }
}

const EVENT_COLUMNS: [&str; 10] = [
    "ts",
    "experiment",
    "brand",
    "region",
    "parent_order_id",
    "arm",
    "type",
    "sku",
    "order_value_minor",
    "currency",
];

const LEDGER_COLUMNS: [&str; 15] = [
    "parent_order_id",
    "upsell_order_id",
    "sku",
    "revenue",
    "revenue_minor",
    "currency",
    "arm",
    "experiment",
    "brand",
    "region",
    "model_version",
    "status",
    "served_at",
    "converted_at",
    "updated_at",
];

/// The events export as CSV: `ts,experiment,brand,region,parent_order_id,arm,type,sku,order_value_minor,currency`.
pub fn events_csv(events: &[EventRecord]) -> String {
    let mut out = String::new();
    csv::write_row(&mut out, &EVENT_COLUMNS);
    for e in events {
        csv::write_row(
            &mut out,
            &[
                e.ts.to_string(),
                e.experiment.clone(),
                e.brand.clone(),
                e.region.clone(),
                e.parent_order_id.clone(),
                e.arm.as_str().into(),
                match e.kind {
                    RecordKind::Served => "served",
                    RecordKind::Impression => "impression",
                    RecordKind::Click => "click",
                }
                .into(),
                e.sku.clone().unwrap_or_default(),
                e.order_value_minor
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                e.currency.clone().unwrap_or_default(),
            ],
        );
    }
    out
}

/// The raw conversion ledger as CSV for BI: parent and upsell order ids, SKU, revenue
/// (units and minor units), currency, arm, experiment, scope, status and Unix-ms timestamps.
pub fn ledger_csv(conversions: &[ConversionRecord]) -> String {
    let mut out = String::new();
    csv::write_row(&mut out, &LEDGER_COLUMNS);
    for c in conversions {
        csv::write_row(
            &mut out,
            &[
                c.parent_order_id.clone(),
                c.upsell_order_id.clone(),
                c.sku.clone(),
                format!("{:.2}", units(c.revenue_minor)),
                c.revenue_minor.to_string(),
                c.currency.clone(),
                c.arm.as_str().into(),
                c.experiment.clone(),
                c.brand.clone(),
                c.region.clone(),
                c.model_version.clone(),
                c.status.as_str().into(),
                c.served_at.map(|v| v.to_string()).unwrap_or_default(),
                c.converted_at.to_string(),
                c.updated_at.to_string(),
            ],
        );
    }
    out
}

/// Bad input in an export file: which file, line and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// File name (or other label) given by the caller.
    pub source: String,
    /// 1-based line (0 when the position is unknown, e.g. JSON).
    pub line: usize,
    /// Column / field name ("" for a whole-record problem).
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.source)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if !self.field.is_empty() {
            write!(f, ": field `{}`", self.field)?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for RecordError {}

/// Parses an export: CSV with a header row, a JSON array of records, JSON lines,
/// or `wrangler d1 execute --json` output (`[{"results": [...]}]`).
fn parse_export<T: serde::de::DeserializeOwned>(
    text: &str,
    source: &str,
    required: &[&str],
    from_csv: impl Fn(&Row<'_>) -> Result<T, (String, String)>,
) -> Result<Vec<T>, RecordError> {
    let err = |line: usize, field: &str, reason: String| RecordError {
        source: source.to_string(),
        line,
        field: field.to_string(),
        reason,
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| err(e.line(), "", format!("JSON: {e}")))?;
        let mut items: Vec<serde_json::Value> = match value {
            serde_json::Value::Array(a) => a,
            _ => unreachable!("starts with ["),
        };
        if items.first().is_some_and(|v| v.get("results").is_some()) {
            items = items
                .into_iter()
                .flat_map(|v| match v.get("results") {
                    Some(serde_json::Value::Array(r)) => r.clone(),
                    _ => Vec::new(),
                })
                .collect();
        }
        return items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                serde_json::from_value(v).map_err(|e| err(0, "", format!("record #{}: {e}", i + 1)))
            })
            .collect();
    }
    if trimmed.starts_with('{') {
        return text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| serde_json::from_str(l).map_err(|e| err(i + 1, "", format!("JSON: {e}"))))
            .collect();
    }
    let records = csv::parse(text).map_err(|e| err(e.line, "", e.reason))?;
    let mut it = records.into_iter();
    let (_, header) = it.next().ok_or_else(|| err(1, "", "empty file".into()))?;
    for col in required {
        if !header.iter().any(|h| h.trim() == *col) {
            return Err(err(1, col, "missing column in header".into()));
        }
    }
    let columns: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim(), i))
        .collect();
    let mut out = Vec::new();
    for (line, rec) in it {
        if rec.len() != header.len() {
            return Err(err(
                line,
                "",
                format!("{} fields, header has {}", rec.len(), header.len()),
            ));
        }
        let row = Row {
            columns: &columns,
            rec: &rec,
        };
        out.push(from_csv(&row).map_err(|(field, reason)| err(line, &field, reason))?);
    }
    Ok(out)
}

/// One CSV record looked up by header name.
struct Row<'a> {
    columns: &'a HashMap<&'a str, usize>,
    rec: &'a [String],
}

impl<'a> Row<'a> {
    fn get(&self, name: &str) -> Option<&'a str> {
        self.columns.get(name).map(|&i| self.rec[i].as_str())
    }
}

fn field<'a>(get: &Row<'a>, name: &str) -> Result<&'a str, (String, String)> {
    match get.get(name) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim()),
        _ => Err((name.into(), "missing value".into())),
    }
}

fn opt_field<'a>(get: &Row<'a>, name: &str) -> Option<&'a str> {
    get.get(name).map(str::trim).filter(|v| !v.is_empty())
}

fn parse_num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, (String, String)> {
    v.parse()
        .map_err(|_| (name.to_string(), format!("{v:?} is not a valid number")))
}

fn parse_arm(v: &str) -> Result<Arm, (String, String)> {
    Arm::parse(v).ok_or_else(|| ("arm".into(), format!("{v:?} is not ai|curated|holdout")))
}

/// Parses the events export (CSV or JSON); errors name the file, line and field.
pub fn parse_events(text: &str, source: &str) -> Result<Vec<EventRecord>, RecordError> {
    let required = [
        "ts",
        "experiment",
        "brand",
        "region",
        "parent_order_id",
        "arm",
        "type",
    ];
    parse_export(text, source, &required, |get| {
        let kind = match field(get, "type")? {
            "served" => RecordKind::Served,
            "impression" => RecordKind::Impression,
            "click" => RecordKind::Click,
            other => {
                return Err((
                    "type".into(),
                    format!("{other:?} is not served|impression|click"),
                ))
            }
        };
        Ok(EventRecord {
            ts: parse_num("ts", field(get, "ts")?)?,
            experiment: field(get, "experiment")?.into(),
            brand: field(get, "brand")?.into(),
            region: field(get, "region")?.into(),
            parent_order_id: field(get, "parent_order_id")?.into(),
            arm: parse_arm(field(get, "arm")?)?,
            kind,
            sku: opt_field(get, "sku").map(Into::into),
            order_value_minor: opt_field(get, "order_value_minor")
                .map(|v| parse_num("order_value_minor", v))
                .transpose()?,
            currency: opt_field(get, "currency").map(Into::into),
        })
    })
}

/// Parses the conversion ledger (CSV or JSON); errors name the file, line and field.
pub fn parse_conversions(text: &str, source: &str) -> Result<Vec<ConversionRecord>, RecordError> {
    let required = [
        "parent_order_id",
        "upsell_order_id",
        "sku",
        "revenue_minor",
        "currency",
        "arm",
        "experiment",
        "status",
        "converted_at",
    ];
    parse_export(text, source, &required, |get| {
        let status = match field(get, "status")? {
            "pending" => ConversionStatus::Pending,
            "confirmed" => ConversionStatus::Confirmed,
            "refunded" => ConversionStatus::Refunded,
            other => {
                return Err((
                    "status".into(),
                    format!("{other:?} is not pending|confirmed|refunded"),
                ))
            }
        };
        let converted_at = parse_num("converted_at", field(get, "converted_at")?)?;
        let revenue_minor: i64 = parse_num("revenue_minor", field(get, "revenue_minor")?)?;
        if revenue_minor < 0 {
            return Err(("revenue_minor".into(), "negative".into()));
        }
        Ok(ConversionRecord {
            parent_order_id: field(get, "parent_order_id")?.into(),
            upsell_order_id: field(get, "upsell_order_id")?.into(),
            sku: field(get, "sku")?.into(),
            revenue_minor,
            currency: field(get, "currency")?.into(),
            arm: parse_arm(field(get, "arm")?)?,
            experiment: field(get, "experiment")?.into(),
            brand: opt_field(get, "brand").unwrap_or_default().into(),
            region: opt_field(get, "region").unwrap_or_default().into(),
            model_version: opt_field(get, "model_version").unwrap_or_default().into(),
            status,
            served_at: opt_field(get, "served_at")
                .map(|v| parse_num("served_at", v))
                .transpose()?,
            converted_at,
            updated_at: opt_field(get, "updated_at")
                .map(|v| parse_num("updated_at", v))
                .transpose()?
                .unwrap_or(converted_at),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::{ArmWeights, Experiment, Thresholds};

    const EXP: &str = "exp-fixture";

    /// The fixed dataset that `scripts/report_reference.py` rebuilds in NumPy.
    fn fixture() -> (Vec<EventRecord>, Vec<ConversionRecord>) {
        let mut events = Vec::new();
        let mut conversions = Vec::new();
        let arms: [(Arm, &str, u64, u64); 3] = [
            (Arm::Ai, "A", 2400, 20),
            (Arm::Curated, "C", 2400, 30),
            (Arm::Holdout, "H", 600, 0),
        ];
        for (arm, prefix, n, every) in arms {
            for i in 0..n {
                let order = format!("{prefix}{i}");
                let ev = |kind, ts, sku: Option<&str>, value| EventRecord {
                    ts,
                    experiment: EXP.into(),
                    brand: "acme".into(),
                    region: "GB".into(),
                    parent_order_id: order.clone(),
                    arm,
                    kind,
                    sku: sku.map(Into::into),
                    order_value_minor: value,
                    currency: value.map(|_| "GBP".to_string()),
                };
                events.push(ev(
                    RecordKind::Served,
                    1_000 + i,
                    None,
                    Some(2000 + (i as i64 % 50) * 100),
                ));
                if arm != Arm::Holdout && i % 3 != 0 {
                    events.push(ev(RecordKind::Impression, 2_000 + i, None, None));
                }
                if arm != Arm::Holdout && i % 10 == 0 {
                    events.push(ev(RecordKind::Click, 3_000 + i, Some("S1"), None));
                }
                let line = |sku: &str, rev: i64, status| ConversionRecord {
                    parent_order_id: order.clone(),
                    upsell_order_id: format!("U{order}"),
                    sku: sku.into(),
                    revenue_minor: rev,
                    currency: "GBP".into(),
                    arm,
                    experiment: EXP.into(),
                    brand: "acme".into(),
                    region: "GB".into(),
                    model_version: "v1".into(),
                    status,
                    served_at: Some(1_000 + i),
                    converted_at: 5_000 + i,
                    updated_at: 5_000 + i,
                };
                if every > 0 && i % every == 0 {
                    let rev = match arm {
                        Arm::Ai => 300 + (i as i64 * 7) % 900,
                        _ => 250 + (i as i64 * 11) % 700,
                    };
                    conversions.push(line("S1", rev, ConversionStatus::Confirmed));
                    if arm == Arm::Ai && i % 40 == 0 {
                        conversions.push(line("S2", 450, ConversionStatus::Pending));
                    }
                }
                if arm == Arm::Ai && i == 1 {
                    conversions.push(line("S3", 9_999, ConversionStatus::Refunded));
                }
            }
        }
        // Rows that must not count: another experiment, and a conversion whose parent
        // order was never enrolled.
        let mut other = events[0].clone();
        other.experiment = "exp-other".into();
        other.parent_order_id = "X1".into();
        events.push(other);
        let mut orphan = conversions[0].clone();
        orphan.parent_order_id = "NOT-ENROLLED".into();
        conversions.push(orphan);
        (events, conversions)
    }

    fn experiment(t: Thresholds) -> Experiment {
        Experiment {
            id: EXP.into(),
            brand: "acme".into(),
            region: None,
            salt: "salt".into(),
            start_ms: 0,
            end_ms: None,
            weights: ArmWeights {
                ai: 4,
                curated: 4,
                holdout: 1,
            },
            thresholds: t,
        }
    }

    fn thresholds() -> Thresholds {
        Thresholds {
            min_conversion_lift: 0.2,
            min_attach_rate: 0.04,
            min_revenue_per_1000: 400.0,
            alpha: 0.05,
            min_sample: 2000,
        }
    }

    fn report(t: Thresholds) -> Report {
        let (events, conversions) = fixture();
        let filter = ReportFilter {
            experiment: EXP.into(),
            ..Default::default()
        };
        let totals = totals_from_records(&events, &conversions, &filter).unwrap();
        build_report(&filter, &totals, Some(&experiment(t)))
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    fn assert_interval(got: Option<Interval>, est: f64, low: f64, high: f64) {
        let i = got.expect("interval");
        assert!(
            close(i.estimate, est) && close(i.low, low) && close(i.high, high),
            "{i:?} vs ({est}, {low}, {high})"
        );
    }

    // Expected values: output of `python3 scripts/report_reference.py` (NumPy, SciPy
    // 1.17.1 `ttest_ind(equal_var=False).confidence_interval`, statsmodels
    // `proportion_confint(method="wilson")` and
    // `confint_proportions_2indep(method="newcomb", compare="diff")`).
    #[test]
    fn figures_match_independent_reference() {
        let r = report(thresholds());
        let ai = &r.arms[0];
        assert_eq!(
            (ai.arm, ai.orders, ai.converted_orders, ai.conversions),
            (Arm::Ai, 2400, 120, 180)
        );
        assert_eq!(
            (ai.impressions, ai.viewed_orders, ai.clicks),
            (1600, 1600, 240)
        );
        assert_interval(
            ai.attach_rate,
            0.05,
            0.04197701109646902,
            0.05946123389507915,
        );
        assert!(close(ai.conversion_per_impression.unwrap(), 0.1125));
        assert!(close(ai.upsell_revenue, 1149.0));
        assert!(close(ai.revenue_per_1000_orders.unwrap(), 478.75));
        assert!(close(ai.aov_without_upsell.unwrap(), 44.5));
        assert!(close(ai.aov_with_upsell.unwrap(), 44.97875));

        let cur = &r.arms[1];
        assert_eq!(
            (cur.orders, cur.converted_orders, cur.conversions),
            (2400, 80, 80)
        );
        assert_interval(
            cur.attach_rate,
            1.0 / 30.0,
            0.026864599374723585,
            0.04129358061651155,
        );
        assert!(close(cur.conversion_per_impression.unwrap(), 0.05));
        assert!(close(
            cur.revenue_per_1000_orders.unwrap(),
            199.16666666666666
        ));
        assert!(close(cur.aov_with_upsell.unwrap(), 44.69916666666667));

        let hold = &r.arms[2];
        assert_eq!(
            (hold.orders, hold.converted_orders, hold.impressions),
            (600, 0, 0)
        );
        assert_interval(hold.attach_rate, 0.0, 0.0, 0.006361701013700713);
        assert_eq!(hold.conversion_per_impression, None);
        assert!(close(hold.aov_with_upsell.unwrap(), 44.5));

        let vs_cur = &r.comparisons[0];
        assert_eq!(vs_cur.control, Arm::Curated);
        assert_interval(
            vs_cur.attach_rate_diff,
            0.01666666666666667,
            0.005364724897416247,
            0.028127882389471365,
        );
        assert!(close(vs_cur.attach_rate_relative_lift.unwrap(), 0.5));
        // statsmodels confint_proportions_2indep(120, 2400, 80, 2400, method="log",
        // compare="ratio") = (1.1368762198083882, 1.9791072772893608), minus 1.
        assert_interval(
            vs_cur.attach_rate_relative_lift_ci,
            0.5,
            0.1368762198083882,
            0.9791072772893608,
        );
        assert_interval(
            vs_cur.revenue_per_1000_diff,
            279.5833333333333,
            179.6881479047646,
            379.4785187619021,
        );
        assert!((vs_cur.revenue_welch_df.unwrap() - 3570.49062628643).abs() < 1e-6);

        let vs_hold = &r.comparisons[1];
        assert_interval(
            vs_hold.attach_rate_diff,
            0.05,
            0.03976087939645685,
            0.05946123389507915,
        );
        assert_eq!(vs_hold.attach_rate_relative_lift, None);
        assert_eq!(vs_hold.attach_rate_relative_lift_ci, None);
        assert_interval(
            vs_hold.revenue_per_1000_diff,
            478.75,
            389.7685615482658,
            567.7314384517342,
        );
        assert!((vs_hold.revenue_welch_df.unwrap() - 2399.0).abs() < 1e-9);
    }

    #[test]
    fn verdicts_against_preregistered_thresholds() {
        let r = report(thresholds());
        assert_eq!(r.verdict, Some(Verdict::Met));
        assert!(r.criteria.iter().all(|c| c.verdict == Verdict::Met));

        // alpha = 0.01: the lift criterion uses the 99 % Newcombe interval.
        let strict = report(Thresholds {
            alpha: 0.01,
            ..thresholds()
        });
        let lift = strict
            .criteria
            .iter()
            .find(|c| c.name == "min_conversion_lift")
            .unwrap();
        assert_interval(
            lift.interval,
            0.01666666666666667,
            0.0017638754522592663,
            0.03184097483405207,
        );
        assert_eq!(strict.verdict, Some(Verdict::Met));

        let small = report(Thresholds {
            min_sample: 2401,
            ..thresholds()
        });
        assert_eq!(small.verdict, Some(Verdict::NotEnoughData));
        assert!(small
            .criteria
            .iter()
            .all(|c| c.verdict == Verdict::NotEnoughData));

        let revenue = report(Thresholds {
            min_revenue_per_1000: 500.0,
            ..thresholds()
        });
        assert_eq!(revenue.verdict, Some(Verdict::NotMet));
        let failing: Vec<_> = revenue
            .criteria
            .iter()
            .filter(|c| c.verdict == Verdict::NotMet)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(failing, ["min_revenue_per_1000"]);

        let lift = report(Thresholds {
            min_conversion_lift: 0.6,
            ..thresholds()
        });
        assert_eq!(lift.verdict, Some(Verdict::NotMet));
        let attach = report(Thresholds {
            min_attach_rate: 0.06,
            ..thresholds()
        });
        assert_eq!(attach.verdict, Some(Verdict::NotMet));
    }

    #[test]
    fn filter_by_date_range_and_region() {
        let (events, conversions) = fixture();
        let filter = ReportFilter {
            experiment: EXP.into(),
            from_ms: Some(1_000 + 2_000),
            to_ms: Some(1_000 + 2_400),
            ..Default::default()
        };
        let t = totals_from_records(&events, &conversions, &filter).unwrap();
        assert_eq!(t[&Arm::Ai].orders, 400);
        assert_eq!(t[&Arm::Curated].orders, 400);
        assert!(!t.contains_key(&Arm::Holdout));
        let none = ReportFilter {
            region: Some("FR".into()),
            ..filter
        };
        assert!(totals_from_records(&events, &conversions, &none)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn ledger_filter_keeps_enrolled_orders_of_the_experiment() {
        let (events, conversions) = fixture();
        let filter = ReportFilter {
            experiment: EXP.into(),
            ..Default::default()
        };
        let rows = filter_ledger(&events, &conversions, &filter);
        assert_eq!(rows.len(), conversions.len() - 1);
        assert!(rows.iter().all(|c| c.parent_order_id != "NOT-ENROLLED"));
    }

    #[test]
    fn report_query_and_admin_auth() {
        let (f, fmt) = parse_report_query(
            "brand=acme&region=GB&experiment=exp%2D1&from=2011-11-01&to=1320192000000&format=csv",
        )
        .unwrap();
        assert_eq!(f.experiment, "exp-1");
        assert_eq!(
            (f.brand.as_deref(), f.region.as_deref()),
            (Some("acme"), Some("GB"))
        );
        assert_eq!(
            (f.from_ms, f.to_ms),
            (Some(1_320_105_600_000), Some(1_320_192_000_000))
        );
        assert_eq!(fmt, ReportFormat::Csv);
        assert_eq!(
            parse_report_query("brand=acme").unwrap_err().param,
            "experiment"
        );
        assert_eq!(
            parse_report_query("experiment=e&from=yesterday")
                .unwrap_err()
                .param,
            "from"
        );
        assert_eq!(
            parse_report_query("experiment=e&format=xml")
                .unwrap_err()
                .param,
            "format"
        );
        assert_eq!(parse_time("2024-02-29 12:30"), Some(1_709_209_800_000));
        assert_eq!(parse_time("2024-02-29T25:00"), None);
        assert_eq!(parse_time("99999999999999-01-01"), None);
        assert_eq!(parse_time("99999999999999999999999"), None);
        assert!(authorize_admin(Some("Bearer s3cret"), "s3cret"));
        assert!(!authorize_admin(Some("Bearer s3cre"), "s3cret"));
        assert!(!authorize_admin(Some("s3cret"), "s3cret"));
        assert!(!authorize_admin(None, "s3cret"));
        assert!(!authorize_admin(Some("Bearer "), ""));
    }

    #[test]
    fn arm_totals_rows_accept_float_counts() {
        let rows = vec![serde_json::json!({
            "arm": "ai", "orders": 3.0, "orders_with_value": 2, "primary_revenue_minor": 500,
            "impressions": 2, "viewed_orders": 2, "clicks": 1, "conversions": 1,
            "converted_orders": 1, "upsell_revenue_minor": 250, "upsell_revenue_sq": 62500.0,
            "upsell_revenue_valued_minor": 250
        })];
        let t = arm_totals_from_rows(&rows).unwrap();
        assert_eq!(t[&Arm::Ai].orders, 3);
        let bad = vec![serde_json::json!({"arm": "ai", "orders": 1.5})];
        assert_eq!(arm_totals_from_rows(&bad).unwrap_err().field, "orders");
    }

    #[test]
    fn mixed_currencies_are_refused() {
        let (events, mut conversions) = fixture();
        conversions[0].currency = "EUR".into();
        let filter = ReportFilter {
            experiment: EXP.into(),
            ..Default::default()
        };
        let err = totals_from_records(&events, &conversions, &filter).unwrap_err();
        assert!(err.0.contains("EUR"), "{err}");
    }

    #[test]
    fn exports_round_trip_through_the_parsers() {
        let (events, conversions) = fixture();
        let ev_csv = events_csv(&events);
        assert_eq!(parse_events(&ev_csv, "events.csv").unwrap(), events);
        let ledger = ledger_csv(&conversions);
        assert!(ledger.starts_with("parent_order_id,upsell_order_id,sku,revenue,"));
        assert_eq!(
            parse_conversions(&ledger, "ledger.csv").unwrap(),
            conversions
        );
        let json = serde_json::to_string(&conversions).unwrap();
        assert_eq!(
            parse_conversions(&json, "ledger.json").unwrap(),
            conversions
        );
        let d1 = format!(
            "[{{\"results\": {}, \"success\": true}}]",
            serde_json::to_string(&events).unwrap()
        );
        assert_eq!(parse_events(&d1, "d1.json").unwrap(), events);
    }

    #[test]
    fn parse_errors_name_file_line_and_field() {
        let text = "ts,experiment,brand,region,parent_order_id,arm,type\n\
                    1,e,b,r,o1,ai,served\n\
                    2,e,b,r,o2,robot,served\n";
        let err = parse_events(text, "ev.csv").unwrap_err();
        assert_eq!((err.line, err.field.as_str()), (3, "arm"));
        assert_eq!(
            err.to_string(),
            "ev.csv:3: field `arm`: \"robot\" is not ai|curated|holdout"
        );
        let err = parse_events("ts,experiment\n1,e\n", "ev.csv").unwrap_err();
        assert_eq!((err.line, err.field.as_str()), (1, "brand"));
        let err = parse_events(
            "ts,experiment,brand,region,parent_order_id,arm,type\nx,e,b,r,o,ai,click\n",
            "f",
        )
        .unwrap_err();
        assert_eq!((err.line, err.field.as_str()), (2, "ts"));
    }

    #[test]
    fn report_csv_has_every_figure_and_the_verdict() {
        let r = report(thresholds());
        let csv_text = r.to_csv();
        let rows = crate::csv::parse(&csv_text).unwrap();
        assert_eq!(rows[0].1[0], "experiment");
        assert!(rows.iter().all(|(_, r)| r.len() == 7));
        let find = |section: &str, subject: &str, metric: &str| {
            rows.iter()
                .find(|(_, r)| r[1] == section && r[2] == subject && r[3] == metric)
                .map(|(_, r)| r.clone())
                .unwrap_or_else(|| panic!("{section}/{subject}/{metric}"))
        };
        assert_eq!(find("arm", "ai", "orders")[4], "2400.000000");
        assert_eq!(
            find("lift", "ai_vs_curated", "attach_rate_diff")[5],
            "0.005365"
        );
        assert_eq!(find("verdict", "experiment", "verdict")[4], "met");
        let table = r.to_table();
        assert!(table.contains("verdict: met"), "{table}");
    }
}
