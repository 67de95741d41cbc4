//! Helpers for the unit and property tests: lake tables built from typed values by the ingest's
//! own builder, and a stage context on a throw-away lake.

use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use tempfile::TempDir;

use crate::contract::rules::RuleSet;
use crate::contract::values::{format_date, Value};
use crate::contract::Source;
use crate::engine::catalog::{register_batch, register_batches};
use crate::engine::rules::{register_common_views, register_rules};
use crate::engine::{session, EngineOptions, Params, StageContext};
use crate::ingest::batch::RowBatchBuilder;
use crate::lake::publish::Publisher;
use crate::lake::{tables, Lake};

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

/// A stage context on an empty lake in a temporary folder (kept alive by the `TempDir`) for a
/// run at `as_of` with the default rules: the lake tables are `sources` (every other one
/// empty), the rule tables and the common views are registered.
pub async fn stage_context(as_of: i32, sources: &[(Source, Vec<Row>)]) -> (TempDir, StageContext) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let lake = Lake::open(dir.path().to_str().expect("utf-8 path")).expect("lake");
    let ctx = session(
        &EngineOptions {
            target_partitions: Some(2),
            ..Default::default()
        },
        &lake,
    )
    .await
    .expect("session");
    for (name, schema) in tables::all() {
        register_batches(&ctx, name, schema, Vec::new())
            .await
            .expect("register");
    }
    for (source, rows) in sources {
        register_batch(&ctx, source.name(), lake_table(*source, rows))
            .await
            .expect("register");
    }
    let rules = Arc::new(RuleSet::defaults());
    let params = Params::new(as_of, &rules);
    register_rules(&ctx, &rules).await.expect("rules");
    register_common_views(&ctx, &params).await.expect("views");
    let publisher = Publisher::new(&lake, &format_date(as_of));
    let cx = StageContext::new(
        ctx,
        lake,
        Default::default(),
        rules,
        params,
        publisher,
        None,
    );
    (dir, cx)
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
