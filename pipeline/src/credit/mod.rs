//! Credit stage (scoring.md §1): ledger, unit scores, reward and discipline lists. All SQL,
//! in `sql/credit/`; this module only runs the files in order and publishes each table, which
//! the next file then reads back from the run folder.

pub mod explain;

use datafusion::prelude::SessionContext;

use crate::error::Result;
use crate::lake::catalog::register_files;
use crate::lake::Lake;
use crate::publish::{Publisher, StageTiming};

pub const LEDGER_SQL: &str = include_str!("../../../sql/credit/credit_ledger.sql");
pub const UNIT_SCORES_SQL: &str = include_str!("../../../sql/credit/unit_scores.sql");
pub const REWARD_LIST_SQL: &str = include_str!("../../../sql/credit/reward_list.sql");
pub const DISCIPLINE_LIST_SQL: &str = include_str!("../../../sql/credit/discipline_list.sql");

/// `(table, SQL, also as CSV)` in dependency order.
const STEPS: [(&str, &str, bool); 4] = [
    ("credit_ledger", LEDGER_SQL, true),
    ("unit_scores", UNIT_SCORES_SQL, true),
    ("reward_list", REWARD_LIST_SQL, true),
    ("discipline_list", DISCIPLINE_LIST_SQL, true),
];

/// Runs the credit SQL over the registered lake, rule and parameter tables; returns each
/// step's time (execution and publication together: they stream).
pub async fn run(
    ctx: &SessionContext,
    lake: &Lake,
    publisher: &mut Publisher,
) -> Result<Vec<StageTiming>> {
    let mut timings = Vec::new();
    for (name, sql, csv) in STEPS {
        let started = std::time::Instant::now();
        let df = ctx.sql(sql).await?;
        let (path, schema) = publisher.write(name, df, csv).await?;
        // Later steps read the published table, not a re-execution of its query.
        ctx.deregister_table(name)?;
        register_files(ctx, lake, name, schema, &[path.as_str()])?;
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            step = name,
            seconds = format!("{seconds:.2}"),
            "credit step"
        );
        timings.push(StageTiming {
            stage: format!("credit.{name}"),
            seconds,
        });
    }
    Ok(timings)
}
