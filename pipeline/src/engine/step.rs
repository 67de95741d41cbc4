//! One SQL step: a file of `sql/` (or SQL compiled from a fitted model) whose result later
//! steps read as the table named after it.

use std::borrow::Cow;

#[derive(Debug, Clone)]
pub struct Step {
    pub name: &'static str,
    pub sql: Cow<'static, str>,
    pub output: Output,
    pub scan: Scan,
}

/// How the engine splits a published step's input files among its partitions. A view has no
/// plan of its own (the step that reads it plans it), so it reads as that step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// A large file is cut into byte ranges, one partition each (DataFusion's default).
    Ranges,
    /// Each file is read by one partition and its rows are then dealt round-robin to all of
    /// them. For a step whose filter keeps one contiguous part of a sorted file (the risk
    /// scores: one cutoff of the features, sorted by cutoff): its byte ranges would hand every
    /// kept row to one partition, and the step's work to one core.
    WholeFiles,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Published as Parquet (and CSV, NDJSON when asked), then read back from the published
    /// file.
    Publish { csv: bool, ndjson: bool },
    /// Not published: a view that the steps reading it execute (each reads it once).
    View,
}

impl Step {
    /// A published table, Parquet (and CSV for people when `csv`).
    pub const fn publish(name: &'static str, sql: &'static str, csv: bool) -> Self {
        Step {
            name,
            sql: Cow::Borrowed(sql),
            output: Output::Publish { csv, ndjson: false },
            scan: Scan::Ranges,
        }
    }

    /// A feed table: Parquet, CSV and NDJSON.
    pub const fn feed(name: &'static str, sql: &'static str) -> Self {
        Step {
            name,
            sql: Cow::Borrowed(sql),
            output: Output::Publish {
                csv: true,
                ndjson: true,
            },
            scan: Scan::Ranges,
        }
    }

    pub const fn view(name: &'static str, sql: &'static str) -> Self {
        Step {
            name,
            sql: Cow::Borrowed(sql),
            output: Output::View,
            scan: Scan::Ranges,
        }
    }

    /// The same SQL as an unpublished view: how a past day's tables are computed.
    pub fn as_view(&self) -> Self {
        Step {
            output: Output::View,
            ..self.clone()
        }
    }
}
