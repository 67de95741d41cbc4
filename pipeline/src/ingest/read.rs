//! Readers: turn one inbox file (CSV in UTF-8, GB18030 or UTF-16, NDJSON, or Parquet) into a
//! stream of rows whose cells are text in contract-field order. Each reader streams: memory does
//! not grow with the file, except for UTF-16 files, which are decoded whole (they are rare and
//! small exports).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::Path;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use encoding_rs::{GB18030, UTF_16BE, UTF_16LE};
use serde::Serialize;

use crate::contract::{Reason, Source};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Ndjson,
    Parquet,
}

impl Format {
    /// By file extension; `None` for anything else.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "ndjson" | "jsonl" | "json" => Some(Format::Ndjson),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    Gb18030,
    /// Parquet: typed, no text encoding.
    Binary,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
            Encoding::Gb18030 => "gb18030",
            Encoding::Binary => "binary",
        }
    }
}

/// One row as read: its 1-based line (CSV/NDJSON) or row number (Parquet), the raw row for the
/// quarantine, and each contract field's text (`None` = absent or empty).
pub struct RawRow<'a> {
    pub line: u64,
    pub raw: &'a str,
    pub fields: &'a [Option<String>],
    /// A defect found while reading (`bad_encoding`, `parse_error`), with detail.
    pub defect: Option<(Reason, String)>,
}

/// What a reader learned about the file.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub format: Format,
    pub encoding: Encoding,
    pub warnings: Vec<String>,
}

#[derive(Debug)]
pub enum ReadError {
    /// The file cannot be read at all; the message goes to the `quality` table.
    Unreadable(String),
    /// Writing what was read failed: the whole ingest fails.
    Lake(Error),
}

impl From<Error> for ReadError {
    fn from(e: Error) -> Self {
        ReadError::Lake(e)
    }
}

type Each<'f> = dyn FnMut(RawRow<'_>) -> Result<(), Error> + 'f;

/// Reads `path` as `format`, calling `each` once per data row.
pub fn read_file(
    path: &Path,
    format: Format,
    source: Source,
    each: &mut Each<'_>,
) -> Result<FileInfo, ReadError> {
    let file = File::open(path).map_err(|e| ReadError::Unreadable(format!("cannot open: {e}")))?;
    match format {
        Format::Csv => read_csv(file, source, each),
        Format::Ndjson => read_ndjson(file, source, each),
        Format::Parquet => read_parquet(file, source, each),
    }
}

const SNIFF_BYTES: usize = 64 * 1024;

/// Detects a text file's encoding from its first bytes: a BOM if present, else UTF-8 when the
/// sample is (almost all) valid UTF-8, else GB18030. A UTF-8 file with a few bad rows stays
/// UTF-8, so those rows are quarantined as `bad_encoding` instead of the whole file garbled.
pub fn detect_encoding(head: &[u8]) -> Encoding {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Encoding::Utf8Bom;
    }
    if head.starts_with(&[0xFF, 0xFE]) {
        return Encoding::Utf16Le;
    }
    if head.starts_with(&[0xFE, 0xFF]) {
        return Encoding::Utf16Be;
    }
    let (mut errors, mut multibyte, mut rest) = (0usize, 0usize, head);
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                multibyte += s.chars().filter(|c| !c.is_ascii()).count();
                break;
            }
            Err(e) => {
                let valid = &rest[..e.valid_up_to()];
                multibyte += std::str::from_utf8(valid)
                    .map(|s| s.chars().filter(|c| !c.is_ascii()).count())
                    .unwrap_or(0);
                match e.error_len() {
                    // Truncated sequence at the end of the sample.
                    None => break,
                    Some(n) => {
                        errors += 1;
                        rest = &rest[e.valid_up_to() + n..];
                    }
                }
            }
        }
    }
    if errors == 0 || multibyte > 10 * errors {
        return Encoding::Utf8;
    }
    // Trim a possibly cut multi-byte sequence before asking GB18030.
    let sample = if head.len() == SNIFF_BYTES {
        &head[..head.len() - 4]
    } else {
        head
    };
    let (text, _) = GB18030.decode_without_bom_handling(sample);
    let gb_errors = text.chars().filter(|c| *c == '\u{FFFD}').count();
    // Fewer decoding errors wins; a tie stays UTF-8 (an ASCII file with a few stray bytes).
    if gb_errors < errors {
        Encoding::Gb18030
    } else {
        Encoding::Utf8
    }
}

fn decode_cell(bytes: &[u8], enc: Encoding) -> Option<String> {
    match enc {
        Encoding::Gb18030 => GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|c| c.into_owned()),
        _ => std::str::from_utf8(bytes).ok().map(str::to_string),
    }
}

fn read_head(file: &mut File) -> Result<Vec<u8>, ReadError> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    file.take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| ReadError::Unreadable(format!("cannot read: {e}")))?;
    Ok(head)
}

/// Maps header names to contract fields; fails when a required field is missing.
fn map_columns<'h>(
    source: Source,
    header: impl Iterator<Item = &'h str>,
) -> Result<(Vec<Option<usize>>, Vec<String>), ReadError> {
    let header: Vec<&str> = header.map(str::trim).collect();
    let fields = source.fields();
    let mapping: Vec<Option<usize>> = fields
        .iter()
        .map(|f| header.iter().position(|h| *h == f.name))
        .collect();
    let missing: Vec<&str> = fields
        .iter()
        .zip(&mapping)
        .filter(|(f, m)| f.required && m.is_none())
        .map(|(f, _)| f.name)
        .collect();
    if !missing.is_empty() {
        return Err(ReadError::Unreadable(format!(
            "required column(s) missing: {}",
            missing.join(", ")
        )));
    }
    let extra: Vec<String> = header
        .iter()
        .filter(|h| !h.is_empty() && !fields.iter().any(|f| f.name == **h))
        .map(|h| h.to_string())
        .collect();
    let warnings = if extra.is_empty() {
        vec![]
    } else {
        vec![format!("extra columns ignored: {}", extra.join(", "))]
    };
    Ok((mapping, warnings))
}

fn read_csv(mut file: File, source: Source, each: &mut Each<'_>) -> Result<FileInfo, ReadError> {
    let head = read_head(&mut file)?;
    let encoding = detect_encoding(&head);
    let body: Box<dyn Read> = match encoding {
        Encoding::Utf16Le | Encoding::Utf16Be => {
            let mut all = head;
            file.read_to_end(&mut all)
                .map_err(|e| ReadError::Unreadable(format!("cannot read: {e}")))?;
            let enc = if encoding == Encoding::Utf16Le {
                UTF_16LE
            } else {
                UTF_16BE
            };
            let (text, malformed) = enc.decode_with_bom_removal(&all);
            if malformed {
                return Err(ReadError::Unreadable("malformed UTF-16".into()));
            }
            Box::new(Cursor::new(text.into_owned().into_bytes()))
        }
        Encoding::Utf8Bom => Box::new(Cursor::new(head[3..].to_vec()).chain(file)),
        _ => Box::new(Cursor::new(head).chain(file)),
    };
    let cell_encoding = match encoding {
        Encoding::Gb18030 => Encoding::Gb18030,
        _ => Encoding::Utf8,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(BufReader::with_capacity(1 << 20, body));
    let mut record = csv::ByteRecord::new();
    let io = |e: csv::Error| ReadError::Unreadable(format!("cannot read CSV: {e}"));
    if !reader.read_byte_record(&mut record).map_err(io)? {
        return Ok(FileInfo {
            format: Format::Csv,
            encoding,
            warnings: vec![],
        });
    }
    let header: Vec<String> = record
        .iter()
        .map(|h| decode_cell(h, cell_encoding))
        .collect::<Option<_>>()
        .ok_or_else(|| ReadError::Unreadable("header row is not decodable".into()))?;
    let (mapping, warnings) = map_columns(source, header.iter().map(String::as_str))?;
    let mut fields: Vec<Option<String>> = vec![None; mapping.len()];
    let mut raw_buf = Vec::new();
    while reader.read_byte_record(&mut record).map_err(io)? {
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        raw_buf.clear();
        {
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(&mut raw_buf);
            let _ = w.write_byte_record(&record);
        }
        if raw_buf.last() == Some(&b'\n') {
            raw_buf.pop();
        }
        let raw = match cell_encoding {
            Encoding::Gb18030 => GB18030.decode_without_bom_handling(&raw_buf).0.into_owned(),
            _ => String::from_utf8_lossy(&raw_buf).into_owned(),
        };
        let mut defect = None;
        if record.len() != header.len() {
            defect = Some((
                Reason::ParseError,
                format!("expected {} fields, found {}", header.len(), record.len()),
            ));
        }
        for (slot, col) in fields.iter_mut().zip(&mapping) {
            *slot = None;
            let Some(bytes) = col.and_then(|c| record.get(c)) else {
                continue;
            };
            if bytes.is_empty() {
                continue;
            }
            match decode_cell(bytes, cell_encoding) {
                Some(text) => *slot = Some(text),
                None => {
                    defect = Some((
                        Reason::BadEncoding,
                        format!("invalid {} bytes", encoding.name()),
                    ));
                }
            }
        }
        each(RawRow {
            line,
            raw: &raw,
            fields: &fields,
            defect,
        })?;
    }
    Ok(FileInfo {
        format: Format::Csv,
        encoding,
        warnings,
    })
}

fn json_cell(v: &serde_json::Value) -> Result<Option<String>, String> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null => None,
        J::String(s) => Some(s.clone()),
        J::Bool(b) => Some(b.to_string()),
        J::Number(n) => Some(n.to_string()),
        J::Array(items) => {
            let parts = items
                .iter()
                .map(|i| match i {
                    J::String(s) => Ok(s.clone()),
                    J::Number(n) => Ok(n.to_string()),
                    _ => Err("list items must be strings or numbers".to_string()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Some(parts.join(";"))
        }
        J::Object(_) => return Err("nested objects are not allowed".into()),
    })
}

fn read_ndjson(file: File, source: Source, each: &mut Each<'_>) -> Result<FileInfo, ReadError> {
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let contract = source.fields();
    let mut fields: Vec<Option<String>> = vec![None; contract.len()];
    let mut extra: BTreeSet<String> = BTreeSet::new();
    let mut buf = Vec::new();
    let mut line = 0u64;
    let mut encoding = Encoding::Utf8;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| ReadError::Unreadable(format!("cannot read: {e}")))?;
        if n == 0 {
            break;
        }
        line += 1;
        let mut bytes = buf.as_slice();
        if line == 1 && bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            bytes = &bytes[3..];
            encoding = Encoding::Utf8Bom;
        }
        while let [rest @ .., b'\n' | b'\r'] = bytes {
            bytes = rest;
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        fields.iter_mut().for_each(|f| *f = None);
        let raw = String::from_utf8_lossy(bytes);
        let defect = match std::str::from_utf8(bytes) {
            Err(_) => Some((Reason::BadEncoding, "invalid utf-8 bytes".to_string())),
            Ok(text) => {
                match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text) {
                    Err(e) => Some((Reason::ParseError, format!("not a JSON object: {e}"))),
                    Ok(obj) => {
                        let mut defect = None;
                        for (key, value) in &obj {
                            match contract.iter().position(|f| f.name == key) {
                                None => {
                                    if extra.len() < 100 {
                                        extra.insert(key.clone());
                                    }
                                }
                                Some(i) => match json_cell(value) {
                                    Ok(cell) => fields[i] = cell.filter(|c| !c.is_empty()),
                                    Err(msg) => {
                                        defect = Some((Reason::ParseError, format!("{key}: {msg}")))
                                    }
                                },
                            }
                        }
                        defect
                    }
                }
            }
        };
        each(RawRow {
            line,
            raw: &raw,
            fields: &fields,
            defect,
        })?;
    }
    let warnings = if extra.is_empty() {
        vec![]
    } else {
        vec![format!(
            "extra columns ignored: {}",
            extra.into_iter().collect::<Vec<_>>().join(", ")
        )]
    };
    Ok(FileInfo {
        format: Format::Ndjson,
        encoding,
        warnings,
    })
}

/// Text of every row of one Parquet column, in the contract's textual conventions.
fn column_text(array: &dyn Array) -> Result<Vec<Option<String>>, String> {
    let n = array.len();
    let text = match array.data_type() {
        DataType::List(_) | DataType::LargeList(_) => {
            let list = array
                .as_list_opt::<i32>()
                .ok_or("only 32-bit lists are supported")?;
            (0..n)
                .map(|i| {
                    if list.is_null(i) {
                        return Ok(None);
                    }
                    let items = column_text(list.value(i).as_ref())?;
                    Ok(Some(
                        items.into_iter().flatten().collect::<Vec<_>>().join(";"),
                    ))
                })
                .collect::<Result<Vec<_>, String>>()?
        }
        _ => {
            let opts = FormatOptions::default();
            let fmt = ArrayFormatter::try_new(array, &opts).map_err(|e| e.to_string())?;
            (0..n)
                .map(|i| (!array.is_null(i)).then(|| fmt.value(i).to_string()))
                .collect()
        }
    };
    Ok(text)
}

fn read_parquet(file: File, source: Source, each: &mut Each<'_>) -> Result<FileInfo, ReadError> {
    let bad = |e: &dyn std::fmt::Display| {
        ReadError::Unreadable(format!("not a readable Parquet file: {e}"))
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(&e))?;
    let schema = builder.schema().clone();
    let (mapping, warnings) =
        map_columns(source, schema.fields().iter().map(|f| f.name().as_str()))?;
    let reader = builder
        .with_batch_size(16 * 1024)
        .build()
        .map_err(|e| bad(&e))?;
    let contract = source.fields();
    let mut fields: Vec<Option<String>> = vec![None; contract.len()];
    let mut row = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| bad(&e))?;
        let columns: Vec<Option<Vec<Option<String>>>> = mapping
            .iter()
            .map(|m| m.map(|c| column_text(batch.column(c).as_ref())).transpose())
            .collect::<Result<_, _>>()
            .map_err(|e| bad(&e))?;
        for i in 0..batch.num_rows() {
            row += 1;
            let mut obj = serde_json::Map::new();
            for (k, col) in columns.iter().enumerate() {
                fields[k] = col
                    .as_ref()
                    .and_then(|c| c[i].clone())
                    .filter(|c| !c.is_empty());
                if let Some(v) = &fields[k] {
                    obj.insert(contract[k].name.into(), v.clone().into());
                }
            }
            let raw = serde_json::Value::Object(obj).to_string();
            each(RawRow {
                line: row,
                raw: &raw,
                fields: &fields,
                defect: None,
            })?;
        }
    }
    Ok(FileInfo {
        format: Format::Parquet,
        encoding: Encoding::Binary,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_detected() {
        assert_eq!(detect_encoding(b"a,b\n1,2\n"), Encoding::Utf8);
        assert_eq!(detect_encoding("名称\n".as_bytes()), Encoding::Utf8);
        assert_eq!(detect_encoding(b"\xEF\xBB\xBFa"), Encoding::Utf8Bom);
        assert_eq!(detect_encoding(b"\xFF\xFEa\x00"), Encoding::Utf16Le);
        let (gbk, _, _) = GB18030.encode("广州市天河区某某酒店,消防");
        assert_eq!(detect_encoding(&gbk), Encoding::Gb18030);
        // An ASCII file with one mis-encoded row stays UTF-8.
        assert_eq!(
            detect_encoding(b"id,name\nA1,ok\nA2,\xFF\xFF\n"),
            Encoding::Utf8
        );
        // Many good UTF-8 characters and one stray byte: still UTF-8.
        let mut mixed = "广州市天河区某某酒店".repeat(5).into_bytes();
        mixed.push(0xB9);
        mixed.extend_from_slice(b",x\n");
        assert_eq!(detect_encoding(&mixed), Encoding::Utf8);
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(Format::of(Path::new("a/b.CSV")), Some(Format::Csv));
        assert_eq!(Format::of(Path::new("a/b.jsonl")), Some(Format::Ndjson));
        assert_eq!(Format::of(Path::new("a/b.xlsx")), None);
    }
}
