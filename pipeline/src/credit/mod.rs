//! Credit stage (scoring.md §1): ledger, unit scores, reward and discipline lists. All SQL, in
//! `sql/credit/`; each published table is read back by the steps after it.

pub mod explain;

use crate::run::Step;

pub const LEDGER_SQL: &str = include_str!("../../../sql/credit/credit_ledger.sql");
pub const UNIT_SCORES_SQL: &str = include_str!("../../../sql/credit/unit_scores.sql");
pub const REWARD_LIST_SQL: &str = include_str!("../../../sql/credit/reward_list.sql");
pub const DISCIPLINE_LIST_SQL: &str = include_str!("../../../sql/credit/discipline_list.sql");

/// Runs after the hazard stage: `unit_scores` reads `major_hazard_units`.
pub const STEPS: [Step; 4] = [
    Step::publish("credit_ledger", LEDGER_SQL, true),
    Step::publish("unit_scores", UNIT_SCORES_SQL, true),
    Step::publish("reward_list", REWARD_LIST_SQL, true),
    Step::publish("discipline_list", DISCIPLINE_LIST_SQL, true),
];
