//! Gradient-boosted trees on histograms (as LightGBM and scikit-learn's
//! `HistGradientBoostingClassifier` grow them): each feature is cut once into at most 255
//! quantile bins, and each round fits one tree to the log-loss's gradients and hessians of a
//! fresh half of the rows (stochastic gradient boosting), grown best-first (the leaf whose split
//! gains most is split next) from per-bin sums, a child's sums being its parent's less its
//! sibling's. A share of the rows is held out to stop when the held-out log-loss no longer
//! falls; a refit runs a given number of rounds instead. The model is a sum of trees on the
//! log-odds, so it compiles to SQL as the forest does and explains a row by the path of each
//! tree.
//!
//! # Layout
//! - `hyperparams.rs`: the hyper-parameters and their checks.
//! - `algorithm.rs`: binning, the rounds and the tree growth; the fitted model, its log-odds
//!   and contributions in Rust and in SQL.
//! - `error.rs`: why a fit fails.

mod algorithm;
mod error;
mod hyperparams;

pub use algorithm::BoostedModel;
pub use error::BoostingError;
pub use hyperparams::{BoostingParams, BoostingValidParams};
