//! CSV copies of published tables, for people and credit platforms: header row, UTF-8, lists
//! joined with `;` as in the inbox convention. Streamed to the object store batch by batch.
//!
//! Text that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or
//! a carriage return: a unit named `=HYPERLINK(...)`) gets a leading `'`, which Excel and WPS
//! show as text; the Parquet and NDJSON copies keep the raw value (docs/feed.md).
//!
//! The bytes are arrow-csv's (`arrow_cast::display` for each cell, the `csv` crate's quoting),
//! written by [`encode`] one typed column per cell instead of through a formatter and a `csv`
//! record per row (decisions.md 141); a property test holds the two to the same bytes.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, PrimitiveArray, StringArray, StringBuilder,
};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Field, Float64Type, Int32Type, Int64Type, Schema, SchemaRef, UInt64Type,
};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::lake::writer::Upload;
use crate::lake::{Digest, Lake};

pub struct CsvWriter {
    upload: Upload,
    digest: Digest,
    path: String,
    schema: SchemaRef,
    header_written: bool,
}

fn flat_type(t: &DataType) -> DataType {
    match t {
        DataType::List(_) | DataType::LargeList(_) | DataType::LargeUtf8 | DataType::Utf8View => {
            DataType::Utf8
        }
        other => other.clone(),
    }
}

/// Whether a spreadsheet would take `text` for a formula.
pub fn looks_like_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// `text` as a spreadsheet shows it verbatim: a formula-like cell gets a leading `'`.
pub fn spreadsheet_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if looks_like_formula(text) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// A CSV cell as the raw text it escapes: [`spreadsheet_safe`] undone.
pub fn unescape_formula(cell: &str) -> &str {
    cell.strip_prefix('\'')
        .filter(|rest| looks_like_formula(rest))
        .unwrap_or(cell)
}

/// The schema of [`flatten_lists`]' output.
pub fn flat_schema(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), flat_type(f.data_type()), true))
            .collect::<Vec<_>>(),
    ))
}

/// Replaces list columns with their items joined by `;` (null stays null), and text of any
/// layout with `Utf8`.
pub fn flatten_lists(batch: &RecordBatch) -> Result<RecordBatch> {
    // From the batch itself: an engine may hand out string views where the plan said Utf8.
    let schema = flat_schema(&batch.schema());
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::List(_) => {
                let list = c.as_list::<i32>();
                // The items as text once for the whole column, not once per row.
                let items = datafusion::arrow::compute::cast(list.values(), &DataType::Utf8)?;
                let items = items.as_string::<i32>();
                let mut b = StringBuilder::with_capacity(list.len(), items.value_data().len());
                let mut joined = String::new();
                for (i, range) in list.value_offsets().windows(2).enumerate() {
                    if list.is_null(i) {
                        b.append_null();
                        continue;
                    }
                    joined.clear();
                    let present = (range[0] as usize..range[1] as usize)
                        .filter(|j| items.is_valid(*j))
                        .map(|j| items.value(j));
                    for (k, item) in present.enumerate() {
                        if k > 0 {
                            joined.push(';');
                        }
                        joined.push_str(item);
                    }
                    b.append_value(&joined);
                }
                Ok(Arc::new(b.finish()) as ArrayRef)
            }
            // Text of any layout as plain `Utf8`, the type the flat schema declares.
            DataType::LargeUtf8 | DataType::Utf8View => {
                datafusion::arrow::compute::cast(c, &DataType::Utf8)
            }
            _ => Ok(c.clone()),
        })
        .collect::<std::result::Result<_, ArrowError>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// The text of one column's cells, as arrow-csv's writer (`arrow_cast::display` with its
/// default options) would print them.
enum Cells<'a> {
    /// Text (lists already joined): the raw value, a formula-like one escaped.
    Text(&'a StringArray),
    Int64(&'a PrimitiveArray<Int64Type>),
    Int32(&'a PrimitiveArray<Int32Type>),
    UInt64(&'a PrimitiveArray<UInt64Type>),
    Float64(&'a PrimitiveArray<Float64Type>),
    Boolean(&'a BooleanArray),
    /// Days written as chrono's `NaiveDate` does for years 0 to 9999; other years through the
    /// formatter.
    Date32(&'a PrimitiveArray<Date32Type>, ArrayFormatter<'a>),
    /// Any other type: arrow's own formatter, then quoted where needed.
    Other(ArrayFormatter<'a>),
}

/// `text` as a CSV field: quoted, with quotes doubled, when it holds a delimiter, a quote or a
/// line break (the `csv` crate's `QuoteStyle::Necessary`); `prefix` is written inside the
/// quotes, before the text.
fn push_field(out: &mut Vec<u8>, prefix: &[u8], text: &[u8]) {
    if !text
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        out.extend_from_slice(prefix);
        out.extend_from_slice(text);
        return;
    }
    out.push(b'"');
    out.extend_from_slice(prefix);
    for piece in text.split_inclusive(|b| *b == b'"') {
        out.extend_from_slice(piece);
        if piece.last() == Some(&b'"') {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

/// `days` since 1970-01-01 as `YYYY-MM-DD`, when its year is 0 to 9999 (a proleptic Gregorian
/// civil date, as chrono prints it); `false`, nothing written, for the other years. Also the
/// NDJSON feed's dates.
pub(super) fn push_date(out: &mut Vec<u8>, days: i32) -> bool {
    // Days to civil date (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        return false;
    }
    let two = |n: i64| [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
    let [c1, c2] = two(year / 100);
    let [y1, y2] = two(year % 100);
    let [m1, m2] = two(month);
    let [d1, d2] = two(day);
    out.extend_from_slice(&[c1, c2, y1, y2, b'-', m1, m2, b'-', d1, d2]);
    true
}

/// Row `i` as arrow's formatter prints it, as a CSV field.
fn push_formatted(
    f: &ArrayFormatter,
    i: usize,
    out: &mut Vec<u8>,
    scratch: &mut String,
) -> Result<()> {
    scratch.clear();
    f.value(i)
        .write(scratch)
        .map_err(|e| ArrowError::CsvError(format!("Error processing row {}: {e}", i + 1)))?;
    push_field(out, b"", scratch.as_bytes());
    Ok(())
}

impl<'a> Cells<'a> {
    fn new(column: &'a ArrayRef, options: &FormatOptions<'a>) -> Result<Self> {
        Ok(match column.data_type() {
            DataType::Utf8 => Cells::Text(column.as_string::<i32>()),
            DataType::Int64 => Cells::Int64(column.as_primitive()),
            DataType::Int32 => Cells::Int32(column.as_primitive()),
            DataType::UInt64 => Cells::UInt64(column.as_primitive()),
            DataType::Float64 => Cells::Float64(column.as_primitive()),
            DataType::Boolean => Cells::Boolean(column.as_boolean()),
            DataType::Date32 => Cells::Date32(
                column.as_primitive(),
                ArrayFormatter::try_new(column.as_ref(), options)?,
            ),
            t if t.is_nested() => {
                return Err(ArrowError::CsvError(format!(
                    "Nested type {t} is not supported in CSV"
                ))
                .into())
            }
            _ => Cells::Other(ArrayFormatter::try_new(column.as_ref(), options)?),
        })
    }

    /// Appends row `i`'s field (nothing for a null); `scratch` holds text arrow formats.
    fn push(&self, i: usize, out: &mut Vec<u8>, scratch: &mut String) -> Result<()> {
        match self {
            Cells::Text(a) if a.is_valid(i) => {
                let text = a.value(i);
                let prefix: &[u8] = if looks_like_formula(text) { b"'" } else { b"" };
                push_field(out, prefix, text.as_bytes());
            }
            Cells::Int64(a) if a.is_valid(i) => {
                out.extend_from_slice(itoa::Buffer::new().format(a.value(i)).as_bytes())
            }
            Cells::Int32(a) if a.is_valid(i) => {
                out.extend_from_slice(itoa::Buffer::new().format(a.value(i)).as_bytes())
            }
            Cells::UInt64(a) if a.is_valid(i) => {
                out.extend_from_slice(itoa::Buffer::new().format(a.value(i)).as_bytes())
            }
            Cells::Float64(a) if a.is_valid(i) => {
                out.extend_from_slice(ryu::Buffer::new().format(a.value(i)).as_bytes())
            }
            Cells::Boolean(a) if a.is_valid(i) => {
                out.extend_from_slice(if a.value(i) { b"true" } else { b"false" })
            }
            Cells::Date32(a, f) if a.is_valid(i) => {
                let written = push_date(out, a.value(i));
                if !written {
                    push_formatted(f, i, out, scratch)?;
                }
            }
            Cells::Other(f) => push_formatted(f, i, out, scratch)?,
            _ => {}
        }
        Ok(())
    }
}

/// Appends `batch` as CSV rows (after a header row when `header`) to `out`: list columns joined
/// ([`flatten_lists`]), formula-like text escaped ([`spreadsheet_safe`]), and byte for byte
/// what arrow-csv's writer prints for the same cells (comma, `\n`, quotes only where needed,
/// nulls empty). Encoded a column's type at a time per cell rather than through arrow-csv's
/// per-cell formatter and per-row `csv` record: the GD-1M ledger's CSV is 440 MB.
pub fn encode(batch: &RecordBatch, header: bool, out: &mut Vec<u8>) -> Result<()> {
    let flat = flatten_lists(batch)?;
    let options = FormatOptions::default().with_null("");
    let columns = flat
        .columns()
        .iter()
        .map(|c| Cells::new(c, &options))
        .collect::<Result<Vec<_>>>()?;
    // A record of one empty field is written `""`, as the `csv` crate does, so that it is
    // not read as a blank line.
    let end_record = |out: &mut Vec<u8>, start: usize| {
        if columns.len() == 1 && out.len() == start {
            out.extend_from_slice(b"\"\"");
        }
        out.push(b'\n');
    };
    if header {
        let start = out.len();
        for (k, field) in flat.schema().fields().iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            push_field(out, b"", field.name().as_bytes());
        }
        end_record(out, start);
    }
    let mut scratch = String::new();
    for i in 0..flat.num_rows() {
        let start = out.len();
        for (k, cells) in columns.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            cells.push(i, out, &mut scratch)?;
        }
        end_record(out, start);
    }
    Ok(())
}

impl CsvWriter {
    pub fn new(lake: &Lake, path: &str, schema: SchemaRef) -> Self {
        let (upload, digest) = Upload::hashed(lake, path);
        let flat = flat_schema(&schema);
        CsvWriter {
            upload,
            digest,
            path: path.to_string(),
            schema: flat,
            header_written: false,
        }
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }

    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut bytes = Vec::new();
        encode(batch, !self.header_written, &mut bytes)?;
        self.header_written = true;
        let result = self.upload.write_all(&bytes).await;
        result.map_err(|e| self.io(e))
    }

    /// Completes the upload (an empty table still gets its header row); the file's SHA-256.
    pub async fn finish(mut self) -> Result<String> {
        if !self.header_written {
            let empty = RecordBatch::new_empty(self.schema.clone());
            self.write(&empty).await?;
        }
        let result = self.upload.shutdown().await;
        result.map_err(|e| self.io(e))?;
        Ok(self.digest.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array, ListBuilder,
        StringViewArray, UInt64Array,
    };
    use proptest::prelude::*;

    #[test]
    fn lists_are_joined_row_by_row_in_a_sliced_batch() {
        let mut b = ListBuilder::new(StringBuilder::new());
        for row in [
            Some(vec![Some("skip")]),
            Some(vec![Some("a"), None, Some(""), Some("b")]),
            None,
            Some(vec![]),
            Some(vec![Some("c")]),
        ] {
            match row {
                Some(items) => {
                    for item in items {
                        b.values().append_option(item);
                    }
                    b.append(true);
                }
                None => b.append(false),
            }
        }
        let list: ArrayRef = Arc::new(b.finish());
        let batch = RecordBatch::try_from_iter(vec![("reasons", list)])
            .unwrap()
            .slice(1, 4);
        let flat = flatten_lists(&batch).unwrap();
        let joined: Vec<Option<&str>> = flat.column(0).as_string::<i32>().iter().collect();
        assert_eq!(joined, [Some("a;;b"), None, Some(""), Some("c")]);
    }

    /// What arrow-csv's writer prints for the batch once lists are joined and formula-like
    /// text escaped: the reference [`encode`] must equal byte for byte.
    fn arrow_csv(batch: &RecordBatch, header: bool) -> Vec<u8> {
        let flat = flatten_lists(batch).unwrap();
        let columns: Vec<ArrayRef> = flat
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Utf8 => {
                    let escaped: StringArray = c
                        .as_string::<i32>()
                        .iter()
                        .map(|v| v.map(spreadsheet_safe))
                        .collect();
                    Arc::new(escaped) as ArrayRef
                }
                _ => c.clone(),
            })
            .collect();
        let flat = RecordBatch::try_new(flat_schema(&flat.schema()), columns).unwrap();
        let mut bytes = Vec::new();
        {
            let mut w = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(header)
                .build(&mut bytes);
            w.write(&flat).unwrap();
        }
        bytes
    }

    fn encoded(batch: &RecordBatch, header: bool) -> String {
        let mut out = Vec::new();
        encode(batch, header, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formula_like_text_is_escaped_and_numbers_are_not() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("points", DataType::Int64, true),
        ]));
        let names = StringArray::from(vec![
            Some("=HYPERLINK(\"http://x\",\"y\")"),
            Some("+1"),
            Some("-2"),
            Some("@SUM(A1)"),
            Some("\tx"),
            Some("\rx"),
            Some("广州 = 好"),
            None,
        ]);
        let points = Int64Array::from(vec![-5, 1, 2, 3, 4, 5, 6, 7]);
        let batch = RecordBatch::try_new(schema, vec![Arc::new(names), Arc::new(points)]).unwrap();
        assert_eq!(
            encoded(&batch, true),
            "name,points\n\
             \"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",-5\n\
             '+1,1\n'-2,2\n'@SUM(A1),3\n'\tx,4\n\"'\rx\",5\n广州 = 好,6\n,7\n"
        );
        // The escape is undone by `unescape_formula` (what `verify-plan` reads back).
        for raw in batch.column(0).as_string::<i32>().iter().flatten() {
            assert_eq!(unescape_formula(&spreadsheet_safe(raw)), raw);
        }
    }

    #[test]
    fn dates_outside_four_digit_years_and_one_empty_column_print_as_arrow_csv_does() {
        // 0000-01-01, 9999-12-31 and the days either side of them, and 1970-01-01.
        let days = Date32Array::from(vec![
            Some(-719_528),
            Some(-719_529),
            Some(2_932_896),
            Some(2_932_897),
            Some(0),
            None,
        ]);
        let batch = RecordBatch::try_from_iter(vec![("d", Arc::new(days) as ArrayRef)]).unwrap();
        let text = encoded(&batch, true);
        assert_eq!(text.as_bytes(), arrow_csv(&batch, true));
        assert!(text.contains("\n0000-01-01\n-0001-12-31\n9999-12-31\n+10000-01-01\n"));
        // A record of one empty field, and a header of one empty name, are `""`.
        let schema = Arc::new(Schema::new(vec![Field::new("", DataType::Utf8, true)]));
        let empty = StringArray::from(vec![Some(""), None, Some("x")]);
        let batch = RecordBatch::try_new(schema, vec![Arc::new(empty)]).unwrap();
        assert_eq!(encoded(&batch, true), "\"\"\n\"\"\n\"\"\nx\n");
        assert_eq!(encoded(&batch, true).as_bytes(), arrow_csv(&batch, true));
    }

    /// One field of every row as an array of type `A`.
    fn column<T, A>(rows: &[Row], field: impl Fn(&Row) -> Option<T>) -> ArrayRef
    where
        A: From<Vec<Option<T>>> + Array + 'static,
    {
        Arc::new(A::from(rows.iter().map(field).collect::<Vec<_>>()))
    }

    /// One column of each type a published CSV holds, from proptest's values.
    fn batch_of(rows: &[Row]) -> RecordBatch {
        let text: StringArray = rows.iter().map(|r| r.text.clone()).collect();
        let mut list = ListBuilder::new(StringBuilder::new());
        for r in rows {
            match &r.list {
                Some(items) => {
                    for item in items {
                        list.values().append_option(item.clone());
                    }
                    list.append(true);
                }
                None => list.append(false),
            }
        }
        let decimals = Decimal128Array::from(rows.iter().map(|r| r.decimal).collect::<Vec<_>>())
            .with_precision_and_scale(20, 3)
            .unwrap();
        RecordBatch::try_from_iter(vec![
            ("text", Arc::new(text) as ArrayRef),
            ("int64", column::<_, Int64Array>(rows, |r| r.int64)),
            ("int32", column::<_, Int32Array>(rows, |r| r.int32)),
            ("uint64", column::<_, UInt64Array>(rows, |r| r.uint64)),
            ("float64", column::<_, Float64Array>(rows, |r| r.float64)),
            ("flag", column::<_, BooleanArray>(rows, |r| r.flag)),
            ("day", column::<_, Date32Array>(rows, |r| r.day)),
            ("decimal", Arc::new(decimals)),
            ("list", Arc::new(list.finish())),
            (
                "view",
                Arc::new(StringViewArray::from_iter(
                    rows.iter().map(|r| r.text.clone()),
                )),
            ),
        ])
        .unwrap()
    }

    #[derive(Debug, Clone)]
    struct Row {
        text: Option<String>,
        int64: Option<i64>,
        int32: Option<i32>,
        uint64: Option<u64>,
        float64: Option<f64>,
        flag: Option<bool>,
        day: Option<i32>,
        decimal: Option<i128>,
        list: Option<Vec<Option<String>>>,
    }

    fn row() -> impl Strategy<Value = Row> {
        // Text with the characters that need quoting or escaping, and plain ones.
        let text = "[a-z=+@\\-\t\r\n,\"' 广州]{0,6}";
        let float = prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-0.0),
            (0u32..1_000_000).prop_map(|n| f64::from(n) / 1e6),
        ];
        (
            (
                proptest::option::of(text),
                proptest::option::of(any::<i64>()),
                proptest::option::of(any::<i32>()),
                proptest::option::of(any::<u64>()),
                proptest::option::of(float),
            ),
            (
                proptest::option::of(any::<bool>()),
                // Years -9999 to 99999 around 0000 and 9999; most days in between.
                proptest::option::of(prop_oneof![
                    -4_371_587i32..35_804_000,
                    -800_000i32..3_000_000
                ]),
                proptest::option::of(-10i128.pow(17)..10i128.pow(17)),
                proptest::option::of(proptest::collection::vec(proptest::option::of(text), 0..3)),
            ),
        )
            .prop_map(
                |((text, int64, int32, uint64, float64), (flag, day, decimal, list))| Row {
                    text,
                    int64,
                    int32,
                    uint64,
                    float64,
                    flag,
                    day,
                    decimal,
                    list,
                },
            )
    }

    proptest! {
        #[test]
        fn encode_prints_what_arrow_csv_prints(
            rows in proptest::collection::vec(row(), 0..40),
            header in any::<bool>(),
        ) {
            let batch = batch_of(&rows);
            let ours = encoded(&batch, header);
            prop_assert_eq!(ours.as_bytes(), &arrow_csv(&batch, header)[..]);
        }
    }
}
