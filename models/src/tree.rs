//! Binary decision trees as the forest and the boosted model keep them, and their compilation
//! to SQL. Nodes are in pre-order (every parent before its children); a row with
//! `x[feature] <= threshold` goes left. Every node carries a value: for the forest the smoothed
//! fire rate of the training rows reaching it, for the boosted model its step on the log-odds.
//! A row's path from the root to its leaf explains the leaf's value (Saabas): each split's
//! change of value is put on the split's feature.

use serde::{Deserialize, Serialize};

use crate::artifact::lit;

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

/// A SQL expression, or a constant kept apart so that a contribution only branches where it
/// must.
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

    /// The leaf value as a nested SQL `CASE` over the columns `names`.
    pub fn sql_value(&self, names: &[String]) -> String {
        self.sql_value_at(0, names)
    }

    fn sql_value_at(&self, i: usize, names: &[String]) -> String {
        let n = &self.nodes[i];
        match n.feature {
            None => lit(n.value),
            Some(f) => format!(
                "CASE WHEN {} <= {} THEN {} ELSE {} END",
                names[f],
                lit(n.threshold),
                self.sql_value_at(n.left, names),
                self.sql_value_at(n.right, names)
            ),
        }
    }

    /// Feature `f`'s contribution along the row's path as SQL; `None` where it is zero for
    /// every row.
    pub fn sql_contribution(&self, f: usize, names: &[String]) -> Option<String> {
        match self.sql_contribution_at(0, f, names) {
            Part::Const(0.0) => None,
            p => Some(p.sql()),
        }
    }

    /// Feature `f`'s share of the path from node `i` down; constant where no split on `f`
    /// lies below.
    fn sql_contribution_at(&self, i: usize, f: usize, names: &[String]) -> Part {
        let n = &self.nodes[i];
        let Some(g) = n.feature else {
            return Part::Const(0.0);
        };
        let step = |child: usize| {
            let delta = if g == f {
                self.nodes[child].value - n.value
            } else {
                0.0
            };
            match self.sql_contribution_at(child, f, names) {
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

/// `(feature, SQL)` of each feature's contribution summed over `trees`, divided by `divide_by`
/// when given (the forest's mean); `0.0` for a feature no tree splits on.
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
                .filter_map(|t| t.sql_contribution(f, features))
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
