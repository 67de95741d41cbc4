use super::ForestError;

/// Unchecked hyper-parameters; [`ForestParams::check`] validates them.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestParams {
    pub trees: usize,
    pub max_depth: usize,
    /// Rows drawn (with replacement) for each tree; fewer when the data has fewer. linfa-trees
    /// scans every row of its sample at every node, so this bounds the fit's cost.
    pub rows_per_tree: usize,
    /// Share of the features each tree may split on.
    pub feature_share: f64,
    /// Smallest leaf, as a share of the tree's (class-balanced) sample weight.
    pub min_leaf_share: f64,
    /// Pseudo-rows of the parent's rate mixed into each node's rate.
    pub smoothing: f64,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ForestValidParams(pub(super) ForestParams);

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            trees: 16,
            max_depth: 6,
            rows_per_tree: 20_000,
            feature_share: 0.6,
            min_leaf_share: 0.01,
            smoothing: 20.0,
            seed: 2026,
        }
    }
}

impl ForestParams {
    pub fn check(self) -> Result<ForestValidParams, ForestError> {
        let bad = |name, message: String| Err(ForestError::InvalidParam { name, message });
        if self.trees == 0 {
            return bad("trees", "must be > 0".into());
        }
        if !(1..=16).contains(&self.max_depth) {
            return bad("max_depth", format!("{} must be in 1..=16", self.max_depth));
        }
        if self.rows_per_tree < 100 {
            return bad(
                "rows_per_tree",
                format!("{} must be ≥ 100", self.rows_per_tree),
            );
        }
        if !(self.feature_share > 0.0 && self.feature_share <= 1.0) {
            return bad(
                "feature_share",
                format!("{} must be in (0, 1]", self.feature_share),
            );
        }
        if !(self.min_leaf_share >= 0.0 && self.min_leaf_share < 0.5) {
            return bad(
                "min_leaf_share",
                format!("{} must be in [0, 0.5)", self.min_leaf_share),
            );
        }
        if !(self.smoothing.is_finite() && self.smoothing > 0.0) {
            return bad("smoothing", format!("{} must be > 0", self.smoothing));
        }
        Ok(ForestValidParams(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_rejected() {
        assert!(ForestParams::default().check().is_ok());
        for p in [
            ForestParams {
                trees: 0,
                ..Default::default()
            },
            ForestParams {
                max_depth: 0,
                ..Default::default()
            },
            ForestParams {
                feature_share: 1.5,
                ..Default::default()
            },
            ForestParams {
                min_leaf_share: f64::NAN,
                ..Default::default()
            },
            ForestParams {
                smoothing: 0.0,
                ..Default::default()
            },
        ] {
            assert!(p.check().is_err());
        }
    }
}
