//! Publish: a run's tables go to a fresh folder `runs/<as_of>/<run_id>/`, and
//! `runs/<as_of>/manifest.json`, written last, names that folder. The manifest is the commit: a
//! reader that follows it never sees a mix of two runs, and a run that dies before its manifest
//! leaves the previous one as it was. The manifest is written conditionally: created, or
//! replaced only if it is still the one the run read when it began; of two runs of one day the
//! loser fails (exit 4) and removes its own folder, nothing else. After a commit the folder two
//! commits back is removed (the one just replaced stays: a reader may still be on it);
//! attempts that never committed are removed by `lake vacuum`. The feed is also appended to
//! the Delta table `feed/scores` ([`feed`]).

pub mod csv_out;
pub mod export;
pub mod feed;
mod ndjson_out;

pub use csv_out::flatten_lists;

use std::collections::BTreeMap;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::DataFrame;
use futures::TryStreamExt;
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Expect, Lake};
use crate::error::{Error, Result};

/// Set to a local folder, each published table's executed physical plan, with DataFusion's
/// per-operator metrics (rows, elapsed compute, spills), is written there as `<name>.txt`: the
/// profile of the real run, not of a second `EXPLAIN ANALYZE` execution. A published SQL step
/// also leaves its statement and parameters there (`engine::context`).
pub const PROFILE_DIR_ENV: &str = "FIRECREDIT_PROFILE_DIR";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Output {
    pub name: String,
    pub format: String,
    pub path: String,
    pub rows: u64,
    pub sha256: String,
    /// Who may receive it (supervision.md §7). A manifest written before audiences were
    /// recorded reads as internal throughout: nothing is public by default.
    #[serde(default)]
    pub audience: Audience,
}

/// `public`: may leave the fire service (governments, credit platforms); `internal`: names
/// officers, holds lineage or intermediate tables.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Public,
    #[default]
    Internal,
}

/// The public outputs of supervision.md §7: the feed, the reward and discipline lists, the
/// high-risk areas and their GeoJSON, the supervision lists of §6, the inspection plan and its
/// audit tables, `district_summary` and `report.html`. Every other output is internal.
pub const PUBLIC_OUTPUTS: &[&str] = &[
    "scores",
    "changes",
    "reward_list",
    "discipline_list",
    "high_risk_areas",
    "hazard_supervision",
    "area_supervision",
    "plan_parameters",
    "plan_population",
    "plan_strata",
    "plan_candidates",
    "plan_districts",
    "inspection_plan",
    "district_summary",
    "report",
];

/// The audience of the output `name`.
pub fn audience_of(name: &str) -> Audience {
    if PUBLIC_OUTPUTS.contains(&name) {
        Audience::Public
    } else {
        Audience::Internal
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InputFile {
    pub source: String,
    pub file: String,
    pub sha256: String,
    pub ingest: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rules {
    pub version: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageTiming {
    pub stage: String,
    pub seconds: f64,
}

/// How a run computed an output that a run may take over from the run before (the manifest's
/// `reuse`, by output name): carried forward (`iot_intervals`) or reused (`fits`), and what
/// from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reuse {
    /// `carried` or `full` (intervals), `reused` or `fitted` (models).
    pub mode: String,
    /// SHA-256 of what the output is computed by and from: the intervals' SQL; the models'
    /// training rows, choice and hyper-parameters. A run takes over only an output whose key
    /// it would compute alike.
    pub key: String,
    /// The run taken over from (its folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// What was taken over, or why the output was computed anew.
    pub detail: String,
}

/// `runs/<as_of>/manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub run_id: String,
    pub as_of: String,
    pub firecredit_version: String,
    /// The last ingest whose data the run read.
    pub lake_version: u64,
    /// The Delta version of every lake table the run read: `run --lake-version` reads them
    /// again.
    #[serde(default)]
    pub table_versions: BTreeMap<String, u64>,
    /// The folder of the run this one replaced (a rerun of the day).
    #[serde(default)]
    pub replaces: Option<String>,
    /// The run's folder, relative to the lake root.
    pub dir: String,
    pub inputs: Vec<InputFile>,
    pub rules: Rules,
    pub model_version: Option<String>,
    /// The query engine that ran the SQL: `local` or `ballista://HOST:PORT`.
    #[serde(default = "local_engine")]
    pub engine: String,
    pub outputs: Vec<Output>,
    pub stage_timings: Vec<StageTiming>,
    /// Outputs computed from the previous run's (or in full, and why), by output name.
    #[serde(default)]
    pub reuse: BTreeMap<String, Reuse>,
}

fn local_engine() -> String {
    "local".into()
}

impl Manifest {
    /// The output `name` in `format` (`parquet` or `csv`).
    pub fn output(&self, name: &str, format: &str) -> Option<&Output> {
        self.outputs
            .iter()
            .find(|o| o.name == name && o.format == format)
    }
}

fn parse_manifest(path: &str, bytes: &[u8]) -> Result<Manifest> {
    serde_json::from_slice(bytes).map_err(|e| Error::Manifest {
        path: path.to_string(),
        message: e.to_string(),
    })
}

/// The manifest in `bytes`, or none (with a warning) when it cannot be read.
fn readable_manifest(path: &str, bytes: &[u8]) -> Option<Manifest> {
    match parse_manifest(path, bytes) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(%path, error = %e, "the day's manifest is unreadable (cut short by a crash?); the new run replaces it");
            None
        }
    }
}

pub fn manifest_path(as_of: &str) -> String {
    format!("runs/{as_of}/manifest.json")
}

/// The committed run for `as_of`, if any.
pub async fn read_manifest(lake: &Lake, as_of: &str) -> Result<Option<Manifest>> {
    let path = manifest_path(as_of);
    match lake.get(&path).await {
        Ok(bytes) => parse_manifest(&path, &bytes).map(Some),
        Err(Error::ObjectStore {
            source: object_store::Error::NotFound { .. },
            ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The committed run with the latest `as_of` before `as_of`, if any.
pub async fn previous_manifest(lake: &Lake, as_of: &str) -> Result<Option<Manifest>> {
    Ok(recent_manifests(lake, as_of, 1).await?.pop())
}

/// The manifests of up to `n` published days before `as_of`, oldest first.
pub async fn recent_manifests(lake: &Lake, as_of: &str, n: usize) -> Result<Vec<Manifest>> {
    let mut days: Vec<String> = lake
        .list_dirs("runs")
        .await?
        .iter()
        .filter_map(|p| p.rsplit('/').next().map(str::to_string))
        .filter(|d| d.as_str() < as_of)
        .collect();
    days.sort();
    let mut out = Vec::new();
    for day in days.iter().rev() {
        if out.len() == n {
            break;
        }
        match read_manifest(lake, day).await {
            Ok(Some(m)) => out.push(m),
            Ok(None) => {}
            // An unreadable day (a manifest cut short) is passed over: the newest readable
            // ones stand.
            Err(Error::Manifest { path, message }) => {
                tracing::warn!(%path, %message, "unreadable manifest passed over");
            }
            Err(e) => return Err(e),
        }
    }
    out.reverse();
    Ok(out)
}

/// Writes one run's outputs into its own folder, then commits them with the manifest.
pub struct Publisher {
    lake: Lake,
    as_of: String,
    run_id: String,
    dir: String,
    outputs: Vec<Output>,
    engine: String,
    reuse: BTreeMap<String, Reuse>,
    /// The day's manifest when the run began, and what its commit expects to replace.
    base: (Option<Manifest>, Expect),
}

impl Publisher {
    /// A publisher for a run that begins now: it will replace the day's manifest as it is now.
    pub async fn begin(lake: &Lake, as_of: &str) -> Result<Self> {
        let path = manifest_path(as_of);
        let base = match lake.get_versioned(&path).await? {
            // A manifest cut short by a crash commits nothing: this run replaces it.
            Some((bytes, version)) => {
                (readable_manifest(&path, &bytes), Expect::Unchanged(version))
            }
            None => (None, Expect::Absent),
        };
        let mut publisher = Publisher::new(lake, as_of);
        publisher.base = base;
        Ok(publisher)
    }

    /// A publisher that expects no manifest for the day (tests, tools).
    pub fn new(lake: &Lake, as_of: &str) -> Self {
        let run_id = format!(
            "{}-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            std::process::id()
        );
        Publisher {
            lake: lake.clone(),
            dir: format!("runs/{as_of}/{run_id}"),
            as_of: as_of.to_string(),
            run_id,
            outputs: Vec::new(),
            engine: local_engine(),
            reuse: BTreeMap::new(),
            base: (None, Expect::Absent),
        }
    }

    /// The run's folder, relative to the lake root.
    pub fn dir(&self) -> &str {
        &self.dir
    }

    /// Records the engine that runs the SQL in the manifest.
    pub fn with_engine(mut self, engine: impl Into<String>) -> Self {
        self.engine = engine.into();
        self
    }

    /// The committed run of the same day that this run will replace, if any.
    pub fn replaces(&self) -> Option<&Manifest> {
        self.base.0.as_ref()
    }

    /// Records how the output `name` was computed (the manifest's `reuse`).
    pub fn record_reuse(&mut self, name: &str, reuse: Reuse) {
        self.reuse.insert(name.to_string(), reuse);
    }

    pub fn path_of(&self, name: &str, format: &str) -> String {
        format!("{}/{name}.{format}", self.dir)
    }

    /// Executes `df` once, streaming its batches into `<name>.parquet` (and `<name>.csv` when
    /// asked, lists `;`-joined). Returns the Parquet path and its schema, so that a later stage
    /// can read the table back.
    pub async fn write(
        &mut self,
        name: &str,
        df: DataFrame,
        with_csv: bool,
    ) -> Result<(String, SchemaRef)> {
        self.write_formats(name, df, with_csv, false).await
    }

    /// [`Publisher::write`], plus `<name>.ndjson` when asked (the credit-platform feed).
    pub async fn write_formats(
        &mut self,
        name: &str,
        df: DataFrame,
        with_csv: bool,
        with_ndjson: bool,
    ) -> Result<(String, SchemaRef)> {
        let schema: SchemaRef = std::sync::Arc::new(df.schema().as_arrow().clone());
        let mut files = self.files(name, schema.clone(), with_csv, with_ndjson);
        let task_ctx = std::sync::Arc::new(df.task_ctx());
        let plan = df.create_physical_plan().await?;
        let mut stream = datafusion::physical_plan::execute_stream(plan.clone(), task_ctx)?;
        while let Some(batch) = stream.try_next().await? {
            files.write(&batch).await?;
        }
        write_profile(name, plan.as_ref());
        let path = self.close(name, files).await?;
        Ok((path, schema))
    }

    /// Writes a table the run computed in memory, like [`Publisher::write`].
    pub async fn write_batches(
        &mut self,
        name: &str,
        schema: SchemaRef,
        batches: &[RecordBatch],
        with_csv: bool,
    ) -> Result<(String, SchemaRef)> {
        let mut files = self.files(name, schema.clone(), with_csv, false);
        for batch in batches {
            files.write(batch).await?;
        }
        let path = self.close(name, files).await?;
        Ok((path, schema))
    }

    fn files(&self, name: &str, schema: SchemaRef, csv: bool, ndjson: bool) -> TableFiles {
        let parquet_path = self.path_of(name, "parquet");
        let (parquet, digest) = self
            .lake
            .table_writer(parquet_path.clone(), schema.clone())
            .hashed();
        let mut encoders = vec![Encoder::spawn(
            parquet_path,
            Format::Parquet(Box::new(parquet), digest),
        )];
        if csv {
            let path = self.path_of(name, "csv");
            let writer = csv_out::CsvWriter::new(&self.lake, &path, schema);
            encoders.push(Encoder::spawn(path, Format::Csv(writer)));
        }
        if ndjson {
            let path = self.path_of(name, "ndjson");
            let writer = ndjson_out::NdjsonWriter::new(&self.lake, &path);
            encoders.push(Encoder::spawn(path, Format::Ndjson(writer)));
        }
        TableFiles { encoders, rows: 0 }
    }

    /// Finishes one table's files and records them as outputs; returns the Parquet path.
    async fn close(&mut self, name: &str, files: TableFiles) -> Result<String> {
        let TableFiles { encoders, rows } = files;
        for encoder in encoders {
            let (format, path, sha256) = encoder.finish().await?;
            self.record(name, format, &path, rows, sha256);
        }
        crate::lake::checkpoint(name);
        Ok(self.path_of(name, "parquet"))
    }

    /// An output already written by this run.
    pub fn output(&self, name: &str, format: &str) -> Option<&Output> {
        self.outputs
            .iter()
            .find(|o| o.name == name && o.format == format)
    }

    /// Writes `value` as `<name>.json` (pretty, UTF-8).
    pub async fn write_json<T: Serialize>(&mut self, name: &str, value: &T) -> Result<String> {
        let bytes = serde_json::to_vec_pretty(value).expect("serialisable");
        self.write_bytes(name, "json", bytes, 1).await
    }

    /// Writes a finished document (a report, GeoJSON) as `<name>.<format>`.
    pub async fn write_bytes(
        &mut self,
        name: &str,
        format: &str,
        bytes: Vec<u8>,
        rows: u64,
    ) -> Result<String> {
        let path = self.path_of(name, format);
        let sha256 = hex::encode(Sha256::digest(&bytes));
        self.lake.put(&path, bytes.into()).await?;
        self.record(name, format, &path, rows, sha256);
        Ok(path)
    }

    /// Records a written file as an output, with the SHA-256 of the bytes written (decision
    /// 125: taken as they went out, not read back).
    fn record(&mut self, name: &str, format: &str, path: &str, rows: u64, sha256: String) {
        self.outputs.push(Output {
            name: name.into(),
            format: format.into(),
            path: path.into(),
            rows,
            sha256,
            audience: audience_of(name),
        });
    }

    /// Writes the manifest (the commit), if the day's manifest is still the one the run began
    /// on; otherwise removes this run's folder and fails with [`Error::Conflict`] (exit 4).
    /// After the commit, removes the folder two commits back.
    pub async fn commit(
        self,
        snapshot: &crate::lake::Snapshot,
        inputs: Vec<InputFile>,
        rules: Rules,
        model_version: Option<String>,
        stage_timings: Vec<StageTiming>,
    ) -> Result<Manifest> {
        let (base, expect) = self.base;
        let manifest = Manifest {
            run_id: self.run_id,
            as_of: self.as_of.clone(),
            firecredit_version: env!("CARGO_PKG_VERSION").into(),
            lake_version: snapshot.version,
            table_versions: snapshot.versions(),
            replaces: base.as_ref().map(|m| m.dir.clone()),
            dir: self.dir.clone(),
            inputs,
            rules,
            model_version,
            engine: self.engine,
            outputs: self.outputs,
            stage_timings,
            reuse: self.reuse,
        };
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
        let path = manifest_path(&self.as_of);
        crate::lake::checkpoint("run:manifest");
        if let Err(e) = self.lake.put_if(&path, json.into(), expect).await {
            if let Err(cleanup) = self.lake.delete_prefix(&self.dir).await {
                tracing::warn!(dir = %self.dir, error = %cleanup, "could not remove this run's folder");
            }
            return Err(match e {
                Error::Conflict { .. } => Error::Conflict {
                    table: path,
                    message: format!(
                        "another run of {} committed first; this run's outputs were removed",
                        self.as_of
                    ),
                },
                e => e,
            });
        }
        if let Some(old) = base.and_then(|m| m.replaces) {
            if let Err(e) = self.lake.delete_prefix(&old).await {
                tracing::warn!(error = %e, %old, "could not remove a replaced run's folder");
            }
        }
        Ok(manifest)
    }
}

/// The files of one published table being written.
/// The files of one published table being written: one encoder per format.
struct TableFiles {
    encoders: Vec<Encoder>,
    rows: u64,
}

impl TableFiles {
    async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        for encoder in &mut self.encoders {
            encoder.send(batch).await?;
        }
        Ok(())
    }
}

/// A table's writer in one format.
enum Format {
    Parquet(Box<crate::lake::TableWriter>, crate::lake::Digest),
    Csv(csv_out::CsvWriter),
    Ndjson(ndjson_out::NdjsonWriter),
}

impl Format {
    /// The output format's name, as the manifest records it.
    fn name(&self) -> &'static str {
        match self {
            Format::Parquet(..) => "parquet",
            Format::Csv(_) => "csv",
            Format::Ndjson(_) => "ndjson",
        }
    }

    async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            Format::Parquet(w, _) => w.write(batch).await,
            Format::Csv(w) => w.write(batch).await,
            Format::Ndjson(w) => w.write(batch).await,
        }
    }

    /// Closes the file; its SHA-256.
    async fn finish(self) -> Result<String> {
        match self {
            Format::Parquet(w, digest) => {
                w.finish_even_if_empty().await?;
                Ok(digest.hex())
            }
            Format::Csv(w) => w.finish().await,
            Format::Ndjson(w) => w.finish().await,
        }
    }
}

/// Batches a format's encoder has not taken yet: bounds the memory a slow encoder holds.
const ENCODER_QUEUE: usize = 2;

/// One format's writer on its own task, fed through a short queue: a table's Parquet, CSV and
/// NDJSON are encoded side by side, and beside the query that produces the batches, instead
/// of one after the other on the thread that drives the query.
struct Encoder {
    format: &'static str,
    path: String,
    queue: Option<tokio::sync::mpsc::Sender<RecordBatch>>,
    task: Option<tokio::task::JoinHandle<Result<String>>>,
}

impl Encoder {
    fn spawn(path: String, mut writer: Format) -> Encoder {
        let format = writer.name();
        let (queue, mut batches) = tokio::sync::mpsc::channel::<RecordBatch>(ENCODER_QUEUE);
        let task = tokio::spawn(async move {
            while let Some(batch) = batches.recv().await {
                writer.write(&batch).await?;
            }
            writer.finish().await
        });
        Encoder {
            format,
            path,
            queue: Some(queue),
            task: Some(task),
        }
    }

    async fn send(&mut self, batch: &RecordBatch) -> Result<()> {
        let sent = match &self.queue {
            Some(queue) => queue.send(batch.clone()).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The encoder stopped early: its own error says why.
        self.queue = None;
        Err(self.join().await.err().unwrap_or_else(|| {
            Error::Internal(format!(
                "the {} encoder of {} stopped",
                self.format, self.path
            ))
        }))
    }

    /// Closes the queue and waits for the file: its format, path and SHA-256.
    async fn finish(mut self) -> Result<(&'static str, String, String)> {
        self.queue = None;
        let sha256 = self.join().await?;
        Ok((self.format, std::mem::take(&mut self.path), sha256))
    }

    /// Waits for the encoder's task: the file's SHA-256.
    async fn join(&mut self) -> Result<String> {
        match self.task.take() {
            Some(task) => task.await.map_err(|e| {
                Error::Internal(format!("the {} encoder of {}: {e}", self.format, self.path))
            })?,
            None => Err(Error::Internal(format!(
                "the {} encoder of {} was already joined",
                self.format, self.path
            ))),
        }
    }
}

impl Drop for Encoder {
    /// A table abandoned part-way (the query failed) is not finished as a short file: its
    /// encoder is stopped where it is, as the writer itself would have been dropped.
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Writes `plan`'s metrics under [`PROFILE_DIR_ENV`] when it is set. A profile is a diagnostic:
/// failing to write one is logged, never fatal to the run.
fn write_profile(name: &str, plan: &dyn datafusion::physical_plan::ExecutionPlan) {
    let Some(dir) = std::env::var_os(PROFILE_DIR_ENV) else {
        return;
    };
    let text = datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(plan)
        .indent(true)
        .to_string();
    let path = std::path::Path::new(&dir).join(format!("{name}.txt"));
    let written = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), error = %e, "profile not written");
    }
}

/// The Arrow schema of a published Parquet file.
pub async fn parquet_schema(lake: &Lake, path: &str) -> Result<SchemaRef> {
    let reader = super::ObjectReader::new(lake.store(), Path::from(path));
    let builder = datafusion::parquet::arrow::ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|source| Error::Parquet {
            path: path.to_string(),
            source,
        })?;
    Ok(builder.schema().clone())
}

/// SHA-256 of an object, read in pieces.
pub async fn sha256_object(lake: &Lake, path: &str) -> Result<String> {
    let mut hasher = Sha256::new();
    lake.for_each_piece(path, async |piece| {
        hasher.update(&piece);
        Ok(())
    })
    .await?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    /// The checksums taken as the bytes went out are those of the files as stored, in every
    /// format, for a table of several batches and for an empty one.
    #[tokio::test]
    async fn recorded_checksums_are_those_of_the_stored_files() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let mut config = datafusion::prelude::SessionConfig::new().with_batch_size(1000);
        config.options_mut().sql_parser.map_string_types_to_utf8view = false;
        let ctx = SessionContext::new_with_config(config);
        let mut publisher = Publisher::new(&lake, "2026-06-30");
        let many = ctx
            .sql(
                "SELECT value AS n, 'unit ' || CAST(value AS VARCHAR) AS name, \
                 make_array(value, value + 1) AS pair FROM generate_series(1, 4500)",
            )
            .await
            .unwrap();
        publisher
            .write_formats("many", many, true, true)
            .await
            .unwrap();
        let none = ctx.sql("SELECT 1 AS n WHERE false").await.unwrap();
        publisher
            .write_formats("none", none, true, true)
            .await
            .unwrap();
        publisher
            .write_bytes("report", "html", b"<p>report</p>".to_vec(), 1)
            .await
            .unwrap();

        assert_eq!(publisher.outputs.len(), 7);
        for output in &publisher.outputs {
            let stored = sha256_object(&lake, &output.path).await.unwrap();
            assert_eq!(output.sha256, stored, "{}", output.path);
        }
        let rows: Vec<u64> = publisher.outputs.iter().map(|o| o.rows).collect();
        assert_eq!(rows, [4500, 4500, 4500, 0, 0, 0, 1]);
    }
}
