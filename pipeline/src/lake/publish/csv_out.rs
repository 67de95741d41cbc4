//! CSV copies of published tables, for people and credit platforms: header row, UTF-8, lists
//! joined with `;` as in the inbox convention. Streamed to the object store batch by batch.
//!
//! Text that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or
//! a carriage return: a unit named `=HYPERLINK(...)`) gets a leading `'`, which Excel and WPS
//! show as text; the Parquet and NDJSON copies keep the raw value (docs/feed.md).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray, StringBuilder};
use datafusion::arrow::csv::WriterBuilder;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::lake::writer::Upload;
use crate::lake::{Digest, Lake};

pub struct CsvWriter {
    upload: Upload,
    digest: Digest,
    path: String,
    schema: SchemaRef,
    header_written: bool,
}

fn flat_type(t: &DataType) -> DataType {
    match t {
        DataType::List(_) | DataType::LargeList(_) | DataType::LargeUtf8 | DataType::Utf8View => {
            DataType::Utf8
        }
        other => other.clone(),
    }
}

/// Whether a spreadsheet would take `text` for a formula.
pub fn looks_like_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// `text` as a spreadsheet shows it verbatim: a formula-like cell gets a leading `'`.
pub fn spreadsheet_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if looks_like_formula(text) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// A CSV cell as the raw text it escapes: [`spreadsheet_safe`] undone.
pub fn unescape_formula(cell: &str) -> &str {
    cell.strip_prefix('\'')
        .filter(|rest| looks_like_formula(rest))
        .unwrap_or(cell)
}

/// A text column with every formula-like cell escaped ([`spreadsheet_safe`]).
fn escape_text(column: &ArrayRef) -> std::result::Result<ArrayRef, ArrowError> {
    let text = datafusion::arrow::compute::cast(column, &DataType::Utf8)?;
    let strings = text.as_string::<i32>();
    if !strings.iter().flatten().any(looks_like_formula) {
        return Ok(text);
    }
    let escaped: StringArray = strings.iter().map(|v| v.map(spreadsheet_safe)).collect();
    Ok(Arc::new(escaped))
}

/// The schema of [`flatten_lists`]' output.
pub fn flat_schema(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), flat_type(f.data_type()), true))
            .collect::<Vec<_>>(),
    ))
}

/// Replaces list columns with their items joined by `;` (null stays null).
pub fn flatten_lists(batch: &RecordBatch) -> Result<RecordBatch> {
    // From the batch itself: an engine may hand out string views where the plan said Utf8.
    let schema = flat_schema(&batch.schema());
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::List(_) => {
                let list = c.as_list::<i32>();
                // The items as text once for the whole column, not once per row.
                let items = datafusion::arrow::compute::cast(list.values(), &DataType::Utf8)?;
                let items = items.as_string::<i32>();
                let mut b = StringBuilder::with_capacity(list.len(), items.value_data().len());
                let mut joined = String::new();
                for (i, range) in list.value_offsets().windows(2).enumerate() {
                    if list.is_null(i) {
                        b.append_null();
                        continue;
                    }
                    joined.clear();
                    let present = (range[0] as usize..range[1] as usize)
                        .filter(|j| items.is_valid(*j))
                        .map(|j| items.value(j));
                    for (k, item) in present.enumerate() {
                        if k > 0 {
                            joined.push(';');
                        }
                        joined.push_str(item);
                    }
                    b.append_value(&joined);
                }
                Ok(Arc::new(b.finish()) as ArrayRef)
            }
            _ => Ok(c.clone()),
        })
        .collect::<std::result::Result<_, ArrowError>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// A flattened batch ([`flatten_lists`]) with the formula-like text of every text column
/// escaped ([`spreadsheet_safe`]): what a CSV for people holds.
pub fn escape_formulas(flat: &RecordBatch) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = flat
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => escape_text(c),
            _ => Ok(c.clone()),
        })
        .collect::<std::result::Result<_, ArrowError>>()?;
    let schema = flat_schema(&flat.schema());
    Ok(RecordBatch::try_new(schema, columns)?)
}

impl CsvWriter {
    pub fn new(lake: &Lake, path: &str, schema: SchemaRef) -> Self {
        let (upload, digest) = Upload::hashed(lake, path);
        let flat = flat_schema(&schema);
        CsvWriter {
            upload,
            digest,
            path: path.to_string(),
            schema: flat,
            header_written: false,
        }
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }

    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let flat = escape_formulas(&flatten_lists(batch)?)?;
        let mut bytes = Vec::new();
        {
            let mut w = WriterBuilder::new()
                .with_header(!self.header_written)
                .build(&mut bytes);
            w.write(&flat)?;
        }
        self.header_written = true;
        let result = self.upload.write_all(&bytes).await;
        result.map_err(|e| self.io(e))
    }

    /// Completes the upload (an empty table still gets its header row); the file's SHA-256.
    pub async fn finish(mut self) -> Result<String> {
        if !self.header_written {
            let empty = RecordBatch::new_empty(self.schema.clone());
            self.write(&empty).await?;
        }
        let result = self.upload.shutdown().await;
        result.map_err(|e| self.io(e))?;
        Ok(self.digest.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, ListBuilder};

    #[test]
    fn lists_are_joined_row_by_row_in_a_sliced_batch() {
        let mut b = ListBuilder::new(StringBuilder::new());
        for row in [
            Some(vec![Some("skip")]),
            Some(vec![Some("a"), None, Some(""), Some("b")]),
            None,
            Some(vec![]),
            Some(vec![Some("c")]),
        ] {
            match row {
                Some(items) => {
                    for item in items {
                        b.values().append_option(item);
                    }
                    b.append(true);
                }
                None => b.append(false),
            }
        }
        let list: ArrayRef = Arc::new(b.finish());
        let batch = RecordBatch::try_from_iter(vec![("reasons", list)])
            .unwrap()
            .slice(1, 4);
        let flat = flatten_lists(&batch).unwrap();
        let joined: Vec<Option<&str>> = flat.column(0).as_string::<i32>().iter().collect();
        assert_eq!(joined, [Some("a;;b"), None, Some(""), Some("c")]);
    }

    #[test]
    fn formula_like_text_is_escaped_and_numbers_are_not() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("points", DataType::Int64, true),
        ]));
        let names = StringArray::from(vec![
            Some("=HYPERLINK(\"http://x\",\"y\")"),
            Some("+1"),
            Some("-2"),
            Some("@SUM(A1)"),
            Some("\tx"),
            Some("\rx"),
            Some("广州 = 好"),
            None,
        ]);
        let points = Int64Array::from(vec![-5, 1, 2, 3, 4, 5, 6, 7]);
        let batch = RecordBatch::try_new(schema, vec![Arc::new(names), Arc::new(points)]).unwrap();
        let safe = escape_formulas(&batch).unwrap();
        let names: Vec<Option<&str>> = safe.column(0).as_string::<i32>().iter().collect();
        assert_eq!(
            names,
            [
                Some("'=HYPERLINK(\"http://x\",\"y\")"),
                Some("'+1"),
                Some("'-2"),
                Some("'@SUM(A1)"),
                Some("'\tx"),
                Some("'\rx"),
                Some("广州 = 好"),
                None
            ]
        );
        assert_eq!(safe.column(1).as_ref(), batch.column(1).as_ref());
        for (raw, cell) in batch.column(0).as_string::<i32>().iter().zip(names) {
            assert_eq!(raw.map(|_| unescape_formula(cell.unwrap())), raw);
        }
    }
}
