//! `firecredit lake migrate`: a lake of the former private format (`firecredit-lake/1`:
//! `_lake/snapshot-N.json` naming each table's files) becomes Delta tables in place. Every
//! table's files as the newest snapshot lists them become its first Delta version, committed
//! with the ingest transaction of that snapshot (so the next ingest follows on), and the quality
//! table last; then the files no snapshot listed any more (versions that later ingests
//! replaced: they made other readers see rows twice) are deleted, and `_lake/` with them.
//! Nothing else may use the lake meanwhile.

use std::collections::{BTreeMap, BTreeSet};

use object_store::path::Path;
use object_store::ObjectStoreExt;
use serde::Deserialize;

use super::delta::{FileChange, INGEST_APP};
use super::snapshot::DataFile;
use super::tables::{self, QUALITY};
use super::Lake;
use crate::error::{Error, Result};

const V1_DIR: &str = "_lake";
const V1_FORMAT: &str = "firecredit-lake/1";

/// The former commit record (only what migration reads of it).
#[derive(Debug, Deserialize)]
struct V1Snapshot {
    format: String,
    version: u64,
    tables: BTreeMap<String, Vec<V1File>>,
}

#[derive(Debug, Deserialize)]
struct V1File {
    path: String,
    rows: u64,
}

/// What a migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migration {
    /// The snapshot (= the last ingest) migrated.
    pub ingest: u64,
    /// Table → files it holds.
    pub tables: Vec<(String, usize)>,
    /// Superseded files deleted.
    pub deleted: usize,
}

impl Lake {
    /// Migrates a `firecredit-lake/1` lake to Delta tables (see the module). A lake that is
    /// already Delta, or empty, is an error naming why.
    pub async fn migrate(&self) -> Result<Migration> {
        let names: Vec<Path> = (self.list_objects(V1_DIR).await?)
            .into_iter()
            .map(|m| m.location)
            .collect();
        let newest = names
            .iter()
            .filter_map(|p| {
                let name = p.filename()?;
                let v: u64 = name
                    .strip_prefix("snapshot-")?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()?;
                Some((v, p))
            })
            .max_by_key(|(v, _)| *v);
        let Some((_, path)) = newest else {
            return Err(Error::Invalid(format!(
                "{} holds no {V1_FORMAT} snapshot to migrate",
                self.url()
            )));
        };
        let bytes = self.get(path.as_ref()).await?;
        let v1: V1Snapshot = serde_json::from_slice(&bytes).map_err(|e| Error::Manifest {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        if v1.format != V1_FORMAT {
            return Err(Error::Invalid(format!(
                "{path}: format {} is not {V1_FORMAT}",
                v1.format
            )));
        }
        let mut migration = Migration {
            ingest: v1.version,
            ..Default::default()
        };
        // The quality table last: its transaction says the ingest is complete.
        let mut order: Vec<&str> = tables::all().into_iter().map(|(n, _)| n).collect();
        order.retain(|n| *n != QUALITY);
        order.push(QUALITY);
        let mut listed: BTreeSet<String> = BTreeSet::new();
        for name in order {
            let rel = tables::root(name);
            let (schema, partitions) = tables::delta_schema(name)?;
            let table = self.ensure_table(&rel, &schema, &partitions, &[]).await?;
            let mut files = Vec::new();
            for f in v1.tables.get(name).into_iter().flatten() {
                let p = Path::from(f.path.as_str());
                let meta = self.store.head(&p).await.map_err(|e| Self::os_err(&p, e))?;
                listed.insert(f.path.clone());
                files.push(DataFile {
                    path: f.path.clone(),
                    rows: f.rows,
                    size: meta.size,
                });
            }
            if Lake::transaction(&rel, &table, INGEST_APP).await? < v1.version {
                let mut metadata = serde_json::Map::new();
                metadata.insert("firecredit.migrated_from".into(), V1_FORMAT.into());
                let change = FileChange {
                    add: &files,
                    remove: &[],
                    data_change: true,
                };
                self.commit_files(&rel, &table, change, (INGEST_APP, v1.version), metadata)
                    .await?;
            }
            migration.tables.push((name.to_string(), files.len()));
        }
        // Files of the tables that the snapshot no longer listed.
        for p in self
            .list_objects("tables")
            .await?
            .into_iter()
            .map(|m| m.location)
        {
            let text = p.to_string();
            if text.ends_with(".parquet")
                && !text.contains("/_delta_log/")
                && !listed.contains(&text)
            {
                self.delete_object(&p).await?;
                migration.deleted += 1;
            }
        }
        self.delete_prefix(V1_DIR).await?;
        Ok(migration)
    }
}
