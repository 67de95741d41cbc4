use linfa::prelude::*;
use linfa_trees::{DecisionTree, TreeNode};
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{ForestError, ForestValidParams};
use crate::artifact::lit;
use crate::dataset::Dataset;
use crate::split_mix::SplitMix;
use crate::tree::{self, Node, Tree};

/// A fitted forest: `score = mean over trees of the leaf rate`, `logit = ln(score / (1 − score))`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ForestModel {
    pub features: Vec<String>,
    pub trees: Vec<Tree>,
}

impl ForestValidParams {
    /// Fits on `data` (labels required); trees grow in parallel and the result does not
    /// depend on the number of threads.
    pub fn fit(&self, data: &Dataset) -> Result<ForestModel, ForestError> {
        let y = data.labels();
        let positives = y.iter().filter(|v| **v).count();
        if positives == 0 || positives == y.len() {
            return Err(ForestError::OneClass {
                positives,
                rows: y.len(),
            });
        }
        let trees = (0..self.0.trees)
            .into_par_iter()
            .map(|t| self.grow(data, t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ForestModel {
            features: data.names.clone(),
            trees,
        })
    }

    fn grow(&self, data: &Dataset, t: usize) -> Result<Tree, ForestError> {
        let p = &self.0;
        let labels = data.labels();
        let mut rng = SplitMix(p.seed ^ (t as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let (n, k) = (data.rows(), data.names.len());
        let m = p.rows_per_tree.min(n);
        let rows: Vec<usize> = (0..m).map(|_| rng.below(n)).collect();
        let take = ((k as f64 * p.feature_share).ceil() as usize).clamp(1, k);
        let mut features: Vec<usize> = (0..k).collect();
        for i in 0..take {
            let j = i + rng.below(k - i);
            features.swap(i, j);
        }
        features.truncate(take);
        features.sort_unstable();

        let x = Array2::from_shape_fn((m, take), |(r, c)| data.x[[rows[r], features[c]]]);
        let y: Array1<bool> = rows.iter().map(|r| labels[*r]).collect();
        // Class-balanced weights (each class weighs m / 2): linfa's trees vote the weighted
        // majority, and with rare fires an unweighted tree would prune to one "no fire" leaf.
        let pos = y.iter().filter(|v| **v).count();
        let (w_pos, w_neg) = if pos == 0 || pos == m {
            (1.0, 1.0)
        } else {
            (
                m as f32 / (2.0 * pos as f32),
                m as f32 / (2.0 * (m - pos) as f32),
            )
        };
        let weights = y.mapv(|v| if v { w_pos } else { w_neg });
        let min_leaf = (p.min_leaf_share * m as f64) as f32;
        let ds = linfa::Dataset::new(x, y).with_weights(weights);
        let fitted = DecisionTree::params()
            .max_depth(Some(p.max_depth))
            .min_weight_leaf(min_leaf.max(1.0))
            .min_weight_split((2.0 * min_leaf).max(2.0))
            .fit(&ds)
            .map_err(|e| ForestError::Linfa {
                tree: t,
                message: e.to_string(),
            })?;
        let mut tree = Tree::default();
        flatten(&mut tree, fitted.root_node(), &features);
        estimate_rates(&mut tree, data, p.smoothing);
        Ok(tree)
    }
}

/// A linfa tree in pre-order, with the model's feature indices.
fn flatten(tree: &mut Tree, node: &TreeNode<f64, bool>, features: &[usize]) -> usize {
    let at = tree.nodes.len();
    tree.nodes.push(Node::leaf(0.0));
    let children = node.children();
    if let (false, Some(l), Some(r)) = (
        node.is_leaf(),
        children[0].as_deref(),
        children[1].as_deref(),
    ) {
        let (f, threshold, _) = node.split();
        let left = flatten(tree, l, features);
        let right = flatten(tree, r, features);
        tree.nodes[at] = Node {
            feature: Some(features[f]),
            threshold,
            left,
            right,
            value: 0.0,
        };
    }
    at
}

/// Every row of `data` (not just the tree's sample) counts, so rates rest on all the training
/// data; each node's rate (its value) is shrunk towards its parent's by `smoothing` rows.
fn estimate_rates(tree: &mut Tree, data: &Dataset, smoothing: f64) {
    let labels = data.labels();
    let mut counts = vec![(0u64, 0u64); tree.nodes.len()];
    for (row, y) in data.x.rows().into_iter().zip(labels) {
        let mut i = 0;
        loop {
            counts[i].0 += 1;
            counts[i].1 += u64::from(*y);
            let n = &tree.nodes[i];
            match n.feature {
                None => break,
                Some(f) => {
                    i = if row[f] <= n.threshold {
                        n.left
                    } else {
                        n.right
                    }
                }
            }
        }
    }
    let overall = counts[0].1 as f64 / counts[0].0.max(1) as f64;
    let shrink = |(rows, fires): (u64, u64), prior: f64| {
        (fires as f64 + smoothing * prior) / (rows as f64 + smoothing)
    };
    tree.nodes[0].value = shrink(counts[0], overall);
    for i in 0..tree.nodes.len() {
        if tree.nodes[i].feature.is_some() {
            let (l, r, rate) = (tree.nodes[i].left, tree.nodes[i].right, tree.nodes[i].value);
            tree.nodes[l].value = shrink(counts[l], rate);
            tree.nodes[r].value = shrink(counts[r], rate);
        }
    }
}

impl ForestModel {
    /// Mean leaf rate of one row (features in `features` order).
    pub fn score(&self, row: &[f64]) -> f64 {
        tree::sum_row(&self.trees, row, 0.0) / self.trees.len() as f64
    }

    pub fn logit_row(&self, row: &[f64]) -> f64 {
        self.logit_of_sum(tree::sum_row(&self.trees, row, 0.0))
    }

    /// Log-odds of each row.
    pub fn logit(&self, data: &Dataset) -> Vec<f64> {
        let mut sums = tree::sum_values(&self.trees, data, 0.0);
        sums.par_iter_mut()
            .with_min_len(4096)
            .for_each(|s| *s = self.logit_of_sum(*s));
        sums
    }

    /// The log-odds of a row whose trees' values sum to `sum`.
    fn logit_of_sum(&self, sum: f64) -> f64 {
        let s = sum / self.trees.len() as f64;
        (s / (1.0 - s)).ln()
    }

    /// Each feature's contribution to the row's score: the changes in rate along the path at
    /// the splits on that feature, averaged over trees (Saabas). They sum to the score minus
    /// the mean root rate.
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        let c = tree::contributions(&self.trees, self.features.len(), row);
        let n = self.trees.len() as f64;
        c.iter().map(|v| v / n).collect()
    }

    /// The log-odds as SQL over the feature columns; the same operations in the same order
    /// as [`ForestModel::logit_row`].
    pub fn sql_logit(&self) -> String {
        let sum = self
            .trees
            .iter()
            .enumerate()
            .map(|(i, t)| t.sql_value(&tree::leaf_column(i)))
            .collect::<Vec<_>>()
            .join(" + ");
        let score = format!("(({sum}) / {})", lit(self.trees.len() as f64));
        format!("ln({score} / (1.0 - {score}))")
    }

    /// `(feature, SQL)` of each feature's contribution.
    pub fn sql_contributions(&self) -> Vec<(String, String)> {
        tree::sql_contributions(&self.trees, &self.features, Some(self.trees.len() as f64))
    }

    /// Each tree's leaf as `<SQL> AS leaf_<i>` over the feature columns.
    pub fn sql_leaves(&self) -> Vec<String> {
        tree::sql_leaves(&self.trees, &self.features)
    }
}

#[cfg(test)]
mod tests {
    use crate::forest::ForestParams;
    use crate::metrics::roc_auc;

    /// Fires only where `a > 0.5` and `b > 0.5` (an interaction a linear model cannot draw):
    /// the forest must rank those rows first and blame `a` and `b`, not the noise.
    #[test]
    fn finds_an_interaction() {
        let (data, risky) = crate::dataset::interaction(6000, 7);
        let params = ForestParams {
            trees: 8,
            max_depth: 4,
            feature_share: 1.0,
            ..Default::default()
        };
        let model = params.clone().check().unwrap().fit(&data).unwrap();
        let logit = model.logit(&data);
        let auc = roc_auc(&logit, &risky).unwrap();
        assert!(
            auc > 0.95,
            "the forest separates the risky quarter: AUC {auc}"
        );
        // Reproducible.
        assert_eq!(model, params.check().unwrap().fit(&data).unwrap());
        // Contributions explain the score (Saabas: they sum to score − mean root rate).
        let row = [0.9, 0.9, 0.5];
        let c = model.contributions(&row);
        let root: f64 =
            model.trees.iter().map(|t| t.nodes[0].value).sum::<f64>() / model.trees.len() as f64;
        assert!((c.iter().sum::<f64>() - (model.score(&row) - root)).abs() < 1e-12);
        assert!(
            c[0] > 0.0 && c[1] > 0.0 && c[0].min(c[1]) > c[2].abs(),
            "{c:?}"
        );
    }
}
