//! Hazard stage (scoring.md §2, after GB 35181): connected-device intervals and downtime, hazard
//! elements and major fire hazard units. All SQL, in `sql/hazard/`; published tables are read
//! back by the steps after them (and by `unit_scores.major_hazard`).
//!
//! # Layout
//! - this file: the stage and its steps, in order.
//! - [`carry`]: whether the intervals are carried forward from the previous run, and the
//!   tables that SQL reads.

pub mod carry;

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use futures::future::BoxFuture;

use crate::engine::{Stage, StageContext, Step};
use crate::error::Result;

pub const IOT_INTERVALS_SQL: &str = include_str!("../../../../sql/hazard/iot_intervals.sql");
pub const DEVICE_DOWNTIME_SQL: &str = include_str!("../../../../sql/hazard/device_downtime.sql");
pub const HAZARD_ELEMENTS_SQL: &str = include_str!("../../../../sql/hazard/hazard_elements.sql");
pub const MAJOR_HAZARD_UNITS_SQL: &str =
    include_str!("../../../../sql/hazard/major_hazard_units.sql");

/// The table of the previous published run that `major_hazard_units` compares with.
pub const PREVIOUS_MAJOR_HAZARD_UNITS: &str = "previous_major_hazard_units";

/// The steps after `iot_intervals` (computed from all history or carried forward, see
/// [`carry`]). They are bound to a day, so the status at a past cutoff runs them again.
pub static DAY_STEPS: [Step; 3] = [
    Step::publish("device_downtime", DEVICE_DOWNTIME_SQL, false),
    Step::publish("hazard_elements", HAZARD_ELEMENTS_SQL, true),
    Step::publish("major_hazard_units", MAJOR_HAZARD_UNITS_SQL, true),
];

/// The steps that depend on the day, after the intervals.
pub fn day_steps() -> &'static [Step] {
    &DAY_STEPS
}

pub struct Hazard {
    /// Compute the intervals from all history even when they could be carried forward.
    pub full: bool,
}

impl Stage for Hazard {
    fn name(&self) -> &'static str {
        "hazard"
    }

    fn run<'a>(&'a self, cx: &'a mut StageContext) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            register_previous(cx).await?;
            let (intervals, reuse) = carry::intervals_step(cx, self.full).await?;
            cx.run_step(&intervals).await?;
            cx.publisher.record_reuse(intervals.name, reuse);
            cx.run_steps(&DAY_STEPS).await
        })
    }
}

/// Registers the previous run's major hazard units (empty for the first run).
async fn register_previous(cx: &StageContext) -> Result<()> {
    cx.register_previous(
        "major_hazard_units",
        PREVIOUS_MAJOR_HAZARD_UNITS,
        previous_schema(),
    )
    .await
}

/// What `major_hazard_units.sql` reads of the previous run, for an empty one.
pub fn previous_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "unit_id",
        DataType::Utf8,
        false,
    )]))
}
