//! One way to write a lake Parquet file: lazily (nothing is created until a row arrives), with
//! the lake's writer properties and errors that name the file; and, for published files, the
//! SHA-256 of the bytes as they are written ([`Digest`]).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::AsyncArrowWriter;
use object_store::buffered::BufWriter;
use object_store::ObjectStoreExt;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWrite;

use super::{DataFile, Lake};
use crate::error::{Error, Result};

/// The SHA-256 of the bytes a writer has accepted so far. A published file's checksum is taken
/// as its bytes go out, on the encoder's own task, instead of reading the file back after it
/// is closed (decision 125). Shared, because the Parquet writer owns the stream it writes to.
#[derive(Debug, Clone, Default)]
pub struct Digest(Arc<Mutex<Sha256>>);

impl Digest {
    pub fn update(&self, bytes: &[u8]) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .update(bytes);
    }

    /// Lower-case hex, as the manifest records it.
    pub fn hex(&self) -> String {
        let hasher = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        hex::encode(hasher.clone().finalize())
    }
}

/// The upload of a new object (a Parquet file, a CSV or NDJSON copy), hashing what it accepts
/// when asked to.
pub(super) struct Upload {
    inner: BufWriter,
    digest: Option<Digest>,
}

impl Upload {
    pub(super) fn new(inner: BufWriter, digest: Option<Digest>) -> Self {
        Upload { inner, digest }
    }

    /// The upload of a new object at `path` in `lake`, hashed: the published CSV and NDJSON
    /// copies.
    pub(super) fn hashed(lake: &Lake, path: &str) -> (Self, Digest) {
        let digest = Digest::default();
        let inner = BufWriter::new(lake.store(), object_store::path::Path::from(path));
        (Upload::new(inner, Some(digest.clone())), digest)
    }
}

impl AsyncWrite for Upload {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let (Poll::Ready(Ok(n)), Some(digest)) = (&poll, &this.digest) {
            digest.update(&buf[..*n]);
        }
        poll
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

pub struct TableWriter {
    lake: Lake,
    path: String,
    schema: SchemaRef,
    writer: Option<AsyncArrowWriter<Upload>>,
    rows: u64,
    digest: Option<Digest>,
}

impl TableWriter {
    pub(super) fn new(lake: Lake, path: String, schema: SchemaRef) -> Self {
        TableWriter {
            lake,
            path,
            schema,
            writer: None,
            rows: 0,
            digest: None,
        }
    }

    /// Hashes the file's bytes as they are written: read the result from the returned
    /// [`Digest`] once the writer is finished.
    pub fn hashed(mut self) -> (Self, Digest) {
        let digest = Digest::default();
        self.digest = Some(digest.clone());
        (self, digest)
    }

    fn open(&mut self) -> Result<()> {
        if self.writer.is_none() {
            let upload =
                self.lake
                    .parquet_writer(&self.path, self.schema.clone(), self.digest.clone())?;
            self.writer = Some(upload);
        }
        Ok(())
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
        self.open()?;
        self.rows += batch.num_rows() as u64;
        let result = self.writer.as_mut().expect("writer").write(batch).await;
        result.map_err(|e| self.parquet_error(e))
    }

    /// Closes the file, creating an empty one (schema only) when no row was written: published
    /// tables always exist, whatever their size.
    pub async fn finish_even_if_empty(mut self) -> Result<DataFile> {
        self.open()?;
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
