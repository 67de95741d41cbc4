//! Feed stage: what credit platforms consume (docs/feed.md). `scores` (Parquet, CSV, NDJSON,
//! versioned schema) and `changes` against the previous published run. SQL in `sql/feed/`.

use crate::run::Step;

pub const SCORES_SQL: &str = include_str!("../../../sql/feed/scores.sql");
pub const CHANGES_SQL: &str = include_str!("../../../sql/feed/changes.sql");

pub const STEPS: [Step; 2] = [
    Step::feed("scores", SCORES_SQL),
    Step::feed("changes", CHANGES_SQL),
];
