//! The lake's tables as Delta tables (delta-rs): where a table lives, creating it, loading it at
//! a version or a time, its files, and committing add and remove actions with an application
//! transaction, without rebasing on a table that moved (the caller decides again instead).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::Schema;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties, TableReference};
use deltalake::kernel::{Action, Add, StructType, Transaction};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use object_store::ObjectStore;

use super::{DataFile, Lake};
use crate::error::{Error, Result};

/// The application id of ingest commits: each table's commit of ingest N carries the
/// transaction (`txn`) of this id at version N.
pub const INGEST_APP: &str = "firecredit-ingest";

/// Which version of a table to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Latest,
    Version(u64),
    /// The last version committed at or before this instant.
    Time(DateTime<Utc>),
}

/// A delta-rs error about the table at `table`, as the lake's error: storage failures stay
/// storage failures (exit 4).
pub(crate) fn delta_error(table: &str) -> impl Fn(DeltaTableError) -> Error + '_ {
    move |source| Error::Delta {
        table: table.to_string(),
        source: Box::new(source),
    }
}

/// What one commit does to a table's files.
#[derive(Debug, Clone, Copy)]
pub struct FileChange<'a> {
    pub add: &'a [DataFile],
    /// Lake paths of files that leave the table.
    pub remove: &'a [String],
    /// False when the rows stay the same (compaction): change readers skip the commit.
    pub data_change: bool,
}

/// The Delta `stats` of a file: its row count (the engine prunes with the Parquet footers; other
/// readers get the count without opening the file).
fn stats(rows: u64) -> String {
    format!("{{\"numRecords\":{rows}}}")
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Partition values of a file from its hive-style folders under the table root
/// (`month=2026-06/part-….parquet` → month = 2026-06).
fn partition_values(relative: &str) -> HashMap<String, Option<String>> {
    let mut parts: Vec<&str> = relative.split('/').collect();
    parts.pop();
    parts
        .iter()
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), Some(v.to_string())))
        .collect()
}

impl Lake {
    /// The URL delta-rs addresses the table at `rel` by, and the store that serves that URL's
    /// root: for a local lake the file system, for S3 the bucket (delta-rs prefixes it with the
    /// URL's path).
    fn delta_location(&self, rel: &str) -> Result<(url::Url, Arc<dyn ObjectStore>)> {
        let text = format!("{}/", self.url_of(rel).trim_end_matches('/'));
        let url = url::Url::parse(&text).map_err(|e| Error::LakeUrl {
            url: text.clone(),
            message: e.to_string(),
        })?;
        let root: Arc<dyn ObjectStore> = match &self.registered {
            Some((_, bucket)) => bucket.clone(),
            // Delta's commit records are create-only writes: durable ones survive a power cut.
            None => Arc::new(super::durable::DurableStore::new(
                object_store::local::LocalFileSystem::new(),
            )),
        };
        Ok((url, root))
    }

    fn delta_builder(&self, rel: &str) -> Result<DeltaTableBuilder> {
        let (url, store) = self.delta_location(rel)?;
        Ok(DeltaTableBuilder::from_url(url.clone())
            .map_err(delta_error(rel))?
            .with_storage_backend(store, url))
    }

    /// The Delta table whose root is `rel` (relative to the lake root), loaded `at`; none when
    /// there is no table there yet.
    pub async fn delta_table(&self, rel: &str, at: At) -> Result<Option<DeltaTable>> {
        // delta-rs refuses a local folder that does not exist rather than reporting no table.
        if let Some(root) = &self.local_root {
            if !root.join(rel).join("_delta_log").is_dir() {
                return Ok(None);
            }
        }
        // A newest commit record that cannot be read (cut short by a power loss before the
        // lake's writes were durable) is set aside, and the table read at the newest readable
        // version; the change it held, if recorded in the ingest log, is applied again.
        let mut set_aside = 0;
        loop {
            let builder = self.delta_builder(rel)?;
            let mut table = builder.build().map_err(delta_error(rel))?;
            let loaded = match at {
                At::Latest => table.load().await,
                At::Version(v) => table.load_version(v).await,
                At::Time(t) => table.load_with_datetime(t).await,
            };
            match loaded {
                Ok(()) => return Ok(Some(table)),
                Err(DeltaTableError::NotATable(_)) => return Ok(None),
                Err(e) => {
                    if set_aside < 8 && self.set_aside_unreadable_record(rel).await? {
                        set_aside += 1;
                        continue;
                    }
                    return Err(delta_error(rel)(e));
                }
            }
        }
    }

    /// Whether a commit record of the table at `rel` was ever set aside as unreadable.
    pub fn has_set_aside_records(&self, rel: &str) -> bool {
        self.local_root
            .as_ref()
            .is_some_and(|root| root.join(rel).join(UNREADABLE_COMMITS).is_dir())
    }

    /// When the newest commit record of the table at `rel` cannot be read (empty or cut
    /// short), moves it to `<rel>/_unreadable_commits/` and says so; `false` when the newest
    /// record reads (the failure is another one) or the lake is not local.
    async fn set_aside_unreadable_record(&self, rel: &str) -> Result<bool> {
        let Some(root) = &self.local_root else {
            return Ok(false);
        };
        let log = root.join(rel).join("_delta_log");
        let newest = std::fs::read_dir(&log)
            .map_err(|source| Error::Io {
                path: log.display().to_string(),
                source,
            })?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| {
                n.len() == 25 && n.ends_with(".json") && n[..20].bytes().all(|b| b.is_ascii_digit())
            })
            .max();
        let Some(newest) = newest else {
            return Ok(false);
        };
        let path = log.join(&newest);
        let bytes = std::fs::read(&path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        if readable_record(&bytes) {
            return Ok(false);
        }
        let aside = root.join(rel).join(UNREADABLE_COMMITS);
        let io = |source| Error::Io {
            path: aside.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&aside).map_err(io)?;
        let to = aside.join(format!(
            "{newest}.{}",
            chrono::Utc::now().timestamp_micros()
        ));
        std::fs::rename(&path, &to).map_err(io)?;
        super::durable::sync_dir(&log).map_err(io)?;
        tracing::warn!(
            table = rel,
            record = %newest,
            bytes = bytes.len(),
            moved_to = %to.display(),
            "the newest commit record is unreadable (cut short by a crash?); set aside, reading \
             the newest readable version"
        );
        Ok(true)
    }

    /// The table at `rel`, created (empty, with `schema`, partitioned by `partitions`, with the
    /// table properties `config`) when it does not exist yet. Two processes creating it at once
    /// get the one table.
    pub async fn ensure_table(
        &self,
        rel: &str,
        schema: &Schema,
        partitions: &[&str],
        config: &[(&str, &str)],
    ) -> Result<DeltaTable> {
        if let Some(table) = self.delta_table(rel, At::Latest).await? {
            return Ok(table);
        }
        let kernel: StructType = schema.try_into_kernel().map_err(|e| Error::Delta {
            table: rel.to_string(),
            source: Box::new(DeltaTableError::from(e)),
        })?;
        if let Some(root) = &self.local_root {
            let dir = root.join(rel);
            std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let table = self.delta_builder(rel)?.build().map_err(delta_error(rel))?;
        let created = table
            .create()
            .with_columns(kernel.fields().cloned())
            .with_partition_columns(partitions.iter().map(|p| p.to_string()))
            .with_configuration(
                config
                    .iter()
                    .map(|(k, v)| (k.to_string(), Some(v.to_string()))),
            )
            .with_save_mode(SaveMode::Ignore)
            .with_commit_properties(CommitProperties::default().with_max_retries(0))
            .await;
        match created {
            Ok(table) => Ok(table),
            // Another process created it first: theirs is the table.
            Err(_) => self
                .delta_table(rel, At::Latest)
                .await?
                .ok_or_else(|| Error::Internal(format!("table {rel} could not be created"))),
        }
    }

    /// The files of a loaded table, as lake paths (`rel/…`), with their rows and sizes.
    pub fn delta_files(rel: &str, table: &DeltaTable) -> Result<Vec<DataFile>> {
        let snapshot = table.snapshot().map_err(delta_error(rel))?;
        let mut files: Vec<DataFile> = snapshot
            .log_data()
            .iter()
            .map(|f| DataFile {
                path: format!("{rel}/{}", f.object_store_path()),
                rows: f.num_records().unwrap_or(0) as u64,
                size: f.size().max(0) as u64,
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// Commits to `table` (loaded at the version the change was computed against) `change`,
    /// with the application transaction `(app, txn)`. The commit does not rebase: if the table
    /// moved since it was loaded it fails with [`Error::Conflict`], and the caller decides
    /// again on the new version.
    pub async fn commit_files(
        &self,
        rel: &str,
        table: &DeltaTable,
        change: FileChange<'_>,
        (app, txn): (&str, u64),
        metadata: serde_json::Map<String, serde_json::Value>,
    ) -> Result<u64> {
        let FileChange {
            add,
            remove,
            data_change,
        } = change;
        let snapshot = table.snapshot().map_err(delta_error(rel))?;
        let prefix = format!("{rel}/");
        let relative = |path: &str| path.strip_prefix(&prefix).map(str::to_string);
        let mut actions: Vec<Action> = Vec::with_capacity(add.len() + remove.len());
        if !remove.is_empty() {
            let wanted: std::collections::HashSet<String> =
                remove.iter().filter_map(|p| relative(p)).collect();
            let mut found = 0;
            for f in snapshot.log_data().iter() {
                if wanted.contains(f.object_store_path().as_ref()) {
                    actions.push(Action::Remove(f.remove_action(data_change)));
                    found += 1;
                }
            }
            if found != wanted.len() {
                return Err(Error::Conflict {
                    table: rel.to_string(),
                    message: "files this change removes are no longer in the table".into(),
                });
            }
        }
        for f in add {
            let path = relative(&f.path)
                .ok_or_else(|| Error::Internal(format!("{} is outside table {rel}", f.path)))?;
            actions.push(Action::Add(Add {
                partition_values: partition_values(&path),
                path,
                size: f.size as i64,
                modification_time: now_millis(),
                data_change,
                stats: Some(stats(f.rows)),
                tags: None,
                deletion_vector: None,
                base_row_id: None,
                default_row_commit_version: None,
                clustering_provider: None,
            }));
        }
        let partition_by = {
            let columns = snapshot.metadata().partition_columns().to_vec();
            (!columns.is_empty()).then_some(columns)
        };
        let operation = if !data_change {
            DeltaOperation::Optimize {
                predicate: None,
                target_size: 0,
            }
        } else if remove.is_empty() {
            DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by,
                predicate: None,
            }
        } else {
            DeltaOperation::Update { predicate: None }
        };
        let mut metadata = metadata;
        metadata.insert(
            "operationMetrics".into(),
            serde_json::json!({
                "num_added_files": add.len(),
                "num_removed_files": remove.len(),
                "num_added_rows": add.iter().map(|f| f.rows).sum::<u64>(),
            }),
        );
        let properties = CommitProperties::default()
            .with_application_transaction(Transaction::new(app, txn as i64))
            .with_metadata(metadata)
            .with_max_retries(0);
        let committed = CommitBuilder::from(properties)
            .with_actions(actions)
            .build(
                Some(snapshot as &dyn TableReference),
                table.log_store(),
                operation,
            )
            .await;
        match committed {
            Ok(done) => Ok(done.version()),
            Err(DeltaTableError::Transaction { .. })
            | Err(DeltaTableError::VersionAlreadyExists(_)) => Err(Error::Conflict {
                table: rel.to_string(),
                message: "another writer committed to the table first".into(),
            }),
            Err(e) => Err(delta_error(rel)(e)),
        }
    }

    /// The last version of application `app`'s transactions committed to `table` (0: none).
    pub async fn transaction(rel: &str, table: &DeltaTable, app: &str) -> Result<u64> {
        let snapshot = table.snapshot().map_err(delta_error(rel))?;
        Ok(snapshot
            .transaction_version(table.log_store().as_ref(), app)
            .await
            .map_err(delta_error(rel))?
            .map_or(0, |v| v.max(0) as u64))
    }
}

/// Where unreadable commit records are set aside, beside a table's `_delta_log`.
const UNREADABLE_COMMITS: &str = "_unreadable_commits";

/// Whether a Delta commit record is whole: not empty, every line a JSON object.
fn readable_record(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty()).peekable();
    lines.peek().is_some()
        && lines.all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v.is_object()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_cut_short_are_unreadable() {
        let whole = b"{\"commitInfo\":{}}\n{\"add\":{\"path\":\"a\"}}\n";
        assert!(readable_record(whole));
        assert!(!readable_record(b""));
        assert!(!readable_record(&whole[..whole.len() - 6]));
        assert!(!readable_record(&[0u8; 64]));
    }

    #[test]
    fn partitions_come_from_hive_style_folders() {
        let p = partition_values("month=2026-06/part-000000000001-x.parquet");
        assert_eq!(p.get("month"), Some(&Some("2026-06".to_string())));
        assert!(partition_values("part-1.parquet").is_empty());
    }
}
