//! Shard addressing: which shard holds a SKU.

/// FNV-1a (32-bit) of the SKU string, modulo `shards` (at least 1).
/// Stable across platforms and versions: the builder and the edge agree.
pub fn shard_of(sku: &str, shards: u32) -> u32 {
    let mut h: u32 = 0x811C_9DC5;
    for &b in sku.as_bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h % shards.max(1)
}

#[cfg(test)]
mod tests {
    use super::shard_of;

    #[test]
    fn shard_is_stable_and_in_range() {
        assert_eq!(shard_of("", 1), 0);
        // FNV-1a("a") = 0xE40C292C
        assert_eq!(shard_of("a", 1 << 31), 0xE40C_292C & 0x7FFF_FFFF);
        for s in ["85123A", "22423", "x"] {
            assert!(shard_of(s, 7) < 7);
            assert_eq!(shard_of(s, 7), shard_of(s, 7));
        }
        assert_eq!(shard_of("abc", 0), 0);
    }
}
