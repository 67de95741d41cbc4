//! CSV copies of published tables, for people and credit platforms: header row, UTF-8, lists
//! joined with `;` as in the inbox convention. Streamed to the object store batch by batch.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::csv::WriterBuilder;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::lake::Lake;

pub struct CsvWriter {
    upload: BufWriter,
    path: String,
    schema: SchemaRef,
    header_written: bool,
}

fn flat_type(t: &DataType) -> DataType {
    match t {
        DataType::List(_) | DataType::LargeList(_) => DataType::Utf8,
        other => other.clone(),
    }
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
                let mut b = StringBuilder::new();
                for i in 0..list.len() {
                    if list.is_null(i) {
                        b.append_null();
                        continue;
                    }
                    let items = list.value(i);
                    let items = datafusion::arrow::compute::cast(&items, &DataType::Utf8)?;
                    let items = items.as_string::<i32>();
                    let joined: Vec<&str> = items.iter().flatten().collect();
                    b.append_value(joined.join(";"));
                }
                Ok(Arc::new(b.finish()) as ArrayRef)
            }
            _ => Ok(c.clone()),
        })
        .collect::<std::result::Result<_, datafusion::arrow::error::ArrowError>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

impl CsvWriter {
    pub fn new(lake: &Lake, path: &str, schema: SchemaRef) -> Self {
        let flat = flat_schema(&schema);
        CsvWriter {
            upload: BufWriter::new(lake.store(), Path::from(path)),
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
        let flat = flatten_lists(batch)?;
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

    /// Completes the upload; an empty table still gets its header row.
    pub async fn finish(mut self) -> Result<()> {
        if !self.header_written {
            let empty = RecordBatch::new_empty(self.schema.clone());
            self.write(&empty).await?;
        }
        let result = self.upload.shutdown().await;
        result.map_err(|e| self.io(e))
    }
}
