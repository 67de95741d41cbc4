//! Each unit's credit points, grade and major-hazard flag at the model's cutoffs. A past day
//! runs the credit and hazard stages' own SQL again, as unpublished views bound to that day,
//! so the features and the backtest's risk levels see what a run on that day would have
//! published, computed in one place.

use datafusion::prelude::SessionContext;

use super::RiskContext;
use crate::error::Result;
use crate::lake::catalog::register_batches;
use crate::run::{params, prepare, register_previous, register_view, Step};

pub const UNIT_STATUS_SQL: &str = include_str!("../../../sql/risk/unit_status.sql");

/// Registers `unit_status` (cutoff, unit_id, credit_points, credit_grade, major_hazard) for
/// `days` in `rc.ctx`, which must hold `iot_intervals`. The run's own day reads what its
/// stages already computed, where they did.
pub async fn register_unit_status(rc: &RiskContext<'_>, days: &[i32]) -> Result<()> {
    let computed =
        rc.ctx.table_exist("credit_points")? && rc.ctx.table_exist("major_hazard_units")?;
    let mut batches = Vec::new();
    for &day in days {
        let p = params(day, rc.rules, None);
        let ctx = if day == rc.as_of && computed {
            rc.ctx.clone()
        } else {
            past_day(rc, day).await?
        };
        let df = ctx.sql(UNIT_STATUS_SQL).await?.with_param_values(p)?;
        batches.extend(df.collect().await?);
    }
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => rc
            .ctx
            .sql(UNIT_STATUS_SQL)
            .await?
            .with_param_values(params(rc.as_of, rc.rules, None))?
            .schema()
            .inner()
            .clone(),
    };
    register_batches(rc.ctx, "unit_status", schema, batches).await
}

/// A session for an earlier day: same lake snapshot, rules and memory pool, the hazard and
/// credit steps after the IoT intervals as views bound to that day.
async fn past_day(rc: &RiskContext<'_>, day: i32) -> Result<SessionContext> {
    let p = params(day, rc.rules, None);
    let ctx = crate::run::sibling(rc.ctx).await?;
    prepare(&ctx, rc.lake, rc.snapshot, rc.rules, &p).await?;
    // Intervals are causal (each opened and closed by events in order), so today's, clipped
    // to the day's window, are the day's: no second pass over the IoT events.
    ctx.register_table(
        "iot_intervals",
        rc.ctx.table_provider("iot_intervals").await?,
    )?;
    register_previous(&ctx, rc.lake, None).await?;
    let (hazard, credit) = (crate::hazard::STEPS, crate::credit::LEDGER_AND_POINTS);
    for step in hazard[1..].iter().chain(&credit).map(Step::as_view) {
        register_view(&ctx, &step, &p).await?;
    }
    Ok(ctx)
}
