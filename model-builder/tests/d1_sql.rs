//! The D1 schema and statements, run for real on SQLite (the engine D1 is built on):
//! the migration applies, replays and forged input write nothing, webhooks are
//! idempotent, concurrent beacons are all kept, and the report computed in SQL
//! equals the report computed from the exported rows.

use std::collections::BTreeMap;

use rusqlite::{params_from_iter, types::Value, Connection};
use upsell_edge::assign::{assign, Arm, ArmWeights, Experiment, Thresholds};
use upsell_edge::events::{
    conversions_from_page, register_experiment, report_params, verify_beacon, verify_webhook,
    webhook_replayed, webhook_signature, EventError, PageOrderLine, ServedOffer, SqlValue, Stmt,
    SELECT_ARM_TOTALS, SELECT_CONVERSION_LEDGER, SELECT_EVENT_EXPORT, WEBHOOK_TOLERANCE_S,
};
use upsell_edge::report::{
    arm_totals_from_rows, build_report, parse_conversions, parse_events, totals_from_records,
    ReportFilter,
};
use upsell_edge::stats::ArmTotals;
use upsell_edge::token::{Keyring, OfferToken};

const MIGRATION: &str = include_str!("../../migrations/0001_events.sql");
const TOKEN_SECRET: &str = "tok-0123456789abcdef";
const HOOK_SECRET: &[u8] = b"hook-0123456789abcdef";
const EXP: &str = "exp-sql";
const T0: u64 = 1_700_000_000_000;

fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(MIGRATION).unwrap();
    c
}

fn bind(params: &[SqlValue]) -> Vec<Value> {
    params
        .iter()
        .map(|p| match p {
            SqlValue::Null => Value::Null,
            SqlValue::Int(i) => Value::Integer(*i),
            SqlValue::Text(s) => Value::Text(s.clone()),
        })
        .collect()
}

/// Runs one statement; returns the number of rows it changed.
fn run(c: &Connection, s: &Stmt) -> rusqlite::Result<usize> {
    c.execute(s.sql, params_from_iter(bind(&s.params)))
}

/// Runs a webhook's statements in one transaction, as a D1 `batch` does; returns the
/// rows changed per statement.
fn run_batch(c: &mut Connection, stmts: &[Stmt]) -> Vec<u64> {
    let tx = c.transaction().unwrap();
    let mut changes = Vec::new();
    for s in stmts {
        changes.push(
            tx.execute(s.sql, params_from_iter(bind(&s.params)))
                .unwrap() as u64,
        );
    }
    tx.commit().unwrap();
    changes
}

fn count(c: &Connection, table: &str) -> i64 {
    c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fn keys() -> Keyring {
    Keyring::from_env(TOKEN_SECRET).unwrap()
}

fn token(order: &str, arm: Arm, nonce: &str) -> OfferToken {
    OfferToken {
        brand: "acme".into(),
        region: "GB".into(),
        parent_order_id: order.into(),
        arm,
        experiment: EXP.into(),
        model_version: "v3".into(),
        skus: vec!["22423".into(), "85123A".into(), "47566".into()],
        issued_at: T0,
        expires_at: T0 + 7 * 86_400_000,
        nonce: nonce.into(),
    }
}

fn beacon(kind: &str, token: &str, sku: Option<&str>) -> Vec<u8> {
    let mut v = serde_json::json!({"type": kind, "token": token});
    if let Some(s) = sku {
        v["sku"] = s.into();
    }
    serde_json::to_vec(&v).unwrap()
}

fn experiment() -> Experiment {
    Experiment {
        id: EXP.into(),
        brand: "acme".into(),
        region: None,
        salt: "salt-1".into(),
        start_ms: T0,
        end_ms: None,
        weights: ArmWeights {
            ai: 45,
            curated: 45,
            holdout: 10,
        },
        thresholds: Thresholds {
            min_conversion_lift: 0.1,
            min_attach_rate: 0.01,
            min_revenue_per_1000: 10.0,
            alpha: 0.05,
            min_sample: 100,
        },
    }
}

#[test]
fn experiments_are_immutable_once_registered() {
    let c = db();
    let e = experiment();
    let stmt = register_experiment(&e, T0 - 1).unwrap();
    assert_eq!(run(&c, &stmt).unwrap(), 1);
    assert!(
        run(&c, &stmt).is_err(),
        "second registration of the same id"
    );
    let upd = c.execute(
        "UPDATE experiments SET definition = '{}' WHERE id = ?1",
        [EXP],
    );
    assert!(upd.unwrap_err().to_string().contains("immutable"));
    assert!(c.execute("DELETE FROM experiments", []).is_err());
    let stored: String = c
        .query_row(
            "SELECT fingerprint FROM experiments WHERE id = ?1",
            [EXP],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, e.fingerprint());
    // Registering after the start is refused before any SQL runs.
    assert!(register_experiment(&e, T0 + 1).is_err());
}

#[test]
fn rejected_beacons_write_nothing_and_replays_are_detected() {
    let c = db();
    let good = keys().sign(&token("P1", Arm::Ai, "nonce-1"));
    let ev = verify_beacon(&beacon("impression", &good, None), &keys(), None, T0 + 5).unwrap();
    assert_eq!(run(&c, &ev.insert()).unwrap(), 1);
    // Replayed beacon: same nonce, type and SKU → 0 changes, which the worker answers 409.
    let again = verify_beacon(&beacon("impression", &good, None), &keys(), None, T0 + 9).unwrap();
    assert_eq!(run(&c, &again.insert()).unwrap(), 0);
    assert_eq!(EventError::Replayed.status(), 409);

    let forged = upsell_edge::token::sign(&token("P1", Arm::Ai, "nonce-2"), b"guessed-secret-0000");
    let mut tampered = good.clone().into_bytes();
    let k = tampered.len() / 3;
    tampered[k] = if tampered[k] == b'x' { b'y' } else { b'x' };
    let tampered = String::from_utf8(tampered).unwrap();
    let cases: Vec<(Vec<u8>, u64, u16)> = vec![
        (beacon("click", &forged, Some("22423")), T0, 401),
        (beacon("click", &tampered, Some("22423")), T0, 401),
        (
            beacon("click", &good, Some("22423")),
            T0 + 8 * 86_400_000,
            410,
        ),
        (b"{\"type\":\"click\",".to_vec(), T0, 400),
        (vec![b'{'; 10_000], T0, 413),
    ];
    for (body, now, status) in cases {
        let err = verify_beacon(&body, &keys(), None, now).unwrap_err();
        // A tampered character can break base64/JSON (400) or the MAC (401): never accepted.
        assert!(
            err.status() == status || (status == 401 && err.status() == 400),
            "{err}"
        );
    }
    assert_eq!(count(&c, "events"), 1);
}

#[test]
fn stored_rows_have_every_column_in_place() {
    let c = db();
    let t = token("P7", Arm::Curated, "nonce-7");
    let served = ServedOffer::from_token(
        &t,
        Some(4599),
        Some("GBP".into()),
        Some("abcd".into()),
        T0 + 1,
    );
    run(&c, &served.insert()).unwrap();
    let row: (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
        String,
        String,
        i64,
    ) = c
        .query_row(
            "SELECT experiment, parent_order_id, brand, region, arm, model_version, skus, nonce, \
             order_value_minor, currency, client_hash, served_at FROM offers",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                ))
            },
        )
        .unwrap();
    let want = (
        EXP.to_string(),
        "P7".to_string(),
        "acme".to_string(),
        "GB".to_string(),
        "curated".to_string(),
        "v3".to_string(),
        "22423 85123A 47566".to_string(),
        "nonce-7".to_string(),
        4599,
        "GBP".to_string(),
        "abcd".to_string(),
        (T0 + 1) as i64,
    );
    assert_eq!(row, want);

    let signed = keys().sign(&t);
    let ev = verify_beacon(
        &beacon("click", &signed, Some("47566")),
        &keys(),
        Some("h1".into()),
        T0 + 2,
    )
    .unwrap();
    run(&c, &ev.insert()).unwrap();
    let row: (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
    ) = c
        .query_row(
            "SELECT event_id, experiment, brand, region, parent_order_id, arm, type, sku, \
             model_version, client_hash, ts FROM events",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(row.0, ev.event_id);
    assert_eq!(
        (row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, row.10),
        (
            EXP.to_string(),
            "acme".to_string(),
            "GB".to_string(),
            "P7".to_string(),
            "curated".to_string(),
            "click".to_string(),
            "47566".to_string(),
            "v3".to_string(),
            "h1".to_string(),
            (T0 + 2) as i64,
        )
    );

    for s in conversions_from_page(
        &t,
        "U7",
        &[PageOrderLine {
            sku: "47566".into(),
            revenue_minor: 995,
        }],
        "GBP",
        T0 + 3,
    )
    .unwrap()
    {
        run(&c, &s).unwrap();
    }
    let row: (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
        String,
        String,
        i64,
    ) = c
        .query_row(
            "SELECT upsell_order_id, sku, parent_order_id, experiment, brand, region, arm, \
             model_version, revenue_minor, currency, status, converted_at FROM conversions",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        row,
        (
            "U7".to_string(),
            "47566".to_string(),
            "P7".to_string(),
            EXP.to_string(),
            "acme".to_string(),
            "GB".to_string(),
            "curated".to_string(),
            "v3".to_string(),
            995,
            "GBP".to_string(),
            "pending".to_string(),
            (T0 + 3) as i64,
        )
    );
    let updated: i64 = c
        .query_row("SELECT updated_at FROM conversions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(updated, (T0 + 3) as i64);
}

fn confirm_body(id: &str, kind: &str, order: &str, lines: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(
        &serde_json::json!({"id": id, "type": kind, "order_id": order, "lines": lines}),
    )
    .unwrap()
}

/// Delivers a signed webhook; Ok(1) when applied, Ok(0) when recognised as a replay.
fn deliver(c: &mut Connection, body: &[u8], now_ms: u64) -> Result<usize, EventError> {
    let sig = webhook_signature(HOOK_SECRET, now_ms / 1000, body);
    let hook = verify_webhook(
        Some(&sig),
        body,
        &[HOOK_SECRET],
        now_ms,
        WEBHOOK_TOLERANCE_S,
    )?;
    let changes = run_batch(c, &hook.statements(now_ms));
    Ok(usize::from(!webhook_replayed(&changes)))
}

fn conversion(c: &Connection, order: &str, sku: &str) -> (String, i64) {
    c.query_row(
        "SELECT status, revenue_minor FROM conversions WHERE upsell_order_id = ?1 AND sku = ?2",
        [order, sku],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn conversions_and_webhooks_are_idempotent() {
    let mut c = db();
    let t = token("P1", Arm::Ai, "n1");
    let lines = [
        PageOrderLine {
            sku: "22423".into(),
            revenue_minor: 1250,
        },
        PageOrderLine {
            sku: "85123A".into(),
            revenue_minor: 295,
        },
        PageOrderLine {
            sku: "99999".into(),
            revenue_minor: 100,
        },
    ];
    for s in conversions_from_page(&t, "U1", &lines, "GBP", T0 + 10).unwrap() {
        assert_eq!(run(&c, &s).unwrap(), 1);
    }
    // Reload of the upsell confirmation page: nothing new.
    for s in conversions_from_page(&t, "U1", &lines, "GBP", T0 + 20).unwrap() {
        assert_eq!(run(&c, &s).unwrap(), 0);
    }
    assert_eq!(count(&c, "conversions"), 2);
    assert_eq!(conversion(&c, "U1", "22423"), ("pending".into(), 1250));

    // Confirm with a corrected amount, then replay the same delivery.
    let now = T0 + 60_000;
    let body = confirm_body(
        "evt-1",
        "corrected",
        "U1",
        serde_json::json!([{"sku": "22423", "revenue_minor": 1000}]),
    );
    assert_eq!(deliver(&mut c, &body, now).unwrap(), 1);
    assert_eq!(conversion(&c, "U1", "22423"), ("confirmed".into(), 1000));
    assert_eq!(
        deliver(&mut c, &body, now + 1000).unwrap(),
        0,
        "replay must change nothing"
    );
    assert_eq!(count(&c, "webhook_receipts"), 1);

    // A delivery for an order the worker never saw changes no conversion but is not a replay.
    let unknown = confirm_body("evt-0", "confirmed", "U-unknown", serde_json::json!([]));
    assert_eq!(deliver(&mut c, &unknown, now).unwrap(), 1);
    assert_eq!(deliver(&mut c, &unknown, now).unwrap(), 0);

    // Refund the whole order; a late "confirmed" (new id) must not un-refund it.
    let refund = confirm_body("evt-2", "refunded", "U1", serde_json::json!([]));
    assert_eq!(deliver(&mut c, &refund, now + 2000).unwrap(), 1);
    let late = confirm_body("evt-3", "confirmed", "U1", serde_json::json!([]));
    assert_eq!(deliver(&mut c, &late, now + 3000).unwrap(), 1);
    assert_eq!(conversion(&c, "U1", "22423").0, "refunded");
    assert_eq!(conversion(&c, "U1", "85123A").0, "refunded");

    // Wrong signature, stale timestamp, malformed JSON, oversized: nothing written.
    let receipts = count(&c, "webhook_receipts");
    let body = confirm_body("evt-9", "confirmed", "U1", serde_json::json!([]));
    let wrong = webhook_signature(b"wrong-secret-00000000", now / 1000, &body);
    let e = verify_webhook(
        Some(&wrong),
        &body,
        &[HOOK_SECRET],
        now,
        WEBHOOK_TOLERANCE_S,
    );
    assert_eq!(e.unwrap_err().status(), 401);
    assert_eq!(
        deliver(&mut c, b"{\"id\": 1", now).unwrap_err().status(),
        400
    );
    let big = vec![b' '; upsell_edge::events::MAX_WEBHOOK_BYTES + 1];
    assert_eq!(deliver(&mut c, &big, now).unwrap_err().status(), 413);
    let stale_sig = webhook_signature(HOOK_SECRET, now / 1000 - 3600, &body);
    let e = verify_webhook(
        Some(&stale_sig),
        &body,
        &[HOOK_SECRET],
        now,
        WEBHOOK_TOLERANCE_S,
    );
    assert_eq!(e.unwrap_err().status(), 401);
    assert_eq!(count(&c, "webhook_receipts"), receipts);
}

#[test]
fn concurrent_beacons_are_all_kept() {
    let dir = std::env::temp_dir().join(format!("upsell-d1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.sqlite");
    let _ = std::fs::remove_file(&path);
    let setup = Connection::open(&path).unwrap();
    setup.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
    setup.execute_batch(MIGRATION).unwrap();
    let threads = 8;
    let per_thread = 150;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let c = Connection::open(&path).unwrap();
                c.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
                let mut inserted = 0;
                for i in 0..per_thread {
                    let tok = keys().sign(&token(
                        &format!("P{t}-{i}"),
                        Arm::Curated,
                        &format!("n-{t}-{i}"),
                    ));
                    for kind in ["impression", "click"] {
                        let sku = (kind == "click").then_some("47566");
                        let ev =
                            verify_beacon(&beacon(kind, &tok, sku), &keys(), None, T0).unwrap();
                        inserted += run(&c, &ev.insert()).unwrap();
                        // Every beacon is also replayed once: never stored twice.
                        assert_eq!(run(&c, &ev.insert()).unwrap(), 0);
                    }
                }
                inserted
            })
        })
        .collect();
    let inserted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(inserted, threads * per_thread * 2);
    assert_eq!(count(&setup, "events"), (threads * per_thread * 2) as i64);
    drop(setup);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A pseudo-random but fixed population of orders through the real code path.
fn populate(c: &mut Connection) {
    let e = experiment();
    run(c, &register_experiment(&e, T0 - 1).unwrap()).unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    for i in 0..3000u64 {
        let order = format!("{}", 600_000 + i);
        let arm = assign(&e.salt, &order, &e.weights);
        let served_at = T0 + i * 60_000;
        let region = if i % 7 == 0 { "FR" } else { "GB" };
        let value = (next(5) > 0).then(|| 1500 + next(20_000) as i64);
        let currency = if region == "FR" { "EUR" } else { "GBP" };
        let mut tok = token(&order, arm, &format!("nonce-{i}"));
        tok.region = region.into();
        let row = if arm == Arm::Holdout {
            ServedOffer::holdout(
                EXP,
                "acme",
                region,
                &order,
                value,
                value.map(|_| currency.to_string()),
                None,
                served_at,
            )
        } else {
            ServedOffer::from_token(
                &tok,
                value,
                value.map(|_| currency.to_string()),
                None,
                served_at,
            )
        };
        assert_eq!(run(c, &row.insert()).unwrap(), 1);
        assert_eq!(
            run(c, &row.insert()).unwrap(),
            0,
            "reload re-serves the same order"
        );
        if arm == Arm::Holdout {
            continue;
        }
        let signed = keys().sign(&tok);
        if next(10) < 7 {
            for _ in 0..=next(2) {
                // Reloads of the same block replay the impression: stored once.
                let ev = verify_beacon(
                    &beacon("impression", &signed, None),
                    &keys(),
                    None,
                    served_at + 5,
                )
                .unwrap();
                run(c, &ev.insert()).unwrap();
            }
            if next(4) == 0 {
                let ev = verify_beacon(
                    &beacon("click", &signed, Some("85123A")),
                    &keys(),
                    None,
                    served_at + 9,
                )
                .unwrap();
                run(c, &ev.insert()).unwrap();
            }
        }
        let p = if arm == Arm::Ai { 12 } else { 20 };
        if next(p) == 0 {
            let upsell = format!("U{order}");
            let mut lines = vec![PageOrderLine {
                sku: "85123A".into(),
                revenue_minor: 200 + next(3000) as i64,
            }];
            if next(3) == 0 {
                lines.push(PageOrderLine {
                    sku: "47566".into(),
                    revenue_minor: 500 + next(900) as i64,
                });
            }
            for s in conversions_from_page(&tok, &upsell, &lines, currency, served_at + 3_600_000)
                .unwrap()
            {
                run(c, &s).unwrap();
            }
            let kind = match next(6) {
                0 => "refunded",
                1 => "corrected",
                _ => "confirmed",
            };
            let body = confirm_body(
                &format!("evt-{i}"),
                kind,
                &upsell,
                serde_json::json!([{"sku": "85123A", "revenue_minor": 150}]),
            );
            deliver(c, &body, served_at + 7_200_000).unwrap();
        }
    }
}

fn sql_totals(c: &Connection, filter: &ReportFilter) -> BTreeMap<Arm, ArmTotals> {
    let params = report_params(
        &filter.experiment,
        filter.brand.as_deref(),
        filter.region.as_deref(),
        filter.from_ms,
        filter.to_ms,
    );
    let mut stmt = c.prepare(SELECT_ARM_TOTALS).unwrap();
    let rows = stmt
        .query_map(params_from_iter(bind(&params)), |r| {
            let arm: String = r.get("arm")?;
            Ok((
                Arm::parse(&arm).unwrap(),
                ArmTotals {
                    orders: r.get("orders")?,
                    orders_with_value: r.get("orders_with_value")?,
                    primary_revenue_minor: r.get("primary_revenue_minor")?,
                    impressions: r.get("impressions")?,
                    viewed_orders: r.get("viewed_orders")?,
                    clicks: r.get("clicks")?,
                    conversions: r.get("conversions")?,
                    converted_orders: r.get("converted_orders")?,
                    upsell_revenue_minor: r.get("upsell_revenue_minor")?,
                    upsell_revenue_sq: r.get("upsell_revenue_sq")?,
                    upsell_revenue_valued_minor: r.get("upsell_revenue_valued_minor")?,
                },
            ))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// Rows of a query as a JSON array of objects (what `wrangler d1 execute --json` gives).
fn export_json(c: &Connection, sql: &str, params: &[SqlValue]) -> String {
    let mut stmt = c.prepare(sql).unwrap();
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let rows = stmt
        .query_map(params_from_iter(bind(params)), |r| {
            let mut obj = serde_json::Map::new();
            for (i, n) in names.iter().enumerate() {
                let v = match r.get::<_, Value>(i)? {
                    Value::Null => serde_json::Value::Null,
                    Value::Integer(v) => v.into(),
                    Value::Real(v) => v.into(),
                    Value::Text(v) => v.into(),
                    Value::Blob(_) => unreachable!("no blobs in the schema"),
                };
                obj.insert(n.clone(), v);
            }
            Ok(serde_json::Value::Object(obj))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect::<Vec<_>>();
    serde_json::to_string(&serde_json::json!([{"results": rows, "success": true}])).unwrap()
}

#[test]
fn report_in_sql_equals_report_from_exports() {
    let mut c = db();
    populate(&mut c);
    let filters = [
        ReportFilter {
            experiment: EXP.into(),
            region: Some("GB".into()),
            ..Default::default()
        },
        ReportFilter {
            experiment: EXP.into(),
            brand: Some("acme".into()),
            region: Some("FR".into()),
            from_ms: Some(T0 + 500 * 60_000),
            to_ms: Some(T0 + 2500 * 60_000),
        },
    ];
    for filter in filters {
        let sql = sql_totals(&c, &filter);
        let params = report_params(
            &filter.experiment,
            filter.brand.as_deref(),
            filter.region.as_deref(),
            filter.from_ms,
            filter.to_ms,
        );
        let events =
            parse_events(&export_json(&c, SELECT_EVENT_EXPORT, &params), "events").unwrap();
        let convs = parse_conversions(
            &export_json(&c, SELECT_CONVERSION_LEDGER, &params),
            "ledger",
        )
        .unwrap();
        let from_rows = totals_from_records(&events, &convs, &filter).unwrap();
        assert_eq!(sql, from_rows, "{filter:?}");
        // The worker's path: D1 JSON rows of SELECT_ARM_TOTALS.
        let json: serde_json::Value =
            serde_json::from_str(&export_json(&c, SELECT_ARM_TOTALS, &params)).unwrap();
        let rows = json[0]["results"].as_array().unwrap();
        assert_eq!(arm_totals_from_rows(rows).unwrap(), sql);
        let ai = &sql[&Arm::Ai];
        assert!(
            ai.orders > 100 && ai.converted_orders > 5 && ai.impressions > 50,
            "{ai:?}"
        );
        assert!(ai.viewed_orders <= ai.impressions && ai.converted_orders <= ai.conversions);
        let e = experiment();
        let a = build_report(&filter, &sql, Some(&e));
        let b = build_report(&filter, &from_rows, Some(&e));
        assert_eq!(a.to_csv(), b.to_csv());
    }
    // Refunds are excluded from the figures but stay in the ledger with their status.
    let refunded: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM conversions WHERE status = 'refunded'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(refunded > 0);
}
