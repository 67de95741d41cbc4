//! One scoring run for an `as_of` date: open the lake snapshot, register its tables with
//! DataFusion, run the stages' SQL steps in order, publish each table, commit the manifest.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::prelude::SessionContext;

use crate::contract::rules::RuleSet;
use crate::contract::values::{format_date, LOCAL_OFFSET_SECONDS};
use crate::error::{Error, Result};
use crate::lake::catalog::{register_batch, register_files, register_snapshot};
use crate::lake::{Lake, Snapshot};
use crate::publish::{previous_manifest, InputFile, Manifest, Publisher, Rules, StageTiming};

pub mod engine;

pub use engine::{default_memory_limit, session, sibling, Engine, EngineOptions};

/// Views every stage may use, registered before the first step.
const VOIDED_EVENTS_SQL: &str = include_str!("../../../sql/common/voided_events.sql");

/// One SQL step, whose result later steps read as the table `name`.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: &'static str,
    /// A `sql/` file, or SQL generated from a fitted model.
    pub sql: Cow<'static, str>,
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Published as Parquet (and CSV, NDJSON when asked), then read back from the published
    /// file.
    Publish { csv: bool, ndjson: bool },
    /// Not published: a view that the steps reading it execute (each reads it once).
    View,
}

impl Step {
    pub const fn publish(name: &'static str, sql: &'static str, csv: bool) -> Self {
        Step {
            name,
            sql: Cow::Borrowed(sql),
            output: Output::Publish { csv, ndjson: false },
        }
    }

    /// A feed table: Parquet, CSV and NDJSON.
    pub const fn feed(name: &'static str, sql: &'static str) -> Self {
        Step {
            name,
            sql: Cow::Borrowed(sql),
            output: Output::Publish {
                csv: true,
                ndjson: true,
            },
        }
    }

    pub const fn view(name: &'static str, sql: &'static str) -> Self {
        Step {
            name,
            sql: Cow::Borrowed(sql),
            output: Output::View,
        }
    }

    /// The same SQL as an unpublished view: how a past day's tables are computed.
    pub fn as_view(&self) -> Self {
        Step {
            output: Output::View,
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Local date, days since 1970-01-01.
    pub as_of: i32,
    pub rules: Arc<RuleSet>,
    pub engine: EngineOptions,
    /// The generator's `_truth/fire_truth.csv`, for the oracle AUC in the model report.
    pub truth: Option<PathBuf>,
    /// Which model scores (default: the better one in the backtest).
    pub model: crate::risk::ModelChoice,
    /// The inspection plan's seed and campaign.
    pub plan: crate::plan::PlanOptions,
    /// The risk-zone report's language.
    pub report: crate::report::ReportOptions,
}

/// UTC microseconds of local midnight at the start of day `day`.
fn local_midnight_us(day: i32) -> i64 {
    (i64::from(day) * 86_400 - LOCAL_OFFSET_SECONDS) * 1_000_000
}

/// The values every step binds as named parameters (`$as_of`, …): substituted into the plan,
/// never pasted into SQL text.
pub fn params(as_of: i32, rules: &RuleSet, model_version: Option<&str>) -> ParamValues {
    let values: [(&str, ScalarValue); 7] = [
        (
            "model_version",
            ScalarValue::Utf8(model_version.map(str::to_string)),
        ),
        ("as_of", ScalarValue::Date32(Some(as_of))),
        ("as_of_day", ScalarValue::Int64(Some(i64::from(as_of)))),
        (
            "rules_version",
            ScalarValue::Utf8(Some(rules.version.clone())),
        ),
        (
            "rules_sha256",
            ScalarValue::Utf8(Some(rules.sha256.clone())),
        ),
        // The IoT window: the 30 local days ending at the end of as_of.
        (
            "iot_window_start_us",
            ScalarValue::Int64(Some(local_midnight_us(as_of - 29))),
        ),
        (
            "iot_window_end_us",
            ScalarValue::Int64(Some(local_midnight_us(as_of + 1))),
        ),
    ];
    ParamValues::Map(
        values
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into()))
            .collect::<HashMap<_, _>>(),
    )
}

/// Runs `steps`, publishing each; returns their timings as `<stage>.<step>`.
pub async fn run_steps(
    ctx: &SessionContext,
    lake: &Lake,
    publisher: &mut Publisher,
    params: &ParamValues,
    stage: &str,
    steps: &[Step],
) -> Result<Vec<StageTiming>> {
    let mut timings = Vec::new();
    for step in steps {
        let started = Instant::now();
        let Output::Publish { csv, ndjson } = step.output else {
            register_view(ctx, step, params).await?;
            continue;
        };
        let bar = crate::progress::spinner(format!("{stage}.{}", step.name));
        let df = ctx
            .sql(&step.sql)
            .await?
            .with_param_values(params.clone())?;
        let (path, schema) = publisher.write_formats(step.name, df, csv, ndjson).await?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        // Later steps read the published table, not a re-execution of its query.
        register_files(ctx, lake, step.name, schema, &[path.as_str()]).await?;
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            stage,
            step = step.name,
            seconds = format!("{seconds:.2}"),
            "step done"
        );
        timings.push(StageTiming {
            stage: format!("{stage}.{}", step.name),
            seconds,
        });
    }
    Ok(timings)
}

/// Registers `step`'s SQL, bound to `params`, as a view named after it.
pub async fn register_view(ctx: &SessionContext, step: &Step, params: &ParamValues) -> Result<()> {
    let df = ctx
        .sql(&step.sql)
        .await?
        .with_param_values(params.clone())?;
    ctx.register_table(step.name, df.into_view())?;
    Ok(())
}

/// Registers the previous run's `major_hazard_units`, `unit_scores` (as
/// `previous_unit_scores`) and its day (`previous_run`); empty when there is none.
pub async fn register_previous(
    ctx: &SessionContext,
    lake: &Lake,
    previous: Option<&Manifest>,
) -> Result<()> {
    let day = previous.and_then(|m| crate::contract::values::parse_date(&m.as_of));
    register_batch(
        ctx,
        "previous_run",
        RecordBatch::try_from_iter(vec![(
            "as_of",
            Arc::new(datafusion::arrow::array::Date32Array::from(
                day.into_iter().collect::<Vec<i32>>(),
            )) as _,
        )])?,
    )
    .await?;
    match previous.and_then(|m| m.output("unit_scores", "parquet")) {
        Some(out) => {
            let schema = crate::publish::parquet_schema(lake, &out.path).await?;
            register_files(
                ctx,
                lake,
                "previous_unit_scores",
                schema,
                &[out.path.as_str()],
            )
            .await?;
        }
        None => {
            let schema = Arc::new(Schema::new(vec![
                Field::new("unit_id", DataType::Utf8, false),
                Field::new("as_of", DataType::Date32, true),
                Field::new("credit_grade", DataType::Utf8, true),
                Field::new("risk_level", DataType::Int32, true),
            ]));
            register_batch(ctx, "previous_unit_scores", RecordBatch::new_empty(schema)).await?;
        }
    }
    let name = crate::hazard::PREVIOUS_MAJOR_HAZARD_UNITS;
    match previous
        .as_ref()
        .and_then(|m| m.output("major_hazard_units", "parquet"))
    {
        Some(out) => {
            let schema = crate::publish::parquet_schema(lake, &out.path).await?;
            register_files(ctx, lake, name, schema, &[out.path.as_str()]).await
        }
        None => {
            let schema = Arc::new(Schema::new(vec![Field::new(
                "unit_id",
                DataType::Utf8,
                false,
            )]));
            register_batch(ctx, name, RecordBatch::new_empty(schema)).await
        }
    }
}

/// Registers the snapshot's tables, the rule tables and the views every stage may use (bound
/// to the day of `params`).
pub async fn prepare(
    ctx: &SessionContext,
    lake: &Lake,
    snapshot: &Snapshot,
    rules: &RuleSet,
    params: &ParamValues,
) -> Result<()> {
    register_snapshot(ctx, lake, snapshot).await?;
    register_rules(ctx, rules).await?;
    register_common_views(ctx, params).await
}

/// Registers the four rule tables under the names the SQL uses (`rule_violations`, …).
pub async fn register_rules(ctx: &SessionContext, rules: &RuleSet) -> Result<()> {
    for (name, batch) in rules.record_batches() {
        register_batch(ctx, name, batch).await?;
    }
    Ok(())
}

/// Registers the views every stage may use (`voided_events`), bound to the day of `params`;
/// the source tables must be registered first.
pub async fn register_common_views(ctx: &SessionContext, params: &ParamValues) -> Result<()> {
    let voided = ctx
        .sql(VOIDED_EVENTS_SQL)
        .await?
        .with_param_values(params.clone())?;
    ctx.register_table("voided_events", voided.into_view())?;
    Ok(())
}

/// Runs every stage for `as_of` and commits the run. Returns its manifest.
pub async fn run(lake: &Lake, opts: &RunOptions) -> Result<Manifest> {
    let snapshot = lake.snapshot().await?;
    if snapshot.version == 0 {
        return Err(Error::Invalid(format!(
            "lake {} holds no ingested data; run `firecredit ingest` first",
            lake.url()
        )));
    }
    let as_of = format_date(opts.as_of);
    let ctx = session(&opts.engine, lake).await?;
    let params_before_model = params(opts.as_of, &opts.rules, None);
    prepare(&ctx, lake, &snapshot, &opts.rules, &params_before_model).await?;
    let previous = previous_manifest(lake, &as_of).await?;
    register_previous(&ctx, lake, previous.as_ref()).await?;

    let mut publisher = Publisher::new(lake, &as_of).with_engine(opts.engine.engine.to_string());
    let mut timings = Vec::new();
    // hazard → ledger and points → risk (reads points and hazards at each cutoff) → scores
    // and lists (need all three).
    let started = Instant::now();
    let p = &params_before_model;
    timings.extend(
        run_steps(
            &ctx,
            lake,
            &mut publisher,
            p,
            "hazard",
            &crate::hazard::STEPS,
        )
        .await?,
    );
    timings.extend(
        run_steps(
            &ctx,
            lake,
            &mut publisher,
            p,
            "credit",
            &crate::credit::LEDGER_AND_POINTS,
        )
        .await?,
    );
    let rc = crate::risk::RiskContext {
        ctx: &ctx,
        lake,
        snapshot: &snapshot,
        rules: &opts.rules,
        params: p,
        as_of: opts.as_of,
        model: opts.model,
        truth: opts.truth.as_deref(),
        previous_scores: previous
            .as_ref()
            .and_then(|m| m.output("unit_scores", "parquet"))
            .map(|o| o.path.clone()),
    };
    let artifact = crate::risk::run(&rc, &mut publisher, &mut timings).await?;
    let p = params(opts.as_of, &opts.rules, Some(&artifact.version));
    timings.extend(
        run_steps(
            &ctx,
            lake,
            &mut publisher,
            &p,
            "credit",
            &crate::credit::SCORES,
        )
        .await?,
    );
    timings.extend(run_steps(&ctx, lake, &mut publisher, &p, "area", &crate::area::STEPS).await?);
    timings.extend(run_steps(&ctx, lake, &mut publisher, &p, "feed", &crate::feed::STEPS).await?);
    let facts = crate::report::RunFacts {
        as_of: &as_of,
        model_version: &artifact.version,
        rules_version: &opts.rules.version,
    };
    crate::report::run(
        &ctx,
        lake,
        &mut publisher,
        &p,
        &facts,
        &opts.report,
        &mut timings,
    )
    .await?;
    crate::plan::run(
        &ctx,
        lake,
        &mut publisher,
        &p,
        &as_of,
        &opts.plan,
        &mut timings,
    )
    .await?;
    timings.push(StageTiming {
        stage: "total".into(),
        seconds: started.elapsed().as_secs_f64(),
    });

    let mut inputs: Vec<InputFile> = snapshot
        .ingested
        .iter()
        .map(|(sha256, f)| InputFile {
            source: f.source.clone(),
            file: f.file.clone(),
            sha256: sha256.clone(),
            ingest: f.ingest,
        })
        .collect();
    inputs.sort_by(|a, b| (a.ingest, &a.file).cmp(&(b.ingest, &b.file)));
    if let Some(truth) = &opts.truth {
        // The generator's truth is an input of the model report: name it like the others.
        inputs.push(InputFile {
            source: "truth".into(),
            file: truth.display().to_string(),
            sha256: crate::ingest::sha256_file(truth).map_err(|source| Error::Io {
                path: truth.display().to_string(),
                source,
            })?,
            ingest: 0,
        });
    }
    let rules = Rules {
        version: opts.rules.version.clone(),
        sha256: opts.rules.sha256.clone(),
    };
    let manifest = publisher
        .commit(
            snapshot.version,
            inputs,
            rules,
            Some(artifact.version),
            timings,
        )
        .await?;
    // The scratch tables of a distributed session are unreferenced once the run is committed.
    if let Some(scratch) = engine::origin(&ctx).and_then(|o| o.scratch.clone()) {
        if let Err(e) = lake.delete_prefix(&scratch).await {
            tracing::warn!(%scratch, error = %e, "could not remove the scratch tables");
        }
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_iot_window_is_thirty_local_days() {
        let as_of = crate::contract::values::parse_date("2026-06-30").unwrap();
        let ParamValues::Map(p) = params(as_of, &RuleSet::defaults(), None) else {
            panic!("named parameters")
        };
        let start = crate::contract::values::parse_timestamp("2026-06-01T00:00:00+08:00").unwrap();
        let end = crate::contract::values::parse_timestamp("2026-07-01T00:00:00+08:00").unwrap();
        assert_eq!(
            p["iot_window_start_us"].value,
            ScalarValue::Int64(Some(start))
        );
        assert_eq!(p["iot_window_end_us"].value, ScalarValue::Int64(Some(end)));
        assert_eq!(p["as_of"].value, ScalarValue::Date32(Some(as_of)));
    }
}
