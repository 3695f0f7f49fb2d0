//! windows-1252: the WHATWG decoding of Latin-1 and ASCII labels.

use crate::{CoderResult, Sink};
use std::borrow::Cow;

/// WHATWG Encoding Standard labels of windows-1252, lower case.
pub(crate) const WINDOWS_1252_LABELS: [&[u8]; 17] = [
    b"ansi_x3.4-1968",
    b"ascii",
    b"cp1252",
    b"cp819",
    b"csisolatin1",
    b"ibm819",
    b"iso-8859-1",
    b"iso-ir-100",
    b"iso8859-1",
    b"iso88591",
    b"iso_8859-1",
    b"iso_8859-1:1987",
    b"l1",
    b"latin1",
    b"us-ascii",
    b"windows-1252",
    b"x-cp1252",
];

/// Code points of bytes 0x80–0x9F (0xA0–0xFF are Latin-1's own).
const HIGH: [u16; 32] = [
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
];

/// The character a byte stands for (every byte maps to one).
fn char_of(byte: u8) -> char {
    match byte {
        0x80..=0x9F => {
            char::from_u32(u32::from(HIGH[usize::from(byte - 0x80)])).unwrap_or('\u{FFFD}')
        }
        _ => char::from(byte),
    }
}

/// The byte a character is written as, if the encoding has it.
fn byte_of(c: char) -> Option<u8> {
    match u32::from(c) {
        n @ (0..=0x7F | 0xA0..=0xFF) => u8::try_from(n).ok(),
        n => HIGH
            .iter()
            .position(|&h| u32::from(h) == n)
            .and_then(|i| u8::try_from(0x80 + i).ok()),
    }
}

/// Decodes a whole buffer.
pub(crate) fn decode(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.is_ascii() {
        // ASCII is valid UTF-8 as it stands.
        return String::from_utf8_lossy(bytes);
    }
    Cow::Owned(bytes.iter().map(|&b| char_of(b)).collect())
}

/// Decodes into `sink` until the input or the room runs out.
pub(crate) fn decode_into(src: &[u8], sink: &mut Sink<'_>) -> (CoderResult, usize, bool) {
    for (read, &byte) in src.iter().enumerate() {
        let mut utf8 = [0; 4];
        let encoded = char_of(byte).encode_utf8(&mut utf8);
        if sink.room() < encoded.len() {
            return (CoderResult::OutputFull, read, false);
        }
        sink.push(encoded.as_bytes());
    }
    (CoderResult::InputEmpty, src.len(), false)
}

/// Writes `c` to `out`: its byte, or a decimal numeric character reference.
fn write_char(c: char, out: &mut Vec<u8>) -> bool {
    match byte_of(c) {
        Some(b) => {
            out.push(b);
            false
        }
        None => {
            out.extend_from_slice(format!("&#{};", u32::from(c)).as_bytes());
            true
        }
    }
}

/// Encodes a whole string.
pub(crate) fn encode(text: &str) -> (Cow<'_, [u8]>, bool) {
    if text.is_ascii() {
        return (Cow::Borrowed(text.as_bytes()), false);
    }
    let mut out = Vec::with_capacity(text.len());
    let mut unmappable = false;
    for c in text.chars() {
        unmappable |= write_char(c, &mut out);
    }
    (Cow::Owned(out), unmappable)
}

/// Encodes into `dst` until the input or the room runs out.
pub(crate) fn encode_into(src: &str, dst: &mut [u8]) -> (CoderResult, usize, usize, bool) {
    let (mut written, mut unmappable) = (0, false);
    let mut scratch = Vec::with_capacity(12);
    for (read, c) in src.char_indices() {
        scratch.clear();
        let this_unmappable = write_char(c, &mut scratch);
        if dst.len() - written < scratch.len() {
            return (CoderResult::OutputFull, read, written, unmappable);
        }
        dst[written..written + scratch.len()].copy_from_slice(&scratch);
        written += scratch.len();
        unmappable |= this_unmappable;
    }
    (CoderResult::InputEmpty, src.len(), written, unmappable)
}
