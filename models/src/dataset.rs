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
}
