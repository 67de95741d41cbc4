//! Typed errors of the library. The binary adds context and maps them to exit codes
//! ([`Error::exit_code`]): a lake or object-store failure is exit 4 wherever it happens, even
//! inside a query; `Invalid` and `Rules` are the user's input (exit 2).

use thiserror::Error;

use crate::contract::rules::{LoadError, RuleError};

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

    #[error("{path} is corrupt: {message}")]
    Manifest { path: String, message: String },

    /// Another writer changed a table or a manifest first; nothing of this write is visible.
    #[error("{table}: {message}")]
    Conflict { table: String, message: String },

    /// A Delta table could not be read or written.
    #[error("Delta table {table}: {source}")]
    Delta {
        table: String,
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },

    #[error(transparent)]
    Rules(#[from] RuleError),

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

    /// A stage failed; `step` names the SQL step when it was one.
    #[error("stage {stage}{}: {source}", step.as_ref().map(|s| format!(", step {s}")).unwrap_or_default())]
    Step {
        stage: String,
        step: Option<String>,
        #[source]
        source: Box<Error>,
    },

    /// A table read back from the lake or the engine lacks a column or has another type.
    #[error("table {table}, column {column}: {message}")]
    Table {
        table: String,
        column: String,
        message: String,
    },

    #[error("risk model: {0}")]
    Model(String),

    #[error("{count} inbox file(s) could not be read: {files}")]
    FilesFailed { count: usize, files: String },

    /// The user's input (arguments, options, a lake without data) cannot be used.
    #[error("invalid argument: {0}")]
    Invalid(String),

    #[error("report: {0}")]
    Report(String),

    #[error("the plan does not match its recomputation: {mismatches} mismatch(es)")]
    PlanMismatch { mismatches: usize },

    #[error("engine {engine}: {message}")]
    Engine { engine: String, message: String },

    /// A broken invariant of firecredit itself.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<LoadError> for Error {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Rules(r) => Error::Rules(r),
            LoadError::Io { path, source } => Error::Io { path, source },
        }
    }
}

impl Error {
    /// This error as the failure of `step` of `stage` (kept as it is when it already names its
    /// stage).
    pub fn in_step(self, stage: &str, step: &str) -> Error {
        self.wrap(stage, Some(step))
    }

    /// This error as the failure of `stage`.
    pub fn in_stage(self, stage: &str) -> Error {
        self.wrap(stage, None)
    }

    fn wrap(self, stage: &str, step: Option<&str>) -> Error {
        match self {
            e @ Error::Step { .. } => e,
            e => Error::Step {
                stage: stage.to_string(),
                step: step.map(str::to_string),
                source: Box::new(e),
            },
        }
    }

    /// Exit codes, as documented in `firecredit --help`: 2 bad arguments or rules, 3 some input
    /// files failed (the others went in), 4 lake or I/O failure, 5 `verify-plan` found a
    /// mismatch, 6 the engine failed, 1 anything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) | Error::Rules { .. } | Error::LakeUrl { .. } => 2,
            Error::FilesFailed { .. } => 3,
            Error::Io { .. }
            | Error::ObjectStore { .. }
            | Error::Manifest { .. }
            | Error::Conflict { .. }
            | Error::Delta { .. } => 4,
            Error::Parquet { source, .. } => parquet_exit_code(source),
            Error::PlanMismatch { .. } => 5,
            // The cluster is unreachable or refused the job: like a lake failure, nothing was
            // published.
            Error::Engine { .. } => 6,
            Error::Step { source, .. } => source.exit_code(),
            Error::DataFusion(e) => datafusion_exit_code(e),
            Error::Arrow(datafusion::arrow::error::ArrowError::IoError(..)) => 4,
            Error::Arrow(_)
            | Error::Report(_)
            | Error::Table { .. }
            | Error::Model(_)
            | Error::Internal(_) => 1,
        }
    }
}

/// 4 when the query failed on storage (the lake, a spill file), else 1.
fn datafusion_exit_code(e: &datafusion::error::DataFusionError) -> i32 {
    use datafusion::error::DataFusionError as D;
    match e {
        D::ObjectStore(_) | D::IoError(_) => 4,
        D::ParquetError(p) => parquet_exit_code(p),
        D::ArrowError(a, _)
            if matches!(
                a.as_ref(),
                datafusion::arrow::error::ArrowError::IoError(..)
            ) =>
        {
            4
        }
        D::Context(_, inner) | D::Diagnostic(_, inner) => datafusion_exit_code(inner),
        D::Shared(inner) => datafusion_exit_code(inner),
        D::Collection(errors) => errors.first().map_or(1, datafusion_exit_code),
        D::External(inner) => external_exit_code(inner.as_ref()),
        _ => 1,
    }
}

fn parquet_exit_code(e: &datafusion::parquet::errors::ParquetError) -> i32 {
    match e {
        datafusion::parquet::errors::ParquetError::External(inner) => {
            external_exit_code(inner.as_ref())
        }
        _ => 1,
    }
}

/// A boxed error from inside the engine: storage when it is (or wraps) an object-store, I/O or
/// firecredit storage error.
fn external_exit_code(e: &(dyn std::error::Error + Send + Sync + 'static)) -> i32 {
    if e.is::<object_store::Error>() || e.is::<std::io::Error>() {
        return 4;
    }
    if let Some(inner) = e.downcast_ref::<datafusion::error::DataFusionError>() {
        return datafusion_exit_code(inner);
    }
    if let Some(inner) = e.downcast_ref::<Error>() {
        return inner.exit_code();
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::error::DataFusionError;

    #[test]
    fn storage_failures_exit_4_wherever_they_happen() {
        let store = || object_store::Error::NotFound {
            path: "x".into(),
            source: "gone".into(),
        };
        let in_query = Error::DataFusion(DataFusionError::Context(
            "reading".into(),
            Box::new(DataFusionError::ObjectStore(Box::new(store()))),
        ));
        assert_eq!(in_query.exit_code(), 4);
        let in_step = in_query.in_step("credit", "credit_ledger");
        assert_eq!(in_step.exit_code(), 4);
        assert_eq!(
            in_step.to_string().split(':').next(),
            Some("stage credit, step credit_ledger")
        );
        let external = Error::DataFusion(DataFusionError::External(Box::new(store())));
        assert_eq!(external.exit_code(), 4);
        let plan = Error::DataFusion(DataFusionError::Plan("no such column".into()));
        assert_eq!(plan.in_stage("area").exit_code(), 1);
    }
}
