//! The lake's commit record: which files make up each table, which inbox files were ingested.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "firecredit-lake/1";

/// One committed version of the lake.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub format: String,
    /// 0 for an empty lake; each ingest that changes anything commits the next version, which
    /// is also that ingest's sequence number in the `_ingest` lineage column.
    pub version: u64,
    /// Table name → its files, in the order they were added.
    pub tables: BTreeMap<String, Vec<DataFile>>,
    /// SHA-256 of every inbox file already ingested → where it came from.
    pub ingested: BTreeMap<String, IngestedFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataFile {
    pub path: String,
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IngestedFile {
    pub ingest: u64,
    pub source: String,
    pub file: String,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            format: FORMAT.to_string(),
            version: 0,
            tables: BTreeMap::new(),
            ingested: BTreeMap::new(),
        }
    }
}

impl Snapshot {
    pub fn file_name(version: u64) -> String {
        format!("snapshot-{version:012}.json")
    }

    pub fn version_of(file_name: &str) -> Option<u64> {
        file_name
            .strip_prefix("snapshot-")?
            .strip_suffix(".json")?
            .parse()
            .ok()
    }

    pub fn files(&self, table: &str) -> &[DataFile] {
        self.tables.get(table).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn rows(&self, table: &str) -> u64 {
        self.files(table).iter().map(|f| f.rows).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_sort_and_parse() {
        assert_eq!(Snapshot::file_name(42), "snapshot-000000000042.json");
        assert_eq!(Snapshot::version_of("snapshot-000000000042.json"), Some(42));
        assert_eq!(Snapshot::version_of("snapshot-x.json"), None);
        assert_eq!(Snapshot::version_of("other.json"), None);
    }
}
