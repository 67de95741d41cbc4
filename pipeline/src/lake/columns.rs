//! Typed reading of a table's columns by name, whatever layout the engine chose (strings as
//! views or not, integers of any width). The one way Rust reads a published table back: a
//! missing column or one of the wrong type is an error naming the table and the column, never
//! a panic.

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, RecordBatch, StringArray,
};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type, Schema};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::error::{Error, Result};

/// One batch of the table `table`.
#[derive(Clone, Copy)]
pub struct Columns<'a> {
    table: &'a str,
    batch: &'a RecordBatch,
}

impl<'a> Columns<'a> {
    pub fn new(table: &'a str, batch: &'a RecordBatch) -> Self {
        Columns { table, batch }
    }

    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    fn error(&self, column: &str, message: impl std::fmt::Display) -> Error {
        Error::Table {
            table: self.table.to_string(),
            column: column.to_string(),
            message: message.to_string(),
        }
    }

    fn column(&self, name: &str) -> Result<&'a ArrayRef> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| self.error(name, "no such column"))
    }

    fn cast(&self, name: &str, to: &DataType) -> Result<ArrayRef> {
        let column = self.column(name)?;
        // Not "safe": a value that does not convert is an error, not a silent null.
        let options = CastOptions {
            safe: false,
            ..Default::default()
        };
        cast_with_options(column, to, &options).map_err(|e| self.error(name, e))
    }

    /// The column as plain strings.
    pub fn strings(&self, name: &str) -> Result<StringArray> {
        Ok(self.cast(name, &DataType::Utf8)?.as_string::<i32>().clone())
    }

    /// The column as owned text, `None` for null.
    pub fn text(&self, name: &str) -> Result<Vec<Option<String>>> {
        Ok(self
            .strings(name)?
            .iter()
            .map(|s| s.map(str::to_string))
            .collect())
    }

    pub fn f64_array(&self, name: &str) -> Result<Float64Array> {
        Ok(self
            .cast(name, &DataType::Float64)?
            .as_primitive::<Float64Type>()
            .clone())
    }

    pub fn f64s(&self, name: &str) -> Result<Vec<Option<f64>>> {
        Ok(self.f64_array(name)?.iter().collect())
    }

    pub fn i64s(&self, name: &str) -> Result<Vec<Option<i64>>> {
        Ok(self
            .cast(name, &DataType::Int64)?
            .as_primitive::<Int64Type>()
            .iter()
            .collect())
    }

    pub fn bools(&self, name: &str) -> Result<BooleanArray> {
        Ok(self.cast(name, &DataType::Boolean)?.as_boolean().clone())
    }

    pub fn dates(&self, name: &str) -> Result<Date32Array> {
        Ok(self
            .cast(name, &DataType::Date32)?
            .as_primitive::<Date32Type>()
            .clone())
    }

    /// Every cell of the column as people read it (dates `YYYY-MM-DD`, lists `[a, b]`), empty
    /// for null.
    pub fn display(&self, name: &str) -> Result<Vec<String>> {
        let column = self.column(name)?;
        let opts = FormatOptions::default();
        let f = ArrayFormatter::try_new(column.as_ref(), &opts).map_err(|e| self.error(name, e))?;
        Ok((0..column.len())
            .map(|i| {
                if column.is_null(i) {
                    String::new()
                } else {
                    f.value(i).to_string()
                }
            })
            .collect())
    }
}

/// Names of the columns of `schema` that start with `prefix`, in table order.
pub fn names_with_prefix(schema: &Schema, prefix: &str) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::Int32Array;

    use super::*;

    #[test]
    fn columns_are_read_by_name_and_type_with_errors() {
        let b = RecordBatch::try_from_iter(vec![
            (
                "n",
                Arc::new(Int32Array::from(vec![Some(1), None])) as ArrayRef,
            ),
            ("s", Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef),
        ])
        .unwrap();
        let c = Columns::new("t", &b);
        assert_eq!(c.i64s("n").unwrap(), vec![Some(1), None]);
        assert_eq!(c.f64s("n").unwrap(), vec![Some(1.0), None]);
        assert_eq!(
            c.display("n").unwrap(),
            vec!["1".to_string(), String::new()]
        );
        let e = c.i64s("missing").unwrap_err().to_string();
        assert!(e.contains("table t") && e.contains("missing"), "{e}");
        assert!(c.dates("s").is_err());
    }
}
