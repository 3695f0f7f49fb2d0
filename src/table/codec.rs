//! The envelope every table value is stored in:
//! `magic "UPST" | format u16 LE | kind u8 | crc32 u32 LE | deflate(msgpack)`.
//! The checksum covers the compressed payload, so corruption is caught before
//! inflating.
use serde::{de::DeserializeOwned, Serialize};

use super::checksum::crc32;
use super::error::TableError;

/// Version of the table format written by this code; readers reject others.
pub const FORMAT_VERSION: u16 = 2;

const MAGIC: &[u8; 4] = b"UPST";
const HEADER: usize = 4 + 2 + 1 + 4;
/// Largest inflated payload accepted (KV values are at most 25 MiB).
const MAX_INFLATED: usize = 256 << 20;

/// What a table value holds (the kind byte of the envelope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A neighbour shard.
    Neighbours = 1,
    /// The table's offer facts.
    Facts = 2,
    /// A catalog (display details) shard.
    Catalog = 3,
}

/// Serialises `value` with msgpack, compresses it and wraps it in the envelope.
pub fn seal<T: Serialize>(kind: Kind, value: &T) -> Vec<u8> {
    seal_columns(kind, value, &[])
}

/// Like [`seal`], but the last `tail.len()` runs of the serialised value (of
/// the given byte lengths, in order) each start a new deflate block, so every
/// column gets a Huffman code of its own instead of one shared with unlike
/// data. The stream stays plain deflate: readers need no change.
pub fn seal_columns<T: Serialize>(kind: Kind, value: &T, tail: &[usize]) -> Vec<u8> {
    let raw = rmp_serde::to_vec(value).expect("table structures always serialise");
    let packed = deflate_segments(&raw, tail);
    let mut out = Vec::with_capacity(HEADER + packed.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&crc32(&packed).to_le_bytes());
    out.extend_from_slice(&packed);
    out
}

/// Raw deflate (level 9) of `raw`, with a block boundary (a sync flush) before
/// each of the trailing runs whose lengths `tail` gives.
fn deflate_segments(raw: &[u8], tail: &[usize]) -> Vec<u8> {
    use miniz_oxide::deflate::core::{
        compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
    };
    let tail_len: usize = tail.iter().sum();
    assert!(tail_len <= raw.len(), "column runs longer than the value");
    let mut cuts = vec![raw.len() - tail_len];
    for &len in tail {
        cuts.push(cuts[cuts.len() - 1] + len);
    }
    let mut compressor = CompressorOxide::new(create_comp_flags_from_zip_params(9, 0, 0));
    let mut out = vec![0u8; raw.len() / 2 + 64];
    let (mut at, mut written) = (0usize, 0usize);
    for (i, &end) in cuts.iter().enumerate() {
        let flush = if i + 1 == cuts.len() {
            TDEFLFlush::Finish
        } else {
            TDEFLFlush::Sync
        };
        loop {
            let (status, used, produced) =
                compress(&mut compressor, &raw[at..end], &mut out[written..], flush);
            at += used;
            written += produced;
            match status {
                TDEFLStatus::Done => break,
                TDEFLStatus::Okay if at == end && out.len() - written >= 64 => break,
                TDEFLStatus::Okay => out.resize(out.len() * 2 + 64, 0),
                _ => panic!("deflate failed: {status:?}"),
            }
        }
    }
    out.truncate(written);
    out
}

/// Checks the envelope (magic, version, kind, checksum), inflates and decodes.
pub fn open<T: DeserializeOwned>(kind: Kind, bytes: &[u8]) -> Result<T, TableError> {
    let raw = inflate(kind, bytes)?;
    rmp_serde::from_slice(&raw).map_err(|e| TableError::Decode(e.to_string()))
}

/// Checks the envelope (magic, version, kind, checksum) and returns the
/// inflated msgpack, for readers that decode it borrowing its strings.
pub fn inflate(kind: Kind, bytes: &[u8]) -> Result<Vec<u8>, TableError> {
    if bytes.len() < HEADER {
        return Err(TableError::TooShort(bytes.len()));
    }
    if &bytes[0..4] != MAGIC {
        return Err(TableError::BadMagic);
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != FORMAT_VERSION {
        return Err(TableError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if bytes[6] != kind as u8 {
        return Err(TableError::WrongKind {
            expected: kind as u8,
            found: bytes[6],
        });
    }
    let expected = u32::from_le_bytes([bytes[7], bytes[8], bytes[9], bytes[10]]);
    let payload = &bytes[HEADER..];
    let found = crc32(payload);
    if expected != found {
        return Err(TableError::Checksum { expected, found });
    }
    miniz_oxide::inflate::decompress_to_vec_with_limit(payload, MAX_INFLATED)
        .map_err(|e| TableError::Decompress(format!("{:?}", e.status)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_blocks_inflate_to_the_same_value() {
        let mut x = 0x9e37_79b9_u32;
        let noise: Vec<u8> = (0..20_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let v: (u32, Vec<u32>, Vec<u8>, Vec<u8>) = (7, (0..300).collect(), vec![3; 5000], noise);
        let cols = [
            rmp_serde::to_vec(&v.2).unwrap().len(),
            rmp_serde::to_vec(&v.3).unwrap().len(),
        ];
        let bytes = seal_columns(Kind::Facts, &v, &cols);
        assert_eq!(
            open::<(u32, Vec<u32>, Vec<u8>, Vec<u8>)>(Kind::Facts, &bytes).unwrap(),
            v
        );
        let empty: Vec<u8> = Vec::new();
        let bytes = seal_columns(Kind::Facts, &empty, &[1]);
        assert_eq!(open::<Vec<u8>>(Kind::Facts, &bytes).unwrap(), empty);
    }

    #[test]
    fn envelope_roundtrip_and_rejections() {
        let v: Vec<u32> = (0..100).collect();
        let bytes = seal(Kind::Facts, &v);
        assert_eq!(open::<Vec<u32>>(Kind::Facts, &bytes).unwrap(), v);
        assert!(matches!(
            open::<Vec<u32>>(Kind::Neighbours, &bytes),
            Err(TableError::WrongKind { .. })
        ));
        let mut old = bytes.clone();
        old[4] = 0;
        assert!(matches!(
            open::<Vec<u32>>(Kind::Facts, &old),
            Err(TableError::UnsupportedVersion { found: 0, .. })
        ));
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x40;
        assert!(matches!(
            open::<Vec<u32>>(Kind::Facts, &bad),
            Err(TableError::Checksum { .. })
        ));
        assert!(matches!(
            open::<Vec<u32>>(Kind::Facts, &bytes[..5]),
            Err(TableError::TooShort(5))
        ));
        assert!(matches!(
            open::<Vec<u32>>(Kind::Facts, b"XXXXXXXXXXXXXXXX"),
            Err(TableError::BadMagic)
        ));
    }
}
