//! The feature table (`sql/risk/features.sql`, published) at the model's cutoffs, and its rows
//! read back into datasets for fitting.

use std::sync::Arc;

use datafusion::arrow::array::{Array, BooleanArray, Date32Array, Int64Array, RecordBatch};
use firecredit_models::dataset::Dataset;
use firecredit_models::ndarray::{Array1, Array2};
use futures::TryStreamExt;

use crate::contract::values::local_midnight;
use crate::error::{Error, Result};
use crate::lake::columns::Columns;
use crate::lake::Lake;
use crate::stages::status::cutoffs;

pub const FEATURES_SQL: &str = include_str!("../../../../sql/risk/features.sql");

/// The model's inputs: the `f_*` columns of `features`, rows of open units.
pub struct FeatureRows {
    pub unit_ids: Vec<String>,
    pub data: Dataset,
}

/// `cutoffs (cutoff, cutoff_day, cutoff_end_us, labelled)`: the three cutoffs of the model,
/// the end of each cutoff day in UTC microseconds, and whether its next 365 days are known.
pub fn cutoffs_table(as_of: i32) -> Result<RecordBatch> {
    let days = cutoffs(as_of);
    Ok(RecordBatch::try_from_iter(vec![
        ("cutoff", Arc::new(Date32Array::from(days.to_vec())) as _),
        (
            "cutoff_day",
            Arc::new(Int64Array::from_iter_values(
                days.iter().map(|d| i64::from(*d)),
            )) as _,
        ),
        (
            "cutoff_end_us",
            Arc::new(Int64Array::from_iter_values(
                days.iter().map(|d| local_midnight(d + 1)),
            )) as _,
        ),
        (
            "labelled",
            Arc::new(BooleanArray::from(
                days.iter().map(|d| d + 365 <= as_of).collect::<Vec<_>>(),
            )) as _,
        ),
    ])?)
}

/// `cutoff_days (cutoff, day, days_back)`: each cutoff with the local days of the 1095 days up
/// to and including it (the longest window of the features), `days_back` 0 for the cutoff day.
/// A window of events by day is then an equality join on `day`, which DataFusion builds from
/// this small table (its size is known) and streams the events through, instead of comparing
/// every event with every cutoff's bounds.
pub fn cutoff_days_table(as_of: i32) -> Result<RecordBatch> {
    const DAYS: i32 = 1095;
    let rows = || {
        cutoffs(as_of)
            .into_iter()
            .flat_map(|c| (0..DAYS).map(move |b| (c, b)))
    };
    Ok(RecordBatch::try_from_iter(vec![
        (
            "cutoff",
            Arc::new(Date32Array::from_iter_values(rows().map(|(c, _)| c))) as _,
        ),
        (
            "day",
            Arc::new(Date32Array::from_iter_values(rows().map(|(c, b)| c - b))) as _,
        ),
        (
            "days_back",
            Arc::new(Int64Array::from_iter_values(
                rows().map(|(_, b)| i64::from(b)),
            )) as _,
        ),
    ])?)
}

/// SHA-256 of the training rows: feature names, then per part its unit ids, values (row-major,
/// little-endian) and labels.
pub fn training_data_sha256(parts: &[&FeatureRows]) -> String {
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

/// Reads the open units' rows of each of `wanted` cutoffs from the published feature table at
/// `path`, in one pass.
pub async fn read_features(lake: &Lake, path: &str, wanted: &[i32]) -> Result<Vec<FeatureRows>> {
    let mut stream = lake.read_parquet(path, None).await?;
    let mut names: Vec<String> = Vec::new();
    let n = wanted.len();
    let mut unit_ids: Vec<Vec<String>> = vec![Vec::new(); n];
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut labels: Vec<Vec<Option<bool>>> = vec![Vec::new(); n];
    while let Some(b) = stream.try_next().await? {
        let table = Columns::new("features", &b);
        if names.is_empty() {
            names = table.names_with_prefix("f_");
        }
        let day = table.dates("cutoff")?;
        let open = table.bools("open")?;
        let label = table.bools("label")?;
        let ids = table.strings("unit_id")?;
        let cols = names
            .iter()
            .map(|n| table.f64_array(n))
            .collect::<Result<Vec<_>>>()?;
        for r in 0..b.num_rows() {
            let Some(k) = wanted.iter().position(|c| *c == day.value(r)) else {
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
            .map_err(|e| Error::Internal(format!("feature matrix: {e}")))?;
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
