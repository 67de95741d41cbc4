//! The lake: every byte firecredit stores goes through `object_store`, so a local folder and an
//! S3 bucket differ only in the URL.
//!
//! Tables are sets of immutable Parquet files. Which files make up each table is recorded in a
//! versioned snapshot, `_lake/snapshot-<version>.json`, created with `PutMode::Create`: a
//! snapshot is the commit of one ingest. Files written by an ingest that died before its
//! snapshot are never referenced, so a crash can leave garbage but never a half-ingested table.
//!
//! # Layout
//! - this file: [`Lake`], object-store access and Parquet files.
//! - [`schema`] and [`tables`]: the Arrow schema of every lake table (sources from the contract,
//!   `quarantine`, `quality`).
//! - `snapshot`: the commit record; `reader`, `writer`: Parquet over `object_store`.
//! - [`publish`]: run folders, their outputs and the manifest that commits a run.
//! - [`columns`]: typed reading of a table's columns by name.

pub mod columns;
pub mod publish;
mod reader;
pub mod schema;
mod snapshot;
pub mod tables;
mod writer;

pub use reader::ObjectReader;
pub use writer::TableWriter;

pub use snapshot::{DataFile, IngestedFile, Snapshot};

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions;
use datafusion::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use futures::{StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::error::{Error, Result};

const SNAPSHOT_DIR: &str = "_lake";

/// A handle on the lake root.
#[derive(Clone, Debug)]
pub struct Lake {
    /// The lake root: every path firecredit uses is relative to it.
    store: Arc<dyn ObjectStore>,
    url: String,
    /// For DataFusion, which resolves absolute URLs: the store that serves `root_url` (the
    /// bucket for S3; none for local folders, which DataFusion reads itself).
    registered: Option<(url::Url, Arc<dyn ObjectStore>)>,
}

impl Lake {
    /// Opens a lake at a local folder (created if missing), a `file://` URL, or (cargo feature
    /// `s3`) an `s3://bucket/prefix` URL configured by the usual `AWS_*` environment variables
    /// (`AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP=true` for an S3-compatible server).
    pub fn open(location: &str) -> Result<Self> {
        if let Some(rest) = location.strip_prefix("s3://") {
            return Self::open_s3(location, rest);
        }
        let local = location.strip_prefix("file://").unwrap_or(location);
        if location.contains("://") && !location.starts_with("file://") {
            return Err(Error::LakeUrl {
                url: location.to_string(),
                message: "a lake is a local folder, a file:// URL or an s3:// URL".into(),
            });
        }
        std::fs::create_dir_all(local).map_err(|source| Error::Io {
            path: local.to_string(),
            source,
        })?;
        let root = std::fs::canonicalize(local).map_err(|source| Error::Io {
            path: local.to_string(),
            source,
        })?;
        let store = LocalFileSystem::new_with_prefix(&root)
            .map_err(|source| Error::ObjectStore {
                location: root.display().to_string(),
                source,
            })?
            // Deleting a run folder's files also removes the emptied folders.
            .with_automatic_cleanup(true);
        Ok(Lake {
            store: Arc::new(store),
            url: format!("file://{}", root.display()),
            registered: None,
        })
    }

    #[cfg(feature = "s3")]
    fn open_s3(location: &str, rest: &str) -> Result<Self> {
        use object_store::aws::AmazonS3Builder;
        use object_store::prefix::PrefixStore;

        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        if bucket.is_empty() {
            return Err(Error::LakeUrl {
                url: location.to_string(),
                message: "the bucket name is missing".into(),
            });
        }
        let s3 = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|source| Error::ObjectStore {
                location: location.to_string(),
                source,
            })?;
        let s3: Arc<dyn ObjectStore> = Arc::new(s3);
        let bucket_url =
            url::Url::parse(&format!("s3://{bucket}")).map_err(|e| Error::LakeUrl {
                url: location.to_string(),
                message: e.to_string(),
            })?;
        let (store, url): (Arc<dyn ObjectStore>, String) = if prefix.is_empty() {
            (s3.clone(), format!("s3://{bucket}"))
        } else {
            (
                Arc::new(PrefixStore::new(s3.clone(), prefix)),
                format!("s3://{bucket}/{prefix}"),
            )
        };
        Ok(Lake {
            store,
            url,
            registered: Some((bucket_url, s3)),
        })
    }

    #[cfg(not(feature = "s3"))]
    fn open_s3(location: &str, _rest: &str) -> Result<Self> {
        Err(Error::LakeUrl {
            url: location.to_string(),
            message: "this build has no S3 support; build with `--features s3`".into(),
        })
    }

    /// Lets `ctx` read and write the lake's URLs.
    pub fn register_store(&self, ctx: &datafusion::prelude::SessionContext) {
        self.register_runtime_store(&ctx.runtime_env());
    }

    /// [`Lake::register_store`] for a bare runtime (a Ballista executor's).
    pub fn register_runtime_store(&self, runtime: &datafusion::execution::runtime_env::RuntimeEnv) {
        if let Some((url, store)) = &self.registered {
            runtime.register_object_store(url, store.clone());
        }
    }

    pub fn store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Full URL of a path inside the lake, for DataFusion table registration.
    pub fn url_of(&self, path: &str) -> String {
        format!("{}/{}", self.url, path.trim_start_matches('/'))
    }

    fn os_err(path: &Path, source: object_store::Error) -> Error {
        Error::ObjectStore {
            location: path.to_string(),
            source,
        }
    }

    pub async fn put(&self, path: &str, bytes: Bytes) -> Result<()> {
        let p = Path::from(path);
        self.store
            .put(&p, PutPayload::from(bytes))
            .await
            .map_err(|e| Self::os_err(&p, e))?;
        Ok(())
    }

    pub async fn get(&self, path: &str) -> Result<Bytes> {
        let p = Path::from(path);
        let got = self.store.get(&p).await.map_err(|e| Self::os_err(&p, e))?;
        got.bytes().await.map_err(|e| Self::os_err(&p, e))
    }

    pub async fn delete_prefix(&self, prefix: &str) -> Result<()> {
        let p = Path::from(prefix);
        let objects: Vec<_> = self
            .store
            .list(Some(&p))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(|e| Self::os_err(&p, e))?;
        for o in objects {
            self.store
                .delete(&o)
                .await
                .map_err(|e| Self::os_err(&o, e))?;
        }
        Ok(())
    }

    /// The immediate sub-folders of `prefix` (as full paths).
    pub async fn list_dirs(&self, prefix: &str) -> Result<Vec<String>> {
        let p = Path::from(prefix);
        let listing = self
            .store
            .list_with_delimiter(Some(&p))
            .await
            .map_err(|e| Self::os_err(&p, e))?;
        Ok(listing
            .common_prefixes
            .iter()
            .map(|d| d.to_string())
            .collect())
    }

    /// The newest committed snapshot, or an empty one for a new lake.
    pub async fn snapshot(&self) -> Result<Snapshot> {
        let dir = Path::from(SNAPSHOT_DIR);
        let names: Vec<Path> = self
            .store
            .list(Some(&dir))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(|e| Self::os_err(&dir, e))?;
        let newest = names
            .iter()
            .filter_map(|p| Snapshot::version_of(p.filename()?).map(|v| (v, p)))
            .max_by_key(|(v, _)| *v);
        match newest {
            None => Ok(Snapshot::default()),
            Some((_, path)) => {
                let bytes = self.get(path.as_ref()).await?;
                serde_json::from_slice(&bytes).map_err(|e| Error::Snapshot {
                    path: path.to_string(),
                    message: e.to_string(),
                })
            }
        }
    }

    /// Commits `snapshot` as its version; fails if that version already exists, so two
    /// concurrent ingests cannot both commit on the same base.
    pub async fn commit(&self, snapshot: &Snapshot) -> Result<()> {
        let path = Path::from(format!(
            "{SNAPSHOT_DIR}/{}",
            Snapshot::file_name(snapshot.version)
        ));
        let json = serde_json::to_vec_pretty(snapshot).expect("snapshot serialises");
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&path, PutPayload::from(json), opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => Err(Error::Conflict {
                version: snapshot.version,
            }),
            Err(e) => Err(Self::os_err(&path, e)),
        }
    }

    /// A Parquet writer for a new file at `path` (zstd, page statistics, large row groups so
    /// that later scans prune by min/max).
    fn parquet_writer(&self, path: &str, schema: SchemaRef) -> Result<AsyncArrowWriter<BufWriter>> {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(1).expect("valid level"),
            ))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(Some(1 << 20))
            .set_created_by(concat!("firecredit ", env!("CARGO_PKG_VERSION")).into())
            .build();
        let writer = BufWriter::new(self.store.clone(), Path::from(path));
        AsyncArrowWriter::try_new(writer, schema, Some(props)).map_err(|source| Error::Parquet {
            path: path.to_string(),
            source,
        })
    }

    /// A lazy writer of one new table file at `path`.
    pub fn table_writer(&self, path: impl Into<String>, schema: SchemaRef) -> TableWriter {
        TableWriter::new(self.clone(), path.into(), schema)
    }

    /// Writes `batches` as one Parquet file; `None` when they hold no row.
    pub async fn write_parquet(
        &self,
        path: &str,
        schema: SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<Option<DataFile>> {
        let mut w = self.table_writer(path, schema);
        for b in batches {
            w.write(b).await?;
        }
        w.finish().await
    }

    /// Streams the batches of one Parquet file, optionally projected to `columns`.
    pub async fn read_parquet(
        &self,
        path: &str,
        columns: Option<&[&str]>,
    ) -> Result<impl futures::Stream<Item = Result<RecordBatch>> + Send + 'static> {
        let pq = {
            let path = path.to_string();
            move |source| Error::Parquet {
                path: path.clone(),
                source,
            }
        };
        let reader = ObjectReader::new(self.store.clone(), Path::from(path));
        let mut builder =
            ParquetRecordBatchStreamBuilder::new_with_options(reader, ArrowReaderOptions::new())
                .await
                .map_err(pq.clone())?
                .with_batch_size(64 * 1024);
        if let Some(cols) = columns {
            let schema = builder.parquet_schema();
            let indices: Vec<usize> = (0..schema.num_columns())
                .filter(|i| cols.contains(&schema.column(*i).name()))
                .collect();
            let mask = datafusion::parquet::arrow::ProjectionMask::leaves(schema, indices);
            builder = builder.with_projection(mask);
        }
        let stream = builder.build().map_err(pq.clone())?;
        Ok(stream.map(move |r| r.map_err(pq.clone())))
    }

    /// All batches of one file (for small tables).
    pub async fn read_all(&self, path: &str, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>> {
        self.read_parquet(path, columns).await?.try_collect().await
    }
}
