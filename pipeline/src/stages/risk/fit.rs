//! Fitting: the three candidates (logistic regression, forest, boosted trees) at the
//! backtest's training cutoff, each judged out of time at its test cutoff; the chosen kind
//! refitted a year later for publication and calibrated ([`Calibration::projected`]). The
//! fitted models ([`Fits`]) are published so that a later run may judge and calibrate them
//! again instead of fitting anew (`run --refit`).

use firecredit_models::artifact::{Model, ModelKind};
use firecredit_models::boosting::{BoostedModel, BoostingError, BoostingParams};
use firecredit_models::calibration::{
    anchor_intercept, sigmoid, smoothed_rate, Calibration, Platt,
};
use firecredit_models::dataset::Dataset;
use firecredit_models::forest::{ForestError, ForestModel, ForestParams};
use firecredit_models::logistic::{LogisticError, LogisticModel, LogisticParams};
use firecredit_models::metrics;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::features::FeatureRows;
use crate::error::{Error, Result};

/// Which model scores the units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ModelChoice {
    /// The candidate with the highest backtest AUC (logistic on a tie, then the earlier).
    #[default]
    Auto,
    Logistic,
    Forest,
    Boosted,
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
            let rate = smoothed_rate(positives, rows);
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

/// Fits the boosted trees, stopping early on held-out rows, or with `rounds` (the backtest's)
/// on every row; none where the training cutoff has a single class.
fn fit_boosted(data: &Dataset, rounds: Option<usize>) -> Result<Option<BoostedModel>> {
    let params = BoostingParams::default()
        .check()
        .map_err(|e| Error::Model(e.to_string()))?;
    let fitted = match rounds {
        Some(rounds) => params.fit_rounds(data, rounds),
        None => params.fit(data),
    };
    match fitted {
        Ok(m) => Ok(Some(m)),
        Err(BoostingError::OneClass { .. }) => Ok(None),
        Err(e) => Err(Error::Model(e.to_string())),
    }
}

/// Fits the tree model of `kind` (forest or boosted) on `data`, boosted trees with the rounds
/// of `backtest` when given; none for another kind or where the data has a single class.
fn fit_trees(
    kind: ModelKind,
    data: &Dataset,
    backtest: Option<&Model>,
) -> Result<Option<(ModelKind, Model)>> {
    let rounds = match backtest {
        Some(Model::Boosted(m)) => Some(m.rounds),
        _ => None,
    };
    Ok(match kind {
        ModelKind::Forest => fit_forest(data)?.map(|m| (kind, Model::Forest(m))),
        ModelKind::Boosted => fit_boosted(data, rounds)?.map(|m| (kind, Model::Boosted(m))),
        ModelKind::Logistic | ModelKind::Constant => None,
    })
}

/// A model fitted at the backtest's training cutoff and judged at its test cutoff.
pub struct Candidate {
    pub kind: ModelKind,
    /// Platt scaling fitted on the test cutoff's rows (out of time); none where they have a
    /// single class.
    pub calibration: Option<Platt>,
    /// Calibrated probabilities of the test cutoff's rows.
    pub test_p: Vec<f64>,
    pub auc: Option<f64>,
    model: Model,
    /// The model's log-odds of the test cutoff's rows.
    test_logit: Vec<f64>,
}

impl Candidate {
    fn judge(kind: ModelKind, model: Model, test: &Dataset) -> Candidate {
        let logit = model.logit(test);
        let labels = test.labels().to_vec();
        let calibration = (labels.iter().any(|l| *l) && labels.iter().any(|l| !*l))
            .then(|| Platt::fit(&logit, &labels));
        let platt = calibration.unwrap_or(Platt::IDENTITY);
        let test_p: Vec<f64> = logit.iter().map(|s| platt.apply(*s)).collect();
        let auc = metrics::roc_auc(&test_p, &labels);
        Candidate {
            kind,
            calibration,
            test_p,
            auc,
            model,
            test_logit: logit,
        }
    }

    /// The test cutoff's probabilities as the model would have published them without the
    /// test year's labels: its log-odds anchored to its training year's observed rate (`train`,
    /// its training rows).
    fn anchored_test_p(&self, train: &Dataset) -> Vec<f64> {
        let labels = train.labels();
        let rate = smoothed_rate(labels.iter().filter(|l| **l).count(), labels.len());
        let anchor = anchor_intercept(&self.model.logit(train), 1.0, rate);
        self.test_logit
            .iter()
            .map(|s| sigmoid(s + anchor))
            .collect()
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
    /// How the published model's log-odds become probabilities.
    pub calibration: Calibration,
    /// The chosen candidate's test-cutoff probabilities anchored to its training year
    /// ([`Candidate::anchored_test_p`]).
    pub backtest_anchored_p: Vec<f64>,
    /// Why a constant model was used, when it was.
    pub notes: Vec<String>,
}

impl Fitted {
    pub fn chosen(&self) -> &Candidate {
        &self.candidates[self.chosen]
    }

    /// The fitted models, to publish: `key` and `on` name what they were fitted on.
    pub fn fits(&self, key: String, choice: ModelChoice, on: FittedOn) -> Fits {
        Fits {
            format: FITS_FORMAT.into(),
            key,
            on,
            choice,
            candidates: self
                .candidates
                .iter()
                .map(|c| (c.kind, c.model.clone()))
                .collect(),
            chosen: self.chosen,
            kind: self.kind,
            model: self.model.clone(),
            logistic: self.logistic.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// The rows the published model was fitted on, as its artifact names them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FittedOn {
    /// [`super::features::training_data_sha256`] of the backtest's and the final fit's rows.
    pub data_sha256: String,
    /// The final fit's cutoff (`YYYY-MM-DD`) and rows.
    pub training_cutoff: String,
    pub training_rows: usize,
}

/// The format of [`Fits`].
pub const FITS_FORMAT: &str = "firecredit-fits/1";

/// Every model a run fitted (`fits.cbor`): the backtest's candidates in order, the one chosen,
/// the published model and the logistic model of the scorecard. Judging and calibrating them
/// again on the same rows gives what fitting them again gives, for a fraction of the time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fits {
    pub format: String,
    /// SHA-256 of what the models were fitted on and how ([`super::refit::fits_key`]).
    pub key: String,
    pub on: FittedOn,
    pub choice: ModelChoice,
    pub candidates: Vec<(ModelKind, Model)>,
    pub chosen: usize,
    pub kind: ModelKind,
    pub model: Model,
    pub logistic: LogisticModel,
    pub notes: Vec<String>,
}

/// Backtest: fit at `train`, judge at `test` (out of time); then the chosen kind refitted at
/// `test` (boosted trees for the number of rounds the backtest stopped at, on every row), with
/// the backtest's calibration slope and a level set so that the units scored
/// `today` average the fire rate the last two years' trend points to
/// ([`Calibration::projected`]). The logistic fit is sequential, so the trees grow on the
/// other cores meanwhile. The logistic model is refitted in any case (the scorecard reads it),
/// starting where the backtest's ended (a year later, nearly the same optimum). With `reuse`,
/// the models of an earlier run are judged and calibrated instead of fitted.
pub fn fit(
    train: &FeatureRows,
    test: &FeatureRows,
    today: &FeatureRows,
    choice: ModelChoice,
    reuse: Option<&Fits>,
) -> Result<Fitted> {
    let Fitting {
        candidates,
        chosen,
        kind,
        model,
        logistic,
        notes,
    } = match reuse {
        Some(fits) => Fitting::judged(fits, test),
        None => Fitting::fitted(train, test, choice)?,
    };
    let (train_y, test_y) = (train.data.labels().to_vec(), test.data.labels().to_vec());
    let (calibration, backtest_anchored_p) = rayon::join(
        || {
            Calibration::projected(
                candidates[chosen].calibration,
                &train_y,
                &test_y,
                &model.logit(&today.data),
            )
        },
        || candidates[chosen].anchored_test_p(&train.data),
    );
    Ok(Fitted {
        candidates,
        chosen,
        kind,
        model,
        logistic,
        calibration,
        backtest_anchored_p,
        notes,
    })
}

/// The models of a run, judged on the test cutoff's rows.
struct Fitting {
    candidates: Vec<Candidate>,
    chosen: usize,
    kind: ModelKind,
    model: Model,
    logistic: LogisticModel,
    notes: Vec<String>,
}

impl Fitting {
    /// Models fitted before, judged again (side by side: each is its own work).
    fn judged(fits: &Fits, test: &FeatureRows) -> Fitting {
        Fitting {
            candidates: fits
                .candidates
                .par_iter()
                .map(|(kind, model)| Candidate::judge(*kind, model.clone(), &test.data))
                .collect(),
            chosen: fits.chosen,
            kind: fits.kind,
            model: fits.model.clone(),
            logistic: fits.logistic.clone(),
            notes: fits.notes.clone(),
        }
    }

    /// The candidates fitted at `train` and judged at `test`, the chosen kind and the logistic
    /// model fitted again at `test`.
    fn fitted(train: &FeatureRows, test: &FeatureRows, choice: ModelChoice) -> Result<Fitting> {
        let wanted = |kind: ModelKind| match (choice, kind) {
            (ModelChoice::Auto, _) => kind,
            (ModelChoice::Forest, ModelKind::Forest)
            | (ModelChoice::Boosted, ModelKind::Boosted) => kind,
            _ => ModelKind::Logistic,
        };
        // Each candidate is judged as soon as it is fitted, beside the fits still running.
        let judge = |kind, model| Candidate::judge(kind, model, &test.data);
        let trees = |kind| -> Result<Option<Candidate>> {
            Ok(fit_trees(wanted(kind), &train.data, None)?.map(|(k, m)| judge(k, m)))
        };
        let (lr, (forest, boosted)) = rayon::join(
            || {
                fit_logistic(&train.data, None).map(|(lr, note)| {
                    let kind = match note {
                        Some(_) => ModelKind::Constant,
                        None => ModelKind::Logistic,
                    };
                    let judged = judge(kind, Model::Logistic(lr.clone()));
                    (lr, note, judged)
                })
            },
            || rayon::join(|| trees(ModelKind::Forest), || trees(ModelKind::Boosted)),
        );
        let (bt_lr, bt_note, first) = lr?;
        let mut candidates = vec![first];
        candidates.extend([forest?, boosted?].into_iter().flatten());
        let position = |kind| candidates.iter().position(|c| c.kind == kind).unwrap_or(0);
        let chosen = match choice {
            ModelChoice::Logistic => 0,
            ModelChoice::Forest => position(ModelKind::Forest),
            ModelChoice::Boosted => position(ModelKind::Boosted),
            // Strictly better to displace the simpler, readable logistic model (and an earlier
            // candidate).
            ModelChoice::Auto => (1..candidates.len()).fold(0, |best, i| {
                if candidates[i].auc.unwrap_or(0.0) > candidates[best].auc.unwrap_or(0.0) {
                    i
                } else {
                    best
                }
            }),
        };
        let start = bt_note.is_none().then_some(&bt_lr);
        let (lr, trees) = rayon::join(
            || fit_logistic(&test.data, start),
            || {
                let backtest = &candidates[chosen];
                fit_trees(backtest.kind, &test.data, Some(&backtest.model))
            },
        );
        let (final_lr, final_note) = lr?;
        let (kind, model) = match trees? {
            Some(fitted) => fitted,
            None if bt_note.is_some() || final_note.is_some() => {
                (ModelKind::Constant, Model::Logistic(final_lr.clone()))
            }
            None => (ModelKind::Logistic, Model::Logistic(final_lr.clone())),
        };
        Ok(Fitting {
            candidates,
            chosen,
            kind,
            model,
            logistic: final_lr,
            notes: bt_note.into_iter().chain(final_note).collect(),
        })
    }
}
