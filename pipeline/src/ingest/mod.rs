//! Ingest: inbox files → typed Parquet tables in the lake, with quarantine and accounting.
//!
//! Files are listed, then hashed ahead of staging (`hashes.rs`): a file whose SHA-256 an
//! earlier ingest took, or an earlier file of this inbox has, is skipped. Two passes over the
//! files taken, so that memory stays bounded whatever the file size:
//! 1. **stage** (`stage.rs`): each file is read as a stream, every row validated, and the
//!    candidates written to a staging area batch by batch (IoT split by month, a device's
//!    resends dropped); bad rows go to the quarantine with their reason.
//! 2. **resolve** (`resolve.rs`): versions of one id are settled (the same id sent again is an
//!    update), exact duplicate IoT rows are dropped (`identity.rs`), and the new table files
//!    are written; a staged part with nothing to drop (no lost version, no duplicate IoT row)
//!    is moved into the table as it is.
//!
//! Units are staged first, so every other source checks `unit_id` against the registry as it
//! stands after this ingest (the lake's units and the staged ones), and quarantined
//! `unknown_unit` rows whose unit has now arrived are released; the units' versions are settled
//! while the other sources are staged, and the keyed sources' while the IoT months are. The new
//! files of every table are then committed as one ingest through the ingest log
//! (`lake::commit`): all of it becomes visible, or a rerun finishes it.

pub mod batch;
mod hashes;
mod identity;
pub mod read;
mod resolve;
mod stage;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use foldhash::HashSet as FastSet;
use futures::TryStreamExt;
use tokio::sync::Semaphore;
use tracing::{info, warn};

use crate::contract::rules::RuleSet;
use crate::contract::validate::Validator;
use crate::contract::{Reason, Source};
use crate::error::{Error, Result};
use crate::lake::commit::{changes, commit_next, Prepared, RecordKind};
use crate::lake::tables::{self, QualityRow, QuarantineRow, QUALITY, QUARANTINE};
use crate::lake::{DataFile, Lake, Snapshot};
use read::Format;
use stage::StagedFile;

#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub inbox: PathBuf,
    pub rules: Arc<RuleSet>,
    /// Rows per Arrow batch while staging.
    pub batch_rows: usize,
    /// Files read at once.
    pub parallelism: usize,
    /// Bounds on one row; larger rows are quarantined `too_large`.
    pub limits: read::Limits,
    /// Files modified more recently than this are left for the next ingest.
    pub min_age: Option<std::time::Duration>,
}

impl IngestOptions {
    pub fn new(inbox: impl Into<PathBuf>, rules: RuleSet) -> Self {
        IngestOptions {
            inbox: inbox.into(),
            rules: Arc::new(rules),
            batch_rows: 64 * 1024,
            parallelism: std::thread::available_parallelism().map_or(2, |n| n.get()),
            limits: read::Limits::default(),
            min_age: None,
        }
    }
}

/// What one ingest did.
#[derive(Debug, Clone)]
pub struct IngestReport {
    /// The lake version committed, or the unchanged version when nothing was new.
    pub version: u64,
    pub committed: bool,
    pub files: Vec<QualityRow>,
    /// Inbox files skipped because a file with the same SHA-256 was already ingested.
    pub skipped: Vec<String>,
    pub released: u64,
}

impl IngestReport {
    pub fn failed(&self) -> Vec<&QualityRow> {
        self.files.iter().filter(|f| f.status != "ok").collect()
    }

    /// `Err(FilesFailed)` when any file could not be read; the others went in regardless.
    pub fn into_result(self) -> Result<Self> {
        let failed = self.failed();
        if failed.is_empty() {
            return Ok(self);
        }
        Err(Error::FilesFailed {
            count: failed.len(),
            files: failed
                .iter()
                .map(|f| format!("{} ({})", f.file, f.message.as_deref().unwrap_or("failed")))
                .collect::<Vec<_>>()
                .join("; "),
        })
    }
}

/// An inbox file found under a source folder.
#[derive(Debug, Clone)]
pub struct InboxFile {
    pub source: Source,
    pub path: PathBuf,
    /// Path relative to the inbox with `/` separators: the file's name everywhere.
    pub rel: String,
    pub format: Option<Format>,
    /// Bytes, as listed.
    pub len: u64,
    /// Set once the file is hashed and taken (`hashes.rs`).
    pub sha256: String,
}

/// Whether a file name marks a file still in flight (or hidden): `*.part`, `*.tmp`, dot-files.
pub fn in_flight(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.starts_with('.') || lower.ends_with(".part") || lower.ends_with(".tmp")
}

/// Lists `<inbox>/<source>/**` in byte order of relative path, leaving out files in flight
/// ([`in_flight`]) and files modified less than `min_age` ago.
pub fn discover(inbox: &Path, min_age: Option<std::time::Duration>) -> Result<Vec<InboxFile>> {
    let io = |path: &Path, source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    if !inbox.is_dir() {
        return Err(Error::Invalid(format!(
            "inbox {} is not a folder",
            inbox.display()
        )));
    }
    for entry in std::fs::read_dir(inbox).map_err(|e| io(inbox, e))? {
        let name = entry
            .map_err(|e| io(inbox, e))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !name.starts_with(['_', '.']) && name.parse::<Source>().is_err() {
            warn!(folder = %name, "inbox folder is not a contract source; ignored");
        }
    }
    let mut files = Vec::new();
    for source in Source::ALL {
        let dir = inbox.join(source.name());
        if !dir.is_dir() {
            continue;
        }
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).map_err(|e| io(&d, e))? {
                let path = entry.map_err(|e| io(&d, e))?.path();
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if name.starts_with('.') {
                    continue;
                }
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if in_flight(&name) {
                    info!(file = %path.display(), "in flight (*.part, *.tmp); left for later");
                    continue;
                }
                let meta = std::fs::metadata(&path).map_err(|e| io(&path, e))?;
                if let Some(min_age) = min_age {
                    let age = meta
                        .modified()
                        .map_err(|e| io(&path, e))?
                        .elapsed()
                        .unwrap_or_default();
                    if age < min_age {
                        info!(file = %path.display(), age_secs = age.as_secs(), "modified too recently (--min-age); left for later");
                        continue;
                    }
                }
                let rel = path
                    .strip_prefix(inbox)
                    .expect("under inbox")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                files.push(InboxFile {
                    source,
                    format: Format::of(&path),
                    path,
                    rel,
                    len: meta.len(),
                    sha256: String::new(),
                });
            }
        }
    }
    files.sort_by(|a, b| a.rel.as_bytes().cmp(b.rel.as_bytes()));
    Ok(files)
}

/// Ingests every new file of the inbox into the lake: stages, resolves and commits the new
/// files as the lake's next change (`lake::commit`), after finishing one that was recorded and
/// not applied.
pub async fn ingest(lake: &Lake, opts: &IngestOptions) -> Result<IngestReport> {
    let files = {
        let (inbox, min_age) = (opts.inbox.clone(), opts.min_age);
        tokio::task::spawn_blocking(move || discover(&inbox, min_age))
            .await
            .map_err(|e| Error::Internal(format!("listing the inbox: {e}")))??
    };
    let hashes = Arc::new(hashes::Hashes::start(files, opts.parallelism));
    let committed = commit_next(lake, async |base: &Snapshot, seq: u64, tag: &str| {
        // Nothing new when no file is taken: known at the first file taken, in the usual case
        // the first one staged.
        let mut any = false;
        for &i in hashes.units().iter().chain(hashes.others()) {
            if matches!(hashes.decide(i, base).await?, hashes::Decision::Take(_)) {
                any = true;
                break;
            }
        }
        if !any {
            let mut skipped = Vec::new();
            for (i, f) in hashes.files().iter().enumerate() {
                let decision = hashes.decide(i, base).await?;
                hashes.log(i, &decision);
                if decision == hashes::Decision::Skip {
                    skipped.push(f.rel.clone());
                }
            }
            return Ok(Prepared::Nothing((vec![], skipped, 0)));
        }
        let staging = format!("_staging/{tag}");
        let result = ingest_new(lake, opts, base, seq, tag, &staging, &hashes).await;
        if let Err(e) = lake.delete_prefix(&staging).await {
            warn!(error = %e, "could not clean the staging area; it is unreferenced and safe to delete");
        }
        let (next, quality, released, skipped) = result?;
        Ok(Prepared::Changes {
            kind: RecordKind::Ingest,
            files: quality.len() as u64,
            changes: changes(base, next),
            value: (quality, skipped, released),
        })
    })
    .await?;
    let (files, skipped, released) = committed.value;
    if committed.committed {
        info!(
            ingest = committed.version,
            files = files.len(),
            released,
            "ingest committed"
        );
    }
    Ok(IngestReport {
        version: committed.version,
        committed: committed.committed,
        files,
        skipped,
        released,
    })
}

/// What an ingest prepared: every table's files after it, the quality rows, the number of rows
/// released from the quarantine and the files skipped.
type Ingested = (
    BTreeMap<String, Vec<DataFile>>,
    Vec<QualityRow>,
    u64,
    Vec<String>,
);

/// Stages and resolves the files `hashes` takes as ingest `seq` on `base`.
async fn ingest_new(
    lake: &Lake,
    opts: &IngestOptions,
    base: &Snapshot,
    seq: u64,
    tag: &str,
    staging: &str,
    hashes: &Arc<hashes::Hashes>,
) -> Result<Ingested> {
    let mut next: BTreeMap<String, Vec<DataFile>> = BTreeMap::new();
    let ctx = stage::StageContext {
        // The staging area is scratch: a crash discards it (decision 121).
        lake: lake.scratch(),
        rules: opts.rules.clone(),
        staging: staging.to_string(),
        ingest: seq,
        batch_rows: opts.batch_rows,
        limits: opts.limits,
    };
    let listed = Listed {
        hashes: hashes.clone(),
        base: Arc::new(base.clone()),
    };
    let mut registry = read_ids(lake, base.files(Source::Units.name()), Source::Units).await?;
    let no_units = Arc::new(FastSet::default());
    let units = hashes.units().to_vec();
    let (mut staged, mut skipped) = stage_all(
        ctx.clone(),
        listed.clone(),
        units,
        no_units,
        opts.parallelism,
    )
    .await?;
    // The registry as it stands after this ingest: the lake's units and every unit staged now (a
    // staged version that loses to the lake's is of a unit the lake has). It is known before
    // the units' versions are settled, so the other sources are staged meanwhile, on their own
    // threads (decision 142).
    let staged_units = staged.iter().flat_map(|s| s.parts.iter().map(|p| &p.file));
    registry.extend(read_ids(lake, staged_units, Source::Units).await?);
    let registry = Arc::new(registry);
    let started = std::time::Instant::now();
    let staging = tokio::spawn(stage_all(
        ctx,
        listed,
        hashes.others().to_vec(),
        registry.clone(),
        opts.parallelism,
    ));
    let units = async {
        let units_out =
            resolve::resolve_keyed(lake, base, seq, tag, Source::Units, &staged, Vec::new())
                .await?;
        // Release quarantined rows whose unit has now arrived.
        let released = release(lake, base, seq, tag, &opts.rules, &registry).await?;
        Ok::<_, Error>((units_out, released))
    }
    .await;
    // Staging is waited for even when the units failed: nothing may still write to the staging
    // area when the caller deletes it.
    let others = staging
        .await
        .map_err(|e| Error::Internal(format!("staging: {e}")));
    let (units_out, (mut quarantine_files, released)) = units?;
    let (mut others, skipped_others) = others??;
    skipped.extend(skipped_others);
    skipped.sort_unstable();
    let skipped = skipped
        .into_iter()
        .map(|i| hashes.files()[i].rel.clone())
        .collect();
    resolve::add_superseded(&mut staged, &units_out.superseded);
    next.insert(Source::Units.name().into(), units_out.files);
    info!(
        files = others.len(),
        seconds = format!("{:.2}", started.elapsed().as_secs_f64()),
        "staged"
    );
    let started = std::time::Instant::now();
    let mut released_by_source: BTreeMap<
        Source,
        Vec<(QuarantineRow, Vec<crate::contract::values::Value>)>,
    > = BTreeMap::new();
    for (row, values) in released.rows {
        let source: Source = row.source.parse().map_err(|message| Error::Table {
            table: QUARANTINE.into(),
            column: "source".into(),
            message,
        })?;
        released_by_source
            .entry(source)
            .or_default()
            .push((row, values));
    }
    // One keyed source at a time: side by side, their version maps held at once took a GD-1M
    // ingest's peak RSS from 2.0 to 2.4 GiB for 4 % of its time (decision 121). The keyed
    // sources go beside the IoT months, though, on a task of their own: on this one, the months
    // waited for the keyed sources' long stretches of work to be started (decision 142).
    let keyed_sources: Vec<_> = Source::ALL
        .into_iter()
        .filter(|s| !matches!(s, Source::Units | Source::IotEvents))
        .map(|s| (s, released_by_source.remove(&s).unwrap_or_default()))
        .collect();
    let released_iot = released_by_source
        .remove(&Source::IotEvents)
        .unwrap_or_default();
    let keyed = {
        let (lake, base, tag, staged) =
            (lake.clone(), base.clone(), tag.to_string(), others.clone());
        tokio::spawn(async move {
            let mut outs = Vec::new();
            for (source, released) in keyed_sources {
                let out =
                    resolve::resolve_keyed(&lake, &base, seq, &tag, source, &staged, released)
                        .await?;
                outs.push((source, out));
            }
            Ok::<_, Error>(outs)
        })
    };
    let iot = resolve::resolve_iot(
        lake,
        base,
        seq,
        tag,
        &others,
        released_iot,
        opts.parallelism,
    )
    .await;
    // The keyed task is waited for even when the months failed: nothing may still write when
    // the caller cleans up.
    let keyed = keyed
        .await
        .map_err(|e| Error::Internal(format!("resolving the keyed sources: {e}")))?;
    let (keyed, iot) = (keyed?, iot?);
    for (source, out) in keyed {
        resolve::add_superseded(&mut others, &out.superseded);
        next.insert(source.name().into(), out.files);
    }
    resolve::add_superseded(&mut others, &iot.superseded);
    next.insert(Source::IotEvents.name().into(), iot.files);
    info!(
        seconds = format!("{:.2}", started.elapsed().as_secs_f64()),
        "resolved"
    );
    staged.extend(others);
    staged.sort_by_key(|s| s.order);

    // Releases are credited to the units file whose row brought the unit.
    let mut credit: HashMap<String, u64> = HashMap::new();
    for unit in released.units {
        if let Some(file) = units_out.winners.get(&unit) {
            *credit.entry(file.clone()).or_default() += 1;
        }
    }

    // Quarantine: this ingest's rows appended after the earlier ones, streamed batch by batch.
    let path = format!("tables/{QUARANTINE}/part-{tag}.parquet");
    let mut writer = lake.table_writer(path, tables::quarantine_schema());
    for s in &staged {
        for part in &s.quarantine_parts {
            let mut batches = lake.read_parquet(part, None).await?;
            while let Some(batch) = batches.try_next().await? {
                writer.write(&batch).await?;
            }
        }
    }
    quarantine_files.extend(writer.finish().await?);
    next.insert(QUARANTINE.into(), quarantine_files);

    let quality: Vec<QualityRow> = staged
        .iter()
        .map(|s| {
            let mut q = s.quality.clone();
            q.rows_released = credit.get(&q.file).copied().unwrap_or(0);
            q.rows_accepted = s.candidates - s.superseded;
            q.rows_superseded = s.superseded;
            q
        })
        .collect();
    let path = format!("tables/{QUALITY}/part-{tag}.parquet");
    let written = lake
        .write_parquet(
            &path,
            tables::quality_schema(),
            &[tables::quality_batch(&quality)],
        )
        .await?;
    let mut quality_files = base.files(QUALITY).to_vec();
    quality_files.extend(written);
    next.insert(QUALITY.into(), quality_files);
    Ok((next, quality, released.count, skipped))
}

/// The listed files and the lake they are decided on.
#[derive(Clone)]
struct Listed {
    hashes: Arc<hashes::Hashes>,
    base: Arc<Snapshot>,
}

/// Stages the files of `order` (indices into the listing) that are taken, as their SHA-256s
/// come: what was staged, and the files skipped as copies.
async fn stage_all(
    ctx: stage::StageContext,
    listed: Listed,
    order: Vec<usize>,
    registry: Arc<FastSet<String>>,
    parallelism: usize,
) -> Result<(Vec<StagedFile>, Vec<usize>)> {
    let permits = Arc::new(Semaphore::new(parallelism.max(1)));
    let files = listed.hashes.files();
    let bar = crate::progress::bytes("staging", order.iter().map(|&i| files[i].len).sum());
    let mut tasks = Vec::new();
    let mut skipped = Vec::new();
    let mut undecided = None;
    for i in order {
        let decision = match listed.hashes.decide(i, &listed.base).await {
            Ok(decision) => decision,
            // Stop here; what is being staged is waited for below.
            Err(e) => {
                undecided = Some(e);
                break;
            }
        };
        listed.hashes.log(i, &decision);
        let hashes::Decision::Take(sha256) = decision else {
            if decision == hashes::Decision::Skip {
                skipped.push(i);
            }
            if let Some(bar) = &bar {
                bar.inc(files[i].len);
            }
            continue;
        };
        let file = InboxFile {
            sha256,
            ..files[i].clone()
        };
        let ctx = ctx.clone();
        let registry = registry.clone();
        let bar = bar.clone();
        let bytes = file.len;
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore open");
        let handle = tokio::runtime::Handle::current();
        let order = i;
        let failed = stage::StagedFile::failed(&ctx, order, &file, String::new());
        tasks.push((
            failed,
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let staged = stage::stage_file(&ctx, &handle, order, &file, &registry);
                // What the file's writers and sets held is free now: back to the system, not
                // kept by this thread's arena while the other threads stage (decision 124;
                // trimming only above a bound, decision 126, did not pay).
                crate::memory::give_back_free();
                if let Some(bar) = bar {
                    bar.inc(bytes);
                }
                staged
            }),
        ));
    }
    // A file whose staging fails or panics (a reader bug a crafted file found) fails alone:
    // its quality row says why, the others go in, and the command exits 3.
    let mut staged = Vec::new();
    for (mut failed, task) in tasks {
        let message = match task.await {
            Ok(Ok(s)) => {
                staged.push(s);
                continue;
            }
            Ok(Err(e)) => format!("staging failed: {e}"),
            Err(e) => match e.try_into_panic() {
                Ok(panic) => format!(
                    "the reader failed on this file: {}",
                    panic
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("panic")
                ),
                Err(e) => format!("staging was cancelled: {e}"),
            },
        };
        tracing::error!(file = %failed.quality.file, %message, "file not ingested");
        failed.quality.message = Some(message);
        staged.push(failed);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(e) = undecided {
        return Err(e);
    }
    staged.sort_by_key(|s| s.order);
    Ok((staged, skipped))
}

/// All ids of a keyed source in `files` (its table's, or staged parts).
async fn read_ids(
    lake: &Lake,
    files: impl IntoIterator<Item = &DataFile>,
    source: Source,
) -> Result<FastSet<String>> {
    let id = source.fields()[0].name;
    let mut ids = FastSet::default();
    for f in files {
        let mut stream = lake.read_parquet(&f.path, Some(&[id])).await?;
        while let Some(batch) = stream.try_next().await? {
            ids.extend(
                batch
                    .column(0)
                    .as_string::<i32>()
                    .iter()
                    .flatten()
                    .map(str::to_string),
            );
        }
    }
    Ok(ids)
}

fn quarantine_rows(b: &RecordBatch) -> Vec<QuarantineRow> {
    let s = |i: usize| b.column(i).as_string::<i32>();
    let n = |i: usize| {
        b.column(i)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
    };
    (0..b.num_rows())
        .map(|r| QuarantineRow {
            ingest: n(0).value(r) as u64,
            source: s(1).value(r).to_string(),
            file: s(2).value(r).to_string(),
            line: n(3).value(r) as u64,
            reason: s(4).value(r).to_string(),
            detail: s(5).value(r).to_string(),
            raw: s(6).value(r).to_string(),
            fields: s(7).value(r).to_string(),
            released_in: (!n(8).is_null(r)).then(|| n(8).value(r) as u64),
        })
        .collect()
}

struct Released {
    /// Rows released now, with their validated values, in their original order.
    rows: Vec<(QuarantineRow, Vec<crate::contract::values::Value>)>,
    /// The unit of each released row (for crediting).
    units: Vec<String>,
    count: u64,
}

/// Validates pending `unknown_unit` rows again; rewrites the quarantine files that hold a
/// released row so that it carries `released_in`.
async fn release(
    lake: &Lake,
    base: &Snapshot,
    seq: u64,
    tag: &str,
    rules: &RuleSet,
    registry: &FastSet<String>,
) -> Result<(Vec<DataFile>, Released)> {
    let mut out = Released {
        rows: vec![],
        units: vec![],
        count: 0,
    };
    let mut files = Vec::new();
    for (k, f) in base.files(QUARANTINE).iter().enumerate() {
        // First pass: which rows go out now (row numbers in the file); the file is streamed, so
        // memory holds one batch and the released rows.
        let mut released = HashSet::new();
        let mut at = 0usize;
        let mut batches = lake.read_parquet(&f.path, None).await?;
        while let Some(batch) = batches.try_next().await? {
            for row in quarantine_rows(&batch) {
                at += 1;
                if row.released_in.is_some() || row.reason != Reason::UnknownUnit.code() {
                    continue;
                }
                let source: Source = row.source.parse().map_err(|message| Error::Table {
                    table: QUARANTINE.into(),
                    column: "source".into(),
                    message,
                })?;
                let Some(fields) = stage::fields_from_json(source, &row.fields) else {
                    continue;
                };
                let v = Validator::new(source, rules, registry);
                if let Ok(values) = v.validate(&fields, None) {
                    released.insert(at - 1);
                    let unit = source
                        .field_index("unit_id")
                        .and_then(|i| fields[i].clone())
                        .unwrap_or_default();
                    out.units.push(unit);
                    out.count += 1;
                    out.rows.push((
                        QuarantineRow {
                            released_in: Some(seq),
                            ..row
                        },
                        values,
                    ));
                }
            }
        }
        if released.is_empty() {
            files.push(f.clone());
            continue;
        }
        // Second pass: the file again, its released rows marked.
        let path = format!("tables/{QUARANTINE}/part-{tag}-r{k:04}.parquet");
        let mut writer = lake.table_writer(path, tables::quarantine_schema());
        let mut at = 0usize;
        let mut batches = lake.read_parquet(&f.path, None).await?;
        while let Some(batch) = batches.try_next().await? {
            let mut rows = quarantine_rows(&batch);
            for row in rows.iter_mut() {
                if released.contains(&at) {
                    row.released_in = Some(seq);
                }
                at += 1;
            }
            writer.write(&tables::quarantine_batch(&rows)).await?;
        }
        files.extend(writer.finish().await?);
    }
    Ok((files, out))
}
