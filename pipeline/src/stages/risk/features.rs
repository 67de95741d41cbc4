//! The feature table (`sql/risk/features.sql`, published) at the model's cutoffs, and its rows
//! read back into datasets for fitting.

use std::mem::take;
use std::sync::Arc;

use datafusion::arrow::array::{Array, BooleanArray, Date32Array, Int64Array, RecordBatch};
use datafusion::arrow::buffer::NullBuffer;
use firecredit_models::dataset::Dataset;
use firecredit_models::ndarray::{Array1, Array2};
use rayon::prelude::*;

use crate::contract::values::local_midnight;
use crate::error::{Error, Result};
use crate::lake::columns::{names_with_prefix, Columns};
use crate::lake::{Lake, ParquetGroups};
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
/// little-endian) and labels. The bytes go through a buffer: hashing them 8 at a time cost more
/// than the hash itself (0.7 s at GD-1M), and the digest does not depend on how they are cut.
pub fn training_data_sha256(parts: &[&FeatureRows]) -> String {
    use sha2::{Digest, Sha256};
    use std::io::Write;
    let mut h = std::io::BufWriter::with_capacity(1 << 16, Sha256::new());
    // Writing to a hasher never fails.
    let mut put = |bytes: &[u8]| h.write_all(bytes).expect("hashing in memory");
    for part in parts {
        for name in &part.data.names {
            put(name.as_bytes());
            put(&[0]);
        }
        for id in &part.unit_ids {
            put(id.as_bytes());
            put(&[0]);
        }
        for v in part.data.x.iter() {
            put(&v.to_le_bytes());
        }
        if let Some(y) = &part.data.y {
            put(&y.iter().map(|l| u8::from(*l)).collect::<Vec<u8>>());
        }
    }
    let h = h.into_inner().expect("hashing in memory");
    hex::encode(h.finalize())
}

/// Reads the open units' rows of each of `wanted` cutoffs from the published feature table at
/// `path`, in the file's order. The row groups are decoded side by side on the rayon pool: a
/// first pass over `cutoff` and `open` finds where each group's rows go, so that each cutoff's
/// matrix is allocated once at its size and every group writes its own rows of it (at GD-1M,
/// 3 M rows of 50 features; growing the matrices row by row spent half the read in page faults
/// and copies).
pub async fn read_features(lake: &Lake, path: &str, wanted: &[i32]) -> Result<Vec<FeatureRows>> {
    let file = lake.parquet_groups(path).await?;
    let wanted = wanted.to_vec();
    tokio::task::spawn_blocking(move || gather(&file, &wanted))
        .await
        .map_err(|e| Error::Internal(format!("reading the features: {e}")))?
}

/// A row group's rows: the index in `wanted` of each row's cutoff, or `None` (another cutoff,
/// or a closed unit).
type Slots = Vec<Option<u8>>;

/// A row group's unit ids and labels of each wanted cutoff.
type Rows = Vec<(Vec<String>, Vec<Option<bool>>)>;

fn gather(file: &ParquetGroups, wanted: &[i32]) -> Result<Vec<FeatureRows>> {
    let names = names_with_prefix(file.schema(), "f_");
    let width = names.len();
    if wanted.len() > usize::from(u8::MAX) {
        return Err(Error::Internal("at most 255 cutoffs of features".into()));
    }
    let slots = (0..file.groups())
        .into_par_iter()
        .map(|g| {
            let mut slots = Slots::new();
            for b in file.read(g, Some(&["cutoff", "open"]))? {
                let b = b?;
                let table = Columns::new("features", &b);
                let (day, open) = (table.dates("cutoff")?, table.bools("open")?);
                slots.extend((0..b.num_rows()).map(|r| {
                    let k = wanted.iter().position(|c| *c == day.value(r))?;
                    open.value(r).then_some(k as u8)
                }));
            }
            Ok(slots)
        })
        .collect::<Result<Vec<Slots>>>()?;
    // Rows of each cutoff in each group; each cutoff's matrix is cut into the groups' parts.
    let counts: Vec<Vec<usize>> = slots
        .iter()
        .map(|s| {
            let mut c = vec![0; wanted.len()];
            for k in s.iter().flatten() {
                c[usize::from(*k)] += 1;
            }
            c
        })
        .collect();
    let mut values: Vec<Vec<f64>> = (0..wanted.len())
        .map(|k| vec![0.0; counts.iter().map(|c| c[k]).sum::<usize>() * width])
        .collect();
    let mut parts: Vec<Vec<&mut [f64]>> = counts.iter().map(|_| Vec::new()).collect();
    for (k, matrix) in values.iter_mut().enumerate() {
        let mut rest = matrix.as_mut_slice();
        for (g, c) in counts.iter().enumerate() {
            let (part, tail) = rest.split_at_mut(c[k] * width);
            parts[g].push(part);
            rest = tail;
        }
    }
    let columns: Vec<&str> = ["unit_id", "label"]
        .into_iter()
        .chain(names.iter().map(String::as_str))
        .collect();
    let mut rows = parts
        .into_par_iter()
        .zip(&slots)
        .enumerate()
        .map(|(g, (mut parts, slots))| {
            let mut rows: Rows = vec![(Vec::new(), Vec::new()); wanted.len()];
            let mut at = 0;
            for b in file.read(g, Some(&columns))? {
                let b = b?;
                let table = Columns::new("features", &b);
                let (ids, label) = (table.strings("unit_id")?, table.bools("label")?);
                let cols = names
                    .iter()
                    .map(|n| table.f64_array(n))
                    .collect::<Result<Vec<_>>>()?;
                // A null feature (the SQL gives none) is NaN, which the trees send where the
                // compiled SQL sends a NULL; a null slot's value in the buffer is undefined.
                let cols: Vec<(&[f64], Option<&NullBuffer>)> = cols
                    .iter()
                    .map(|c| {
                        (
                            c.values().as_ref(),
                            c.nulls().filter(|n| n.null_count() > 0),
                        )
                    })
                    .collect();
                let group_slots = slots.get(at..at + b.num_rows()).ok_or_else(|| {
                    Error::Internal(format!("features: row group {g} grew between reads"))
                })?;
                for (r, slot) in group_slots.iter().enumerate() {
                    let Some(k) = slot.map(usize::from) else {
                        continue;
                    };
                    let (ids_k, labels_k) = &mut rows[k];
                    let row = ids_k.len() * width;
                    for (v, (c, nulls)) in parts[k][row..row + width].iter_mut().zip(&cols) {
                        *v = match nulls {
                            Some(n) if n.is_null(r) => f64::NAN,
                            _ => c[r],
                        };
                    }
                    ids_k.push(ids.value(r).to_string());
                    labels_k.push((!label.is_null(r)).then(|| label.value(r)));
                }
                at += b.num_rows();
            }
            Ok(rows)
        })
        .collect::<Result<Vec<Rows>>>()?;
    let mut out = Vec::with_capacity(wanted.len());
    for (k, vals) in values.into_iter().enumerate() {
        let ids: Vec<String> = rows.iter_mut().flat_map(|g| take(&mut g[k].0)).collect();
        let labs: Vec<Option<bool>> = rows.iter_mut().flat_map(|g| take(&mut g[k].1)).collect();
        let x = Array2::from_shape_vec((ids.len(), width), vals)
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

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, StringArray};
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::file::properties::WriterProperties;

    /// A feature table of `rows` rows over cutoffs 10, 20 and 30 (some closed units, some
    /// labels and values null).
    fn table(rows: usize) -> RecordBatch {
        let cutoff = |r: usize| [10, 20, 30][r % 3];
        RecordBatch::try_from_iter(vec![
            (
                "unit_id",
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|r| format!("u{r}")),
                )) as _,
            ),
            (
                "cutoff",
                Arc::new(Date32Array::from_iter_values((0..rows).map(cutoff))) as _,
            ),
            (
                "open",
                Arc::new(BooleanArray::from_iter((0..rows).map(|r| Some(r % 5 != 1)))) as _,
            ),
            (
                "label",
                Arc::new(BooleanArray::from_iter(
                    (0..rows).map(|r| (cutoff(r) != 30).then_some(r % 4 == 0)),
                )) as _,
            ),
            (
                "f_a",
                Arc::new(Float64Array::from_iter_values((0..rows).map(|r| r as f64))) as _,
            ),
            (
                "f_b",
                Arc::new(Float64Array::from_iter(
                    (0..rows).map(|r| (r % 6 != 0).then(|| -(r as f64) / 4.0)),
                )) as _,
            ),
        ])
        .unwrap()
    }

    /// [`table`] as `features.parquet` of a new lake, in row groups of 7 rows and batches of 5.
    fn written(rows: usize) -> (tempfile::TempDir, Lake) {
        let dir = tempfile::tempdir().unwrap();
        let file = std::fs::File::create(dir.path().join("features.parquet")).unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(7))
            .set_write_batch_size(5)
            .build();
        let batch = table(rows);
        let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        (dir, lake)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rows_of_every_row_group_are_read_in_the_files_order() {
        let rows = 61;
        let (_dir, lake) = written(rows);
        let read = read_features(&lake, "features.parquet", &[20, 10, 99])
            .await
            .unwrap();
        let batch = table(rows);
        let t = Columns::new("features", &batch);
        let (day, open, f_b) = (
            t.dates("cutoff").unwrap(),
            t.bools("open").unwrap(),
            t.f64_array("f_b").unwrap(),
        );
        for (k, cut) in [20, 10].into_iter().enumerate() {
            let expected: Vec<usize> = (0..rows)
                .filter(|r| day.value(*r) == cut && open.value(*r))
                .collect();
            let part = &read[k];
            let ids: Vec<String> = expected.iter().map(|r| format!("u{r}")).collect();
            assert_eq!(part.unit_ids, ids);
            assert_eq!(part.data.names, ["f_a", "f_b"]);
            assert_eq!(part.data.x.dim(), (expected.len(), 2));
            for (i, r) in expected.iter().enumerate() {
                assert_eq!(part.data.x[[i, 0]], *r as f64);
                let b = part.data.x[[i, 1]];
                match f_b.is_null(*r) {
                    true => assert!(b.is_nan(), "row {r}: {b}"),
                    false => assert_eq!(b, f_b.value(*r)),
                }
            }
            let labels: Vec<bool> = expected.iter().map(|r| r % 4 == 0).collect();
            assert_eq!(part.data.labels().to_vec(), labels);
        }
        assert_eq!(read[2].unit_ids.len(), 0);
        assert_eq!(read[2].data.x.dim(), (0, 2));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_digest_is_that_of_the_bytes_one_by_one() {
        use sha2::{Digest, Sha256};
        let (_dir, lake) = written(40);
        let read = read_features(&lake, "features.parquet", &[10, 20])
            .await
            .unwrap();
        let mut h = Sha256::new();
        for part in &read {
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
            for l in part.data.labels() {
                h.update([u8::from(*l)]);
            }
        }
        assert_eq!(
            training_data_sha256(&[&read[0], &read[1]]),
            hex::encode(h.finalize())
        );
    }
}
