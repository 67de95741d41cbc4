//! Records: turn one CSV (UTF-8, GB18030 or UTF-16) or NDJSON file into a stream of rows whose
//! cells are text in contract-field order. Both readers stream: memory does not grow with the
//! file, except for UTF-16 files, which are decoded whole (they are rare and small exports).
//! Parquet inbox files are read by the pipeline, which has Arrow.

use std::borrow::Cow;
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

/// The raw row for the quarantine: text as read, or (a CSV record) made when asked for, since
/// most rows are valid and never need it.
#[derive(Clone, Copy)]
pub enum Raw<'a> {
    Text(&'a str),
    Made(&'a dyn Fn() -> String),
}

impl<'a> Raw<'a> {
    pub fn text(&self) -> Cow<'a, str> {
        match *self {
            Raw::Text(t) => Cow::Borrowed(t),
            Raw::Made(make) => Cow::Owned(make()),
        }
    }
}

impl std::fmt::Display for Raw<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

/// One row as read: its 1-based line (CSV/NDJSON) or row number (Parquet), the raw row for the
/// quarantine, and each contract field's text (`None` = absent or empty).
pub struct RawRow<'a> {
    pub line: u64,
    pub raw: Raw<'a>,
    pub fields: &'a [Option<String>],
    /// A defect found while reading (`too_large`, `bad_encoding`, `parse_error`), with detail.
    /// A `too_large` row's oversize cells are absent and its `raw` is clipped.
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

/// Decodes one cell into `out` (cleared first); false when its bytes are not valid text.
fn decode_cell_into(bytes: &[u8], enc: Encoding, out: &mut String) -> bool {
    out.clear();
    match enc {
        Encoding::Gb18030 => {
            match GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
                Some(text) => out.push_str(&text),
                None => return false,
            }
        }
        _ => match std::str::from_utf8(bytes) {
            Ok(text) => out.push_str(text),
            Err(_) => return false,
        },
    }
    true
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

/// Bounds on one row: a row over them is quarantined `too_large` (only a clipped prefix of it is
/// kept), never loaded, and a reader never holds more than one row's bound in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one cell (default 64 KiB).
    pub cell_bytes: usize,
    /// Bytes of one record: a CSV record's cells plus one per cell, an NDJSON line, a Parquet
    /// row's cells (default 1 MiB).
    pub record_bytes: usize,
    /// Physical lines one CSV record may span before the file's warnings report it (default
    /// 100): an unclosed quote swallows the lines after it into one record.
    pub record_lines: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cell_bytes: 64 * 1024,
            record_bytes: 1024 * 1024,
            record_lines: 100,
        }
    }
}

/// Bytes of a `too_large` row's raw text kept in the quarantine.
pub const CLIPPED_RAW_BYTES: usize = 1024;

/// `text` (the first bytes of something `total` bytes long) cut to at most `max` bytes at a
/// character boundary, saying how long the whole was when any of it is missing.
pub fn clip(text: &str, max: usize, total: usize) -> String {
    if text.len() <= max && total <= text.len() {
        return text.to_string();
    }
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{total} bytes]", &text[..end])
}

/// The `too_large` defect of the first contract cell over the limit, if any; that cell is
/// dropped so that nothing downstream holds it.
pub(crate) fn oversize_cell(
    fields: &mut [Option<String>],
    source: Source,
    limits: &Limits,
) -> Option<(Reason, String)> {
    let mut defect = None;
    for (slot, field) in fields.iter_mut().zip(source.fields()) {
        let len = slot.as_ref().map_or(0, String::len);
        if len > limits.cell_bytes {
            *slot = None;
            defect.get_or_insert_with(|| {
                (
                    Reason::TooLarge,
                    format!(
                        "{} is {len} bytes (limit {} per cell)",
                        field.name, limits.cell_bytes
                    ),
                )
            });
        }
    }
    defect
}

/// Hands on a record over the record limit: `too_large`, its first bytes as its raw row.
pub(crate) fn too_large_record<E>(
    each: &mut Each<'_, E>,
    line: u64,
    prefix: &str,
    bytes: usize,
    limits: &Limits,
    fields: &[Option<String>],
) -> Result<(), ReadError<E>> {
    let raw = clip(prefix, CLIPPED_RAW_BYTES, bytes);
    let detail = format!(
        "the record is {bytes} bytes (limit {} per record)",
        limits.record_bytes
    );
    each(RawRow {
        line,
        raw: Raw::Text(&raw),
        fields,
        defect: Some((Reason::TooLarge, detail)),
    })
    .map_err(ReadError::Sink)
}

/// Records that span too many lines or bytes: counted, and reported once per file.
#[derive(Default)]
struct LongRecords {
    count: u64,
    first_line: u64,
}

impl LongRecords {
    fn note(&mut self, line: u64) {
        if self.count == 0 {
            self.first_line = line;
        }
        self.count += 1;
    }

    fn warning(&self, limits: &Limits) -> Option<String> {
        (self.count > 0).then(|| {
            format!(
                "{} record(s) span more than {} lines or {} bytes, the first at line {} \
                 (an unclosed quote takes every line after it into one record; rows_read counts \
                 records, not lines)",
                self.count, limits.record_lines, limits.record_bytes, self.first_line
            )
        })
    }
}

const CUT_SHORT: &str = "the last line has no line end: if the file was still being written, \
                         its last row may be cut short";

/// One CSV record as parsed, within the limits.
struct Record {
    /// The physical line it starts on (1-based), as the `csv` crate counts.
    line: u64,
    /// Physical lines it spans (line ends inside it and its own).
    lines: u64,
    /// Bytes of its cells plus one per cell (the delimiters); over the record limit only the
    /// first bytes are kept.
    bytes: usize,
    too_large: bool,
}

/// A CSV record reader that never holds more than `record_bytes` of one record: the `csv`
/// crate's would grow its buffer to the whole record, which an unclosed quote makes the whole
/// file.
struct CsvRecords<R> {
    input: R,
    core: csv_core::Reader,
    buf: Vec<u8>,
    ends: Vec<usize>,
    /// Cells of the record as read (none when over the limit).
    len: usize,
    /// Bytes of `buf` that hold the record's start, and the cells that end in them.
    kept: usize,
    kept_ends: usize,
    limit: usize,
    /// The last byte consumed, to tell whether the file ends with a line end.
    last_byte: Option<u8>,
}

impl<R: BufRead> CsvRecords<R> {
    fn new(input: R, limit: usize) -> Self {
        CsvRecords {
            input,
            core: csv_core::Reader::new(),
            buf: vec![0; 4096.min(limit.max(1))],
            ends: vec![0; 64],
            len: 0,
            kept: 0,
            kept_ends: 0,
            limit: limit.max(1),
            last_byte: None,
        }
    }

    fn field(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends[..self.len].get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.buf[start..end])
    }

    fn fields(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len).filter_map(|i| self.field(i))
    }

    fn next(&mut self) -> std::io::Result<Option<Record>> {
        use csv_core::ReadRecordResult as R;
        let line = self.core.line();
        let (mut out, mut nends, mut bytes, mut too_large) = (0usize, 0usize, 0usize, false);
        // Over the limit, the cells already ended stay: the record's start, for its raw row.
        let mut frozen: Option<usize> = None;
        self.kept = 0;
        loop {
            let input = self.input.fill_buf()?;
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.buf[out..], &mut self.ends[nends..]);
            if nin > 0 {
                self.last_byte = Some(input[nin - 1]);
            }
            self.input.consume(nin);
            out += nout;
            nends += nend;
            bytes += nout + nend;
            if !too_large && out + nends > self.limit {
                // Over the limit: keep what is read, parse on to the record's end.
                too_large = true;
            }
            match res {
                R::InputEmpty => {}
                R::OutputFull if !too_large && self.buf.len() < self.limit => {
                    let grown = (self.buf.len() * 2).min(self.limit);
                    self.buf.resize(grown, 0);
                }
                R::OutputFull => {
                    // Keep the first half (the record's start), parse on through the second.
                    too_large = true;
                    out = self.buf.len() / 2;
                    if self.kept == 0 {
                        self.kept = out;
                        frozen = Some(nends.min(self.ends.len() / 2));
                    }
                    nends = frozen.unwrap_or(0);
                }
                R::OutputEndsFull if !too_large => {
                    let grown = (self.ends.len() * 2).min(self.limit + 1);
                    self.ends.resize(grown, 0);
                }
                R::OutputEndsFull => {
                    // Keep the first half of the cell ends; the second half is scratch, so that
                    // parsing always has room to go on.
                    if frozen.is_none() {
                        self.kept = out;
                        frozen = Some(nends.min(self.ends.len() / 2));
                    }
                    nends = frozen.unwrap_or(0);
                }
                R::Record => {
                    self.len = if too_large { 0 } else { nends };
                    self.kept_ends = frozen.unwrap_or(nends);
                    self.kept = if self.kept > 0 { self.kept } else { out };
                    let end = self.core.line();
                    return Ok(Some(Record {
                        line,
                        lines: end.saturating_sub(line).max(1),
                        bytes,
                        too_large,
                    }));
                }
                R::End => return Ok(None),
            }
        }
    }

    /// The first bytes of the last record, its cells joined by `,` (unquoted).
    fn kept(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity(self.kept + self.kept_ends);
        let mut start = 0;
        for &end in &self.ends[..self.kept_ends] {
            if end > self.kept || end < start {
                break;
            }
            raw.extend_from_slice(&self.buf[start..end]);
            raw.push(b',');
            start = end;
        }
        raw.extend_from_slice(&self.buf[start..self.kept.max(start)]);
        raw
    }
}

/// Reads a CSV file (header first), calling `each` once per data row.
pub fn read_csv<'r, E>(
    mut file: impl Read + 'r,
    source: Source,
    limits: &Limits,
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
    let decode_lossy = |bytes: &[u8]| match cell_encoding {
        Encoding::Gb18030 => GB18030.decode_without_bom_handling(bytes).0.into_owned(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    };
    let mut reader = CsvRecords::new(BufReader::with_capacity(1 << 20, body), limits.record_bytes);
    let io = |e: std::io::Error| ReadError::Unreadable(format!("cannot read CSV: {e}"));
    let mut long = LongRecords::default();
    let Some(first) = reader.next().map_err(io)? else {
        return Ok(FileInfo {
            format: Format::Csv,
            encoding,
            warnings: vec![],
        });
    };
    if first.too_large {
        return Err(ReadError::Unreadable(format!(
            "the header row is over {} bytes",
            limits.record_bytes
        )));
    }
    let header: Vec<String> = reader
        .fields()
        .map(|h| {
            let mut text = String::new();
            decode_cell_into(h, cell_encoding, &mut text).then_some(text)
        })
        .collect::<Option<_>>()
        .ok_or_else(|| ReadError::Unreadable("header row is not decodable".into()))?;
    let (mapping, mut warnings) = map_columns(source, header.iter().map(String::as_str))?;
    let mut fields: Vec<Option<String>> = vec![None; mapping.len()];
    // The cells' strings are kept from row to row (cleared, not freed): no allocation per cell.
    let mut spare: Vec<String> = Vec::new();
    let mut line = 1u64;
    while let Some(record) = reader.next().map_err(io)? {
        // The csv crate counts lines by `\n` only, but also ends records at a lone `\r` (old Mac
        // exports): two records would share a line, and `(ingest, file, line)` must be unique
        // because it orders the versions of one id. A lone-`\r` record gets the next line.
        line = record.line.max(line + 1);
        if record.lines > limits.record_lines || record.too_large {
            long.note(line);
        }
        spare.extend(fields.iter_mut().filter_map(Option::take));
        if record.too_large {
            let kept = reader.kept();
            let prefix = decode_lossy(&kept[..CLIPPED_RAW_BYTES.min(kept.len())]);
            too_large_record(each, line, &prefix, record.bytes, limits, &fields)?;
            continue;
        }
        let mut defect = None;
        if reader.len != header.len() {
            defect = Some((
                Reason::ParseError,
                format!("expected {} fields, found {}", header.len(), reader.len),
            ));
        }
        for (slot, col) in fields.iter_mut().zip(&mapping) {
            let Some(bytes) = col.and_then(|c| reader.field(c)) else {
                continue;
            };
            if bytes.is_empty() {
                continue;
            }
            let mut text = spare.pop().unwrap_or_default();
            if decode_cell_into(bytes, cell_encoding, &mut text) {
                *slot = Some(text);
            } else {
                spare.push(text);
                defect = Some((
                    Reason::BadEncoding,
                    format!("invalid {} bytes", encoding.name()),
                ));
            }
        }
        // The record as read, re-quoted: made only for a row the quarantine keeps.
        let requoted = || {
            let mut buf = Vec::new();
            {
                let mut w = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::Any(b'\n'))
                    .from_writer(&mut buf);
                let _ = w.write_record(reader.fields());
            }
            if buf.last() == Some(&b'\n') {
                buf.pop();
            }
            decode_lossy(&buf)
        };
        let clipped;
        let raw = match oversize_cell(&mut fields, source, limits) {
            Some(too_large) => {
                let text = requoted();
                clipped = clip(&text, CLIPPED_RAW_BYTES, text.len());
                defect = Some(too_large);
                Raw::Text(&clipped)
            }
            None => Raw::Made(&requoted),
        };
        each(RawRow {
            line,
            raw,
            fields: &fields,
            defect,
        })
        .map_err(ReadError::Sink)?;
    }
    warnings.extend(long.warning(limits));
    if !matches!(reader.last_byte, None | Some(b'\n' | b'\r')) {
        warnings.push(CUT_SHORT.into());
    }
    Ok(FileInfo {
        format: Format::Csv,
        encoding,
        warnings,
    })
}

/// Reads one line into `buf`, keeping at most `limit + 1` bytes of it: its length, and whether
/// it ended with `\n`. A length of 0 is the end of the input.
fn read_line_bounded(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<(usize, bool)> {
    buf.clear();
    let mut total = 0usize;
    loop {
        let input = reader.fill_buf()?;
        if input.is_empty() {
            return Ok((total, false));
        }
        let (take, done) = match input.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (input.len(), false),
        };
        let room = (limit + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&input[..take.min(room)]);
        reader.consume(take);
        total += take;
        if done {
            return Ok((total, true));
        }
    }
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
    limits: &Limits,
    each: &mut Each<'_, E>,
) -> Result<FileInfo, ReadError<E>> {
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let contract = source.fields();
    let mut fields: Vec<Option<String>> = vec![None; contract.len()];
    let mut extra: BTreeSet<String> = BTreeSet::new();
    let mut buf = Vec::new();
    let mut line = 0u64;
    let mut encoding = Encoding::Utf8;
    let mut ended = true;
    loop {
        let (n, newline) = read_line_bounded(&mut reader, &mut buf, limits.record_bytes)
            .map_err(|e| ReadError::Unreadable(format!("cannot read: {e}")))?;
        if n == 0 {
            break;
        }
        ended = newline;
        line += 1;
        let mut bytes = buf.as_slice();
        if line == 1 && bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            bytes = &bytes[3..];
            encoding = Encoding::Utf8Bom;
        }
        while let [rest @ .., b'\n' | b'\r'] = bytes {
            bytes = rest;
        }
        if bytes.iter().all(u8::is_ascii_whitespace) && n <= limits.record_bytes {
            continue;
        }
        fields.iter_mut().for_each(|f| *f = None);
        if n > limits.record_bytes {
            let prefix = String::from_utf8_lossy(&bytes[..CLIPPED_RAW_BYTES.min(bytes.len())]);
            too_large_record(each, line, &prefix, n, limits, &fields)?;
            continue;
        }
        let mut raw = String::from_utf8_lossy(bytes);
        let mut defect = match std::str::from_utf8(bytes) {
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
        if let Some(too_large) = oversize_cell(&mut fields, source, limits) {
            raw = clip(&raw, CLIPPED_RAW_BYTES, raw.len()).into();
            defect = Some(too_large);
        }
        each(RawRow {
            line,
            raw: Raw::Text(&raw),
            fields: &fields,
            defect,
        })
        .map_err(ReadError::Sink)?;
    }
    let mut warnings = if extra.is_empty() {
        vec![]
    } else {
        vec![format!(
            "extra columns ignored: {}",
            extra.into_iter().collect::<Vec<_>>().join(", ")
        )]
    };
    if !ended {
        warnings.push(CUT_SHORT.into());
    }
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
        read_csv(
            Cursor::new(file),
            Source::Inspectors,
            &Limits::default(),
            &mut each,
        )
        .unwrap();
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

    const SMALL: Limits = Limits {
        cell_bytes: 8,
        record_bytes: 64,
        record_lines: 3,
    };

    /// (line, defect reason, raw, name cell) of every row, and the file's warnings.
    type Rows = Vec<(u64, Option<Reason>, String, Option<String>)>;

    fn read(file: &[u8], ndjson: bool) -> (Rows, Vec<String>) {
        let mut rows = Vec::new();
        let mut each = |row: RawRow<'_>| -> Result<(), ()> {
            rows.push((
                row.line,
                row.defect.map(|d| d.0),
                row.raw.to_string(),
                row.fields[1].clone(),
            ));
            Ok(())
        };
        let info = if ndjson {
            read_ndjson(Cursor::new(file), Source::Inspectors, &SMALL, &mut each)
        } else {
            read_csv(Cursor::new(file), Source::Inspectors, &SMALL, &mut each)
        };
        (rows, info.unwrap().warnings)
    }

    #[test]
    fn cells_and_records_over_the_limits_are_too_large_and_clipped() {
        let big = "x".repeat(5000);
        let file = format!("inspector_id,name\nP1,ok\nP2,toolongname\nP3,{big}\nP4,fine\n");
        let (rows, warnings) = read(file.as_bytes(), false);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0], (2, None, "P1,ok".into(), Some("ok".into())));
        // A cell over 8 bytes: the row is too_large and its cell is never handed on.
        assert_eq!(rows[1].0, 3);
        assert_eq!(rows[1].1, Some(Reason::TooLarge));
        assert_eq!(rows[1].3, None);
        // A record over 64 bytes: its raw row is a clipped prefix saying how long it was.
        assert_eq!(rows[2].1, Some(Reason::TooLarge));
        assert!(rows[2].2.starts_with("P3,xxx"), "{}", rows[2].2);
        assert!(rows[2].2.ends_with("[5004 bytes]"), "{}", rows[2].2);
        assert!(rows[2].2.len() < 100);
        // Reading goes on after it, on the right line.
        assert_eq!(rows[3], (5, None, "P4,fine".into(), Some("fine".into())));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0]
            .starts_with("1 record(s) span more than 3 lines or 64 bytes, the first at line 4"));
    }

    #[test]
    fn an_unclosed_quote_is_warned_about_and_counted() {
        let file = b"inspector_id,name\nP1,\"open\nP2,a\nP3,b\nP4,c\nP5,d\n";
        let (rows, warnings) = read(file, false);
        // One record swallows every line after the quote (and here its cell is too long).
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].1, Some(Reason::TooLarge));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("1 record(s) span more than 3 lines"),
            "{warnings:?}"
        );
        assert!(warnings[0].contains("first at line 2"));
    }

    #[test]
    fn a_record_never_grows_the_buffer_past_its_limit() {
        let mut file = b"a,\"".to_vec();
        file.extend(std::iter::repeat_n(b'y', 3 << 20));
        file.extend_from_slice(b"\"\nb,c\n");
        let mut reader = CsvRecords::new(Cursor::new(file), 1 << 16);
        let first = reader.next().unwrap().unwrap();
        assert!(first.too_large);
        assert_eq!(first.bytes, (3 << 20) + 3);
        assert!(reader.buf.len() <= 1 << 16 && reader.ends.len() <= (1 << 16) + 1);
        assert!(reader.kept().starts_with(b"a,yyy"));
        let second = reader.next().unwrap().unwrap();
        assert!(!second.too_large);
        assert_eq!(reader.fields().collect::<Vec<_>>(), [b"b", b"c"]);
        // Thousands of empty cells count too: a delimiter is a byte of the record.
        let mut reader = CsvRecords::new(Cursor::new(vec![b','; 1 << 20]), 1 << 12);
        assert!(reader.next().unwrap().unwrap().too_large);
        assert!(reader.ends.len() <= (1 << 12) + 1);
    }

    #[test]
    fn ndjson_lines_over_the_limits_are_too_large() {
        let big = "z".repeat(300);
        let file = format!(
            "{{\"inspector_id\":\"P1\",\"name\":\"ok\"}}\n{{\"inspector_id\":\"P2\",\"name\":\"{big}\"}}\n{{\"inspector_id\":\"P3\",\"name\":\"toolongname\"}}\n{{\"inspector_id\":\"P4\"}}"
        );
        let (rows, warnings) = read(file.as_bytes(), true);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].1, None);
        assert_eq!(rows[1].1, Some(Reason::TooLarge));
        assert!(
            rows[1].2.ends_with("bytes]") && rows[1].2.len() < 120,
            "{}",
            rows[1].2
        );
        assert_eq!(
            (rows[2].0, rows[2].1, rows[2].3.clone()),
            (3, Some(Reason::TooLarge), None)
        );
        assert_eq!((rows[3].0, rows[3].1), (4, None));
        // No line end after the last line: it may have been cut by a writer still at work.
        assert_eq!(warnings, [CUT_SHORT]);
    }

    #[test]
    fn a_file_without_a_final_line_end_is_warned_about() {
        assert_eq!(read(b"inspector_id,name\nP1,a\nP2,b", false).1, [CUT_SHORT]);
        assert!(read(b"inspector_id,name\nP1,a\r\nP2,b\r\n", false)
            .1
            .is_empty());
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(Format::of(Path::new("a/b.CSV")), Some(Format::Csv));
        assert_eq!(Format::of(Path::new("a/b.jsonl")), Some(Format::Ndjson));
        assert_eq!(Format::of(Path::new("a/b.xlsx")), None);
    }
}
