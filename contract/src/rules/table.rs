//! One rule table's CSV text as rows of named cells, so that every error names the table, the
//! row and the column it is about.

use std::collections::HashMap;
use std::fmt;

use super::RuleError;

/// An exact decimal number as written in a rule table (`0.05`, `1.00`, `72`): `mantissa /
/// 10^scale`. Kept exact so that shares, weights and rates compare without rounding; equal
/// values are equal whatever their scale (`1.00 == 1`).
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    pub mantissa: i64,
    pub scale: u32,
}

impl Decimal {
    /// At most 18 significant digits and 9 decimals; no exponent, no sign but `-`.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !all_digits(int) || !all_digits(frac) || frac.len() > 9 {
            return None;
        }
        if digits.ends_with('.') {
            return None;
        }
        let joined = format!("{int}{frac}");
        if joined.trim_start_matches('0').len() > 18 {
            return None;
        }
        let magnitude: i64 = joined.parse().ok()?;
        Some(Decimal {
            mantissa: if negative { -magnitude } else { magnitude },
            scale: frac.len() as u32,
        })
    }

    pub fn from_int(value: i64) -> Decimal {
        Decimal {
            mantissa: value,
            scale: 0,
        }
    }

    /// The value as a fraction `(numerator, denominator)`, denominator a power of ten.
    pub fn ratio(self) -> (i128, i128) {
        (i128::from(self.mantissa), 10i128.pow(self.scale))
    }

    /// The nearest `f64` (the text parsed by Rust's correctly rounding parser).
    pub fn to_f64(self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// The mantissa of the same value at `scale` (not below the value's own).
    fn mantissa_at(self, scale: u32) -> i64 {
        self.mantissa * 10i64.pow(scale.saturating_sub(self.scale))
    }

    /// The value when it is a whole number.
    pub fn to_int(self) -> Option<i64> {
        let (n, d) = self.ratio();
        (n % d == 0).then(|| i64::try_from(n / d).ok()).flatten()
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let ((a, da), (b, db)) = (self.ratio(), other.ratio());
        (a * db).cmp(&(b * da))
    }
}

impl std::ops::Add for Decimal {
    type Output = Decimal;

    fn add(self, other: Decimal) -> Decimal {
        let scale = self.scale.max(other.scale);
        Decimal {
            mantissa: self.mantissa_at(scale) + other.mantissa_at(scale),
            scale,
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let digits = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = digits.split_at(digits.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

/// The rows of one rule table, cells trimmed, with the header checked against the columns the
/// table must have (exactly those: a misspelt column is an error, not an ignored one).
pub struct Table {
    pub name: String,
    columns: HashMap<String, usize>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn parse(name: &str, text: &str, expected: &[&str]) -> Result<Table, RuleError> {
        let error = |row: Option<usize>, column: Option<&str>, message: String| RuleError {
            table: name.to_string(),
            row,
            column: column.map(str::to_string),
            message,
        };
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|e| error(None, None, format!("unreadable header: {e}")))?
            .clone();
        let mut columns = HashMap::new();
        for (i, h) in header.iter().enumerate() {
            if !expected.contains(&h) {
                return Err(error(
                    None,
                    Some(h),
                    format!("unknown column (expected {})", expected.join(", ")),
                ));
            }
            if columns.insert(h.to_string(), i).is_some() {
                return Err(error(None, Some(h), "column given twice".into()));
            }
        }
        if let Some(missing) = expected.iter().find(|c| !columns.contains_key(**c)) {
            return Err(error(None, Some(missing), "missing column".into()));
        }
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| error(Some(i + 1), None, e.to_string()))?;
            rows.push(record.iter().map(str::to_string).collect());
        }
        Ok(Table {
            name: name.to_string(),
            columns,
            rows,
        })
    }

    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().enumerate().map(|(i, cells)| Row {
            table: self,
            number: i + 1,
            cells,
        })
    }

    /// A table-wide error (no single row).
    pub fn error(&self, message: String) -> RuleError {
        RuleError {
            table: self.name.clone(),
            row: None,
            column: None,
            message,
        }
    }
}

/// One data row (numbered from 1, the header not counted).
#[derive(Clone, Copy)]
pub struct Row<'t> {
    table: &'t Table,
    pub number: usize,
    cells: &'t [String],
}

impl<'t> Row<'t> {
    pub fn error(&self, column: &str, message: impl Into<String>) -> RuleError {
        RuleError {
            table: self.table.name.clone(),
            row: Some(self.number),
            column: Some(column.to_string()),
            message: message.into(),
        }
    }

    /// The cell's text (empty when the record is short).
    pub fn text(&self, column: &str) -> &'t str {
        self.table
            .columns
            .get(column)
            .and_then(|i| self.cells.get(*i))
            .map_or("", String::as_str)
    }

    pub fn optional(&self, column: &str) -> Option<&'t str> {
        Some(self.text(column)).filter(|t| !t.is_empty())
    }

    pub fn required(&self, column: &str) -> Result<&'t str, RuleError> {
        self.optional(column)
            .ok_or_else(|| self.error(column, "is empty"))
    }

    pub fn int(&self, column: &str, min: i64, max: i64) -> Result<i64, RuleError> {
        let text = self.required(column)?;
        let value: i64 = text
            .parse()
            .map_err(|_| self.error(column, format!("`{text}` is not a whole number")))?;
        if !(min..=max).contains(&value) {
            return Err(self.error(column, format!("{value} is outside {min}..={max}")));
        }
        Ok(value)
    }

    pub fn decimal(&self, column: &str) -> Result<Decimal, RuleError> {
        let text = self.required(column)?;
        Decimal::parse(text).ok_or_else(|| {
            self.error(
                column,
                format!("`{text}` is not a decimal number like 0.25 (at most 9 decimals)"),
            )
        })
    }

    pub fn flag(&self, column: &str) -> Result<bool, RuleError> {
        match self.required(column)? {
            t if t.eq_ignore_ascii_case("true") => Ok(true),
            t if t.eq_ignore_ascii_case("false") => Ok(false),
            t => Err(self.error(column, format!("`{t}` is not true or false"))),
        }
    }

    /// `text` must be one of `allowed`.
    pub fn one_of(&self, column: &str, allowed: &[&str]) -> Result<&'t str, RuleError> {
        let text = self.required(column)?;
        if allowed.contains(&text) {
            Ok(text)
        } else {
            Err(self.error(
                column,
                format!("`{text}` is not one of {}", allowed.join(", ")),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        let d = |t: &str| Decimal::parse(t).unwrap();
        assert_eq!(
            d("0.05"),
            Decimal {
                mantissa: 5,
                scale: 2
            }
        );
        assert_eq!(d("1.00").to_int(), Some(1));
        assert_eq!(d("1.00"), d("1"));
        assert_eq!(
            d("0.30") + d("0.25") + d("0.20") + d("0.15") + d("0.10"),
            d("1")
        );
        assert!(d("0.2") > d("0.19999"));
        assert_eq!(d("0.050").to_string(), "0.050");
        assert_eq!(d("-2.5").to_string(), "-2.5");
        assert_eq!(d("0.75").to_f64(), 0.75);
        for bad in ["", ".5", "5.", "1e3", "+1", "1.2.3", "0.0000000001", "one"] {
            assert_eq!(Decimal::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn errors_name_table_row_and_column() {
        let t = Table::parse("x.csv", "a,b\n1,2\n3,four\n", &["a", "b"]).unwrap();
        let rows: Vec<_> = t.rows().collect();
        assert_eq!(rows[0].int("b", 0, 9), Ok(2));
        let e = rows[1].int("b", 0, 9).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(2), Some("b")));
        assert!(
            e.to_string()
                .starts_with("rule table x.csv, row 2, column b:"),
            "{e}"
        );
        assert!(Table::parse("x.csv", "a,c\n", &["a", "b"]).is_err());
        assert!(Table::parse("x.csv", "a\n", &["a", "b"]).is_err());
        assert!(Table::parse("x.csv", "a,b,a\n", &["a", "b"]).is_err());
    }
}
