//! Plan stage (scoring.md §5): the risk-weighted double-random inspection plan (双随机、一公开)
//! for the month after `as_of`. Eligibility, strata, weights, the SHA-256 draw keys and the
//! inspector candidates are SQL (`sql/plan/`); the two exact integer formulas and the
//! sequential inspector assignment are Rust ([`draw`], [`assign`]). Everything the draw used is
//! published, so that `firecredit verify-plan` ([`verify`]) can recompute it from the run alone.

pub mod assign;
pub mod draw;
pub mod verify;

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::prelude::SessionContext;

use crate::error::Result;
use crate::lake::catalog::{batch_frame, register_batch, register_files};
use crate::lake::columns;
use crate::lake::Lake;
use crate::publish::{Publisher, StageTiming};
use crate::run::{run_steps, Step};
pub use draw::Campaign;

pub const POPULATION_SQL: &str = include_str!("../../../sql/plan/plan_population.sql");
pub const STRATA_SQL: &str = include_str!("../../../sql/plan/plan_strata.sql");
pub const CANDIDATES_SQL: &str = include_str!("../../../sql/plan/plan_candidates.sql");
pub const DISTRICTS_SQL: &str = include_str!("../../../sql/plan/plan_districts.sql");
pub const PLAN_SQL: &str = include_str!("../../../sql/plan/inspection_plan.sql");

/// The draw's public inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Public seed string (default: the `as_of` date, `YYYY-MM-DD`).
    pub seed: Option<String>,
    pub campaign: Campaign,
}

/// `params` plus `$plan_seed`.
fn with_seed(params: &ParamValues, seed: &str) -> ParamValues {
    let ParamValues::Map(map) = params else {
        unreachable!("the run binds parameters by name")
    };
    let mut map = map.clone();
    map.insert(
        "plan_seed".into(),
        ScalarValue::Utf8(Some(seed.to_string())).into(),
    );
    ParamValues::Map(map)
}

/// Runs the plan stage after `unit_scores`; publishes `plan_population`, `plan_strata`,
/// `plan_candidates`, `plan_districts` and `inspection_plan`.
pub async fn run(
    ctx: &SessionContext,
    lake: &Lake,
    publisher: &mut Publisher,
    params: &ParamValues,
    as_of: &str,
    opts: &PlanOptions,
    timings: &mut Vec<StageTiming>,
) -> Result<()> {
    let seed = opts.seed.clone().unwrap_or_else(|| as_of.to_string());
    let p = with_seed(params, &seed);
    register_batch(ctx, "campaign", opts.campaign.table()).await?;
    register_batch(ctx, "plan_factors", draw::factors_table()).await?;
    register_batch(ctx, "plan_rates", draw::rates_table()).await?;
    let population = [Step::publish("plan_population", POPULATION_SQL, false)];
    timings.extend(run_steps(ctx, lake, publisher, &p, "plan", &population).await?);

    let started = std::time::Instant::now();
    let strata = strata_with_counts(ctx, &p).await?;
    let (path, schema) = publisher
        .write(
            "plan_strata",
            batch_frame(ctx, "plan_strata_rows", strata).await?,
            true,
        )
        .await?;
    register_files(ctx, lake, "plan_strata", schema, &[path.as_str()]).await?;
    timings.push(StageTiming {
        stage: "plan.plan_strata".into(),
        seconds: started.elapsed().as_secs_f64(),
    });

    let candidates = [
        Step::publish("plan_candidates", CANDIDATES_SQL, false),
        Step::publish("plan_districts", DISTRICTS_SQL, true),
    ];
    timings.extend(run_steps(ctx, lake, publisher, &p, "plan", &candidates).await?);

    let started = std::time::Instant::now();
    let cands = read_candidates(&ctx.table("plan_candidates").await?.collect().await?)?;
    let caps = read_caps(&ctx.table("plan_districts").await?.collect().await?)?;
    let assignments = assign::assign(&cands, &|d| caps.get(d).copied().unwrap_or(0));
    register_batch(ctx, "plan_assignments", assignments_table(&assignments)).await?;
    timings.push(StageTiming {
        stage: "plan.assign".into(),
        seconds: started.elapsed().as_secs_f64(),
    });
    let plan = [Step::publish("inspection_plan", PLAN_SQL, true)];
    timings.extend(run_steps(ctx, lake, publisher, &p, "plan", &plan).await?);
    Ok(())
}

/// `plan_strata.sql` plus each stratum's draw count.
async fn strata_with_counts(ctx: &SessionContext, p: &ParamValues) -> Result<RecordBatch> {
    let df = ctx.sql(STRATA_SQL).await?.with_param_values(p.clone())?;
    let schema = df.schema().inner().clone();
    let batches = df.collect().await?;
    let b = datafusion::arrow::compute::concat_batches(&schema, &batches)?;
    let int = |name: &str| -> Result<Vec<u64>> {
        Ok(columns::i64s(&b, name)?
            .into_iter()
            .map(|v| v.unwrap_or(0).max(0) as u64)
            .collect())
    };
    let (eligible, rate, num, den) = (
        int("eligible")?,
        int("rate_pct")?,
        int("m_num")?,
        int("m_den")?,
    );
    let n: Vec<u64> = (0..b.num_rows())
        .map(|i| draw::draw_count(eligible[i], rate[i], num[i], den[i]))
        .collect();
    let mut columns: Vec<(String, ArrayRef)> = b
        .schema()
        .fields()
        .iter()
        .zip(b.columns())
        .map(|(f, c)| (f.name().clone(), c.clone()))
        .collect();
    columns.push(("n_draw".into(), Arc::new(UInt64Array::from(n)) as ArrayRef));
    Ok(RecordBatch::try_from_iter(columns)?)
}

/// Rows of `plan_candidates`.
fn read_candidates(batches: &[RecordBatch]) -> Result<Vec<assign::Candidate>> {
    let mut out = Vec::new();
    for b in batches {
        let (units, districts) = (
            columns::text(b, "unit_id")?,
            columns::text(b, "district_code")?,
        );
        let (inspectors, keys, us) = (
            columns::text(b, "inspector_id")?,
            columns::f64s(b, "draw_key")?,
            columns::f64s(b, "u")?,
        );
        for r in 0..b.num_rows() {
            out.push(assign::Candidate {
                unit_id: units[r].clone().unwrap_or_default(),
                district_code: districts[r].clone().unwrap_or_default(),
                draw_key: keys[r].unwrap_or(f64::NAN),
                inspector: inspectors[r]
                    .clone()
                    .map(|id| (id, us[r].unwrap_or(f64::NAN))),
            });
        }
    }
    Ok(out)
}

/// Cap per district from `plan_districts` (drawn, active_inspectors).
fn read_caps(batches: &[RecordBatch]) -> Result<HashMap<String, u64>> {
    let mut caps = HashMap::new();
    for b in batches {
        let districts = columns::text(b, "district_code")?;
        let (drawn, active) = (
            columns::i64s(b, "drawn")?,
            columns::i64s(b, "active_inspectors")?,
        );
        for r in 0..b.num_rows() {
            let count = |v: Option<i64>| v.unwrap_or(0).max(0) as u64;
            caps.insert(
                districts[r].clone().unwrap_or_default(),
                draw::capacity(count(drawn[r]), count(active[r])),
            );
        }
    }
    Ok(caps)
}

fn assignments_table(a: &[assign::Assignment]) -> RecordBatch {
    let pair = |i: usize| -> StringArray {
        a.iter()
            .map(|x| {
                x.inspectors
                    .as_ref()
                    .map(|p| if i == 0 { p.0.clone() } else { p.1.clone() })
            })
            .collect()
    };
    RecordBatch::try_from_iter(vec![
        (
            "unit_id",
            Arc::new(StringArray::from_iter_values(
                a.iter().map(|x| x.unit_id.as_str()),
            )) as ArrayRef,
        ),
        (
            "status",
            Arc::new(StringArray::from_iter_values(a.iter().map(|x| x.status))) as _,
        ),
        (
            "reason",
            Arc::new(a.iter().map(|x| x.reason).collect::<StringArray>()) as _,
        ),
        ("inspector_1", Arc::new(pair(0)) as _),
        ("inspector_2", Arc::new(pair(1)) as _),
    ])
    .expect("assignments batch")
}

#[cfg(test)]
mod properties;
