//! The verifiable parts of the draw (scoring.md §5), in one place: the exact counts, the
//! inspectors' cap, the weights and the plan's numbers from the rules. The run's SQL calls
//! `draw_u` ([`crate::engine::functions::draw_u`]) and `verify-plan` recomputes with the same
//! code, reading the numbers from the published `plan_parameters`.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};

use crate::contract::rules::parameters::KEYS;
use crate::contract::rules::{Decimal, Parameters};
use crate::error::{Error, Result};

/// `n_s = min(eligible, ceil(eligible × rate × m × months / 12))` in integers: `rate` and `m`
/// as fractions. (`ceil(360 × 1.1 / 12)` is 33.)
pub fn draw_count(eligible: u64, rate: (u64, u64), m: (u64, u64), months: u64) -> u64 {
    let num = u128::from(eligible) * u128::from(rate.0) * u128::from(m.0) * u128::from(months);
    let den = 12 * u128::from(rate.1.max(1)) * u128::from(m.1.max(1));
    let n = num.div_ceil(den);
    u64::try_from(n.min(u128::from(eligible))).unwrap_or(eligible)
}

/// Assignments an inspector of a district may hold: `ceil(per_unit × drawn / active)`.
pub fn capacity(drawn: u64, active: u64, per_unit: u64) -> u64 {
    if active == 0 {
        0
    } else {
        (per_unit * drawn).div_ceil(active)
    }
}

/// The base strata, in order, with the key of their annual rate.
pub const STRATA: [(&str, &str); 3] = [
    ("S1", "plan_rate_s1"),
    ("S2", "plan_rate_s2"),
    ("S3", "plan_rate_s3"),
];
const GRADE_FACTORS: [(&str, &str); 4] = [
    ("A", "plan_grade_factor_a"),
    ("B", "plan_grade_factor_b"),
    ("C", "plan_grade_factor_c"),
    ("D", "plan_grade_factor_d"),
];
const LEVEL_FACTORS: [(&str, &str); 4] = [
    ("1", "plan_risk_factor_1"),
    ("2", "plan_risk_factor_2"),
    ("3", "plan_risk_factor_3"),
    ("4", "plan_risk_factor_4"),
];

/// The plan's numbers (the `plan_*` rows of `parameters.csv`), as the run used them: read from
/// the rules for a run, from the published `plan_parameters` for `verify-plan`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRules {
    /// Key → the value as written.
    pub texts: BTreeMap<String, String>,
    pub months: u64,
    pub per_unit: u64,
}

impl PlanRules {
    pub fn from_parameters(p: &Parameters) -> Result<PlanRules> {
        let plan_keys: Vec<&str> = KEYS
            .iter()
            .filter(|(_, section)| *section == 5)
            .map(|(k, _)| *k)
            .collect();
        let texts = p
            .texts()
            .into_iter()
            .filter(|(k, _)| plan_keys.contains(k))
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        PlanRules::from_texts(texts)
    }

    /// From `key → value` text (the published `plan_parameters`).
    pub fn from_texts(texts: BTreeMap<String, String>) -> Result<PlanRules> {
        let mut rules = PlanRules {
            texts,
            months: 0,
            per_unit: 0,
        };
        rules.months = rules.whole("plan_months")?;
        rules.per_unit = rules.whole("plan_inspectors_per_unit")?;
        for (_, key) in STRATA {
            rules.decimal(key)?;
        }
        for (_, key) in GRADE_FACTORS.iter().chain(&LEVEL_FACTORS) {
            rules.decimal(key)?;
        }
        Ok(rules)
    }

    fn decimal(&self, key: &str) -> Result<Decimal> {
        let text = self
            .texts
            .get(key)
            .ok_or_else(|| Error::Invalid(format!("plan parameter {key} is missing")))?;
        Decimal::parse(text)
            .filter(|d| *d >= Decimal::from_int(0))
            .ok_or_else(|| Error::Invalid(format!("plan parameter {key}: `{text}`")))
    }

    fn whole(&self, key: &str) -> Result<u64> {
        self.decimal(key)?
            .to_int()
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| Error::Invalid(format!("plan parameter {key} is not a whole number")))
    }

    fn fraction(&self, key: &str) -> (u64, u64) {
        self.decimal(key).map_or((0, 1), |d| {
            let (n, den) = d.ratio();
            (
                u64::try_from(n).unwrap_or(0),
                u64::try_from(den).unwrap_or(1),
            )
        })
    }

    /// The annual rate of a base stratum, as a fraction and as written.
    pub fn rate(&self, stratum: &str) -> Option<((u64, u64), &str)> {
        let (_, key) = STRATA.iter().find(|(s, _)| *s == stratum)?;
        Some((self.fraction(key), self.texts.get(*key)?.as_str()))
    }

    fn factor(&self, table: &[(&str, &str)], value: &str) -> Option<f64> {
        let (_, key) = table.iter().find(|(v, _)| *v == value)?;
        self.decimal(key).ok().map(Decimal::to_f64)
    }

    /// The weight of a unit: its grade's factor × its risk level's, as `plan_population.sql`
    /// multiplies them.
    pub fn weight(&self, grade: &str, level: i64) -> Option<f64> {
        Some(
            self.factor(&GRADE_FACTORS, grade)?
                * self.factor(&LEVEL_FACTORS, &level.to_string())?,
        )
    }

    /// `plan_parameters (key, value)`: published, so that the draw can be verified.
    pub fn parameters_table(&self) -> Result<RecordBatch> {
        Ok(RecordBatch::try_from_iter(vec![
            (
                "key",
                Arc::new(StringArray::from_iter_values(self.texts.keys())) as ArrayRef,
            ),
            (
                "value",
                Arc::new(StringArray::from_iter_values(self.texts.values())) as _,
            ),
        ])?)
    }

    /// `plan_rates (stratum, rate)`: each base stratum's annual rate as written.
    pub fn rates_table(&self) -> Result<RecordBatch> {
        let rates: Vec<(&str, &str)> = STRATA
            .iter()
            .filter_map(|(s, _)| Some((*s, self.rate(s)?.1)))
            .collect();
        Ok(RecordBatch::try_from_iter(vec![
            (
                "stratum",
                Arc::new(StringArray::from_iter_values(rates.iter().map(|r| r.0))) as ArrayRef,
            ),
            (
                "rate",
                Arc::new(StringArray::from_iter_values(rates.iter().map(|r| r.1))) as _,
            ),
        ])?)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_exact() {
        let one = (1, 1);
        assert_eq!(draw_count(360, one, (11, 10), 1), 33);
        assert_eq!(draw_count(0, one, one, 1), 0);
        assert_eq!(draw_count(1, (20, 100), one, 1), 1);
        assert_eq!(draw_count(60, (20, 100), one, 1), 1);
        assert_eq!(draw_count(61, (20, 100), one, 1), 2);
        assert_eq!(draw_count(61, (20, 100), one, 2), 3);
        assert_eq!(draw_count(5, one, (100, 1), 1), 5);
        assert_eq!(capacity(3, 2, 2), 3);
        assert_eq!(capacity(3, 2, 3), 5);
        assert_eq!(capacity(4, 0, 2), 0);
    }

    #[test]
    fn plan_rules_read_back_from_their_table() {
        let rules =
            PlanRules::from_parameters(&crate::contract::rules::RuleSet::defaults().parameters)
                .unwrap();
        assert_eq!((rules.months, rules.per_unit), (1, 2));
        assert_eq!(rules.rate("S2"), Some(((80, 100), "0.80")));
        assert_eq!(rules.weight("C", 3), Some(3.0));
        assert_eq!(rules.weight("A", 1), Some(0.375));
        let again = PlanRules::from_texts(rules.texts.clone()).unwrap();
        assert_eq!(again, rules);
        assert_eq!(rules.parameters_table().unwrap().num_rows(), 16);
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
