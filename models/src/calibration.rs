//! Calibration of a model's log-odds into probabilities that hold on the next year.
//!
//! Platt scaling, `p = σ(a × score + b)`, fitted on out-of-time data, says how far a model's
//! log-odds overstate differences between units (the slope `a`). The published model is not the
//! one the backtest judged (it is the same kind refitted a year later), and the level of fire
//! risk moves from year to year, so [`Calibration::projected`] takes only the backtest's slope
//! and sets the level where the observed rates point: the last two labelled years' fire rates
//! give a trend on the log-odds, shrunk towards none by how noisy it is, and the published
//! probabilities of the units scored today average this year's rate carried one year further
//! along that trend.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
}

pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `f(i)` for each of `n` rows into `out`, computed on rayon's threads: the rows' `exp` and
/// `ln_1p` are the cost of a Newton step, and the sums over them are still taken in row order
/// by the caller, so results do not depend on the number of threads.
fn each_row(out: &mut Vec<f64>, n: usize, f: impl Fn(usize) -> f64 + Sync) {
    out.resize(n, 0.0);
    out.par_iter_mut()
        .enumerate()
        .with_min_len(1 << 14)
        .for_each(|(i, o)| *o = f(i));
}

impl Platt {
    pub const IDENTITY: Platt = Platt { a: 1.0, b: 0.0 };

    /// Fits `a`, `b` to minimise the log-loss of `σ(a s + b)` against `labels`; a tiny ridge
    /// keeps it defined when the classes separate.
    pub fn fit(scores: &[f64], labels: &[bool]) -> Platt {
        const RIDGE: f64 = 1e-6;
        assert_eq!(scores.len(), labels.len(), "one label per score");
        let (mut terms, mut ps) = (Vec::new(), Vec::new());
        let mut loss = |a: f64, b: f64| -> f64 {
            each_row(&mut terms, scores.len(), |i| {
                // log(1 + e^z) − y z, computed without overflow.
                let z = a * scores[i] + b;
                let softplus = if z > 0.0 {
                    z + (-z).exp().ln_1p()
                } else {
                    z.exp().ln_1p()
                };
                softplus - if labels[i] { z } else { 0.0 }
            });
            let data: f64 = terms.iter().sum();
            data + RIDGE * ((a - 1.0).powi(2) + b * b)
        };
        let (mut a, mut b) = (1.0f64, 0.0f64);
        let mut current = loss(a, b);
        for _ in 0..100 {
            let (mut ga, mut gb) = (2.0 * RIDGE * (a - 1.0), 2.0 * RIDGE * b);
            let (mut haa, mut hab, mut hbb) = (2.0 * RIDGE, 0.0, 2.0 * RIDGE);
            each_row(&mut ps, scores.len(), |i| sigmoid(a * scores[i] + b));
            for ((s, y), &p) in scores.iter().zip(labels).zip(&ps) {
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

/// The intercept `b` at which the mean of `σ(a × score + b)` over `scores` is `rate`, by
/// Newton's method on a function that is increasing in `b`. `rate` must lie strictly between 0
/// and 1 (see [`smoothed_rate`]).
pub fn anchor_intercept(scores: &[f64], a: f64, rate: f64) -> f64 {
    let n = scores.len() as f64;
    if scores.is_empty() {
        return (rate / (1.0 - rate)).ln();
    }
    // Start from the intercept that maps the mean score onto the rate.
    let mean = scores.iter().sum::<f64>() / n;
    let mut b = (rate / (1.0 - rate)).ln() - a * mean;
    let mut ps = Vec::new();
    for _ in 0..100 {
        let (mut f, mut df) = (-rate * n, 0.0);
        each_row(&mut ps, scores.len(), |i| sigmoid(a * scores[i] + b));
        for &p in &ps {
            f += p;
            df += p * (1.0 - p);
        }
        if df <= 0.0 {
            break;
        }
        // The mean is bounded in (0, 1): a step of more than 5 on the log-odds overshoots.
        let step = (f / df).clamp(-5.0, 5.0);
        b -= step;
        if step.abs() < 1e-12 {
            break;
        }
    }
    b
}

/// The share of `positives` in `rows`, pulled towards ½ by half a unit on each side, so that a
/// year without fires (or only fires) still has finite log-odds.
pub fn smoothed_rate(positives: usize, rows: usize) -> f64 {
    (positives as f64 + 0.5) / (rows as f64 + 1.0)
}

/// How the published model's log-odds become probabilities, with the figures that made it:
/// the published map is `σ(a × logit + b)`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Calibration {
    /// What the published model applies.
    pub published: Platt,
    /// The backtest candidate's Platt map fitted on its test year (out of time), whose slope
    /// the published map keeps; none when that year had a single class (slope 1).
    pub backtest: Option<Platt>,
    /// Observed fire rates (smoothed by half a unit) of the two labelled years: the backtest's
    /// training year and the most recent year.
    pub previous_rate: f64,
    pub recent_rate: f64,
    /// `logit(recent_rate) − logit(previous_rate)`, and the share of it kept:
    /// `max(0, 1 − variance / trend²)` with the variance of the difference of two binomial
    /// log-odds (`1/fires + 1/non-fires` each), so that a trend within its noise counts little.
    pub trend: f64,
    pub trend_weight: f64,
    /// `σ(logit(recent_rate) + trend_weight × trend)`: the mean of the published probabilities
    /// over the units scored.
    pub projected_rate: f64,
}

/// Log-odds of a rate.
fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// A year's smoothed rate and the variance of its log-odds.
fn year(labels: &[bool]) -> (f64, f64) {
    let fires = labels.iter().filter(|l| **l).count();
    let rate = smoothed_rate(fires, labels.len());
    let n = labels.len() as f64 + 1.0;
    (rate, 1.0 / (n * rate) + 1.0 / (n * (1.0 - rate)))
}

impl Calibration {
    /// The calibration of a published model whose log-odds on the units it scores are
    /// `scoring`, after a backtest Platt-fitted as `backtest`, with the outcomes of the
    /// backtest's training year (`previous`) and of the most recent year (`recent`).
    pub fn projected(
        backtest: Option<Platt>,
        previous: &[bool],
        recent: &[bool],
        scoring: &[f64],
    ) -> Calibration {
        let a = backtest.map_or(1.0, |p| p.a);
        let ((previous_rate, v0), (recent_rate, v1)) = (year(previous), year(recent));
        let trend = logit(recent_rate) - logit(previous_rate);
        let trend_weight = if trend == 0.0 {
            0.0
        } else {
            (1.0 - (v0 + v1) / (trend * trend)).max(0.0)
        };
        let projected_rate = sigmoid(logit(recent_rate) + trend_weight * trend);
        Calibration {
            published: Platt {
                a,
                b: anchor_intercept(scoring, a, projected_rate),
            },
            backtest,
            previous_rate,
            recent_rate,
            trend,
            trend_weight,
            projected_rate,
        }
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
    fn an_anchored_intercept_reproduces_the_rate() {
        let scores: Vec<f64> = (0..500).map(|i| f64::from(i % 50) / 10.0 - 6.0).collect();
        for (a, rate) in [(1.0, 0.03), (0.7, 0.2), (1.4, 0.001)] {
            let b = anchor_intercept(&scores, a, rate);
            let mean: f64 = scores.iter().map(|s| sigmoid(a * s + b)).sum::<f64>() / 500.0;
            assert!((mean - rate).abs() < 1e-12, "a {a} rate {rate}: {mean}");
        }
    }

    /// A world whose log-odds rise by 0.3 a year: the published probabilities of the next
    /// year's units average the next year's rate, with the backtest's slope.
    #[test]
    fn the_level_follows_the_trend_of_the_observed_rates() {
        let year_rows = |year: f64| {
            let (mut s, mut y) = (Vec::new(), Vec::new());
            for k in -30..=30 {
                let x = f64::from(k) / 10.0;
                let pos = (sigmoid(0.8 * x - 3.5 + 0.3 * year) * 2000.0).round() as usize;
                for i in 0..2000 {
                    s.push(x);
                    y.push(i < pos);
                }
            }
            (s, y)
        };
        let (y0, y1, y2) = (year_rows(0.0), year_rows(1.0), year_rows(2.0));
        let backtest = Platt::fit(&y1.0, &y1.1);
        assert!((backtest.a - 0.8).abs() < 0.01, "{backtest:?}");
        let c = Calibration::projected(Some(backtest), &y0.1, &y1.1, &y2.0);
        assert_eq!(c.published.a, backtest.a);
        assert!(c.trend > 0.25 && c.trend_weight > 0.95, "{c:?}");
        let mean = y2.0.iter().map(|s| c.published.apply(*s)).sum::<f64>() / y2.0.len() as f64;
        assert!((mean - c.projected_rate).abs() < 1e-12);
        let observed = y2.1.iter().filter(|l| **l).count() as f64 / y2.1.len() as f64;
        assert!((mean / observed - 1.0).abs() < 0.03, "{mean} vs {observed}");
    }

    /// Two small years whose rates differ by less than their noise: the trend counts for
    /// nothing and the level is the recent year's.
    #[test]
    fn a_trend_within_its_noise_is_not_followed() {
        let previous: Vec<bool> = (0..500).map(|i| i % 25 == 0).collect(); // 20 fires
        let recent: Vec<bool> = (0..500).map(|i| i % 23 == 0).collect(); // 22 fires
        let c = Calibration::projected(None, &previous, &recent, &[0.0; 10]);
        assert_eq!(c.trend_weight, 0.0);
        assert!((c.projected_rate - c.recent_rate).abs() < 1e-15);
        assert_eq!(c.published.a, 1.0);
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
