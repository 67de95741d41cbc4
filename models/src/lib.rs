//! Fire-risk models for firecredit.
//!
//! # Layout
//! - [`metrics`]: ranking and calibration metrics (ROC AUC, …) used to judge models against
//!   each other and against the generator's oracle.
//!
//! Fitting (linfa), calibration, the scorecard and the model-to-SQL compiler join this crate
//! with the risk stage.

pub mod metrics;
