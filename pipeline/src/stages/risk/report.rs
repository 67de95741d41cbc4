//! `model_report.json`: the backtest's metrics, every candidate, lift by risk level, the
//! oracle's AUC where the inbox has the generator's truth, and drift against the previous run.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{BooleanArray, Float64Array, RecordBatch, StringArray};
use datafusion::prelude::SessionContext;
use firecredit_models::artifact::ModelKind;
use firecredit_models::calibration::Platt;
use firecredit_models::metrics;
use serde::Serialize;

use super::fit::Fitted;
use super::scoring::RISK_LEVELS;
use crate::contract::values::format_date;
use crate::engine::catalog::register_batch;
use crate::engine::context::register_view;
use crate::engine::{sibling, Params};
use crate::error::{Error, Result};
use crate::lake::columns::Columns;
use crate::lake::Lake;

/// Backtest and model metrics. Deterministic (the fit time goes to the manifest's stage
/// timings), so reruns publish identical reports.
#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    pub model_version: String,
    /// The chosen model.
    pub model_kind: ModelKind,
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
    pub kind: ModelKind,
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

/// What the report needs beyond the fit.
pub struct Backtest<'a> {
    pub train_cut: i32,
    pub test_cut: i32,
    /// The test cutoff's labels.
    pub labels: &'a [bool],
    /// Risk levels of those units from the chosen candidate's probabilities.
    pub levels: &'a [i32],
}

const SHARES: [(&str, f64); 5] = [
    ("1%", 0.01),
    ("5%", 0.05),
    ("10%", 0.10),
    ("20%", 0.20),
    ("50%", 0.50),
];

impl ModelReport {
    pub fn new(
        version: String,
        fitted: &Fitted,
        bt: &Backtest<'_>,
        oracle_auc: Option<f64>,
        psi_vs_previous: Option<f64>,
    ) -> ModelReport {
        let chosen = fitted.chosen();
        let (p, y) = (&chosen.test_p, bt.labels);
        let rate = y.iter().filter(|l| **l).count() as f64 / y.len().max(1) as f64;
        let shares = |f: &dyn Fn(f64) -> f64| -> BTreeMap<String, f64> {
            SHARES.iter().map(|(k, s)| (k.to_string(), f(*s))).collect()
        };
        ModelReport {
            model_version: version,
            model_kind: fitted.kind,
            candidates: fitted
                .candidates
                .iter()
                .map(|c| CandidateReport {
                    kind: c.kind,
                    auc: c.auc,
                })
                .collect(),
            backtest_train_cutoff: format_date(bt.train_cut),
            backtest_test_cutoff: format_date(bt.test_cut),
            backtest_rows: y.len(),
            backtest_fires: y.iter().filter(|l| **l).count(),
            auc: chosen.auc,
            ks: metrics::ks(p, y),
            precision_at: shares(&|s| metrics::precision_at(p, y, s)),
            recall_at: shares(&|s| metrics::recall_at(p, y, s)),
            lift_at: shares(&|s| metrics::precision_at(p, y, s) / rate.max(1e-12)),
            lift_by_level: lift_by_level(bt.levels, y, rate),
            calibration_deciles: metrics::calibration_deciles(p, y),
            calibration: chosen.calibration,
            oracle_auc,
            psi_vs_previous,
            notes: fitted.notes.clone(),
        }
    }
}

/// Risk levels at the backtest's test cutoff, by `sql/risk/risk_levels.sql` over the backtest
/// probabilities and that day's `unit_status` (of `ctx`); in `unit_ids` order.
pub async fn backtest_levels(
    ctx: &SessionContext,
    params: &Params,
    unit_ids: &[String],
    test_p: &[f64],
) -> Result<Vec<i32>> {
    let day = sibling(ctx).await?;
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
    register_batch(&day, "risk_scores", scores).await?;
    day.register_table("unit_status", ctx.table_provider("unit_status").await?)?;
    register_view(&day, &RISK_LEVELS, params).await?;
    let mut by_unit = HashMap::with_capacity(unit_ids.len());
    for b in day.table(RISK_LEVELS.name).await?.collect().await? {
        let table = Columns::new(RISK_LEVELS.name, &b);
        let (ids, levels) = (table.strings("unit_id")?, table.i64s("risk_level")?);
        for (id, level) in ids.iter().zip(levels) {
            if let (Some(id), Some(level)) = (id, level) {
                by_unit.insert(id.to_string(), level as i32);
            }
        }
    }
    unit_ids
        .iter()
        .map(|u| {
            by_unit
                .get(u)
                .copied()
                .ok_or_else(|| Error::Internal(format!("backtest unit {u} has no risk level")))
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

/// AUC of the generator's truth at `cutoff` (`_truth/fire_truth.csv`), when given.
pub fn oracle_auc(truth: Option<&Path>, cutoff: &str) -> Option<f64> {
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

/// The `risk_probability` column of a published risk-scores or unit-scores file.
pub async fn probabilities(lake: &Lake, table: &str, path: &str) -> Result<Vec<f64>> {
    let batches = lake.read_all(path, Some(&["risk_probability"])).await?;
    let mut out = Vec::new();
    for b in &batches {
        out.extend(
            Columns::new(table, b)
                .f64s("risk_probability")?
                .into_iter()
                .flatten(),
        );
    }
    Ok(out)
}
