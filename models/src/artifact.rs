//! The fitted model as a JSON artifact, and its compilation to SQL so that the scoring runs in
//! the query engine (and so on a cluster) with exactly the fitted numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::boosting::BoostedModel;
use crate::calibration::Platt;
use crate::dataset::Dataset;
use crate::forest::ForestModel;
use crate::logistic::LogisticModel;

/// Version 3 added the boosted model and renamed the forest nodes' `rate` to `value` (files of
/// version 2 still read).
pub const FORMAT: &str = "firecredit-model/3";

/// The fitted model, tagged by its `type`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Model {
    Logistic(LogisticModel),
    Forest(ForestModel),
    Boosted(BoostedModel),
}

impl Model {
    pub fn features(&self) -> &[String] {
        match self {
            Model::Logistic(m) => &m.features,
            Model::Forest(m) => &m.features,
            Model::Boosted(m) => &m.features,
        }
    }

    /// Log-odds of each row.
    pub fn logit(&self, data: &Dataset) -> Vec<f64> {
        match self {
            Model::Logistic(m) => m.logit(data),
            Model::Forest(m) => m.logit(data),
            Model::Boosted(m) => m.logit(data),
        }
    }

    fn logit_row(&self, row: &[f64]) -> f64 {
        match self {
            Model::Logistic(m) => m.logit_row(row),
            Model::Forest(m) => m.logit_row(row),
            Model::Boosted(m) => m.logit_row(row),
        }
    }

    /// Each tree's leaf as `<SQL> AS leaf_<i>` over the feature columns; none for the
    /// logistic model. [`Model::sql_logit`] and [`Model::sql_contributions`] of a tree model
    /// read these columns.
    pub fn sql_leaves(&self) -> Vec<String> {
        match self {
            Model::Logistic(_) => Vec::new(),
            Model::Forest(m) => m.sql_leaves(),
            Model::Boosted(m) => m.sql_leaves(),
        }
    }

    /// The log-odds as a SQL expression over the feature columns (and the leaf columns of a
    /// tree model).
    pub fn sql_logit(&self) -> String {
        match self {
            Model::Logistic(m) => m.sql_logit(),
            Model::Forest(m) => m.sql_logit(),
            Model::Boosted(m) => m.sql_logit(),
        }
    }

    /// Each feature's contribution, as `(name, SQL expression)`: for the logistic model to
    /// the log-odds relative to the training mean, for the forest to the score along the
    /// row's paths, for the boosted model to the log-odds along the row's paths.
    pub fn sql_contributions(&self) -> Vec<(String, String)> {
        match self {
            Model::Logistic(m) => m.sql_contributions(),
            Model::Forest(m) => m.sql_contributions(),
            Model::Boosted(m) => m.sql_contributions(),
        }
    }
}

/// What kind of model scores: a fitted logistic regression, a forest, boosted trees, or the
/// constant model used where the training data has a single class (a logistic model without
/// weights).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Logistic,
    Forest,
    Boosted,
    Constant,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Logistic => "logistic",
            ModelKind::Forest => "forest",
            ModelKind::Boosted => "boosted",
            ModelKind::Constant => "constant",
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Artifact {
    pub format: String,
    /// `logistic-<training cutoff>-<data hash prefix>`.
    pub version: String,
    pub kind: ModelKind,
    pub model: Model,
    pub calibration: Platt,
    /// Features at this cutoff, labels in the 365 days after it.
    pub training_cutoff: String,
    pub training_rows: usize,
    /// SHA-256 of the training rows (names, unit ids, values, labels): the same whichever
    /// engine computed the features.
    pub data_sha256: String,
    pub metrics: BTreeMap<String, f64>,
}

/// A float as SQL text that parses back to the same f64 (Rust's shortest round-trip form).
pub(crate) fn lit(v: f64) -> String {
    let text = format!("{v:?}");
    if text.starts_with('-') {
        format!("({text})")
    } else {
        text
    }
}

impl Artifact {
    /// See [`Model::sql_leaves`].
    pub fn sql_leaves(&self) -> Vec<String> {
        self.model.sql_leaves()
    }

    /// The calibrated probability as a SQL expression over the feature columns (and the leaf
    /// columns of a tree model).
    pub fn sql_probability(&self) -> String {
        format!(
            "(1.0 / (1.0 + exp(-({} * {} + {}))))",
            lit(self.calibration.a),
            self.model.sql_logit(),
            lit(self.calibration.b)
        )
    }

    pub fn sql_contributions(&self) -> Vec<(String, String)> {
        self.model.sql_contributions()
    }

    /// The same probability in Rust, for one row of features in `model.features()` order.
    pub fn probability(&self, row: &[f64]) -> f64 {
        self.calibration.apply(self.model.logit_row(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_round_trip() {
        for v in [0.1, -2.5e-17, 1234567.891, f64::MIN_POSITIVE, -0.0] {
            let t = lit(v);
            let parsed: f64 = t.trim_matches(|c| c == '(' || c == ')').parse().unwrap();
            assert_eq!(parsed.to_bits(), v.to_bits(), "{t}");
        }
    }
}
