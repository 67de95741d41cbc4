//! The lake: every byte firecredit stores goes through `object_store`, so a local folder and an
//! S3 bucket differ only in the URL.
//!
//! Every lake table is a Delta table (delta-rs) under `tables/<name>/`: immutable Parquet files
//! and a `_delta_log` whose commits say which files make up each version. Any Delta reader
//! (Spark, DuckDB, Polars, pandas through `deltalake`) reads the lake as firecredit does. Files
//! written by a writer that died before its commit are referenced by no version: a crash can
//! leave garbage (removed by `lake vacuum`) but never a half-written table.
//!
//! # Layout
//! - this file: [`Lake`], object-store access, Parquet files (streamed, or in memory and decoded
//!   by row group: [`ParquetGroups`]), conditional writes.
//! - [`schema`] and [`tables`]: the Arrow schema of every lake table (sources from the contract,
//!   `quarantine`, `quality`) and where each lives.
//! - [`delta`]: a table as a Delta table: create, load at a version or time, commit files.
//! - [`snapshot`]: a pinned view of every table (versions and files) and what has been taken.
//! - [`commit`]: one ingest committed across the tables, through the ingest log.
//! - [`durable`]: the local store whose writes are on disk when they return (power cuts).
//! - [`maintenance`]: vacuum, optimize, history; [`migrate`]: the former private format to Delta.
//! - `reader`, `writer`: Parquet over `object_store`; `writer` also hashes a published file as
//!   its bytes go out ([`Digest`]).
//! - [`publish`]: run folders, their outputs, the manifest that commits a run, the feed table.
//! - [`columns`]: typed reading of a table's columns by name.

pub mod columns;
pub mod commit;
pub mod delta;
pub mod durable;
pub mod maintenance;
pub mod migrate;
pub mod publish;
mod reader;
pub mod schema;
pub mod snapshot;
pub mod tables;
mod writer;

pub use reader::ObjectReader;
pub use writer::{Digest, TableWriter};

pub use snapshot::{DataFile, IngestedFile, Pins, Snapshot, TableFiles};

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use datafusion::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use datafusion::parquet::arrow::{AsyncArrowWriter, ProjectionMask};
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::{ColumnPath, SchemaDescriptor};
use futures::{StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::error::{Error, Result};

/// Set to a point of a command (an output name of a run, `ingest:staged`, `ingest:recorded`,
/// `ingest:<table>` after that table's commit, `run:manifest` before a run's manifest is
/// written), the process kills itself with SIGKILL right there (no destructor, no flush: a
/// power cut): lets tests prove that a kill anywhere leaves a lake the next command completes.
pub const ABORT_AFTER_ENV: &str = "FIRECREDIT_ABORT_AFTER";

/// Set to `<point>@<folder>`, the process stops at that point, says so by creating
/// `<folder>/arrived-<pid>` and goes on once `<folder>/go` exists (or after two minutes): lets
/// tests hold two real processes at one point and release them together.
pub const PAUSE_AT_ENV: &str = "FIRECREDIT_PAUSE_AT";

/// A named point of a command where the test hooks [`ABORT_AFTER_ENV`] and [`PAUSE_AT_ENV`]
/// act; nothing happens when neither is set.
pub fn checkpoint(point: &str) {
    if std::env::var(ABORT_AFTER_ENV).is_ok_and(|v| v == point) {
        tracing::error!(point, "{ABORT_AFTER_ENV} set: killing this process");
        kill_self();
    }
    let Ok(pause) = std::env::var(PAUSE_AT_ENV) else {
        return;
    };
    let Some((at, folder)) = pause.split_once('@') else {
        return;
    };
    if at != point {
        return;
    }
    let folder = std::path::Path::new(folder);
    let arrived = folder.join(format!("arrived-{}", std::process::id()));
    if let Err(e) = std::fs::write(&arrived, point) {
        tracing::warn!(error = %e, "{PAUSE_AT_ENV}: cannot say this process arrived");
    }
    tracing::info!(point, "{PAUSE_AT_ENV} set: waiting for the go");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !folder.join("go").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

// One of the project's unsafe calls (the others: `memory.rs`, which tunes glibc's allocator, and
// the cache prefetch of `ingest::identity`): a test hook that must die like a power cut.
#[allow(unsafe_code)]
fn kill_self() -> ! {
    #[cfg(unix)]
    // SAFETY: kill(2) on our own pid with a valid signal number has no memory effects.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    std::process::abort()
}

/// SHA-256 of a local file, streamed.
pub fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    sha256_and_len(path).map(|(sha, _)| sha)
}

/// SHA-256 of a local file and the number of bytes it was taken over, read 1 MiB at a time
/// (`io::copy` from the file itself reads 8 KiB at a time: 770 K system calls for a GD-1M
/// inbox's 6 GB).
pub fn sha256_and_len(path: &std::path::Path) -> std::io::Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    let file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let len = std::io::copy(
        &mut std::io::BufReader::with_capacity(1 << 20, file),
        &mut hasher,
    )?;
    Ok((hex::encode(hasher.finalize()), len))
}

/// Bytes of decoded rows one batch read from a lake file may hold.
const READ_BATCH_BYTES: usize = 64 << 20;

/// Bytes of an object read at a time when it is read whole in pieces ([`Lake::for_each_piece`]):
/// few calls and bounded memory. The object store's own stream of a local file reads 8 KiB at
/// a time, each on the blocking pool, which took seconds for a feed's copies (decision 128).
const READ_PIECE_BYTES: u64 = 8 << 20;

/// What a conditional write expects of the object it replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// That there is none yet.
    Absent,
    /// That it is still the version that was read.
    Unchanged(object_store::UpdateVersion),
}

/// A handle on the lake root.
#[derive(Clone, Debug)]
pub struct Lake {
    /// The lake root: every path firecredit uses is relative to it.
    store: Arc<dyn ObjectStore>,
    /// The same root without flushing each write to disk (local lakes; S3's writes are durable
    /// anyway), for scratch files no commit names: see [`Lake::scratch`].
    scratch: Arc<dyn ObjectStore>,
    url: String,
    /// For DataFusion, which resolves absolute URLs: the store that serves `root_url` (the
    /// bucket for S3; none for local folders, which DataFusion reads itself).
    registered: Option<(url::Url, Arc<dyn ObjectStore>)>,
    /// The folder of a local lake (conditional writes lock a file beside their object).
    local_root: Option<std::path::PathBuf>,
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
        let store = Arc::new(store);
        Ok(Lake {
            store: Arc::new(durable::DurableStore::from_arc(store.clone())),
            scratch: store,
            url: format!("file://{}", root.display()),
            registered: None,
            local_root: Some(root),
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
        // delta-rs addresses the tables by s3:// URLs: its S3 log store commits with
        // conditional puts (If-None-Match), like every other write of the lake.
        deltalake::aws::register_handlers(None);
        Ok(Lake {
            scratch: store.clone(),
            store,
            url,
            registered: Some((bucket_url, s3)),
            local_root: None,
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

    /// Reads the object at `path` from start to end in pieces of at most 8 MiB, handing each to
    /// `each` in order. For objects that do not change once written (published outputs).
    pub async fn for_each_piece(
        &self,
        path: &str,
        mut each: impl AsyncFnMut(Bytes) -> Result<()>,
    ) -> Result<()> {
        let p = Path::from(path);
        let size = self
            .store
            .head(&p)
            .await
            .map_err(|e| Self::os_err(&p, e))?
            .size;
        let mut start = 0;
        while start < size {
            let end = size.min(start + READ_PIECE_BYTES);
            let piece = self
                .store
                .get_range(&p, start..end)
                .await
                .map_err(|e| Self::os_err(&p, e))?;
            each(piece).await?;
            start = end;
        }
        Ok(())
    }

    /// The same lake, its writes not flushed to disk one by one: for the staging area, which a
    /// crash discards and no commit names. A staged file moved into a table with
    /// [`Lake::rename`] on the lake itself is flushed then.
    pub fn scratch(&self) -> Lake {
        Lake {
            store: self.scratch.clone(),
            ..self.clone()
        }
    }

    /// Moves an object (a file rename on a local lake; a copy and a delete on object stores).
    pub async fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (from, to) = (Path::from(from), Path::from(to));
        self.store
            .rename(&from, &to)
            .await
            .map_err(|e| Self::os_err(&to, e))
    }

    /// Every object under `prefix`, at any depth.
    pub(crate) async fn list_objects(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let p = Path::from(prefix);
        self.store
            .list(Some(&p))
            .try_collect()
            .await
            .map_err(|e| Self::os_err(&p, e))
    }

    /// Deletes one object.
    pub(crate) async fn delete_object(&self, path: &Path) -> Result<()> {
        self.store
            .delete(path)
            .await
            .map_err(|e| Self::os_err(path, e))
    }

    pub async fn delete_prefix(&self, prefix: &str) -> Result<()> {
        for o in self.list_objects(prefix).await? {
            self.delete_object(&o.location).await?;
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

    /// The object at `path` with the version a conditional write can expect; none when absent.
    pub async fn get_versioned(
        &self,
        path: &str,
    ) -> Result<Option<(Bytes, object_store::UpdateVersion)>> {
        let p = Path::from(path);
        match self.store.get(&p).await {
            Ok(got) => {
                let version = object_store::UpdateVersion {
                    e_tag: got.meta.e_tag.clone(),
                    version: got.meta.version.clone(),
                };
                let bytes = got.bytes().await.map_err(|e| Self::os_err(&p, e))?;
                Ok(Some((bytes, version)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Self::os_err(&p, e)),
        }
    }

    /// Writes `bytes` at `path` only if the object there is as `expect` says; otherwise fails
    /// with [`Error::Conflict`] and writes nothing. S3 checks with its conditional headers
    /// (If-None-Match, If-Match); a local lake under an exclusive lock on `<path>.lock`, which
    /// the system releases if the process dies.
    pub async fn put_if(&self, path: &str, bytes: Bytes, expect: Expect) -> Result<()> {
        let p = Path::from(path);
        let conflict = || Error::Conflict {
            table: path.to_string(),
            message: "another writer changed it since it was read".into(),
        };
        let Some(root) = &self.local_root else {
            let mode = match expect {
                Expect::Absent => PutMode::Create,
                Expect::Unchanged(v) => PutMode::Update(v),
            };
            let opts = PutOptions {
                mode,
                ..Default::default()
            };
            return match self.store.put_opts(&p, PutPayload::from(bytes), opts).await {
                Ok(_) => Ok(()),
                Err(object_store::Error::AlreadyExists { .. })
                | Err(object_store::Error::Precondition { .. }) => Err(conflict()),
                Err(e) => Err(Self::os_err(&p, e)),
            };
        };
        let lock_path = root.join(format!("{path}.lock"));
        let io = |source| Error::Io {
            path: lock_path.display().to_string(),
            source,
        };
        if let Some(parent) = lock_path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io)?;
        let guard = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(io)?;
        let current = match self.store.head(&p).await {
            Ok(meta) => Some(object_store::UpdateVersion {
                e_tag: meta.e_tag,
                version: meta.version,
            }),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => return Err(Self::os_err(&p, e)),
        };
        let as_expected = match (&expect, &current) {
            (Expect::Absent, None) => true,
            (Expect::Unchanged(want), Some(now)) => want == now,
            _ => false,
        };
        if !as_expected {
            return Err(conflict());
        }
        self.put(path, bytes).await?;
        drop(guard);
        Ok(())
    }

    /// A Parquet writer for a new file at `path` (zstd, page statistics, large row groups so
    /// that later scans prune by min/max; a source table's unique columns without a dictionary,
    /// [`schema::plain_columns`]).
    fn parquet_writer(
        &self,
        path: &str,
        schema: SchemaRef,
        digest: Option<Digest>,
    ) -> Result<AsyncArrowWriter<writer::Upload>> {
        let mut props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(1).expect("valid level"),
            ))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(Some(1 << 20))
            .set_created_by(concat!("firecredit ", env!("CARGO_PKG_VERSION")).into());
        for column in schema::plain_columns(&schema) {
            props = props.set_column_dictionary_enabled(ColumnPath::from(column), false);
        }
        let props = props.build();
        let writer =
            writer::Upload::new(BufWriter::new(self.store.clone(), Path::from(path)), digest);
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
        let builder =
            ParquetRecordBatchStreamBuilder::new_with_options(reader, ArrowReaderOptions::new())
                .await
                .map_err(pq.clone())?;
        let rows =
            crate::contract::parquet::batch_rows(builder.metadata(), READ_BATCH_BYTES, 64 * 1024);
        let mut builder = builder.with_batch_size(rows);
        if let Some(cols) = columns {
            let mask = projection(builder.parquet_schema(), cols);
            builder = builder.with_projection(mask);
        }
        let stream = builder.build().map_err(pq.clone())?;
        Ok(stream.map(move |r| r.map_err(pq.clone())))
    }

    /// One Parquet file read whole into memory, for decoding its row groups side by side
    /// ([`ParquetGroups::read`] on as many threads as the caller gives it).
    pub async fn parquet_groups(&self, path: &str) -> Result<ParquetGroups> {
        let bytes = self.get(path).await?;
        let metadata =
            ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::new()).map_err(|source| {
                Error::Parquet {
                    path: path.to_string(),
                    source,
                }
            })?;
        let batch_rows =
            crate::contract::parquet::batch_rows(metadata.metadata(), READ_BATCH_BYTES, 64 * 1024);
        Ok(ParquetGroups {
            path: path.to_string(),
            bytes,
            metadata,
            batch_rows,
        })
    }

    /// All batches of one file (for small tables).
    pub async fn read_all(&self, path: &str, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>> {
        self.read_parquet(path, columns).await?.try_collect().await
    }
}

/// The leaf columns of `schema` named in `columns`.
fn projection(schema: &SchemaDescriptor, columns: &[&str]) -> ProjectionMask {
    let indices = (0..schema.num_columns()).filter(|i| columns.contains(&schema.column(*i).name()));
    ProjectionMask::leaves(schema, indices)
}

/// A Parquet file in memory ([`Lake::parquet_groups`]): its row groups are decoded one by one,
/// each on the thread that asks for it.
pub struct ParquetGroups {
    path: String,
    bytes: Bytes,
    metadata: ArrowReaderMetadata,
    batch_rows: usize,
}

impl ParquetGroups {
    /// The file's row groups.
    pub fn groups(&self) -> usize {
        self.metadata.metadata().num_row_groups()
    }

    /// The file's Arrow schema.
    pub fn schema(&self) -> &SchemaRef {
        self.metadata.schema()
    }

    /// The batches of row group `group`, in the file's order, optionally projected to
    /// `columns`.
    pub fn read(
        &self,
        group: usize,
        columns: Option<&[&str]>,
    ) -> Result<impl Iterator<Item = Result<RecordBatch>> + use<'_>> {
        let pq = |source| Error::Parquet {
            path: self.path.clone(),
            source,
        };
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
            self.bytes.clone(),
            self.metadata.clone(),
        )
        .with_row_groups(vec![group])
        .with_batch_size(self.batch_rows);
        if let Some(cols) = columns {
            let mask = projection(builder.parquet_schema(), cols);
            builder = builder.with_projection(mask);
        }
        let reader = builder.build().map_err(pq)?;
        Ok(reader.map(move |r| r.map_err(|e| pq(ParquetError::from(e)))))
    }
}
