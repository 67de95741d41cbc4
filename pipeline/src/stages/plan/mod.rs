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
use std::time::Instant;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray, UInt64Array};
use datafusion::common::ScalarValue;
use futures::future::BoxFuture;

use crate::contract::values::format_date;
use crate::engine::catalog::register_batch;
use crate::engine::{Stage, StageContext, Step};
use crate::error::Result;
use crate::lake::columns::Columns;
pub use draw::{Campaign, PlanRules};

pub const POPULATION_SQL: &str = include_str!("../../../../sql/plan/plan_population.sql");
pub const STRATA_SQL: &str = include_str!("../../../../sql/plan/plan_strata.sql");
pub const CANDIDATES_SQL: &str = include_str!("../../../../sql/plan/plan_candidates.sql");
pub const DISTRICTS_SQL: &str = include_str!("../../../../sql/plan/plan_districts.sql");
pub const PLAN_SQL: &str = include_str!("../../../../sql/plan/inspection_plan.sql");

const POPULATION: Step = Step::publish("plan_population", POPULATION_SQL, false);
const CANDIDATES: [Step; 2] = [
    Step::publish("plan_candidates", CANDIDATES_SQL, false),
    Step::publish("plan_districts", DISTRICTS_SQL, true),
];
const PLAN: Step = Step::publish("inspection_plan", PLAN_SQL, true);

/// The draw's public inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Public seed string. A run always gives one (`run::default_seed` when the user gives
    /// none); without one the stage uses the `as_of` date, `YYYY-MM-DD` (tests).
    pub seed: Option<String>,
    pub campaign: Campaign,
}

pub struct Plan {
    pub options: PlanOptions,
}

impl Stage for Plan {
    fn name(&self) -> &'static str {
        "plan"
    }

    fn run<'a>(&'a self, cx: &'a mut StageContext) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.draw(cx))
    }
}

impl Plan {
    /// After `unit_scores`: publishes `plan_parameters`, `plan_population`, `plan_strata`,
    /// `plan_candidates`, `plan_districts` and `inspection_plan`.
    async fn draw(&self, cx: &mut StageContext) -> Result<()> {
        let seed = self
            .options
            .seed
            .clone()
            .unwrap_or_else(|| format_date(cx.params.as_of()));
        cx.params.set("plan_seed", ScalarValue::Utf8(Some(seed)));
        let rules = PlanRules::from_parameters(&cx.rules.parameters)?;
        register_batch(&cx.ctx, "campaign", self.options.campaign.table()).await?;
        register_batch(&cx.ctx, "plan_rates", rules.rates_table()?).await?;
        let parameters = rules.parameters_table()?;
        cx.publish_batches(
            "plan_parameters",
            parameters.schema(),
            vec![parameters],
            true,
        )
        .await?;
        cx.run_step(&POPULATION).await?;

        let started = Instant::now();
        let strata = strata_with_counts(cx, &rules).await?;
        cx.publish_batches("plan_strata", strata.schema(), vec![strata], true)
            .await?;
        cx.record("plan_strata", started);

        cx.run_steps(&CANDIDATES).await?;

        let started = Instant::now();
        let cands = read_candidates(&cx.ctx.table("plan_candidates").await?.collect().await?)?;
        let districts = cx.ctx.table("plan_districts").await?.collect().await?;
        let caps = read_caps(&districts, rules.per_unit)?;
        let per_unit = usize::try_from(rules.per_unit).unwrap_or(usize::MAX);
        let assignments = assign::assign(&cands, &|d| caps.get(d).copied().unwrap_or(0), per_unit);
        register_batch(
            &cx.ctx,
            "plan_assignments",
            assignments_table(&assignments, per_unit)?,
        )
        .await?;
        cx.record("assign", started);
        cx.run_step(&PLAN).await
    }
}

/// `plan_strata.sql` plus each stratum's draw count.
async fn strata_with_counts(cx: &StageContext, rules: &PlanRules) -> Result<RecordBatch> {
    let df = cx.frame(STRATA_SQL).await?;
    let schema = df.schema().inner().clone();
    let batches = df.collect().await?;
    let b = datafusion::arrow::compute::concat_batches(&schema, &batches)?;
    let table = Columns::new("plan_strata", &b);
    let count = |name: &str| -> Result<Vec<u64>> {
        Ok(table
            .i64s(name)?
            .into_iter()
            .map(|v| v.unwrap_or(0).max(0) as u64)
            .collect())
    };
    let (eligible, num, den) = (count("eligible")?, count("m_num")?, count("m_den")?);
    let bases = table.strings("base_stratum")?;
    let n: Vec<u64> = (0..b.num_rows())
        .map(|i| {
            let rate = rules.rate(bases.value(i)).map_or((0, 1), |r| r.0);
            draw::draw_count(eligible[i], rate, (num[i], den[i]), rules.months)
        })
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
        // Text read in place and copied once into each candidate: millions of rows at GD-1M.
        let table = Columns::new("plan_candidates", b);
        let (units, districts) = (table.strings("unit_id")?, table.strings("district_code")?);
        let (inspectors, keys, us) = (
            table.strings("inspector_id")?,
            table.f64s("draw_key")?,
            table.f64s("u")?,
        );
        let owned = |a: &StringArray, r: usize| a.is_valid(r).then(|| a.value(r).to_string());
        out.reserve(b.num_rows());
        for r in 0..b.num_rows() {
            out.push(assign::Candidate {
                unit_id: owned(&units, r).unwrap_or_default(),
                district_code: owned(&districts, r).unwrap_or_default(),
                draw_key: keys[r].unwrap_or(f64::NAN),
                inspector: owned(&inspectors, r).map(|id| (id, us[r].unwrap_or(f64::NAN))),
            });
        }
    }
    Ok(out)
}

/// Cap per district from `plan_districts` (drawn, active_inspectors).
fn read_caps(batches: &[RecordBatch], per_unit: u64) -> Result<HashMap<String, u64>> {
    let mut caps = HashMap::new();
    for b in batches {
        let table = Columns::new("plan_districts", b);
        let districts = table.text("district_code")?;
        let (drawn, active) = (table.i64s("drawn")?, table.i64s("active_inspectors")?);
        for r in 0..b.num_rows() {
            let count = |v: Option<i64>| v.unwrap_or(0).max(0) as u64;
            caps.insert(
                districts[r].clone().unwrap_or_default(),
                draw::capacity(count(drawn[r]), count(active[r]), per_unit),
            );
        }
    }
    Ok(caps)
}

/// `plan_assignments (unit_id, status, reason, inspector_1 … inspector_<per_unit>)`.
fn assignments_table(a: &[assign::Assignment], per_unit: usize) -> Result<RecordBatch> {
    let mut columns: Vec<(String, ArrayRef)> = vec![
        (
            "unit_id".into(),
            Arc::new(StringArray::from_iter_values(
                a.iter().map(|x| x.unit_id.as_str()),
            )) as ArrayRef,
        ),
        (
            "status".into(),
            Arc::new(StringArray::from_iter_values(a.iter().map(|x| x.status))) as _,
        ),
        (
            "reason".into(),
            Arc::new(a.iter().map(|x| x.reason).collect::<StringArray>()) as _,
        ),
    ];
    for i in 0..per_unit {
        let column: StringArray = a.iter().map(|x| x.inspectors.get(i)).collect();
        columns.push((format!("inspector_{}", i + 1), Arc::new(column) as _));
    }
    Ok(RecordBatch::try_from_iter(columns)?)
}

#[cfg(test)]
mod properties;
