//! Typed errors of the library. The binary adds context and maps them to exit codes
//! ([`Error::exit_code`]).

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("lake {location}: {source}")]
    ObjectStore {
        location: String,
        #[source]
        source: object_store::Error,
    },

    #[error("invalid lake location `{url}`: {message}")]
    LakeUrl { url: String, message: String },

    #[error("lake snapshot {path} is corrupt: {message}")]
    Snapshot { path: String, message: String },

    #[error("another ingest committed lake version {version} first; rerun the ingest")]
    Conflict { version: u64 },

    #[error("rule table {table}: {message}")]
    Rules { table: String, message: String },

    #[error("Parquet {path}: {source}")]
    Parquet {
        path: String,
        #[source]
        source: datafusion::parquet::errors::ParquetError,
    },

    #[error("Arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),

    #[error("DataFusion: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),

    #[error("{count} inbox file(s) could not be read: {files}")]
    FilesFailed { count: usize, files: String },

    #[error("invalid argument: {0}")]
    Invalid(String),

    #[error("report: {0}")]
    Report(String),

    #[error("the plan does not match its recomputation: {mismatches} mismatch(es)")]
    PlanMismatch { mismatches: usize },

    #[error("engine {engine}: {message}")]
    Engine { engine: String, message: String },
}

impl Error {
    /// Exit codes, as documented in `firecredit --help`: 2 bad arguments or rules, 3 some input
    /// files failed (the others went in), 4 lake or I/O failure, 5 `verify-plan` found a
    /// mismatch, 1 anything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) | Error::Rules { .. } | Error::LakeUrl { .. } => 2,
            Error::FilesFailed { .. } => 3,
            Error::Io { .. }
            | Error::ObjectStore { .. }
            | Error::Snapshot { .. }
            | Error::Conflict { .. }
            | Error::Parquet { .. } => 4,
            Error::PlanMismatch { .. } => 5,
            // The cluster is unreachable or refused the job: like a lake failure, nothing was
            // published.
            Error::Engine { .. } => 6,
            Error::Arrow(_) | Error::DataFusion(_) | Error::Report(_) => 1,
        }
    }
}
