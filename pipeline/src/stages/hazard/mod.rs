//! Hazard stage (scoring.md §2, after GB 35181): connected-device intervals and downtime, hazard
//! elements and major fire hazard units. All SQL, in `sql/hazard/`; published tables are read
//! back by the steps after them (and by `unit_scores.major_hazard`).

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

/// `iot_intervals` covers all history; the steps after it are bound to a day, so the status
/// at a past cutoff runs them again ([`day_steps`]).
pub static STEPS: [Step; 4] = [
    Step::publish("iot_intervals", IOT_INTERVALS_SQL, false),
    Step::publish("device_downtime", DEVICE_DOWNTIME_SQL, false),
    Step::publish("hazard_elements", HAZARD_ELEMENTS_SQL, true),
    Step::publish("major_hazard_units", MAJOR_HAZARD_UNITS_SQL, true),
];

/// The steps that depend on the day, after the intervals.
pub fn day_steps() -> &'static [Step] {
    &STEPS[1..]
}

pub struct Hazard;

impl Stage for Hazard {
    fn name(&self) -> &'static str {
        "hazard"
    }

    fn run<'a>(&'a self, cx: &'a mut StageContext) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            register_previous(cx).await?;
            cx.run_steps(&STEPS).await
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
