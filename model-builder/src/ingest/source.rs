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

/// `csv`, `jsonl` or `parquet` for `path`: the override if given, else by
/// file name (`.jsonl`, `.ndjson`, `.json`, optionally followed by `.gz`;
/// `.parquet`, `.pq`) or a Parquet file's `PAR1` magic, else `csv`.
pub fn format_of(path: &Path, over: Option<&str>) -> &'static str {
    if let Some(f) = over {
        return match f {
            "jsonl" => "jsonl",
            "parquet" => "parquet",
            _ => "csv",
        };
    }
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".parquet") || name.ends_with(".pq") || has_parquet_magic(path) {
        return "parquet";
    }
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json") {
        "jsonl"
    } else {
        "csv"
    }
}

/// Whether the regular file at `path` starts with Parquet's `PAR1`.
fn has_parquet_magic(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
        && File::open(path).is_ok_and(|mut f| f.read_exact(&mut magic).is_ok())
        && &magic == b"PAR1"
}
