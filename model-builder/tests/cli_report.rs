//! `model-builder report` on the small hand-checked export in `tests/data/report/`.

use std::path::PathBuf;
use std::process::Command;

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/report")
        .join(name)
        .display()
        .to_string()
}

fn report(extra: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_model-builder"))
        .arg("report")
        .args([
            "--events",
            &data("events.csv"),
            "--conversions",
            &data("conversions.csv"),
        ])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn close(v: &serde_json::Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}

/// Figures worked out by hand from the two CSV files (orders served before t = 5000):
/// ai A1..A4, values 10.00 each; A1 viewed, clicked and bought 5.00; A2 viewed; A4's
/// 7.00 was refunded. curated C1, C2 (no values); C1 viewed and bought 2.00 (pending).
/// holdout H1 worth 20.00. A9 (t = 9000) is outside the range.
#[test]
fn json_report_matches_hand_computed_figures() {
    let (ok, out, err) = report(&[
        "--experiment",
        &data("experiment.json"),
        "--to",
        "5000",
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ai = &r["arms"][0];
    assert_eq!(ai["arm"], "ai");
    assert_eq!(
        (
            ai["orders"].as_u64(),
            ai["impressions"].as_u64(),
            ai["clicks"].as_u64()
        ),
        (Some(4), Some(2), Some(1))
    );
    assert_eq!(ai["conversions"].as_u64(), Some(1));
    assert!(close(&ai["attach_rate"]["estimate"], 0.25));
    assert!(close(&ai["conversion_per_impression"], 0.5));
    assert!(close(&ai["upsell_revenue"], 5.0));
    assert!(close(&ai["revenue_per_1000_orders"], 1250.0));
    assert!(close(&ai["aov_without_upsell"], 10.0));
    assert!(close(&ai["aov_with_upsell"], 11.25));
    let cur = &r["arms"][1];
    assert!(close(&cur["attach_rate"]["estimate"], 0.5));
    assert!(close(&cur["conversion_per_impression"], 1.0));
    assert!(close(&cur["revenue_per_1000_orders"], 1000.0));
    assert!(cur["aov_without_upsell"].is_null());
    let hold = &r["arms"][2];
    assert_eq!(hold["orders"].as_u64(), Some(1));
    assert!(close(&hold["aov_with_upsell"], 20.0));
    assert!(close(
        &r["comparisons"][0]["attach_rate_diff"]["estimate"],
        -0.25
    ));
    assert!(close(
        &r["comparisons"][0]["attach_rate_relative_lift"],
        -0.5
    ));
    assert_eq!(r["verdict"], "not_enough_data");
}

#[test]
fn without_a_range_the_late_order_counts_and_table_and_csv_agree() {
    let (ok, table, err) = report(&[]);
    assert!(ok, "{err}");
    assert!(table.contains("experiment exp-demo"), "{table}");
    assert!(
        table.contains("verdict: - (no experiment definition given)"),
        "{table}"
    );
    let ai_line = table.lines().find(|l| l.starts_with("ai ")).unwrap();
    assert!(ai_line.split_whitespace().nth(1) == Some("5"), "{ai_line}");
    let (ok, csv, _) = report(&["--format", "csv"]);
    assert!(ok);
    assert!(csv.contains("exp-demo,arm,ai,orders,5.000000,,"), "{csv}");
    assert!(
        csv.contains("exp-demo,arm,ai,upsell_revenue,14.000000,,"),
        "{csv}"
    );
}

#[test]
fn ledger_export_keeps_refunds_and_quotes_fields() {
    let (ok, out, err) = report(&["--to", "5000", "--format", "ledger"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[1].starts_with("A1,U1,\"S,1\",5.00,500,GBP,ai,"),
        "{out}"
    );
    assert!(out.contains(",refunded,"));
    assert!(!out.contains("A9"));
}

#[test]
fn bad_input_names_file_line_and_field() {
    let out = Command::new(env!("CARGO_BIN_EXE_model-builder"))
        .args([
            "report",
            "--events",
            &data("bad-events.csv"),
            "--conversions",
            &data("conversions.csv"),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bad-events.csv:3: field `order_value_minor`"),
        "{err}"
    );
}

#[test]
fn register_experiment_sql_applies_once_and_refuses_late_registration() {
    let run = |at: &str| {
        Command::new(env!("CARGO_BIN_EXE_model-builder"))
            .args([
                "register-experiment",
                "--definition",
                &data("experiment.json"),
                "--at",
                at,
            ])
            .output()
            .unwrap()
    };
    let late = run("1");
    assert!(!late.status.success());
    let err = String::from_utf8(late.stderr).unwrap();
    assert!(
        err.contains("experiment #1 (exp-demo)") && err.contains("start_ms"),
        "{err}"
    );

    let ok = run("0");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let sql = String::from_utf8(ok.stdout).unwrap();
    let db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute_batch(include_str!("../../migrations/0001_events.sql"))
        .unwrap();
    db.execute_batch(&sql).unwrap();
    let (def, fp): (String, String) = db
        .query_row(
            "SELECT definition, fingerprint FROM experiments WHERE id = 'exp-demo'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let e = upsell_edge::assign::Experiment::from_stored(&def, &fp).unwrap();
    assert_eq!(e.thresholds.min_sample, 1000);
    assert!(
        db.execute_batch(&sql).is_err(),
        "second registration must fail"
    );
}

#[test]
fn register_experiment_power_note_flags_an_underpowered_min_sample() {
    let out = Command::new(env!("CARGO_BIN_EXE_model-builder"))
        .args([
            "register-experiment",
            "--definition",
            &data("experiment.json"),
            "--at",
            "0",
        ])
        .args(["--baseline-attach-rate", "0.03"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    // Reference: 53210.3 orders per arm (see stats::tests::power_and_sample_size_match_reference).
    assert!(err.contains("53211 orders/arm for 80 % power"), "{err}");
    assert!(err.contains("WARNING: underpowered"), "{err}");
    let sql = String::from_utf8(out.stdout).unwrap();
    assert!(sql.contains("-- power: attach 0.03"), "{sql}");
}
