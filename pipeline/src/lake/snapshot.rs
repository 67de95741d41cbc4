//! A pinned view of the lake: each Delta table's version and the files of that version, the
//! last ingest committed and the inbox files it has taken. A run reads exactly these files, so
//! what it read is named by the versions (the manifest records them) and can be read again.

use std::collections::BTreeMap;

use futures::TryStreamExt;

use super::commit::{IngestRecord, INGEST_LOG};
use super::delta::{At, INGEST_APP};
use super::tables::{self, QUALITY};
use super::Lake;
use crate::error::Result;
use crate::lake::columns::Columns;

/// One data file of a table: its lake path, rows and size in bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataFile {
    pub path: String,
    pub rows: u64,
    pub size: u64,
}

/// An inbox file the lake has taken (its quality row is committed, status `ok`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestedFile {
    pub ingest: u64,
    pub source: String,
    pub file: String,
}

/// One table at a pinned version (none when the table does not exist yet).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableFiles {
    pub version: Option<u64>,
    pub files: Vec<DataFile>,
}

/// How the tables of a run are pinned.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Pins {
    /// Every table at its latest version.
    #[default]
    Latest,
    /// These tables at these versions, the others at their latest.
    Versions(BTreeMap<String, u64>),
    /// Every table as it was at this instant.
    Time(chrono::DateTime<chrono::Utc>),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The number of the last ingest committed (its quality rows included); 0 for an empty lake.
    pub version: u64,
    /// Table name → its version and files.
    pub tables: BTreeMap<String, TableFiles>,
    /// SHA-256 of every inbox file taken → where it came from.
    pub ingested: BTreeMap<String, IngestedFile>,
}

impl Snapshot {
    pub fn files(&self, table: &str) -> &[DataFile] {
        self.tables
            .get(table)
            .map(|t| t.files.as_slice())
            .unwrap_or(&[])
    }

    pub fn rows(&self, table: &str) -> u64 {
        self.files(table).iter().map(|f| f.rows).sum()
    }

    /// The digest of the lake's content: SHA-256 of the SHA-256s of every inbox file taken,
    /// sorted and one per line (the manifest's `inputs`, so anyone can recompute it). Nobody
    /// knows it before the data is frozen.
    pub fn content_digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for sha in self.ingested.keys() {
            hasher.update(sha.as_bytes());
            hasher.update(b"\n");
        }
        hex::encode(hasher.finalize())
    }

    /// The version of every table that exists, for the manifest.
    pub fn versions(&self) -> BTreeMap<String, u64> {
        self.tables
            .iter()
            .filter_map(|(name, t)| Some((name.clone(), t.version?)))
            .collect()
    }
}

impl Lake {
    /// The lake as `pins` select it: every lake table's version and files, the last change
    /// committed (the quality table's transaction) and the inbox files taken. A change that is
    /// committed to some tables and not yet to the quality table is not part of it: those
    /// tables are read at the version the change was computed on (unless pinned by version).
    pub async fn snapshot_at(&self, pins: &Pins) -> Result<Snapshot> {
        let mut loaded = BTreeMap::new();
        for (name, _) in tables::all() {
            let at = match pins {
                Pins::Latest => At::Latest,
                Pins::Versions(v) => v.get(name).map_or(At::Latest, |v| At::Version(*v)),
                Pins::Time(t) => At::Time(*t),
            };
            loaded.insert(name, self.delta_table(&tables::root(name), at).await?);
        }
        let mut snapshot = Snapshot::default();
        if let Some(quality) = &loaded[QUALITY] {
            snapshot.version =
                Lake::transaction(&tables::root(QUALITY), quality, INGEST_APP).await?;
        }
        let log_at = match pins {
            Pins::Time(t) => At::Time(*t),
            _ => At::Latest,
        };
        if let Some(log) = self.delta_table(&tables::root(INGEST_LOG), log_at).await? {
            if let Some(partial) = IngestRecord::pending(self, &log, snapshot.version).await? {
                for change in &partial.changes {
                    let name = change.table.as_str();
                    let pinned = matches!(pins, Pins::Versions(v) if v.contains_key(name));
                    let rel = tables::root(name);
                    let Some(Some(table)) = loaded.get(name) else {
                        continue;
                    };
                    if pinned || Lake::transaction(&rel, table, INGEST_APP).await? < partial.ingest
                    {
                        continue;
                    }
                    let before = match change.base {
                        Some(v) => self.delta_table(&rel, At::Version(v)).await?,
                        None => None,
                    };
                    if let Some(slot) = loaded.get_mut(name) {
                        *slot = before;
                    }
                }
            }
        }
        for (name, table) in loaded {
            let files = match table {
                Some(table) => TableFiles {
                    version: table.version(),
                    files: Lake::delta_files(&tables::root(name), &table)?,
                },
                None => TableFiles::default(),
            };
            snapshot.tables.insert(name.to_string(), files);
        }
        snapshot.ingested = self.ingested(snapshot.files(QUALITY)).await?;
        Ok(snapshot)
    }

    /// The files of one lake table at one of its versions (none when the table did not exist
    /// then): what a run that recorded that version read of it.
    pub async fn table_files_at(&self, name: &str, version: u64) -> Result<Vec<DataFile>> {
        let rel = tables::root(name);
        match self.delta_table(&rel, At::Version(version)).await? {
            Some(table) => Lake::delta_files(&rel, &table),
            None => Ok(Vec::new()),
        }
    }

    /// The newest committed state of every table.
    pub async fn snapshot(&self) -> Result<Snapshot> {
        self.snapshot_at(&Pins::Latest).await
    }

    /// The inbox files the quality files record as taken (status `ok`).
    async fn ingested(&self, quality: &[DataFile]) -> Result<BTreeMap<String, IngestedFile>> {
        let mut out = BTreeMap::new();
        for f in quality {
            let mut stream = self
                .read_parquet(
                    &f.path,
                    Some(&["ingest", "source", "file", "sha256", "status"]),
                )
                .await?;
            while let Some(b) = stream.try_next().await? {
                let c = Columns::new(QUALITY, &b);
                let (ingest, source, file) =
                    (c.i64s("ingest")?, c.text("source")?, c.text("file")?);
                let (sha, status) = (c.text("sha256")?, c.text("status")?);
                for r in 0..b.num_rows() {
                    if status[r].as_deref() != Some("ok") {
                        continue;
                    }
                    if let Some(sha) = sha[r].clone() {
                        out.insert(
                            sha,
                            IngestedFile {
                                ingest: ingest[r].unwrap_or(0).max(0) as u64,
                                source: source[r].clone().unwrap_or_default(),
                                file: file[r].clone().unwrap_or_default(),
                            },
                        );
                    }
                }
            }
        }
        Ok(out)
    }
}
