//! `model-builder page` end to end: prints the same report the page tests
//! expect, and names the file, line and field of a bad config.

use std::path::PathBuf;
use std::process::Command;

fn pages() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/pages")
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_model-builder"))
        .arg("page")
        .args(args)
        .output()
        .expect("run model-builder");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn expected(page: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(pages().join(format!("{page}.expected.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn prints_the_expected_report_with_preset_or_config() {
    let dir = pages();
    let magento = dir.join("magento2.html");
    let (ok, out, err) = run(&[
        magento.to_str().unwrap(),
        "--preset",
        "magento2",
        "--chunk",
        "7",
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        expected("magento2")
    );

    let bc = dir.join("bigcommerce.html");
    let cfg = dir.join("bigcommerce.config.json");
    let (ok, out, err) = run(&[bc.to_str().unwrap(), "--config", cfg.to_str().unwrap()]);
    assert!(ok, "{err}");
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(got, expected("bigcommerce"));
    assert_eq!(got["needs_lookup"], true);
}

#[test]
fn defaults_handle_common_analytics_without_config() {
    let page = pages().join("generic.html");
    let (ok, out, err) = run(&[page.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        expected("generic")
    );
}

#[test]
fn bad_config_names_file_line_and_field() {
    let dir = std::env::temp_dir().join(format!("mb-page-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("brand.json");
    std::fs::write(
        &cfg,
        "{\n  \"preset\": \"shopify\",\n  \"sku_selectors\": [\n    {\"selector\": \"li[\"}\n  ]\n}\n",
    )
    .unwrap();
    let page = pages().join("shopify.html");
    let (ok, _, err) = run(&[page.to_str().unwrap(), "--config", cfg.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("brand.json"), "{err}");
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("sku_selectors[0].selector"), "{err}");
    let (ok, _, err) = run(&[page.to_str().unwrap(), "--preset", "magento1"]);
    assert!(!ok);
    assert!(err.contains("unknown preset"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
