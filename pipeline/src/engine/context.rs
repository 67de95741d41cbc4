//! The stage context: everything a stage of a run works with (the session, the lake, the rules,
//! the bound parameters, the run's publisher and the previous committed run), and the step
//! runner that executes, publishes and times its SQL steps. A stage is anything that implements
//! [`Stage`]; `run/` lists them in order.

use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::{DataFrame, SessionContext};
use futures::future::BoxFuture;

use super::catalog::{register_batches, register_files};
use super::params::Params;
use super::step::{Output, Scan, Step};
use crate::contract::rules::RuleSet;
use crate::error::{Error, Result};
use crate::lake::publish::{self, Manifest, Publisher, StageTiming};
use crate::lake::{Lake, Snapshot};

/// One stage of a run.
pub trait Stage: Send + Sync {
    /// Its name: the prefix of its steps' timings and of its errors.
    fn name(&self) -> &'static str;
    fn run<'a>(&'a self, cx: &'a mut StageContext) -> BoxFuture<'a, Result<()>>;
}

/// Under [`publish::PROFILE_DIR_ENV`], a published step's statement as run (`<name>.sql`, the
/// model compiled in) and its bound parameters (`<name>.params.json`: name → `[type, value]`),
/// so that a peer engine can run the very same statement (`benches/duckdb_stages.py`). Like the
/// profile itself, a diagnostic: a failure to write is logged, never fatal.
fn write_statement(step: &Step, params: &Params) {
    let Some(dir) = std::env::var_os(publish::PROFILE_DIR_ENV) else {
        return;
    };
    let dir = std::path::Path::new(&dir);
    let json = serde_json::to_string_pretty(&params.describe()).unwrap_or_default();
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(dir.join(format!("{}.sql", step.name)), &*step.sql))
        .and_then(|()| std::fs::write(dir.join(format!("{}.params.json", step.name)), json));
    if let Err(e) = written {
        tracing::warn!(dir = %dir.display(), error = %e, "statement not written");
    }
}

/// A stage that is nothing but SQL steps, run in order.
pub struct SqlStage {
    pub name: &'static str,
    pub steps: &'static [Step],
}

impl Stage for SqlStage {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run<'a>(&'a self, cx: &'a mut StageContext) -> BoxFuture<'a, Result<()>> {
        Box::pin(cx.run_steps(self.steps))
    }
}

pub struct StageContext {
    pub ctx: SessionContext,
    pub lake: Lake,
    /// The lake tables' pinned versions and files, as the session has them registered.
    pub snapshot: Arc<Snapshot>,
    pub rules: Arc<RuleSet>,
    /// Bound to every step; a stage may bind more for the stages after it (`$model_version`).
    pub params: Params,
    pub publisher: Publisher,
    /// The committed run with the latest `as_of` before this one, if any.
    pub previous: Option<Manifest>,
    /// What a run may take over outputs from: the committed run this one replaces (the same
    /// day scored again), else `previous`.
    pub last: Option<Manifest>,
    stage: &'static str,
    timings: Vec<StageTiming>,
}

impl StageContext {
    pub fn new(
        ctx: SessionContext,
        lake: Lake,
        snapshot: Arc<Snapshot>,
        rules: Arc<RuleSet>,
        params: Params,
        publisher: Publisher,
        previous: Option<Manifest>,
    ) -> Self {
        let last = publisher.replaces().cloned().or_else(|| previous.clone());
        StageContext {
            ctx,
            lake,
            snapshot,
            rules,
            params,
            publisher,
            previous,
            last,
            stage: "run",
            timings: Vec::new(),
        }
    }

    /// Marks the start of `stage`: its timings and errors carry its name.
    pub fn enter(&mut self, stage: &'static str) {
        self.stage = stage;
    }

    pub fn stage(&self) -> &'static str {
        self.stage
    }

    /// Records that `what` of the current stage took the time since `started`.
    pub fn record(&mut self, what: &str, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            stage = self.stage,
            step = what,
            seconds = format!("{seconds:.2}"),
            "step done"
        );
        self.timings.push(StageTiming {
            stage: format!("{}.{what}", self.stage),
            seconds,
        });
    }

    /// Runs `steps` in order (see [`StageContext::run_step`]).
    pub async fn run_steps(&mut self, steps: &[Step]) -> Result<()> {
        for step in steps {
            self.run_step(step).await?;
        }
        Ok(())
    }

    /// Runs one step with the bound parameters: a view is registered under the step's name; a
    /// published step is executed once, written (Parquet, and CSV or NDJSON as asked) and
    /// registered from the published file, so later steps read the table, not its query again.
    /// An error names the stage and the step.
    pub async fn run_step(&mut self, step: &Step) -> Result<()> {
        let stage = self.stage;
        self.execute(step)
            .await
            .map_err(|e| e.in_step(stage, step.name))
    }

    async fn execute(&mut self, step: &Step) -> Result<()> {
        let Output::Publish { csv, ndjson } = step.output else {
            return self.register_view(step).await;
        };
        write_statement(step, &self.params);
        let started = Instant::now();
        let bar = crate::progress::spinner(format!("{}.{}", self.stage, step.name));
        let df = self.frame_scanning(&step.sql, step.scan).await?;
        let (path, schema) = self
            .publisher
            .write_formats(step.name, df, csv, ndjson)
            .await?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        register_files(&self.ctx, &self.lake, step.name, schema, &[path.as_str()]).await?;
        self.record(step.name, started);
        Ok(())
    }

    /// `sql` planned on this session with the bound parameters.
    pub async fn frame(&self, sql: &str) -> Result<DataFrame> {
        self.frame_scanning(sql, Scan::Ranges).await
    }

    /// `sql` planned with the bound parameters, its files split as `scan` says. A frame plans
    /// with its own copy of the session's state, so the setting ends with the step.
    async fn frame_scanning(&self, sql: &str, scan: Scan) -> Result<DataFrame> {
        let df = match scan {
            Scan::Ranges => self.ctx.sql(sql).await?,
            Scan::WholeFiles => {
                let mut state = self.ctx.state();
                state
                    .config_mut()
                    .options_mut()
                    .optimizer
                    .repartition_file_scans = false;
                let plan = state.create_logical_plan(sql).await?;
                DataFrame::new(state, plan)
            }
        };
        Ok(df.with_param_values(self.params.values())?)
    }

    /// Registers `step`'s SQL, bound to the parameters, as a view named after it.
    pub async fn register_view(&self, step: &Step) -> Result<()> {
        register_view(&self.ctx, step, &self.params).await
    }

    /// Publishes a table the stage computed in memory as `name` (Parquet, and CSV when `csv`)
    /// and registers it for the steps after.
    pub async fn publish_batches(
        &mut self,
        name: &str,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        csv: bool,
    ) -> Result<()> {
        let (path, schema) = self
            .publisher
            .write_batches(name, schema, &batches, csv)
            .await?;
        register_files(&self.ctx, &self.lake, name, schema, &[path.as_str()]).await
    }

    /// Registers the previous run's output `output` as the table `name`, or an empty table of
    /// `empty` when there is no previous run or it did not publish that output.
    pub async fn register_previous(
        &self,
        output: &str,
        name: &str,
        empty: SchemaRef,
    ) -> Result<()> {
        match self
            .previous
            .as_ref()
            .and_then(|m| m.output(output, "parquet"))
        {
            Some(out) => {
                let schema = publish::parquet_schema(&self.lake, &out.path).await?;
                register_files(&self.ctx, &self.lake, name, schema, &[out.path.as_str()]).await
            }
            None => register_batches(&self.ctx, name, empty, Vec::new()).await,
        }
    }

    /// An output this run already published (`format`: `parquet`, `csv`, `json`, …).
    pub fn output(&self, name: &str, format: &str) -> Result<&publish::Output> {
        self.publisher
            .output(name, format)
            .ok_or_else(|| Error::Internal(format!("{name}.{format} was not published")))
    }

    /// The timings so far, the publisher and the parameters as the last stage left them.
    pub fn finish(self) -> (Publisher, Vec<StageTiming>, Params) {
        (self.publisher, self.timings, self.params)
    }
}

/// Registers `step`'s SQL in `ctx`, bound to `params`, as a view named after it (replacing a
/// view of that name bound to another day).
pub async fn register_view(ctx: &SessionContext, step: &Step, params: &Params) -> Result<()> {
    let df = ctx
        .sql(&step.sql)
        .await?
        .with_param_values(params.values())?;
    ctx.deregister_table(step.name)?;
    ctx.register_table(step.name, df.into_view())?;
    Ok(())
}
