//! Parquet inbox files (cargo feature `parquet`): each row as text in contract-field order, in
//! the contract's textual conventions, within the same [`Limits`] as CSV and NDJSON. Arrow and
//! Parquet 59, the versions DataFusion 55 uses; no DataFusion.

use arrow_array::cast::AsArray;
use arrow_array::Array;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::ChunkReader;

use crate::records::{
    clip, map_columns, oversize_cell, too_large_record, Each, Encoding, FileInfo, Format, Limits,
    Raw, RawRow, ReadError, CLIPPED_RAW_BYTES,
};
use crate::Source;

/// Rows per batch for reading a Parquet file within `budget` bytes a batch (at most `max`): the
/// widest row group's bytes per row decide, so a file of wide rows is read a few rows at a time.
pub fn batch_rows(metadata: &ParquetMetaData, budget: usize, max: usize) -> usize {
    let row_bytes = metadata
        .row_groups()
        .iter()
        .map(|rg| {
            let rows = u64::try_from(rg.num_rows()).unwrap_or(0).max(1);
            u64::try_from(rg.total_byte_size()).unwrap_or(u64::MAX) / rows
        })
        .max()
        .unwrap_or(0)
        .max(1);
    usize::try_from(budget as u64 / row_bytes)
        .unwrap_or(max)
        .clamp(1, max.max(1))
}

/// Bytes of decoded cells one Parquet batch may hold: the batch size follows the file's widest
/// row group, so that a file of huge cells is read a few rows at a time.
const PARQUET_BATCH_BYTES: usize = 32 << 20;

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

pub fn read_parquet<E>(
    file: impl ChunkReader + 'static,
    source: Source,
    limits: &Limits,
    each: &mut Each<'_, E>,
) -> Result<FileInfo, ReadError<E>> {
    let bad = |e: &dyn std::fmt::Display| {
        ReadError::Unreadable(format!("not a readable Parquet file: {e}"))
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(&e))?;
    let schema = builder.schema().clone();
    let (mapping, warnings) =
        map_columns(source, schema.fields().iter().map(|f| f.name().as_str()))?;
    let batch_rows = batch_rows(builder.metadata(), PARQUET_BATCH_BYTES, 16 * 1024);
    let reader = builder
        .with_batch_size(batch_rows)
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
            for (k, col) in columns.iter().enumerate() {
                fields[k] = col
                    .as_ref()
                    .and_then(|c| c[i].clone())
                    .filter(|c| !c.is_empty());
            }
            let bytes: usize = fields
                .iter()
                .map(|f| f.as_ref().map_or(0, String::len) + 1)
                .sum();
            let defect = oversize_cell(&mut fields, source, limits);
            let obj: serde_json::Map<String, serde_json::Value> = contract
                .iter()
                .zip(&fields)
                .filter_map(|(f, v)| Some((f.name.to_string(), v.clone()?.into())))
                .collect();
            let raw = serde_json::Value::Object(obj).to_string();
            if bytes > limits.record_bytes {
                fields.iter_mut().for_each(|f| *f = None);
                too_large_record(each, row, &raw, bytes, limits, &fields)?;
                continue;
            }
            let raw = match &defect {
                Some(_) => clip(&raw, CLIPPED_RAW_BYTES, raw.len()),
                None => raw,
            };
            each(RawRow {
                line: row,
                raw: Raw::Text(&raw),
                fields: &fields,
                defect,
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
