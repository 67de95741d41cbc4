//! The commit of one change across the lake's tables: an ingest, or a compaction.
//!
//! Delta commits one table at a time; an ingest changes many. It is made one by a record
//! written first:
//! 1. **record**: with every new data file written, the change's record (its number and, per
//!    table, the version it was computed on and the files it adds and removes) is committed to
//!    the ingest log (`tables/ingest_log`) with the change's transaction (`txn`, app
//!    [`INGEST_APP`], version = the change's number). That commit does not rebase, so of two
//!    changes prepared on the same lake one records the number and the other starts again on
//!    what the first one made ([`commit_next`]).
//! 2. **apply**: each table in the record's order, the quality table last, gets one commit of
//!    its files with the same transaction; a table that already holds the transaction is
//!    skipped. A file counts as taken only once the quality table's commit is in, and the
//!    quality table's transaction is the number of the last change committed.
//!
//! A change interrupted after its record is finished from the record by the next writer (or by
//! a concurrent one: both apply it, each table takes one commit); one interrupted before its
//! record leaves only files no table references, which `lake vacuum` removes. Compaction
//! (`lake optimize`) goes through the same record, so it never moves a table under an ingest.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use deltalake::DeltaTable;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::delta::{FileChange, INGEST_APP};
use super::snapshot::{DataFile, Snapshot};
use super::tables::QUALITY;
use super::{tables, Lake};
use crate::error::{Error, Result};
use crate::lake::columns::Columns;

/// The ingest log: one row per recorded ingest.
pub const INGEST_LOG: &str = "ingest_log";

/// What one ingest changes in one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableChange {
    pub table: String,
    /// The table's version the change was computed on (none: the table did not exist).
    pub base: Option<u64>,
    pub add: Vec<DataFile>,
    /// Lake paths of the files it replaces.
    pub remove: Vec<String>,
}

/// What a record changes: new rows, or the same rows in fewer files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    #[default]
    Ingest,
    Compaction,
}

/// One change of the lake's tables, as the ingest log records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestRecord {
    /// Its number: ingests and compactions share one sequence.
    pub ingest: u64,
    #[serde(default)]
    pub kind: RecordKind,
    /// Inbox files the ingest takes (0 for a compaction).
    pub files: u64,
    /// In commit order: the sources, the quarantine, the quality table last.
    pub changes: Vec<TableChange>,
}

fn log_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("ingest", DataType::Int64, false),
        Field::new(
            "recorded_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("files", DataType::Int64, false),
        Field::new("record", DataType::Utf8, false),
    ]))
}

impl IngestRecord {
    /// The ingest log as it stands, to record against.
    pub async fn log(lake: &Lake) -> Result<DeltaTable> {
        lake.ensure_table(&tables::root(INGEST_LOG), &log_schema(), &[], &[])
            .await
    }

    /// Commits the record to `log` (loaded before the change was computed). Fails with
    /// [`Error::Conflict`] when another writer recorded since.
    pub async fn record(&self, lake: &Lake, log: &DeltaTable, tag: &str) -> Result<()> {
        let rel = tables::root(INGEST_LOG);
        let json = serde_json::to_string(self).map_err(|e| Error::Internal(e.to_string()))?;
        let batch = RecordBatch::try_new(
            log_schema(),
            vec![
                Arc::new(Int64Array::from(vec![self.ingest as i64])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![chrono::Utc::now().timestamp_micros()])
                        .with_timezone("UTC"),
                ),
                Arc::new(Int64Array::from(vec![self.files as i64])),
                Arc::new(StringArray::from(vec![json])),
            ],
        )?;
        let path = format!("{rel}/part-{tag}.parquet");
        let file = lake
            .write_parquet(&path, log_schema(), &[batch])
            .await?
            .ok_or_else(|| Error::Internal("empty ingest record".into()))?;
        let change = FileChange {
            add: &[file],
            remove: &[],
            data_change: true,
        };
        lake.commit_files(
            &rel,
            log,
            change,
            (INGEST_APP, self.ingest),
            self.metadata(),
        )
        .await?;
        super::checkpoint(&format!("{}:recorded", self.kind.name()));
        Ok(())
    }

    /// Commit metadata that names the change in every table's history.
    fn metadata(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("firecredit.ingest".into(), self.ingest.into());
        m.insert("firecredit.kind".into(), self.kind.name().into());
        m
    }

    /// Commits every table's change that is not in yet, the quality table last.
    pub async fn apply(&self, lake: &Lake) -> Result<()> {
        for change in &self.changes {
            self.apply_one(lake, change).await?;
            super::checkpoint(&format!("{}:{}", self.kind.name(), change.table));
        }
        Ok(())
    }

    async fn apply_one(&self, lake: &Lake, change: &TableChange) -> Result<()> {
        let rel = tables::root(&change.table);
        let (schema, partitions) = tables::delta_schema(&change.table)?;
        // A concurrent writer of the same record may win a commit: look again, then skip.
        for _ in 0..3 {
            let table = lake.ensure_table(&rel, &schema, &partitions, &[]).await?;
            if Lake::transaction(&rel, &table, INGEST_APP).await? >= self.ingest {
                return Ok(());
            }
            let unchanged = match (table.version(), change.base) {
                (Some(now), Some(base)) => now == base,
                (now, None) => now.is_none_or(|v| v == 0),
                (None, Some(_)) => false,
            };
            if !unchanged {
                // Only commits of this protocol change the lake's tables, each after the one
                // before is applied; a table that moved was written by something else.
                return Err(Error::Conflict {
                    table: rel,
                    message: format!(
                        "the table moved from version {:?} outside firecredit's commits while \
                         change {} was being applied; it stays recorded, and firecredit cannot \
                         finish it until the table is restored to that version",
                        change.base, self.ingest
                    ),
                });
            }
            let files = FileChange {
                add: &change.add,
                remove: &change.remove,
                data_change: self.kind == RecordKind::Ingest,
            };
            match lake
                .commit_files(
                    &rel,
                    &table,
                    files,
                    (INGEST_APP, self.ingest),
                    self.metadata(),
                )
                .await
            {
                Ok(_) => return Ok(()),
                Err(Error::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict {
            table: rel,
            message: format!(
                "could not commit change {} after three attempts",
                self.ingest
            ),
        })
    }

    /// The recorded change whose quality commit is not in yet, if any (`done` is the number of
    /// the last change whose quality commit is).
    pub async fn pending(lake: &Lake, log: &DeltaTable, done: u64) -> Result<Option<IngestRecord>> {
        let rel = tables::root(INGEST_LOG);
        let recorded = Lake::transaction(&rel, log, INGEST_APP).await?;
        if recorded <= done {
            return Ok(None);
        }
        match Self::all(lake, log)
            .await?
            .into_iter()
            .find(|r| r.ingest == recorded)
        {
            Some(record) => Ok(Some(record)),
            None => Err(Error::Table {
                table: INGEST_LOG.into(),
                column: "record".into(),
                message: format!("change {recorded} is recorded but its row is missing"),
            }),
        }
    }

    /// Every change the ingest log records, in their order.
    pub async fn all(lake: &Lake, log: &DeltaTable) -> Result<Vec<IngestRecord>> {
        let rel = tables::root(INGEST_LOG);
        let mut out: Vec<IngestRecord> = Vec::new();
        for file in Lake::delta_files(&rel, log)? {
            let mut stream = lake.read_parquet(&file.path, None).await?;
            while let Some(b) = stream.try_next().await? {
                let c = Columns::new(INGEST_LOG, &b);
                for json in c.text("record")? {
                    let json = json.unwrap_or_default();
                    out.push(serde_json::from_str(&json).map_err(|e| Error::Table {
                        table: INGEST_LOG.into(),
                        column: "record".into(),
                        message: e.to_string(),
                    })?);
                }
            }
        }
        out.sort_by_key(|r| r.ingest);
        Ok(out)
    }
}

/// A table whose newest commit record was set aside as unreadable (`Lake::delta_table`) may
/// have lost the last change the ingest log records for it: that change is applied to it
/// again (a table that holds it is left alone). `true` when a table was caught up.
async fn catch_up_set_aside(lake: &Lake, log: &DeltaTable) -> Result<bool> {
    let marked: Vec<&str> = tables::all()
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| lake.has_set_aside_records(&tables::root(name)))
        .collect();
    if marked.is_empty() {
        return Ok(false);
    }
    let records = IngestRecord::all(lake, log).await?;
    let mut caught_up = false;
    for name in marked {
        let last = records.iter().rev().find_map(|r| {
            r.changes
                .iter()
                .find(|c| c.table == name)
                .map(|change| (r, change))
        });
        let Some((record, change)) = last else {
            continue;
        };
        let rel = tables::root(name);
        let Some(table) = lake.delta_table(&rel, super::delta::At::Latest).await? else {
            continue;
        };
        if Lake::transaction(&rel, &table, INGEST_APP).await? >= record.ingest {
            continue;
        }
        tracing::warn!(
            table = name,
            change = record.ingest,
            "the table lost its commit of this change with an unreadable record; applying it again"
        );
        record.apply_one(lake, change).await?;
        caught_up = true;
    }
    Ok(caught_up)
}

impl RecordKind {
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Ingest => "ingest",
            RecordKind::Compaction => "compaction",
        }
    }
}

/// How many times a writer starts again after another one recorded first.
const ATTEMPTS: usize = 5;

/// What a writer prepared on the lake as it stood.
pub enum Prepared<T> {
    /// Nothing to commit.
    Nothing(T),
    /// The changes of every table, in commit order, the quality table last (it must be there,
    /// even unchanged: its commit says the change is complete).
    Changes {
        kind: RecordKind,
        /// Inbox files taken.
        files: u64,
        changes: Vec<TableChange>,
        value: T,
    },
}

/// What [`commit_next`] did.
pub struct Committed<T> {
    /// The number of the change committed, or of the last one when there was nothing to do.
    pub version: u64,
    pub committed: bool,
    pub value: T,
}

/// Commits the lake's next change: first finishes one that is recorded and not applied (a
/// writer killed, or a concurrent one), then calls `prepare` with the lake as it stands, the
/// next number and a tag unique to this attempt (for the names of the files it writes),
/// records what it prepared and applies it. When another writer records that number first it
/// starts again on what that one made, up to [`ATTEMPTS`] times.
pub async fn commit_next<T>(
    lake: &Lake,
    mut prepare: impl AsyncFnMut(&Snapshot, u64, &str) -> Result<Prepared<T>>,
) -> Result<Committed<T>> {
    for _ in 0..ATTEMPTS {
        let log = lake.ingest_log().await?;
        let base = lake.snapshot().await?;
        if let Some(pending) = IngestRecord::pending(lake, &log, base.version).await? {
            tracing::info!(change = pending.ingest, "finishing a recorded change");
            pending.apply(lake).await?;
            continue;
        }
        if catch_up_set_aside(lake, &log).await? {
            continue;
        }
        let seq = base.version + 1;
        // File names carry the attempt, so that two writers of one number never overwrite
        // each other's files.
        let tag = format!(
            "{seq:012}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
        );
        let (kind, files, changes, value) = match prepare(&base, seq, &tag).await? {
            Prepared::Nothing(value) => {
                return Ok(Committed {
                    version: base.version,
                    committed: false,
                    value,
                })
            }
            Prepared::Changes {
                kind,
                files,
                changes,
                value,
            } => (kind, files, changes, value),
        };
        if changes.last().map(|c| c.table.as_str()) != Some(QUALITY) {
            return Err(Error::Internal(format!(
                "change {seq} does not end with the quality table"
            )));
        }
        super::checkpoint(&format!("{}:staged", kind.name()));
        let record = IngestRecord {
            ingest: seq,
            kind,
            files,
            changes,
        };
        match record.record(lake, &log, &tag).await {
            Ok(()) => {}
            Err(Error::Conflict { .. }) => {
                tracing::info!(
                    change = seq,
                    "another writer recorded this number first; starting again"
                );
                continue;
            }
            Err(e) => return Err(e),
        }
        record.apply(lake).await?;
        return Ok(Committed {
            version: seq,
            committed: true,
            value,
        });
    }
    Err(Error::Conflict {
        table: tables::root(INGEST_LOG),
        message: format!("other writers kept recording first ({ATTEMPTS} attempts); rerun"),
    })
}

/// The change of every table between `base` and its files after a change (`next`: the tables
/// it touches), in commit order: the sources, the quarantine, the quality table last and always
/// (its commit completes the change); a table that does not exist yet is created empty.
pub fn changes(base: &Snapshot, mut next: BTreeMap<String, Vec<DataFile>>) -> Vec<TableChange> {
    tables::all()
        .into_iter()
        .filter_map(|(name, _)| {
            let files = next
                .remove(name)
                .unwrap_or_else(|| base.files(name).to_vec());
            let before: HashSet<&str> = base.files(name).iter().map(|f| f.path.as_str()).collect();
            let after: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
            let add: Vec<DataFile> = files
                .iter()
                .filter(|f| !before.contains(f.path.as_str()))
                .cloned()
                .collect();
            let remove: Vec<String> = base
                .files(name)
                .iter()
                .filter(|f| !after.contains(f.path.as_str()))
                .map(|f| f.path.clone())
                .collect();
            // Every table is created by the first change, so that readers find them all.
            let exists = base.tables.get(name).is_some_and(|t| t.version.is_some());
            (!add.is_empty() || !remove.is_empty() || name == QUALITY || !exists).then(|| {
                TableChange {
                    table: name.to_string(),
                    base: base.tables.get(name).and_then(|t| t.version),
                    add,
                    remove,
                }
            })
        })
        .collect()
}

impl Lake {
    /// The ingest log at its latest version (created when missing).
    pub async fn ingest_log(&self) -> Result<DeltaTable> {
        IngestRecord::log(self).await
    }
}
