//! Opening input files: plain or gzip (detected by magic bytes), with an
//! optional progress bar over the bytes read.
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressStyle};

use super::error::InputError;

/// Opens `path` for reading, inflating it when it is gzip-compressed.
/// The bar (if any) counts compressed bytes against the file size.
pub fn open(path: &Path, progress: bool) -> Result<Box<dyn BufRead + Send>, InputError> {
    let file = File::open(path).map_err(|e| InputError::file(path, format!("cannot open: {e}")))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let magic = reader
        .fill_buf()
        .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
    let gz = magic.len() >= 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    let inner: Box<dyn Read + Send> = if progress {
        let bar = ProgressBar::new(size);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(format!(
            "reading {}",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        Box::new(bar.wrap_read(reader))
    } else {
        Box::new(reader)
    };
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            1 << 20,
            MultiGzDecoder::new(inner),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 20, inner))
    })
}

/// What the start of a regular input file tells before it is read.
#[derive(Debug, Clone, Copy)]
pub struct FileHead {
    /// Length in bytes.
    pub len: u64,
    /// Starts with gzip's magic bytes.
    pub gzip: bool,
    /// Starts with Parquet's `PAR1`.
    pub parquet: bool,
}

/// The [`FileHead`] of `path`; `None` when it is not a regular file (a
/// pipe's bytes must be left for [`open`]) or cannot be read here (`open`
/// reports that).
pub fn file_head(path: &Path) -> Option<FileHead> {
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut f = File::open(path).ok()?;
    let mut magic = [0u8; 4];
    let n = f.read(&mut magic).ok()?;
    Some(FileHead {
        len: f.metadata().ok()?.len(),
        gzip: n >= 2 && magic[..2] == [0x1f, 0x8b],
        parquet: n == 4 && &magic == b"PAR1",
    })
}

/// `csv`, `jsonl` or `parquet` for `path`: the override if given, else by
/// file name (`.jsonl`, `.ndjson`, `.json`, optionally followed by `.gz`;
/// `.parquet`, `.pq`) or a Parquet file's `PAR1` magic (`head`), else `csv`.
pub fn format_of(path: &Path, over: Option<&str>, head: Option<FileHead>) -> &'static str {
    if let Some(f) = over {
        return match f {
            "jsonl" => "jsonl",
            "parquet" => "parquet",
            _ => "csv",
        };
    }
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".parquet") || name.ends_with(".pq") || head.is_some_and(|h| h.parquet) {
        return "parquet";
    }
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json") {
        "jsonl"
    } else {
        "csv"
    }
}
