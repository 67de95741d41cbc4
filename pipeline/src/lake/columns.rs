//! Typed views of a published table's columns, whatever layout the engine chose (strings as
//! views or not, integers of any width): for the small tables that Rust reads back.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};

use crate::error::{Error, Result};

fn column<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a dyn Array> {
    b.column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| Error::Invalid(format!("published table lacks column {name}")))
}

pub fn text(b: &RecordBatch, name: &str) -> Result<Vec<Option<String>>> {
    let col = cast(column(b, name)?, &DataType::Utf8)?;
    let s = col.as_string::<i32>();
    Ok((0..s.len())
        .map(|i| (!s.is_null(i)).then(|| s.value(i).to_string()))
        .collect())
}

pub fn f64s(b: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>> {
    let col = cast(column(b, name)?, &DataType::Float64)?;
    Ok(col.as_primitive::<Float64Type>().iter().collect())
}

pub fn i64s(b: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>> {
    let col = cast(column(b, name)?, &DataType::Int64)?;
    Ok(col.as_primitive::<Int64Type>().iter().collect())
}
