//! Hazard stage (scoring.md §2, after GB 35181): connected-device intervals and downtime, hazard elements and
//! major fire hazard units. All SQL in `sql/hazard/`; published tables are read back by the
//! steps after them (and by the credit stage: `unit_scores.major_hazard`).

use crate::run::Step;

pub const IOT_INTERVALS_SQL: &str = include_str!("../../../sql/hazard/iot_intervals.sql");
pub const DEVICE_DOWNTIME_SQL: &str = include_str!("../../../sql/hazard/device_downtime.sql");
pub const HAZARD_ELEMENTS_SQL: &str = include_str!("../../../sql/hazard/hazard_elements.sql");
pub const MAJOR_HAZARD_UNITS_SQL: &str = include_str!("../../../sql/hazard/major_hazard_units.sql");

/// The table of the previous published run that `major_hazard_units` compares with.
pub const PREVIOUS_MAJOR_HAZARD_UNITS: &str = "previous_major_hazard_units";

pub const STEPS: [Step; 4] = [
    Step::publish("iot_intervals", IOT_INTERVALS_SQL, false),
    Step::publish("device_downtime", DEVICE_DOWNTIME_SQL, false),
    Step::publish("hazard_elements", HAZARD_ELEMENTS_SQL, true),
    Step::publish("major_hazard_units", MAJOR_HAZARD_UNITS_SQL, true),
];
