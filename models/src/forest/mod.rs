//! A random forest of linfa-trees decision trees, grown in parallel (rayon) on bootstrap
//! samples and random feature subsets, with class-balanced weights. linfa's trees only vote a
//! class, so each node also keeps the smoothed fire rate of the training rows that reach it:
//! the forest's score is the mean leaf rate, and the path through the rates explains it.

mod algorithm;
mod error;
mod hyperparams;

pub use algorithm::ForestModel;
pub use error::ForestError;
pub use hyperparams::{ForestParams, ForestValidParams};
