use thiserror::Error;

#[derive(Debug, Error)]
pub enum BoostingError {
    #[error("invalid hyper-parameter {name}: {message}")]
    InvalidParam { name: &'static str, message: String },
    #[error("the training set needs both classes (positives {positives}, rows {rows})")]
    OneClass { positives: usize, rows: usize },
    #[error("feature {feature}, row {row}: {value} is not a finite number")]
    NotFinite {
        feature: String,
        row: usize,
        value: f64,
    },
}
