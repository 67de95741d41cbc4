//! Risk stage (scoring.md §3): leakage-free features in SQL at three cutoffs (reading each
//! cutoff's credit and hazard status from `unit_status`), three candidate models fitted in Rust
//! (logistic regression as linfa-logistic fits it, a linfa-trees forest and gradient-boosted trees) judged by an
//! out-of-time backtest, a calibration that keeps the backtest's slope and sets the level where
//! the trend of the observed fire rates points, and scoring in SQL: the chosen model compiles to an expression that the
//! engine evaluates. Risk levels and the backtest by district and use type are SQL too.
//!
//! # Layout
//! - this file: the stage, in order: features → fit → model artifact and scorecard → scores and
//!   levels → report.
//! - [`features`]: the feature table and its rows as datasets.
//! - [`fit`]: the candidates, the backtest and the final fit.
//! - [`refit`]: whether the previous run's models are judged again instead (`--refit`).
//! - [`scoring`]: the model compiled to SQL, risk levels, the scorecard.
//! - [`report`]: the model report, `model_report.json`.

pub mod features;
pub mod fit;
pub mod refit;
pub mod report;
pub mod scoring;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use datafusion::common::ScalarValue;
use firecredit_models::artifact::{Artifact, FORMAT};
use futures::future::BoxFuture;

use crate::contract::values::format_date;
use crate::engine::catalog::register_batch;
use crate::engine::{Params, Stage, StageContext, Step};
use crate::error::{Error, Result};
use crate::stages::status::cutoffs;
use features::{
    cutoff_days_table, cutoffs_table, read_features, training_data_sha256, FEATURES_SQL,
};
use fit::FittedOn;
pub use fit::ModelChoice;
pub use refit::Refit;
use report::{Backtest, ModelReport, Truth};
use scoring::{publish_scorecard, risk_scores_step, RISK_LEVELS};

/// The features of every unit at every cutoff: the model's training and scoring rows.
pub const FEATURES: Step = Step::publish("features", FEATURES_SQL, false);

pub struct Risk {
    pub model: ModelChoice,
    /// Whether the models are fitted or the previous run's judged again.
    pub refit: Refit,
    /// The generator's `_truth/fire_truth.csv`, for the oracle AUC in the model report.
    pub truth: Option<PathBuf>,
}

impl Stage for Risk {
    fn name(&self) -> &'static str {
        "risk"
    }

    fn run<'a>(&'a self, cx: &'a mut StageContext) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.score(cx))
    }
}

impl Risk {
    /// Publishes `features`, `fits.cbor`, `model.json`, `scorecard`, `risk_scores` and
    /// `model_report.json`,
    /// registers `risk_levels` and binds `$model_version` for the stages after.
    async fn score(&self, cx: &mut StageContext) -> Result<()> {
        let as_of = cx.params.as_of();
        let [train_cut, test_cut, today_cut] = cutoffs(as_of);
        register_batch(&cx.ctx, "cutoffs", cutoffs_table(as_of)?).await?;
        register_batch(&cx.ctx, "cutoff_days", cutoff_days_table(as_of)?).await?;
        cx.run_step(&FEATURES).await?;

        let started = Instant::now();
        let path = cx.output("features", "parquet")?.path.clone();
        let [train, test, today]: [_; 3] =
            read_features(&cx.lake, &path, &[train_cut, test_cut, today_cut])
                .await?
                .try_into()
                .map_err(|_| Error::Internal("three cutoffs of features".into()))?;
        tracing::debug!(seconds = started.elapsed().as_secs_f64(), "features read");
        let data_sha256 = training_data_sha256(&[&train, &test]);
        let key = refit::fits_key(&data_sha256, self.model);
        let (previous, reuse) = refit::previous_fits(cx, self.refit, &key, self.model).await?;
        let fitted = fit::fit(&train, &test, &today, self.model, previous.as_ref())?;
        cx.record("fit", started);

        // The model is named after what it was fitted on, not after the feature file's bytes
        // (which depend on how the engine batched its output): both engines give one version.
        let (key, on) = match previous {
            Some(fits) => (fits.key, fits.on),
            None => (
                key,
                FittedOn {
                    data_sha256,
                    training_cutoff: format_date(test_cut),
                    training_rows: test.data.rows(),
                },
            ),
        };
        let version = format!(
            "{}-{}-{}",
            fitted.kind,
            on.training_cutoff,
            &on.data_sha256[..12]
        );
        let chosen = fitted.chosen();
        let artifact = Artifact {
            format: FORMAT.into(),
            version: version.clone(),
            kind: fitted.kind,
            model: fitted.model.clone(),
            calibration: fitted.calibration.published,
            training_cutoff: on.training_cutoff.clone(),
            training_rows: on.training_rows,
            data_sha256: on.data_sha256.clone(),
            metrics: chosen
                .auc
                .map(|a| BTreeMap::from([("backtest_auc".to_string(), a)]))
                .unwrap_or_default(),
        };
        let fits = refit::encode(&fitted.fits(key, self.model, on))?;
        cx.publisher
            .write_bytes(refit::FITS, refit::FITS_FORMAT_EXT, fits, 1)
            .await?;
        cx.publisher.record_reuse(refit::FITS, reuse);
        cx.publisher.write_json("model", &artifact).await?;
        publish_scorecard(cx, &test.data, &fitted.logistic).await?;

        let truth = Truth::start(
            self.truth.as_deref(),
            format_date(test_cut),
            format_date(as_of),
        );
        let scores = risk_scores_step(&artifact);
        tracing::info!(kind = %fitted.kind, sql_bytes = scores.sql.len(), "model compiled to SQL");
        cx.run_step(&scores).await?;
        cx.register_view(&RISK_LEVELS).await?;

        let started = Instant::now();
        let psi = match cx
            .previous
            .as_ref()
            .and_then(|m| m.output("unit_scores", "parquet"))
        {
            Some(previous) => {
                let today = cx.output("risk_scores", "parquet")?.path.clone();
                let today = report::probabilities(&cx.lake, "risk_scores", &today).await?;
                let before = report::probabilities(&cx.lake, "unit_scores", &previous.path).await?;
                firecredit_models::metrics::psi(&before, &today)
            }
            None => None,
        };
        let labels = test.data.labels().to_vec();
        let tables = report::backtest_tables(
            &cx.ctx,
            &Params::new(test_cut, &cx.rules),
            &test.unit_ids,
            &chosen.test_p,
            &labels,
        )
        .await?;
        let backtest = Backtest {
            train_cut,
            test_cut,
            labels: &labels,
            tables,
        };
        let today = cx.output("risk_scores", "parquet")?.path.clone();
        let truth = Truth::read(truth, &cx.lake, &today).await?;
        let report = ModelReport::new(version.clone(), &fitted, backtest, truth, psi);
        tracing::info!(
            model = %fitted.kind,
            auc = ?report.auc,
            oracle = ?report.oracle_auc,
            projected_rate = report.calibration.projected_rate,
            "risk model"
        );
        cx.publisher.write_json("model_report", &report).await?;
        cx.record("model_report", started);
        cx.params
            .set("model_version", ScalarValue::Utf8(Some(version)));
        Ok(())
    }
}
