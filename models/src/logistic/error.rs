use thiserror::Error;

#[derive(Debug, Error)]
pub enum LogisticError {
    #[error("invalid hyper-parameter {name}: {message}")]
    InvalidParam { name: &'static str, message: String },
    #[error("the training set needs both classes (positives {positives}, rows {rows})")]
    OneClass { positives: usize, rows: usize },
    #[error("the standardised features hold a value that is not finite")]
    NotFinite,
    #[error("the optimiser failed: {0}")]
    Solver(String),
}
