//! Binary decision trees as the forest and the boosted model keep them, and their compilation
//! to SQL. Nodes are in pre-order (every parent before its children); a row with
//! `x[feature] <= threshold` goes left. Every node carries a value: for the forest the smoothed
//! fire rate of the training rows reaching it, for the boosted model its step on the log-odds.
//! A row's path from the root to its leaf explains the leaf's value (Saabas): each split's
//! change of value is put on the split's feature.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

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
    /// The forest's `rate` in model files before firecredit-model/3.
    #[serde(alias = "rate")]
    pub value: f64,
}

impl Node {
    pub fn leaf(value: f64) -> Node {
        Node {
            feature: None,
            threshold: 0.0,
            left: 0,
            right: 0,
            value,
        }
    }
}

/// Nodes in pre-order: the root first, every parent before its children.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The nodes from the root to the row's leaf.
    pub fn path<'a>(&'a self, row: &'a [f64]) -> impl Iterator<Item = &'a Node> + 'a {
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

    /// The value of the row's leaf.
    pub fn value(&self, row: &[f64]) -> f64 {
        self.path(row).last().expect("a root").value
    }

    /// Adds each split's change of value along the row's path to its feature's entry of `c`.
    pub fn add_contributions(&self, row: &[f64], c: &mut [f64]) {
        let path: Vec<&Node> = self.path(row).collect();
        for w in path.windows(2) {
            c[w[0].feature.expect("an inner node")] += w[1].value - w[0].value;
        }
    }

    /// The leaf a row reaches (its node index) as a nested SQL `CASE` over the columns
    /// `names`. The scoring SQL walks each tree once per row into a column of leaves and looks
    /// the leaf's value and contributions up from it ([`Tree::sql_value`],
    /// [`Tree::sql_contribution`]): walking the tree again for every feature it splits on cost
    /// ten times as much.
    pub fn sql_leaf(&self, names: &[String]) -> String {
        self.sql_leaf_at(0, names)
    }

    fn sql_leaf_at(&self, i: usize, names: &[String]) -> String {
        let n = &self.nodes[i];
        match n.feature {
            None => i.to_string(),
            Some(f) => format!(
                "CASE WHEN {} <= {} THEN {} ELSE {} END",
                names[f],
                lit(n.threshold),
                self.sql_leaf_at(n.left, names),
                self.sql_leaf_at(n.right, names)
            ),
        }
    }

    /// Each node's parent (the root's is its own index, 0).
    fn parents(&self) -> Vec<usize> {
        let mut parents = vec![0; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            if n.feature.is_some() {
                parents[n.left] = i;
                parents[n.right] = i;
            }
        }
        parents
    }

    /// The leaves' indices and values, in pre-order.
    fn leaves(&self) -> impl Iterator<Item = (usize, &Node)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.feature.is_none())
    }

    /// The leaf value looked up from the row's leaf in column `leaf` (see [`Tree::sql_leaf`]).
    pub fn sql_value(&self, leaf: &str) -> String {
        lookup(leaf, self.leaves().map(|(i, n)| (i, n.value)))
    }

    /// Feature `f`'s contribution along the row's path, looked up from the row's leaf in
    /// column `leaf`; a literal where it is the same for every leaf, `None` where that is zero.
    pub fn sql_contribution(&self, f: usize, leaf: &str) -> Option<String> {
        let parents = self.parents();
        let values: Vec<(usize, f64)> = self
            .leaves()
            .map(|(i, _)| (i, self.leaf_contribution(&parents, i, f)))
            .collect();
        match values[..] {
            [(_, first), ..] if values.iter().all(|(_, v)| *v == first) => {
                (first != 0.0).then(|| lit(first))
            }
            // The leaves whose share is `0.0` are left to the `ELSE` (the same bits): half the
            // SQL to plan for a boosted model.
            _ => Some(format!(
                "{} ELSE 0.0 END",
                arms(leaf, values.into_iter().filter(|(_, v)| v.to_bits() != 0))
            )),
        }
    }

    /// Feature `f`'s share of the path to leaf `leaf`: the changes of value at its splits on
    /// `f`, added from the leaf up, the order in which the nested `CASE`s this lookup replaced
    /// added them in SQL (decision 113), so the published contributions keep every bit.
    fn leaf_contribution(&self, parents: &[usize], leaf: usize, f: usize) -> f64 {
        let (mut sum, mut child) = (0.0, leaf);
        while child != 0 {
            let p = parents[child];
            if self.nodes[p].feature == Some(f) {
                let delta = self.nodes[child].value - self.nodes[p].value;
                if delta != 0.0 {
                    sum += delta;
                }
            }
            child = p;
        }
        sum
    }
}

/// `start` plus the value of each tree's leaf for `row`, added in the trees' order.
pub fn sum_row(trees: &[Tree], row: &[f64], start: f64) -> f64 {
    trees.iter().fold(start, |sum, t| sum + t.value(row))
}

/// `start` plus the value of each tree's leaf, added in the trees' order, for every row of
/// `data`: what [`sum_row`] gives for each, to the bit.
///
/// Row by row, a row walks every tree before the next row starts: hundreds of trees that no
/// longer fit in the cache, and a loop whose exit (the leaf's depth) the CPU mispredicts on
/// every tree. Here a block of rows walks one tree at a time, every row for as many steps as
/// the tree is deep (a leaf leads to itself), so the tree stays in the cache and the rows'
/// walks are independent of each other and of any branch.
pub fn sum_values(trees: &[Tree], data: &Dataset, start: f64) -> Vec<f64> {
    const BLOCK: usize = 64;
    let Some(walks) = trees.iter().map(Walk::new).collect::<Option<Vec<_>>>() else {
        // Not in pre-order (not a tree this crate wrote): row by row, as `Tree::value` goes.
        return data.par_map_rows(|row| sum_row(trees, row, start));
    };
    let x = data.x.as_standard_layout();
    let (k, x) = (data.x.ncols(), x.as_slice().expect("standard layout"));
    let mut sums = vec![start; data.rows()];
    sums.par_chunks_mut(BLOCK)
        .enumerate()
        .with_min_len(16)
        .for_each(|(b, sums)| {
            let rows = &x[b * BLOCK * k..][..sums.len() * k];
            for walk in &walks {
                let mut at = [0u32; BLOCK];
                let at = &mut at[..sums.len()];
                for _ in 0..walk.depth {
                    for (i, at) in at.iter_mut().enumerate() {
                        let step = walk.steps[*at as usize];
                        *at = if rows[i * k + step.feature as usize] <= step.threshold {
                            step.left
                        } else {
                            step.right
                        };
                    }
                }
                for (sum, at) in sums.iter_mut().zip(at.iter()) {
                    *sum += walk.values[*at as usize];
                }
            }
        });
    sums
}

/// A tree as [`sum_values`] walks it: its nodes' splits (a leaf's children are itself), their
/// values and the depth of its deepest leaf.
struct Walk {
    steps: Vec<Step>,
    values: Vec<f64>,
    depth: usize,
}

#[derive(Clone, Copy)]
struct Step {
    threshold: f64,
    feature: u32,
    left: u32,
    right: u32,
}

impl Walk {
    /// None unless every node's children come after it (pre-order), so that depths are known
    /// in one pass and every walk ends.
    fn new(tree: &Tree) -> Option<Walk> {
        let n = tree.nodes.len();
        u32::try_from(n).ok()?;
        let mut depths = vec![0usize; n];
        let mut steps = Vec::with_capacity(n);
        for (i, node) in tree.nodes.iter().enumerate() {
            let step = match node.feature {
                None => Step {
                    threshold: 0.0,
                    feature: 0,
                    left: i as u32,
                    right: i as u32,
                },
                Some(f) => {
                    for child in [node.left, node.right] {
                        if child <= i || child >= n {
                            return None;
                        }
                        depths[child] = depths[i] + 1;
                    }
                    Step {
                        threshold: node.threshold,
                        feature: u32::try_from(f).ok()?,
                        left: node.left as u32,
                        right: node.right as u32,
                    }
                }
            };
            steps.push(step);
        }
        Some(Walk {
            steps,
            values: tree.nodes.iter().map(|n| n.value).collect(),
            depth: depths.into_iter().max()?,
        })
    }
}

/// `CASE <column> WHEN <key> THEN <value> … END`: with literal keys and values DataFusion
/// evaluates it as a lookup table.
fn lookup(column: &str, pairs: impl Iterator<Item = (usize, f64)>) -> String {
    format!("{} END", arms(column, pairs))
}

/// `CASE <column> WHEN <key> THEN <value> …`, to be ended with or without an `ELSE`.
fn arms(column: &str, pairs: impl Iterator<Item = (usize, f64)>) -> String {
    let arms: String = pairs
        .map(|(k, v)| format!(" WHEN {k} THEN {}", lit(v)))
        .collect();
    format!("CASE {column}{arms}")
}

/// The column of tree `t`'s leaves in the scoring SQL.
pub fn leaf_column(t: usize) -> String {
    format!("leaf_{t}")
}

/// Each tree's leaf expression as `<expr> AS leaf_<t>` (see [`Tree::sql_leaf`]).
pub fn sql_leaves(trees: &[Tree], features: &[String]) -> Vec<String> {
    trees
        .iter()
        .enumerate()
        .map(|(t, tree)| format!("{} AS {}", tree.sql_leaf(features), leaf_column(t)))
        .collect()
}

/// `(feature, SQL)` of each feature's contribution summed over `trees` (over their leaf
/// columns, [`sql_leaves`]), divided by `divide_by` when given (the forest's mean); `0.0` for a
/// feature no tree splits on.
pub fn sql_contributions(
    trees: &[Tree],
    features: &[String],
    divide_by: Option<f64>,
) -> Vec<(String, String)> {
    features
        .iter()
        .enumerate()
        .map(|(f, name)| {
            let terms: Vec<String> = trees
                .iter()
                .enumerate()
                .filter_map(|(t, tree)| tree.sql_contribution(f, &leaf_column(t)))
                .collect();
            let sql = match (terms.is_empty(), divide_by) {
                (true, _) => "0.0".to_string(),
                (false, Some(n)) => format!("(({}) / {})", terms.join(" + "), lit(n)),
                (false, None) => format!("({})", terms.join(" + ")),
            };
            (name.clone(), sql)
        })
        .collect()
}

/// Each feature's contribution to one row summed over `trees` (the Rust side of
/// [`sql_contributions`], before any division).
pub fn contributions(trees: &[Tree], features: usize, row: &[f64]) -> Vec<f64> {
    let mut c = vec![0.0; features];
    for t in trees {
        t.add_contributions(row, &mut c);
    }
    c
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;
    use crate::split_mix::SplitMix;

    fn split(feature: usize, threshold: f64, left: usize, right: usize, value: f64) -> Node {
        Node {
            feature: Some(feature),
            threshold,
            left,
            right,
            value,
        }
    }

    /// Leaves at depths 1 to 3, and a stump.
    fn trees() -> Vec<Tree> {
        vec![
            Tree {
                nodes: vec![
                    split(0, 0.5, 1, 2, 0.1),
                    Node::leaf(-0.25),
                    split(1, 0.3, 3, 4, 0.2),
                    Node::leaf(0.7),
                    split(2, 0.9, 5, 6, 0.3),
                    Node::leaf(1e-3),
                    Node::leaf(-3.5),
                ],
            },
            Tree {
                nodes: vec![Node::leaf(0.125)],
            },
            Tree {
                nodes: vec![
                    split(2, 0.25, 1, 4, 0.0),
                    split(0, 0.75, 2, 3, 0.0),
                    Node::leaf(1.0 / 3.0),
                    Node::leaf(-1.0 / 7.0),
                    Node::leaf(0.0625),
                ],
            },
        ]
    }

    fn data(rows: usize) -> Dataset {
        let mut rng = SplitMix(9);
        let x = Array2::from_shape_fn((rows, 3), |(r, c)| {
            if (r + c) % 17 == 0 {
                f64::NAN
            } else {
                rng.unit()
            }
        });
        Dataset {
            names: vec!["a".into(), "b".into(), "c".into()],
            x,
            y: None,
        }
    }

    fn row_by_row(trees: &[Tree], data: &Dataset, start: f64) -> Vec<u64> {
        data.x
            .rows()
            .into_iter()
            .map(|r| {
                let row = r.as_slice().unwrap();
                sum_row(trees, row, start).to_bits()
            })
            .collect()
    }

    #[test]
    fn sums_by_blocks_are_the_sums_row_by_row_to_the_bit() {
        let trees = trees();
        for rows in [0, 1, 63, 64, 65, 1000] {
            let data = data(rows);
            let sums: Vec<u64> = sum_values(&trees, &data, -2.75)
                .iter()
                .map(|v| v.to_bits())
                .collect();
            assert_eq!(sums, row_by_row(&trees, &data, -2.75), "{rows} rows");
        }
        // A row of NaNs goes right at every split, as `Tree::value` sends it.
        let nan = Dataset {
            x: Array2::from_elem((1, 3), f64::NAN),
            ..data(0)
        };
        assert_eq!(sum_values(&trees, &nan, 0.0), [-3.5 + 0.125 + 0.0625]);
    }

    #[test]
    fn a_tree_not_in_pre_order_is_summed_row_by_row() {
        let mut trees = trees();
        // A split whose children come before it: a tree, but not in pre-order.
        trees[0].nodes = vec![
            split(0, 0.5, 3, 4, 0.1),
            Node::leaf(0.7),
            Node::leaf(-3.5),
            split(1, 0.3, 1, 2, 0.2),
            Node::leaf(-0.25),
        ];
        assert!(Walk::new(&trees[0]).is_none());
        let data = data(100);
        let sums: Vec<u64> = sum_values(&trees, &data, 0.5)
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(sums, row_by_row(&trees, &data, 0.5));
    }
}
