//! Area stage (scoring.md §4): high fire-risk areas (火灾高风险区域). Every grid with an open
//! unit gets five percentile-ranked sub-scores, the weighted `area_index`, a level I–IV and its
//! two main drivers; levels I and II are the high-risk list. All SQL, in `sql/area/`, read
//! after `unit_scores`.

use crate::engine::{SqlStage, Step};

pub const HIGH_RISK_AREAS_SQL: &str = include_str!("../../../../sql/area/high_risk_areas.sql");

pub const STEPS: [Step; 1] = [Step::publish("high_risk_areas", HIGH_RISK_AREAS_SQL, true)];

pub const AREA: SqlStage = SqlStage {
    name: "area",
    steps: &STEPS,
};
