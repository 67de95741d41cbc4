//! The fitted model as a JSON artifact, and its compilation to SQL so that the scoring runs in
//! the query engine (and so on a cluster) with exactly the fitted numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::calibration::Platt;
use crate::logistic::LogisticModel;

pub const FORMAT: &str = "firecredit-model/1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Artifact {
    pub format: String,
    /// `logistic-<training cutoff>-<data hash prefix>`.
    pub version: String,
    pub kind: String,
    pub model: LogisticModel,
    pub calibration: Platt,
    /// Features at this cutoff, labels in the 365 days after it.
    pub training_cutoff: String,
    pub training_rows: usize,
    /// SHA-256 of the training feature table's content.
    pub data_sha256: String,
    pub metrics: BTreeMap<String, f64>,
}

/// A float as SQL text that parses back to the same f64 (Rust's shortest round-trip form).
fn lit(v: f64) -> String {
    let text = format!("{v:?}");
    if text.starts_with('-') {
        format!("({text})")
    } else {
        text
    }
}

impl Artifact {
    /// The log-odds as a SQL expression over the feature columns.
    pub fn sql_logit(&self) -> String {
        let mut terms = vec![lit(self.model.intercept)];
        for (name, w) in self.model.features.iter().zip(&self.model.weights) {
            terms.push(format!("{} * {name}", lit(*w)));
        }
        format!("({})", terms.join(" + "))
    }

    /// The calibrated probability as a SQL expression over the feature columns.
    pub fn sql_probability(&self) -> String {
        format!(
            "(1.0 / (1.0 + exp(-({} * {} + {}))))",
            lit(self.calibration.a),
            self.sql_logit(),
            lit(self.calibration.b)
        )
    }

    /// Each feature's contribution to the log-odds relative to the training mean, as
    /// `(name, SQL expression)`.
    pub fn sql_contributions(&self) -> Vec<(String, String)> {
        self.model
            .features
            .iter()
            .zip(self.model.weights.iter().zip(&self.model.means))
            .map(|(n, (w, m))| (n.clone(), format!("{} * ({n} - {})", lit(*w), lit(*m))))
            .collect()
    }

    /// The same probability in Rust, for one row of features in `model.features` order.
    pub fn probability(&self, row: &[f64]) -> f64 {
        let logit = self.model.intercept
            + row
                .iter()
                .zip(&self.model.weights)
                .map(|(x, w)| x * w)
                .sum::<f64>();
        self.calibration.apply(logit)
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
