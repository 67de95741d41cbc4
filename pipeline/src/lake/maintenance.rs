//! Keeping the lake: `vacuum` removes what no table version and no committed run needs (after a
//! retention period, so that readers of recent versions and runs still find their files),
//! `optimize` compacts small files (IoT months gather one file per ingest), `history` lists a
//! table's commits.

use std::collections::BTreeMap;
use std::num::NonZeroU64;

use chrono::{DateTime, Utc};
use deltalake::operations::vacuum::VacuumMode;
use futures::TryStreamExt;

use super::commit::{changes, commit_next, Prepared, RecordKind, INGEST_LOG};
use super::delta::{delta_error, At};
use super::publish::feed::FEED_TABLE;
use super::publish::read_manifest;
use super::snapshot::{DataFile, Snapshot};
use super::tables::QUALITY;
use super::{tables, Lake};
use crate::error::{Error, Result};

/// Delta's default: files a version of the last seven days may read are kept.
pub const DEFAULT_RETENTION: std::time::Duration = std::time::Duration::from_secs(168 * 3600);

/// Files `optimize` aims for.
const TARGET_FILE_BYTES: u64 = 128 << 20;

/// The roots of every Delta table of the lake.
fn table_roots() -> Vec<String> {
    tables::all()
        .into_iter()
        .map(|(name, _)| tables::root(name))
        .chain([tables::root(INGEST_LOG), FEED_TABLE.to_string()])
        .collect()
}

/// What `vacuum` removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VacuumReport {
    /// Table root → files removed.
    pub files: Vec<(String, usize)>,
    /// Run folders that no manifest names (attempts that never committed).
    pub runs: Vec<String>,
    /// Leftover `_staging/` and `_scratch/` objects.
    pub scratch: usize,
}

/// What `optimize` did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compacted {
    pub table: String,
    pub removed: u64,
    pub added: u64,
}

/// The files of a table worth compacting, in groups that each become one file: files of one
/// folder (an IoT month) in path order, packed up to [`TARGET_FILE_BYTES`]; a group of one
/// file stays as it is.
fn compaction_groups(files: &[DataFile]) -> Vec<Vec<DataFile>> {
    let mut by_folder: BTreeMap<&str, Vec<&DataFile>> = BTreeMap::new();
    for f in files {
        let folder = f.path.rsplit_once('/').map_or("", |(d, _)| d);
        by_folder.entry(folder).or_default().push(f);
    }
    let mut groups = Vec::new();
    for mut folder in by_folder.into_values() {
        folder.sort_by(|a, b| a.path.cmp(&b.path));
        let mut group: Vec<DataFile> = Vec::new();
        let mut bytes = 0;
        for f in folder {
            if !group.is_empty() && bytes + f.size > TARGET_FILE_BYTES {
                groups.push(std::mem::take(&mut group));
                bytes = 0;
            }
            bytes += f.size;
            group.push(f.clone());
        }
        groups.push(group);
    }
    groups.retain(|g| g.len() > 1);
    groups
}

/// One commit of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    pub version: u64,
    pub timestamp: Option<DateTime<Utc>>,
    pub operation: String,
    /// The ingest it belongs to, for ingest commits.
    pub ingest: Option<u64>,
    pub added: Option<u64>,
    pub removed: Option<u64>,
}

impl Lake {
    /// Removes the files no version of the last `retain` needs from every table (and every file
    /// of a table folder that no version references, such as those of an ingest that died
    /// before its commit), run folders no manifest names that are older than `retain`, and old
    /// staging and scratch leftovers.
    pub async fn vacuum(&self, retain: std::time::Duration) -> Result<VacuumReport> {
        let mut report = VacuumReport::default();
        let retention = chrono::Duration::from_std(retain)
            .map_err(|e| Error::Invalid(format!("retention: {e}")))?;
        for root in table_roots() {
            let Some(table) = self.delta_table(&root, At::Latest).await? else {
                continue;
            };
            let (_, metrics) = table
                .vacuum()
                .with_retention_period(retention)
                .with_enforce_retention_duration(false)
                .with_mode(VacuumMode::Full)
                .await
                .map_err(delta_error(&root))?;
            report.files.push((root, metrics.files_deleted.len()));
        }
        let cutoff = Utc::now() - retention;
        for day in self.list_dirs("runs").await? {
            let name = day.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            let manifest = read_manifest(self, name).await?;
            let keep: Vec<String> = manifest
                .iter()
                .flat_map(|m| [Some(m.dir.clone()), m.replaces.clone()])
                .flatten()
                .collect();
            for attempt in self.list_dirs(&day).await? {
                let attempt = attempt.trim_end_matches('/').to_string();
                if keep.contains(&attempt) || self.newest(&attempt).await? > Some(cutoff) {
                    continue;
                }
                self.delete_prefix(&attempt).await?;
                report.runs.push(attempt);
            }
        }
        for dir in ["_staging", "_scratch"] {
            for entry in self.list_dirs(dir).await? {
                if self.newest(&entry).await? <= Some(cutoff) {
                    report.scratch += 1;
                    self.delete_prefix(&entry).await?;
                }
            }
        }
        Ok(report)
    }

    /// When the newest object under `prefix` was written.
    async fn newest(&self, prefix: &str) -> Result<Option<DateTime<Utc>>> {
        let objects = self.list_objects(prefix).await?;
        Ok(objects.iter().map(|o| o.last_modified).max())
    }

    /// Compacts the small files of every table (each IoT month on its own) into files of up
    /// to [`TARGET_FILE_BYTES`]. The lake tables' compaction is a change of the ingest
    /// protocol, so it never moves a table under an ingest; the ingest log and the feed table
    /// are compacted by delta-rs's OPTIMIZE. Returns, per table, the files removed and added.
    pub async fn optimize(&self) -> Result<Vec<Compacted>> {
        let committed = commit_next(self, async |base: &Snapshot, _seq: u64, tag: &str| {
            let mut next = BTreeMap::new();
            let mut out = Vec::new();
            for (name, schema) in tables::all() {
                let groups = compaction_groups(base.files(name));
                if groups.is_empty() {
                    continue;
                }
                let mut files = base.files(name).to_vec();
                let mut added = Vec::new();
                for (k, group) in groups.iter().enumerate() {
                    let folder = group[0].path.rsplit_once('/').map_or("", |(d, _)| d);
                    let path = format!("{folder}/part-{tag}-c{k:04}.parquet");
                    let mut writer = self.table_writer(path, schema.clone());
                    for f in group {
                        let mut stream = self.read_parquet(&f.path, None).await?;
                        while let Some(b) = stream.try_next().await? {
                            writer.write(&b).await?;
                        }
                    }
                    added.extend(writer.finish().await?);
                    files.retain(|f| !group.contains(f));
                }
                out.push(Compacted {
                    table: tables::root(name),
                    removed: groups.iter().map(Vec::len).sum::<usize>() as u64,
                    added: added.len() as u64,
                });
                files.extend(added);
                next.insert(name.to_string(), files);
            }
            if next.is_empty() {
                return Ok(Prepared::Nothing(out));
            }
            next.entry(QUALITY.to_string())
                .or_insert_with(|| base.files(QUALITY).to_vec());
            Ok(Prepared::Changes {
                kind: RecordKind::Compaction,
                files: 0,
                changes: changes(base, next),
                value: out,
            })
        })
        .await?;
        let mut out = committed.value;
        let target = NonZeroU64::new(TARGET_FILE_BYTES).unwrap_or(NonZeroU64::MIN);
        for root in [tables::root(INGEST_LOG), FEED_TABLE.to_string()] {
            let Some(table) = self.delta_table(&root, At::Latest).await? else {
                continue;
            };
            let (_, metrics) = table
                .optimize()
                .with_target_size(target)
                .await
                .map_err(delta_error(&root))?;
            if metrics.num_files_removed > 0 {
                out.push(Compacted {
                    table: root,
                    removed: metrics.num_files_removed,
                    added: metrics.num_files_added,
                });
            }
        }
        Ok(out)
    }

    /// The commits of the table `name` (a lake table, `ingest_log` or `feed/scores`), newest
    /// first.
    pub async fn history(&self, name: &str, limit: Option<usize>) -> Result<Vec<Commit>> {
        let root = if name.contains('/') {
            name.to_string()
        } else {
            tables::root(name)
        };
        let table = self
            .delta_table(&root, At::Latest)
            .await?
            .ok_or_else(|| Error::Invalid(format!("there is no table {name} in {}", self.url())))?;
        let latest = table.version().unwrap_or(0);
        let infos: Vec<_> = table
            .history(limit)
            .try_collect()
            .await
            .map_err(delta_error(&root))?;
        // delta-rs's operations and ours (`commit_files`) record delta-rs's metric names;
        // Spark's are camel case, with strings for numbers.
        let count = |info: &deltalake::kernel::CommitInfo, keys: [&str; 2]| {
            let metrics = info.info.get("operationMetrics")?;
            let metric = keys.iter().find_map(|k| metrics.get(*k))?;
            metric
                .as_u64()
                .or_else(|| metric.as_str().and_then(|s| s.parse().ok()))
        };
        Ok(infos
            .iter()
            .enumerate()
            .map(|(i, info)| Commit {
                // Newest first and consecutive (delta-rs lists the commit files downwards).
                version: latest.saturating_sub(i as u64),
                timestamp: info.timestamp.and_then(DateTime::from_timestamp_millis),
                operation: info.operation.clone().unwrap_or_default(),
                ingest: info.info.get("firecredit.ingest").and_then(|v| v.as_u64()),
                added: count(info, ["num_added_files", "numAddedFiles"]),
                removed: count(info, ["num_removed_files", "numRemovedFiles"]),
            })
            .collect())
    }
}
