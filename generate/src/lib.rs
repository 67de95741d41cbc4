//! The synthetic province behind `firecredit generate`: an inbox of all eight sources with a
//! planted fire model and the truth it used (`INBOX/_truth/`), optionally with injected defects
//! of every contract kind. Test data only: the product never reads it but as an inbox.
//!
//! Units are generated in chunks in parallel (rayon); each chunk writes its own IoT file, and
//! the other sources are appended chunk by chunk in unit order, so memory stays bounded and the
//! output is identical for a seed whatever the thread count.
//!
//! # Layout
//! - this file: options, the writers of each format, the chunked generation loop.
//! - `world`: districts, grids and units; the planted fire model and its yearly drift.
//! - `history`: each unit's four years of inspections, findings, complaints, fires, devices
//!   and credit actions, from a planted model; objection and repair filings with and without
//!   decisions (supervision.md §8); and a few units listed, lifted and listed again over the
//!   last three days, for `nightly` on consecutive days (§6).
//! - `enforcement`: follow-up checks, officers in rotation, planted enforcement defects, and
//!   the alerts they raise (§7), written to `_truth/enforcement_alerts.csv`.

mod enforcement;
mod history;
mod world;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use rand::Rng;
use rayon::prelude::*;
use serde::Serialize;

pub use firecredit_contract::records::Format;
use firecredit_contract::{Kind, Reason, Source};
use history::{Frame, Roster, Row, UnitRows};
use world::{make_unit, unit_rng, DISTRICTS};

/// The default `--fire-drift`: the planted fire rate rises by about a quarter a year.
pub const DEFAULT_FIRE_DRIFT: f64 = 0.25;

/// Units per parallel chunk; each chunk writes one IoT file.
const CHUNK: usize = 20_000;

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub out: PathBuf,
    pub units: usize,
    /// Local date, days since 1970-01-01.
    pub as_of: i32,
    pub seed: u64,
    pub format: Format,
    /// Sources written as GB18030 CSV instead of the default format.
    pub gbk: Vec<Source>,
    /// Sources written as NDJSON instead of the default format.
    pub ndjson: Vec<Source>,
    /// Share of rows followed by a defective copy.
    pub dirty: f64,
    /// Change of the planted fire model's log-odds per year, beyond what the units' records
    /// explain (0 at the middle year of the history; see [`world::fire_log_odds`]).
    pub fire_drift: f64,
    /// A second inbox for the rows of the `as_of` day itself ([`event_day`]): `out` then holds
    /// the history to the day before, and this folder one more day on top of it.
    pub last_day: Option<PathBuf>,
}

/// What was generated: rows per source, injected defects, superseded rows planted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GenerateSummary {
    pub units: usize,
    pub as_of: String,
    pub seed: u64,
    pub rows: BTreeMap<String, u64>,
    /// Source → reason → defective rows injected (each is quarantined with that reason).
    pub defects: BTreeMap<String, BTreeMap<String, u64>>,
    /// Source → rows that lose to another version of the same id or are exact duplicates.
    pub superseded: BTreeMap<String, u64>,
    /// Oracle AUC of the true probabilities against the realised fires, per cutoff.
    pub oracle_auc: BTreeMap<String, f64>,
    pub fire_rate: BTreeMap<String, f64>,
    /// The planted drift in log-odds per year (`--fire-drift`).
    pub fire_drift: f64,
    /// Kind → enforcement alerts the inbox raises at `as_of` (listed in
    /// `_truth/enforcement_alerts.csv`).
    pub alerts: BTreeMap<String, u64>,
    /// Source → rows written to the last day's inbox (`--last-day`), beside those of `rows`
    /// (written to the first inbox).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub last_day_rows: BTreeMap<String, u64>,
}

/// Why a synthetic inbox could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("Parquet {path}: {source}")]
    Parquet {
        path: String,
        #[source]
        source: datafusion::parquet::errors::ParquetError,
    },
    #[error("invalid option: {0}")]
    Invalid(String),
    /// A file could not be written (the message names it).
    #[error("{0}")]
    Write(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A file being written in one of the three formats.
enum Sink {
    Csv {
        w: csv::Writer<BufWriter<File>>,
        gbk: bool,
    },
    Ndjson(BufWriter<File>),
    Parquet {
        w: ArrowWriter<File>,
        rows: Vec<Row>,
    },
}

struct Output {
    source: Source,
    path: PathBuf,
    sink: Sink,
    rows: u64,
}

impl Output {
    fn create(dir: &Path, source: Source, name: &str, format: Format, gbk: bool) -> Result<Self> {
        let folder = dir.join(source.name());
        std::fs::create_dir_all(&folder).map_err(io(&folder))?;
        let ext = if gbk { "csv" } else { format.name() };
        let path = folder.join(format!("{name}.{ext}"));
        let file = File::create(&path).map_err(io(&path))?;
        let header: Vec<&str> = source.fields().iter().map(|f| f.name).collect();
        let sink = match (format, gbk) {
            (_, true) | (Format::Csv, _) => {
                let mut w =
                    csv::WriterBuilder::new().from_writer(BufWriter::with_capacity(1 << 20, file));
                w.write_record(&header)
                    .map_err(|e| Error::Write(e.to_string()))?;
                Sink::Csv { w, gbk }
            }
            (Format::Ndjson, _) => Sink::Ndjson(BufWriter::with_capacity(1 << 20, file)),
            (Format::Parquet, _) => {
                let schema = Arc::new(Schema::new(
                    header
                        .iter()
                        .map(|h| Field::new(*h, DataType::Utf8, true))
                        .collect::<Vec<_>>(),
                ));
                let w =
                    ArrowWriter::try_new(file, schema, None).map_err(|source| Error::Parquet {
                        path: path.display().to_string(),
                        source,
                    })?;
                Sink::Parquet {
                    w,
                    rows: Vec::new(),
                }
            }
        };
        Ok(Output {
            source,
            path,
            sink,
            rows: 0,
        })
    }

    /// Writes one row; `bad_bytes` replaces the first cell with raw (mis-encoded) bytes.
    fn write(&mut self, row: &Row, bad_bytes: Option<&[u8]>) -> Result<()> {
        self.rows += 1;
        let err = |e: &dyn std::fmt::Display| Error::Write(format!("{}: {e}", self.path.display()));
        match &mut self.sink {
            Sink::Csv { w, gbk } => {
                let mut rec = csv::ByteRecord::new();
                for (i, cell) in row.iter().enumerate() {
                    match (i, bad_bytes) {
                        (0, Some(bytes)) => rec.push_field(bytes),
                        _ if *gbk => rec.push_field(&encoding_rs::GB18030.encode(cell).0),
                        _ => rec.push_field(cell.as_bytes()),
                    }
                }
                w.write_byte_record(&rec).map_err(|e| err(&e))
            }
            Sink::Ndjson(w) => {
                let fields = self.source.fields();
                let mut line = Vec::with_capacity(256);
                line.push(b'{');
                for (i, (f, cell)) in fields.iter().zip(row).enumerate() {
                    if i > 0 {
                        line.push(b',');
                    }
                    line.extend_from_slice(serde_json::to_string(f.name).expect("name").as_bytes());
                    line.push(b':');
                    if let (0, Some(bytes)) = (i, bad_bytes) {
                        line.push(b'"');
                        line.extend_from_slice(bytes);
                        line.push(b'"');
                        continue;
                    }
                    let v = if cell.is_empty() {
                        serde_json::Value::Null
                    } else if f.kind == Kind::List {
                        cell.split(';').map(serde_json::Value::from).collect()
                    } else {
                        serde_json::Value::from(cell.as_str())
                    };
                    line.extend_from_slice(v.to_string().as_bytes());
                }
                line.extend_from_slice(b"}\n");
                w.write_all(&line).map_err(io(&self.path))
            }
            Sink::Parquet { w, rows } => {
                rows.push(row.clone());
                if rows.len() >= 64 * 1024 {
                    let batch = text_batch(self.source, rows);
                    rows.clear();
                    w.write(&batch).map_err(|e| err(&e))?;
                }
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<u64> {
        let path = self.path;
        let err = |e: &dyn std::fmt::Display| Error::Write(format!("{}: {e}", path.display()));
        match self.sink {
            Sink::Csv { mut w, .. } => w.flush().map_err(io(&path))?,
            Sink::Ndjson(mut w) => w.flush().map_err(io(&path))?,
            Sink::Parquet { mut w, rows } => {
                if !rows.is_empty() {
                    w.write(&text_batch(self.source, &rows))
                        .map_err(|e| err(&e))?;
                }
                w.close().map_err(|e| err(&e))?;
            }
        }
        Ok(self.rows)
    }
}

/// Parquet output keeps the contract's text forms (every column Utf8, empty = null).
fn text_batch(source: Source, rows: &[Row]) -> RecordBatch {
    let fields = source.fields();
    let columns: Vec<ArrayRef> = (0..fields.len())
        .map(|i| {
            let mut b = StringBuilder::new();
            for r in rows {
                b.append_option((!r[i].is_empty()).then_some(r[i].as_str()));
            }
            Arc::new(b.finish()) as ArrayRef
        })
        .collect();
    let schema = Arc::new(Schema::new(
        fields
            .iter()
            .map(|f| Field::new(f.name, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    RecordBatch::try_new(schema, columns).expect("text schema")
}

/// The reasons defective rows are made for: every reason but `too_large` (the contract's first;
/// megabyte rows have their own test), in the contract's order, so that a seed makes the inbox
/// it always made.
const DEFECTS: &[Reason] = Reason::ALL.split_at(1).1;

/// A defective copy of `row` with the given reason, or `None` when the reason cannot apply to
/// this source or format. The copy gets a fresh id so that it never touches a good row.
fn defect(
    source: Source,
    row: &Row,
    reason: Reason,
    n: u64,
    format: Format,
    gbk: bool,
) -> Option<(Row, Option<Vec<u8>>)> {
    let fields = source.fields();
    let mut r = row.clone();
    let idx = |name: &str| source.field_index(name);
    let fresh = format!("{}-D{n}", r[0]);
    r[0] = fresh.clone();
    let mut bad_bytes = None;
    match reason {
        Reason::TooLarge => return None,
        Reason::BadEncoding => {
            if format == Format::Parquet && !gbk {
                return None;
            }
            let mut bytes = fresh.into_bytes();
            // 0xFF is invalid in UTF-8 and in GB18030 alike.
            bytes.extend_from_slice(&[0xFF, 0xFF]);
            bad_bytes = Some(bytes);
        }
        Reason::ParseError => {
            let i = fields
                .iter()
                .position(|f| matches!(f.kind, Kind::Date | Kind::Timestamp))?;
            r[i] = if fields[i].kind == Kind::Date {
                "2025-02-30".into()
            } else {
                "2025-02-30T10:00:00".into()
            };
        }
        Reason::MissingField => {
            let i = fields.iter().skip(1).position(|f| f.required)? + 1;
            r[i] = String::new();
        }
        Reason::BadEnum => {
            let i = fields
                .iter()
                .position(|f| matches!(f.kind, Kind::Enum(_) | Kind::Bool))?;
            r[i] = "surprise".into();
        }
        Reason::BadUscc => {
            let i = idx("uscc")?;
            let good = &r[i];
            if good.len() != 18 {
                return None;
            }
            let last = if good.ends_with('0') { '1' } else { '0' };
            r[i] = format!("{}{last}", &good[..17]);
        }
        Reason::OutOfRange => {
            let (i, v) = match source {
                Source::Units => (idx("lat")?, "99.5"),
                Source::Violations => (idx("penalty_yuan")?, "-100"),
                Source::Incidents => (idx("deaths")?, "-1"),
                Source::Inspectors => (idx("district_code")?, "4401"),
                _ => return None,
            };
            r[i] = v.into();
        }
        Reason::UnknownCode => match source {
            Source::Violations => r[3] = "V999".into(),
            Source::CreditActions if r[2] == "bonus" => r[3] = "B99".into(),
            _ => return None,
        },
        Reason::UnknownUnit => {
            let i = idx("unit_id")?;
            if source == Source::Units {
                return None;
            }
            r[i] = format!("UX{n:07}");
        }
    }
    Some((r, bad_bytes))
}

/// The local day a row is about: its source's first required date or timestamp (the day an
/// inspection was made, a violation found, an event happened), or for a unit's later version
/// the day it was updated. None for a unit's first version and for inspectors: they are the
/// registry the history stands on.
fn event_day(source: Source, row: &Row, version: usize) -> Option<i32> {
    use firecredit_contract::values::{local_day, parse_date, parse_timestamp};
    let fields = source.fields();
    let i = match source {
        Source::Units if version > 0 => source.updated_at_field()?,
        Source::Units | Source::Inspectors => return None,
        _ => fields
            .iter()
            .position(|f| f.required && matches!(f.kind, Kind::Date | Kind::Timestamp))?,
    };
    match fields[i].kind {
        Kind::Date => parse_date(&row[i]),
        _ => parse_timestamp(&row[i]).map(local_day),
    }
}

/// Where rows go with `--last-day`: the rows of that day to a second inbox, opened on its
/// first row, everything else to the main one.
struct LastDay<'a> {
    dir: Option<&'a Path>,
    day: i32,
    outputs: BTreeMap<Source, Output>,
}

impl<'a> LastDay<'a> {
    fn new(opts: &'a GenerateOptions) -> Self {
        LastDay {
            dir: opts.last_day.as_deref(),
            day: opts.as_of,
            outputs: BTreeMap::new(),
        }
    }

    /// The output `row` goes to: the last day's, or `main`.
    fn route<'o>(
        &'o mut self,
        main: &'o mut Output,
        row: &Row,
        version: usize,
        (format, gbk): (Format, bool),
        name: &str,
    ) -> Result<&'o mut Output> {
        let Some(dir) = self.dir else {
            return Ok(main);
        };
        if event_day(main.source, row, version) != Some(self.day) {
            return Ok(main);
        }
        Ok(match self.outputs.entry(main.source) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(Output::create(dir, main.source, name, format, gbk)?)
            }
        })
    }

    /// Closes the last day's files; adds their rows to `summary`.
    fn finish(self, summary: &mut GenerateSummary) -> Result<()> {
        for (s, o) in self.outputs {
            let n = o.finish()?;
            *summary.last_day_rows.entry(s.name().into()).or_default() += n;
        }
        Ok(())
    }
}

/// Generates the inbox; returns what it wrote.
pub fn generate(opts: &GenerateOptions) -> Result<GenerateSummary> {
    if !(0.0..=1.0).contains(&opts.dirty) {
        return Err(Error::Invalid(format!(
            "--dirty {} is not in 0..1",
            opts.dirty
        )));
    }
    if !(-1.0..=1.0).contains(&opts.fire_drift) {
        return Err(Error::Invalid(format!(
            "--fire-drift {} is not in -1..1 (log-odds per year)",
            opts.fire_drift
        )));
    }
    let out = &opts.out;
    std::fs::create_dir_all(out).map_err(io(out))?;
    let frame = Frame {
        seed: opts.seed,
        start: opts.as_of - 1460,
        as_of: opts.as_of,
        limits: enforcement::Limits::defaults(),
        fire_drift: opts.fire_drift,
    };
    tracing::info!(units = opts.units, "generating unit registry");
    let units: Vec<world::Unit> = (0..opts.units)
        .into_par_iter()
        .map(|i| make_unit(opts.seed, i, opts.units, frame.start, opts.as_of))
        .collect();

    // Inspector roster: about one officer per 150 units of a district, some inactive, some
    // with conflicts of interest (回避).
    let mut per_district: Vec<Vec<usize>> = vec![Vec::new(); DISTRICTS.len()];
    for u in &units {
        per_district[u.district].push(u.idx);
    }
    let mut roster = Roster {
        active: vec![Vec::new(); DISTRICTS.len()],
        district_of: std::collections::HashMap::new(),
    };
    let mut inspector_rows: Vec<Row> = Vec::new();
    let mut rng = unit_rng(opts.seed, usize::MAX, 4);
    const SURNAMES: &[&str] = &[
        "陈", "李", "黄", "张", "梁", "刘", "林", "王", "吴", "何", "罗", "郑",
    ];
    const GIVEN: &[&str] = &[
        "志强", "伟", "敏", "丽华", "建国", "晓东", "嘉欣", "俊杰", "海燕", "国栋",
    ];
    for (d, members) in per_district.iter().enumerate() {
        let n = (members.len() / 150).max(3);
        for k in 0..n {
            let id = format!("P{}{k:04}", &DISTRICTS[d].0[2..]);
            let active = rng.random::<f64>() < 0.9;
            roster.district_of.insert(id.clone(), d);
            if active {
                roster.active[d].push(id.clone());
            }
            let conflicts: Vec<String> = if rng.random::<f64>() < 0.05 && !members.is_empty() {
                (0..rng.random_range(1..4))
                    .map(|_| {
                        units[members[rng.random_range(0..members.len())]]
                            .id
                            .clone()
                    })
                    .collect()
            } else {
                vec![]
            };
            inspector_rows.push(vec![
                id,
                format!(
                    "{}{}",
                    SURNAMES[rng.random_range(0..SURNAMES.len())],
                    GIVEN[rng.random_range(0..GIVEN.len())]
                ),
                DISTRICTS[d].0.into(),
                if active { "true" } else { "false" }.into(),
                conflicts.join(";"),
            ]);
        }
    }

    let format_of = |s: Source| -> (Format, bool) {
        if opts.gbk.contains(&s) {
            (Format::Csv, true)
        } else if opts.ndjson.contains(&s) {
            (Format::Ndjson, false)
        } else {
            (opts.format, false)
        }
    };
    let single = [
        Source::Units,
        Source::Inspections,
        Source::Violations,
        Source::Complaints,
        Source::Incidents,
        Source::CreditActions,
        Source::Inspectors,
    ];
    let mut outputs: BTreeMap<Source, Output> = BTreeMap::new();
    for s in single {
        let (format, gbk) = format_of(s);
        outputs.insert(s, Output::create(out, s, s.name(), format, gbk)?);
    }
    let mut summary = GenerateSummary {
        units: opts.units,
        as_of: world::date(opts.as_of),
        seed: opts.seed,
        fire_drift: opts.fire_drift,
        ..Default::default()
    };
    let mut dirty = Dirty::new(opts.seed, opts.dirty);
    for row in &inspector_rows {
        dirty.write(
            outputs.get_mut(&Source::Inspectors).expect("out"),
            row,
            format_of(Source::Inspectors),
            &mut summary,
        )?;
    }

    let truth_dir = out.join("_truth");
    std::fs::create_dir_all(&truth_dir).map_err(io(&truth_dir))?;
    let truth_path = truth_dir.join("fire_truth.csv");
    let mut truth = csv::Writer::from_path(&truth_path).map_err(|e| Error::Write(e.to_string()))?;
    truth
        .write_record(["unit_id", "cutoff", "p_fire_365d", "fire_in_365d"])
        .map_err(|e| Error::Write(e.to_string()))?;
    let mut truth_scores: BTreeMap<i32, (Vec<f64>, Vec<bool>)> = BTreeMap::new();
    // The enforcement alerts the inbox raises at as_of (supervision.md §7).
    let alerts_path = truth_dir.join("enforcement_alerts.csv");
    let mut alerts =
        csv::Writer::from_path(&alerts_path).map_err(|e| Error::Write(e.to_string()))?;
    alerts
        .write_record(["alert_id", "kind"])
        .map_err(|e| Error::Write(e.to_string()))?;

    let mut last_day = LastDay::new(opts);
    let chunks: Vec<&[world::Unit]> = units.chunks(CHUNK).collect();
    let iot_format = format_of(Source::IotEvents);
    // A window of chunks at a time keeps memory bounded while both cores work.
    for window in chunks.chunks(rayon::current_num_threads().max(1) * 2) {
        let results: Vec<Result<ChunkOut>> = window
            .par_iter()
            .map(|chunk| {
                let first = chunk[0].idx;
                let name = format!("part-{:05}", first / CHUNK);
                let mut iot =
                    Output::create(out, Source::IotEvents, &name, iot_format.0, iot_format.1)?;
                let mut last = LastDay::new(opts);
                let mut d = Dirty::new(opts.seed ^ first as u64, opts.dirty);
                let mut s = GenerateSummary::default();
                let mut dups = 0u64;
                let mut rows: Vec<UnitRows> = Vec::with_capacity(chunk.len());
                for u in chunk.iter() {
                    // IoT rows are written as each unit is made: they are most of the volume.
                    let mut r = history::unit_history(&frame, u, &roster);
                    let mut prev: Option<&Row> = None;
                    for row in &r.iot {
                        if prev == Some(row) {
                            dups += 1;
                        }
                        let target = last.route(&mut iot, row, 0, iot_format, &name)?;
                        d.write(target, row, iot_format, &mut s)?;
                        prev = Some(row);
                    }
                    r.iot = Vec::new();
                    rows.push(r);
                }
                let n = iot.finish()?;
                last.finish(&mut s)?;
                let defects = s
                    .defects
                    .remove(Source::IotEvents.name())
                    .unwrap_or_default();
                Ok((rows, n, defects, dups, s.last_day_rows))
            })
            .collect();
        for result in results {
            let (rows, n, defects, dups, last_day_rows) = result?;
            *summary
                .rows
                .entry(Source::IotEvents.name().into())
                .or_default() += n;
            for (source, n) in last_day_rows {
                *summary.last_day_rows.entry(source).or_default() += n;
            }
            *summary
                .superseded
                .entry(Source::IotEvents.name().into())
                .or_default() += dups;
            let entry = summary
                .defects
                .entry(Source::IotEvents.name().into())
                .or_default();
            for (k, v) in defects {
                *entry.entry(k).or_default() += v;
            }
            for r in rows {
                if r.units.len() > 1 {
                    *summary
                        .superseded
                        .entry(Source::Units.name().into())
                        .or_default() += 1;
                }
                for (s, list) in [
                    (Source::Units, &r.units),
                    (Source::Inspections, &r.inspections),
                    (Source::Violations, &r.violations),
                    (Source::Complaints, &r.complaints),
                    (Source::Incidents, &r.incidents),
                    (Source::CreditActions, &r.credit_actions),
                ] {
                    for (version, row) in list.iter().enumerate() {
                        let main = outputs.get_mut(&s).expect("out");
                        let target = last_day.route(main, row, version, format_of(s), s.name())?;
                        dirty.write(target, row, format_of(s), &mut summary)?;
                    }
                }
                for (alert_id, kind) in &r.alerts {
                    alerts
                        .write_record([alert_id, kind])
                        .map_err(|e| Error::Write(e.to_string()))?;
                    *summary.alerts.entry(kind.clone()).or_default() += 1;
                }
                for (cutoff, p, fire) in &r.truth {
                    truth
                        .write_record([
                            r.units[0][0].clone(),
                            world::date(*cutoff),
                            format!("{p:.8}"),
                            u8::from(*fire).to_string(),
                        ])
                        .map_err(|e| Error::Write(e.to_string()))?;
                    let e = truth_scores.entry(*cutoff).or_default();
                    e.0.push(*p);
                    e.1.push(*fire);
                }
            }
        }
    }
    truth.flush().map_err(io(&truth_path))?;
    alerts.flush().map_err(io(&alerts_path))?;
    for (s, o) in outputs {
        let n = o.finish()?;
        *summary.rows.entry(s.name().into()).or_default() += n;
    }
    last_day.finish(&mut summary)?;
    for (cutoff, (p, y)) in &truth_scores {
        if let Some(auc) = firecredit_models::metrics::roc_auc(p, y) {
            summary.oracle_auc.insert(world::date(*cutoff), auc);
        }
        let rate = y.iter().filter(|v| **v).count() as f64 / y.len().max(1) as f64;
        summary.fire_rate.insert(world::date(*cutoff), rate);
    }
    let path = truth_dir.join("summary.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&summary).expect("summary"))
        .map_err(io(&path))?;
    Ok(summary)
}

/// What one chunk of units produced: the non-IoT rows (written in unit order afterwards), the
/// IoT file's row count, defects and planted duplicates,
/// and the rows it wrote to the last day's inbox.
type ChunkOut = (
    Vec<UnitRows>,
    u64,
    BTreeMap<String, u64>,
    u64,
    BTreeMap<String, u64>,
);

/// Injects defective copies after a share of rows.
struct Dirty {
    rng: rand_chacha::ChaCha8Rng,
    rate: f64,
    n: u64,
}

impl Dirty {
    fn new(seed: u64, rate: f64) -> Self {
        Dirty {
            rng: unit_rng(seed, usize::MAX - 1, 5),
            rate,
            n: 0,
        }
    }

    fn write(
        &mut self,
        out: &mut Output,
        row: &Row,
        (format, gbk): (Format, bool),
        summary: &mut GenerateSummary,
    ) -> Result<()> {
        out.write(row, None)?;
        if self.rate <= 0.0 || self.rng.random::<f64>() >= self.rate {
            return Ok(());
        }
        debug_assert_eq!(Reason::ALL[0], Reason::TooLarge);
        let reason = DEFECTS[self.rng.random_range(0..DEFECTS.len())];
        self.n += 1;
        if let Some((bad, bytes)) = defect(out.source, row, reason, self.n, format, gbk) {
            out.write(&bad, bytes.as_deref())?;
            *summary
                .defects
                .entry(out.source.name().into())
                .or_default()
                .entry(reason.code().into())
                .or_default() += 1;
        }
        Ok(())
    }
}
