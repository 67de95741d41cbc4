//! Risk stage (scoring.md §3): leakage-free features in SQL at three cutoffs (with the credit
//! and hazard status of each, see [`status`]), two candidate models fitted in Rust (linfa
//! logistic regression and a linfa-trees forest) judged by an out-of-time backtest, Platt
//! calibration, and scoring in SQL: the chosen model compiles to an expression that the engine
//! evaluates. Risk levels are SQL too (`sql/risk/risk_levels.sql`), for today and the backtest.
//!
//! Cutoffs: `as_of − 730` (backtest training, labels to `as_of − 365`), `as_of − 365` (backtest
//! test, then the final model's training, labels to `as_of`), `as_of` (scored).

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, Date32Array, Int64Array, RecordBatch,
};
use datafusion::arrow::datatypes::{Date32Type, Float64Type};
use datafusion::common::ParamValues;
use datafusion::prelude::SessionContext;
use firecredit_models::artifact::{Artifact, Model, FORMAT};
use firecredit_models::calibration::Platt;
use firecredit_models::dataset::Dataset;
use firecredit_models::forest::{ForestError, ForestModel, ForestParams};
use firecredit_models::logistic::{LogisticError, LogisticModel, LogisticParams};
use firecredit_models::metrics;
use firecredit_models::ndarray::{Array1, Array2};
use firecredit_models::scorecard::{scorecard, Scaling};
use futures::TryStreamExt;
use serde::Serialize;

use crate::contract::values::format_date;
use crate::error::{Error, Result};
use crate::lake::catalog::{batch_frame, register_batch};
use crate::lake::Lake;
use crate::publish::{Publisher, StageTiming};
use crate::run::{run_steps, Step};

pub mod status;

pub const FEATURES_SQL: &str = include_str!("../../../sql/risk/features.sql");
pub const RISK_SCORES_TEMPLATE: &str = include_str!("../../../sql/risk/risk_scores.sql");
pub const RISK_LEVELS: Step = Step::view(
    "risk_levels",
    include_str!("../../../sql/risk/risk_levels.sql"),
);

/// Which model scores the units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ModelChoice {
    /// The candidate with the higher backtest AUC (logistic on a tie).
    #[default]
    Auto,
    Logistic,
    Forest,
}

/// The model's inputs: the `f_*` columns of `features`, rows of open units.
pub struct FeatureRows {
    pub unit_ids: Vec<String>,
    pub data: Dataset,
}

/// SHA-256 of the training rows: feature names, then per part its unit ids, values (row-major,
/// little-endian) and labels.
fn training_data_sha256(parts: &[&FeatureRows]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in parts {
        for name in &part.data.names {
            h.update(name.as_bytes());
            h.update([0]);
        }
        for id in &part.unit_ids {
            h.update(id.as_bytes());
            h.update([0]);
        }
        for v in part.data.x.iter() {
            h.update(v.to_le_bytes());
        }
        if let Some(y) = &part.data.y {
            h.update(y.iter().map(|l| u8::from(*l)).collect::<Vec<u8>>());
        }
    }
    hex::encode(h.finalize())
}

/// Reads the open units' rows of each of `cutoffs` from the published feature table, in one
/// pass.
pub async fn read_features(
    lake: &Lake,
    path: &str,
    cutoffs_wanted: &[i32],
) -> Result<Vec<FeatureRows>> {
    let mut stream = lake.read_parquet(path, None).await?;
    let mut names: Vec<String> = Vec::new();
    let n = cutoffs_wanted.len();
    let mut unit_ids: Vec<Vec<String>> = vec![Vec::new(); n];
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut labels: Vec<Vec<Option<bool>>> = vec![Vec::new(); n];
    while let Some(b) = stream.try_next().await? {
        if names.is_empty() {
            names = b
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .filter(|n| n.starts_with("f_"))
                .collect();
        }
        let day = b
            .column_by_name("cutoff")
            .expect("cutoff")
            .as_primitive::<Date32Type>();
        let open = b.column_by_name("open").expect("open").as_boolean();
        let label = b.column_by_name("label").expect("label").as_boolean();
        let ids = b
            .column_by_name("unit_id")
            .expect("unit_id")
            .as_string::<i32>();
        let cols: Vec<_> = names
            .iter()
            .map(|n| {
                b.column_by_name(n)
                    .expect("feature")
                    .as_primitive::<Float64Type>()
                    .clone()
            })
            .collect();
        for r in 0..b.num_rows() {
            let Some(k) = cutoffs_wanted.iter().position(|c| *c == day.value(r)) else {
                continue;
            };
            if !open.value(r) {
                continue;
            }
            unit_ids[k].push(ids.value(r).to_string());
            labels[k].push((!label.is_null(r)).then(|| label.value(r)));
            values[k].extend(cols.iter().map(|c| c.value(r)));
        }
    }
    let mut out = Vec::with_capacity(n);
    for ((ids, vals), labs) in unit_ids.into_iter().zip(values).zip(labels) {
        let x = Array2::from_shape_vec((ids.len(), names.len()), vals)
            .map_err(|e| Error::Invalid(format!("feature matrix: {e}")))?;
        let y = labs
            .iter()
            .all(Option::is_some)
            .then(|| Array1::from_iter(labs.iter().map(|l| l.unwrap_or(false))));
        out.push(FeatureRows {
            unit_ids: ids,
            data: Dataset {
                names: names.clone(),
                x,
                y,
            },
        });
    }
    Ok(out)
}

/// Backtest and model metrics, published as `model_report.json`. Deterministic (the fit time
/// goes to the manifest's stage timings), so reruns publish identical reports.
#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    pub model_version: String,
    /// The chosen model: `logistic`, `forest` or `constant`.
    pub model_kind: String,
    /// Every candidate's backtest AUC (after calibration), in fitting order.
    pub candidates: Vec<CandidateReport>,
    pub backtest_train_cutoff: String,
    pub backtest_test_cutoff: String,
    pub backtest_rows: usize,
    pub backtest_fires: usize,
    pub auc: Option<f64>,
    pub ks: Option<f64>,
    pub precision_at: BTreeMap<String, f64>,
    pub recall_at: BTreeMap<String, f64>,
    /// Fire rate in each top share divided by the overall fire rate.
    pub lift_at: BTreeMap<String, f64>,
    /// Units, fires and lift per risk level at the backtest's test cutoff (levels from the
    /// backtest probabilities and that day's grades and major-hazard units).
    pub lift_by_level: BTreeMap<String, LevelLift>,
    pub calibration_deciles: Vec<metrics::Decile>,
    pub calibration: Platt,
    /// AUC of the generator's true probabilities at the backtest cutoff, when the inbox has them.
    pub oracle_auc: Option<f64>,
    /// PSI of today's probabilities against the previous published run's.
    pub psi_vs_previous: Option<f64>,
    /// Why a constant model was used, when it was.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CandidateReport {
    pub kind: String,
    pub auc: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LevelLift {
    pub units: usize,
    pub fires: usize,
    pub fire_rate: f64,
    /// The level's fire rate divided by the overall rate.
    pub lift: f64,
}

pub fn cutoffs_table(as_of: i32) -> RecordBatch {
    let days = [as_of - 730, as_of - 365, as_of];
    let end_us = |d: i32| (i64::from(d + 1) * 86_400 - 8 * 3600) * 1_000_000;
    RecordBatch::try_from_iter(vec![
        ("cutoff", Arc::new(Date32Array::from(days.to_vec())) as _),
        (
            "cutoff_day",
            Arc::new(Int64Array::from(
                days.iter().map(|d| i64::from(*d)).collect::<Vec<_>>(),
            )) as _,
        ),
        (
            "cutoff_end_us",
            Arc::new(Int64Array::from(
                days.iter().map(|d| end_us(*d)).collect::<Vec<_>>(),
            )) as _,
        ),
        (
            "labelled",
            Arc::new(BooleanArray::from(
                days.iter().map(|d| d + 365 <= as_of).collect::<Vec<_>>(),
            )) as _,
        ),
    ])
    .expect("cutoffs batch")
}

/// The risk-scores SQL with the model's compiled expressions in place of its markers: each
/// contribution as a column `c_<feature>`, and each column's sort key for the reasons.
pub fn risk_scores_sql(artifact: &Artifact) -> String {
    let contributions = artifact.sql_contributions();
    let columns = contributions
        .iter()
        .map(|(n, e)| format!("{e} AS c_{n}"))
        .collect::<Vec<_>>()
        .join(",\n           ");
    // Feature names are the feature table's own `f_*` columns: plain identifiers.
    let keys = contributions
        .iter()
        .map(|(n, _)| {
            format!(
                "CASE WHEN c_{n} > 0 THEN lpad(CAST(1000000000000000 - CAST(round(c_{n} * 1000000000.0) AS BIGINT) AS VARCHAR), 16, '0') || '{n}:' || CAST(ROUND(c_{n}, 3) AS VARCHAR) END"
            )
        })
        .collect::<Vec<_>>()
        .join(",\n                      ");
    RISK_SCORES_TEMPLATE
        .replace("/*PROBABILITY*/", &artifact.sql_probability())
        .replace("/*CONTRIBUTIONS*/", &columns)
        .replace("/*KEYS*/", &keys)
}

/// Fits the logistic model; where the training cutoff has no fire (or only fires), a constant
/// model at the smoothed observed rate: every unit gets the same probability, and the report
/// says why.
fn fit_logistic(
    data: &Dataset,
    start: Option<&LogisticModel>,
) -> Result<(LogisticModel, Option<String>)> {
    let params = LogisticParams::default()
        .check()
        .map_err(|e| Error::Invalid(format!("risk model: {e}")))?;
    match params.fit_from(data, start) {
        Ok(m) => Ok((m, None)),
        Err(e @ LogisticError::OneClass { positives, rows }) => {
            tracing::warn!("{e}; using a constant model");
            let rate = (positives as f64 + 0.5) / (rows as f64 + 1.0);
            let k = data.names.len();
            let model = LogisticModel {
                features: data.names.clone(),
                means: vec![0.0; k],
                stds: vec![1.0; k],
                standardised: vec![0.0; k],
                weights: vec![0.0; k],
                intercept: (rate / (1.0 - rate)).ln(),
            };
            Ok((model, Some(e.to_string())))
        }
        Err(e) => Err(Error::Invalid(format!("risk model: {e}"))),
    }
}

/// Fits the forest; none where the training cutoff has a single class.
fn fit_forest(data: &Dataset) -> Result<Option<ForestModel>> {
    let params = ForestParams::default()
        .check()
        .map_err(|e| Error::Invalid(format!("risk model: {e}")))?;
    match params.fit(data) {
        Ok(m) => Ok(Some(m)),
        Err(ForestError::OneClass { .. }) => Ok(None),
        Err(e) => Err(Error::Invalid(format!("risk model: {e}"))),
    }
}

/// A model fitted at the backtest's training cutoff and judged at its test cutoff.
struct Candidate {
    kind: &'static str,
    calibration: Platt,
    test_p: Vec<f64>,
    auc: Option<f64>,
}

impl Candidate {
    fn judge(kind: &'static str, model: &Model, test: &Dataset) -> Candidate {
        let logit = model.logit(test);
        let labels = test.labels().as_slice().expect("contiguous labels");
        let calibration = if labels.iter().any(|l| *l) && labels.iter().any(|l| !*l) {
            Platt::fit(&logit, labels)
        } else {
            Platt::IDENTITY
        };
        let test_p: Vec<f64> = logit.iter().map(|s| calibration.apply(*s)).collect();
        let auc = metrics::roc_auc(&test_p, labels);
        Candidate {
            kind,
            calibration,
            test_p,
            auc,
        }
    }
}

/// AUC of the generator's truth at `cutoff` (`_truth/fire_truth.csv`), when given.
fn oracle_auc(truth: Option<&std::path::Path>, cutoff: &str) -> Option<f64> {
    let mut reader = csv::Reader::from_path(truth?).ok()?;
    let (mut p, mut y) = (Vec::new(), Vec::new());
    for rec in reader.records().flatten() {
        if rec.get(1) == Some(cutoff) {
            p.push(rec.get(2)?.parse::<f64>().ok()?);
            y.push(rec.get(3)? == "1");
        }
    }
    metrics::roc_auc(&p, &y)
}

pub struct RiskContext<'a> {
    pub ctx: &'a SessionContext,
    pub lake: &'a Lake,
    pub snapshot: &'a crate::lake::Snapshot,
    pub rules: &'a crate::contract::rules::RuleSet,
    pub params: &'a ParamValues,
    pub as_of: i32,
    pub model: ModelChoice,
    pub truth: Option<&'a std::path::Path>,
    pub previous_scores: Option<String>,
}

/// Runs the risk stage; returns the model artifact (its version goes into every score row).
pub async fn run(
    rc: &RiskContext<'_>,
    publisher: &mut Publisher,
    timings: &mut Vec<StageTiming>,
) -> Result<Artifact> {
    let (bt_cut, test_cut) = (rc.as_of - 730, rc.as_of - 365);
    let started = std::time::Instant::now();
    status::register_unit_status(rc, &[bt_cut, test_cut, rc.as_of]).await?;
    timings.push(StageTiming {
        stage: "risk.unit_status".into(),
        seconds: started.elapsed().as_secs_f64(),
    });
    register_batch(rc.ctx, "cutoffs", cutoffs_table(rc.as_of)).await?;
    let features = [Step::publish("features", FEATURES_SQL, false)];
    timings.extend(run_steps(rc.ctx, rc.lake, publisher, rc.params, "risk", &features).await?);
    let features_out = publisher
        .output("features", "parquet")
        .cloned()
        .expect("features published");

    let started = std::time::Instant::now();
    let mut parts = read_features(rc.lake, &features_out.path, &[bt_cut, test_cut]).await?;
    let bt_test = parts.pop().expect("test cutoff");
    let bt_train = parts.pop().expect("train cutoff");
    let lap =
        |what: &str| tracing::debug!(what, seconds = started.elapsed().as_secs_f64(), "risk fit");
    lap("features read");
    // Backtest: fit at as_of − 730, judge at as_of − 365 (out of time). The logistic fit is
    // sequential, so the forest grows on the other cores meanwhile.
    let want_forest = rc.model != ModelChoice::Logistic;
    let (lr, forest) = rayon::join(
        || fit_logistic(&bt_train.data, None),
        || match want_forest {
            true => fit_forest(&bt_train.data),
            false => Ok(None),
        },
    );
    let (bt_lr, bt_note) = lr?;
    lap("backtest fits");
    let mut candidates = vec![Candidate::judge(
        if bt_note.is_some() {
            "constant"
        } else {
            "logistic"
        },
        &Model::Logistic(bt_lr.clone()),
        &bt_test.data,
    )];
    if let Some(f) = forest? {
        candidates.push(Candidate::judge("forest", &Model::Forest(f), &bt_test.data));
    }
    let chosen = match rc.model {
        ModelChoice::Logistic => 0,
        ModelChoice::Forest => candidates.len() - 1,
        // Strictly better to displace the simpler, readable logistic model.
        ModelChoice::Auto => (1..candidates.len()).fold(0, |best, i| {
            if candidates[i].auc.unwrap_or(0.0) > candidates[best].auc.unwrap_or(0.0) {
                i
            } else {
                best
            }
        }),
    };
    // Final: the chosen kind refitted at as_of − 365 with labels to as_of, calibrated as the
    // backtest found. The logistic model is refitted in any case: the scorecard reads it. It
    // starts where the backtest's ended (a year later, nearly the same optimum).
    let start = bt_note.is_none().then_some(&bt_lr);
    let final_forest = candidates[chosen].kind == "forest";
    let (lr, forest) = rayon::join(
        || fit_logistic(&bt_test.data, start),
        || match final_forest {
            true => fit_forest(&bt_test.data),
            false => Ok(None),
        },
    );
    let (final_lr, final_note) = lr?;
    lap("final fits");
    let (kind, model) = match forest? {
        Some(f) => ("forest", Model::Forest(f)),
        None if bt_note.is_some() || final_note.is_some() => {
            ("constant", Model::Logistic(final_lr.clone()))
        }
        None => ("logistic", Model::Logistic(final_lr.clone())),
    };
    let fit_seconds = started.elapsed().as_secs_f64();
    let Candidate {
        calibration,
        test_p,
        auc,
        ..
    } = &candidates[chosen];
    let (calibration, test_p, auc) = (*calibration, test_p.clone(), *auc);

    // The model is named after what it was fitted on, not after the feature file's bytes
    // (which depend on how the engine batched its output): both engines give one version.
    let data_sha256 = training_data_sha256(&[&bt_train, &bt_test]);
    let version = format!("{kind}-{}-{}", format_date(test_cut), &data_sha256[..12]);
    let test_labels = bt_test.data.labels().to_vec();
    let rate = test_labels.iter().filter(|l| **l).count() as f64 / test_labels.len().max(1) as f64;
    let shares = [
        ("1%", 0.01),
        ("5%", 0.05),
        ("10%", 0.10),
        ("20%", 0.20),
        ("50%", 0.50),
    ];
    let report_shares = |f: &dyn Fn(f64) -> f64| -> BTreeMap<String, f64> {
        shares.iter().map(|(k, s)| (k.to_string(), f(*s))).collect()
    };
    let mut metric_map = BTreeMap::new();
    if let Some(a) = auc {
        metric_map.insert("backtest_auc".to_string(), a);
    }
    let artifact = Artifact {
        format: FORMAT.into(),
        version: version.clone(),
        kind: kind.into(),
        model,
        calibration,
        training_cutoff: format_date(test_cut),
        training_rows: bt_test.data.rows(),
        data_sha256,
        metrics: metric_map,
    };
    publisher.write_json("model", &artifact).await?;
    publish_scorecard(rc.ctx, publisher, &bt_test.data, &final_lr).await?;

    let scores_sql = risk_scores_sql(&artifact);
    tracing::info!(kind, sql_bytes = scores_sql.len(), "model compiled to SQL");
    let scores = [Step {
        name: "risk_scores",
        sql: scores_sql.into(),
        output: crate::run::Output::Publish {
            csv: false,
            ndjson: false,
        },
    }];
    timings.extend(run_steps(rc.ctx, rc.lake, publisher, rc.params, "risk", &scores).await?);
    crate::run::register_view(rc.ctx, &RISK_LEVELS, rc.params).await?;

    let psi = match &rc.previous_scores {
        Some(prev) => {
            let today = probabilities(
                rc.lake,
                &publisher
                    .output("risk_scores", "parquet")
                    .expect("scores")
                    .path,
            )
            .await?;
            let before = probabilities(rc.lake, prev).await?;
            metrics::psi(&before, &today)
        }
        None => None,
    };
    let levels = backtest_levels(rc, &bt_test.unit_ids, &test_p, test_cut).await?;
    let report = ModelReport {
        model_version: version,
        model_kind: kind.into(),
        candidates: candidates
            .iter()
            .map(|c| CandidateReport {
                kind: c.kind.into(),
                auc: c.auc,
            })
            .collect(),
        backtest_train_cutoff: format_date(bt_cut),
        backtest_test_cutoff: format_date(test_cut),
        backtest_rows: test_labels.len(),
        backtest_fires: test_labels.iter().filter(|l| **l).count(),
        auc,
        ks: metrics::ks(&test_p, &test_labels),
        precision_at: report_shares(&|s| metrics::precision_at(&test_p, &test_labels, s)),
        recall_at: report_shares(&|s| metrics::recall_at(&test_p, &test_labels, s)),
        lift_at: report_shares(&|s| {
            metrics::precision_at(&test_p, &test_labels, s) / rate.max(1e-12)
        }),
        lift_by_level: lift_by_level(&levels, &test_labels, rate),
        calibration_deciles: metrics::calibration_deciles(&test_p, &test_labels),
        calibration,
        oracle_auc: oracle_auc(rc.truth, &format_date(test_cut)),
        psi_vs_previous: psi,
        notes: bt_note.into_iter().chain(final_note).collect(),
    };
    tracing::info!(model = kind, auc = ?report.auc, oracle = ?report.oracle_auc, fit_seconds = format!("{fit_seconds:.2}"), "risk model");
    publisher.write_json("model_report", &report).await?;
    timings.push(StageTiming {
        stage: "risk.fit".into(),
        seconds: fit_seconds,
    });
    Ok(artifact)
}

/// Risk levels at the backtest's test cutoff, by `sql/risk/risk_levels.sql` over the backtest
/// probabilities and that day's `unit_status`; in `unit_ids` order.
async fn backtest_levels(
    rc: &RiskContext<'_>,
    unit_ids: &[String],
    test_p: &[f64],
    cut: i32,
) -> Result<Vec<i32>> {
    use datafusion::arrow::array::{Float64Array, StringArray};
    let ctx = crate::run::sibling(rc.ctx).await?;
    let scores = RecordBatch::try_from_iter(vec![
        (
            "unit_id",
            Arc::new(StringArray::from_iter_values(unit_ids)) as _,
        ),
        (
            "open",
            Arc::new(BooleanArray::from(vec![true; unit_ids.len()])) as _,
        ),
        (
            "risk_probability",
            Arc::new(Float64Array::from(test_p.to_vec())) as _,
        ),
    ])?;
    register_batch(&ctx, "risk_scores", scores).await?;
    ctx.register_table("unit_status", rc.ctx.table_provider("unit_status").await?)?;
    let df = ctx
        .sql(&RISK_LEVELS.sql)
        .await?
        .with_param_values(crate::run::params(cut, rc.rules, None))?;
    let mut by_unit = std::collections::HashMap::with_capacity(unit_ids.len());
    for b in df.collect().await? {
        let ids = b.column(0).as_string::<i32>();
        let level = b
            .column(1)
            .as_primitive::<datafusion::arrow::datatypes::Int32Type>();
        for r in 0..b.num_rows() {
            by_unit.insert(ids.value(r).to_string(), level.value(r));
        }
    }
    unit_ids
        .iter()
        .map(|u| {
            by_unit
                .get(u)
                .copied()
                .ok_or_else(|| Error::Invalid(format!("backtest unit {u} has no risk level")))
        })
        .collect()
}

fn lift_by_level(levels: &[i32], labels: &[bool], rate: f64) -> BTreeMap<String, LevelLift> {
    let mut out: BTreeMap<String, LevelLift> = BTreeMap::new();
    for (level, fire) in levels.iter().zip(labels) {
        let e = out.entry(level.to_string()).or_insert(LevelLift {
            units: 0,
            fires: 0,
            fire_rate: 0.0,
            lift: 0.0,
        });
        e.units += 1;
        e.fires += usize::from(*fire);
    }
    for e in out.values_mut() {
        e.fire_rate = e.fires as f64 / e.units as f64;
        e.lift = e.fire_rate / rate.max(1e-12);
    }
    out
}

/// The `risk_probability` column of a published risk-scores or unit-scores file.
async fn probabilities(lake: &Lake, path: &str) -> Result<Vec<f64>> {
    let batches = lake.read_all(path, Some(&["risk_probability"])).await?;
    Ok(batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_primitive::<Float64Type>()
                .iter()
                .flatten()
                .collect::<Vec<_>>()
        })
        .collect())
}

/// The logistic model as a points table (`scorecard`, Parquet and CSV), binned on its
/// training data.
async fn publish_scorecard(
    ctx: &SessionContext,
    publisher: &mut Publisher,
    training: &Dataset,
    model: &LogisticModel,
) -> Result<()> {
    use datafusion::arrow::array::{Float64Array, StringArray, UInt64Array};
    let scaling = Scaling::default();
    let bins = scorecard(training, model, scaling, 5);
    let base = scaling.base_points(model);
    let mut features = vec!["(base)".to_string()];
    let mut bin_no = vec![0u64];
    let (mut lower, mut upper) = (vec![None], vec![None]);
    let (mut units, mut fires) = (
        vec![training.rows() as u64],
        vec![training.labels().iter().filter(|v| **v).count() as u64],
    );
    let (mut woe, mut points) = (vec![None], vec![base]);
    for b in &bins {
        features.push(b.feature.clone());
        bin_no.push(b.bin as u64);
        lower.push(Some(b.lower));
        upper.push(b.upper.is_finite().then_some(b.upper));
        units.push(b.units as u64);
        fires.push(b.fires as u64);
        woe.push(Some(b.woe));
        points.push(b.points);
    }
    let batch = RecordBatch::try_from_iter(vec![
        ("feature", Arc::new(StringArray::from(features)) as _),
        ("bin", Arc::new(UInt64Array::from(bin_no)) as _),
        ("lower", Arc::new(Float64Array::from(lower)) as _),
        ("upper", Arc::new(Float64Array::from(upper)) as _),
        ("units", Arc::new(UInt64Array::from(units)) as _),
        ("fires", Arc::new(UInt64Array::from(fires)) as _),
        ("woe", Arc::new(Float64Array::from(woe)) as _),
        ("points", Arc::new(Float64Array::from(points)) as _),
    ])?;
    publisher
        .write(
            "scorecard",
            batch_frame(ctx, "scorecard_rows", batch).await?,
            true,
        )
        .await?;
    Ok(())
}
