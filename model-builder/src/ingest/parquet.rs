//! Parquet order exports (BI warehouses: BigQuery, Snowflake, Spark,
//! DuckDB): the needed columns of each row, as text, for the same row checks
//! CSV and JSON Lines go through. Errors name the file, the row (1-based, in
//! place of a line) and the column.
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::schema::types::Type;

use super::error::InputError;

/// Calls `each(row, values)` for every row of the Parquet file at `path`,
/// `values[i]` being the text of column `cols[i]` (`None` when the column is
/// absent or the value null). `required` are the indexes of `cols` a file
/// must have.
pub fn read_rows(
    path: &Path,
    cols: &[String],
    required: &[usize],
    mut each: impl FnMut(u64, &[Option<String>]) -> Result<(), InputError>,
) -> Result<(), InputError> {
    let fail = |m: String| InputError::file(path, m);
    let file = File::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
    let reader =
        SerializedFileReader::new(file).map_err(|e| fail(format!("not a Parquet file: {e}")))?;
    let root = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema();
    let present: Vec<&str> = root.get_fields().iter().map(|f| f.name()).collect();
    for &i in required {
        if !present.contains(&cols[i].as_str()) {
            return Err(InputError {
                field: Some(cols[i].clone()),
                ..fail(format!(
                    "required column missing from the schema (columns: {})",
                    present.join(" | ")
                ))
            });
        }
    }
    // Read only the columns asked for.
    let wanted: Vec<Arc<Type>> = root
        .get_fields()
        .iter()
        .filter(|f| cols.iter().any(|c| c == f.name()))
        .cloned()
        .collect();
    let projection = Type::group_type_builder(root.name())
        .with_fields(wanted)
        .build()
        .map_err(|e| fail(format!("cannot select columns: {e}")))?;
    let rows = reader
        .get_row_iter(Some(projection))
        .map_err(|e| fail(format!("cannot read rows: {e}")))?;
    let mut values: Vec<Option<String>> = vec![None; cols.len()];
    for (n, row) in rows.enumerate() {
        let n = n as u64 + 1;
        let row = row.map_err(|e| InputError::at(path, n, None, format!("cannot read: {e}")))?;
        values.iter_mut().for_each(|v| *v = None);
        for (name, field) in row.get_column_iter() {
            let text =
                text_of(field).map_err(|why| InputError::at(path, n, Some(name.as_str()), why))?;
            for (i, c) in cols.iter().enumerate() {
                if c == name {
                    values[i].clone_from(&text);
                }
            }
        }
        each(n, &values)?;
    }
    Ok(())
}

/// A value as the text an export would hold: numbers as written, dates and
/// timestamps as Unix seconds (which the timestamp reader takes).
fn text_of(field: &Field) -> Result<Option<String>, String> {
    Ok(Some(match field {
        Field::Null => return Ok(None),
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => {
            String::from_utf8(b.data().to_vec()).map_err(|_| "not valid UTF-8 text".to_string())?
        }
        Field::Bool(b) => b.to_string(),
        Field::Byte(x) => x.to_string(),
        Field::Short(x) => x.to_string(),
        Field::Int(x) => x.to_string(),
        Field::Long(x) => x.to_string(),
        Field::UByte(x) => x.to_string(),
        Field::UShort(x) => x.to_string(),
        Field::UInt(x) => x.to_string(),
        Field::ULong(x) => x.to_string(),
        Field::Float16(x) => f32::from(*x).to_string(),
        Field::Float(x) => x.to_string(),
        Field::Double(x) => x.to_string(),
        Field::Decimal(d) => decimal_text(d.data(), d.scale())?,
        Field::Date(days) => (i64::from(*days) * 86_400).to_string(),
        Field::TimestampMillis(ms) => ms.div_euclid(1_000).to_string(),
        Field::TimestampMicros(us) => us.div_euclid(1_000_000).to_string(),
        other => return Err(format!("unsupported Parquet value {other}")),
    }))
}

/// A Parquet DECIMAL (big-endian two's complement, `scale` digits after the
/// point) as decimal text.
fn decimal_text(bytes: &[u8], scale: i32) -> Result<String, String> {
    if bytes.is_empty() || bytes.len() > 16 || !(0..=38).contains(&scale) {
        return Err(format!(
            "unsupported DECIMAL ({} bytes, scale {scale})",
            bytes.len()
        ));
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut be = [fill; 16];
    be[16 - bytes.len()..].copy_from_slice(bytes);
    let v = i128::from_be_bytes(be);
    let digits = v.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, frac) = padded.split_at(padded.len() - scale);
    let sign = if v < 0 { "-" } else { "" };
    Ok(if scale == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{frac}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_their_scale_and_sign() {
        assert_eq!(decimal_text(&[0x01, 0x00], 2).unwrap(), "2.56");
        assert_eq!(decimal_text(&[0xff, 0x01], 2).unwrap(), "-2.55");
        assert_eq!(decimal_text(&[0x05], 3).unwrap(), "0.005");
        assert_eq!(decimal_text(&[0x7f], 0).unwrap(), "127");
        assert!(decimal_text(&[], 2).is_err());
    }
}
