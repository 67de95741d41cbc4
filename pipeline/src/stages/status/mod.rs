//! Status stage: each unit's credit points, grade and major-hazard flag at the model's cutoffs
//! (`unit_status`, published), which the risk stage reads as a table: for its features at every
//! cutoff and for the risk levels of the scored day and the backtest's.
//!
//! The run's own day reads what the hazard and credit stages computed. A past cutoff runs those
//! stages' own steps again as unpublished views bound to that day, in a second session of the
//! run (same engine, memory pool, lake tables and rules), so the features see what a run on that
//! day would have published, computed by the one SQL that defines it.

use std::time::Instant;

use datafusion::prelude::SessionContext;
use futures::future::BoxFuture;

use super::{credit, hazard};
use crate::engine::catalog::register_batches;
use crate::engine::context::register_view;
use crate::engine::{day_session, Params, Stage, StageContext};
use crate::error::{Error, Result};

pub const UNIT_STATUS_SQL: &str = include_str!("../../../../sql/status/unit_status.sql");

/// The model's cutoffs (scoring.md §3): the backtest trains at `as_of − 730` and is judged at
/// `as_of − 365`, where the published model trains; `as_of` is scored.
pub fn cutoffs(as_of: i32) -> [i32; 3] {
    [as_of - 730, as_of - 365, as_of]
}

pub struct Status;

impl Stage for Status {
    fn name(&self) -> &'static str {
        "status"
    }

    fn run<'a>(&'a self, cx: &'a mut StageContext) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let started = Instant::now();
            let as_of = cx.params.as_of();
            let mut batches = Vec::new();
            let mut schema = None;
            for day in cutoffs(as_of) {
                let frame = if day == as_of {
                    cx.frame(UNIT_STATUS_SQL).await?
                } else {
                    let params = Params::new(day, &cx.rules);
                    past_day(cx, &params)
                        .await?
                        .sql(UNIT_STATUS_SQL)
                        .await?
                        .with_param_values(params.values())?
                };
                schema.get_or_insert_with(|| frame.schema().inner().clone());
                batches.extend(frame.collect().await?);
            }
            let schema = schema.ok_or_else(|| Error::Internal("no cutoff".into()))?;
            cx.publish_batches("unit_status", schema, batches, false)
                .await?;
            cx.record("unit_status", started);
            Ok(())
        })
    }
}

/// A session where `credit_points` and `major_hazard_units` are those of `params`' day.
/// Intervals are causal (each opened and closed by events in order), so the run's own, clipped
/// to the day's window, are the day's: no second pass over the IoT events.
async fn past_day(cx: &StageContext, params: &Params) -> Result<SessionContext> {
    let day = day_session(&cx.ctx, params, &["iot_intervals"]).await?;
    register_batches(
        &day,
        hazard::PREVIOUS_MAJOR_HAZARD_UNITS,
        hazard::previous_schema(),
        Vec::new(),
    )
    .await?;
    for step in hazard::day_steps().iter().chain(&credit::LEDGER_AND_POINTS) {
        register_view(&day, &step.as_view(), params).await?;
    }
    Ok(day)
}
