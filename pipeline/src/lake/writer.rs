//! One way to write a lake Parquet file: lazily (nothing is created until a row arrives), with
//! the lake's writer properties and errors that name the file.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::AsyncArrowWriter;
use object_store::buffered::BufWriter;
use object_store::ObjectStoreExt;

use super::{DataFile, Lake};
use crate::error::{Error, Result};

pub struct TableWriter {
    lake: Lake,
    path: String,
    schema: SchemaRef,
    writer: Option<AsyncArrowWriter<BufWriter>>,
    rows: u64,
}

impl TableWriter {
    pub(super) fn new(lake: Lake, path: String, schema: SchemaRef) -> Self {
        TableWriter {
            lake,
            path,
            schema,
            writer: None,
            rows: 0,
        }
    }

    fn parquet_error(&self, source: datafusion::parquet::errors::ParquetError) -> Error {
        Error::Parquet {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends a batch; empty batches are skipped.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if self.writer.is_none() {
            self.writer = Some(self.lake.parquet_writer(&self.path, self.schema.clone())?);
        }
        self.rows += batch.num_rows() as u64;
        let result = self.writer.as_mut().expect("writer").write(batch).await;
        result.map_err(|e| self.parquet_error(e))
    }

    /// Closes the file, creating an empty one (schema only) when no row was written: published
    /// tables always exist, whatever their size.
    pub async fn finish_even_if_empty(mut self) -> Result<DataFile> {
        if self.writer.is_none() {
            self.writer = Some(self.lake.parquet_writer(&self.path, self.schema.clone())?);
        }
        Ok(self.finish().await?.expect("writer is open"))
    }

    /// Closes the file; `None` when no row was written (and so no file exists).
    pub async fn finish(mut self) -> Result<Option<DataFile>> {
        let Some(w) = self.writer.take() else {
            return Ok(None);
        };
        w.close().await.map_err(|e| self.parquet_error(e))?;
        // A table file's size goes into its Delta `add` action.
        let p = object_store::path::Path::from(self.path.as_str());
        let meta = self
            .lake
            .store
            .head(&p)
            .await
            .map_err(|e| Lake::os_err(&p, e))?;
        Ok(Some(DataFile {
            path: self.path,
            rows: self.rows,
            size: meta.size,
        }))
    }
}
