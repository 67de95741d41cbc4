//! Fire-risk models for firecredit.
//!
//! # Layout
//! - [`metrics`]: ranking and calibration metrics (ROC AUC, KS, precision and recall at k,
//!   calibration by decile, PSI) to judge models against each other and the generator's oracle.
//! - [`dataset`]: a feature matrix with its column names and labels.
//! - [`logistic`]: standardised logistic regression (linfa-logistic's problem and argmin
//!   solver), with validated hyper-parameters (`hyperparams.rs`), the fit (`algorithm.rs`),
//!   the problem (`problem.rs`) and errors (`error.rs`).
//! - [`forest`]: a random forest of linfa-trees decision trees (rayon), whose nodes keep
//!   smoothed fire rates so that it scores probabilities and explains them.
//! - [`boosting`]: gradient-boosted trees on histograms, with validated hyper-parameters,
//!   early stopping on held-out rows, and the same tree form as the forest.
//! - [`tree`]: the trees both keep, their paths, contributions and SQL, and their values summed
//!   over many rows at a time.
//! - [`calibration`]: Platt scaling, and the calibration of the published model (the
//!   backtest's slope, a level anchored to the latest year and moved by the observed drift).
//! - [`scorecard`]: the logistic model as a points table (quantile bins, WoE, PDO scaling).
//! - [`artifact`]: the fitted model as JSON, and its compilation to a SQL expression that
//!   DataFusion evaluates over the feature table.

pub mod artifact;
pub mod boosting;
pub mod calibration;
pub mod dataset;
pub mod forest;
pub mod logistic;
pub mod metrics;
pub mod scorecard;
mod split_mix;
pub mod tree;

/// The ndarray version the models use, for callers that build datasets.
pub use ndarray;
