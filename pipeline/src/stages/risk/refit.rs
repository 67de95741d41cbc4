//! `run --refit`: whether a run fits its models or judges and calibrates again the models the
//! previous run fitted (the last committed run at or before this day,
//! [`crate::engine::StageContext::last`]) (its `fits.cbor`, [`Fits`]: CBOR, so that every number reads back
//! exactly). Fitting is the run's longest step; judging
//! and calibrating is a pass over the rows.
//!
//! - `always`: fit.
//! - `auto` (the default): reuse the previous run's models when they were fitted on the same
//!   rows, with the same model choice and hyper-parameters by the same firecredit version (the
//!   [`fits_key`]): the outputs are then those of fitting again. Otherwise fit.
//! - `never`: reuse the previous run's models whatever rows they were fitted on (fit when there
//!   are none, or they were fitted for another `--model`): the models age by a day a night,
//!   the backtest and the calibration are those of today's rows.
//!
//! The manifest's `reuse.fits` records which, and why.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::fit::{Fits, ModelChoice, FITS_FORMAT};
use crate::engine::StageContext;
use crate::error::Result;
use crate::lake::publish::Reuse;

/// The output the models are published as, and the manifest's `reuse` entry for them.
pub const FITS: &str = "fits";
/// Its format (the file's extension).
pub const FITS_FORMAT_EXT: &str = "cbor";

/// The published bytes of `fits`.
pub fn encode(fits: &Fits) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    ciborium::into_writer(fits, &mut bytes)
        .map_err(|e| crate::error::Error::Internal(format!("fits: {e}")))?;
    Ok(bytes)
}

/// Whether a run fits its models.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Refit {
    /// Fit the models.
    Always,
    /// Reuse the previous run's models when fitted on the same rows the same way; else fit.
    #[default]
    Auto,
    /// Reuse the previous run's models (fit only when there are none for this --model).
    Never,
}

impl Refit {
    fn name(self) -> &'static str {
        match self {
            Refit::Always => "always",
            Refit::Auto => "auto",
            Refit::Never => "never",
        }
    }
}

/// SHA-256 of what fitting reads: the training rows' digest
/// ([`super::features::training_data_sha256`]), the model choice, the hyper-parameters and the
/// firecredit version (which fixes the fitting code).
pub fn fits_key(data_sha256: &str, choice: ModelChoice) -> String {
    use firecredit_models::boosting::BoostingParams;
    use firecredit_models::forest::ForestParams;
    use firecredit_models::logistic::LogisticParams;
    let how = format!(
        "{FITS_FORMAT}\n{}\n{choice:?}\n{:?}\n{:?}\n{:?}",
        env!("CARGO_PKG_VERSION"),
        LogisticParams::default(),
        ForestParams::default(),
        BoostingParams::default()
    );
    let mut hasher = Sha256::new();
    hasher.update(data_sha256.as_bytes());
    hasher.update([0]);
    hasher.update(how.as_bytes());
    format!("{:x}", hasher.finalize())
}

/// The previous run's models to judge again instead of fitting (none: fit), and what the
/// manifest records.
pub async fn previous_fits(
    cx: &StageContext,
    refit: Refit,
    key: &str,
    choice: ModelChoice,
) -> Result<(Option<Fits>, Reuse)> {
    let fitted = |detail: String| {
        tracing::info!(refit = refit.name(), %detail, "models fitted");
        Reuse {
            mode: "fitted".into(),
            key: key.to_string(),
            from: None,
            detail,
        }
    };
    if refit == Refit::Always {
        return Ok((None, fitted("--refit always (or --full)".into())));
    }
    let Some(previous) = &cx.last else {
        return Ok((None, fitted("no earlier run".into())));
    };
    let day = &previous.as_of;
    let Some(output) = previous.output(FITS, FITS_FORMAT_EXT) else {
        return Ok((
            None,
            fitted(format!("the run of {day} published no models")),
        ));
    };
    let read = match cx.lake.get(&output.path).await {
        Ok(bytes) => ciborium::from_reader::<Fits, _>(&bytes[..]).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let fits = match read {
        Ok(fits) => fits,
        Err(e) => {
            let detail = format!("the models of {day} cannot be read: {e}");
            return Ok((None, fitted(detail)));
        }
    };
    let why = if fits.format != FITS_FORMAT {
        Some(format!("the models of {day} are of format {}", fits.format))
    } else if fits.choice != choice {
        Some(format!(
            "the models of {day} were chosen for another --model"
        ))
    } else if refit == Refit::Auto && fits.key != key {
        Some(format!(
            "the training rows (or how they are fitted) changed since {day}"
        ))
    } else {
        None
    };
    if let Some(why) = why {
        return Ok((None, fitted(why)));
    }
    let detail = match refit {
        Refit::Never => format!("--refit never: the models fitted for {day}"),
        _ => format!("the training rows and how they are fitted are those of {day}"),
    };
    tracing::info!(refit = refit.name(), %detail, "models reused");
    let record = Reuse {
        mode: "reused".into(),
        key: fits.key.clone(),
        from: Some(previous.dir.clone()),
        detail,
    };
    Ok((Some(fits), record))
}
