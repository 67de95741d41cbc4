//! The stages of a run, one folder each, beside its SQL in `sql/<stage>/`. A stage implements
//! [`crate::engine::Stage`]; `run/` lists them in order. A stage may read what an earlier one
//! published (as a table) and may use another stage's steps (the status at past cutoffs runs
//! the hazard and credit steps again), never the other way round.
//!
//! # Layout
//! - [`hazard`]: device intervals and downtime, hazard elements, major fire hazard units (§2).
//! - [`credit`]: the ledger, points and grades (§1); after risk, objection and repair cases
//!   (supervision.md §8), unit scores and the reward and discipline lists; `explain`.
//! - [`status`]: each unit's points, grade and major-hazard flag at the model's cutoffs.
//! - [`risk`]: features, the fitted and calibrated model, its report, scores and levels (§3).
//! - [`area`]: high fire-risk areas (§4).
//! - [`supervision`]: listed supervision of major hazard units and high-risk areas, from list
//!   to lifted (supervision.md §6).
//! - [`enforcement`]: enforcement-supervision alerts and their counts (supervision.md §7).
//! - [`feed`]: the credit-platform feed and its changes.
//! - [`report`]: the risk-zone report for governments and the grids as GeoJSON.
//! - [`plan`]: the double-random inspection plan (§5) and its verifier.

pub mod area;
pub mod credit;
pub mod enforcement;
pub mod feed;
pub mod hazard;
pub mod plan;
pub mod report;
pub mod risk;
pub mod status;
pub mod supervision;
