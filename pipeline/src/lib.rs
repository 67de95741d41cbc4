//! firecredit: fire-safety credit scoring and risk analytics for Guangdong's fire-enforcement
//! reform (关于深化消防执法改革的实施意见).
//!
//! # Layout
//! Layers, each importing only the layers below it (`layers.rs` tests this on the source):
//! - [`cli`]: one module per subcommand of the `firecredit` binary; parses, calls, maps errors
//!   to exit codes.
//! - [`run`]: one scoring run for an `as_of`: the only place that knows the order of the
//!   stages (one list, one loop), and the manifest commit.
//! - [`stages`]: one folder per stage of a run, each beside its SQL in `sql/<stage>/`;
//!   [`ingest`] (inbox files into the lake) stands beside them, before any run.
//! - [`engine`]: the DataFusion session (local or Ballista), the project's SQL functions, the
//!   rule tables and bound parameters, the step runner and the stage context.
//! - [`lake`]: object-store access, the lake's Delta tables (commits across tables, pinned
//!   snapshots, maintenance), publication of a run's outputs, its manifest and the feed table.
//! - [`contract`]: the data contract and the rule tables (the `firecredit-contract` crate).
//!
//! [`error`], [`progress`] and [`memory`] (the allocator's tuning) are leaves that every layer
//! may use. The models are the
//! `firecredit-models` crate, the synthetic province the `firecredit-generate` crate.
//!
//! Data flows one way: inbox → `ingest` → lake tables → stages → a published run.

pub use firecredit_contract as contract;

pub mod cli;
pub mod engine;
pub mod error;
pub mod ingest;
pub mod lake;
pub mod memory;
pub mod progress;
pub mod run;
pub mod stages;

#[cfg(test)]
mod layers;
#[cfg(test)]
mod testing;

pub use error::{Error, Result};
