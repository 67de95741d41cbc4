//! Feed stage: what credit platforms consume (docs/feed.md). `scores` (Parquet, CSV, NDJSON,
//! versioned schema) and `changes` against the previous published run. SQL in `sql/feed/`.

use std::sync::Arc;

use datafusion::arrow::array::Date32Array;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use futures::future::BoxFuture;

use crate::contract::values::parse_date;
use crate::engine::catalog::register_batch;
use crate::engine::{Stage, StageContext, Step};
use crate::error::Result;

pub const SCORES_SQL: &str = include_str!("../../../../sql/feed/scores.sql");
pub const CHANGES_SQL: &str = include_str!("../../../../sql/feed/changes.sql");

pub const STEPS: [Step; 2] = [
    Step::feed("scores", SCORES_SQL),
    Step::feed("changes", CHANGES_SQL),
];

pub struct Feed;

impl Stage for Feed {
    fn name(&self) -> &'static str {
        "feed"
    }

    fn run<'a>(&'a self, cx: &'a mut StageContext) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            register_previous(cx).await?;
            cx.run_steps(&STEPS).await
        })
    }
}

/// `previous_run` (its `as_of`: one row, or none) and `previous_unit_scores`, which `changes`
/// compares with.
async fn register_previous(cx: &StageContext) -> Result<()> {
    let day = cx.previous.as_ref().and_then(|m| parse_date(&m.as_of));
    let previous_run = RecordBatch::try_from_iter(vec![(
        "as_of",
        Arc::new(Date32Array::from(day.into_iter().collect::<Vec<i32>>())) as _,
    )])?;
    register_batch(&cx.ctx, "previous_run", previous_run).await?;
    let empty = Arc::new(Schema::new(vec![
        Field::new("unit_id", DataType::Utf8, false),
        Field::new("as_of", DataType::Date32, true),
        Field::new("credit_grade", DataType::Utf8, true),
        Field::new("risk_level", DataType::Int32, true),
    ]));
    cx.register_previous("unit_scores", "previous_unit_scores", empty)
        .await
}
