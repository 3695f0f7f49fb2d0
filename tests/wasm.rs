//! Wasm tests for the worker crate, run under Node by `wasm-bindgen-test-runner`.
#![cfg(target_arch = "wasm32")]

use upsell_edge::origin::upstream_url;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn upstream_url_in_wasm_matches_native() {
    assert_eq!(
        upstream_url("https://shop.example/checkout/?id=1", "http://127.0.0.1:9").unwrap(),
        "http://127.0.0.1:9/checkout/?id=1"
    );
}
