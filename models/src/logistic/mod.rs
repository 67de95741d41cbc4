//! Logistic regression on standardised features, linfa-style: validated hyper-parameters, a
//! fit that returns a plain model, typed errors.
//!
//! # Layout
//! - `hyperparams.rs`: the hyper-parameters and their checks.
//! - `algorithm.rs`: the fit (standardise, solve, fold the standardisation into the weights)
//!   and the fitted model, in Rust and as SQL.
//! - `problem.rs`: linfa-logistic's loss, gradient and L-BFGS solver (argmin), its log-odds
//!   product computed without GEMM's copy of the matrix; the same parameters to the bit.
//! - `error.rs`: what a fit can fail with.

mod algorithm;
mod error;
mod hyperparams;
mod problem;

pub use algorithm::LogisticModel;
pub use error::LogisticError;
pub use hyperparams::{LogisticParams, LogisticValidParams};
