//! Records: turn one CSV (UTF-8, GB18030 or UTF-16) or NDJSON file into a stream of rows whose
//! cells are text in contract-field order. Both readers stream: memory does not grow with the
//! file, except for UTF-16 files, which are decoded whole (they are rare and small exports).
//! Parquet inbox files are read by the pipeline, which has Arrow.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::Path;

use encoding_rs::{GB18030, UTF_16BE, UTF_16LE};
use serde::Serialize;

use crate::{Reason, Source};

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

/// Why a file produced no (more) rows.
#[derive(Debug)]
pub enum ReadError<E> {
    /// The file cannot be read at all; the message goes to the `quality` table.
    Unreadable(String),
    /// The row callback failed (writing what was read): the whole ingest fails.
    Sink(E),
}

/// The per-row callback: what a reader hands each row to.
pub type Each<'f, E> = dyn FnMut(RawRow<'_>) -> Result<(), E> + 'f;

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

fn read_head(file: &mut impl Read) -> Result<Vec<u8>, String> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    file.take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| format!("cannot read: {e}"))?;
    Ok(head)
}

/// For each contract field, the file column holding it; and warnings about extra columns.
pub type ColumnMapping = (Vec<Option<usize>>, Vec<String>);

/// Maps header names to contract fields; fails when a required field is missing.
pub fn map_columns<'h, E>(
    source: Source,
    header: impl Iterator<Item = &'h str>,
) -> Result<ColumnMapping, ReadError<E>> {
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

/// Reads a CSV file (header first), calling `each` once per data row.
pub fn read_csv<'r, E>(
    mut file: impl Read + 'r,
    source: Source,
    each: &mut Each<'_, E>,
) -> Result<FileInfo, ReadError<E>> {
    let head = read_head(&mut file).map_err(ReadError::Unreadable)?;
    let encoding = detect_encoding(&head);
    let body: Box<dyn Read + 'r> = match encoding {
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
    let mut line = 1u64;
    while reader.read_byte_record(&mut record).map_err(io)? {
        // The csv crate counts lines by `\n` only, but also ends records at a lone `\r` (old Mac
        // exports): two records would share a line, and `(ingest, file, line)` must be unique
        // because it orders the versions of one id. A lone-`\r` record gets the next line.
        line = record
            .position()
            .map_or(line + 1, |p| p.line())
            .max(line + 1);
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
        })
        .map_err(ReadError::Sink)?;
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

/// Reads an NDJSON file (one JSON object per line), calling `each` once per non-blank line.
pub fn read_ndjson<E>(
    file: impl Read,
    source: Source,
    each: &mut Each<'_, E>,
) -> Result<FileInfo, ReadError<E>> {
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
        })
        .map_err(ReadError::Sink)?;
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

    fn csv_lines(file: &[u8]) -> Vec<u64> {
        let mut lines = Vec::new();
        let mut each = |row: RawRow<'_>| -> Result<(), ()> {
            lines.push(row.line);
            Ok(())
        };
        read_csv(Cursor::new(file), Source::Inspectors, &mut each).unwrap();
        lines
    }

    /// Found by the `csv_rows` fuzz target (`fuzz/regressions/csv_rows/lone-cr-shares-a-line`):
    /// records ended by a lone `\r` shared a line number, so two versions of one id in one file
    /// could not be ordered.
    #[test]
    fn every_record_gets_its_own_line_whatever_ends_it() {
        assert_eq!(csv_lines(b"inspector_id\nP1\nP2\n"), [2, 3]);
        assert_eq!(csv_lines(b"inspector_id\r\nP1\r\nP2\r\n"), [2, 3]);
        assert_eq!(csv_lines(b"inspector_id\rP1\rP2\rP3"), [2, 3, 4]);
        assert_eq!(csv_lines(b"inspector_id\nP1\rP2\nP3\n"), [2, 3, 4]);
        // A quoted field over two lines: the next record starts two lines on.
        assert_eq!(csv_lines(b"inspector_id,name\nP1,\"a\nb\"\nP2,c\n"), [2, 4]);
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(Format::of(Path::new("a/b.CSV")), Some(Format::Csv));
        assert_eq!(Format::of(Path::new("a/b.jsonl")), Some(Format::Ndjson));
        assert_eq!(Format::of(Path::new("a/b.xlsx")), None);
    }
}
