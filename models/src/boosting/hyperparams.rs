use super::BoostingError;

/// Unchecked hyper-parameters; [`BoostingParams::check`] validates them. The defaults are
/// scikit-learn's `HistGradientBoostingClassifier`'s, except the depth (bounded so that the
/// compiled SQL nests at most `max_depth` `CASE`s), the L2 penalty and the share of rows each
/// tree grows on (half: the same AUC at a million units for half the work).
#[derive(Debug, Clone, PartialEq)]
pub struct BoostingParams {
    /// Rounds at most (one tree each).
    pub max_rounds: usize,
    pub learning_rate: f64,
    /// Leaves per tree at most.
    pub max_leaves: usize,
    pub max_depth: usize,
    /// Training rows in a leaf at least.
    pub min_rows_leaf: usize,
    /// L2 penalty on leaf values (added to the hessian sums).
    pub l2: f64,
    /// Share of the training rows each tree grows on, drawn afresh each round (stochastic
    /// gradient boosting, Friedman 2002); 1 grows every tree on every row.
    pub row_share: f64,
    /// Quantile bins per feature at most (≤ 255, so a bin fits a byte).
    pub max_bins: usize,
    /// Share of rows held out to stop early, when the data has at least `early_stop_rows`.
    pub validation_share: f64,
    pub early_stop_rows: usize,
    /// Rounds without a better held-out log-loss before stopping.
    pub patience: usize,
    /// The held-out log-loss must fall by more than this (relative) to count as better.
    pub tolerance: f64,
    /// Rows used to find the bin edges at most (drawn with a seeded stream).
    pub bin_sample: usize,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BoostingValidParams(pub(super) BoostingParams);

impl Default for BoostingParams {
    fn default() -> Self {
        BoostingParams {
            max_rounds: 200,
            learning_rate: 0.1,
            max_leaves: 31,
            max_depth: 8,
            min_rows_leaf: 20,
            l2: 1.0,
            row_share: 0.5,
            max_bins: 255,
            validation_share: 0.1,
            early_stop_rows: 1_000,
            patience: 10,
            tolerance: 1e-7,
            bin_sample: 200_000,
            seed: 2026,
        }
    }
}

impl BoostingParams {
    pub fn check(self) -> Result<BoostingValidParams, BoostingError> {
        let bad = |name, message: String| Err(BoostingError::InvalidParam { name, message });
        if self.max_rounds == 0 {
            return bad("max_rounds", "must be > 0".into());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad(
                "learning_rate",
                format!("{} must be in (0, 1]", self.learning_rate),
            );
        }
        if self.max_leaves < 2 {
            return bad("max_leaves", format!("{} must be ≥ 2", self.max_leaves));
        }
        if !(1..=16).contains(&self.max_depth) {
            return bad("max_depth", format!("{} must be in 1..=16", self.max_depth));
        }
        if self.min_rows_leaf == 0 {
            return bad("min_rows_leaf", "must be > 0".into());
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2", format!("{} must be ≥ 0", self.l2));
        }
        if !(self.row_share > 0.0 && self.row_share <= 1.0) {
            return bad("row_share", format!("{} must be in (0, 1]", self.row_share));
        }
        if !(2..=255).contains(&self.max_bins) {
            return bad("max_bins", format!("{} must be in 2..=255", self.max_bins));
        }
        if !(self.validation_share > 0.0 && self.validation_share < 0.5) {
            return bad(
                "validation_share",
                format!("{} must be in (0, 0.5)", self.validation_share),
            );
        }
        if self.patience == 0 {
            return bad("patience", "must be > 0".into());
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return bad("tolerance", format!("{} must be ≥ 0", self.tolerance));
        }
        if self.bin_sample < 1000 {
            return bad("bin_sample", format!("{} must be ≥ 1000", self.bin_sample));
        }
        Ok(BoostingValidParams(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_rejected() {
        assert!(BoostingParams::default().check().is_ok());
        for p in [
            BoostingParams {
                max_rounds: 0,
                ..Default::default()
            },
            BoostingParams {
                learning_rate: 0.0,
                ..Default::default()
            },
            BoostingParams {
                max_leaves: 1,
                ..Default::default()
            },
            BoostingParams {
                max_bins: 256,
                ..Default::default()
            },
            BoostingParams {
                l2: f64::NAN,
                ..Default::default()
            },
            BoostingParams {
                row_share: 0.0,
                ..Default::default()
            },
            BoostingParams {
                validation_share: 0.5,
                ..Default::default()
            },
        ] {
            assert!(p.clone().check().is_err(), "{p:?}");
        }
    }
}
