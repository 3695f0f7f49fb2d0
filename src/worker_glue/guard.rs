//! Bindings to `guard.js`, which keeps the origin's unsent bytes outside wasm
//! so that a panic mid-page (which traps and stops every Rust future of the
//! instance) still gets the shopper the origin's page, from exactly where the
//! page flow stopped.
use wasm_bindgen::prelude::*;
use worker::web_sys::ReadableStream;

#[wasm_bindgen(module = "/src/worker_glue/guard.js")]
extern "C" {
    /// Switches every guarded page of this instance to the origin's bytes.
    fn panicked();

    /// Logs a failed allocation of `bytes`, then does what `panicked` does.
    #[wasm_bindgen(js_name = outOfMemory)]
    pub fn out_of_memory(bytes: f64);

    /// One page's guard (see guard.js).
    pub type PageGuard;

    /// Guards a page whose origin body is `origin`.
    #[wasm_bindgen(constructor)]
    pub fn new(origin: &ReadableStream) -> PageGuard;

    /// The origin's body, for the page flow to read.
    #[wasm_bindgen(method, getter)]
    pub fn input(this: &PageGuard) -> ReadableStream;

    /// Reports that the flow has sent `n` of the origin's bytes in all.
    #[wasm_bindgen(method)]
    pub fn forwarded(this: &PageGuard, n: f64);

    /// The response body: the flow's output, or the origin's bytes if it dies.
    #[wasm_bindgen(method)]
    pub fn output(this: &PageGuard, flow: &ReadableStream) -> ReadableStream;
}

/// Logs panics to the console, then hands guarded pages back to the origin's bytes.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            console_error_panic_hook::hook(info);
            panicked();
        }));
    });
}
