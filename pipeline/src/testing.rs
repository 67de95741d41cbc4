//! Helpers for the unit and property tests: lake tables built from typed values by the ingest's
//! own builder, and a local session on a throw-away lake.

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use tempfile::TempDir;

use crate::contract::values::Value;
use crate::contract::Source;
use crate::ingest::batch::RowBatchBuilder;
use crate::lake::catalog::register_batch;
use crate::lake::Lake;

/// One row as `(field, value)` pairs; a field left out is null (false for a flag).
pub type Row = Vec<(&'static str, Value)>;

/// A lake table of `source`, exactly as ingest would have written these rows.
pub fn lake_table(source: Source, rows: &[Row]) -> RecordBatch {
    let mut builder = RowBatchBuilder::new(source);
    for (line, row) in rows.iter().enumerate() {
        for (name, _) in row {
            assert!(source.field_index(name).is_some(), "{source} has no {name}");
        }
        let values: Vec<Value> = source
            .fields()
            .iter()
            .map(|f| match row.iter().find(|(n, _)| *n == f.name) {
                Some((_, v)) => v.clone(),
                None if f.null_is_false => Value::Bool(false),
                None => Value::Null,
            })
            .collect();
        builder.push(&values, 1, "test", line as u64 + 1);
    }
    builder.finish()
}

/// A local session on an empty lake in a temporary folder (kept alive by the `TempDir`).
pub async fn session() -> (TempDir, Lake, SessionContext) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let lake = Lake::open(dir.path().to_str().expect("utf-8 path")).expect("lake");
    let ctx = crate::run::session(
        &crate::run::EngineOptions {
            target_partitions: Some(2),
            ..Default::default()
        },
        &lake,
    )
    .await
    .expect("session");
    (dir, lake, ctx)
}

/// Registers each source's rows as its lake table.
pub async fn register_sources(ctx: &SessionContext, tables: &[(Source, Vec<Row>)]) {
    for (source, rows) in tables {
        register_batch(ctx, source.name(), lake_table(*source, rows))
            .await
            .expect("register");
    }
}

/// `columns` of the registered table `name`, all rows.
pub async fn collect(ctx: &SessionContext, name: &str, columns: &[&str]) -> Vec<RecordBatch> {
    ctx.table(name)
        .await
        .expect("registered table")
        .select_columns(columns)
        .expect("columns")
        .collect()
        .await
        .expect("collect")
}

/// A multi-thread-free runtime for one test case.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}
