//! Attribution hot paths, timed: `cargo bench -p model-builder --bench attrib`.
//! Prints one line per case (ns or ms per operation); no assertions.

use std::hint::black_box;
use std::time::Instant;

use upsell_edge::assign::{assign, Arm, ArmWeights};
use upsell_edge::events::{verify_beacon, verify_webhook, webhook_signature};
use upsell_edge::report::{
    build_report, totals_from_records, ConversionRecord, ConversionStatus, EventRecord, RecordKind,
    ReportFilter,
};
use upsell_edge::token::{Keyring, OfferToken};

fn time<T>(name: &str, iters: u32, mut f: impl FnMut(u32) -> T) {
    for i in 0..iters.min(1000) {
        black_box(f(i));
    }
    let start = Instant::now();
    for i in 0..iters {
        black_box(f(i));
    }
    let per = start.elapsed().as_secs_f64() / f64::from(iters);
    if per < 1e-3 {
        println!("{name:<44} {:>10.0} ns/op  ({iters} iterations)", per * 1e9);
    } else {
        println!("{name:<44} {:>10.1} ms/op  ({iters} iterations)", per * 1e3);
    }
}

fn main() {
    let keys = Keyring::from_env("bench-secret-0123456789").unwrap();
    let claims = OfferToken {
        brand: "acme".into(),
        region: "GB".into(),
        parent_order_id: "536365".into(),
        arm: Arm::Ai,
        experiment: "exp-2026-11".into(),
        model_version: "v12".into(),
        skus: vec!["22423".into(), "85123A".into(), "47566".into()],
        issued_at: 1_700_000_000_000,
        expires_at: 1_800_000_000_000,
        nonce: "q4X9cTZ0b1lW3mNv".into(),
    };
    let token = keys.sign(&claims);
    println!("token length: {} bytes", token.len());
    time("token sign", 100_000, |_| keys.sign(&claims));
    time("token verify", 100_000, |_| {
        keys.verify(&token, 1_750_000_000_000).unwrap()
    });
    let body =
        serde_json::to_vec(&serde_json::json!({"type": "click", "token": token, "sku": "47566"}))
            .unwrap();
    time("beacon parse + verify + event id", 100_000, |_| {
        verify_beacon(&body, &keys, None, 1_750_000_000_000).unwrap()
    });
    let hook = br#"{"id":"evt_1","type":"confirmed","order_id":"U1","lines":[{"sku":"22423","revenue_minor":1250}]}"#;
    let secret = b"whsec-0123456789abcdef";
    let sig = webhook_signature(secret, 1_750_000_000, hook);
    time("webhook verify + parse + statements", 100_000, |_| {
        verify_webhook(Some(&sig), hook, &[secret], 1_750_000_000_000, 300)
            .unwrap()
            .statements(1)
    });
    let w = ArmWeights {
        ai: 45,
        curated: 45,
        holdout: 10,
    };
    let ids: Vec<String> = (0..100_000).map(|i| format!("{}", 500_000 + i)).collect();
    time("assign arm", 1_000_000, |i| {
        assign("salt", &ids[(i % 100_000) as usize], &w)
    });

    // Report over 1M enrolled orders, ~0.7M impressions, ~40k conversions.
    let n = 1_000_000u64;
    let mut events = Vec::with_capacity(1_800_000);
    let mut convs = Vec::new();
    for i in 0..n {
        let order = i.to_string();
        let arm = assign("salt", &order, &w);
        let rec = |kind| EventRecord {
            ts: i,
            experiment: "e".into(),
            brand: "acme".into(),
            region: "GB".into(),
            parent_order_id: order.clone(),
            arm,
            kind,
            sku: None,
            order_value_minor: (kind == RecordKind::Served).then_some(2_000 + (i % 977) as i64),
            currency: (kind == RecordKind::Served).then(|| "GBP".into()),
        };
        events.push(rec(RecordKind::Served));
        if arm != Arm::Holdout && i % 10 < 7 {
            events.push(rec(RecordKind::Impression));
        }
        if arm != Arm::Holdout && i % 23 == 0 {
            convs.push(ConversionRecord {
                parent_order_id: order.clone(),
                upsell_order_id: format!("U{i}"),
                sku: "22423".into(),
                revenue_minor: 500 + (i % 1_500) as i64,
                currency: "GBP".into(),
                arm,
                experiment: "e".into(),
                brand: "acme".into(),
                region: "GB".into(),
                model_version: "v1".into(),
                status: ConversionStatus::Confirmed,
                served_at: Some(i),
                converted_at: i + 1,
                updated_at: i + 1,
            });
        }
    }
    println!(
        "report input: {} event rows, {} conversion rows",
        events.len(),
        convs.len()
    );
    let filter = ReportFilter {
        experiment: "e".into(),
        ..Default::default()
    };
    time("totals_from_records (1M orders)", 3, |_| {
        totals_from_records(&events, &convs, &filter).unwrap()
    });
    let totals = totals_from_records(&events, &convs, &filter).unwrap();
    time("build_report from totals", 10_000, |_| {
        build_report(&filter, &totals, None)
    });
    let ev_csv = upsell_edge::report::events_csv(&events);
    println!("events CSV: {:.1} MB", ev_csv.len() as f64 / 1e6);
    time("parse_events CSV (1.7M rows)", 2, |_| {
        upsell_edge::report::parse_events(&ev_csv, "bench")
            .unwrap()
            .len()
    });
}
