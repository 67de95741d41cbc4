//! Model metrics over `(score, label)` pairs.

use rayon::slice::ParallelSliceMut;

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half. `None` when either class is empty.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), labels.len(), "one label per score");
    // Ties in index order, as a stable sort leaves them: sorted in parallel to the same order.
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.par_sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    let positives = labels.iter().filter(|l| **l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    // Sum of the (average, 1-based) ranks of the positives: Mann–Whitney U.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg_rank * idx[i..=j].iter().filter(|k| labels[**k]).count() as f64;
        i = j + 1;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_random_and_inverted_rankings() {
        assert_eq!(
            roc_auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]),
            Some(1.0)
        );
        assert_eq!(
            roc_auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]),
            Some(0.0)
        );
        assert_eq!(
            roc_auc(&[0.5, 0.5, 0.5, 0.5], &[false, true, false, true]),
            Some(0.5)
        );
    }

    #[test]
    fn hand_computed_case_with_a_tie() {
        // Pairs (pos, neg): (0.8>0.3) (0.8>0.5) (0.5=0.5 → ½) (0.5>0.3) = 3.5 of 4.
        let auc = roc_auc(&[0.3, 0.5, 0.5, 0.8], &[false, false, true, true]).unwrap();
        assert!((auc - 0.875).abs() < 1e-12, "{auc}");
    }

    #[test]
    fn a_ranking_takes_ties_by_index() {
        let (scores, labels) = ([0.5, 0.5, 0.2, 0.9], [true, false, false, true]);
        let r = Ranking::new(&scores, &labels);
        assert_eq!(r.order, [3, 0, 1, 2]);
        assert_eq!(r.ks(), Some(1.0));
        assert_eq!(r.precision_at(0.25), 1.0);
        assert_eq!(r.precision_at(0.75), 2.0 / 3.0);
        assert_eq!(r.recall_at(0.5), 1.0);
        let deciles = r.calibration_deciles();
        // Four units in ten groups: the lowest (0.2) alone, then one each up to 0.9.
        let got: Vec<_> = deciles
            .iter()
            .map(|d| (d.decile, d.mean_predicted, d.observed_rate, d.units))
            .collect();
        assert_eq!(
            got,
            [
                (3, 0.2, 0.0, 1),
                (5, 0.5, 0.0, 1),
                (8, 0.5, 1.0, 1),
                (10, 0.9, 1.0, 1)
            ]
        );
    }

    #[test]
    fn one_class_has_no_auc() {
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }
}

/// Indices of `scores` from the highest score down (ties by index, for determinism).
fn ranked(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.par_sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

/// Units ranked once from the highest score down ([`ranked`]), for the metrics that take them
/// in that order: a report asks for a dozen of them on the same million scores.
pub struct Ranking<'a> {
    scores: &'a [f64],
    labels: &'a [bool],
    order: Vec<usize>,
}

impl<'a> Ranking<'a> {
    pub fn new(scores: &'a [f64], labels: &'a [bool]) -> Self {
        assert_eq!(scores.len(), labels.len(), "one label per score");
        Ranking {
            scores,
            labels,
            order: ranked(scores),
        }
    }

    /// Kolmogorov–Smirnov statistic: the largest gap between the cumulative shares of
    /// positives and negatives when units are taken from the highest score down.
    pub fn ks(&self) -> Option<f64> {
        let labels = self.labels;
        let pos = labels.iter().filter(|l| **l).count() as f64;
        let neg = labels.len() as f64 - pos;
        if pos == 0.0 || neg == 0.0 {
            return None;
        }
        let (mut tp, mut fp, mut best) = (0.0, 0.0, 0.0f64);
        for &i in &self.order {
            if labels[i] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            best = best.max((tp / pos - fp / neg).abs());
        }
        Some(best)
    }

    /// Fires among the top `fraction` of units by score, and how many units that is (≥ 1).
    fn top_hits(&self, fraction: f64) -> (usize, usize) {
        let n = self.scores.len();
        let k = ((n as f64 * fraction).ceil() as usize).clamp(1, n.max(1));
        let hits = self
            .order
            .iter()
            .take(k)
            .filter(|i| self.labels[**i])
            .count();
        (hits, k)
    }

    /// Share of fires among the top `fraction` of units by score.
    pub fn precision_at(&self, fraction: f64) -> f64 {
        let (hits, k) = self.top_hits(fraction);
        hits as f64 / k as f64
    }

    /// Share of all fires found in the top `fraction` of units by score.
    pub fn recall_at(&self, fraction: f64) -> f64 {
        let pos = self.labels.iter().filter(|l| **l).count();
        if pos == 0 {
            return 0.0;
        }
        self.top_hits(fraction).0 as f64 / pos as f64
    }

    /// Calibration table: units in ten equal groups by predicted probability (the scores),
    /// lowest first.
    pub fn calibration_deciles(&self) -> Vec<Decile> {
        let (probabilities, labels) = (self.scores, self.labels);
        let n = self.order.len();
        (0..10)
            .filter_map(|d| {
                // Decile `d` from the lowest: the same units, in the same order, as the
                // ranking reversed.
                let (lo, hi) = (n * d / 10, n * (d + 1) / 10);
                (hi > lo).then(|| {
                    let group = self.order[n - hi..n - lo].iter().rev();
                    let len = (hi - lo) as f64;
                    Decile {
                        decile: d + 1,
                        mean_predicted: group.clone().map(|i| probabilities[*i]).sum::<f64>() / len,
                        observed_rate: group.filter(|i| labels[**i]).count() as f64 / len,
                        units: hi - lo,
                    }
                })
            })
            .collect()
    }
}

/// One decile of predictions: mean predicted probability, observed rate, units.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Decile {
    pub decile: usize,
    pub mean_predicted: f64,
    pub observed_rate: f64,
    pub units: usize,
}

/// Calibration table: units in ten equal groups by predicted probability, lowest first.
pub fn calibration_deciles(probabilities: &[f64], labels: &[bool]) -> Vec<Decile> {
    Ranking::new(probabilities, labels).calibration_deciles()
}

/// How well probabilities match outcomes: calibration in the large (mean predicted against
/// observed), the calibration slope (the Platt slope of the outcomes on the probabilities'
/// log-odds: 1 when differences between units are stated at their true size, below 1 when
/// overstated), the Brier score and the reliability deciles.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CalibrationCheck {
    pub rows: usize,
    pub fires: usize,
    pub mean_predicted: f64,
    pub observed_rate: f64,
    /// `mean_predicted / observed_rate`.
    pub ratio: f64,
    pub slope: Option<f64>,
    pub brier: f64,
    pub auc: Option<f64>,
    pub deciles: Vec<Decile>,
}

pub fn calibration_check(probabilities: &[f64], labels: &[bool]) -> CalibrationCheck {
    assert_eq!(
        probabilities.len(),
        labels.len(),
        "one label per probability"
    );
    let n = probabilities.len().max(1) as f64;
    let fires = labels.iter().filter(|l| **l).count();
    let mean_predicted = probabilities.iter().sum::<f64>() / n;
    let observed_rate = fires as f64 / n;
    let brier = probabilities
        .iter()
        .zip(labels)
        .map(|(p, y)| (p - f64::from(u8::from(*y))).powi(2))
        .sum::<f64>()
        / n;
    let one_class = fires == 0 || fires == labels.len();
    let slope = (!one_class).then(|| {
        let logits: Vec<f64> = probabilities
            .iter()
            .map(|p| {
                let p = p.clamp(1e-15, 1.0 - 1e-15);
                (p / (1.0 - p)).ln()
            })
            .collect();
        crate::calibration::Platt::fit(&logits, labels).a
    });
    CalibrationCheck {
        rows: probabilities.len(),
        fires,
        mean_predicted,
        observed_rate,
        ratio: mean_predicted / observed_rate.max(1e-12),
        slope,
        brier,
        auc: roc_auc(probabilities, labels),
        deciles: calibration_deciles(probabilities, labels),
    }
}

/// Population stability index of `actual` against `expected`, on the deciles of `expected`.
pub fn psi(expected: &[f64], actual: &[f64]) -> Option<f64> {
    if expected.is_empty() || actual.is_empty() {
        return None;
    }
    let mut sorted = expected.to_vec();
    sorted.sort_by(f64::total_cmp);
    let edges: Vec<f64> = (1..10).map(|d| sorted[sorted.len() * d / 10]).collect();
    let bin = |v: f64| edges.iter().filter(|e| v >= **e).count();
    let share = |values: &[f64]| {
        let mut counts = [0f64; 10];
        values.iter().for_each(|v| counts[bin(*v)] += 1.0);
        counts.map(|c| (c / values.len() as f64).max(1e-6))
    };
    let (e, a) = (share(expected), share(actual));
    Some(e.iter().zip(&a).map(|(e, a)| (a - e) * (a / e).ln()).sum())
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn ks_precision_recall_on_a_hand_case() {
        let s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0];
        let y = [
            true, false, true, false, false, false, false, false, false, false,
        ];
        let r = Ranking::new(&s, &y);
        assert_eq!(r.precision_at(0.2), 0.5);
        assert_eq!(r.recall_at(0.3), 1.0);
        // After 3 units: 2/2 positives, 1/8 negatives → 0.875.
        assert!((r.ks().unwrap() - 0.875).abs() < 1e-12);
    }

    #[test]
    fn a_calibration_check_by_hand() {
        let p = [0.1, 0.1, 0.4, 0.4];
        let y = [false, false, true, false];
        let c = calibration_check(&p, &y);
        assert_eq!((c.rows, c.fires), (4, 1));
        assert!((c.mean_predicted - 0.25).abs() < 1e-15);
        assert_eq!(c.observed_rate, 0.25);
        assert!((c.ratio - 1.0).abs() < 1e-12);
        // (0.01 + 0.01 + 0.36 + 0.16) / 4
        assert!((c.brier - 0.135).abs() < 1e-12, "{}", c.brier);
        // The fire beats both 0.1s and ties the other 0.4: 2.5 of 3 pairs.
        assert!((c.auc.unwrap() - 2.5 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn the_slope_of_overconfident_probabilities_is_below_one() {
        // Outcomes follow σ(z / 2) while the probabilities say σ(z).
        let (mut p, mut y) = (Vec::new(), Vec::new());
        for k in -40..=40 {
            let z = f64::from(k) / 10.0;
            let pos = (crate::calibration::sigmoid(z / 2.0) * 1000.0).round() as usize;
            for i in 0..1000 {
                p.push(crate::calibration::sigmoid(z));
                y.push(i < pos);
            }
        }
        let slope = calibration_check(&p, &y).slope.unwrap();
        assert!((slope - 0.5).abs() < 0.01, "{slope}");
    }

    #[test]
    fn deciles_and_psi() {
        let p: Vec<f64> = (0..100).map(|i| f64::from(i) / 100.0).collect();
        let y: Vec<bool> = (0..100).map(|i| i >= 90).collect();
        let d = calibration_deciles(&p, &y);
        assert_eq!(d.len(), 10);
        assert_eq!(d[9].observed_rate, 1.0);
        assert_eq!(d[0].observed_rate, 0.0);
        assert!((d[0].mean_predicted - 0.045).abs() < 1e-12);
        assert!(psi(&p, &p).unwrap().abs() < 1e-12);
        let shifted: Vec<f64> = p.iter().map(|v| v + 0.3).collect();
        assert!(psi(&p, &shifted).unwrap() > 0.25);
    }
}
