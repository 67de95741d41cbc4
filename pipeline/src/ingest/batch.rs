//! Arrow builders for accepted rows (schema from the contract), quarantine rows and quality rows.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder,
    ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use crate::contract::values::Value;
use crate::contract::{Kind, LakeSchema, Source};

enum Column {
    Str(StringBuilder),
    Float(Float64Builder),
    Int(Int64Builder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    List(ListBuilder<StringBuilder>),
}

impl Column {
    fn new(kind: Kind) -> Self {
        match kind {
            Kind::Str | Kind::Enum(_) | Kind::Uscc => Column::Str(StringBuilder::new()),
            Kind::Float => Column::Float(Float64Builder::new()),
            Kind::Int => Column::Int(Int64Builder::new()),
            Kind::Bool => Column::Bool(BooleanBuilder::new()),
            Kind::Date => Column::Date(Date32Builder::new()),
            Kind::Timestamp => Column::Ts(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
            Kind::List => Column::List(ListBuilder::new(StringBuilder::new())),
        }
    }

    fn push(&mut self, v: &Value) {
        match (self, v) {
            (Column::Str(b), Value::Str(s)) => b.append_value(s),
            (Column::Float(b), Value::Float(x)) => b.append_value(*x),
            (Column::Float(b), Value::Int(x)) => b.append_value(*x as f64),
            (Column::Int(b), Value::Int(x)) => b.append_value(*x),
            (Column::Bool(b), Value::Bool(x)) => b.append_value(*x),
            (Column::Date(b), Value::Date(d)) => b.append_value(*d),
            (Column::Ts(b), Value::Timestamp(t)) => b.append_value(*t),
            (Column::List(b), Value::List(items)) => {
                for i in items {
                    b.values().append_value(i);
                }
                b.append(true);
            }
            (c, _) => c.push_null(),
        }
    }

    fn push_null(&mut self) {
        match self {
            Column::Str(b) => b.append_null(),
            Column::Float(b) => b.append_null(),
            Column::Int(b) => b.append_null(),
            Column::Bool(b) => b.append_null(),
            Column::Date(b) => b.append_null(),
            Column::Ts(b) => b.append_null(),
            Column::List(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Str(b) => Arc::new(b.finish()),
            Column::Float(b) => Arc::new(b.finish()),
            Column::Int(b) => Arc::new(b.finish()),
            Column::Bool(b) => Arc::new(b.finish()),
            Column::Date(b) => Arc::new(b.finish()),
            Column::Ts(b) => Arc::new(b.finish()),
            Column::List(b) => Arc::new(b.finish()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Column::Str(b) => b.len(),
            Column::Float(b) => b.len(),
            Column::Int(b) => b.len(),
            Column::Bool(b) => b.len(),
            Column::Date(b) => b.len(),
            Column::Ts(b) => b.len(),
            Column::List(b) => b.len(),
        }
    }
}

/// Accumulates accepted rows of one source with their lineage.
pub struct RowBatchBuilder {
    schema: SchemaRef,
    columns: Vec<Column>,
    ingest: Int64Builder,
    file: StringBuilder,
    line: Int64Builder,
}

impl RowBatchBuilder {
    pub fn new(source: Source) -> Self {
        RowBatchBuilder {
            schema: source.lake_schema(),
            columns: source
                .fields()
                .iter()
                .map(|f| Column::new(f.kind))
                .collect(),
            ingest: Int64Builder::new(),
            file: StringBuilder::new(),
            line: Int64Builder::new(),
        }
    }

    pub fn push(&mut self, values: &[Value], ingest: u64, file: &str, line: u64) {
        for (c, v) in self.columns.iter_mut().zip(values) {
            c.push(v);
        }
        self.ingest.append_value(ingest as i64);
        self.file.append_value(file);
        self.line.append_value(line as i64);
    }

    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn finish(&mut self) -> RecordBatch {
        let mut arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        arrays.push(Arc::new(self.ingest.finish()));
        arrays.push(Arc::new(self.file.finish()));
        arrays.push(Arc::new(self.line.finish()));
        RecordBatch::try_new(self.schema.clone(), arrays).expect("builders match the schema")
    }
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
