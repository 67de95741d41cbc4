//! `model_report.json`: the backtest's metrics, every candidate, lift by risk level, the
//! calibration and how it did out of time, the backtest by district and use type, the
//! oracle's AUC and the withheld next year where the inbox has the generator's truth, and
//! drift against the previous run.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{BooleanArray, Float64Array, RecordBatch, StringArray};
use datafusion::prelude::SessionContext;
use firecredit_models::artifact::ModelKind;
use firecredit_models::calibration::Calibration;
use firecredit_models::metrics::{self, CalibrationCheck};
use serde::Serialize;

use super::fit::Fitted;
use super::scoring::{MODEL_BY_GROUP, RISK_LEVELS};
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
    /// How the published model's log-odds become probabilities (`published`), and the figures
    /// that made it: the backtest's slope, the last two years' rates, their trend and the
    /// projected rate (docs/decisions.md 97).
    pub calibration: Calibration,
    /// The backtest model's probabilities at the test cutoff as the method would have
    /// published them without the test year's labels (its log-odds anchored to its own training
    /// year's rate), against what happened: calibration in the large (`mean_predicted` against
    /// `observed_rate`), calibration slope, Brier score, reliability deciles. The published map
    /// corrects the slope and the level drift this shows.
    pub backtest_calibration: CalibrationCheck,
    /// The backtest by district and by use type: units, fires, mean predicted (the calibrated
    /// backtest probabilities) against observed, AUC within the group.
    pub by_district: Vec<GroupCheck>,
    pub by_use_type: Vec<GroupCheck>,
    /// AUC of the generator's true probabilities at the backtest cutoff, when the inbox has them.
    pub oracle_auc: Option<f64>,
    /// Where the inbox has the generator's truth: today's published probabilities against the
    /// realised 365 days after `as_of` (never in the inbox), and the true probabilities on the
    /// same units for comparison.
    pub withheld_year: Option<WithheldYear>,
    /// PSI of today's probabilities against the previous published run's.
    pub psi_vs_previous: Option<f64>,
    /// Why a constant model was used, when it was.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupCheck {
    pub group: String,
    pub units: i64,
    pub fires: i64,
    pub mean_predicted: f64,
    pub observed_rate: f64,
    pub auc: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WithheldYear {
    pub as_of: String,
    pub model: CalibrationCheck,
    pub oracle: CalibrationCheck,
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
    /// Risk levels of those units, and the backtest by group, from the chosen candidate's
    /// probabilities.
    pub tables: BacktestTables,
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
        bt: Backtest<'_>,
        truth: Truth,
        psi_vs_previous: Option<f64>,
    ) -> ModelReport {
        let chosen = fitted.chosen();
        let (p, y) = (&chosen.test_p, bt.labels);
        let rate = y.iter().filter(|l| **l).count() as f64 / y.len().max(1) as f64;
        let ranking = metrics::Ranking::new(p, y);
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
            ks: ranking.ks(),
            precision_at: shares(&|s| ranking.precision_at(s)),
            recall_at: shares(&|s| ranking.recall_at(s)),
            lift_at: shares(&|s| ranking.precision_at(s) / rate.max(1e-12)),
            lift_by_level: lift_by_level(&bt.tables.levels, y, rate),
            calibration_deciles: ranking.calibration_deciles(),
            calibration: fitted.calibration,
            backtest_calibration: metrics::calibration_check(&fitted.backtest_anchored_p, y),
            by_district: bt.tables.by_district,
            by_use_type: bt.tables.by_use_type,
            oracle_auc: truth.oracle_auc,
            withheld_year: truth.withheld_year,
            psi_vs_previous,
            notes: fitted.notes.clone(),
        }
    }
}

/// What the backtest's SQL gives: risk levels in `unit_ids` order, and the backtest by group.
pub struct BacktestTables {
    pub levels: Vec<i32>,
    pub by_district: Vec<GroupCheck>,
    pub by_use_type: Vec<GroupCheck>,
}

/// The backtest's probabilities at its test cutoff through the SQL of a day: risk levels by
/// `sql/risk/risk_levels.sql` with that day's `unit_status`, and `sql/risk/model_by_group.sql`
/// with the units of `ctx`.
pub async fn backtest_tables(
    ctx: &SessionContext,
    params: &Params,
    unit_ids: &[String],
    test_p: &[f64],
    labels: &[bool],
) -> Result<BacktestTables> {
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
        ("fire", Arc::new(BooleanArray::from(labels.to_vec())) as _),
    ])?;
    register_batch(&day, "risk_scores", scores).await?;
    for table in ["unit_status", "units"] {
        day.register_table(table, ctx.table_provider(table).await?)?;
    }
    register_view(&day, &RISK_LEVELS, params).await?;
    register_view(&day, &MODEL_BY_GROUP, params).await?;
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
    let levels = unit_ids
        .iter()
        .map(|u| {
            by_unit
                .get(u)
                .copied()
                .ok_or_else(|| Error::Internal(format!("backtest unit {u} has no risk level")))
        })
        .collect::<Result<_>>()?;
    let (mut by_district, mut by_use_type) = (Vec::new(), Vec::new());
    for b in day.table(MODEL_BY_GROUP.name).await?.collect().await? {
        let t = Columns::new(MODEL_BY_GROUP.name, &b);
        let (grouping, group) = (t.text("grouping")?, t.text("group")?);
        let (units, fires) = (t.i64s("units")?, t.i64s("fires")?);
        let (mean, observed, auc) = (
            t.f64s("mean_predicted")?,
            t.f64s("observed_rate")?,
            t.f64s("auc")?,
        );
        for r in 0..t.rows() {
            let row = GroupCheck {
                group: group[r].clone().unwrap_or_default(),
                units: units[r].unwrap_or(0),
                fires: fires[r].unwrap_or(0),
                mean_predicted: mean[r].unwrap_or(f64::NAN),
                observed_rate: observed[r].unwrap_or(f64::NAN),
                auc: auc[r],
            };
            match grouping[r].as_deref() {
                Some("district") => by_district.push(row),
                _ => by_use_type.push(row),
            }
        }
    }
    Ok(BacktestTables {
        levels,
        by_district,
        by_use_type,
    })
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

/// What the generator's truth (`_truth/fire_truth.csv`) adds to the report, when given.
#[derive(Default)]
pub struct Truth {
    pub oracle_auc: Option<f64>,
    pub withheld_year: Option<WithheldYear>,
}

/// Each unit's true probability and realised outcome at one cutoff of the truth file.
type TruthAt = foldhash::HashMap<String, (f64, bool)>;

/// Each unit's true probability and realised outcome at each of `cutoffs` in the truth file,
/// in one pass.
fn truth_at(path: &Path, cutoffs: [&str; 2]) -> Result<[TruthAt; 2]> {
    let bad =
        |e: &dyn std::fmt::Display| Error::Invalid(format!("truth file {}: {e}", path.display()));
    let mut reader = csv::Reader::from_path(path).map_err(|e| bad(&e))?;
    let mut out = [TruthAt::default(), TruthAt::default()];
    // One record reused, and text made only for the rows at a wanted cutoff (a few of many).
    let mut rec = csv::ByteRecord::new();
    while reader.read_byte_record(&mut rec).map_err(|e| bad(&e))? {
        let Some(k) = cutoffs
            .iter()
            .position(|c| rec.get(1) == Some(c.as_bytes()))
        else {
            continue;
        };
        let text = |i: usize| rec.get(i).and_then(|v| std::str::from_utf8(v).ok());
        match (text(0), text(2).and_then(|v| v.parse::<f64>().ok())) {
            (Some(unit), Some(p)) => {
                out[k].insert(unit.to_string(), (p, rec.get(3) == Some(b"1")));
            }
            _ => return Err(bad(&format!("bad row {rec:?}"))),
        }
    }
    Ok(out)
}

/// The truth file read on the blocking pool ([`Truth::start`]): the oracle's AUC at the
/// backtest's test cutoff and each unit's truth at `as_of`.
pub struct TruthRead {
    task: tokio::task::JoinHandle<Result<(Option<f64>, TruthAt)>>,
    as_of: String,
}

impl Truth {
    /// Starts reading the truth file (`truth`, when given) on the blocking pool: one core for
    /// about two seconds at GD-1M, so it is started where the run leaves a core idle (the risk
    /// scores' planning) and [`Truth::read`] takes it when the report needs it.
    pub fn start(truth: Option<&Path>, test_cut: String, as_of: String) -> Option<TruthRead> {
        let path = truth?.to_path_buf();
        let cutoffs = [test_cut, as_of.clone()];
        let task = tokio::task::spawn_blocking(move || {
            let [backtest, next] = truth_at(&path, [&cutoffs[0], &cutoffs[1]])?;
            let (p, y): (Vec<f64>, Vec<bool>) = backtest.into_values().unzip();
            Ok((metrics::roc_auc(&p, &y), next))
        });
        Some(TruthRead { task, as_of })
    }

    /// The oracle's AUC at the backtest's test cutoff, and today's published probabilities
    /// (the file at `risk_scores`, open units) against the realised year after the `as_of`
    /// given to [`Truth::start`].
    pub async fn read(truth: Option<TruthRead>, lake: &Lake, risk_scores: &str) -> Result<Truth> {
        let Some(TruthRead { task, as_of }) = truth else {
            return Ok(Truth::default());
        };
        let (oracle_auc, next) = task
            .await
            .map_err(|e| Error::Internal(format!("reading the truth file: {e}")))??;
        let (mut model, mut oracle, mut fire) = (Vec::new(), Vec::new(), Vec::new());
        for b in lake
            .read_all(risk_scores, Some(&["unit_id", "open", "risk_probability"]))
            .await?
        {
            let t = Columns::new("risk_scores", &b);
            let (ids, open, prob) = (
                t.strings("unit_id")?,
                t.bools("open")?,
                t.f64s("risk_probability")?,
            );
            for (r, p) in prob.into_iter().enumerate() {
                let known = next.get(ids.value(r));
                if let (true, Some(p), Some((truth_p, y))) = (open.value(r), p, known) {
                    model.push(p);
                    oracle.push(*truth_p);
                    fire.push(*y);
                }
            }
        }
        let withheld_year = (!model.is_empty()).then(|| WithheldYear {
            as_of,
            model: metrics::calibration_check(&model, &fire),
            oracle: metrics::calibration_check(&oracle, &fire),
        });
        Ok(Truth {
            oracle_auc,
            withheld_year,
        })
    }
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
