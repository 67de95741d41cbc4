//! Pass 2: settle versions and write the new table files.
//!
//! Keyed sources: the same id sent again is an update. Versions are folded in arrival order
//! (the lake's current row, then rows released from the quarantine, then this ingest's files in
//! path byte order, rows in file order): a newcomer replaces the current winner unless both
//! carry `updated_at` and the newcomer's is earlier. The loser is `superseded`. Only the id and
//! `updated_at` are read to decide; a staged file none of whose rows lost is moved into the
//! table, the other files' winners are written again.
//!
//! `iot_events`: the whole row is the identity (`identity.rs`); a row equal to one already kept
//! (in the lake or earlier in this ingest) is superseded. Rows are stored by local month, so only
//! the months an ingest touches are read back to find duplicates, and a staged month part with
//! none is moved into the table instead of being written again.

use std::collections::BTreeMap;

use foldhash::HashMap;

use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::TimestampMicrosecondType;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use super::batch::RowBatchBuilder;
use super::identity::{self, IdentitySet, RowHasher};
use super::stage::{month_of, StagedFile};
use crate::contract::values::Value;
use crate::contract::Source;
use crate::error::{Error, Result};
use crate::lake::schema::LakeSchema;
use crate::lake::tables::{self, QuarantineRow};
use crate::lake::{DataFile, Lake, Snapshot};

pub struct KeyedOut {
    pub files: Vec<DataFile>,
    /// Per staged file (its index), how many of its rows lost to another version.
    pub superseded: Vec<(usize, u64)>,
    /// Units: ids whose winning version came from this ingest → the inbox file it came from
    /// (releases are credited to that file). Empty for the other sources, which need no such
    /// map.
    pub winners: HashMap<String, String>,
}

type Released = Vec<(QuarantineRow, Vec<Value>)>;

fn released_batch(
    source: Source,
    seq: u64,
    rows: &[(QuarantineRow, Vec<Value>)],
) -> Option<RecordBatch> {
    if rows.is_empty() {
        return None;
    }
    let mut b = RowBatchBuilder::new(source);
    for (q, values) in rows {
        b.push(values, seq, &q.file, q.line);
    }
    Some(b.finish())
}

/// A slot of the fold: released rows (as one in-memory batch) or a staged file's parts.
enum Input<'a> {
    Memory(RecordBatch),
    Staged(&'a StagedFile),
}

impl Input<'_> {
    /// Number of parts (a staged file may have several; released rows are one).
    fn parts(&self) -> usize {
        match self {
            Input::Memory(_) => 1,
            Input::Staged(s) => s.parts.len(),
        }
    }

    /// The batches of one part, streamed so that a large file is never held whole; only
    /// `columns` (indices of the lake schema) when given.
    async fn stream(
        &self,
        lake: &Lake,
        part: usize,
        columns: Option<&[usize]>,
    ) -> Result<BoxStream<'static, Result<RecordBatch>>> {
        Ok(match (self, columns) {
            (Input::Memory(b), None) => futures::stream::iter([Ok(b.clone())]).boxed(),
            (Input::Memory(b), Some(c)) => futures::stream::iter([Ok(b.project(c)?)]).boxed(),
            (Input::Staged(s), columns) => {
                let schema = s.source.lake_schema();
                let names: Option<Vec<&str>> =
                    columns.map(|c| c.iter().map(|i| schema.field(*i).name().as_str()).collect());
                lake.read_parquet(&s.parts[part].file.path, names.as_deref())
                    .await?
                    .boxed()
            }
        })
    }
}

#[derive(Clone, Copy)]
struct Current {
    ts: Option<i64>,
    /// `(slot, part, row)` of the winning new row; `None` while the lake's row wins.
    at: Option<(u32, u32, u32)>,
}

fn ids(batch: &RecordBatch) -> &datafusion::arrow::array::StringArray {
    batch.column(0).as_string::<i32>()
}

fn timestamps(
    batch: &RecordBatch,
    idx: Option<usize>,
) -> Option<&datafusion::arrow::array::TimestampMicrosecondArray> {
    idx.map(|i| batch.column(i).as_primitive::<TimestampMicrosecondType>())
}

pub async fn resolve_keyed(
    lake: &Lake,
    base: &Snapshot,
    seq: u64,
    tag: &str,
    source: Source,
    staged: &[StagedFile],
    released: Released,
) -> Result<KeyedOut> {
    let ts_idx = source.updated_at_field();
    let old_files = base.files(source.name());
    let mut inputs: Vec<Input> = Vec::new();
    let mut slot_file: Vec<Option<usize>> = Vec::new();
    let released_files: Vec<String> = released.iter().map(|(q, _)| q.file.clone()).collect();
    if let Some(b) = released_batch(source, seq, &released) {
        inputs.push(Input::Memory(b));
        slot_file.push(None);
    }
    for (i, s) in staged.iter().enumerate() {
        if s.source == source && !s.parts.is_empty() {
            inputs.push(Input::Staged(s));
            slot_file.push(Some(i));
        }
    }

    // The lake's `updated_at` per id, where the source has one.
    let mut old_ts: HashMap<String, Option<i64>> = HashMap::default();
    if let Some(ti) = ts_idx {
        let id_name = source.fields()[0].name;
        let ts_name = source.fields()[ti].name;
        for f in old_files {
            let mut stream = lake
                .read_parquet(&f.path, Some(&[id_name, ts_name]))
                .await?;
            while let Some(b) = stream.try_next().await? {
                let ts = b.column(1).as_primitive::<TimestampMicrosecondType>();
                for (r, id) in ids(&b).iter().enumerate() {
                    if let Some(id) = id {
                        old_ts.insert(id.to_string(), (!ts.is_null(r)).then(|| ts.value(r)));
                    }
                }
            }
        }
    }

    let mut superseded = vec![0u64; inputs.len()];
    let mut current: HashMap<String, Current> = HashMap::default();
    let mut part_rows: Vec<Vec<usize>> = Vec::new();
    // The versions are decided on the id and `updated_at` alone: only they are read, the
    // `updated_at` as the projection's second column.
    let key_columns: Vec<usize> = std::iter::once(0).chain(ts_idx).collect();
    let key_ts = ts_idx.map(|_| 1);
    for (slot, input) in inputs.iter().enumerate() {
        let mut rows_per_part = Vec::new();
        for part in 0..input.parts() {
            let mut row = 0usize;
            let mut batches = input.stream(lake, part, Some(&key_columns)).await?;
            while let Some(b) = batches.try_next().await? {
                let ts = timestamps(&b, key_ts);
                for (r, id) in ids(&b).iter().enumerate() {
                    let id = id.expect("ids are required");
                    let cand_ts = ts.and_then(|t| (!t.is_null(r)).then(|| t.value(r)));
                    let here = (slot as u32, part as u32, (row + r) as u32);
                    let cur = current.entry(id.to_string()).or_insert_with(|| Current {
                        ts: old_ts.get(id).copied().flatten(),
                        at: None,
                    });
                    let loses = matches!((cand_ts, cur.ts), (Some(c), Some(o)) if c < o);
                    if loses {
                        superseded[slot] += 1;
                    } else {
                        if let Some((s, _, _)) = cur.at {
                            superseded[s as usize] += 1;
                        }
                        *cur = Current {
                            ts: cand_ts,
                            at: Some(here),
                        };
                    }
                }
                row += b.num_rows();
            }
            if rows_per_part.len() <= part {
                rows_per_part.resize(part + 1, 0);
            }
            rows_per_part[part] = row;
        }
        part_rows.push(rows_per_part);
    }

    // Keep masks and the winners' files.
    let mut keep: Vec<Vec<Vec<bool>>> = part_rows
        .iter()
        .map(|parts| parts.iter().map(|n| vec![false; *n]).collect())
        .collect();
    let mut winners = HashMap::default();
    for (id, cur) in &current {
        if let Some((s, p, r)) = cur.at {
            keep[s as usize][p as usize][r as usize] = true;
            if source != Source::Units {
                continue;
            }
            let file = match slot_file[s as usize] {
                Some(i) => staged[i].quality.file.clone(),
                None => released_files[r as usize].clone(),
            };
            winners.insert(id.clone(), file);
        }
    }

    // Old files: rewritten only where one of their ids was replaced (a new row won it).
    let mut files = Vec::new();
    let schema = source.lake_schema();
    let id_name = source.fields()[0].name;
    let won_anew = |id: &str| current.get(id).is_some_and(|c| c.at.is_some());
    for (k, f) in old_files.iter().enumerate() {
        let replaced = |b: &RecordBatch| -> BooleanArray {
            ids(b)
                .iter()
                .map(|id| Some(id.is_none_or(|id| !won_anew(id))))
                .collect()
        };
        let mut id_batches = lake.read_parquet(&f.path, Some(&[id_name])).await?;
        let mut touched = false;
        while let Some(b) = id_batches.try_next().await? {
            let keep = replaced(&b);
            if keep.true_count() < keep.len() {
                touched = true;
                break;
            }
        }
        if !touched {
            files.push(f.clone());
            continue;
        }
        let path = format!("tables/{}/part-{tag}-r{k:04}.parquet", source.name());
        let mut writer = lake.table_writer(path, schema.clone());
        let mut batches = lake.read_parquet(&f.path, None).await?;
        while let Some(b) = batches.try_next().await? {
            writer
                .write(&filter_record_batch(&b, &replaced(&b))?)
                .await?;
        }
        files.extend(writer.finish().await?);
    }

    // This ingest's winners, in arrival order: a staged part whose rows all win becomes a table
    // file as it is (`part-<tag>-<order>.parquet`), the others' winners are streamed into
    // `part-<tag>.parquet`.
    let path = format!("tables/{}/part-{tag}", source.name());
    let mut writer = lake.table_writer(format!("{path}.parquet"), schema);
    for (input, keep) in inputs.iter().zip(&keep) {
        for (part, keep) in keep.iter().enumerate() {
            if let (Input::Staged(s), true) = (input, keep.iter().all(|k| *k)) {
                let file = &s.parts[part].file;
                let to = match part {
                    0 => format!("{path}-{:06}.parquet", s.order),
                    _ => format!("{path}-{:06}-{part}.parquet", s.order),
                };
                lake.rename(&file.path, &to).await?;
                files.push(DataFile {
                    path: to,
                    ..file.clone()
                });
                continue;
            }
            let mut row = 0usize;
            let mut batches = input.stream(lake, part, None).await?;
            while let Some(b) = batches.try_next().await? {
                let mask: BooleanArray = keep[row..row + b.num_rows()]
                    .iter()
                    .map(|k| Some(*k))
                    .collect();
                row += b.num_rows();
                writer.write(&filter_record_batch(&b, &mask)?).await?;
            }
        }
    }
    files.extend(writer.finish().await?);
    let superseded = superseded
        .into_iter()
        .enumerate()
        .filter_map(|(slot, n)| slot_file[slot].map(|i| (i, n)))
        .collect();
    Ok(KeyedOut {
        files,
        superseded,
        winners,
    })
}

/// One input of a month's de-duplication.
enum MonthInput {
    Released(RecordBatch),
    Part {
        staged: usize,
        order: usize,
        file: DataFile,
        identities: Option<String>,
    },
}

pub async fn resolve_iot(
    lake: &Lake,
    base: &Snapshot,
    seq: u64,
    tag: &str,
    staged: &[StagedFile],
    released: Released,
    parallelism: usize,
) -> Result<IotOut> {
    let source = Source::IotEvents;
    // Month → inputs in arrival order: released rows first, then staged parts.
    let mut months: BTreeMap<i32, Vec<MonthInput>> = BTreeMap::new();
    let mut released_by_month: BTreeMap<i32, Vec<(QuarantineRow, Vec<Value>)>> = BTreeMap::new();
    for (q, v) in released {
        let month = match v[2] {
            Value::Timestamp(ts) => month_of(ts),
            _ => return Err(Error::Internal("released IoT row without ts".into())),
        };
        released_by_month.entry(month).or_default().push((q, v));
    }
    for (month, rows) in &released_by_month {
        if let Some(b) = released_batch(source, seq, rows) {
            months
                .entry(*month)
                .or_default()
                .push(MonthInput::Released(b));
        }
    }
    for (i, s) in staged.iter().enumerate() {
        if s.source != source {
            continue;
        }
        for p in &s.parts {
            let month = p.month.expect("IoT parts carry their month");
            months.entry(month).or_default().push(MonthInput::Part {
                staged: i,
                order: s.order,
                file: p.file.clone(),
                identities: p.identities.clone(),
            });
        }
    }

    // Months are independent: resolved side by side (each on its own task, so on its own core),
    // their files kept in month order.
    let tasks = months.into_iter().map(|(month, inputs)| {
        let dir = tables::month_partition(month);
        let old: Vec<DataFile> = base
            .files(source.name())
            .iter()
            .filter(|f| f.path.contains(&format!("/{dir}/")))
            .cloned()
            .collect();
        let path = format!("tables/{}/{dir}/part-{tag}", source.name());
        let lake = lake.clone();
        async move {
            tokio::spawn(resolve_month(lake, old, path, inputs))
                .await
                .map_err(|e| Error::Internal(format!("resolving IoT month {month}: {e}")))?
        }
    });
    let resolved: Vec<Month> = futures::stream::iter(tasks)
        .buffered(parallelism.max(1))
        .try_collect()
        .await?;
    let mut out = IotOut {
        files: base.files(source.name()).to_vec(),
        superseded: Vec::new(),
    };
    for month in resolved {
        out.files.extend(month.files);
        out.superseded.extend(month.superseded);
    }
    Ok(out)
}

/// The IoT table's files after the ingest, and per staged file (its index) how many of its
/// rows were duplicates.
pub struct IotOut {
    pub files: Vec<DataFile>,
    pub superseded: Vec<(usize, u64)>,
}

/// A resolved IoT month: its new files, and per staged file how many of its rows were
/// duplicates.
struct Month {
    files: Vec<DataFile>,
    superseded: Vec<(usize, u64)>,
}

/// One month of IoT events: the rows of `inputs` not already in the month's `old` files (nor
/// earlier in `inputs`). A staged part with no such row becomes a table file as it is
/// (`<path>-<order>.parquet`); the rest are written to `<path>.parquet`. Staging dropped each
/// file's resends, so on real feeds most parts go in without being written again, and left
/// each part's row identities beside it, so a part is read only if it has rows to drop.
async fn resolve_month(
    lake: Lake,
    old: Vec<DataFile>,
    path: String,
    inputs: Vec<MonthInput>,
) -> Result<Month> {
    let hasher = RowHasher::new()?;
    let rows = old.iter().map(|f| f.rows).sum::<u64>()
        + inputs
            .iter()
            .map(|i| match i {
                MonthInput::Released(b) => b.num_rows() as u64,
                MonthInput::Part { file, .. } => file.rows,
            })
            .sum::<u64>();
    let mut seen = IdentitySet::with_capacity(rows as usize);
    for f in &old {
        let mut stream = lake.read_parquet(&f.path, None).await?;
        while let Some(b) = stream.try_next().await? {
            seen.insert_all(&hasher.hashes(&b)?);
        }
    }
    let mut writer = lake.table_writer(format!("{path}.parquet"), Source::IotEvents.lake_schema());
    let mut files = Vec::new();
    let mut superseded = Vec::new();
    for input in inputs {
        let (staged, order, file, identities) = match input {
            MonthInput::Released(b) => {
                let keep = seen.insert_all(&hasher.hashes(&b)?);
                writer
                    .write(&filter_record_batch(&b, &keep.into())?)
                    .await?;
                continue;
            }
            MonthInput::Part {
                staged,
                order,
                file,
                identities,
            } => (staged, order, file, identities),
        };
        // Which rows are new, from the identities staging kept or else from the rows; the part
        // is read (again) only if some are not.
        let keep: Vec<bool> = match identities {
            Some(side) => {
                let bytes = lake.get(&side).await?;
                let ids: Vec<u128> = identity::from_bytes(&bytes)
                    .filter(|_| bytes.len() as u64 == 16 * file.rows)
                    .ok_or_else(|| Error::Internal(format!("{side} does not match its part")))?
                    .collect();
                seen.insert_all(&ids)
            }
            None => {
                let mut keep = Vec::with_capacity(file.rows as usize);
                let mut batches = lake.read_parquet(&file.path, None).await?;
                while let Some(b) = batches.try_next().await? {
                    keep.extend(seen.insert_all(&hasher.hashes(&b)?));
                }
                keep
            }
        };
        let dropped = keep.iter().filter(|k| !**k).count();
        superseded.push((staged, dropped as u64));
        if dropped == 0 {
            let to = format!("{path}-{order:06}.parquet");
            lake.rename(&file.path, &to).await?;
            files.push(DataFile { path: to, ..file });
            continue;
        }
        let mut batches = lake.read_parquet(&file.path, None).await?;
        let mut row = 0;
        while let Some(b) = batches.try_next().await? {
            let mask = keep
                .get(row..row + b.num_rows())
                .ok_or_else(|| Error::Internal(format!("{} changed under resolve", file.path)))?;
            let mask = BooleanArray::from(mask.to_vec());
            row += b.num_rows();
            writer.write(&filter_record_batch(&b, &mask)?).await?;
        }
    }
    files.extend(writer.finish().await?);
    Ok(Month { files, superseded })
}

/// Adds resolve's counts (staged file index, rows superseded) to the staged files.
pub fn add_superseded(staged: &mut [StagedFile], counts: &[(usize, u64)]) {
    for (i, n) in counts {
        staged[*i].superseded += n;
    }
}
