//! NDJSON copies of published tables (the credit-platform feed): one JSON object per row, typed
//! values (numbers, booleans, null, lists as arrays, dates as `YYYY-MM-DD`). Streamed to the
//! object store batch by batch.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type, UInt64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::lake::Lake;

pub struct NdjsonWriter {
    upload: BufWriter,
    path: String,
}

/// One cell as JSON.
fn value(col: &ArrayRef, row: usize) -> Result<Value> {
    if col.is_null(row) {
        return Ok(Value::Null);
    }
    Ok(match col.data_type() {
        DataType::Boolean => Value::Bool(col.as_boolean().value(row)),
        DataType::Int32 => col.as_primitive::<Int32Type>().value(row).into(),
        DataType::Int64 => col.as_primitive::<Int64Type>().value(row).into(),
        DataType::UInt64 => col.as_primitive::<UInt64Type>().value(row).into(),
        DataType::Float64 => {
            serde_json::Number::from_f64(col.as_primitive::<Float64Type>().value(row))
                .map_or(Value::Null, Value::Number)
        }
        DataType::List(_) => {
            let items = col.as_list::<i32>().value(row);
            Value::Array(
                (0..items.len())
                    .map(|i| value(&items, i))
                    .collect::<Result<_>>()?,
            )
        }
        _ => {
            // Strings of every layout and dates: their display form.
            let f = ArrayFormatter::try_new(col.as_ref(), &FormatOptions::default())?;
            Value::String(f.value(row).to_string())
        }
    })
}

impl NdjsonWriter {
    pub fn new(lake: &Lake, path: &str) -> Self {
        NdjsonWriter {
            upload: BufWriter::new(lake.store(), Path::from(path)),
            path: path.to_string(),
        }
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }

    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let schema = batch.schema();
        let mut bytes = Vec::new();
        // Keys in column order (the data dictionary's), so the object is written by hand.
        for row in 0..batch.num_rows() {
            bytes.push(b'{');
            for (i, (field, col)) in schema.fields().iter().zip(batch.columns()).enumerate() {
                if i > 0 {
                    bytes.push(b',');
                }
                serde_json::to_writer(&mut bytes, field.name()).expect("JSON to memory");
                bytes.push(b':');
                serde_json::to_writer(&mut bytes, &value(col, row)?).expect("JSON to memory");
            }
            bytes.extend_from_slice(b"}\n");
        }
        let result = self.upload.write_all(&bytes).await;
        result.map_err(|e| self.io(e))
    }

    pub async fn finish(mut self) -> Result<()> {
        let result = self.upload.shutdown().await;
        result.map_err(|e| self.io(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{BooleanArray, Float64Array, Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn typed_values() {
        let batch = RecordBatch::try_from_iter(vec![
            (
                "id",
                Arc::new(StringArray::from(vec![Some("U1"), None])) as ArrayRef,
            ),
            ("points", Arc::new(Int64Array::from(vec![950, 700])) as _),
            ("p", Arc::new(Float64Array::from(vec![0.25, f64::NAN])) as _),
            ("flag", Arc::new(BooleanArray::from(vec![true, false])) as _),
        ])
        .unwrap();
        let row = |r| -> Vec<Value> {
            batch
                .columns()
                .iter()
                .map(|c| value(c, r).unwrap())
                .collect()
        };
        assert_eq!(
            row(0),
            vec![
                Value::from("U1"),
                Value::from(950),
                Value::from(0.25),
                Value::from(true)
            ]
        );
        assert_eq!(
            row(1),
            vec![
                Value::Null,
                Value::from(700),
                Value::Null,
                Value::from(false)
            ]
        );
    }
}
