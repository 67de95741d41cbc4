//! Credit stage (scoring.md §1): ledger, unit scores, reward and discipline lists. All SQL, in
//! `sql/credit/`; each published table is read back by the steps after it.

pub mod explain;

use crate::run::Step;

pub const LEDGER_SQL: &str = include_str!("../../../sql/credit/credit_ledger.sql");
pub const CREDIT_POINTS_SQL: &str = include_str!("../../../sql/credit/credit_points.sql");
pub const UNIT_SCORES_SQL: &str = include_str!("../../../sql/credit/unit_scores.sql");
pub const REWARD_LIST_SQL: &str = include_str!("../../../sql/credit/reward_list.sql");
pub const DISCIPLINE_LIST_SQL: &str = include_str!("../../../sql/credit/discipline_list.sql");

/// The ledger and each unit's points and grade: need only the lake and the rules.
pub const LEDGER_AND_POINTS: [Step; 2] = [
    Step::publish("credit_ledger", LEDGER_SQL, true),
    Step::view("credit_points", CREDIT_POINTS_SQL),
];

/// After the hazard and risk stages: `unit_scores` reads `major_hazard_units`, `risk_scores`
/// and `risk_levels`.
pub const SCORES: [Step; 3] = [
    Step::publish("unit_scores", UNIT_SCORES_SQL, true),
    Step::publish("reward_list", REWARD_LIST_SQL, true),
    Step::publish("discipline_list", DISCIPLINE_LIST_SQL, true),
];

#[cfg(test)]
mod properties;
