//! The logistic model as a readable scorecard (评分卡): each feature cut into quantile bins, the
//! bin's weight of evidence from the training data, and its points under PDO scaling.
//!
//! Score = offset − factor × log-odds, factor = PDO / ln 2, offset = base_score + factor ×
//! ln(base_odds): a higher score is a safer unit, and `PDO` points double the odds of a fire. A
//! bin's points are `−factor × weight × (bin mean − training mean)`: the model's own
//! contribution for a typical unit of that bin, so summing a unit's bin points (plus the base
//! score) approximates its model score.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::logistic::LogisticModel;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Scaling {
    /// Points that double the odds of a fire.
    pub pdo: f64,
    /// Score of a unit at `base_odds` (no-fire : fire).
    pub base_score: f64,
    pub base_odds: f64,
}

impl Default for Scaling {
    fn default() -> Self {
        Scaling {
            pdo: 20.0,
            base_score: 600.0,
            base_odds: 50.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Bin {
    pub feature: String,
    pub bin: usize,
    /// Inclusive lower and exclusive upper bound (the last bin is closed).
    pub lower: f64,
    pub upper: f64,
    pub units: usize,
    pub fires: usize,
    /// ln(share of units without a fire / share with one), smoothed by ½.
    pub woe: f64,
    pub points: f64,
}

/// Up to `max_bins` quantile bins per feature (fewer where values repeat), the features binned
/// side by side (each on its own; the bins come out in feature order).
pub fn scorecard(
    data: &Dataset,
    model: &LogisticModel,
    scaling: Scaling,
    max_bins: usize,
) -> Vec<Bin> {
    let y = data.labels();
    let total_fires = y.iter().filter(|v| **v).count() as f64;
    let total_safe = y.len() as f64 - total_fires;
    let factor = scaling.pdo / std::f64::consts::LN_2;
    let feature = |(j, name): (usize, &String)| {
        let mut out = Vec::new();
        let column: Vec<f64> = data.x.column(j).to_vec();
        let mut sorted = column.clone();
        // Values equal under `total_cmp` are the same bits: an unstable sort orders as a
        // stable one would.
        sorted.sort_unstable_by(f64::total_cmp);
        let mut distinct = sorted.clone();
        distinct.dedup();
        // Few values (flags, small counts): one bin each; else quantile cuts.
        let mut bounds = if distinct.len() <= max_bins {
            distinct
        } else {
            let mut edges: Vec<f64> = (1..max_bins)
                .map(|q| sorted[sorted.len() * q / max_bins])
                .collect();
            edges.dedup();
            edges.retain(|e| *e > sorted[0]);
            std::iter::once(sorted[0]).chain(edges).collect()
        };
        bounds.push(f64::INFINITY);
        let bin_of = |v: f64| {
            bounds
                .windows(2)
                .position(|w| v >= w[0] && v < w[1])
                .unwrap_or(bounds.len() - 2)
        };
        let k = bounds.len() - 1;
        let (mut units, mut fires, mut sums) = (vec![0usize; k], vec![0usize; k], vec![0f64; k]);
        for (v, fire) in column.iter().zip(y.iter()) {
            let b = bin_of(*v);
            units[b] += 1;
            fires[b] += usize::from(*fire);
            sums[b] += v;
        }
        for b in 0..k {
            if units[b] == 0 {
                continue;
            }
            let safe = (units[b] - fires[b]) as f64;
            let woe = ((safe + 0.5) / (total_safe + 0.5)).ln()
                - ((fires[b] as f64 + 0.5) / (total_fires + 0.5)).ln();
            let mean = sums[b] / units[b] as f64;
            out.push(Bin {
                feature: name.clone(),
                bin: b + 1,
                lower: bounds[b],
                upper: bounds[b + 1],
                units: units[b],
                fires: fires[b],
                woe,
                points: -factor * model.weights[j] * (mean - model.means[j]),
            });
        }
        out
    };
    data.names
        .par_iter()
        .enumerate()
        .flat_map_iter(feature)
        .collect()
}

impl Scaling {
    /// The scorecard's base: the score of the average training unit.
    pub fn base_points(&self, model: &LogisticModel) -> f64 {
        let factor = self.pdo / std::f64::consts::LN_2;
        let offset = self.base_score + factor * self.base_odds.ln();
        let mean_logit = model.intercept
            + model
                .weights
                .iter()
                .zip(&model.means)
                .map(|(w, m)| w * m)
                .sum::<f64>();
        offset - factor * mean_logit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    #[test]
    fn bins_woe_and_points_follow_the_model() {
        // One feature 0..99; fires only in the top decile.
        let x = Array2::from_shape_fn((100, 1), |(i, _)| i as f64);
        let y = Array1::from_iter((0..100).map(|i| i >= 90));
        let data = Dataset {
            names: vec!["f".into()],
            x,
            y: Some(y),
        };
        let model = LogisticModel {
            features: vec!["f".into()],
            means: vec![49.5],
            stds: vec![1.0],
            standardised: vec![0.1],
            weights: vec![0.1],
            intercept: -8.0,
        };
        let card = scorecard(&data, &model, Scaling::default(), 5);
        assert_eq!(card.len(), 5);
        assert_eq!(
            (card[0].lower, card[0].upper, card[0].units),
            (0.0, 20.0, 20)
        );
        assert_eq!(card[4].fires, 10);
        assert!(
            card[4].woe < 0.0 && card[0].woe > 0.0,
            "risky bins have negative WoE"
        );
        // Bin 1 (mean 9.5): −(20/ln2) × 0.1 × (9.5 − 49.5) = +115.4 points.
        assert!((card[0].points - 20.0 / std::f64::consts::LN_2 * 4.0).abs() < 1e-9);
        assert!(card[4].points < 0.0);
        // Base: 600 + 20/ln2 × ln 50 − 20/ln2 × (−8 + 0.1 × 49.5).
        let expect = 600.0 + 20.0 / std::f64::consts::LN_2 * (50f64.ln() + 3.05);
        assert!((Scaling::default().base_points(&model) - expect).abs() < 1e-9);
    }

    #[test]
    fn a_rare_flag_keeps_its_own_bin() {
        let x = Array2::from_shape_fn((100, 1), |(i, _)| f64::from(u8::from(i < 7)));
        let y = Array1::from_iter((0..100).map(|i| i < 3 || i == 50));
        let data = Dataset {
            names: vec!["flag".into()],
            x,
            y: Some(y),
        };
        let model = LogisticModel {
            features: vec!["flag".into()],
            means: vec![0.07],
            stds: vec![1.0],
            standardised: vec![1.0],
            weights: vec![1.0],
            intercept: -3.0,
        };
        let card = scorecard(&data, &model, Scaling::default(), 5);
        let shape: Vec<(f64, usize, usize)> =
            card.iter().map(|b| (b.lower, b.units, b.fires)).collect();
        assert_eq!(shape, vec![(0.0, 93, 1), (1.0, 7, 3)]);
    }
}
