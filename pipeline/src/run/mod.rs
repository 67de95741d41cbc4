//! One scoring run for an `as_of` date: pin a version of every lake table, register their
//! files, run the stages in order, commit the manifest (which records the versions), then add
//! the night's scores to the feed table. This is the only place that knows the order of the
//! stages: [`stages`] lists them, [`run`] loops over the list.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::contract::rules::RuleSet;
use crate::contract::values::format_date;
use crate::engine::{self, EngineOptions, Params, Stage, StageContext};
use crate::error::{Error, Result};
use crate::lake::publish::{
    feed as feed_table, previous_manifest, InputFile, Manifest, Publisher, Rules, StageTiming,
};
use crate::lake::{Lake, Pins};
use crate::stages::{
    area, credit, enforcement, feed, hazard, plan, report, risk, status, supervision,
};

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Local date, days since 1970-01-01.
    pub as_of: i32,
    /// Which version of each lake table the run reads (default: the latest).
    pub pins: Pins,
    pub rules: Arc<RuleSet>,
    pub engine: EngineOptions,
    /// The generator's `_truth/fire_truth.csv`, for the oracle AUC in the model report.
    pub truth: Option<PathBuf>,
    /// Which model scores (default: the better one in the backtest).
    pub model: risk::ModelChoice,
    /// Whether the models are fitted or the previous run's judged again.
    pub refit: risk::Refit,
    /// The inspection plan's seed and campaign.
    pub plan: plan::PlanOptions,
    /// The risk-zone report's language.
    pub lang: report::Lang,
    /// Take nothing over from the previous run: the intervals from all history, the models
    /// fitted (whatever `refit` says).
    pub full: bool,
}

/// The draw's seed when none is given: `<as_of>:<first 16 hex digits of the content digest>`
/// ([`crate::lake::Snapshot::content_digest`]).
pub fn default_seed(as_of: &str, digest: &str) -> String {
    format!("{as_of}:{}", &digest[..16.min(digest.len())])
}

/// The stages of a run, in order: each reads what the ones before it published.
pub fn stages(opts: &RunOptions) -> Vec<Box<dyn Stage>> {
    vec![
        Box::new(hazard::Hazard { full: opts.full }),
        Box::new(credit::LEDGER),
        Box::new(status::Status),
        Box::new(risk::Risk {
            model: opts.model,
            refit: if opts.full {
                risk::Refit::Always
            } else {
                opts.refit
            },
            truth: opts.truth.clone(),
        }),
        Box::new(credit::UNIT_SCORES),
        Box::new(area::AREA),
        Box::new(supervision::Supervision),
        Box::new(enforcement::ENFORCEMENT),
        Box::new(feed::Feed),
        Box::new(report::Report { lang: opts.lang }),
        Box::new(plan::Plan {
            options: opts.plan.clone(),
        }),
    ]
}

/// Runs every stage for `as_of` and commits the run. Returns its manifest.
pub async fn run(lake: &Lake, opts: &RunOptions) -> Result<Manifest> {
    let snapshot = Arc::new(lake.snapshot_at(&opts.pins).await?);
    if snapshot.version == 0 {
        return Err(Error::Invalid(format!(
            "lake {} holds no ingested data; run `firecredit ingest` first",
            lake.url()
        )));
    }
    let as_of = format_date(opts.as_of);
    let ctx = engine::session(&opts.engine, lake).await?;
    let params = Params::new(opts.as_of, &opts.rules);
    engine::prepare(&ctx, lake, &snapshot, &opts.rules, &params).await?;
    let previous = previous_manifest(lake, &as_of).await?;
    let publisher = Publisher::begin(lake, &as_of)
        .await?
        .with_engine(opts.engine.engine.to_string());
    let mut cx = StageContext::new(
        ctx.clone(),
        lake.clone(),
        snapshot.clone(),
        opts.rules.clone(),
        params,
        publisher,
        previous,
    );
    // The draw's default seed mixes the date with the lake's content: it cannot be computed
    // before the data is frozen, and the plan prints it for anyone to recheck.
    let opts = &RunOptions {
        plan: plan::PlanOptions {
            seed: Some(
                opts.plan
                    .seed
                    .clone()
                    .unwrap_or_else(|| default_seed(&as_of, &snapshot.content_digest())),
            ),
            ..opts.plan.clone()
        },
        ..opts.clone()
    };
    let started = Instant::now();
    for stage in stages(opts) {
        cx.enter(stage.name());
        stage
            .run(&mut cx)
            .await
            .map_err(|e| e.in_stage(stage.name()))?;
    }
    let (publisher, mut timings, params) = cx.finish();
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
            sha256: crate::lake::sha256_file(truth).map_err(|source| Error::Io {
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
            &snapshot,
            inputs,
            rules,
            params.text("model_version"),
            timings,
        )
        .await?;
    let scores = manifest
        .output("scores", "parquet")
        .ok_or_else(|| Error::Internal("the run published no scores".into()))?;
    feed_table::append(lake, opts.as_of, &scores.path)
        .await
        .map_err(|e| e.in_stage("feed table (the run is committed; rerun the day to add it)"))?;
    // The scratch tables of a distributed session are unreferenced once the run is committed.
    if let Some(scratch) = engine::session::origin(&ctx).and_then(|o| o.scratch.clone()) {
        if let Err(e) = lake.delete_prefix(&scratch).await {
            tracing::warn!(%scratch, error = %e, "could not remove the scratch tables");
        }
    }
    Ok(manifest)
}
