//! Logistic regression on standardised features (linfa-logistic), linfa-style: validated
//! hyper-parameters, a fit that returns a plain model, typed errors.

mod algorithm;
mod error;
mod hyperparams;

pub use algorithm::LogisticModel;
pub use error::LogisticError;
pub use hyperparams::{LogisticParams, LogisticValidParams};
