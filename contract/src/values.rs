//! Parsing of one cell's text into a typed value, by the contract's conventions. Hand-written
//! rather than chrono's format parsers because the contract is stricter (a bare date or an
//! epoch number in a timestamp field is an error) and this is the hot path of ingest.

use chrono::NaiveDate;

use crate::{uscc, Kind, Reason};

/// Local time of providers without an offset: Asia/Shanghai, UTC+8, no daylight saving.
pub const LOCAL_OFFSET_SECONDS: i64 = 8 * 3600;
const MICROS: i64 = 1_000_000;

/// A parsed cell. Dates are days since 1970-01-01; timestamps are UTC microseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Str(String),
    Float(f64),
    Int(i64),
    Bool(bool),
    Date(i32),
    Timestamp(i64),
    List(Vec<String>),
}

/// Parses `text` as `kind`. Empty (after trimming) is `Null`; the caller decides whether a null
/// is allowed. Errors carry the contract reason.
pub fn parse(kind: Kind, text: &str) -> Result<Value, Reason> {
    let mut value = Value::Null;
    parse_into(kind, text, &mut value)?;
    Ok(value)
}

/// [`parse`] into `slot`, reusing the string it holds: ingest types every row of a file into
/// one buffer, without a new allocation per text cell. On an error `slot` is left as it was.
pub fn parse_into(kind: Kind, text: &str, slot: &mut Value) -> Result<(), Reason> {
    let t = text.trim();
    if t.is_empty() {
        *slot = match kind {
            Kind::List => Value::List(Vec::new()),
            _ => Value::Null,
        };
        return Ok(());
    }
    match kind {
        Kind::Str => set_str(slot, t),
        Kind::Float => *slot = Value::Float(parse_float(t)?),
        Kind::Int => *slot = Value::Int(t.parse::<i64>().map_err(|_| Reason::ParseError)?),
        Kind::Bool => *slot = Value::Bool(parse_bool(t).ok_or(Reason::BadEnum)?),
        Kind::Date => *slot = Value::Date(parse_date(t).ok_or(Reason::ParseError)?),
        Kind::Timestamp => *slot = Value::Timestamp(parse_timestamp(t).ok_or(Reason::ParseError)?),
        // ASCII text (nearly all of it) is matched without a lower-cased copy.
        Kind::Enum(allowed) if t.is_ascii() => {
            let found = allowed.iter().find(|a| a.eq_ignore_ascii_case(t));
            set_str(slot, found.ok_or(Reason::BadEnum)?)
        }
        Kind::Enum(allowed) => {
            let lower = t.to_lowercase();
            if !allowed.contains(&lower.as_str()) {
                return Err(Reason::BadEnum);
            }
            *slot = Value::Str(lower)
        }
        Kind::List => *slot = Value::List(parse_list(t)),
        Kind::Uscc => *slot = Value::Str(uscc::normalize(t).ok_or(Reason::BadUscc)?),
    }
    Ok(())
}

/// `slot` becomes the text `t`, in the string it already holds if it holds one.
fn set_str(slot: &mut Value, t: &str) {
    match slot {
        Value::Str(s) => {
            s.clear();
            s.push_str(t);
        }
        _ => *slot = Value::Str(t.to_string()),
    }
}

pub fn parse_float(t: &str) -> Result<f64, Reason> {
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(Reason::ParseError),
    }
}

/// `true/false`, `1/0`, `是/否`, `Y/N`, case-insensitive.
pub fn parse_bool(t: &str) -> Option<bool> {
    match t {
        "1" | "是" => Some(true),
        "0" | "否" => Some(false),
        _ if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("y") => Some(true),
        _ if t.eq_ignore_ascii_case("false") || t.eq_ignore_ascii_case("n") => Some(false),
        _ => None,
    }
}

/// `;`-separated, items trimmed, empty items dropped.
pub fn parse_list(t: &str) -> Vec<String> {
    t.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid epoch")
}

/// Days since 1970-01-01 of a valid `YYYY-MM-DD` date.
pub fn parse_date(t: &str) -> Option<i32> {
    let b = t.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date =
        NaiveDate::from_ymd_opt(digits(&b[..4])? as i32, digits(&b[5..7])?, digits(&b[8..])?)?;
    Some((date - epoch()).num_days() as i32)
}

/// `YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]]` with optional `Z`, `±HH:MM` or `±HHMM`; without an
/// offset the time is Asia/Shanghai. Returns UTC microseconds.
pub fn parse_timestamp(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() < 16 || !(b[10] == b'T' || b[10] == b' ' || b[10] == b't') {
        return None;
    }
    let days = i64::from(parse_date(&t[..10])?);
    if b[13] != b':' {
        return None;
    }
    let hour = i64::from(digits(&b[11..13])?);
    let minute = i64::from(digits(&b[14..16])?);
    let mut rest = &b[16..];
    let mut second = 0i64;
    let mut micros = 0i64;
    if let [b':', s1, s2, tail @ ..] = rest {
        second = i64::from(digits(&[*s1, *s2])?);
        rest = tail;
        if let [b'.', tail @ ..] = rest {
            let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            // Keep microseconds; finer digits are truncated.
            let frac = &tail[..n.min(6)];
            micros = i64::from(digits(frac)?) * 10i64.pow(6 - frac.len() as u32);
            rest = &tail[n..];
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let offset = match rest {
        [] => LOCAL_OFFSET_SECONDS,
        [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let h = i64::from(digits(&[*h1, *h2])?);
            let m = i64::from(digits(&[*m1, *m2])?);
            if h > 18 || m > 59 {
                return None;
            }
            let secs = h * 3600 + m * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let local_secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some((local_secs - offset) * MICROS + micros)
}

/// Local (Asia/Shanghai) calendar day of a UTC microsecond instant, as days since the epoch.
pub fn local_day(ts_micros: i64) -> i32 {
    (ts_micros.div_euclid(MICROS) + LOCAL_OFFSET_SECONDS).div_euclid(86_400) as i32
}

/// Local calendar month (yyyymm) of a day number.
pub fn local_month(day: i32) -> i32 {
    use chrono::Datelike;
    let date = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
        + chrono::Duration::days(i64::from(day));
    date.year() * 100 + date.month() as i32
}

/// UTC microseconds of the local midnight that begins day `day` (days since the epoch).
pub fn local_midnight(day: i32) -> i64 {
    (i64::from(day) * 86_400 - LOCAL_OFFSET_SECONDS) * MICROS
}

/// `YYYY-MM-DD` of a day number.
pub fn format_date(days: i32) -> String {
    (epoch() + chrono::Duration::days(i64::from(days)))
        .format("%Y-%m-%d")
        .to_string()
}

/// Local ISO-8601 text with the explicit `+08:00` offset, as the generator writes it.
pub fn format_timestamp_local(ts_micros: i64) -> String {
    format_timestamp_at(ts_micros, LOCAL_OFFSET_SECONDS)
}

/// ISO-8601 text of an instant at a whole-hour offset from UTC (`Z` for zero).
pub fn format_timestamp_at(ts_micros: i64, offset_seconds: i64) -> String {
    let local = ts_micros.div_euclid(MICROS) + offset_seconds;
    let days = local.div_euclid(86_400) as i32;
    let secs = local.rem_euclid(86_400);
    let zone = if offset_seconds == 0 {
        "Z".to_string()
    } else {
        format!("{:+03}:00", offset_seconds / 3600)
    };
    format!(
        "{}T{:02}:{:02}:{:02}{zone}",
        format_date(days),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> i32 {
        parse_date(s).unwrap()
    }

    #[test]
    fn dates_are_strict() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2024-02-29"), Some(19782));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("2026-2-3"), None);
        assert_eq!(parse_date("2026/02/03"), None);
        assert_eq!(parse_date("20260203"), None);
        assert_eq!(
            parse(Kind::Date, "2026-13-01").unwrap_err(),
            Reason::ParseError
        );
        assert_eq!(format_date(day("2025-12-31")), "2025-12-31");
    }

    #[test]
    fn timestamps_accept_every_contract_form() {
        let utc_midnight = i64::from(day("2026-03-01")) * 86_400 * MICROS;
        assert_eq!(parse_timestamp("2026-03-01T00:00Z"), Some(utc_midnight));
        assert_eq!(parse_timestamp("2026-03-01 08:00"), Some(utc_midnight));
        assert_eq!(
            parse_timestamp("2026-03-01T08:00:00+08:00"),
            Some(utc_midnight)
        );
        assert_eq!(
            parse_timestamp("2026-03-01T09:30:00+0930"),
            Some(utc_midnight)
        );
        assert_eq!(
            parse_timestamp("2026-02-28T19:00:00-05:00"),
            Some(utc_midnight)
        );
        assert_eq!(
            parse_timestamp("2026-03-01T00:00:00.25Z"),
            Some(utc_midnight + 250_000)
        );
        assert_eq!(
            parse_timestamp("2026-03-01T00:00:00.1234567Z"),
            Some(utc_midnight + 123_456)
        );
    }

    #[test]
    fn bare_dates_epochs_and_garbage_are_not_timestamps() {
        for bad in [
            "2026-03-01",
            "1772323200",
            "2026-03-01T24:00",
            "2026-03-01T10:60",
            "2026-02-30T10:00",
            "2026-03-01T10:00:00+8",
            "2026-03-01T10:00:00.Z",
            "2026-03-01T10:00 +08:00",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn local_day_uses_shanghai_time() {
        let ts = parse_timestamp("2026-03-01T23:30:00+08:00").unwrap();
        assert_eq!(local_day(ts), day("2026-03-01"));
        let ts = parse_timestamp("2026-03-01T16:30:00Z").unwrap();
        assert_eq!(local_day(ts), day("2026-03-02"));
        assert_eq!(format_timestamp_local(ts), "2026-03-02T00:30:00+08:00");
        assert_eq!(format_timestamp_at(ts, 0), "2026-03-01T16:30:00Z");
        let midnight = local_midnight(day("2026-03-02"));
        assert_eq!(Some(midnight), parse_timestamp("2026-03-02T00:00:00+08:00"));
        assert_eq!(local_day(midnight), day("2026-03-02"));
        assert_eq!(local_day(midnight - 1), day("2026-03-01"));
    }

    #[test]
    fn booleans_enums_lists_and_numbers() {
        for (t, v) in [
            ("是", true),
            ("否", false),
            ("Y", true),
            ("n", false),
            ("TRUE", true),
            ("0", false),
        ] {
            assert_eq!(parse(Kind::Bool, t), Ok(Value::Bool(v)), "{t}");
        }
        assert_eq!(parse(Kind::Bool, "yes"), Err(Reason::BadEnum));
        assert_eq!(parse(Kind::Bool, "  "), Ok(Value::Null));
        assert_eq!(
            parse(Kind::Enum(crate::USE_TYPES), " Hotel "),
            Ok(Value::Str("hotel".into()))
        );
        assert_eq!(
            parse(Kind::Enum(crate::USE_TYPES), "motel"),
            Err(Reason::BadEnum)
        );
        assert_eq!(
            parse(Kind::List, " I001; I007 ;"),
            Ok(Value::List(vec!["I001".into(), "I007".into()]))
        );
        assert_eq!(parse(Kind::List, ""), Ok(Value::List(vec![])));
        assert_eq!(parse(Kind::Float, "1e3"), Ok(Value::Float(1000.0)));
        assert_eq!(parse(Kind::Float, "NaN"), Err(Reason::ParseError));
        assert_eq!(parse(Kind::Int, "3.5"), Err(Reason::ParseError));
        assert_eq!(
            parse(Kind::Uscc, "914403001922038217"),
            Err(Reason::BadUscc)
        );
    }
}
