//! Input errors that name the file, the line and the field.
use std::fmt;
use std::path::{Path, PathBuf};

/// A problem with an input file, located as precisely as known.
#[derive(Debug)]
pub struct InputError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line number, when the problem is in a row.
    pub line: Option<u64>,
    /// The field (canonical name or source column), when one is at fault.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    /// An error about `file` as a whole.
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        InputError {
            file: file.to_path_buf(),
            line: None,
            field: None,
            message: message.into(),
        }
    }

    /// An error in row `line` of `file`, optionally about `field`.
    pub fn at(file: &Path, line: u64, field: Option<&str>, message: impl Into<String>) -> Self {
        InputError {
            file: file.to_path_buf(),
            line: Some(line),
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for InputError {}
