//! firecredit: fire-safety credit scoring and risk analytics for Guangdong's fire-enforcement
//! reform (关于深化消防执法改革的实施意见).
//!
//! # Layout
//! - [`contract`]: the data contract (the `firecredit-contract` crate: sources, fields, value
//!   parsing, USCC, CSV/NDJSON records, row validation) plus the lake schemas and rule tables.
//! - [`ingest`]: inbox files (CSV/GBK, NDJSON, Parquet) → validated, de-duplicated Parquet
//!   tables in the lake, with quarantine and per-file accounting.
//! - [`lake`]: object-store access, Parquet I/O and the snapshot commit.
//! - [`credit`]: fire-credit points, grades, ledger and reward/discipline lists (SQL in
//!   `sql/credit/`).
//! - [`hazard`]: connected-device downtime, hazard elements, major fire hazard units (SQL in
//!   `sql/hazard/`).
//! - [`risk`]: leakage-free features (SQL), the fitted and calibrated fire-risk model, and
//!   scoring by the model compiled to SQL.
//! - [`area`]: high fire-risk areas: grid sub-scores, index, level and drivers (SQL in
//!   `sql/area/`).
//! - [`feed`]: the credit-platform feed (`scores` in Parquet, CSV and NDJSON; `changes`
//!   against the previous run), SQL in `sql/feed/`.
//! - [`plan`]: the verifiable risk-weighted double-random inspection plan (SQL in `sql/plan/`,
//!   the exact counts and the inspector assignment in Rust) and its verifier.
//! - [`report`]: the risk-zone report (`report.html`, plotters charts, minijinja template)
//!   and the grids as GeoJSON.
//! - [`progress`]: progress bars on a terminal.
//! - [`run`]: one scoring run for an `as_of`: registers the lake with DataFusion, runs the
//!   stages, publishes; `run::engine` makes the session (local DataFusion or Ballista).
//! - `cluster` (feature `ballista`): the `scheduler` and `executor` subcommands.
//! - [`publish`]: run folders, CSV copies, checksums and the manifest written last.
//! - [`generate`]: a synthetic province with a planted fire model, for samples and benchmarks.
//! - [`cli`]: one module per subcommand of the `firecredit` binary.
//!
//! Data flows one way: inbox → `ingest` → lake tables → (scoring stages) → published runs.

pub mod area;
pub mod cli;
#[cfg(feature = "ballista")]
pub mod cluster;
pub mod contract;
pub mod credit;
pub mod error;
pub mod feed;
pub mod generate;
pub mod hazard;
pub mod ingest;
pub mod lake;
pub mod plan;
pub mod progress;
pub mod publish;
pub mod report;
pub mod risk;
pub mod run;
#[cfg(test)]
mod testing;

pub use error::{Error, Result};
