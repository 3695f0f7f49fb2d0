//! UTF-8 (and windows-1252) implementation of the `encoding_rs` 0.8 API
//! subset lol_html uses.
//!
//! The edge worker rewrites UTF-8 pages only (see this crate's README.md), so
//! the legacy encodings' decoders, encoders and index tables that the registry
//! `encoding_rs` links into the wasm are dead weight. Every entry point here
//! behaves as `encoding_rs` does for `UTF_8` and `WINDOWS_1252` (which
//! lol_html uses to print bytes for debugging); labels of other encodings are
//! not recognised.

#![forbid(unsafe_op_in_unsafe_fn)]

mod single_byte;

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};

/// An encoding: [`UTF_8`] or [`WINDOWS_1252`].
pub struct Encoding {
    name: &'static str,
    kind: Kind,
}

/// Which coder an [`Encoding`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Utf8,
    Windows1252,
}

/// The initializer of [`UTF_8`]; compare encodings through `UTF_8`, not this.
pub static UTF_8_INIT: Encoding = Encoding {
    name: "UTF-8",
    kind: Kind::Utf8,
};

/// The UTF-8 encoding.
pub static UTF_8: &Encoding = &UTF_8_INIT;

/// The initializer of [`WINDOWS_1252`]; compare through `WINDOWS_1252`.
pub static WINDOWS_1252_INIT: Encoding = Encoding {
    name: "windows-1252",
    kind: Kind::Windows1252,
};

/// The windows-1252 encoding (what the WHATWG standard maps Latin-1 and ASCII labels to).
pub static WINDOWS_1252: &Encoding = &WINDOWS_1252_INIT;

/// WHATWG Encoding Standard labels of UTF-8, lower case.
const UTF_8_LABELS: [&[u8]; 6] = [
    b"unicode-1-1-utf-8",
    b"unicode11utf8",
    b"unicode20utf8",
    b"utf-8",
    b"utf8",
    b"x-unicode20utf8",
];

/// U+FFFD REPLACEMENT CHARACTER in UTF-8.
const REPLACEMENT: &[u8; 3] = b"\xEF\xBF\xBD";

impl Encoding {
    /// The encoding a WHATWG label names, if it is UTF-8 or windows-1252
    /// (ASCII case and surrounding ASCII whitespace ignored); `None` for any
    /// other label.
    pub fn for_label(label: &[u8]) -> Option<&'static Encoding> {
        let trimmed = label.trim_ascii();
        let is = |labels: &[&[u8]]| labels.iter().any(|l| l.eq_ignore_ascii_case(trimmed));
        if is(&UTF_8_LABELS) {
            Some(UTF_8)
        } else if is(&single_byte::WINDOWS_1252_LABELS) {
            Some(WINDOWS_1252)
        } else {
            None
        }
    }

    /// As [`Encoding::for_label`] (UTF-8 is never the replacement encoding).
    pub fn for_label_no_replacement(label: &[u8]) -> Option<&'static Encoding> {
        Encoding::for_label(label)
    }

    /// The encoding's canonical name.
    pub fn name(&'static self) -> &'static str {
        self.name
    }

    /// Whether ASCII bytes mean ASCII characters in this encoding (true for both).
    pub fn is_ascii_compatible(&'static self) -> bool {
        true
    }

    /// The encoding used when encoding text in this one (itself for UTF-8).
    pub fn output_encoding(&'static self) -> &'static Encoding {
        self
    }

    /// Decodes `bytes`; a UTF-8 byte order mark switches to (and is stripped
    /// as) UTF-8; malformed UTF-8 becomes U+FFFD. Returns the text, the
    /// encoding used, and whether anything was replaced.
    pub fn decode<'a>(&'static self, bytes: &'a [u8]) -> (Cow<'a, str>, &'static Encoding, bool) {
        match bytes.strip_prefix(b"\xEF\xBB\xBF") {
            Some(without_bom) => {
                let (text, replaced) = UTF_8.decode_without_bom_handling(without_bom);
                (text, UTF_8, replaced)
            }
            None => {
                let (text, replaced) = self.decode_without_bom_handling(bytes);
                (text, self, replaced)
            }
        }
    }

    /// Decodes `bytes` without looking for a byte order mark.
    pub fn decode_without_bom_handling<'a>(&'static self, bytes: &'a [u8]) -> (Cow<'a, str>, bool) {
        match self.kind {
            Kind::Utf8 => {
                let text = String::from_utf8_lossy(bytes);
                let replaced = matches!(text, Cow::Owned(_));
                (text, replaced)
            }
            Kind::Windows1252 => (single_byte::decode(bytes), false),
        }
    }

    /// Encodes `string`; characters the encoding lacks become HTML decimal
    /// numeric character references, reported by the returned flag.
    pub fn encode<'a>(&'static self, string: &'a str) -> (Cow<'a, [u8]>, &'static Encoding, bool) {
        match self.kind {
            Kind::Utf8 => (Cow::Borrowed(string.as_bytes()), self, false),
            Kind::Windows1252 => {
                let (bytes, unmappable) = single_byte::encode(string);
                (bytes, self, unmappable)
            }
        }
    }

    /// A streaming decoder that does not look for a byte order mark.
    pub fn new_decoder_without_bom_handling(&'static self) -> Decoder {
        Decoder {
            encoding: self,
            pending: [0; 4],
            pending_len: 0,
        }
    }

    /// A streaming encoder.
    pub fn new_encoder(&'static self) -> Encoder {
        Encoder { encoding: self }
    }

    /// The length of the longest all-ASCII prefix of `bytes`.
    pub fn ascii_valid_up_to(bytes: &[u8]) -> usize {
        bytes
            .iter()
            .position(|b| !b.is_ascii())
            .unwrap_or(bytes.len())
    }
}

impl PartialEq for Encoding {
    fn eq(&self, other: &Encoding) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Encoding {}

impl Hash for Encoding {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self as *const Encoding).hash(state);
    }
}

impl fmt::Debug for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Encoding {{ {} }}", self.name)
    }
}

/// Why a streaming coder call returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoderResult {
    /// All of the input was consumed.
    InputEmpty,
    /// The output buffer has no room for the next character.
    OutputFull,
}

/// A streaming UTF-8 decoder: validates, replaces malformed sequences with
/// U+FFFD, and carries a sequence split across input chunks to the next call.
pub struct Decoder {
    encoding: &'static Encoding,
    pending: [u8; 4],
    pending_len: usize,
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("pending", &&self.pending[..self.pending_len])
            .finish()
    }
}

/// The length of the sequence a UTF-8 lead byte starts (0 if it cannot lead one).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

/// Whether `byte` may follow `lead` at position `index` (≥ 1) of a sequence.
fn continues(lead: u8, index: usize, byte: u8) -> bool {
    let range = match (index, lead) {
        (1, 0xE0) => 0xA0..=0xBF,
        (1, 0xED) => 0x80..=0x9F,
        (1, 0xF0) => 0x90..=0xBF,
        (1, 0xF4) => 0x80..=0x8F,
        _ => 0x80..=0xBF,
    };
    range.contains(&byte)
}

impl Decoder {
    /// The encoding this decoder decodes.
    pub fn encoding(&self) -> &'static Encoding {
        self.encoding
    }

    /// Decodes `src` into `dst`; returns why it stopped, the bytes read, the
    /// bytes written and whether anything was replaced. `dst` must have room
    /// for at least four bytes for the call to make progress.
    pub fn decode_to_str(
        &mut self,
        src: &[u8],
        dst: &mut str,
        last: bool,
    ) -> (CoderResult, usize, usize, bool) {
        // SAFETY: only whole, valid UTF-8 sequences are written, and the
        // continuation bytes they may have orphaned in the old contents after
        // them are zeroed before `dst` is a `str` again (as encoding_rs does).
        let out = unsafe { dst.as_bytes_mut() };
        let mut sink = Sink { out, written: 0 };
        let (result, read, replaced) = match self.encoding.kind {
            Kind::Utf8 => self.decode_into(src, &mut sink, last),
            Kind::Windows1252 => single_byte::decode_into(src, &mut sink),
        };
        let written = sink.written;
        for byte in sink.out[written..].iter_mut().take(3) {
            if *byte & 0xC0 != 0x80 {
                break;
            }
            *byte = 0;
        }
        (result, read, written, replaced)
    }

    fn decode_into(
        &mut self,
        src: &[u8],
        sink: &mut Sink<'_>,
        last: bool,
    ) -> (CoderResult, usize, bool) {
        let mut read = 0;
        let mut replaced = false;
        if self.pending_len > 0 {
            if sink.room() < 4 {
                return (CoderResult::OutputFull, 0, false);
            }
            let lead = self.pending[0];
            let need = sequence_len(lead);
            while self.pending_len < need && read < src.len() {
                let byte = src[read];
                if !continues(lead, self.pending_len, byte) {
                    break;
                }
                self.pending[self.pending_len] = byte;
                self.pending_len += 1;
                read += 1;
            }
            if self.pending_len == need {
                sink.push(&self.pending[..need]);
                self.pending_len = 0;
            } else if read < src.len() || last {
                // Cut short by a byte that cannot continue it (reprocessed
                // below), or by the end of the input.
                sink.push(REPLACEMENT);
                replaced = true;
                self.pending_len = 0;
            } else {
                return (CoderResult::InputEmpty, read, false);
            }
        }
        loop {
            let rest = &src[read..];
            if rest.is_empty() {
                return (CoderResult::InputEmpty, read, replaced);
            }
            let window = rest.len().min(sink.room());
            match std::str::from_utf8(&rest[..window]) {
                Ok(_) => {
                    sink.push(&rest[..window]);
                    read += window;
                    if window < rest.len() {
                        return (CoderResult::OutputFull, read, replaced);
                    }
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    sink.push(&rest[..valid]);
                    read += valid;
                    match e.error_len() {
                        Some(bad) => {
                            if sink.room() < REPLACEMENT.len() {
                                return (CoderResult::OutputFull, read, replaced);
                            }
                            sink.push(REPLACEMENT);
                            replaced = true;
                            read += bad;
                        }
                        // The window ends inside a sequence the output cut short.
                        None if window < rest.len() => {
                            if valid == 0 {
                                return (CoderResult::OutputFull, read, replaced);
                            }
                        }
                        // The input ends inside a sequence.
                        None => {
                            let tail = &rest[valid..];
                            if last {
                                if sink.room() < REPLACEMENT.len() {
                                    return (CoderResult::OutputFull, read, replaced);
                                }
                                sink.push(REPLACEMENT);
                                replaced = true;
                            } else {
                                self.pending[..tail.len()].copy_from_slice(tail);
                                self.pending_len = tail.len();
                            }
                            return (CoderResult::InputEmpty, src.len(), replaced);
                        }
                    }
                }
            }
        }
    }
}

/// The output side of a decode call.
pub(crate) struct Sink<'a> {
    out: &'a mut [u8],
    written: usize,
}

impl Sink<'_> {
    pub(crate) fn room(&self) -> usize {
        self.out.len() - self.written
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.out[self.written..self.written + bytes.len()].copy_from_slice(bytes);
        self.written += bytes.len();
    }
}

/// A streaming encoder (for UTF-8, a copy that never splits a character).
#[derive(Debug)]
pub struct Encoder {
    encoding: &'static Encoding,
}

impl Encoder {
    /// The encoding this encoder encodes into.
    pub fn encoding(&self) -> &'static Encoding {
        self.encoding
    }

    /// Whether the encoder holds state between calls (never, for UTF-8).
    pub fn has_pending_state(&self) -> bool {
        false
    }

    /// Encodes as much of `src` into `dst` as fits without splitting a
    /// character; returns why it stopped, bytes read, bytes written, and
    /// whether anything was unmappable (written as a numeric character reference).
    pub fn encode_from_utf8(
        &mut self,
        src: &str,
        dst: &mut [u8],
        _last: bool,
    ) -> (CoderResult, usize, usize, bool) {
        if self.encoding.kind == Kind::Windows1252 {
            return single_byte::encode_into(src, dst);
        }
        let mut n = src.len().min(dst.len());
        while !src.is_char_boundary(n) {
            n -= 1;
        }
        dst[..n].copy_from_slice(&src.as_bytes()[..n]);
        let result = if n == src.len() {
            CoderResult::InputEmpty
        } else {
            CoderResult::OutputFull
        };
        (result, n, n, false)
    }
}

#[cfg(test)]
mod tests;
