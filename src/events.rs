//! Attribution events: beacons, conversions, OMS webhooks, privacy and rate limits,
//! and the D1 statements that store them.
//!
//! Everything here is plain logic: the worker reads the request, calls these
//! functions with the body, headers and `now_ms`, and runs the returned
//! [`Stmt`]s against D1 inside `ctx.wait_until` (webhooks as one `batch`).
//! Replays are made harmless by the schema: every write is `INSERT OR IGNORE`
//! on a key derived from the token nonce or the webhook idempotency key, so a
//! statement that changed no row *is* the replay signal.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::assign::{hex, Arm};
use crate::token::{hmac_sha256, hmac_sha256_verify, Keyring, OfferToken, TokenError};

/// Largest beacon body accepted (bytes).
pub const MAX_BEACON_BYTES: usize = 4096;
/// Largest webhook body accepted (bytes).
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;
/// Allowed clock difference between the webhook's `t=` and the worker (seconds).
pub const WEBHOOK_TOLERANCE_S: u64 = 300;
/// Days rows are kept before the `PURGE_*` statements delete them.
pub const RETENTION_DAYS: u64 = 400;
/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;

/// What went wrong with an incoming beacon or webhook; maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventError {
    /// Not JSON, wrong shape, unknown type, SKU not offered (400).
    Malformed(String),
    /// Forged or tampered token, wrong or missing webhook signature, stale webhook timestamp (401).
    Unauthorized(String),
    /// Authentic token past its expiry (410).
    Expired(String),
    /// Body over the size limit (413).
    TooLarge {
        /// Bytes received or announced.
        size: u64,
        /// The limit.
        limit: usize,
    },
    /// The same event was already recorded (409).
    Replayed,
    /// Too many events from this client in the current window (429).
    RateLimited {
        /// Seconds until the window resets (`Retry-After`).
        retry_after_s: u64,
    },
    /// The worker is missing a secret (500).
    Misconfigured(String),
}

impl EventError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            EventError::Malformed(_) => 400,
            EventError::Unauthorized(_) => 401,
            EventError::Expired(_) => 410,
            EventError::TooLarge { .. } => 413,
            EventError::Replayed => 409,
            EventError::RateLimited { .. } => 429,
            EventError::Misconfigured(_) => 500,
        }
    }
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventError::Malformed(why) => write!(f, "bad request: {why}"),
            EventError::Unauthorized(why) => write!(f, "unauthorized: {why}"),
            EventError::Expired(why) => write!(f, "expired: {why}"),
            EventError::TooLarge { size, limit } => {
                write!(f, "body of {size} bytes exceeds the {limit}-byte limit")
            }
            EventError::Replayed => f.write_str("event already recorded"),
            EventError::RateLimited { retry_after_s } => {
                write!(f, "rate limited, retry after {retry_after_s} s")
            }
            EventError::Misconfigured(why) => write!(f, "worker misconfigured: {why}"),
        }
    }
}

impl std::error::Error for EventError {}

impl From<TokenError> for EventError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Malformed(_) => EventError::Malformed(e.to_string()),
            TokenError::BadSignature => EventError::Unauthorized(e.to_string()),
            TokenError::Expired { .. } => EventError::Expired(e.to_string()),
            TokenError::NoSecret => EventError::Misconfigured(e.to_string()),
        }
    }
}

/// Rejects a body whose announced (`Content-Length`) or actual size exceeds `limit`.
/// Call it with the header before reading the body, and again with the bytes read.
pub fn check_size(size: u64, limit: usize) -> Result<(), EventError> {
    if size > limit as u64 {
        Err(EventError::TooLarge { size, limit })
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// D1 statements
// ---------------------------------------------------------------------------

/// A value bound to a `?N` placeholder (serialises to the plain JSON value D1 binds).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SqlValue {
    /// SQL NULL.
    Null,
    /// INTEGER.
    Int(i64),
    /// TEXT.
    Text(String),
}

impl From<&str> for SqlValue {
    fn from(s: &str) -> Self {
        SqlValue::Text(s.to_string())
    }
}

impl From<String> for SqlValue {
    fn from(s: String) -> Self {
        SqlValue::Text(s)
    }
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Int(v)
    }
}

impl From<u64> for SqlValue {
    fn from(v: u64) -> Self {
        SqlValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

/// One SQL statement with its bound parameters, ready for `D1Database::prepare(sql).bind(params)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stmt {
    /// SQL with `?1`, `?2`, … placeholders.
    pub sql: &'static str,
    /// Parameter values, `params[0]` binds `?1`.
    pub params: Vec<SqlValue>,
}

#[cfg(target_arch = "wasm32")]
impl Stmt {
    /// Prepares this statement on D1 with its parameters bound (integers travel as JS
    /// numbers, exact up to 2^53, which covers Unix ms and minor-unit amounts).
    pub fn prepare(&self, db: &worker::D1Database) -> worker::Result<worker::D1PreparedStatement> {
        let params: Vec<wasm_bindgen::JsValue> = self
            .params
            .iter()
            .map(|p| match p {
                SqlValue::Null => wasm_bindgen::JsValue::NULL,
                SqlValue::Int(i) => wasm_bindgen::JsValue::from_f64(*i as f64),
                SqlValue::Text(s) => wasm_bindgen::JsValue::from_str(s),
            })
            .collect();
        db.prepare(self.sql).bind(&params)
    }
}

/// Registers an experiment (plain INSERT: a second registration of the id fails, and
/// triggers forbid UPDATE/DELETE). Params: id, brand, region, start_ms, registered_at,
/// definition JSON, fingerprint.
pub const INSERT_EXPERIMENT: &str = "INSERT INTO experiments \
(id, brand, region, start_ms, registered_at, definition, fingerprint) \
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Records an enrolled order (first serve wins on reload). Params: experiment,
/// parent_order_id, brand, region, arm, model_version, skus, nonce, order_value_minor,
/// currency, client_hash, served_at.
pub const INSERT_OFFER: &str = "INSERT OR IGNORE INTO offers \
(experiment, parent_order_id, brand, region, arm, model_version, skus, nonce, \
order_value_minor, currency, client_hash, served_at) \
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

/// Records an impression or click; ignored (0 changes) when the event id exists.
/// Params: event_id, experiment, brand, region, parent_order_id, arm, type, sku,
/// model_version, client_hash, ts.
pub const INSERT_EVENT: &str = "INSERT OR IGNORE INTO events \
(event_id, experiment, brand, region, parent_order_id, arm, type, sku, model_version, \
client_hash, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/// Records a pending conversion; a reload of the upsell confirmation page is ignored.
/// Params: upsell_order_id, sku, parent_order_id, experiment, brand, region, arm,
/// model_version, revenue_minor, currency, converted_at.
pub const INSERT_CONVERSION: &str = "INSERT OR IGNORE INTO conversions \
(upsell_order_id, sku, parent_order_id, experiment, brand, region, arm, model_version, \
revenue_minor, currency, status, converted_at, updated_at) \
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'pending', ?11, ?11)";

/// Webhook `confirmed` / `corrected`: sets status and (if given) revenue of one SKU line
/// (`?3` NULL = every line of the order), unless refunded or this delivery was applied.
/// Params: upsell_order_id, revenue_minor or NULL, sku or NULL, updated_at, idempotency_key.
pub const WEBHOOK_CONFIRM: &str = "UPDATE conversions SET status = 'confirmed', \
revenue_minor = COALESCE(?2, revenue_minor), updated_at = ?4 \
WHERE upsell_order_id = ?1 AND (?3 IS NULL OR sku = ?3) AND status <> 'refunded' \
AND NOT EXISTS (SELECT 1 FROM webhook_receipts WHERE idempotency_key = ?5)";

/// Webhook `refunded`: marks one SKU line (`?2` NULL = the whole order) refunded,
/// unless this delivery was applied. Params: upsell_order_id, sku or NULL, updated_at,
/// idempotency_key.
pub const WEBHOOK_REFUND: &str = "UPDATE conversions SET status = 'refunded', updated_at = ?3 \
WHERE upsell_order_id = ?1 AND (?2 IS NULL OR sku = ?2) \
AND NOT EXISTS (SELECT 1 FROM webhook_receipts WHERE idempotency_key = ?4)";

/// Stores the webhook receipt; runs last in the batch, so 0 changes means a replay.
/// Params: idempotency_key, order_id, type, body_sha256, received_at.
pub const INSERT_WEBHOOK_RECEIPT: &str = "INSERT OR IGNORE INTO webhook_receipts \
(idempotency_key, order_id, type, body_sha256, received_at) VALUES (?1, ?2, ?3, ?4, ?5)";

/// Per-arm totals for the report, computed in D1 (same figures as
/// [`crate::report::totals_from_records`]). Params: experiment, brand or NULL,
/// region or NULL, from_ms or NULL, to_ms or NULL (exclusive). Columns match
/// [`crate::stats::ArmTotals`] field names, plus `arm`.
pub const SELECT_ARM_TOTALS: &str = "WITH o AS ( \
SELECT parent_order_id, arm, order_value_minor FROM offers \
WHERE experiment = ?1 AND (?2 IS NULL OR brand = ?2) AND (?3 IS NULL OR region = ?3) \
AND (?4 IS NULL OR served_at >= ?4) AND (?5 IS NULL OR served_at < ?5)), \
c AS (SELECT parent_order_id, COUNT(*) AS n, SUM(revenue_minor) AS rev FROM conversions \
WHERE experiment = ?1 AND status <> 'refunded' GROUP BY parent_order_id), \
e AS (SELECT parent_order_id, SUM(type = 'impression') AS imp, SUM(type = 'click') AS clk \
FROM events WHERE experiment = ?1 GROUP BY parent_order_id) \
SELECT o.arm AS arm, COUNT(*) AS orders, \
COUNT(o.order_value_minor) AS orders_with_value, \
COALESCE(SUM(o.order_value_minor), 0) AS primary_revenue_minor, \
COALESCE(SUM(e.imp), 0) AS impressions, \
COALESCE(SUM(e.imp > 0), 0) AS viewed_orders, \
COALESCE(SUM(e.clk), 0) AS clicks, \
COALESCE(SUM(c.n), 0) AS conversions, \
COUNT(c.n) AS converted_orders, \
COALESCE(SUM(c.rev), 0) AS upsell_revenue_minor, \
TOTAL(c.rev * 1.0 * c.rev) AS upsell_revenue_sq, \
COALESCE(SUM(CASE WHEN o.order_value_minor IS NOT NULL THEN c.rev END), 0) \
AS upsell_revenue_valued_minor \
FROM o LEFT JOIN c ON c.parent_order_id = o.parent_order_id \
LEFT JOIN e ON e.parent_order_id = o.parent_order_id \
GROUP BY o.arm ORDER BY o.arm";

/// Export of served offers, impressions and clicks for the CLI (`--events`), one
/// [`crate::report::EventRecord`] per row. Params as [`SELECT_ARM_TOTALS`].
pub const SELECT_EVENT_EXPORT: &str = "SELECT served_at AS ts, experiment, brand, region, \
parent_order_id, arm, 'served' AS type, NULL AS sku, order_value_minor, currency \
FROM offers WHERE experiment = ?1 AND (?2 IS NULL OR brand = ?2) \
AND (?3 IS NULL OR region = ?3) AND (?4 IS NULL OR served_at >= ?4) \
AND (?5 IS NULL OR served_at < ?5) \
UNION ALL SELECT e.ts, e.experiment, e.brand, e.region, e.parent_order_id, e.arm, e.type, \
e.sku, NULL, NULL FROM events e JOIN offers o \
ON o.experiment = e.experiment AND o.parent_order_id = e.parent_order_id \
WHERE e.experiment = ?1 AND (?2 IS NULL OR o.brand = ?2) AND (?3 IS NULL OR o.region = ?3) \
AND (?4 IS NULL OR o.served_at >= ?4) AND (?5 IS NULL OR o.served_at < ?5) \
ORDER BY ts";

/// The conversion ledger for BI and the CLI (`--conversions`), one
/// [`crate::report::ConversionRecord`] per row. Params as [`SELECT_ARM_TOTALS`].
pub const SELECT_CONVERSION_LEDGER: &str = "SELECT c.parent_order_id, c.upsell_order_id, c.sku, \
c.revenue_minor, c.currency, c.arm, c.experiment, c.brand, c.region, c.model_version, \
c.status, o.served_at, c.converted_at, c.updated_at \
FROM conversions c JOIN offers o \
ON o.experiment = c.experiment AND o.parent_order_id = c.parent_order_id \
WHERE c.experiment = ?1 AND (?2 IS NULL OR o.brand = ?2) AND (?3 IS NULL OR o.region = ?3) \
AND (?4 IS NULL OR o.served_at >= ?4) AND (?5 IS NULL OR o.served_at < ?5) \
ORDER BY c.converted_at, c.upsell_order_id, c.sku";

/// Retention: deletes events older than `?1` (Unix ms).
pub const PURGE_EVENTS: &str = "DELETE FROM events WHERE ts < ?1";
/// Retention: deletes enrolled-order rows older than `?1` (Unix ms).
pub const PURGE_OFFERS: &str = "DELETE FROM offers WHERE served_at < ?1";
/// Retention: deletes conversions older than `?1` (Unix ms).
pub const PURGE_CONVERSIONS: &str = "DELETE FROM conversions WHERE converted_at < ?1";
/// Retention: deletes webhook receipts older than `?1` (Unix ms).
pub const PURGE_WEBHOOK_RECEIPTS: &str = "DELETE FROM webhook_receipts WHERE received_at < ?1";

/// The retention statements to run (e.g. from a daily cron trigger) at `now_ms`.
pub fn purge_statements(now_ms: u64) -> Vec<Stmt> {
    let cutoff = SqlValue::from(now_ms.saturating_sub(RETENTION_DAYS * DAY_MS));
    [
        PURGE_EVENTS,
        PURGE_OFFERS,
        PURGE_CONVERSIONS,
        PURGE_WEBHOOK_RECEIPTS,
    ]
    .into_iter()
    .map(|sql| Stmt {
        sql,
        params: vec![cutoff.clone()],
    })
    .collect()
}

/// A `?1..?5` parameter list for the report / export queries.
pub fn report_params(
    experiment: &str,
    brand: Option<&str>,
    region: Option<&str>,
    from_ms: Option<u64>,
    to_ms: Option<u64>,
) -> Vec<SqlValue> {
    vec![
        experiment.into(),
        brand.into(),
        region.into(),
        from_ms.into(),
        to_ms.into(),
    ]
}

/// The statement registering `experiment` at `now_ms`, after checking it has not started.
pub fn register_experiment(
    experiment: &crate::assign::Experiment,
    now_ms: u64,
) -> Result<Stmt, crate::assign::InvalidExperiment> {
    experiment.validate_registration(now_ms)?;
    let definition = serde_json::to_string(experiment).expect("experiment serialises");
    Ok(Stmt {
        sql: INSERT_EXPERIMENT,
        params: vec![
            experiment.id.clone().into(),
            experiment.brand.clone().into(),
            experiment.region.clone().into(),
            experiment.start_ms.into(),
            now_ms.into(),
            definition.into(),
            experiment.fingerprint().into(),
        ],
    })
}

// ---------------------------------------------------------------------------
// Offers served
// ---------------------------------------------------------------------------

/// One enrolled order: the block served, or the holdout decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedOffer {
    /// Experiment id.
    pub experiment: String,
    /// The order whose confirmation page was shown.
    pub parent_order_id: String,
    /// Brand.
    pub brand: String,
    /// Region.
    pub region: String,
    /// Assigned arm.
    pub arm: Arm,
    /// Table or curation version ("" for holdout).
    pub model_version: String,
    /// Offered SKUs (empty for holdout).
    pub skus: Vec<String>,
    /// Token nonce of the block (None for holdout).
    pub nonce: Option<String>,
    /// The parent order's value in minor units, when the page exposed it.
    pub order_value_minor: Option<i64>,
    /// ISO currency of `order_value_minor`.
    pub currency: Option<String>,
    /// Salted client hash, None under GPC / refused consent.
    pub client_hash: Option<String>,
    /// When it was served, Unix ms.
    pub served_at: u64,
}

impl ServedOffer {
    /// The row for a block that was injected with `token`.
    pub fn from_token(
        token: &OfferToken,
        order_value_minor: Option<i64>,
        currency: Option<String>,
        client_hash: Option<String>,
        served_at: u64,
    ) -> ServedOffer {
        ServedOffer {
            experiment: token.experiment.clone(),
            parent_order_id: token.parent_order_id.clone(),
            brand: token.brand.clone(),
            region: token.region.clone(),
            arm: token.arm,
            model_version: token.model_version.clone(),
            skus: token.skus.clone(),
            nonce: Some(token.nonce.clone()),
            order_value_minor,
            currency,
            client_hash,
            served_at,
        }
    }

    /// The row for an order of `arm` that got no block (no candidates, time budget
    /// exceeded, render failed). Enrol it anyway: the report is intention-to-treat, and
    /// dropping such orders would shrink one arm's denominator and bias its attach rate.
    #[allow(clippy::too_many_arguments)]
    pub fn without_block(
        experiment: &str,
        arm: Arm,
        brand: &str,
        region: &str,
        parent_order_id: &str,
        order_value_minor: Option<i64>,
        currency: Option<String>,
        client_hash: Option<String>,
        served_at: u64,
    ) -> ServedOffer {
        ServedOffer {
            arm,
            ..ServedOffer::holdout(
                experiment,
                brand,
                region,
                parent_order_id,
                order_value_minor,
                currency,
                client_hash,
                served_at,
            )
        }
    }

    /// The row for a holdout order (no block, no token): recorded so arm sizes are known.
    #[allow(clippy::too_many_arguments)]
    pub fn holdout(
        experiment: &str,
        brand: &str,
        region: &str,
        parent_order_id: &str,
        order_value_minor: Option<i64>,
        currency: Option<String>,
        client_hash: Option<String>,
        served_at: u64,
    ) -> ServedOffer {
        ServedOffer {
            experiment: experiment.into(),
            parent_order_id: parent_order_id.into(),
            brand: brand.into(),
            region: region.into(),
            arm: Arm::Holdout,
            model_version: String::new(),
            skus: Vec::new(),
            nonce: None,
            order_value_minor,
            currency,
            client_hash,
            served_at,
        }
    }

    /// The INSERT OR IGNORE statement for this row.
    pub fn insert(&self) -> Stmt {
        Stmt {
            sql: INSERT_OFFER,
            params: vec![
                self.experiment.clone().into(),
                self.parent_order_id.clone().into(),
                self.brand.clone().into(),
                self.region.clone().into(),
                self.arm.as_str().into(),
                self.model_version.clone().into(),
                self.skus.join(" ").into(),
                self.nonce.clone().into(),
                self.order_value_minor.into(),
                self.currency.clone().into(),
                self.client_hash.clone().into(),
                self.served_at.into(),
            ],
        }
    }
}

// ---------------------------------------------------------------------------
// Beacons
// ---------------------------------------------------------------------------

/// Kind of beacon event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The block was actually in view.
    Impression,
    /// An offer was clicked.
    Click,
}

impl EventKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Impression => "impression",
            EventKind::Click => "click",
        }
    }
}

/// The JSON body of `POST /__upsell/events`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beacon {
    /// `impression` or `click`.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The block's signed offer token.
    pub token: String,
    /// The SKU concerned (required for clicks).
    #[serde(default)]
    pub sku: Option<String>,
}

/// Parses a beacon body (size-checked first).
pub fn parse_beacon(body: &[u8]) -> Result<Beacon, EventError> {
    check_size(body.len() as u64, MAX_BEACON_BYTES)?;
    let beacon: Beacon = serde_json::from_slice(body)
        .map_err(|e| EventError::Malformed(format!("beacon JSON: {e}")))?;
    if beacon.kind == EventKind::Click && beacon.sku.as_deref().is_none_or(str::is_empty) {
        return Err(EventError::Malformed(
            "beacon field `sku`: required for click".into(),
        ));
    }
    Ok(beacon)
}

/// A beacon whose token verified: what the worker stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvent {
    /// Replay key: hex SHA-256 of nonce, type and SKU.
    pub event_id: String,
    /// Impression or click.
    pub kind: EventKind,
    /// SKU (checked to be one the token offered).
    pub sku: Option<String>,
    /// The verified token claims.
    pub claims: OfferToken,
    /// Salted client hash, None under GPC / refused consent.
    pub client_hash: Option<String>,
    /// Receipt time, Unix ms.
    pub ts: u64,
}

impl VerifiedEvent {
    /// The INSERT OR IGNORE statement; 0 changes means [`EventError::Replayed`].
    pub fn insert(&self) -> Stmt {
        let c = &self.claims;
        Stmt {
            sql: INSERT_EVENT,
            params: vec![
                self.event_id.clone().into(),
                c.experiment.clone().into(),
                c.brand.clone().into(),
                c.region.clone().into(),
                c.parent_order_id.clone().into(),
                c.arm.as_str().into(),
                self.kind.as_str().into(),
                self.sku.clone().into(),
                c.model_version.clone().into(),
                self.client_hash.clone().into(),
                self.ts.into(),
            ],
        }
    }
}

/// The replay key of an event: hex SHA-256(nonce ‖ 0 ‖ type ‖ 0 ‖ sku).
pub fn event_id(nonce: &str, kind: EventKind, sku: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(nonce.as_bytes());
    h.update([0]);
    h.update(kind.as_str().as_bytes());
    h.update([0]);
    h.update(sku.unwrap_or("").as_bytes());
    hex(&h.finalize())
}

/// Parses and verifies a beacon body: size, JSON shape, token signature and expiry,
/// SKU among the offered ones. `client_hash` is what [`client_hash`] returned
/// (None under GPC / refused consent).
pub fn verify_beacon(
    body: &[u8],
    keys: &Keyring,
    client_hash: Option<String>,
    now_ms: u64,
) -> Result<VerifiedEvent, EventError> {
    let beacon = parse_beacon(body)?;
    let claims = keys.verify(&beacon.token, now_ms)?;
    if let Some(sku) = &beacon.sku {
        if !claims.skus.iter().any(|s| s == sku) {
            return Err(EventError::Malformed(format!(
                "beacon field `sku`: {sku:?} was not offered in this block"
            )));
        }
    }
    Ok(VerifiedEvent {
        event_id: event_id(&claims.nonce, beacon.kind, beacon.sku.as_deref()),
        kind: beacon.kind,
        sku: beacon.sku,
        claims,
        client_hash,
        ts: now_ms,
    })
}

// ---------------------------------------------------------------------------
// Conversions from the upsell order's confirmation page
// ---------------------------------------------------------------------------

/// One line of the upsell order as read from its confirmation page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageOrderLine {
    /// SKU bought.
    pub sku: String,
    /// Line revenue (price × quantity) in minor units.
    pub revenue_minor: i64,
}

/// Converts a decimal amount from page data ("12.5", "1,234.56", 12.5) to minor units.
pub fn money_to_minor(amount: &str) -> Option<i64> {
    let s: String = amount
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '_')
        .collect();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.as_str()),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut cents: i64 = 0;
    for (i, d) in frac.bytes().take(2).enumerate() {
        cents += i64::from(d - b'0') * if i == 0 { 10 } else { 1 };
    }
    // Round half up on the third decimal.
    if frac.len() > 2 && frac.as_bytes()[2] >= b'5' {
        cents += 1;
    }
    let v = whole.checked_mul(100)?.checked_add(cents)?;
    Some(if neg { -v } else { v })
}

/// The pending-conversion rows for an upsell order: one per offered SKU it contains.
///
/// Refuses (Malformed) when the "new" order is the parent itself (the token cookie is
/// still set when the parent's page reloads) or a line has negative revenue. Returns an
/// empty list when no offered SKU was bought.
pub fn conversions_from_page(
    token: &OfferToken,
    upsell_order_id: &str,
    lines: &[PageOrderLine],
    currency: &str,
    now_ms: u64,
) -> Result<Vec<Stmt>, EventError> {
    let upsell_order_id = upsell_order_id.trim();
    if upsell_order_id.is_empty() {
        return Err(EventError::Malformed("order id: empty".into()));
    }
    if upsell_order_id == token.parent_order_id {
        return Err(EventError::Malformed(format!(
            "order {upsell_order_id} is the parent order, not an upsell"
        )));
    }
    let mut by_sku: Vec<(&str, i64)> = Vec::new();
    for line in lines {
        if line.revenue_minor < 0 {
            return Err(EventError::Malformed(format!(
                "order line `{}`: negative revenue {}",
                line.sku, line.revenue_minor
            )));
        }
        if !token.skus.contains(&line.sku) {
            continue;
        }
        match by_sku.iter_mut().find(|(s, _)| *s == line.sku) {
            Some((_, rev)) => *rev += line.revenue_minor,
            None => by_sku.push((&line.sku, line.revenue_minor)),
        }
    }
    Ok(by_sku
        .into_iter()
        .map(|(sku, rev)| Stmt {
            sql: INSERT_CONVERSION,
            params: vec![
                upsell_order_id.into(),
                sku.into(),
                token.parent_order_id.clone().into(),
                token.experiment.clone().into(),
                token.brand.clone().into(),
                token.region.clone().into(),
                token.arm.as_str().into(),
                token.model_version.clone().into(),
                rev.into(),
                currency.into(),
                now_ms.into(),
            ],
        })
        .collect())
}

// ---------------------------------------------------------------------------
// OMS webhook
// ---------------------------------------------------------------------------

/// What the OMS says happened to an upsell order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookKind {
    /// The order is real (optionally with final line revenues).
    Confirmed,
    /// Line revenues changed (partial refund, price fix); lines required.
    Corrected,
    /// The order (or the listed lines) was refunded / cancelled.
    Refunded,
}

impl WebhookKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookKind::Confirmed => "confirmed",
            WebhookKind::Corrected => "corrected",
            WebhookKind::Refunded => "refunded",
        }
    }
}

/// One line of a webhook body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookLine {
    /// SKU.
    pub sku: String,
    /// Final line revenue in minor units (ignored for refunds).
    #[serde(default)]
    pub revenue_minor: Option<i64>,
}

/// The JSON body of `POST /__upsell/webhooks/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEvent {
    /// Idempotency key of the delivery (the OMS's event id).
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: WebhookKind,
    /// The upsell order id.
    pub order_id: String,
    /// Lines concerned; empty means the whole order.
    #[serde(default)]
    pub lines: Vec<WebhookLine>,
}

/// A webhook that verified, plus the digest stored with its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedWebhook {
    /// The parsed body.
    pub event: WebhookEvent,
    /// Hex SHA-256 of the raw body.
    pub body_sha256: String,
}

/// Computes the `X-Upsell-Signature` value for `body` at Unix second `t` (for the OMS side and tests).
pub fn webhook_signature(secret: &[u8], t: u64, body: &[u8]) -> String {
    let t = t.to_string();
    let tag = hmac_sha256(secret, &[t.as_bytes(), b".", body]);
    format!("t={t},v1={}", hex(&tag))
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() & 1 == 1 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Verifies `X-Upsell-Signature: t=<unix s>,v1=<hex>` (several `v1` allowed during
/// rotation) over `t + "." + body` with any of `secrets`, checks `t` is within
/// `tolerance_s` of `now_ms`, then parses the body. The signature is checked before
/// the JSON is parsed.
pub fn verify_webhook<S: AsRef<[u8]>>(
    signature_header: Option<&str>,
    body: &[u8],
    secrets: &[S],
    now_ms: u64,
    tolerance_s: u64,
) -> Result<VerifiedWebhook, EventError> {
    check_size(body.len() as u64, MAX_WEBHOOK_BYTES)?;
    if secrets.is_empty() {
        return Err(EventError::Misconfigured("no webhook secret".into()));
    }
    let header = signature_header
        .ok_or_else(|| EventError::Unauthorized("missing X-Upsell-Signature".into()))?;
    let mut t: Option<&str> = None;
    let mut sigs: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or_else(|| {
            EventError::Unauthorized(format!("X-Upsell-Signature: bad element {part:?}"))
        })?;
        match k {
            "t" => t = Some(v),
            "v1" => sigs.push(unhex(v).ok_or_else(|| {
                EventError::Unauthorized("X-Upsell-Signature: v1 is not hex".into())
            })?),
            _ => {}
        }
    }
    let t_str = t.ok_or_else(|| EventError::Unauthorized("X-Upsell-Signature: no t=".into()))?;
    let t_s: u64 = t_str
        .parse()
        .map_err(|_| EventError::Unauthorized("X-Upsell-Signature: t is not a number".into()))?;
    if sigs.is_empty() {
        return Err(EventError::Unauthorized(
            "X-Upsell-Signature: no v1=".into(),
        ));
    }
    let authentic = sigs.iter().any(|sig| {
        secrets
            .iter()
            .any(|s| hmac_sha256_verify(s.as_ref(), &[t_str.as_bytes(), b".", body], sig))
    });
    if !authentic {
        return Err(EventError::Unauthorized(
            "webhook signature does not verify".into(),
        ));
    }
    let now_s = now_ms / 1000;
    if now_s.abs_diff(t_s) > tolerance_s {
        return Err(EventError::Unauthorized(format!(
            "webhook timestamp {t_s} is outside ±{tolerance_s} s of {now_s}"
        )));
    }
    let event: WebhookEvent = serde_json::from_slice(body)
        .map_err(|e| EventError::Malformed(format!("webhook JSON: {e}")))?;
    if event.id.trim().is_empty() {
        return Err(EventError::Malformed("webhook field `id`: empty".into()));
    }
    if event.order_id.trim().is_empty() {
        return Err(EventError::Malformed(
            "webhook field `order_id`: empty".into(),
        ));
    }
    for (i, line) in event.lines.iter().enumerate() {
        if line.revenue_minor.is_some_and(|r| r < 0) {
            return Err(EventError::Malformed(format!(
                "webhook field `lines[{i}].revenue_minor`: negative"
            )));
        }
        if event.kind == WebhookKind::Corrected && line.revenue_minor.is_none() {
            return Err(EventError::Malformed(format!(
                "webhook field `lines[{i}].revenue_minor`: required for corrected"
            )));
        }
    }
    if event.kind == WebhookKind::Corrected && event.lines.is_empty() {
        return Err(EventError::Malformed(
            "webhook field `lines`: required for corrected".into(),
        ));
    }
    Ok(VerifiedWebhook {
        event,
        body_sha256: hex(&Sha256::digest(body)),
    })
}

impl VerifiedWebhook {
    /// The statements to run as one D1 `batch` (a transaction), in order. Each update
    /// is guarded by "this idempotency key has no receipt yet" and the receipt insert
    /// comes last, so a replay changes nothing and its last statement reports 0 changes.
    pub fn statements(&self, now_ms: u64) -> Vec<Stmt> {
        let e = &self.event;
        let key = SqlValue::from(e.id.as_str());
        let order = SqlValue::from(e.order_id.as_str());
        let now = SqlValue::from(now_ms);
        let mut out = Vec::new();
        let lines: Vec<Option<&WebhookLine>> = if e.lines.is_empty() {
            vec![None]
        } else {
            e.lines.iter().map(Some).collect()
        };
        for line in lines {
            let sku = SqlValue::from(line.map(|l| l.sku.as_str()));
            out.push(match e.kind {
                WebhookKind::Confirmed | WebhookKind::Corrected => Stmt {
                    sql: WEBHOOK_CONFIRM,
                    params: vec![
                        order.clone(),
                        line.and_then(|l| l.revenue_minor).into(),
                        sku,
                        now.clone(),
                        key.clone(),
                    ],
                },
                WebhookKind::Refunded => Stmt {
                    sql: WEBHOOK_REFUND,
                    params: vec![order.clone(), sku, now.clone(), key.clone()],
                },
            });
        }
        out.push(Stmt {
            sql: INSERT_WEBHOOK_RECEIPT,
            params: vec![
                key,
                order,
                e.kind.as_str().into(),
                self.body_sha256.clone().into(),
                now,
            ],
        });
        out
    }
}

/// Whether a webhook batch was a replay, given the rows changed by each statement of
/// [`VerifiedWebhook::statements`] in order: only the receipt insert (the *last*
/// statement) tells; the updates before it legitimately change 0 rows when the
/// upsell order is unknown or already in that state.
pub fn webhook_replayed(changes_per_statement: &[u64]) -> bool {
    changes_per_statement.last().copied().unwrap_or(0) == 0
}

// ---------------------------------------------------------------------------
// Privacy and rate limiting
// ---------------------------------------------------------------------------

/// How much the worker may store about the client for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracking {
    /// A salted, daily-rotating client hash may be stored with events.
    Full,
    /// `Sec-GPC: 1` or consent refused: only what attribution needs, no client id.
    Minimal,
}

/// The brand's consent cookie: its name and the values that mean "no".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentCookie {
    /// Cookie name.
    pub name: String,
    /// Values meaning consent refused (compared case-insensitively).
    pub deny_values: Vec<String>,
}

/// Decides [`Tracking`] from the `Sec-GPC` header and the `Cookie` header.
pub fn tracking_mode(
    sec_gpc: Option<&str>,
    cookie_header: Option<&str>,
    consent: Option<&ConsentCookie>,
) -> Tracking {
    if sec_gpc.is_some_and(|v| v.trim() == "1") {
        return Tracking::Minimal;
    }
    if let (Some(cookies), Some(consent)) = (cookie_header, consent) {
        if let Some(value) = cookie_value(cookies, &consent.name) {
            if consent
                .deny_values
                .iter()
                .any(|d| d.eq_ignore_ascii_case(value.trim()))
            {
                return Tracking::Minimal;
            }
        }
    }
    Tracking::Full
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k.trim() == name).then_some(v.trim().trim_matches('"'))
    })
}

/// Salted, daily-rotating hash of a raw client identifier (e.g. IP + User-Agent):
/// HMAC-SHA256(secret, day ‖ 0 ‖ client), first 16 bytes hex. The same client gets a
/// different hash each UTC day, so hashes cannot be joined across days.
pub fn client_hash(raw_client: &str, secret: &[u8], now_ms: u64) -> String {
    let day = (now_ms / DAY_MS).to_string();
    let tag = hmac_sha256(secret, &[day.as_bytes(), &[0], raw_client.as_bytes()]);
    hex(&tag[..16])
}

/// The client hash to store: None under [`Tracking::Minimal`].
pub fn stored_client_hash(
    mode: Tracking,
    raw_client: &str,
    secret: &[u8],
    now_ms: u64,
) -> Option<String> {
    match mode {
        Tracking::Full => Some(client_hash(raw_client, secret, now_ms)),
        Tracking::Minimal => None,
    }
}

/// Fixed-window rate limit on events per client. The caller keeps the counter
/// (isolate memory or D1) under [`RateLimiter::counter_key`] and passes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimiter {
    /// Events allowed per client per window.
    pub max_events: u32,
    /// Window length in ms.
    pub window_ms: u64,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            max_events: 120,
            window_ms: 60_000,
        }
    }
}

impl RateLimiter {
    /// Start of the window containing `now_ms`.
    pub fn window_start(&self, now_ms: u64) -> u64 {
        let w = self.window_ms.max(1);
        now_ms - now_ms % w
    }

    /// Counter key for a client in the current window (the client key is a hash, so
    /// it can be kept even under GPC in isolate memory; it is never written to D1 then).
    pub fn counter_key(&self, client_key: &str, now_ms: u64) -> String {
        format!("rl:{}:{client_key}", self.window_start(now_ms))
    }

    /// Whether one more event is allowed when `seen` events were already counted in
    /// this window; `Err(RateLimited)` with the seconds until the window ends otherwise.
    pub fn check(&self, seen: u32, now_ms: u64) -> Result<(), EventError> {
        if seen < self.max_events {
            return Ok(());
        }
        let end = self.window_start(now_ms) + self.window_ms.max(1);
        Err(EventError::RateLimited {
            retry_after_s: (end - now_ms).div_ceil(1000).max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "k1-0123456789abcdef";

    fn keys() -> Keyring {
        Keyring::from_env(SECRET).unwrap()
    }

    fn claims() -> OfferToken {
        OfferToken {
            brand: "acme".into(),
            region: "GB".into(),
            parent_order_id: "536365".into(),
            arm: Arm::Ai,
            experiment: "exp-1".into(),
            model_version: "v7".into(),
            skus: vec!["22423".into(), "85123A".into()],
            issued_at: 1_000,
            expires_at: 1_000_000,
            nonce: "n0nce".into(),
        }
    }

    fn body(kind: &str, token: &str, sku: Option<&str>) -> Vec<u8> {
        let mut v = serde_json::json!({"type": kind, "token": token});
        if let Some(s) = sku {
            v["sku"] = s.into();
        }
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn beacon_statuses() {
        let good = keys().sign(&claims());
        let ok = verify_beacon(&body("click", &good, Some("22423")), &keys(), None, 2_000).unwrap();
        assert_eq!(ok.kind, EventKind::Click);
        assert_eq!(
            ok.event_id,
            event_id("n0nce", EventKind::Click, Some("22423"))
        );

        let forged = crate::token::sign(&claims(), b"not-the-secret-000");
        let cases: Vec<(Vec<u8>, u64, u16)> = vec![
            (body("click", &forged, Some("22423")), 2_000, 401),
            (body("click", &good, Some("22423")), 1_000_000, 410),
            (b"{not json".to_vec(), 2_000, 400),
            (body("hover", &good, None), 2_000, 400),
            (body("click", &good, None), 2_000, 400),
            (body("click", &good, Some("99999")), 2_000, 400),
            (vec![b' '; MAX_BEACON_BYTES + 1], 2_000, 413),
        ];
        for (b, now, status) in cases {
            let err = verify_beacon(&b, &keys(), None, now).unwrap_err();
            assert_eq!(err.status(), status, "{err}");
        }
    }

    #[test]
    fn orders_without_a_block_are_still_enrolled_in_their_arm() {
        let row = ServedOffer::without_block("e", Arm::Ai, "b", "GB", "P1", None, None, None, 7);
        assert_eq!(
            (row.arm, row.nonce.as_deref(), row.skus.len()),
            (Arm::Ai, None, 0)
        );
        assert_eq!(row.insert().params[4], SqlValue::Text("ai".into()));
    }

    #[test]
    fn event_ids_differ_by_nonce_type_and_sku() {
        let a = event_id("n1", EventKind::Click, Some("1"));
        assert_eq!(a, event_id("n1", EventKind::Click, Some("1")));
        assert_ne!(a, event_id("n2", EventKind::Click, Some("1")));
        assert_ne!(a, event_id("n1", EventKind::Impression, Some("1")));
        assert_ne!(a, event_id("n1", EventKind::Click, Some("2")));
    }

    #[test]
    fn webhook_signature_checks() {
        let secret = b"whsec-0123456789abcdef";
        let body = br#"{"id":"evt_1","type":"refunded","order_id":"U1"}"#;
        let now_ms = 1_700_000_000_000;
        let sig = webhook_signature(secret, 1_700_000_000, body);
        let ok = verify_webhook(Some(&sig), body, &[secret], now_ms, WEBHOOK_TOLERANCE_S).unwrap();
        assert_eq!(ok.event.kind, WebhookKind::Refunded);

        let status = |h: Option<&str>, b: &[u8], now: u64| {
            verify_webhook(h, b, &[secret], now, WEBHOOK_TOLERANCE_S)
                .unwrap_err()
                .status()
        };
        assert_eq!(status(None, body, now_ms), 401);
        let wrong = webhook_signature(b"other-secret-0000000", 1_700_000_000, body);
        assert_eq!(status(Some(&wrong), body, now_ms), 401);
        // Tampered body under a valid signature.
        let tampered = br#"{"id":"evt_1","type":"confirmed","order_id":"U1"}"#;
        assert_eq!(status(Some(&sig), tampered, now_ms), 401);
        // Stale timestamp (10 minutes later).
        assert_eq!(status(Some(&sig), body, now_ms + 600_000), 401);
        assert_eq!(status(Some("t=abc,v1=zz"), body, now_ms), 401);
        // Correctly signed but malformed JSON.
        let bad = b"{\"id\":";
        let sig_bad = webhook_signature(secret, 1_700_000_000, bad);
        assert_eq!(status(Some(&sig_bad), bad, now_ms), 400);
        let corr = br#"{"id":"e","type":"corrected","order_id":"U1"}"#;
        let sig_corr = webhook_signature(secret, 1_700_000_000, corr);
        assert_eq!(status(Some(&sig_corr), corr, now_ms), 400);
        let big = vec![b' '; MAX_WEBHOOK_BYTES + 1];
        assert_eq!(status(Some(&sig), &big, now_ms), 413);
    }

    #[test]
    fn webhook_statements_end_with_receipt() {
        let body = br#"{"id":"evt_2","type":"corrected","order_id":"U1","lines":[{"sku":"22423","revenue_minor":250}]}"#;
        let sig = webhook_signature(b"whsec-0123456789abcdef", 10, body);
        let v = verify_webhook(Some(&sig), body, &[b"whsec-0123456789abcdef"], 10_000, 5).unwrap();
        let stmts = v.statements(10_000);
        assert_eq!(stmts.len(), 2);
        assert_eq!(stmts[0].sql, WEBHOOK_CONFIRM);
        assert_eq!(stmts[0].params[1], SqlValue::Int(250));
        assert_eq!(stmts[1].sql, INSERT_WEBHOOK_RECEIPT);
        assert_eq!(stmts[1].params[0], SqlValue::Text("evt_2".into()));
    }

    #[test]
    fn conversions_only_for_offered_skus_and_never_the_parent() {
        let lines = vec![
            PageOrderLine {
                sku: "22423".into(),
                revenue_minor: 1275,
            },
            PageOrderLine {
                sku: "11111".into(),
                revenue_minor: 500,
            },
            PageOrderLine {
                sku: "22423".into(),
                revenue_minor: 1275,
            },
        ];
        let stmts = conversions_from_page(&claims(), "U9", &lines, "GBP", 5).unwrap();
        assert_eq!(stmts.len(), 1);
        assert_eq!(stmts[0].params[1], SqlValue::Text("22423".into()));
        assert_eq!(stmts[0].params[8], SqlValue::Int(2550));
        assert!(conversions_from_page(&claims(), "536365", &lines, "GBP", 5).is_err());
        assert!(
            conversions_from_page(&claims(), "U9", &lines[1..2], "GBP", 5)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn money_parsing() {
        assert_eq!(money_to_minor("12.5"), Some(1250));
        assert_eq!(money_to_minor("1,234.56"), Some(123_456));
        assert_eq!(money_to_minor("0.125"), Some(13));
        assert_eq!(money_to_minor("7"), Some(700));
        assert_eq!(money_to_minor("-2.10"), Some(-210));
        assert_eq!(money_to_minor(".5"), Some(50));
        assert_eq!(money_to_minor("abc"), None);
        assert_eq!(money_to_minor(""), None);
        assert_eq!(money_to_minor("1.2.3"), None);
    }

    #[test]
    fn privacy_signals() {
        let consent = ConsentCookie {
            name: "cc".into(),
            deny_values: vec!["no".into(), "0".into()],
        };
        assert_eq!(
            tracking_mode(Some("1"), None, Some(&consent)),
            Tracking::Minimal
        );
        assert_eq!(
            tracking_mode(None, Some("a=1; cc=NO"), Some(&consent)),
            Tracking::Minimal
        );
        assert_eq!(
            tracking_mode(None, Some("a=1; cc=yes"), Some(&consent)),
            Tracking::Full
        );
        assert_eq!(tracking_mode(Some("0"), None, None), Tracking::Full);
        assert_eq!(
            stored_client_hash(Tracking::Minimal, "1.2.3.4", b"s", 0),
            None
        );
        let today = client_hash("1.2.3.4 UA", b"salt", 5 * DAY_MS + 10);
        assert_eq!(
            today,
            client_hash("1.2.3.4 UA", b"salt", 5 * DAY_MS + 99_999)
        );
        assert_ne!(today, client_hash("1.2.3.4 UA", b"salt", 6 * DAY_MS));
        assert_ne!(today, client_hash("1.2.3.5 UA", b"salt", 5 * DAY_MS + 10));
        assert_eq!(today.len(), 32);
        assert!(!today.contains("1.2.3.4"));
    }

    #[test]
    fn rate_limiter_windows() {
        let rl = RateLimiter {
            max_events: 3,
            window_ms: 60_000,
        };
        assert!(rl.check(2, 61_000).is_ok());
        let err = rl.check(3, 61_000).unwrap_err();
        assert_eq!(err, EventError::RateLimited { retry_after_s: 59 });
        assert_eq!(err.status(), 429);
        assert_eq!(rl.counter_key("c", 61_000), rl.counter_key("c", 119_999));
        assert_ne!(rl.counter_key("c", 61_000), rl.counter_key("c", 120_000));
    }

    #[test]
    fn garbage_input_is_an_error_never_a_panic() {
        // Deterministic xorshift stream of bytes biased towards the characters the
        // parsers care about; every call must return (Ok or Err) without panicking.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet =
            b"{}[]\":,.=-_ \n\r\\tv1typeimpressionclicktokenskuidorder_idlines0123456789abcdefAZ%+";
        let good = keys().sign(&claims());
        for round in 0..20_000 {
            let len = (next() % 200) as usize;
            let mut buf: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 10 == 0 {
                        (r >> 8) as u8
                    } else {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    }
                })
                .collect();
            if round % 4 == 0 {
                // Splice a real token in so parsing goes deeper.
                let at = buf.len() / 2;
                buf.splice(at..at, good.bytes());
            }
            let text = String::from_utf8_lossy(&buf);
            let _ = crate::token::verify(&text, &[SECRET.as_bytes()], 2_000);
            let _ = verify_beacon(&buf, &keys(), None, 2_000);
            let _ = verify_webhook(Some(&text), &buf, &[b"whsec"], 0, 300);
            let _ = crate::csv::parse(&text);
            let _ = crate::report::parse_report_query(&text);
            let _ = crate::report::parse_events(&text, "fuzz");
            let _ = money_to_minor(&text);
            let _ = tracking_mode(Some(&text), Some(&text), None);
        }
    }

    #[test]
    fn purge_cutoff_is_retention_days_back() {
        let stmts = purge_statements(500 * DAY_MS);
        assert_eq!(stmts.len(), 4);
        assert!(stmts
            .iter()
            .all(|s| s.params == vec![SqlValue::Int((100 * DAY_MS) as i64)]));
    }
}
