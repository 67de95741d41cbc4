//! One scoring run for an `as_of` date: open the lake snapshot, register its tables with
//! DataFusion, run the stages in order, publish, and commit the manifest.

use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{Date32Array, StringArray};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::contract::rules::RuleSet;
use crate::contract::values::format_date;
use crate::error::{Error, Result};
use crate::lake::catalog::{register_batch, register_snapshot};
use crate::lake::Lake;
use crate::publish::{InputFile, Manifest, Publisher, Rules, StageTiming};

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Local date, days since 1970-01-01.
    pub as_of: i32,
    pub rules: Arc<RuleSet>,
    /// DataFusion target partitions (default: the machine's cores).
    pub target_partitions: Option<usize>,
}

/// A DataFusion session for the pipeline's SQL.
pub fn session(target_partitions: Option<usize>) -> SessionContext {
    let mut config = SessionConfig::new().with_information_schema(false);
    if let Some(n) = target_partitions {
        config = config.with_target_partitions(n.max(1));
    }
    SessionContext::new_with_config(config)
}

/// The `params` table: the values every stage binds (never pasted into SQL text).
fn params(as_of: i32, rules: &RuleSet) -> RecordBatch {
    RecordBatch::try_from_iter(vec![
        ("as_of", Arc::new(Date32Array::from(vec![as_of])) as _),
        (
            "rules_version",
            Arc::new(StringArray::from(vec![rules.version.clone()])) as _,
        ),
        (
            "rules_sha256",
            Arc::new(StringArray::from(vec![rules.sha256.clone()])) as _,
        ),
    ])
    .expect("params batch")
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
    let ctx = session(opts.target_partitions);
    register_snapshot(&ctx, lake, &snapshot)?;
    for (name, batch) in opts.rules.record_batches() {
        register_batch(&ctx, name, batch)?;
    }
    register_batch(&ctx, "params", params(opts.as_of, &opts.rules))?;

    let mut publisher = Publisher::new(lake, &as_of);
    let started = Instant::now();
    let mut timings = crate::credit::run(&ctx, lake, &mut publisher).await?;
    timings.push(StageTiming {
        stage: "credit".into(),
        seconds: started.elapsed().as_secs_f64(),
    });
    tracing::info!(
        seconds = format!("{:.2}", started.elapsed().as_secs_f64()),
        "credit stage"
    );

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
    let rules = Rules {
        version: opts.rules.version.clone(),
        sha256: opts.rules.sha256.clone(),
    };
    publisher
        .commit(snapshot.version, inputs, rules, None, timings)
        .await
}
