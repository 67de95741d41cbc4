//! NDJSON copies of published tables (the credit-platform feed): one JSON object per row, typed
//! values (numbers, booleans, null, lists as arrays, dates as `YYYY-MM-DD`). Streamed to the
//! object store batch by batch.

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array,
    LargeStringArray, ListArray, RecordBatch, StringArray, StringViewArray, UInt64Array,
};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float64Type, Int32Type, Int64Type, UInt64Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use tokio::io::AsyncWriteExt;

use super::csv_out::push_date;
use crate::error::{Error, Result};
use crate::lake::writer::Upload;
use crate::lake::{Digest, Lake};

pub struct NdjsonWriter {
    upload: Upload,
    digest: Digest,
    path: String,
}

/// One column of a batch and how its cells are written, decided once per batch (the feed has
/// millions of cells): JSON text, numbers, booleans, null, lists as arrays, and anything else
/// (dates) as a string of its display form.
struct Cells<'a> {
    array: &'a dyn Array,
    kind: Kind<'a>,
}

enum Kind<'a> {
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Utf8View(&'a StringViewArray),
    Bool(&'a BooleanArray),
    Int32(&'a Int32Array),
    Int64(&'a Int64Array),
    UInt64(&'a UInt64Array),
    Float64(&'a Float64Array),
    /// Days as `"YYYY-MM-DD"` written directly for years 0 to 9999, else by the formatter.
    Date32(&'a Date32Array, ArrayFormatter<'a>),
    List(&'a ListArray, Box<Cells<'a>>),
    Display(ArrayFormatter<'a>),
}

impl<'a> Cells<'a> {
    fn new(array: &'a ArrayRef) -> Result<Self> {
        let kind = match array.data_type() {
            DataType::Utf8 => Kind::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Kind::LargeUtf8(array.as_string::<i64>()),
            DataType::Utf8View => Kind::Utf8View(array.as_string_view()),
            DataType::Boolean => Kind::Bool(array.as_boolean()),
            DataType::Int32 => Kind::Int32(array.as_primitive::<Int32Type>()),
            DataType::Int64 => Kind::Int64(array.as_primitive::<Int64Type>()),
            DataType::UInt64 => Kind::UInt64(array.as_primitive::<UInt64Type>()),
            DataType::Float64 => Kind::Float64(array.as_primitive::<Float64Type>()),
            DataType::Date32 => Kind::Date32(
                array.as_primitive::<Date32Type>(),
                ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())?,
            ),
            DataType::List(_) => {
                let list = array.as_list::<i32>();
                Kind::List(list, Box::new(Cells::new(list.values())?))
            }
            _ => Kind::Display(ArrayFormatter::try_new(
                array.as_ref(),
                &FormatOptions::default(),
            )?),
        };
        Ok(Cells {
            array: array.as_ref(),
            kind,
        })
    }

    /// Appends the JSON of cell `row` to `out`; `text` is scratch for display forms.
    fn write(&self, row: usize, out: &mut Vec<u8>, text: &mut String) -> Result<()> {
        if self.array.is_null(row) {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        match &self.kind {
            Kind::Utf8(a) => json(out, &a.value(row)),
            Kind::LargeUtf8(a) => json(out, &a.value(row)),
            Kind::Utf8View(a) => json(out, &a.value(row)),
            Kind::Bool(a) => json(out, &a.value(row)),
            Kind::Int32(a) => json(out, &a.value(row)),
            Kind::Int64(a) => json(out, &a.value(row)),
            Kind::UInt64(a) => json(out, &a.value(row)),
            Kind::Float64(a) => json(out, &a.value(row)),
            Kind::List(list, items) => {
                let offsets = list.value_offsets();
                out.push(b'[');
                for (k, item) in (offsets[row] as usize..offsets[row + 1] as usize).enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    items.write(item, out, text)?;
                }
                out.push(b']');
            }
            Kind::Date32(a, f) => {
                out.push(b'"');
                if push_date(out, a.value(row)) {
                    out.push(b'"');
                } else {
                    out.pop();
                    display(f, row, out, text)?;
                }
            }
            Kind::Display(f) => display(f, row, out, text)?,
        }
        Ok(())
    }
}

/// Cell `row` as a JSON string of its display form.
fn display(f: &ArrayFormatter, row: usize, out: &mut Vec<u8>, text: &mut String) -> Result<()> {
    use std::fmt::Write;
    text.clear();
    write!(text, "{}", f.value(row)).map_err(|e| Error::Invalid(e.to_string()))?;
    json(out, text.as_str());
    Ok(())
}

/// Appends `v` as serde_json writes it (compact; a non-finite number as null).
fn json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    serde_json::to_writer(out, v).expect("JSON to memory");
}

/// One line per row. Keys in column order (the data dictionary's), so the object is written by
/// hand; each key's `"name":` once per batch.
fn encode(batch: &RecordBatch) -> Result<Vec<u8>> {
    let keys: Vec<Vec<u8>> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let mut key = serde_json::to_vec(f.name()).expect("JSON to memory");
            key.push(b':');
            key
        })
        .collect();
    let cells: Vec<Cells> = batch
        .columns()
        .iter()
        .map(Cells::new)
        .collect::<Result<_>>()?;
    let mut bytes = Vec::new();
    let mut text = String::new();
    for row in 0..batch.num_rows() {
        bytes.push(b'{');
        for (i, (key, cells)) in keys.iter().zip(&cells).enumerate() {
            if i > 0 {
                bytes.push(b',');
            }
            bytes.extend_from_slice(key);
            cells.write(row, &mut bytes, &mut text)?;
        }
        bytes.extend_from_slice(b"}\n");
    }
    Ok(bytes)
}

impl NdjsonWriter {
    pub fn new(lake: &Lake, path: &str) -> Self {
        let (upload, digest) = Upload::hashed(lake, path);
        NdjsonWriter {
            upload,
            digest,
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
        let bytes = encode(batch)?;
        let result = self.upload.write_all(&bytes).await;
        result.map_err(|e| self.io(e))
    }

    /// Completes the upload; the file's SHA-256.
    pub async fn finish(mut self) -> Result<String> {
        let result = self.upload.shutdown().await;
        result.map_err(|e| self.io(e))?;
        Ok(self.digest.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::sync::Arc;

    /// One cell as a JSON value, the plain way (an independent reading of the format).
    fn value(col: &ArrayRef, row: usize) -> Value {
        if col.is_null(row) {
            return Value::Null;
        }
        match col.data_type() {
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
                Value::Array((0..items.len()).map(|i| value(&items, i)).collect())
            }
            _ => {
                let f = ArrayFormatter::try_new(col.as_ref(), &FormatOptions::default()).unwrap();
                Value::String(f.value(row).to_string())
            }
        }
    }

    #[test]
    fn every_cell_is_written_as_its_json_value() {
        let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), None]),
            None,
            Some(vec![]),
        ]);
        let batch = RecordBatch::try_from_iter(vec![
            (
                "utf8",
                Arc::new(StringArray::from(vec![Some("甲\"=x\n"), None, Some("")])) as ArrayRef,
            ),
            (
                "large",
                Arc::new(LargeStringArray::from(vec![Some("a"), Some(""), None])) as _,
            ),
            (
                "view",
                Arc::new(StringViewArray::from(vec![
                    None,
                    Some("长字符串 long enough to be out of line"),
                    Some("\u{1}"),
                ])) as _,
            ),
            (
                "day",
                // The last is in year -1, which the formatter writes.
                Arc::new(Date32Array::from(vec![Some(20634), None, Some(-719_529)])) as _,
            ),
            (
                "p",
                Arc::new(Float64Array::from(vec![1e-7, f64::INFINITY, -0.0])) as _,
            ),
            (
                "flag",
                Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])) as _,
            ),
            ("i32", Arc::new(Int32Array::from(vec![i32::MIN, 0, 7])) as _),
            (
                "i64",
                Arc::new(Int64Array::from(vec![i64::MAX, -1, 0])) as _,
            ),
            (
                "u64",
                Arc::new(UInt64Array::from(vec![u64::MAX, 0, 1])) as _,
            ),
            ("list", Arc::new(list) as _),
        ])
        .unwrap()
        .slice(0, 3);
        let lines = String::from_utf8(encode(&batch).unwrap()).unwrap();
        for (row, line) in lines.lines().enumerate() {
            let mut expected = String::from("{");
            for (i, (field, col)) in batch
                .schema()
                .fields()
                .iter()
                .zip(batch.columns())
                .enumerate()
            {
                if i > 0 {
                    expected.push(',');
                }
                expected += &serde_json::to_string(field.name()).unwrap();
                expected.push(':');
                expected += &serde_json::to_string(&value(col, row)).unwrap();
            }
            expected.push('}');
            assert_eq!(line, expected);
        }
        assert_eq!(lines.lines().count(), 3);
        let first: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
        assert_eq!(first["utf8"], "甲\"=x\n");
        assert_eq!(first["day"], "2026-06-30");
        assert_eq!(first["list"], serde_json::json!([1, null]));
        let second: Value = serde_json::from_str(lines.lines().nth(1).unwrap()).unwrap();
        assert_eq!(second["p"], Value::Null, "a non-finite number is null");
    }
}
