//! `model-builder version`.

/// Prints the builder's version.
pub fn run() -> anyhow::Result<()> {
    println!("model-builder {}", env!("CARGO_PKG_VERSION"));
    Ok(())
}
