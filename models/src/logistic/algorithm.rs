use ndarray::{Array1, Array2, Axis, ShapeBuilder};
use serde::{Deserialize, Serialize};

use super::{problem, LogisticError, LogisticValidParams};
use crate::artifact::lit;
use crate::dataset::Dataset;

/// A fitted model on the original feature scale: `logit = intercept + Σ weight_i × x_i`.
/// The standardisation used while fitting is folded into the weights, so the same numbers
/// serve Rust and SQL.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogisticModel {
    pub features: Vec<String>,
    pub means: Vec<f64>,
    pub stds: Vec<f64>,
    /// Coefficients on the standardised scale (comparable across features).
    pub standardised: Vec<f64>,
    pub weights: Vec<f64>,
    pub intercept: f64,
}

impl LogisticValidParams {
    /// Fits on `data` (labels required). Constant columns get weight 0.
    pub fn fit(&self, data: &Dataset) -> Result<LogisticModel, LogisticError> {
        self.fit_from(data, None)
    }

    /// Fits starting from `start` (a model of the same features, e.g. the backtest's): the
    /// optimiser then needs far fewer iterations. The result is the same optimum.
    pub fn fit_from(
        &self,
        data: &Dataset,
        start: Option<&LogisticModel>,
    ) -> Result<LogisticModel, LogisticError> {
        let y = data.labels();
        let positives = y.iter().filter(|v| **v).count();
        if positives == 0 || positives == y.len() {
            return Err(LogisticError::OneClass {
                positives,
                rows: y.len(),
            });
        }
        let (z, means, stds) = standardise(&data.x);
        if z.iter().any(|v| !v.is_finite()) {
            return Err(LogisticError::NotFinite);
        }
        let p = &self.0;
        // linfa-logistic's labels: its larger class (here: no fire) is the positive one.
        let (targets, larger) = problem::labels(y);
        let negatives = y.len() - positives;
        let k = data.names.len();
        let sign = if larger { 1.0 } else { -1.0 };
        let init = match start.filter(|m| m.weights.len() == k && positives != negatives) {
            Some(m) => warm_start(m, &means, &stds, sign),
            None => Array1::zeros(k + 1),
        };
        let problem = problem::Problem::new(z.view(), targets, p.alpha);
        let params = problem::minimise(
            problem,
            init,
            p.max_iterations,
            p.gradient_tolerance * y.len() as f64,
        )
        .map_err(|e| LogisticError::Solver(e.to_string()))?;
        // The parameters give the log-odds of the larger class; `sign` turns them to P(fire).
        let standardised: Vec<f64> = params.iter().take(k).map(|c| sign * c).collect();
        let fitted_intercept = sign * params[k];
        let weights: Vec<f64> = standardised
            .iter()
            .zip(stds.iter())
            .map(|(c, s)| c / s)
            .collect();
        let intercept = fitted_intercept
            - standardised
                .iter()
                .zip(means.iter().zip(stds.iter()))
                .map(|(c, (m, s))| c * m / s)
                .sum::<f64>();
        Ok(LogisticModel {
            features: data.names.clone(),
            means: means.to_vec(),
            stds: stds.to_vec(),
            standardised,
            weights,
            intercept,
        })
    }
}

/// `x` standardised (each column less its mean, over its standard deviation; 1 for a
/// constant column), column-major, with the means and deviations. Column-major: the gradient's
/// `xᵀ · r` is one dot product per feature, which reads a column-major matrix contiguously and
/// a row-major one with a stride of a row (the whole matrix from memory once per feature: the
/// fit took 2.5 times as long at a million rows); the log-odds stream over the columns too.
fn standardise(x: &Array2<f64>) -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let means = x.mean_axis(Axis(0)).expect("rows");
    let stds = x
        .std_axis(Axis(0), 0.0)
        .mapv(|s| if s > 1e-12 { s } else { 1.0 });
    let mut z = Array2::zeros(x.raw_dim().f());
    z.assign(x);
    z -= &means;
    z /= &stds;
    (z, means, stds)
}

/// `m` as the optimiser's starting parameters on the standardised scale (weights, then the
/// intercept), for log-odds of the class `sign` says (1: fire, -1: no fire).
fn warm_start(
    m: &LogisticModel,
    means: &Array1<f64>,
    stds: &Array1<f64>,
    sign: f64,
) -> Array1<f64> {
    let mut init: Vec<f64> = m
        .weights
        .iter()
        .zip(stds.iter())
        .map(|(w, s)| sign * w * s)
        .collect();
    init.push(
        sign * (m.intercept
            + m.weights
                .iter()
                .zip(means.iter())
                .map(|(w, mu)| w * mu)
                .sum::<f64>()),
    );
    Array1::from(init)
}

impl LogisticModel {
    /// Log-odds of each row.
    pub fn logit(&self, data: &Dataset) -> Vec<f64> {
        data.x
            .rows()
            .into_iter()
            .map(|r| self.logit_row(r.as_slice().expect("standard layout")))
            .collect()
    }

    /// Log-odds of one row, in the order [`LogisticModel::sql_logit`] computes them.
    pub fn logit_row(&self, row: &[f64]) -> f64 {
        self.intercept
            + row
                .iter()
                .zip(&self.weights)
                .map(|(x, w)| x * w)
                .sum::<f64>()
    }

    /// The log-odds as a SQL expression over the feature columns.
    pub fn sql_logit(&self) -> String {
        let mut terms = vec![lit(self.intercept)];
        for (name, w) in self.features.iter().zip(&self.weights) {
            terms.push(format!("{} * {name}", lit(*w)));
        }
        format!("({})", terms.join(" + "))
    }

    /// Each feature's contribution to the log-odds relative to the training mean, as SQL.
    pub fn sql_contributions(&self) -> Vec<(String, String)> {
        self.features
            .iter()
            .zip(self.weights.iter().zip(&self.means))
            .map(|(n, (w, m))| (n.clone(), format!("{} * ({n} - {})", lit(*w), lit(*m))))
            .collect()
    }

    /// Each feature's contribution to one row's log-odds, relative to the training mean.
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .zip(self.weights.iter().zip(&self.means))
            .map(|(x, (w, m))| w * (x - m))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logistic::LogisticParams;
    use ndarray::Array2;

    /// The fit as linfa-logistic makes it, of the same standardised rows from the same start
    /// (this module's fit before decision 143): the oracle for `problem.rs`.
    fn linfa_fit(data: &Dataset, start: Option<&LogisticModel>) -> Vec<f64> {
        use linfa::prelude::*;
        let y = data.labels();
        let positives = y.iter().filter(|v| **v).count();
        let (z, means, stds) = standardise(&data.x);
        let ds = linfa::Dataset::new(z, y.mapv(usize::from));
        let p = LogisticParams::default();
        let mut solver = linfa_logistic::LogisticRegression::default();
        let negatives = y.len() - positives;
        if let Some(m) = start.filter(|_| positives != negatives) {
            let sign = if positives > negatives { 1.0 } else { -1.0 };
            solver = solver.initial_params(warm_start(m, &means, &stds, sign));
        }
        let fitted = solver
            .alpha(p.alpha)
            .max_iterations(p.max_iterations)
            .gradient_tolerance(p.gradient_tolerance * y.len() as f64)
            .fit(&ds)
            .unwrap();
        let sign = if fitted.labels().pos.class == 1 {
            1.0
        } else {
            -1.0
        };
        fitted.params().iter().map(|c| sign * c).collect()
    }

    /// The same standardised coefficients as linfa-logistic's fit, to the bit: from zero and
    /// from a start, with the fires the smaller class (as in the product) and the larger.
    #[test]
    fn fits_as_linfa_logistic_does() {
        let wide = |n: usize, k: usize| {
            let mut rng = crate::split_mix::SplitMix(k as u64);
            let mut u = || rng.unit();
            let x = Array2::from_shape_fn((n, k), |(_, j)| u() * (j + 1) as f64);
            let y = x
                .rows()
                .into_iter()
                .map(|r| {
                    let logit = -3.0 + r.iter().step_by(3).sum::<f64>() / k as f64;
                    u() < 1.0 / (1.0 + (-logit).exp())
                })
                .collect();
            let names = (0..k).map(|j| format!("f{j}")).collect();
            Dataset {
                names,
                x,
                y: Some(y),
            }
        };
        let sets = [
            crate::dataset::interaction(3000, 1).0,
            crate::dataset::interaction(20_000, 2).0,
            wide(5000, 40),
        ];
        for (n, mut data) in sets.into_iter().enumerate() {
            for flip in [false, true] {
                if flip {
                    data.y = Some(data.labels().mapv(|v| !v));
                }
                let params = LogisticParams::default().check().unwrap();
                let ours = params.fit(&data).unwrap();
                let coef = linfa_fit(&data, None);
                let bits = |v: &[f64]| v.iter().map(|c| c.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&ours.standardised), bits(&coef), "n {n} flip {flip}");
                let again = params.fit_from(&data, Some(&ours)).unwrap();
                let coef = linfa_fit(&data, Some(&ours));
                assert_eq!(
                    bits(&again.standardised),
                    bits(&coef),
                    "warm, n {n} flip {flip}"
                );
            }
        }
    }

    /// Labels drawn from a known logistic model: the fit must find its signs and order.
    #[test]
    fn recovers_a_planted_model() {
        let n = 4000;
        let mut x = Array2::<f64>::zeros((n, 3));
        let mut y = Array1::from_elem(n, false);
        let mut state = 42u64;
        let mut rand = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for i in 0..n {
            let (a, b, c) = (rand() * 4.0, rand() * 10.0, rand());
            x[[i, 0]] = a;
            x[[i, 1]] = b;
            x[[i, 2]] = c;
            let logit = -3.0 + 1.2 * a - 0.3 * b;
            y[i] = rand() < 1.0 / (1.0 + (-logit).exp());
        }
        let data = Dataset {
            names: vec!["a".into(), "b".into(), "noise".into()],
            x,
            y: Some(y),
        };
        let params = LogisticParams {
            alpha: 0.0,
            ..Default::default()
        };
        let m = params.clone().check().unwrap().fit(&data).unwrap();
        assert!((m.weights[0] - 1.2).abs() < 0.25, "{:?}", m.weights);
        assert!((m.weights[1] + 0.3).abs() < 0.08, "{:?}", m.weights);
        assert!(m.weights[2].abs() < 0.5, "{:?}", m.weights);
        assert!((m.intercept + 3.0).abs() < 0.7, "{}", m.intercept);
        // Folding the standardisation changes nothing.
        let z0 = (data.x[[0, 0]] - m.means[0]) / m.stds[0];
        let z1 = (data.x[[0, 1]] - m.means[1]) / m.stds[1];
        let z2 = (data.x[[0, 2]] - m.means[2]) / m.stds[2];
        let intercept_std = m.intercept
            + m.weights
                .iter()
                .zip(&m.means)
                .map(|(w, mu)| w * mu)
                .sum::<f64>();
        let direct = intercept_std
            + m.standardised[0] * z0
            + m.standardised[1] * z1
            + m.standardised[2] * z2;
        assert!((m.logit(&data)[0] - direct).abs() < 1e-9);
        // Starting from the answer reaches the same answer.
        let again = params.check().unwrap().fit_from(&data, Some(&m)).unwrap();
        for (a, b) in again.weights.iter().zip(&m.weights) {
            assert!(
                (a - b).abs() < 1e-3,
                "{:?} vs {:?}",
                again.weights,
                m.weights
            );
        }
    }
}
