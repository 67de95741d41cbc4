use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{BoostingError, BoostingValidParams};
use crate::artifact::lit;
use crate::calibration::sigmoid;
use crate::dataset::Dataset;
use crate::split_mix::SplitMix;
use crate::tree::{self, Node, Tree};

/// A fitted boosted model: `logit = base + the leaf value of each tree`, added in tree order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BoostedModel {
    pub features: Vec<String>,
    /// The log-odds of the training rows' fire rate: where the first round starts.
    pub base: f64,
    /// Each node's value is its step on the log-odds (learning rate included), so a row's
    /// path explains its leaf.
    pub trees: Vec<Tree>,
    /// Rounds kept (the best held-out log-loss) and rounds run.
    pub rounds: usize,
    pub rounds_run: usize,
}

/// Gradient, hessian and row count of a bin or a node.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    g: f64,
    h: f64,
    n: u32,
}

impl Sums {
    fn add(&mut self, g: f64, h: f64) {
        self.g += g;
        self.h += h;
        self.n += 1;
    }

    fn minus(self, o: Sums) -> Sums {
        Sums {
            g: self.g - o.g,
            h: self.h - o.h,
            n: self.n - o.n,
        }
    }

    fn plus(self, o: Sums) -> Sums {
        Sums {
            g: self.g + o.g,
            h: self.h + o.h,
            n: self.n + o.n,
        }
    }
}

/// Each feature cut into quantile bins once: bin `k` of a feature holds the values in
/// `(thresholds[k − 1], thresholds[k]]`, the last bin the values above the last threshold. A
/// split after bin `k` sends `x <= thresholds[k]` left, which is how the fitted tree reads raw
/// values, so the binned fit and the model agree on every row.
struct Bins {
    thresholds: Vec<Vec<f64>>,
    /// Per feature, per row: its bin.
    codes: Vec<Vec<u8>>,
}

/// Per feature: the sums of each bin.
type Histogram = Vec<Vec<Sums>>;

/// The thresholds of at most `max_bins` bins from a sample of one feature's values: every
/// distinct value is its own bin when there are few enough, otherwise quantiles. Each
/// threshold lies halfway between a bin's largest sampled value and the next sampled value
/// above it (as scikit-learn's), so no sampled value sits on a threshold: a threshold read back
/// from a model file a rounding away moves no row of the data across it.
fn thresholds_of(mut sample: Vec<f64>, max_bins: usize) -> Vec<f64> {
    sample.sort_by(f64::total_cmp);
    let mut distinct = sample.clone();
    distinct.dedup();
    let mut uppers = if distinct.len() <= max_bins {
        distinct.clone()
    } else {
        (1..max_bins)
            .map(|q| sample[q * sample.len() / max_bins])
            .collect()
    };
    uppers.dedup();
    // The largest value needs no threshold: the last bin takes everything above.
    if uppers.last() == distinct.last() {
        uppers.pop();
    }
    uppers
        .iter()
        .map(|u| {
            let next = distinct[distinct.partition_point(|v| v <= u)];
            u + (next - u) / 2.0
        })
        .collect()
}

impl Bins {
    fn new(data: &Dataset, max_bins: usize, sample: usize, seed: u64) -> Bins {
        let n = data.rows();
        let rows: Vec<usize> = if n <= sample {
            (0..n).collect()
        } else {
            let mut rng = SplitMix(seed);
            (0..sample).map(|_| rng.below(n)).collect()
        };
        let (thresholds, codes) = (0..data.names.len())
            .into_par_iter()
            .map(|f| {
                let column = data.x.column(f);
                let t = thresholds_of(rows.iter().map(|r| column[*r]).collect(), max_bins);
                let codes = column
                    .iter()
                    .map(|v| t.partition_point(|e| e < v) as u8)
                    .collect();
                (t, codes)
            })
            .unzip();
        Bins { thresholds, codes }
    }

    /// Sums per bin of `rows` (`gh[i]` is the gradient and hessian of `rows[i]`), feature by
    /// feature in parallel; each feature adds its rows in a fixed order, so the result does not
    /// depend on the number of threads.
    fn histogram(&self, rows: &[u32], gh: &[Gh]) -> Histogram {
        self.codes
            .par_iter()
            .zip(&self.thresholds)
            .map(|(codes, thresholds)| {
                // Four partial histograms, row `i` adding to part `i % 4`: consecutive rows
                // often fall in one bin (a flag has two), and with one set of sums each
                // addition would wait for the one before. A part has a slot for every byte, so
                // a bin indexes it unchecked.
                let mut part = [[Sums::default(); 256]; 4];
                for (r4, g4) in rows.chunks_exact(4).zip(gh.chunks_exact(4)) {
                    for j in 0..4 {
                        let bin = usize::from(codes[r4[j] as usize]);
                        part[j][bin].add(f64::from(g4[j][0]), f64::from(g4[j][1]));
                    }
                }
                let rest = rows.len() - rows.len() % 4;
                for (r, g) in rows[rest..].iter().zip(&gh[rest..]) {
                    part[0][usize::from(codes[*r as usize])].add(f64::from(g[0]), f64::from(g[1]));
                }
                (0..=thresholds.len())
                    .map(|b| (1..4).fold(part[0][b], |sum, j| sum.plus(part[j][b])))
                    .collect()
            })
            .collect()
    }
}

/// A row's gradient and hessian. Single precision halves what a histogram reads; the sums are
/// double.
type Gh = [f32; 2];

/// The gradients and hessians of `rows`, in their order: a node's histogram then reads them
/// in sequence.
fn gather(rows: &[u32], gh: &[Gh]) -> Vec<Gh> {
    rows.iter().map(|r| gh[*r as usize]).collect()
}

/// `rows` split by their bin (`codes`): those at `bin` or below, then the others, each in their
/// order (what `Iterator::partition` gives). Counted first, then each row written to its side's
/// next slot without a branch: a split sends rows either way at random, and a branch per row
/// was mispredicted about as often as not.
fn split_rows(rows: &[u32], codes: &[u8], bin: usize) -> (Vec<u32>, Vec<u32>) {
    let goes_left = |r: u32| usize::from(codes[r as usize]) <= bin;
    let left = rows.iter().filter(|r| goes_left(**r)).count();
    let mut out = vec![0u32; rows.len()];
    let (mut l, mut r) = (0, left);
    for &row in rows {
        let is_left = goes_left(row);
        out[if is_left { l } else { r }] = row;
        l += usize::from(is_left);
        r += usize::from(!is_left);
    }
    let right = out.split_off(left);
    (out, right)
}

/// The best split of a leaf: send bins `..=bin` of `feature` left.
#[derive(Debug, Clone, Copy)]
struct Split {
    feature: usize,
    bin: usize,
    gain: f64,
    left: Sums,
}

/// A leaf still growing: its node, rows, histogram and best split.
struct Leaf {
    node: usize,
    rows: Vec<u32>,
    /// Rows that follow the tree without shaping it: left out of this round's share, or held
    /// out.
    others: Vec<u32>,
    hist: Histogram,
    sums: Sums,
    depth: usize,
    split: Option<Split>,
}

impl BoostingValidParams {
    /// Fits on `data` (labels required): rounds on the training rows until the held-out
    /// log-loss stops falling; the same model on any number of threads.
    pub fn fit(&self, data: &Dataset) -> Result<BoostedModel, BoostingError> {
        self.boost(data, None)
    }

    /// Fits exactly `rounds` rounds (at least one) on every row, none held out: the refit of a
    /// model whose number of rounds an earlier fit stopped at (the backtest's, a year before).
    pub fn fit_rounds(&self, data: &Dataset, rounds: usize) -> Result<BoostedModel, BoostingError> {
        self.boost(data, Some(rounds.max(1)))
    }

    fn boost(&self, data: &Dataset, rounds: Option<usize>) -> Result<BoostedModel, BoostingError> {
        let p = &self.0;
        let labels = data.labels();
        let n = data.rows();
        let positives = labels.iter().filter(|v| **v).count();
        if positives == 0 || positives == n {
            return Err(BoostingError::OneClass { positives, rows: n });
        }
        if let Some(((row, f), value)) = data.x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(BoostingError::NotFinite {
                feature: data.names[f].clone(),
                row,
                value: *value,
            });
        }
        let bins = Bins::new(data, p.max_bins, p.bin_sample, p.seed);

        // Held-out rows: a seeded shuffle, so the split is the same on every machine.
        let mut order: Vec<u32> = (0..n as u32).collect();
        let held = if rounds.is_none() && n >= p.early_stop_rows {
            let mut rng = SplitMix(p.seed ^ 0x5EED);
            for i in (1..n).rev() {
                order.swap(i, rng.below(i + 1));
            }
            (n as f64 * p.validation_share) as usize
        } else {
            0
        };
        let (valid, train) = order.split_at(held);
        let mut train = train.to_vec();
        train.sort_unstable();
        let valid = valid.to_vec();

        let y: Vec<f64> = labels.iter().map(|v| f64::from(u8::from(*v))).collect();
        let fires: f64 = train.iter().map(|r| y[*r as usize]).sum();
        let rate = fires / train.len() as f64;
        let base = (rate / (1.0 - rate)).ln();
        let mut raw = vec![base; n];
        let mut gh: Vec<Gh> = vec![[0.0; 2]; n];
        let log_loss = |raw: &[f64]| -> f64 {
            valid
                .iter()
                .map(|r| {
                    let (z, y) = (raw[*r as usize], y[*r as usize]);
                    // log(1 + e^z) − y z, without overflow.
                    z.max(0.0) + (-z.abs()).exp().ln_1p() - y * z
                })
                .sum()
        };

        let mut trees = Vec::new();
        let (mut best, mut best_round) = (log_loss(&raw), 0);
        let mut rng = SplitMix(p.seed ^ 0x00B0_A7ED);
        let mut sampled = Vec::with_capacity(train.len());
        let mut left_out = Vec::with_capacity(train.len());
        for round in 0..rounds.unwrap_or(p.max_rounds) {
            gh.par_iter_mut()
                .zip(&raw)
                .zip(&y)
                .with_min_len(4096)
                .for_each(|((gh, z), y)| {
                    let q = sigmoid(*z);
                    *gh = [(q - y) as f32, (q * (1.0 - q)) as f32];
                });
            // The tree grows on a fresh share of the training rows (in row order); the rest
            // follow it like held-out rows.
            sampled.clear();
            left_out.clear();
            if p.row_share < 1.0 {
                let cut = (p.row_share * (1u64 << 53) as f64) as u64;
                for &r in &train {
                    if rng.next() >> 11 < cut {
                        sampled.push(r);
                    } else {
                        left_out.push(r);
                    }
                }
            } else {
                sampled.extend_from_slice(&train);
            }
            left_out.extend_from_slice(&valid);
            let (tree, leaves) = self.grow(&bins, &sampled, &left_out, &gh);
            for (node, rows) in leaves {
                let step = tree.nodes[node].value;
                for r in rows {
                    raw[r as usize] += step;
                }
            }
            trees.push(tree);
            if held == 0 {
                best_round = round + 1;
                continue;
            }
            let loss = log_loss(&raw);
            if loss < best * (1.0 - p.tolerance) {
                (best, best_round) = (loss, round + 1);
            } else if round + 1 - best_round >= p.patience {
                break;
            }
        }
        let rounds_run = trees.len();
        trees.truncate(best_round.max(1));
        Ok(BoostedModel {
            features: data.names.clone(),
            base,
            rounds: trees.len(),
            rounds_run,
            trees,
        })
    }

    /// One tree, grown best-first on the gradients of `rows`; returns it with each leaf's rows
    /// and `others`, which are sent down the tree by their bins as the model sends them by
    /// their values (a split after bin `k` is `x <= thresholds[k]`).
    fn grow(
        &self,
        bins: &Bins,
        rows: &[u32],
        others: &[u32],
        gh: &[Gh],
    ) -> (Tree, Vec<(usize, Vec<u32>)>) {
        let p = &self.0;
        let value = |s: Sums| -p.learning_rate * s.g / (s.h + p.l2);
        let hist = bins.histogram(rows, &gather(rows, gh));
        let sums = hist[0].iter().fold(Sums::default(), |a, b| a.plus(*b));
        let mut tree = Tree {
            nodes: vec![Node::leaf(value(sums))],
        };
        let mut leaves = vec![self.leaf(0, 0, (rows.to_vec(), others.to_vec()), hist, sums)];
        while leaves.len() < p.max_leaves {
            // The leaf whose split gains most (the first of equals, for determinism).
            let Some((at, split)) = leaves
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.split.map(|s| (i, s)))
                .fold(None, |best: Option<(usize, Split)>, (i, s)| match best {
                    Some((_, b)) if b.gain >= s.gain => best,
                    _ => Some((i, s)),
                })
            else {
                break;
            };
            let parent = leaves.swap_remove(at);
            let codes = &bins.codes[split.feature];
            let (left_rows, right_rows) = split_rows(&parent.rows, codes, split.bin);
            let (left_sums, right_sums) = (split.left, parent.sums.minus(split.left));
            // Sum the smaller child's rows; the larger child's histogram is the parent's less
            // the smaller's. The other rows are sent down meanwhile.
            let small_is_left = left_rows.len() <= right_rows.len();
            let small_rows = if small_is_left {
                &left_rows
            } else {
                &right_rows
            };
            let (small, (left_others, right_others)) = rayon::join(
                || bins.histogram(small_rows, &gather(small_rows, gh)),
                || split_rows(&parent.others, codes, split.bin),
            );
            let large: Histogram = parent
                .hist
                .iter()
                .zip(&small)
                .map(|(ph, sh)| ph.iter().zip(sh).map(|(a, b)| a.minus(*b)).collect())
                .collect();
            let (left_hist, right_hist) = if small_is_left {
                (small, large)
            } else {
                (large, small)
            };
            let (left, right) = (tree.nodes.len(), tree.nodes.len() + 1);
            tree.nodes.push(Node::leaf(value(left_sums)));
            tree.nodes.push(Node::leaf(value(right_sums)));
            let node = &mut tree.nodes[parent.node];
            node.feature = Some(split.feature);
            node.threshold = bins.thresholds[split.feature][split.bin];
            node.left = left;
            node.right = right;
            let depth = parent.depth + 1;
            leaves.push(self.leaf(left, depth, (left_rows, left_others), left_hist, left_sums));
            leaves.push(self.leaf(
                right,
                depth,
                (right_rows, right_others),
                right_hist,
                right_sums,
            ));
        }
        let leaves = leaves
            .into_iter()
            .map(|mut l| {
                l.rows.append(&mut l.others);
                (l.node, l.rows)
            })
            .collect();
        (tree, leaves)
    }

    /// A leaf at `depth` with its rows (those that shape it, and the others) and its best split.
    fn leaf(
        &self,
        node: usize,
        depth: usize,
        (rows, others): (Vec<u32>, Vec<u32>),
        hist: Histogram,
        sums: Sums,
    ) -> Leaf {
        let split = (depth < self.0.max_depth)
            .then(|| self.best_split(&hist, sums))
            .flatten();
        Leaf {
            node,
            rows,
            others,
            hist,
            sums,
            depth,
            split,
        }
    }

    /// The split of largest gain in log-loss (second-order), each side keeping at least
    /// `min_rows_leaf` rows; `None` when no split gains.
    fn best_split(&self, hist: &Histogram, total: Sums) -> Option<Split> {
        let p = &self.0;
        let score = |s: Sums| s.g * s.g / (s.h + p.l2);
        let parent = score(total);
        let min = p.min_rows_leaf as u32;
        let mut best: Option<Split> = None;
        for (feature, bins) in hist.iter().enumerate() {
            let mut left = Sums::default();
            // The last bin cannot be a left side: everything would go left.
            for (bin, b) in bins[..bins.len() - 1].iter().enumerate() {
                left = left.plus(*b);
                let right = total.minus(left);
                if left.n < min || right.n < min || left.h < 1e-6 || right.h < 1e-6 {
                    continue;
                }
                let gain = score(left) + score(right) - parent;
                if gain > 1e-12 && best.is_none_or(|b| gain > b.gain) {
                    best = Some(Split {
                        feature,
                        bin,
                        gain,
                        left,
                    });
                }
            }
        }
        best
    }
}

impl BoostedModel {
    /// The log-odds of one row (features in `features` order).
    pub fn logit_row(&self, row: &[f64]) -> f64 {
        tree::sum_row(&self.trees, row, self.base)
    }

    /// Log-odds of each row (as [`BoostedModel::logit_row`] gives them, many rows at a time).
    pub fn logit(&self, data: &Dataset) -> Vec<f64> {
        tree::sum_values(&self.trees, data, self.base)
    }

    /// Each feature's contribution to the row's log-odds: the changes of value at the splits
    /// on that feature along each tree's path, summed over trees (Saabas). They sum to the
    /// log-odds less `base` and the roots' values.
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        tree::contributions(&self.trees, self.features.len(), row)
    }

    /// The log-odds as SQL over the leaf columns ([`BoostedModel::sql_leaves`]): the same
    /// additions in the same order as [`BoostedModel::logit_row`] (SQL's `+` groups from the
    /// left).
    pub fn sql_logit(&self) -> String {
        let terms: Vec<String> = std::iter::once(lit(self.base))
            .chain(
                self.trees
                    .iter()
                    .enumerate()
                    .map(|(i, t)| t.sql_value(&tree::leaf_column(i))),
            )
            .collect();
        format!("({})", terms.join(" + "))
    }

    /// Each tree's leaf as `<SQL> AS leaf_<i>` over the feature columns.
    pub fn sql_leaves(&self) -> Vec<String> {
        tree::sql_leaves(&self.trees, &self.features)
    }

    /// `(feature, SQL)` of each feature's contribution.
    pub fn sql_contributions(&self) -> Vec<(String, String)> {
        tree::sql_contributions(&self.trees, &self.features, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boosting::BoostingParams;
    use crate::metrics::roc_auc;

    #[test]
    fn rows_split_as_partition_splits_them() {
        let mut rng = SplitMix(5);
        let codes: Vec<u8> = (0..1000).map(|_| rng.below(256) as u8).collect();
        let rows: Vec<u32> = (0..1000).filter(|r| r % 3 != 0).rev().collect();
        for bin in [0, 17, 128, 254, 255] {
            let expected: (Vec<u32>, Vec<u32>) = rows
                .iter()
                .partition(|r| usize::from(codes[**r as usize]) <= bin);
            assert_eq!(split_rows(&rows, &codes, bin), expected, "bin {bin}");
        }
        assert_eq!(split_rows(&[], &codes, 3), (vec![], vec![]));
    }

    #[test]
    fn thresholds_give_each_value_its_bin_or_quantiles() {
        assert_eq!(thresholds_of(vec![3.0, 1.0, 2.0, 1.0], 255), vec![1.5, 2.5]);
        let many: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(thresholds_of(many, 4), vec![250.5, 500.5, 750.5]);
        assert!(thresholds_of(vec![5.0; 10], 255).is_empty());
    }

    /// The interaction the forest finds (fires where `a > 0.5` and `b > 0.5`): the boosted
    /// model ranks those rows first, blames `a` and `b`, and is reproducible.
    #[test]
    fn finds_an_interaction_and_explains_it() {
        let (data, risky) = crate::dataset::interaction(20_000, 11);
        let params = BoostingParams::default().check().unwrap();
        let model = params.fit(&data).unwrap();
        assert!(model.rounds >= 1 && model.rounds <= model.rounds_run);
        let auc = roc_auc(&model.logit(&data), &risky).unwrap();
        assert!(
            auc > 0.97,
            "the model separates the risky quarter: AUC {auc}"
        );
        assert_eq!(model, params.fit(&data).unwrap());
        // The refit a year on: the rounds given, every row, none past them.
        let refit = params.fit_rounds(&data, model.rounds).unwrap();
        assert_eq!(
            (refit.rounds, refit.rounds_run),
            (model.rounds, model.rounds)
        );
        assert!(roc_auc(&refit.logit(&data), &risky).unwrap() > 0.97);
        // Every tree on every row finds the interaction too.
        let whole = BoostingParams {
            row_share: 1.0,
            ..Default::default()
        };
        let whole = whole.check().unwrap().fit(&data).unwrap();
        assert!(roc_auc(&whole.logit(&data), &risky).unwrap() > 0.97);
        assert_ne!(whole, model, "half the rows grow different trees");
        let row = [0.9, 0.9, 0.5];
        let c = model.contributions(&row);
        let roots: f64 = model.trees.iter().map(|t| t.nodes[0].value).sum();
        let explained = model.logit_row(&row) - model.base - roots;
        assert!((c.iter().sum::<f64>() - explained).abs() < 1e-9, "{c:?}");
        assert!(
            c[0] > 0.0 && c[1] > 0.0 && c[0].min(c[1]) > c[2].abs(),
            "{c:?}"
        );
        // Calibrated by construction on its training rows, roughly: the mean probability is
        // the fire rate.
        let p: Vec<f64> = model.logit(&data).iter().map(|z| sigmoid(*z)).collect();
        let rate = data.labels().iter().filter(|v| **v).count() as f64 / 20_000.0;
        let mean = p.iter().sum::<f64>() / 20_000.0;
        assert!((mean / rate - 1.0).abs() < 0.05, "{mean} vs {rate}");
    }

    #[test]
    fn one_class_and_non_finite_values_are_refused() {
        let (mut data, _) = crate::dataset::interaction(100, 1);
        data.y = Some(ndarray::Array1::from_elem(100, false));
        let params = BoostingParams::default().check().unwrap();
        assert!(matches!(
            params.fit(&data),
            Err(BoostingError::OneClass { .. })
        ));
        let (mut data, _) = crate::dataset::interaction(100, 1);
        data.x[[5, 1]] = f64::NAN;
        assert!(matches!(
            params.fit(&data),
            Err(BoostingError::NotFinite { row: 5, .. })
        ));
    }
}
