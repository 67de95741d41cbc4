//! Fitting: both candidates at the backtest's training cutoff, each judged out of time at its
//! test cutoff; the chosen kind refitted a year later for publication.

use firecredit_models::artifact::{Model, ModelKind};
use firecredit_models::calibration::Platt;
use firecredit_models::dataset::Dataset;
use firecredit_models::forest::{ForestError, ForestModel, ForestParams};
use firecredit_models::logistic::{LogisticError, LogisticModel, LogisticParams};
use firecredit_models::metrics;
use serde::Serialize;

use super::features::FeatureRows;
use crate::error::{Error, Result};

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

/// Fits the logistic model; where the training cutoff has no fire (or only fires), a constant
/// model at the smoothed observed rate: every unit gets the same probability, and the report
/// says why.
fn fit_logistic(
    data: &Dataset,
    start: Option<&LogisticModel>,
) -> Result<(LogisticModel, Option<String>)> {
    let params = LogisticParams::default()
        .check()
        .map_err(|e| Error::Model(e.to_string()))?;
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
        Err(e) => Err(Error::Model(e.to_string())),
    }
}

/// Fits the forest; none where the training cutoff has a single class.
fn fit_forest(data: &Dataset) -> Result<Option<ForestModel>> {
    let params = ForestParams::default()
        .check()
        .map_err(|e| Error::Model(e.to_string()))?;
    match params.fit(data) {
        Ok(m) => Ok(Some(m)),
        Err(ForestError::OneClass { .. }) => Ok(None),
        Err(e) => Err(Error::Model(e.to_string())),
    }
}

/// A model fitted at the backtest's training cutoff and judged at its test cutoff.
pub struct Candidate {
    pub kind: ModelKind,
    pub calibration: Platt,
    /// Calibrated probabilities of the test cutoff's rows.
    pub test_p: Vec<f64>,
    pub auc: Option<f64>,
}

impl Candidate {
    fn judge(kind: ModelKind, model: &Model, test: &Dataset) -> Candidate {
        let logit = model.logit(test);
        let labels = test.labels().to_vec();
        let calibration = if labels.iter().any(|l| *l) && labels.iter().any(|l| !*l) {
            Platt::fit(&logit, &labels)
        } else {
            Platt::IDENTITY
        };
        let test_p: Vec<f64> = logit.iter().map(|s| calibration.apply(*s)).collect();
        let auc = metrics::roc_auc(&test_p, &labels);
        Candidate {
            kind,
            calibration,
            test_p,
            auc,
        }
    }
}

/// What the fits produced: the candidates judged in the backtest, the index of the chosen one,
/// the published model and the logistic model refitted for the scorecard.
pub struct Fitted {
    pub candidates: Vec<Candidate>,
    pub chosen: usize,
    pub kind: ModelKind,
    pub model: Model,
    pub logistic: LogisticModel,
    /// Why a constant model was used, when it was.
    pub notes: Vec<String>,
}

impl Fitted {
    pub fn chosen(&self) -> &Candidate {
        &self.candidates[self.chosen]
    }
}

/// Backtest: fit at `train`, judge at `test` (out of time); then the chosen kind refitted at
/// `test`, calibrated as the backtest found. The logistic fit is sequential, so the forest
/// grows on the other cores meanwhile. The logistic model is refitted in any case (the
/// scorecard reads it), starting where the backtest's ended (a year later, nearly the same
/// optimum).
pub fn fit(train: &FeatureRows, test: &FeatureRows, choice: ModelChoice) -> Result<Fitted> {
    let want_forest = choice != ModelChoice::Logistic;
    let (lr, forest) = rayon::join(
        || fit_logistic(&train.data, None),
        || match want_forest {
            true => fit_forest(&train.data),
            false => Ok(None),
        },
    );
    let (bt_lr, bt_note) = lr?;
    let first = match bt_note {
        Some(_) => ModelKind::Constant,
        None => ModelKind::Logistic,
    };
    let mut candidates = vec![Candidate::judge(
        first,
        &Model::Logistic(bt_lr.clone()),
        &test.data,
    )];
    if let Some(f) = forest? {
        candidates.push(Candidate::judge(
            ModelKind::Forest,
            &Model::Forest(f),
            &test.data,
        ));
    }
    let chosen = match choice {
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
    let start = bt_note.is_none().then_some(&bt_lr);
    let final_forest = candidates[chosen].kind == ModelKind::Forest;
    let (lr, forest) = rayon::join(
        || fit_logistic(&test.data, start),
        || match final_forest {
            true => fit_forest(&test.data),
            false => Ok(None),
        },
    );
    let (final_lr, final_note) = lr?;
    let (kind, model) = match forest? {
        Some(f) => (ModelKind::Forest, Model::Forest(f)),
        None if bt_note.is_some() || final_note.is_some() => {
            (ModelKind::Constant, Model::Logistic(final_lr.clone()))
        }
        None => (ModelKind::Logistic, Model::Logistic(final_lr.clone())),
    };
    Ok(Fitted {
        candidates,
        chosen,
        kind,
        model,
        logistic: final_lr,
        notes: bt_note.into_iter().chain(final_note).collect(),
    })
}
