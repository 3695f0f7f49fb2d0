-- Migration number: 0001 	 attribution and experiments
--
-- Apply with `wrangler d1 migrations apply upsell-events [--local]`.
-- No personal data: order ids, SKUs, amounts and salted client hashes only.
-- Retention (docs/PRIVACY.md): rows older than 400 days are deleted by the
-- PURGE_* statements in src/events.rs; experiments are kept for audit.
-- Money is stored in minor units (cents) as integers.

-- Experiments, registered before they start and never changed afterwards.
CREATE TABLE experiments (
    id            TEXT PRIMARY KEY,
    brand         TEXT NOT NULL,
    region        TEXT,                      -- NULL: every region of the brand
    start_ms      INTEGER NOT NULL,
    registered_at INTEGER NOT NULL,
    definition    TEXT NOT NULL,             -- JSON: salt, weights, thresholds
    fingerprint   TEXT NOT NULL,             -- hex SHA-256 of `definition`
    CHECK (registered_at <= start_ms)
);

CREATE TRIGGER experiments_immutable_update BEFORE UPDATE ON experiments
BEGIN
    SELECT RAISE(ABORT, 'experiments are immutable once registered');
END;

CREATE TRIGGER experiments_immutable_delete BEFORE DELETE ON experiments
BEGIN
    SELECT RAISE(ABORT, 'experiments are immutable once registered');
END;

-- One row per enrolled order: the block served (or the holdout decision), so
-- arm sizes are known even for orders that saw nothing.
CREATE TABLE offers (
    experiment        TEXT NOT NULL,
    parent_order_id   TEXT NOT NULL,
    brand             TEXT NOT NULL,
    region            TEXT NOT NULL,
    arm               TEXT NOT NULL CHECK (arm IN ('ai', 'curated', 'holdout')),
    model_version     TEXT NOT NULL DEFAULT '',
    skus              TEXT NOT NULL DEFAULT '',   -- offered SKUs, space-separated
    nonce             TEXT,                       -- first block's token nonce; NULL for holdout
    order_value_minor INTEGER,                    -- the parent order's value, if the page had it
    currency          TEXT,
    client_hash       TEXT,                       -- NULL under Sec-GPC or refused consent
    served_at         INTEGER NOT NULL,
    PRIMARY KEY (experiment, parent_order_id)
);

CREATE INDEX offers_report ON offers (experiment, brand, region, served_at);
CREATE INDEX offers_served_at ON offers (served_at);

-- Impressions and clicks reported by the injected block.
CREATE TABLE events (
    event_id        TEXT PRIMARY KEY,             -- hex SHA-256(nonce, type, sku): replay guard
    experiment      TEXT NOT NULL,
    brand           TEXT NOT NULL,
    region          TEXT NOT NULL,
    parent_order_id TEXT NOT NULL,
    arm             TEXT NOT NULL CHECK (arm IN ('ai', 'curated', 'holdout')),
    type            TEXT NOT NULL CHECK (type IN ('impression', 'click')),
    sku             TEXT,
    model_version   TEXT NOT NULL DEFAULT '',
    client_hash     TEXT,
    ts              INTEGER NOT NULL
);

CREATE INDEX events_order ON events (experiment, parent_order_id);
CREATE INDEX events_ts ON events (ts);

-- Upsell orders linked to the order they came from; one row per offered SKU bought.
CREATE TABLE conversions (
    upsell_order_id TEXT NOT NULL,
    sku             TEXT NOT NULL,
    parent_order_id TEXT NOT NULL,
    experiment      TEXT NOT NULL,
    brand           TEXT NOT NULL,
    region          TEXT NOT NULL,
    arm             TEXT NOT NULL CHECK (arm IN ('ai', 'curated', 'holdout')),
    model_version   TEXT NOT NULL DEFAULT '',
    revenue_minor   INTEGER NOT NULL CHECK (revenue_minor >= 0),
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'confirmed', 'refunded')),
    converted_at    INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (upsell_order_id, sku),
    CHECK (upsell_order_id <> parent_order_id)
);

CREATE INDEX conversions_parent ON conversions (experiment, parent_order_id);
CREATE INDEX conversions_converted_at ON conversions (converted_at);

-- OMS webhook deliveries already applied (idempotency).
CREATE TABLE webhook_receipts (
    idempotency_key TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL,
    type            TEXT NOT NULL,
    body_sha256     TEXT NOT NULL,
    received_at     INTEGER NOT NULL
);

CREATE INDEX webhook_receipts_received_at ON webhook_receipts (received_at);
