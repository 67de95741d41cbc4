//! The lake's own tables beside the eight sources: `quarantine` (rejected rows with their
//! reason) and `quality` (one accounting row per ingested file), their schemas and rows.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Builder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use super::schema::LakeSchema;
use crate::contract::Source;

/// Lake table names besides the eight sources.
pub const QUARANTINE: &str = "quarantine";
pub const QUALITY: &str = "quality";

/// The partition column of `iot_events`: the local month (`YYYY-MM`) of `ts`, so that an ingest
/// checks duplicates and rewrites only the months it touches. It is in the table's Delta schema
/// and its folder names, not in the data files.
pub const IOT_MONTH: &str = "month";

/// The folder of a local month (yyyymm) in `iot_events`: `month=yyyy-mm`.
pub fn month_partition(month: i32) -> String {
    format!("{IOT_MONTH}={:04}-{:02}", month / 100, month % 100)
}

/// The local month (yyyymm) of a file of `iot_events` from its partition folder; none for a
/// file outside one.
pub fn partition_month(path: &str) -> Option<i32> {
    let prefix = format!("{IOT_MONTH}=");
    let text = path
        .split('/')
        .find_map(|p| p.strip_prefix(prefix.as_str()))?;
    let (year, month) = text.split_once('-')?;
    Some(year.parse::<i32>().ok()? * 100 + month.parse::<i32>().ok()?)
}

/// The folder of a lake table, relative to the lake root (the Delta table's root).
pub fn root(name: &str) -> String {
    format!("tables/{name}")
}

/// The Delta schema of a lake table (the file schema, and the partition column of
/// `iot_events`) and its partition columns.
pub fn delta_schema(name: &str) -> crate::error::Result<(Schema, Vec<&'static str>)> {
    let (_, schema) = all()
        .into_iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| crate::error::Error::Internal(format!("no lake table {name}")))?;
    if name != Source::IotEvents.name() {
        return Ok((schema.as_ref().clone(), Vec::new()));
    }
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(IOT_MONTH, DataType::Utf8, false));
    Ok((Schema::new(fields), vec![IOT_MONTH]))
}

/// Every lake table with its schema: the eight sources, then `quarantine` and `quality`.
pub fn all() -> Vec<(&'static str, SchemaRef)> {
    Source::ALL
        .iter()
        .map(|s| (s.name(), s.lake_schema()))
        .chain([
            (QUARANTINE, quarantine_schema()),
            (QUALITY, quality_schema()),
        ])
        .collect()
}

/// Schema of the `quarantine` table. `fields` holds the row's cells as a JSON object so that an
/// `unknown_unit` row can be validated again when its unit arrives.
pub fn quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("ingest", DataType::Int64, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("line", DataType::Int64, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, false),
        Field::new("raw", DataType::Utf8, false),
        Field::new("fields", DataType::Utf8, false),
        Field::new("released_in", DataType::Int64, true),
    ]))
}

/// One quarantined row.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineRow {
    pub ingest: u64,
    pub source: String,
    pub file: String,
    pub line: u64,
    pub reason: String,
    pub detail: String,
    pub raw: String,
    pub fields: String,
    pub released_in: Option<u64>,
}

pub fn quarantine_batch(rows: &[QuarantineRow]) -> RecordBatch {
    let mut ingest = Int64Builder::new();
    let mut strs: Vec<StringBuilder> = (0..6).map(|_| StringBuilder::new()).collect();
    let mut line = Int64Builder::new();
    let mut released = Int64Builder::new();
    for r in rows {
        ingest.append_value(r.ingest as i64);
        line.append_value(r.line as i64);
        released.append_option(r.released_in.map(|v| v as i64));
        for (b, s) in strs
            .iter_mut()
            .zip([&r.source, &r.file, &r.reason, &r.detail, &r.raw, &r.fields])
        {
            b.append_value(s);
        }
    }
    let s: Vec<ArrayRef> = strs
        .iter_mut()
        .map(|b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    RecordBatch::try_new(
        quarantine_schema(),
        vec![
            Arc::new(ingest.finish()),
            s[0].clone(),
            s[1].clone(),
            Arc::new(line.finish()),
            s[2].clone(),
            s[3].clone(),
            s[4].clone(),
            s[5].clone(),
            Arc::new(released.finish()),
        ],
    )
    .expect("quarantine schema")
}

/// Per-file accounting (`quality` table).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct QualityRow {
    pub ingest: u64,
    pub source: String,
    pub file: String,
    pub sha256: String,
    pub format: String,
    pub encoding: String,
    pub status: String,
    pub message: Option<String>,
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_quarantined: u64,
    pub rows_superseded: u64,
    pub rows_released: u64,
    pub warnings: Option<String>,
}

pub fn quality_schema() -> SchemaRef {
    let s = |n| Field::new(n, DataType::Utf8, false);
    let n = |n| Field::new(n, DataType::Int64, false);
    Arc::new(Schema::new(vec![
        n("ingest"),
        s("source"),
        s("file"),
        s("sha256"),
        s("format"),
        s("encoding"),
        s("status"),
        Field::new("message", DataType::Utf8, true),
        n("rows_read"),
        n("rows_accepted"),
        n("rows_quarantined"),
        n("rows_superseded"),
        n("rows_released"),
        Field::new("warnings", DataType::Utf8, true),
    ]))
}

pub fn quality_batch(rows: &[QualityRow]) -> RecordBatch {
    let strs = |f: &dyn Fn(&QualityRow) -> Option<&str>| -> ArrayRef {
        let mut b = StringBuilder::new();
        rows.iter().for_each(|r| b.append_option(f(r)));
        Arc::new(b.finish())
    };
    let ints = |f: &dyn Fn(&QualityRow) -> u64| -> ArrayRef {
        let mut b = Int64Builder::new();
        rows.iter().for_each(|r| b.append_value(f(r) as i64));
        Arc::new(b.finish())
    };
    RecordBatch::try_new(
        quality_schema(),
        vec![
            ints(&|r| r.ingest),
            strs(&|r| Some(&r.source)),
            strs(&|r| Some(&r.file)),
            strs(&|r| Some(&r.sha256)),
            strs(&|r| Some(&r.format)),
            strs(&|r| Some(&r.encoding)),
            strs(&|r| Some(&r.status)),
            strs(&|r| r.message.as_deref()),
            ints(&|r| r.rows_read),
            ints(&|r| r.rows_accepted),
            ints(&|r| r.rows_quarantined),
            ints(&|r| r.rows_superseded),
            ints(&|r| r.rows_released),
            strs(&|r| r.warnings.as_deref()),
        ],
    )
    .expect("quality schema")
}
