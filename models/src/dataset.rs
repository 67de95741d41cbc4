//! A feature matrix with named columns and optional labels.

use ndarray::{Array1, Array2};

#[derive(Debug, Clone)]
pub struct Dataset {
    pub names: Vec<String>,
    /// One row per unit, one column per name.
    pub x: Array2<f64>,
    /// Fire in the following 365 days, where known.
    pub y: Option<Array1<bool>>,
}

impl Dataset {
    pub fn rows(&self) -> usize {
        self.x.nrows()
    }

    pub fn labels(&self) -> &Array1<bool> {
        self.y.as_ref().expect("a labelled dataset")
    }

    /// `f` of every row, in row order, the rows shared out over rayon's threads.
    pub fn par_map_rows(&self, f: impl Fn(&[f64]) -> f64 + Sync) -> Vec<f64> {
        use rayon::prelude::*;
        let rows: Vec<_> = self.x.rows().into_iter().collect();
        rows.par_iter()
            .map(|r| f(r.as_slice().expect("standard layout")))
            .collect()
    }
}

/// A test set with an interaction a linear model cannot draw: features `a`, `b` and `noise`,
/// uniform on [0, 1); fires with probability 0.3 where `a > 0.5` and `b > 0.5`, 0.02 elsewhere.
/// Also returns which rows are in the risky quarter.
#[cfg(test)]
pub(crate) fn interaction(n: usize, seed: u64) -> (Dataset, Vec<bool>) {
    let mut rng = crate::split_mix::SplitMix(seed);
    let mut u = || rng.unit();
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
    (data, risky)
}
