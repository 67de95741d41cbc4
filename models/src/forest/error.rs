use thiserror::Error;

#[derive(Debug, Error)]
pub enum ForestError {
    #[error("invalid hyper-parameter {name}: {message}")]
    InvalidParam { name: &'static str, message: String },
    #[error("the training set needs both classes (positives {positives}, rows {rows})")]
    OneClass { positives: usize, rows: usize },
    #[error("linfa-trees, tree {tree}: {message}")]
    Linfa { tree: usize, message: String },
}
