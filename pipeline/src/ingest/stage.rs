//! Pass 1: read one inbox file as a stream, validate every row, and write the candidates (and
//! the quarantined rows) to the staging area batch by batch. IoT rows: by local month, less the
//! file's own resends, each part with its rows' identities beside it (`identity.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::compute::filter_record_batch;
use foldhash::HashSet;
use tokio::runtime::Handle;

use super::batch::RowBatchBuilder;
use super::identity::{self, Recent};
use super::read::{self, Limits, RawRow, ReadError};
use super::InboxFile;
use crate::contract::rules::RuleSet;
use crate::contract::validate::Validator;
use crate::contract::values::{local_day, local_month, Value};
use crate::contract::Source;
use crate::error::Result;
use crate::lake::schema::LakeSchema;
use crate::lake::tables::{self, QualityRow, QuarantineRow};
use crate::lake::{DataFile, Lake, TableWriter};

#[derive(Clone)]
pub struct StageContext {
    pub lake: Lake,
    pub rules: Arc<RuleSet>,
    pub staging: String,
    pub ingest: u64,
    pub batch_rows: usize,
    pub limits: Limits,
}

/// Bytes of rows a staging batch holds before it is written: with rows up to the record limit,
/// a row count alone would not bound memory.
const FLUSH_BYTES: usize = 32 << 20;

/// Rows of one file remembered to drop a device's resends while staging (see [`Recent`]): two
/// generations of 128 Ki identities, 4 MiB each, which stay in the CPU's cache (decision 142).
/// A device resends an event within moments, and providers list a device's rows together, so
/// its resend follows the original within a few rows; one further back is dropped by resolve,
/// which then writes that one part again.
const RECENT_ROWS: usize = 256 * 1024;

/// Identities of a file's staged IoT rows held for their side files (16 bytes each): beyond
/// this, the file's parts get none, and resolve computes them from the rows.
const IDENTITY_ROWS: usize = 4 << 20;

/// One staged Parquet file of candidates; `month` (yyyymm, local) for IoT. Written with the
/// table's own writer, so that a part resolve finds nothing to drop from becomes a table file as
/// it is.
#[derive(Debug, Clone)]
pub struct StagedPart {
    pub file: DataFile,
    pub month: Option<i32>,
    /// IoT: a side file with the identity of each row, in order (`identity::to_bytes`).
    pub identities: Option<String>,
}

/// The outcome of staging one inbox file.
#[derive(Debug, Clone)]
pub struct StagedFile {
    /// Position of the file in the ingest (byte order of its path): the arrival order.
    pub order: usize,
    pub source: Source,
    pub quality: QualityRow,
    /// Valid rows; `superseded` of them lose to another version (or are resends of an IoT
    /// row) in staging or resolve.
    pub candidates: u64,
    pub superseded: u64,
    pub parts: Vec<StagedPart>,
    pub quarantine_parts: Vec<String>,
}

/// The contract fields of a row as a JSON object, for the quarantine.
pub fn fields_to_json(source: Source, fields: &[Option<String>]) -> String {
    let obj: serde_json::Map<String, serde_json::Value> = source
        .fields()
        .iter()
        .zip(fields)
        .map(|(f, v)| {
            (
                f.name.to_string(),
                v.clone().map_or(serde_json::Value::Null, Into::into),
            )
        })
        .collect();
    serde_json::Value::Object(obj).to_string()
}

pub fn fields_from_json(source: Source, json: &str) -> Option<Vec<Option<String>>> {
    let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).ok()?;
    Some(
        source
            .fields()
            .iter()
            .map(|f| obj.get(f.name).and_then(|v| v.as_str()).map(str::to_string))
            .collect(),
    )
}

/// Local calendar month (yyyymm) of a UTC instant.
pub fn month_of(ts_micros: i64) -> i32 {
    local_month(local_day(ts_micros))
}

struct Out {
    builder: RowBatchBuilder,
    writer: TableWriter,
    month: Option<i32>,
    /// IoT: the identities of the rows written, while the file's budget allows.
    identities: Option<Vec<u128>>,
}

/// IoT: a file's recent rows, the resends dropped, and the identities held for side files.
struct Resends {
    recent: Recent,
    dropped: u64,
    held: usize,
}

/// Where accepted and quarantined rows of one file go.
struct Sink<'a> {
    ctx: &'a StageContext,
    handle: &'a Handle,
    source: Source,
    order: usize,
    outs: BTreeMap<i32, Out>,
    quarantine: Vec<QuarantineRow>,
    quarantine_bytes: usize,
    quarantine_writer: TableWriter,
    flush_rows: usize,
    resends: Option<Resends>,
}

impl<'a> Sink<'a> {
    /// `expected_rows`: about how many rows the file has (from its size).
    fn new(
        ctx: &'a StageContext,
        handle: &'a Handle,
        source: Source,
        order: usize,
        expected_rows: usize,
    ) -> Result<Self> {
        let iot = source == Source::IotEvents;
        let flush_rows = if iot {
            (ctx.batch_rows / 4).max(1)
        } else {
            ctx.batch_rows.max(1)
        };
        Ok(Sink {
            ctx,
            handle,
            source,
            order,
            outs: BTreeMap::new(),
            quarantine: Vec::new(),
            quarantine_bytes: 0,
            quarantine_writer: ctx.lake.table_writer(
                format!("{}/quarantine/{order:06}.parquet", ctx.staging),
                tables::quarantine_schema(),
            ),
            flush_rows,
            resends: if iot {
                Some(Resends {
                    recent: Recent::new(RECENT_ROWS, expected_rows)?,
                    dropped: 0,
                    held: 0,
                })
            } else {
                None
            },
        })
    }

    fn accept(&mut self, values: &[Value], file: &str, line: u64) -> Result<()> {
        let month = match (self.source, &values[2]) {
            (Source::IotEvents, Value::Timestamp(ts)) => month_of(*ts),
            _ => 0,
        };
        let (ctx, source, order) = (self.ctx, self.source, self.order);
        // Identities are kept where resends are looked for: IoT.
        let tracks_identities = self.resends.is_some();
        let out = self.outs.entry(month).or_insert_with(|| Out {
            builder: RowBatchBuilder::new(source),
            writer: ctx.lake.table_writer(
                if month == 0 {
                    format!("{}/{}/{order:06}.parquet", ctx.staging, source.name())
                } else {
                    format!(
                        "{}/{}/{order:06}-{month}.parquet",
                        ctx.staging,
                        source.name()
                    )
                },
                source.lake_schema(),
            ),
            month: (month != 0).then_some(month),
            identities: tracks_identities.then(Vec::new),
        });
        out.builder.push(values, ctx.ingest, file, line);
        if out.builder.len() >= self.flush_rows || out.builder.bytes() >= FLUSH_BYTES {
            Self::flush(self.handle, out, &mut self.resends)?;
        }
        Ok(())
    }

    /// Writes the rows `out` holds, less the resends the file's recent rows show.
    fn flush(handle: &Handle, out: &mut Out, resends: &mut Option<Resends>) -> Result<()> {
        if out.builder.is_empty() {
            return Ok(());
        }
        let mut batch = out.builder.finish();
        if let Some(r) = resends {
            let before = out.identities.as_ref().map_or(0, Vec::len);
            let keep = r.recent.keep(&batch, out.identities.as_mut())?;
            r.held += out.identities.as_ref().map_or(0, Vec::len) - before;
            if r.held > IDENTITY_ROWS {
                // Over budget: this part's identities go (whole: a part has all or none).
                r.held -= out.identities.take().map_or(0, |i| i.len());
            }
            if keep.true_count() < keep.len() {
                r.dropped += (keep.len() - keep.true_count()) as u64;
                batch = filter_record_batch(&batch, &keep)?;
            }
        }
        handle.block_on(out.writer.write(&batch))
    }

    fn quarantine(&mut self, row: QuarantineRow) -> Result<()> {
        self.quarantine_bytes += 64 + row.raw.len() + row.fields.len() + row.detail.len();
        self.quarantine.push(row);
        if self.quarantine.len() >= 16 * 1024 || self.quarantine_bytes >= FLUSH_BYTES {
            self.flush_quarantine()?;
        }
        Ok(())
    }

    fn flush_quarantine(&mut self) -> Result<()> {
        if self.quarantine.is_empty() {
            return Ok(());
        }
        let batch = tables::quarantine_batch(&self.quarantine);
        self.quarantine.clear();
        self.quarantine_bytes = 0;
        self.handle.block_on(self.quarantine_writer.write(&batch))
    }

    /// Closes every writer; returns the staged parts, the quarantine files and the number of
    /// resends dropped.
    fn finish(mut self) -> Result<(Vec<StagedPart>, Vec<String>, u64)> {
        let mut parts = Vec::new();
        for mut out in std::mem::take(&mut self.outs).into_values() {
            Self::flush(self.handle, &mut out, &mut self.resends)?;
            if let Some(file) = self.handle.block_on(out.writer.finish())? {
                let identities = match out.identities {
                    Some(ids) => {
                        let path = format!("{}.identities", file.path);
                        let bytes = identity::to_bytes(&ids).into();
                        self.handle.block_on(self.ctx.lake.put(&path, bytes))?;
                        Some(path)
                    }
                    None => None,
                };
                parts.push(StagedPart {
                    file,
                    month: out.month,
                    identities,
                });
            }
        }
        self.flush_quarantine()?;
        let quarantine = self
            .handle
            .block_on(self.quarantine_writer.finish())?
            .map(|f| f.path)
            .into_iter()
            .collect();
        let dropped = self.resends.map_or(0, |r| r.dropped);
        Ok((parts, quarantine, dropped))
    }
}

impl StagedFile {
    /// A file about to be staged: status `ok`, no rows yet.
    fn new(ctx: &StageContext, order: usize, file: &InboxFile) -> Self {
        StagedFile {
            order,
            source: file.source,
            quality: QualityRow {
                ingest: ctx.ingest,
                source: file.source.name().into(),
                file: file.rel.clone(),
                sha256: file.sha256.clone(),
                format: file.format.map(|f| f.name().into()).unwrap_or_default(),
                status: "ok".into(),
                ..Default::default()
            },
            candidates: 0,
            superseded: 0,
            parts: vec![],
            quarantine_parts: vec![],
        }
    }

    /// A file that failed: no rows, status `failed` and why.
    pub fn failed(ctx: &StageContext, order: usize, file: &InboxFile, message: String) -> Self {
        let mut staged = StagedFile::new(ctx, order, file);
        staged.quality.status = "failed".into();
        staged.quality.message = Some(message);
        staged
    }
}

/// Set to an inbox file's path (relative to the inbox), staging that file panics, as a reader
/// bug found by a crafted file would: lets tests prove that such a file fails alone.
pub const PANIC_IN_ENV: &str = "FIRECREDIT_PANIC_IN";

/// Stages one inbox file. A file that cannot be read at all is returned with status `failed`
/// and no rows; only a lake failure is an `Err`.
pub fn stage_file(
    ctx: &StageContext,
    handle: &Handle,
    order: usize,
    file: &InboxFile,
    registry: &HashSet<String>,
) -> Result<StagedFile> {
    if std::env::var(PANIC_IN_ENV).is_ok_and(|f| f == file.rel) {
        panic!("{PANIC_IN_ENV} names this file");
    }
    let source = file.source;
    let mut staged = StagedFile::new(ctx, order, file);
    let mut quality = staged.quality.clone();
    let Some(format) = file.format else {
        staged.quality.status = "failed".into();
        staged.quality.message = Some(
            "unsupported file type (expected .csv, .ndjson, .jsonl, .json or .parquet)".into(),
        );
        tracing::error!(file = %file.rel, "unsupported file type; file not ingested");
        return Ok(staged);
    };
    quality.format = format.name().into();
    let validator = Validator::new(source, ctx.rules.as_ref(), registry);
    // An IoT row takes 60–70 bytes of CSV; fewer would only size a small file's resend set too
    // large.
    let expected_rows = std::fs::metadata(&file.path).map_or(0, |m| m.len() / 64) as usize;
    let mut sink = Sink::new(ctx, handle, source, order, expected_rows)?;
    let mut values = Vec::new();
    let (mut read_rows, mut candidates, mut quarantined) = (0u64, 0u64, 0u64);
    let outcome = {
        let mut each = |row: RawRow<'_>| -> Result<()> {
            read_rows += 1;
            match validator.validate_into(row.fields, row.defect, &mut values) {
                Ok(()) => {
                    candidates += 1;
                    sink.accept(&values, &file.rel, row.line)
                }
                Err((reason, detail)) => {
                    quarantined += 1;
                    sink.quarantine(QuarantineRow {
                        ingest: ctx.ingest,
                        source: source.name().into(),
                        file: file.rel.clone(),
                        line: row.line,
                        reason: reason.code().into(),
                        detail,
                        raw: row.raw.to_string(),
                        fields: fields_to_json(source, row.fields),
                        released_in: None,
                    })
                }
            }
        };
        read::read_file(&file.path, format, source, &ctx.limits, &mut each)
    };
    let (outcome, sha256) = outcome;
    let changed = match &sha256 {
        Ok(sha) if *sha != file.sha256 => Some(format!(
            "the file changed while it was read (SHA-256 {} when listed, {sha} as read): \
             still being written? Not ingested; the next ingest reads it again",
            file.sha256
        )),
        Ok(_) => None,
        Err(e) => Some(format!("cannot read the file through: {e}")),
    };
    match (outcome, changed) {
        (Err(ReadError::Sink(e)), _) => return Err(e),
        (Ok(_), Some(message)) | (Err(ReadError::Unreadable(message)), _) => {
            tracing::error!(file = %file.rel, %message, "file not ingested");
            quality.status = "failed".into();
            quality.message = Some(message);
            staged.quality = quality;
        }
        (Ok(info), None) => {
            let (parts, quarantine_parts, resent) = sink.finish()?;
            quality.encoding = info.encoding.name().into();
            quality.warnings = (!info.warnings.is_empty()).then(|| info.warnings.join("; "));
            for w in &info.warnings {
                tracing::warn!(file = %file.rel, "{w}");
            }
            quality.rows_read = read_rows;
            quality.rows_quarantined = quarantined;
            staged.quality = quality;
            staged.candidates = candidates;
            staged.superseded = resent;
            staged.parts = parts;
            staged.quarantine_parts = quarantine_parts;
        }
    }
    Ok(staged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_json_round_trips() {
        let fields = vec![
            Some("A1".to_string()),
            None,
            Some("名".to_string()),
            None,
            None,
        ];
        let json = fields_to_json(Source::Inspectors, &fields);
        assert_eq!(fields_from_json(Source::Inspectors, &json), Some(fields));
    }

    #[test]
    fn months_are_local() {
        let ts = crate::contract::values::parse_timestamp("2026-02-28T16:30:00Z").unwrap();
        assert_eq!(month_of(ts), 202603);
    }
}
