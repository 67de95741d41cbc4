//! Platt scaling: `p = σ(a × score + b)`, fitted by Newton's method on out-of-time data so that
//! predicted and observed fire rates agree.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
}

pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Platt {
    pub const IDENTITY: Platt = Platt { a: 1.0, b: 0.0 };

    /// Fits `a`, `b` to minimise the log-loss of `σ(a s + b)` against `labels`; a tiny ridge
    /// keeps it defined when the classes separate.
    pub fn fit(scores: &[f64], labels: &[bool]) -> Platt {
        const RIDGE: f64 = 1e-6;
        let loss = |a: f64, b: f64| -> f64 {
            let data: f64 = scores
                .iter()
                .zip(labels)
                .map(|(s, y)| {
                    // log(1 + e^z) − y z, computed without overflow.
                    let z = a * s + b;
                    let softplus = if z > 0.0 {
                        z + (-z).exp().ln_1p()
                    } else {
                        z.exp().ln_1p()
                    };
                    softplus - if *y { z } else { 0.0 }
                })
                .sum();
            data + RIDGE * ((a - 1.0).powi(2) + b * b)
        };
        let (mut a, mut b) = (1.0f64, 0.0f64);
        let mut current = loss(a, b);
        for _ in 0..100 {
            let (mut ga, mut gb) = (2.0 * RIDGE * (a - 1.0), 2.0 * RIDGE * b);
            let (mut haa, mut hab, mut hbb) = (2.0 * RIDGE, 0.0, 2.0 * RIDGE);
            for (s, y) in scores.iter().zip(labels) {
                let p = sigmoid(a * s + b);
                let r = p - f64::from(u8::from(*y));
                let w = p * (1.0 - p);
                ga += r * s;
                gb += r;
                haa += w * s * s;
                hab += w * s;
                hbb += w;
            }
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-300 {
                break;
            }
            let da = (hbb * ga - hab * gb) / det;
            let db = (haa * gb - hab * ga) / det;
            // Damped Newton: halve the step until the loss does not rise.
            let mut step = 1.0;
            loop {
                let (na, nb) = (a - step * da, b - step * db);
                let next = loss(na, nb);
                if next <= current || step < 1e-10 {
                    a = na;
                    b = nb;
                    current = next.min(current);
                    break;
                }
                step /= 2.0;
            }
            if (step * da).abs() < 1e-12 && (step * db).abs() < 1e-12 {
                break;
            }
        }
        Platt { a, b }
    }

    pub fn apply(&self, score: f64) -> f64 {
        sigmoid(self.a * score + self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converges_from_badly_scaled_scores() {
        // Scores shifted by +10 (all predicted ≈ 1) with a 3 % positive rate.
        let scores: Vec<f64> = (0..1000).map(|i| 10.0 + f64::from(i % 10) / 10.0).collect();
        let labels: Vec<bool> = (0..1000).map(|i| i % 33 == 0).collect();
        let fit = Platt::fit(&scores, &labels);
        let mean: f64 = scores.iter().map(|s| fit.apply(*s)).sum::<f64>() / 1000.0;
        let rate = labels.iter().filter(|l| **l).count() as f64 / 1000.0;
        assert!(
            (mean - rate).abs() < 1e-3,
            "{fit:?} mean {mean} rate {rate}"
        );
    }

    #[test]
    fn recovers_a_known_scaling() {
        // Labels follow σ(0.5 s − 1) exactly in expectation: a grid of scores, each with the
        // matching share of positives.
        let mut scores = Vec::new();
        let mut labels = Vec::new();
        for k in -40..=40 {
            let s = f64::from(k) / 8.0;
            let p = sigmoid(0.5 * s - 1.0);
            let pos = (p * 1000.0).round() as usize;
            for i in 0..1000 {
                scores.push(s);
                labels.push(i < pos);
            }
        }
        let fit = Platt::fit(&scores, &labels);
        assert!(
            (fit.a - 0.5).abs() < 0.01 && (fit.b + 1.0).abs() < 0.01,
            "{fit:?}"
        );
    }
}
