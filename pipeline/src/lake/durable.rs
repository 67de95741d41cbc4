//! A local lake that survives a power cut: every object is on disk, with its folder entry,
//! before the write that made it returns.
//!
//! `object_store`'s local store writes a staged file and renames (or, for a create-only write,
//! hard-links) it into place, and never flushes: after a power cut the name can be there with
//! no bytes behind it. A Delta commit record is such a create-only write, so the table's newest
//! version would be an empty file that every reader fails on. [`DurableStore`] writes the staged
//! file, flushes it, links or renames it into place and flushes the folder; multipart uploads
//! (large Parquet files) are flushed when they complete, before any commit names them. The
//! staging area is written around it (`Lake::scratch`): a rename through it flushes the file it
//! moves, so a staged file that becomes a table file is on disk before a commit names it.

use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    Result, UploadPart,
};

/// A local file system store whose writes are durable when they return.
#[derive(Debug)]
pub struct DurableStore {
    inner: Arc<LocalFileSystem>,
}

impl std::fmt::Display for DurableStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Durable({})", self.inner)
    }
}

impl DurableStore {
    pub fn new(inner: LocalFileSystem) -> Self {
        Self::from_arc(Arc::new(inner))
    }

    /// Over a store also used as is (the lake's scratch writes, `Lake::scratch`).
    pub fn from_arc(inner: Arc<LocalFileSystem>) -> Self {
        DurableStore { inner }
    }
}

fn io_error(path: &FsPath, source: std::io::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "DurableStore",
        source: format!("{}: {source}", path.display()).into(),
    }
}

/// Flushes a folder's entries (the names in it) to disk.
pub fn sync_dir(dir: &FsPath) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Creates `dir` and its missing parents, each flushed into its own parent.
fn create_dirs(dir: &FsPath) -> std::io::Result<()> {
    let mut missing = Vec::new();
    let mut at = dir;
    while !at.exists() {
        missing.push(at.to_path_buf());
        match at.parent() {
            Some(parent) => at = parent,
            None => break,
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    for d in missing.iter().rev() {
        if let Some(parent) = d.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Staged files are named `<name>#<digits>`, which `object_store` lists never show.
fn staged_path(path: &FsPath) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!("#{}{n}", std::process::id()));
    path.with_file_name(name)
}

/// Writes `payload` at `path` durably: staged, flushed, put in place, folder flushed.
fn put_durably(path: &FsPath, payload: &PutPayload, mode: &PutMode) -> Result<()> {
    let err = |e| io_error(path, e);
    let dir = path.parent().unwrap_or(FsPath::new("/"));
    create_dirs(dir).map_err(err)?;
    let staged = staged_path(path);
    let written = (|| {
        let mut file = std::fs::File::create(&staged)?;
        for chunk in payload.iter() {
            file.write_all(chunk)?;
        }
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&staged);
        return Err(err(e));
    }
    let placed = match mode {
        PutMode::Create => {
            let linked = std::fs::hard_link(&staged, path);
            let _ = std::fs::remove_file(&staged);
            match linked {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(object_store::Error::AlreadyExists {
                        path: path.display().to_string(),
                        source: Box::new(e),
                    })
                }
                other => other,
            }
        }
        _ => std::fs::rename(&staged, path),
    };
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&staged);
        return Err(err(e));
    }
    sync_dir(dir).map_err(err)
}

/// Flushes a file that is in place, and its folder.
fn sync_file(path: &FsPath) -> Result<()> {
    let err = |e| io_error(path, e);
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(err)?;
    sync_dir(path.parent().unwrap_or(FsPath::new("/"))).map_err(err)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| object_store::Error::Generic {
            store: "DurableStore",
            source: e.to_string().into(),
        })?
}

#[async_trait]
impl ObjectStore for DurableStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        if matches!(opts.mode, PutMode::Update(_)) || !opts.attributes.is_empty() {
            // Not supported by the local store either: let it say so.
            return self.inner.put_opts(location, payload, opts).await;
        }
        let path = self.inner.path_to_filesystem(location)?;
        let mode = opts.mode.clone();
        blocking(move || put_durably(&path, &payload, &mode)).await?;
        let meta = self.inner.head(location).await?;
        Ok(PutResult {
            e_tag: meta.e_tag,
            version: meta.version,
        })
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let path = self.inner.path_to_filesystem(location)?;
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(DurableUpload { inner, path }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[std::ops::Range<u64>],
    ) -> Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await?;
        let path = self.inner.path_to_filesystem(to)?;
        blocking(move || sync_file(&path)).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        // The folders a rename creates must be on disk too, not only the file's new entry.
        let target = self.inner.path_to_filesystem(to)?;
        if let Some(dir) = target.parent() {
            create_dirs(dir).map_err(|e| io_error(dir, e))?;
        }
        self.inner.rename_opts(from, to, options).await?;
        let path = self.inner.path_to_filesystem(to)?;
        blocking(move || sync_file(&path)).await
    }
}

/// A multipart upload flushed to disk when it completes.
#[derive(Debug)]
struct DurableUpload {
    inner: Box<dyn MultipartUpload>,
    path: PathBuf,
}

#[async_trait]
impl MultipartUpload for DurableUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let done = self.inner.complete().await?;
        let path = self.path.clone();
        blocking(move || sync_file(&path)).await?;
        Ok(done)
    }

    async fn abort(&mut self) -> Result<()> {
        self.inner.abort().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_are_in_place_whole_and_create_only_writes_refuse_an_existing_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = DurableStore::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
        let p = Path::from("t/_delta_log/00000000000000000001.json");
        let create = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        store
            .put_opts(&p, PutPayload::from_static(b"{\"a\":1}\n"), create.clone())
            .await
            .unwrap();
        let again = store
            .put_opts(&p, PutPayload::from_static(b"{}"), create)
            .await;
        assert!(matches!(
            again,
            Err(object_store::Error::AlreadyExists { .. })
        ));
        let got = store.get(&p).await.unwrap().bytes().await.unwrap();
        assert_eq!(&got[..], b"{\"a\":1}\n");
        store
            .put(&p, PutPayload::from_static(b"replaced"))
            .await
            .unwrap();
        assert_eq!(
            &store.get(&p).await.unwrap().bytes().await.unwrap()[..],
            b"replaced"
        );
        // No staged file is left behind, and none is listed.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("t/_delta_log"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["00000000000000000001.json"]);
    }
}
