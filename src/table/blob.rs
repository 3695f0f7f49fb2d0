//! Byte columns: a `Vec<u8>` serialised as msgpack `bin` (not an array of
//! integers), and LEB128 varints inside it.
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Bytes stored as one msgpack `bin` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Blob(pub Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

struct BlobVisitor;

impl<'de> Visitor<'de> for BlobVisitor {
    type Value = Blob;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Blob, E> {
        Ok(Blob(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Blob, E> {
        Ok(Blob(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Blob, A::Error> {
        let mut v = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            v.push(b);
        }
        Ok(Blob(v))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Blob, D::Error> {
        d.deserialize_bytes(BlobVisitor)
    }
}

/// Appends `x` as an unsigned LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut x: u32) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Reads a varint at `*at`, advancing it; `None` if truncated or too long.
pub(crate) fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u32> {
    let mut x: u64 = 0;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        x |= ((b & 0x7F) as u64) << shift;
        if b & 0x80 == 0 {
            return u32::try_from(x).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_roundtrip_and_reject_truncation() {
        let mut v = Vec::new();
        let xs = [0u32, 1, 127, 128, 300, 16_383, 16_384, u32::MAX];
        for &x in &xs {
            put_varint(&mut v, x);
        }
        let mut at = 0;
        for &x in &xs {
            assert_eq!(get_varint(&v, &mut at), Some(x));
        }
        assert_eq!(at, v.len());
        assert_eq!(get_varint(&[0x80, 0x80], &mut 0), None);
        assert_eq!(
            get_varint(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], &mut 0),
            None
        );
        let b = Blob(vec![1, 2, 200]);
        let packed = rmp_serde::to_vec(&b).unwrap();
        assert_eq!(packed.len(), 2 + 3, "msgpack bin 8");
        assert_eq!(rmp_serde::from_slice::<Blob>(&packed).unwrap(), b);
    }
}
