//! A configuration problem, named by file, line and dotted key.
use std::fmt;

/// One problem found in the configuration files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConfigError {
    /// File the problem is in (as given by the loader, e.g. `brands/gifts.toml`).
    pub file: String,
    /// 1-based line of the offending key, when known.
    pub line: Option<u32>,
    /// Dotted key path (`offers.count`, `experiments[0].arms`); empty for the whole file.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// Builds an error without a line number.
    pub fn new(file: &str, key: &str, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_string(),
            line: None,
            key: key.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}
