//! Enforcement stage (执法监督预警, supervision.md §7): alerts on out-of-jurisdiction and
//! unknown officers, penalties outside their band (处罚畸轻畸重), overdue follow-up checks,
//! officers who keep inspecting one unit, and complaints left unchecked; and their count per
//! district and kind. Alerts name officers, so `enforcement_alerts` is internal; only
//! `enforcement_summary` reaches the report. All SQL, in `sql/enforcement/`, reading only the
//! lake and the rules.

use crate::engine::{SqlStage, Step};

pub const ENFORCEMENT_ALERTS_SQL: &str =
    include_str!("../../../../sql/enforcement/enforcement_alerts.sql");
pub const ENFORCEMENT_SUMMARY_SQL: &str =
    include_str!("../../../../sql/enforcement/enforcement_summary.sql");

pub const STEPS: [Step; 2] = [
    Step::publish("enforcement_alerts", ENFORCEMENT_ALERTS_SQL, false),
    Step::publish("enforcement_summary", ENFORCEMENT_SUMMARY_SQL, false),
];

pub const ENFORCEMENT: SqlStage = SqlStage {
    name: "enforcement",
    steps: &STEPS,
};
