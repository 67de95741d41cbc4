//! The named parameters every SQL step binds (`$as_of`, `$credit_base`, …): substituted into the
//! logical plan as literals, never pasted into SQL text. Each key of `parameters.csv` is one
//! parameter of the same name, so the SQL reads the rules, not numbers of its own.

use std::collections::HashMap;

use datafusion::common::{ParamValues, ScalarValue};

use crate::contract::rules::{ParamValue, RuleSet};
use crate::contract::values::local_midnight;

#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    as_of: i32,
    values: HashMap<String, ScalarValue>,
}

impl Params {
    /// The parameters of a run (or a past cutoff) at `as_of`:
    /// - `$as_of` (DATE) and `$as_of_day` (its day number, for exact day arithmetic);
    /// - `$iot_window_start_us` and `$iot_window_end_us`: UTC microseconds of the local
    ///   midnights around the `iot_window_days` days that end with `as_of` (scoring.md §2);
    /// - `$rules_version`, `$rules_sha256`, `$model_version` (null until the risk stage);
    /// - every key of `parameters.csv`.
    pub fn new(as_of: i32, rules: &RuleSet) -> Params {
        let p = &rules.parameters;
        let window_days = i32::try_from(p.iot_window_days).unwrap_or(i32::MAX);
        let mut values: HashMap<String, ScalarValue> = [
            ("as_of", ScalarValue::Date32(Some(as_of))),
            ("as_of_day", ScalarValue::Int64(Some(i64::from(as_of)))),
            (
                "iot_window_start_us",
                ScalarValue::Int64(Some(local_midnight(as_of.saturating_sub(window_days - 1)))),
            ),
            (
                "iot_window_end_us",
                ScalarValue::Int64(Some(window_end(as_of))),
            ),
            (
                "rules_version",
                ScalarValue::Utf8(Some(rules.version.clone())),
            ),
            (
                "rules_sha256",
                ScalarValue::Utf8(Some(rules.sha256.clone())),
            ),
            ("model_version", ScalarValue::Utf8(None)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (key, value) in p.values() {
            values.insert(key.to_string(), scalar(value));
        }
        Params { as_of, values }
    }

    /// Binds `$iot_carry_end_us`: the `$iot_window_end_us` of a run at `previous` (the run
    /// whose intervals are carried forward).
    pub fn carry_from(&mut self, previous: i32) {
        self.set(
            "iot_carry_end_us",
            ScalarValue::Int64(Some(window_end(previous))),
        );
    }

    /// The day the parameters are bound to.
    pub fn as_of(&self) -> i32 {
        self.as_of
    }

    /// Binds (or rebinds) one parameter.
    pub fn set(&mut self, key: &str, value: ScalarValue) {
        self.values.insert(key.to_string(), value);
    }

    /// A copy with one parameter bound.
    pub fn with(mut self, key: &str, value: ScalarValue) -> Params {
        self.set(key, value);
        self
    }

    pub fn get(&self, key: &str) -> Option<&ScalarValue> {
        self.values.get(key)
    }

    /// A text parameter's value (none when unbound or null).
    pub fn text(&self, key: &str) -> Option<String> {
        match self.values.get(key) {
            Some(ScalarValue::Utf8(Some(t))) => Some(t.clone()),
            _ => None,
        }
    }

    /// Every parameter as `name → [Arrow type, value as text or null]`, sorted by name.
    pub fn describe(&self) -> std::collections::BTreeMap<&str, (String, Option<String>)> {
        self.values
            .iter()
            .map(|(k, v)| {
                let value = (!v.is_null()).then(|| match v {
                    ScalarValue::Utf8(Some(t)) => t.clone(),
                    v => v.to_string(),
                });
                (k.as_str(), (v.data_type().to_string(), value))
            })
            .collect()
    }

    /// For `DataFrame::with_param_values`.
    pub fn values(&self) -> ParamValues {
        ParamValues::Map(
            self.values
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into()))
                .collect(),
        )
    }
}

/// The one `DECIMAL` type of every decimal parameter: nine decimals (the most a rule table may
/// write) and room for the ranges of the rules. One type for all, so that expressions mixing
/// several parameters (the area weights in one array) need no coercion between scales.
pub const DECIMAL_PRECISION: u8 = 18;
pub const DECIMAL_SCALE: i8 = 9;

/// UTC microseconds of the local midnight that ends `as_of`: what a run knows of the IoT
/// events is what happened before it.
fn window_end(as_of: i32) -> i64 {
    local_midnight(as_of + 1)
}

/// A rule parameter as a SQL literal: days and counts `BIGINT`, shares and weights an exact
/// `DECIMAL(18, 9)`, draw factors `DOUBLE`.
pub fn scalar(value: ParamValue) -> ScalarValue {
    match value {
        ParamValue::Int(v) => ScalarValue::Int64(Some(v)),
        ParamValue::Decimal(d) => {
            let up = 10i128.pow(DECIMAL_SCALE as u32 - d.scale.min(DECIMAL_SCALE as u32));
            ScalarValue::Decimal128(
                Some(i128::from(d.mantissa) * up),
                DECIMAL_PRECISION,
                DECIMAL_SCALE,
            )
        }
        ParamValue::Float(v) => ScalarValue::Float64(Some(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::values::{parse_date, parse_timestamp};

    #[test]
    fn described_parameters_carry_their_type_and_text() {
        let p = Params::new(parse_date("2026-06-30").unwrap(), &RuleSet::defaults());
        let d = p.describe();
        assert_eq!(d["as_of"], ("Date32".into(), Some("2026-06-30".into())));
        assert_eq!(
            d["repeat_window_days"],
            ("Int64".into(), Some("365".into()))
        );
        assert_eq!(
            d["risk_top_level4"],
            ("Decimal128(18, 9)".into(), Some("0.050000000".into()))
        );
        assert_eq!(d["rules_version"].0, "Utf8");
        assert_eq!(d["model_version"], ("Utf8".into(), None));
    }

    #[test]
    fn the_iot_window_is_thirty_local_days() {
        let as_of = parse_date("2026-06-30").unwrap();
        let p = Params::new(as_of, &RuleSet::defaults());
        let start = parse_timestamp("2026-06-01T00:00:00+08:00").unwrap();
        let end = parse_timestamp("2026-07-01T00:00:00+08:00").unwrap();
        assert_eq!(
            p.get("iot_window_start_us"),
            Some(&ScalarValue::Int64(Some(start)))
        );
        assert_eq!(
            p.get("iot_window_end_us"),
            Some(&ScalarValue::Int64(Some(end)))
        );
        assert_eq!(p.get("as_of"), Some(&ScalarValue::Date32(Some(as_of))));
    }

    #[test]
    fn every_rule_parameter_is_bound_with_its_kind() {
        let rules = RuleSet::defaults();
        let p = Params::new(0, &rules);
        for (key, _) in crate::contract::rules::parameters::KEYS {
            assert!(p.get(key).is_some(), "{key}");
        }
        assert_eq!(p.get("credit_base"), Some(&ScalarValue::Int64(Some(1000))));
        assert_eq!(
            p.get("risk_top_level4"),
            Some(&ScalarValue::Decimal128(Some(50_000_000), 18, 9))
        );
        assert_eq!(
            p.get("plan_risk_factor_1"),
            Some(&ScalarValue::Float64(Some(0.75)))
        );
    }
}
