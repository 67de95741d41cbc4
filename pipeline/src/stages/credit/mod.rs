//! Credit stage (scoring.md §1): the ledger, each unit's points and grade, and after the risk
//! stage the objection and repair cases (supervision.md §8), the unit scores and the reward and
//! discipline lists. All SQL, in `sql/credit/`; each
//! published table is read back by the steps after it. [`explain`] answers for one unit.

pub mod explain;

use crate::engine::{SqlStage, Step};

pub const LEDGER_SQL: &str = include_str!("../../../../sql/credit/credit_ledger.sql");
pub const CREDIT_POINTS_SQL: &str = include_str!("../../../../sql/credit/credit_points.sql");
pub const CREDIT_CASES_SQL: &str = include_str!("../../../../sql/credit/credit_cases.sql");
pub const UNIT_SCORES_SQL: &str = include_str!("../../../../sql/credit/unit_scores.sql");
pub const REWARD_LIST_SQL: &str = include_str!("../../../../sql/credit/reward_list.sql");
pub const DISCIPLINE_LIST_SQL: &str = include_str!("../../../../sql/credit/discipline_list.sql");

/// The ledger and each unit's points and grade: need only the lake and the rules, so the
/// status at a past cutoff runs them again.
pub const LEDGER_AND_POINTS: [Step; 2] = [
    Step::publish("credit_ledger", LEDGER_SQL, true),
    Step::view("credit_points", CREDIT_POINTS_SQL),
];

/// After the hazard and risk stages: `unit_scores` reads `credit_cases` (a pending objection),
/// `major_hazard_units`, `risk_scores` and `risk_levels`.
pub const SCORES: [Step; 4] = [
    Step::publish("credit_cases", CREDIT_CASES_SQL, false),
    Step::publish("unit_scores", UNIT_SCORES_SQL, true),
    Step::publish("reward_list", REWARD_LIST_SQL, true),
    Step::publish("discipline_list", DISCIPLINE_LIST_SQL, true),
];

/// The ledger and points of the day.
pub const LEDGER: SqlStage = SqlStage {
    name: "credit",
    steps: &LEDGER_AND_POINTS,
};

/// Unit scores and the lists, once the risk stage has scored.
pub const UNIT_SCORES: SqlStage = SqlStage {
    name: "credit",
    steps: &SCORES,
};

#[cfg(test)]
mod properties;
