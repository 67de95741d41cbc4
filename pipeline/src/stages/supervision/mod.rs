//! Supervision stage (supervision.md §6): listed supervision (挂牌督办) of the major hazard units
//! and the high-risk areas, from list to lifted. Each listing carries the day it began from the
//! previous committed run's supervision tables, so it runs after the hazard and area stages.
//! All SQL, in `sql/supervision/`. (The cases of §8 are credit: `credit_cases`.)

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use futures::future::BoxFuture;

use crate::engine::{Stage, StageContext, Step};
use crate::error::Result;

pub const HAZARD_SUPERVISION_SQL: &str =
    include_str!("../../../../sql/supervision/hazard_supervision.sql");
pub const AREA_SUPERVISION_SQL: &str =
    include_str!("../../../../sql/supervision/area_supervision.sql");

pub const STEPS: [Step; 2] = [
    Step::publish("hazard_supervision", HAZARD_SUPERVISION_SQL, true),
    Step::publish("area_supervision", AREA_SUPERVISION_SQL, true),
];

pub struct Supervision;

impl Stage for Supervision {
    fn name(&self) -> &'static str {
        "supervision"
    }

    fn run<'a>(&'a self, cx: &'a mut StageContext) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            for (output, empty) in [
                ("hazard_supervision", previous_schema("unit_id")),
                ("area_supervision", previous_schema("grid_id")),
            ] {
                cx.register_previous(output, &format!("previous_{output}"), empty)
                    .await?;
            }
            cx.run_steps(&STEPS).await
        })
    }
}

/// What the supervision SQL reads of the previous run's table keyed by `key`, for a first run
/// (or one before supervision was published).
pub fn previous_schema(key: &str) -> SchemaRef {
    let mut fields = vec![
        Field::new(key, DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("listed_on", DataType::Date32, false),
    ];
    if key == "grid_id" {
        fields.push(Field::new("district_code", DataType::Utf8, true));
    }
    Arc::new(Schema::new(fields))
}
