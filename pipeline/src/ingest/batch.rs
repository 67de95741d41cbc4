//! Arrow builders for accepted rows (schema from the contract); the quarantine and quality
//! rows are the lake's (`lake::tables`).

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder,
    ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;

use crate::contract::values::Value;
use crate::contract::{Kind, Source};
use crate::lake::schema::LakeSchema;

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
    /// Bytes of the rows held (text lengths plus eight per value), to flush by size.
    bytes: usize,
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
            bytes: 0,
        }
    }

    pub fn push(&mut self, values: &[Value], ingest: u64, file: &str, line: u64) {
        for (c, v) in self.columns.iter_mut().zip(values) {
            c.push(v);
            self.bytes += 8 + match v {
                Value::Str(s) => s.len(),
                Value::List(items) => items.iter().map(|i| i.len() + 4).sum(),
                _ => 0,
            };
        }
        self.bytes += 24 + file.len();
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

    /// Bytes of the rows held (an estimate of the batch's size).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn finish(&mut self) -> RecordBatch {
        self.bytes = 0;
        let mut arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        arrays.push(Arc::new(self.ingest.finish()));
        arrays.push(Arc::new(self.file.finish()));
        arrays.push(Arc::new(self.line.finish()));
        RecordBatch::try_new(self.schema.clone(), arrays).expect("builders match the schema")
    }
}
