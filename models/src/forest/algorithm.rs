use linfa::prelude::*;
use linfa_trees::{DecisionTree, TreeNode};
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{ForestError, ForestValidParams};
use crate::artifact::lit;
use crate::dataset::Dataset;

/// One node of a fitted tree; rows with `x[feature] <= threshold` go left.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Node {
    /// Index into the model's features; `None` for a leaf.
    pub feature: Option<usize>,
    pub threshold: f64,
    pub left: usize,
    pub right: usize,
    /// Fire rate of the training rows reaching this node, smoothed towards its parent's.
    pub rate: f64,
}

/// Nodes in pre-order: the root first, every parent before its children.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

/// A fitted forest: `score = mean over trees of the leaf rate`, `logit = ln(score / (1 − score))`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ForestModel {
    pub features: Vec<String>,
    pub trees: Vec<Tree>,
}

/// SplitMix64: a seeded, platform-independent stream, so that a forest is reproducible.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
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
        let mut tree = Tree { nodes: Vec::new() };
        tree.flatten(fitted.root_node(), &features);
        tree.estimate_rates(data, p.smoothing);
        Ok(tree)
    }
}

impl Tree {
    fn flatten(&mut self, node: &TreeNode<f64, bool>, features: &[usize]) -> usize {
        let at = self.nodes.len();
        self.nodes.push(Node {
            feature: None,
            threshold: 0.0,
            left: 0,
            right: 0,
            rate: 0.0,
        });
        let children = node.children();
        if let (false, Some(l), Some(r)) = (
            node.is_leaf(),
            children[0].as_deref(),
            children[1].as_deref(),
        ) {
            let (f, threshold, _) = node.split();
            let left = self.flatten(l, features);
            let right = self.flatten(r, features);
            self.nodes[at] = Node {
                feature: Some(features[f]),
                threshold,
                left,
                right,
                rate: 0.0,
            };
        }
        at
    }

    /// Every row of `data` (not just the tree's sample) counts, so rates rest on all the
    /// training data; each node's rate is shrunk towards its parent's by `smoothing` rows.
    fn estimate_rates(&mut self, data: &Dataset, smoothing: f64) {
        let labels = data.labels();
        let mut counts = vec![(0u64, 0u64); self.nodes.len()];
        for (row, y) in data.x.rows().into_iter().zip(labels) {
            let mut i = 0;
            loop {
                counts[i].0 += 1;
                counts[i].1 += u64::from(*y);
                let n = &self.nodes[i];
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
        self.nodes[0].rate = shrink(counts[0], overall);
        for i in 0..self.nodes.len() {
            if self.nodes[i].feature.is_some() {
                let (l, r, rate) = (self.nodes[i].left, self.nodes[i].right, self.nodes[i].rate);
                self.nodes[l].rate = shrink(counts[l], rate);
                self.nodes[r].rate = shrink(counts[r], rate);
            }
        }
    }

    /// The nodes from the root to the row's leaf.
    fn path<'a>(&'a self, row: &'a [f64]) -> impl Iterator<Item = &'a Node> + 'a {
        let mut next = Some(0);
        std::iter::from_fn(move || {
            let n = &self.nodes[next?];
            next = n.feature.map(|f| {
                if row[f] <= n.threshold {
                    n.left
                } else {
                    n.right
                }
            });
            Some(n)
        })
    }

    fn sql_rate(&self, i: usize, names: &[String]) -> String {
        let n = &self.nodes[i];
        match n.feature {
            None => lit(n.rate),
            Some(f) => format!(
                "CASE WHEN {} <= {} THEN {} ELSE {} END",
                names[f],
                lit(n.threshold),
                self.sql_rate(n.left, names),
                self.sql_rate(n.right, names)
            ),
        }
    }

    /// Feature `f`'s share of the path from node `i` down, as SQL; constant where no split
    /// on `f` lies below, so the expression only branches where it must.
    fn sql_contribution(&self, i: usize, f: usize, names: &[String]) -> Part {
        let n = &self.nodes[i];
        let Some(g) = n.feature else {
            return Part::Const(0.0);
        };
        let step = |child: usize| {
            let delta = if g == f {
                self.nodes[child].rate - n.rate
            } else {
                0.0
            };
            match self.sql_contribution(child, f, names) {
                Part::Const(c) => Part::Const(delta + c),
                Part::Expr(e) if delta == 0.0 => Part::Expr(e),
                Part::Expr(e) => Part::Expr(format!("({} + {e})", lit(delta))),
            }
        };
        match (step(n.left), step(n.right)) {
            (Part::Const(a), Part::Const(b)) if a == b => Part::Const(a),
            (l, r) => Part::Expr(format!(
                "CASE WHEN {} <= {} THEN {} ELSE {} END",
                names[g],
                lit(n.threshold),
                l.sql(),
                r.sql()
            )),
        }
    }
}

enum Part {
    Const(f64),
    Expr(String),
}

impl Part {
    fn sql(self) -> String {
        match self {
            Part::Const(c) => lit(c),
            Part::Expr(e) => e,
        }
    }
}

impl ForestModel {
    /// Mean leaf rate of one row (features in `features` order).
    pub fn score(&self, row: &[f64]) -> f64 {
        let mut sum = 0.0;
        for t in &self.trees {
            sum += t.path(row).last().expect("a root").rate;
        }
        sum / self.trees.len() as f64
    }

    pub fn logit_row(&self, row: &[f64]) -> f64 {
        let s = self.score(row);
        (s / (1.0 - s)).ln()
    }

    /// Log-odds of each row.
    pub fn logit(&self, data: &Dataset) -> Vec<f64> {
        let rows: Vec<_> = data.x.rows().into_iter().collect();
        rows.par_iter()
            .map(|r| self.logit_row(r.as_slice().expect("standard layout")))
            .collect()
    }

    /// Each feature's contribution to the row's score: the changes in rate along the path at
    /// the splits on that feature, averaged over trees (Saabas). They sum to the score minus
    /// the mean root rate.
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; self.features.len()];
        for t in &self.trees {
            let path: Vec<&Node> = t.path(row).collect();
            for w in path.windows(2) {
                c[w[0].feature.expect("an inner node")] += w[1].rate - w[0].rate;
            }
        }
        let n = self.trees.len() as f64;
        c.iter().map(|v| v / n).collect()
    }

    /// The log-odds as SQL over the feature columns; the same operations in the same order
    /// as [`ForestModel::logit_row`].
    pub fn sql_logit(&self) -> String {
        let sum = self
            .trees
            .iter()
            .map(|t| t.sql_rate(0, &self.features))
            .collect::<Vec<_>>()
            .join(" + ");
        let score = format!("(({sum}) / {})", lit(self.trees.len() as f64));
        format!("ln({score} / (1.0 - {score}))")
    }

    /// `(feature, SQL)` of each feature's contribution.
    pub fn sql_contributions(&self) -> Vec<(String, String)> {
        let n = lit(self.trees.len() as f64);
        self.features
            .iter()
            .enumerate()
            .map(|(f, name)| {
                let terms: Vec<String> = self
                    .trees
                    .iter()
                    .filter_map(|t| match t.sql_contribution(0, f, &self.features) {
                        Part::Const(0.0) => None,
                        p => Some(p.sql()),
                    })
                    .collect();
                let sql = if terms.is_empty() {
                    "0.0".to_string()
                } else {
                    format!("(({}) / {n})", terms.join(" + "))
                };
                (name.clone(), sql)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forest::ForestParams;
    use crate::metrics::roc_auc;

    /// Fires only where `a > 0.5` and `b > 0.5` (an interaction a linear model cannot draw):
    /// the forest must rank those rows first and blame `a` and `b`, not the noise.
    #[test]
    fn finds_an_interaction() {
        let n = 6000;
        let mut rng = SplitMix(7);
        let mut u = || (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        let mut x = Array2::<f64>::zeros((n, 3));
        let mut y = Array1::from_elem(n, false);
        let mut risky = Vec::new();
        for i in 0..n {
            let (a, b, c) = (u(), u(), u());
            x[[i, 0]] = a;
            x[[i, 1]] = b;
            x[[i, 2]] = c;
            let p = if a > 0.5 && b > 0.5 { 0.3 } else { 0.02 };
            y[i] = u() < p;
            risky.push(a > 0.5 && b > 0.5);
        }
        let data = Dataset {
            names: vec!["a".into(), "b".into(), "noise".into()],
            x,
            y: Some(y),
        };
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
            model.trees.iter().map(|t| t.nodes[0].rate).sum::<f64>() / model.trees.len() as f64;
        assert!((c.iter().sum::<f64>() - (model.score(&row) - root)).abs() < 1e-12);
        assert!(
            c[0] > 0.0 && c[1] > 0.0 && c[0].min(c[1]) > c[2].abs(),
            "{c:?}"
        );
    }
}
