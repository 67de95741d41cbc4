//! Readers: turn one inbox file (CSV, NDJSON or Parquet) into a stream of rows whose cells are
//! text in contract-field order. CSV and NDJSON are the contract crate's
//! ([`firecredit_contract::records`]); Parquet needs Arrow, so it is read here.

use std::fs::File;
use std::path::Path;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::contract::records;
pub use crate::contract::records::{detect_encoding, Encoding, FileInfo, Format, RawRow};
use crate::contract::Source;
use crate::error::Error;

pub type ReadError = records::ReadError<Error>;
type Each<'f> = records::Each<'f, Error>;

/// Reads `path` as `format`, calling `each` once per data row.
pub fn read_file(
    path: &Path,
    format: Format,
    source: Source,
    each: &mut Each<'_>,
) -> Result<FileInfo, ReadError> {
    let file = File::open(path).map_err(|e| ReadError::Unreadable(format!("cannot open: {e}")))?;
    match format {
        Format::Csv => records::read_csv(file, source, each),
        Format::Ndjson => records::read_ndjson(file, source, each),
        Format::Parquet => read_parquet(file, source, each),
    }
}

/// Text of every row of one Parquet column, in the contract's textual conventions.
fn column_text(array: &dyn Array) -> Result<Vec<Option<String>>, String> {
    let n = array.len();
    let text = match array.data_type() {
        DataType::List(_) | DataType::LargeList(_) => {
            let list = array
                .as_list_opt::<i32>()
                .ok_or("only 32-bit lists are supported")?;
            (0..n)
                .map(|i| {
                    if list.is_null(i) {
                        return Ok(None);
                    }
                    let items = column_text(list.value(i).as_ref())?;
                    Ok(Some(
                        items.into_iter().flatten().collect::<Vec<_>>().join(";"),
                    ))
                })
                .collect::<Result<Vec<_>, String>>()?
        }
        _ => {
            let opts = FormatOptions::default();
            let fmt = ArrayFormatter::try_new(array, &opts).map_err(|e| e.to_string())?;
            (0..n)
                .map(|i| (!array.is_null(i)).then(|| fmt.value(i).to_string()))
                .collect()
        }
    };
    Ok(text)
}

fn read_parquet(file: File, source: Source, each: &mut Each<'_>) -> Result<FileInfo, ReadError> {
    let bad = |e: &dyn std::fmt::Display| {
        ReadError::Unreadable(format!("not a readable Parquet file: {e}"))
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(&e))?;
    let schema = builder.schema().clone();
    let (mapping, warnings) =
        records::map_columns(source, schema.fields().iter().map(|f| f.name().as_str()))?;
    let reader = builder
        .with_batch_size(16 * 1024)
        .build()
        .map_err(|e| bad(&e))?;
    let contract = source.fields();
    let mut fields: Vec<Option<String>> = vec![None; contract.len()];
    let mut row = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| bad(&e))?;
        let columns: Vec<Option<Vec<Option<String>>>> = mapping
            .iter()
            .map(|m| m.map(|c| column_text(batch.column(c).as_ref())).transpose())
            .collect::<Result<_, _>>()
            .map_err(|e| bad(&e))?;
        for i in 0..batch.num_rows() {
            row += 1;
            let mut obj = serde_json::Map::new();
            for (k, col) in columns.iter().enumerate() {
                fields[k] = col
                    .as_ref()
                    .and_then(|c| c[i].clone())
                    .filter(|c| !c.is_empty());
                if let Some(v) = &fields[k] {
                    obj.insert(contract[k].name.into(), v.clone().into());
                }
            }
            let raw = serde_json::Value::Object(obj).to_string();
            each(RawRow {
                line: row,
                raw: &raw,
                fields: &fields,
                defect: None,
            })
            .map_err(ReadError::Sink)?;
        }
    }
    Ok(FileInfo {
        format: Format::Parquet,
        encoding: Encoding::Binary,
        warnings,
    })
}
