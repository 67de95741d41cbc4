//! The verifiable parts of the draw (scoring.md §5), in one place: the run's SQL calls
//! [`draw_u`] as the `draw_u` function, and `verify-plan` recomputes with the same code.

use std::str::FromStr;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::array::{Int64Array, UInt64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use sha2::{Digest, Sha256};

/// `u(text)` = (first 8 bytes of SHA-256(text), big-endian, + 0.5) / 2^64, as the f64 nearest
/// the exact value: hi / 2^32 + (lo + 0.5) / 2^64 rounds once (both terms are exact), so any
/// implementation that rounds correctly gets the same bits.
pub fn draw_u(text: &str) -> f64 {
    let digest = Sha256::digest(text.as_bytes());
    let hi = u32::from_be_bytes(digest[0..4].try_into().expect("4 bytes"));
    let lo = u32::from_be_bytes(digest[4..8].try_into().expect("4 bytes"));
    f64::from(hi) / 4_294_967_296.0 + (f64::from(lo) + 0.5) / 18_446_744_073_709_551_616.0
}

/// `n_s = min(eligible, ceil(eligible × rate × m / 12))` in integers: rate in percent, `m` =
/// `m_num / m_den`. (`ceil(360 × 1.1 / 12)` is 33.)
pub fn draw_count(eligible: u64, rate_pct: u64, m_num: u64, m_den: u64) -> u64 {
    let num = u128::from(eligible) * u128::from(rate_pct) * u128::from(m_num);
    let den = 1200 * u128::from(m_den.max(1));
    let n = num.div_ceil(den);
    u64::try_from(n.min(u128::from(eligible))).expect("at most eligible")
}

/// Assignments an inspector of a district may hold: `ceil(2 × drawn / active)`.
pub fn capacity(drawn: u64, active: u64) -> u64 {
    if active == 0 {
        0
    } else {
        (2 * drawn).div_ceil(active)
    }
}

/// Annual rates of the strata, percent.
pub const STRATUM_RATES: [(&str, i64); 3] = [("S1", 100), ("S2", 80), ("S3", 20)];
/// Weight factors: grade, then risk level.
pub const GRADE_FACTORS: [(&str, f64); 4] = [("A", 0.5), ("B", 1.0), ("C", 2.0), ("D", 3.0)];
pub const LEVEL_FACTORS: [(&str, f64); 4] = [("1", 0.75), ("2", 1.0), ("3", 1.5), ("4", 2.0)];

/// The weight of a unit, as the SQL joins it from [`factors_table`].
pub fn weight(grade: &str, level: i64) -> Option<f64> {
    let g = GRADE_FACTORS.iter().find(|(k, _)| *k == grade)?.1;
    let l = LEVEL_FACTORS
        .iter()
        .find(|(k, _)| *k == level.to_string())?
        .1;
    Some(g * l)
}

/// `plan_factors (factor_of, value, factor)`.
pub fn factors_table() -> RecordBatch {
    let rows: Vec<(&str, &str, f64)> = GRADE_FACTORS
        .iter()
        .map(|(v, f)| ("credit_grade", *v, *f))
        .chain(LEVEL_FACTORS.iter().map(|(v, f)| ("risk_level", *v, *f)))
        .collect();
    RecordBatch::try_from_iter(vec![
        (
            "factor_of",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))) as ArrayRef,
        ),
        (
            "value",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))) as _,
        ),
        (
            "factor",
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.2))) as _,
        ),
    ])
    .expect("factors batch")
}

/// `plan_rates (stratum, rate_pct)`.
pub fn rates_table() -> RecordBatch {
    RecordBatch::try_from_iter(vec![
        (
            "stratum",
            Arc::new(StringArray::from_iter_values(
                STRATUM_RATES.iter().map(|r| r.0),
            )) as ArrayRef,
        ),
        (
            "rate_pct",
            Arc::new(Int64Array::from_iter_values(
                STRATUM_RATES.iter().map(|r| r.1),
            )) as _,
        ),
    ])
    .expect("rates batch")
}

/// A campaign (专项治理): use types drawn with their own multiplier, e.g. `hotel=1.5,school=2`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Campaign {
    /// (use type, multiplier as written, numerator, denominator).
    pub entries: Vec<(String, String, u64, u64)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("campaign `{entry}`: {message}")]
pub struct CampaignError {
    pub entry: String,
    pub message: String,
}

impl FromStr for Campaign {
    type Err = CampaignError;

    /// Accepts `use_type=multiplier` pairs separated by commas: a use type of the data
    /// contract, at most once, and a decimal multiplier in (0, 100] with at most 6 decimals.
    /// Anything else is rejected, so the values are never more than data.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut entries: Vec<(String, String, u64, u64)> = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = |message: &str| CampaignError {
                entry: entry.chars().take(80).collect(),
                message: message.into(),
            };
            let (use_type, m) = entry
                .split_once('=')
                .ok_or_else(|| bad("expected use_type=multiplier"))?;
            let use_type = use_type.trim();
            if !crate::contract::USE_TYPES.contains(&use_type) {
                return Err(bad(&format!(
                    "unknown use type (one of {})",
                    crate::contract::USE_TYPES.join(", ")
                )));
            }
            if entries.iter().any(|e| e.0 == use_type) {
                return Err(bad("use type given twice"));
            }
            let m = m.trim();
            let (int, frac) = m.split_once('.').unwrap_or((m, ""));
            let digits_ok = !int.is_empty()
                && int.len() <= 3
                && frac.len() <= 6
                && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit());
            if !digits_ok {
                return Err(bad("multiplier must be a decimal like 1.5"));
            }
            let den = 10u64.pow(frac.len() as u32);
            let num: u64 = format!("{int}{frac}")
                .parse()
                .map_err(|_| bad("multiplier must be a decimal like 1.5"))?;
            if num == 0 || num > 100 * den {
                return Err(bad("multiplier must be in (0, 100]"));
            }
            entries.push((use_type.to_string(), m.to_string(), num, den));
        }
        Ok(Campaign { entries })
    }
}

impl Campaign {
    /// `campaign (use_type, multiplier, m_num, m_den)`.
    pub fn table(&self) -> RecordBatch {
        let e = &self.entries;
        RecordBatch::try_from_iter(vec![
            (
                "use_type",
                Arc::new(StringArray::from_iter_values(
                    e.iter().map(|x| x.0.as_str()),
                )) as ArrayRef,
            ),
            (
                "multiplier",
                Arc::new(StringArray::from_iter_values(
                    e.iter().map(|x| x.1.as_str()),
                )) as _,
            ),
            (
                "m_num",
                Arc::new(UInt64Array::from_iter_values(e.iter().map(|x| x.2))) as _,
            ),
            (
                "m_den",
                Arc::new(UInt64Array::from_iter_values(e.iter().map(|x| x.3))) as _,
            ),
        ])
        .expect("campaign batch")
    }
}

/// `draw_u(text)` for SQL.
#[derive(Debug, PartialEq, Eq, Hash)]
struct DrawU {
    signature: Signature,
}

impl ScalarUDFImpl for DrawU {
    fn name(&self) -> &str {
        "draw_u"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let text = cast(&arrays[0], &DataType::Utf8)?;
        let out: Float64Array = text
            .as_string::<i32>()
            .iter()
            .map(|t| t.map(draw_u))
            .collect();
        let out: ArrayRef = Arc::new(out);
        Ok(
            if args
                .args
                .iter()
                .all(|a| matches!(a, ColumnarValue::Scalar(_)))
            {
                ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&out, 0)?)
            } else {
                debug_assert_eq!(out.len(), args.number_rows);
                ColumnarValue::Array(out)
            },
        )
    }
}

pub fn draw_u_udf() -> ScalarUDF {
    ScalarUDF::from(DrawU {
        signature: Signature::string(1, Volatility::Immutable),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u_follows_the_spec() {
        // The f64 nearest (n + 0.5) / 2^64, by Python's exact fractions:
        // float(Fraction(2 * n + 1, 2**65)) with n the first 8 bytes of sha256(text).
        assert_eq!(draw_u("2026-06-30:U1"), 0.1675365285914162);
        assert_eq!(draw_u("2026-06-30:U1:P1"), 0.7604123390099113);
    }

    #[test]
    fn counts_are_exact() {
        assert_eq!(draw_count(360, 100, 11, 10), 33);
        assert_eq!(draw_count(0, 100, 1, 1), 0);
        assert_eq!(draw_count(1, 20, 1, 1), 1);
        assert_eq!(draw_count(60, 20, 1, 1), 1);
        assert_eq!(draw_count(61, 20, 1, 1), 2);
        assert_eq!(draw_count(5, 100, 100, 1), 5);
        assert_eq!(capacity(3, 2), 3);
        assert_eq!(capacity(4, 0), 0);
    }

    #[test]
    fn campaigns_are_validated() {
        let c: Campaign = "hotel=1.5, school=2".parse().unwrap();
        assert_eq!(c.entries[0], ("hotel".into(), "1.5".into(), 15, 10));
        assert_eq!(c.entries[1], ("school".into(), "2".into(), 2, 1));
        for bad in [
            "hotel",
            "hotel=0",
            "hotel=-1",
            "hotel=1e3",
            "motel=1",
            "hotel=1,hotel=2",
            "hotel=1'; DROP TABLE units; --",
            "hotel=101",
        ] {
            assert!(bad.parse::<Campaign>().is_err(), "{bad}");
        }
    }
}
