//! Invariants of the contract's parsers, checked on arbitrary bytes. The fuzz targets in
//! `contract/fuzz` call these functions; the corpus-replay test below runs every committed
//! corpus input and every regression input through them on stable Rust, so a fixed crash stays
//! fixed in CI. Each probe panics (the fuzzer's signal) when an invariant does not hold; none of
//! them may panic on input the pipeline could meet, which is every byte string.

use std::collections::HashSet;
use std::io::Cursor;

use crate::records::{self, FileInfo, RawRow, ReadError};
use crate::validate::{CodeBook, Validator};
use crate::values::{
    format_date, format_timestamp_at, format_timestamp_local, local_day, parse, parse_date,
    parse_timestamp, Value,
};
use crate::{uscc, Check, Kind, Reason, Source};

/// Units the probes' registry holds: a row naming any other unit is `unknown_unit`.
pub const UNITS: [&str; 3] = ["U1", "U2", "44010600001"];

/// Limits small enough for fuzz inputs to cross them.
const PROBE_LIMITS: records::Limits = records::Limits {
    cell_bytes: 64,
    record_bytes: 512,
    record_lines: 4,
};

/// Codes as the shipped rule tables have them, enough for the fuzzer to reach both branches.
struct Codes;

impl CodeBook for Codes {
    fn is_provider_violation_code(&self, code: &str) -> bool {
        code.len() == 4 && code.starts_with('V')
    }
    fn is_bonus_code(&self, code: &str) -> bool {
        code.len() == 3 && code.starts_with('B')
    }
}

/// Splits a fuzz input into its source and file bytes: the low three bits of the first byte
/// choose the source; for CSV, bit 3 prepends the source's full header so the fuzzer spends its
/// time on rows rather than on guessing field names.
fn split(data: &[u8]) -> Option<(Source, bool, &[u8])> {
    let (&first, rest) = data.split_first()?;
    Some((Source::ALL[usize::from(first & 7)], first & 8 != 0, rest))
}

/// A CSV inbox file of any source: read and validate every row.
pub fn csv_file(data: &[u8]) {
    let Some((source, with_header, body)) = split(data) else {
        return;
    };
    let mut file = Vec::with_capacity(body.len() + 256);
    if with_header {
        let names: Vec<&str> = source.fields().iter().map(|f| f.name).collect();
        file.extend_from_slice(names.join(",").as_bytes());
        file.push(b'\n');
    }
    file.extend_from_slice(body);
    rows(source, &file, |each| {
        records::read_csv(Cursor::new(&file), source, &PROBE_LIMITS, each)
    });
}

/// An NDJSON inbox file of any source: read and validate every line.
pub fn ndjson_file(data: &[u8]) {
    let Some((source, _, body)) = split(data) else {
        return;
    };
    rows(source, body, |each| {
        records::read_ndjson(Cursor::new(body), source, &PROBE_LIMITS, each)
    });
}

/// A Parquet inbox file of any source (byte 0 picks it): read and validate every row.
#[cfg(feature = "parquet")]
pub fn parquet_file(data: &[u8]) {
    let Some((source, _, body)) = split(data) else {
        return;
    };
    let bytes = bytes::Bytes::copy_from_slice(body);
    // Run-length encoding packs many rows in few bytes: no rows-per-byte bound here.
    rows(source, &[], |each| {
        crate::parquet::read_parquet(bytes, source, &PROBE_LIMITS, each)
    });
}

fn rows(
    source: Source,
    file: &[u8],
    read: impl FnOnce(&mut records::Each<'_, ()>) -> Result<FileInfo, ReadError<()>>,
) {
    let units: HashSet<String> = UNITS.iter().map(|u| u.to_string()).collect();
    let validator = Validator::new(source, &Codes, &units);
    let mut last_line = 0u64;
    let mut count = 0usize;
    let mut each = |row: RawRow<'_>| -> Result<(), ()> {
        count += 1;
        assert!(
            row.line > last_line,
            "line numbers go forward: {} after {last_line}",
            row.line
        );
        last_line = row.line;
        assert_eq!(
            row.fields.len(),
            source.fields().len(),
            "one cell per field"
        );
        for cell in row.fields.iter().flatten() {
            assert!(!cell.is_empty(), "an empty cell is absent, not empty text");
            assert!(
                cell.len() <= PROBE_LIMITS.cell_bytes,
                "a cell over the limit is never handed on"
            );
        }
        // The raw row is the record (within its limit, re-quoted: at most three bytes per byte
        // counted) or a clipped prefix.
        let raw = row.raw.text();
        assert!(
            raw.len() <= 3 * PROBE_LIMITS.record_bytes + 64,
            "raw row of {} bytes",
            raw.len()
        );
        let defect = row.defect.clone();
        match validator.validate(row.fields, row.defect) {
            Ok(values) => {
                assert!(
                    defect.is_none(),
                    "a row with a reader defect is never accepted"
                );
                accepted(source, &units, row.fields, &values);
            }
            Err((reason, detail)) => {
                assert!(!detail.is_empty(), "a quarantine reason has a detail");
                if let Some((first, _)) = defect {
                    assert!(reason <= first, "{reason} beats the reader's {first}");
                }
            }
        }
        Ok(())
    };
    match read(&mut each) {
        Ok(_) => {}
        Err(ReadError::Unreadable(message)) => {
            assert!(!message.is_empty(), "an unreadable file says why");
        }
        Err(ReadError::Sink(())) => unreachable!("the probe's row callback never fails"),
    }
    // Every row of a text file costs at least one byte of it.
    assert!(
        file.is_empty() || count <= file.len(),
        "{count} rows from {} bytes",
        file.len()
    );
}

/// What an accepted row promises the lake: every value has its field's type and meets its
/// field's rule.
fn accepted(source: Source, units: &HashSet<String>, cells: &[Option<String>], values: &[Value]) {
    assert_eq!(values.len(), source.fields().len());
    for ((field, cell), value) in source.fields().iter().zip(cells).zip(values) {
        let name = field.name;
        match (field.kind, value) {
            (_, Value::Null) => {
                assert!(!field.required, "{name} is required");
                assert!(!field.null_is_false, "a null {name} flag is false");
                continue;
            }
            (Kind::Str, Value::Str(s)) => {
                assert!(!s.is_empty() && s.trim() == s, "{name} = {s:?}");
            }
            (Kind::Enum(allowed), Value::Str(s)) => {
                assert!(allowed.contains(&s.as_str()), "{name} = {s:?}");
            }
            (Kind::Uscc, Value::Str(s)) => {
                assert_eq!(uscc::normalize(s).as_deref(), Some(s.as_str()), "{name}");
            }
            (Kind::Float, Value::Float(x)) => assert!(x.is_finite(), "{name} = {x}"),
            (Kind::Int, Value::Int(_)) | (Kind::Bool, Value::Bool(_)) => {}
            (Kind::Date, Value::Date(d)) => {
                assert_eq!(parse_date(&format_date(*d)), Some(*d), "{name}");
            }
            (Kind::Timestamp, Value::Timestamp(ts)) => {
                assert_eq!(
                    parse_timestamp(cell.as_deref().unwrap_or("").trim()),
                    Some(*ts)
                );
            }
            (Kind::List, Value::List(items)) => {
                for item in items {
                    assert!(!item.is_empty() && item.trim() == item && !item.contains(';'));
                }
            }
            (kind, value) => panic!("{name}: {value:?} is not a {kind:?}"),
        }
        match (field.check, value) {
            (Check::Range(lo, hi), Value::Float(x)) => assert!((lo..=hi).contains(x), "{name}"),
            (Check::Range(lo, hi), Value::Int(x)) => {
                assert!((lo..=hi).contains(&(*x as f64)), "{name}")
            }
            (Check::DivisionCode, Value::Str(s)) => {
                assert!(
                    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()),
                    "{name}"
                )
            }
            (Check::UnitRef, Value::Str(id)) => assert!(units.contains(id), "{name}"),
            (Check::NonEmptyList, Value::List(items)) => assert!(!items.is_empty(), "{name}"),
            _ => {}
        }
    }
}

/// A date cell: a parsed date prints back as the same text, and the field parser agrees.
pub fn date_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let day = parse_date(text);
    if let Some(d) = day {
        assert_eq!(format_date(d), text, "a date prints back as its text");
    }
    let expected = match parse_date(text.trim()) {
        _ if text.trim().is_empty() => Ok(Value::Null),
        Some(d) => Ok(Value::Date(d)),
        None => Err(Reason::ParseError),
    };
    assert_eq!(parse(Kind::Date, text), expected);
}

/// A timestamp cell: the field parser trims and then agrees with `parse_timestamp`; the instant
/// prints back (to the second) in UTC and in local time, and its local day is within two days
/// of the written date (offsets reach ±18 h).
pub fn timestamp_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_timestamp(text); // untrimmed text must not panic either
    let t = text.trim();
    let Some(ts) = parse_timestamp(t) else {
        let expected = if t.is_empty() {
            Ok(Value::Null)
        } else {
            Err(Reason::ParseError)
        };
        assert_eq!(parse(Kind::Timestamp, text), expected);
        return;
    };
    assert_eq!(parse(Kind::Timestamp, text), Ok(Value::Timestamp(ts)));
    let written = parse_date(&t[..10]).expect("a timestamp starts with its date");
    assert!((local_day(ts) - written).abs() <= 2, "{t}: local day");
    let whole = ts - ts.rem_euclid(1_000_000);
    for printed in [format_timestamp_at(ts, 0), format_timestamp_local(ts)] {
        // Years before 0000 or after 9999 print with a sign or a fifth digit that the contract's
        // strict `YYYY` does not take back; they can only come from offsets at the very ends.
        if printed.len() == "0000-00-00T00:00:00Z".len()
            || printed.len() == "0000-00-00T00:00:00+08:00".len()
        {
            assert_eq!(parse_timestamp(&printed), Some(whole), "{t} → {printed}");
        }
    }
}

/// A USCC cell: a valid code is 18 characters of the alphabet whose last one is the check
/// character, computed here independently (the weights are 3^i mod 31).
pub fn uscc_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let normalized = uscc::normalize(text);
    let upper = text.trim().to_ascii_uppercase();
    let oracle = (upper.len() == 18).then(|| oracle_check(&upper.as_bytes()[..17]));
    let valid = matches!(oracle, Some(Some(c)) if upper.as_bytes()[17] == c);
    assert_eq!(normalized.is_some(), valid, "{text:?}");
    if let Some(code) = &normalized {
        assert_eq!(code, &upper);
        assert_eq!(uscc::complete(&code[..17]).as_deref(), Some(code.as_str()));
    }
    let expected = match normalized {
        _ if text.trim().is_empty() => Ok(Value::Null),
        Some(code) => Ok(Value::Str(code)),
        None => Err(Reason::BadUscc),
    };
    assert_eq!(parse(Kind::Uscc, text), expected);
    if let Ok(first17) = std::str::from_utf8(data.get(..17).unwrap_or(data)) {
        if let Some(code) = uscc::complete(first17) {
            assert_eq!(
                uscc::normalize(&code).as_deref(),
                Some(code.to_ascii_uppercase().as_str())
            );
        }
    }
}

fn oracle_check(first17: &[u8]) -> Option<u8> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let mut sum = 0u32;
    let mut weight = 1u32;
    for c in first17 {
        sum += ALPHABET.iter().position(|a| a == c)? as u32 * weight;
        weight = weight * 3 % 31;
    }
    Some(ALPHABET[((31 - sum % 31) % 31) as usize])
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    type Probe = fn(&[u8]);
    const PROBES: &[(&str, Probe)] = &[
        #[cfg(feature = "parquet")]
        ("parquet_rows", parquet_file),
        ("csv_rows", csv_file),
        ("ndjson_rows", ndjson_file),
        ("dates", date_text),
        ("timestamps", timestamp_text),
        ("uscc", uscc_text),
    ];

    /// Every committed corpus and regression input of every fuzz target passes its probe.
    #[test]
    fn committed_fuzz_inputs_pass_their_probes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut replayed = 0;
        for &(target, probe) in PROBES {
            for dir in ["corpus", "regressions"] {
                let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
                    continue;
                };
                for entry in entries {
                    let path = entry.unwrap().path();
                    probe(&std::fs::read(&path).unwrap());
                    replayed += 1;
                }
            }
        }
        assert!(replayed >= 50, "only {replayed} committed inputs");
    }

    #[test]
    fn a_csv_row_is_checked_from_header_to_values() {
        // Source 0 (units) with the header prepended: one good row and one bad USCC.
        let mut data = vec![8u8];
        let names: Vec<&str> = Source::Units.fields().iter().map(|f| f.name).collect();
        let mut row = vec![""; names.len()];
        row[0] = "U1";
        row[1] = "914403001922038216";
        row[2] = "某酒店";
        row[4] = "G1";
        data.extend_from_slice(row.join(",").as_bytes());
        data.push(b'\n');
        row[1] = "914403001922038217";
        data.extend_from_slice(row.join(",").as_bytes());
        csv_file(&data);
    }

    #[test]
    fn the_oracle_agrees_with_real_codes() {
        assert_eq!(oracle_check(b"91440300192203821"), Some(b'6'));
        assert_eq!(oracle_check(b"9144030071526726X"), Some(b'G'));
        uscc_text(b"9144030071526726xg");
        timestamp_text(b"0000-01-01T00:00+18:00");
        date_text(b"9999-12-31");
    }
}
