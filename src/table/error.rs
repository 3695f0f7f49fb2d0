//! Errors raised while decoding a table value.
use std::fmt;

/// Why a table value could not be decoded. Decoding never panics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableError {
    /// Shorter than the envelope header.
    TooShort(usize),
    /// Not a table value (wrong magic bytes).
    BadMagic,
    /// Written by a format this reader does not know.
    UnsupportedVersion {
        /// Format version found in the value.
        found: u16,
        /// Format version this reader decodes.
        supported: u16,
    },
    /// A value of another kind (e.g. facts where a shard was expected).
    WrongKind {
        /// Kind byte expected.
        expected: u8,
        /// Kind byte found.
        found: u8,
    },
    /// The payload does not match its checksum (corrupt or truncated).
    Checksum {
        /// Checksum stored in the header.
        expected: u32,
        /// Checksum of the payload as read.
        found: u32,
    },
    /// The compressed payload could not be inflated.
    Decompress(String),
    /// The payload is not a valid encoding of the expected structure.
    Decode(String),
    /// The structure decoded but is inconsistent (lengths, ids out of range).
    Invalid(String),
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::TooShort(n) => write!(f, "table value too short ({n} bytes)"),
            TableError::BadMagic => write!(f, "not a table value (bad magic)"),
            TableError::UnsupportedVersion { found, supported } => write!(
                f,
                "table format version {found} is not supported (this reader decodes {supported})"
            ),
            TableError::WrongKind { expected, found } => {
                write!(f, "table value of kind {found}, expected kind {expected}")
            }
            TableError::Checksum { expected, found } => write!(
                f,
                "table value checksum mismatch (header {expected:08x}, payload {found:08x})"
            ),
            TableError::Decompress(e) => write!(f, "table value does not inflate: {e}"),
            TableError::Decode(e) => write!(f, "table value does not decode: {e}"),
            TableError::Invalid(e) => write!(f, "table value is inconsistent: {e}"),
        }
    }
}

impl std::error::Error for TableError {}
