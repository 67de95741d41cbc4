//! `parameters.csv`: every scalar of scoring.md and supervision.md, one row per key. The keys,
//! their kinds and ranges are declared once below; a table with an unknown, missing or repeated
//! key, or a value of the wrong kind or out of range, is rejected naming its row and column.

use std::collections::HashMap;

use super::table::{Decimal, Row, Table};
use super::RuleError;

/// How a parameter reaches SQL.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamValue {
    /// Days, points, counts: `BIGINT`.
    Int(i64),
    /// Shares, weights and rates, kept exact: `DECIMAL`.
    Decimal(Decimal),
    /// Draw weight factors, multiplied in floating point as scoring.md §5 does: `DOUBLE`.
    Float(f64),
}

/// One kind of parameter: how its text is read and checked.
trait Kind: Sized {
    fn read(row: &Row<'_>, min: i64, max: i64) -> Result<Self, RuleError>;
    fn value(&self) -> ParamValue;
    /// The value as written (normalised: no surrounding space).
    fn text(&self) -> String;
}

/// A whole number.
impl Kind for i64 {
    fn read(row: &Row<'_>, min: i64, max: i64) -> Result<Self, RuleError> {
        row.int("value", min, max)
    }

    fn value(&self) -> ParamValue {
        ParamValue::Int(*self)
    }

    fn text(&self) -> String {
        self.to_string()
    }
}

/// An exact decimal in `min..=max`.
impl Kind for Decimal {
    fn read(row: &Row<'_>, min: i64, max: i64) -> Result<Self, RuleError> {
        let d = row.decimal("value")?;
        if d < Decimal::from_int(min) || d > Decimal::from_int(max) {
            return Err(row.error("value", format!("{d} is outside {min}..={max}")));
        }
        Ok(d)
    }

    fn value(&self) -> ParamValue {
        ParamValue::Decimal(*self)
    }

    fn text(&self) -> String {
        self.to_string()
    }
}

/// A positive factor (a draw weight must be above zero: its key divides by it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Factor {
    pub text: Decimal,
    pub value: f64,
}

impl Kind for Factor {
    fn read(row: &Row<'_>, min: i64, max: i64) -> Result<Self, RuleError> {
        let d = <Decimal as Kind>::read(row, min, max)?;
        if d <= Decimal::from_int(0) {
            return Err(row.error("value", format!("{d} must be above 0")));
        }
        Ok(Factor {
            text: d,
            value: d.to_f64(),
        })
    }

    fn value(&self) -> ParamValue {
        ParamValue::Float(self.value)
    }

    fn text(&self) -> String {
        self.text.to_string()
    }
}

macro_rules! parameters {
    ($( $section:literal $key:ident: $ty:ty = $min:literal ..= $max:literal; )*) => {
        /// The scalars of the rules, typed. Field names are `parameters.csv`'s keys and the
        /// names of the SQL parameters (`$credit_base`, …).
        #[derive(Debug, Clone, PartialEq)]
        pub struct Parameters {
            $( pub $key: $ty, )*
        }

        /// Every key with the section of the spec it belongs to, in the spec's order.
        pub const KEYS: &[(&str, u8)] = &[$( (stringify!($key), $section) ),*];

        impl Parameters {
            fn from_rows(rows: &HashMap<&str, Row<'_>>) -> Result<Self, RuleError> {
                Ok(Parameters {
                    $( $key: <$ty as Kind>::read(&rows[stringify!($key)], $min, $max)?, )*
                })
            }

            /// Every parameter as its SQL value, in the spec's order.
            pub fn values(&self) -> Vec<(&'static str, ParamValue)> {
                vec![$( (stringify!($key), Kind::value(&self.$key)) ),*]
            }

            /// Every parameter as written, in the spec's order.
            pub fn texts(&self) -> Vec<(&'static str, String)> {
                vec![$( (stringify!($key), Kind::text(&self.$key)) ),*]
            }
        }
    };
}

parameters! {
    1 credit_base: i64 = 0..=1_000_000;
    1 credit_max: i64 = 0..=1_000_000;
    1 bonus_cap: i64 = 0..=1_000_000;
    1 repeat_window_days: i64 = 1..=36_500;
    1 grade_a_min: i64 = 0..=1_000_000;
    1 grade_b_min: i64 = 0..=1_000_000;
    1 grade_c_min: i64 = 0..=1_000_000;
    1 reasons_count: i64 = 0..=100;
    2 hazard_finding_days: i64 = 1..=36_500;
    2 iot_window_days: i64 = 1..=3_650;
    2 iot_down_hours: i64 = 0..=87_600;
    2 major_hazard_crowded: i64 = 1..=1_000;
    2 major_hazard_key: i64 = 1..=1_000;
    2 major_hazard_other: i64 = 1..=1_000;
    3 risk_top_level4: Decimal = 0..=1;
    3 risk_top_level3: Decimal = 0..=1;
    3 risk_top_level2: Decimal = 0..=1;
    4 area_weight_probability: Decimal = 0..=1;
    4 area_weight_fires: Decimal = 0..=1;
    4 area_weight_hazards: Decimal = 0..=1;
    4 area_weight_complaints: Decimal = 0..=1;
    4 area_weight_grades: Decimal = 0..=1;
    4 area_fire_days: i64 = 1..=36_500;
    4 area_complaint_days: i64 = 1..=36_500;
    4 area_smoothing_units: i64 = 0..=1_000_000;
    4 area_level_i: Decimal = 0..=100;
    4 area_level_ii: Decimal = 0..=100;
    4 area_level_iii: Decimal = 0..=100;
    5 plan_months: i64 = 1..=12;
    5 plan_rate_s1: Decimal = 0..=12;
    5 plan_rate_s2: Decimal = 0..=12;
    5 plan_rate_s3: Decimal = 0..=12;
    5 plan_recent_days: i64 = 0..=36_500;
    5 plan_year_days: i64 = 1..=36_500;
    5 plan_year_max: i64 = 1..=1_000;
    5 plan_grade_factor_a: Factor = 0..=1_000;
    5 plan_grade_factor_b: Factor = 0..=1_000;
    5 plan_grade_factor_c: Factor = 0..=1_000;
    5 plan_grade_factor_d: Factor = 0..=1_000;
    5 plan_risk_factor_1: Factor = 0..=1_000;
    5 plan_risk_factor_2: Factor = 0..=1_000;
    5 plan_risk_factor_3: Factor = 0..=1_000;
    5 plan_risk_factor_4: Factor = 0..=1_000;
    5 plan_inspectors_per_unit: i64 = 1..=9;
    6 hazard_deadline_days: i64 = 0..=36_500;
    6 area_deadline_days: i64 = 0..=36_500;
    7 alert_lookback_days: i64 = 1..=36_500;
    7 followup_days: i64 = 0..=36_500;
    7 rotation_run: i64 = 2..=1_000;
    7 complaint_check_days: i64 = 0..=36_500;
    8 objection_days: i64 = 0..=36_500;
    8 repair_days: i64 = 0..=36_500;
}

impl Parameters {
    /// Reads and checks `parameters.csv` (columns `key,value,section,meaning`).
    pub fn parse(name: &str, text: &str) -> Result<Parameters, RuleError> {
        let table = Table::parse(name, text, &["key", "value", "section", "meaning"])?;
        let mut rows: HashMap<&str, Row<'_>> = HashMap::new();
        for row in table.rows() {
            let key = row.required("key")?;
            if !KEYS.iter().any(|(k, _)| *k == key) {
                return Err(row.error("key", format!("unknown parameter `{key}`")));
            }
            if let Some(first) = rows.insert(key, row) {
                return Err(row.error(
                    "key",
                    format!("`{key}` given twice (first in row {})", first.number),
                ));
            }
        }
        if let Some((missing, _)) = KEYS.iter().find(|(k, _)| !rows.contains_key(k)) {
            return Err(table.error(format!("parameter `{missing}` is missing")));
        }
        let p = Parameters::from_rows(&rows)?;
        p.check_order(&rows)?;
        Ok(p)
    }

    /// The orders between keys that the spec's rules assume.
    fn check_order(&self, rows: &HashMap<&str, Row<'_>>) -> Result<(), RuleError> {
        let fail = |key: &str, message: &str| Err(rows[key].error("value", message));
        if self.credit_max < self.credit_base {
            return fail("credit_max", "must be at least credit_base");
        }
        if !(self.grade_a_min > self.grade_b_min && self.grade_b_min > self.grade_c_min) {
            return fail("grade_c_min", "grade minimums must fall: A > B > C");
        }
        if self.grade_a_min > self.credit_max {
            return fail("grade_a_min", "must be at most credit_max");
        }
        if !(self.risk_top_level4 <= self.risk_top_level3
            && self.risk_top_level3 <= self.risk_top_level2)
        {
            return fail(
                "risk_top_level2",
                "shares must grow: level4 ≤ level3 ≤ level2",
            );
        }
        let weights = self.area_weight_probability
            + self.area_weight_fires
            + self.area_weight_hazards
            + self.area_weight_complaints
            + self.area_weight_grades;
        if weights != Decimal::from_int(1) {
            return fail(
                "area_weight_grades",
                &format!("the five area weights must sum to 1 (they sum to {weights})"),
            );
        }
        if !(self.area_level_i > self.area_level_ii && self.area_level_ii > self.area_level_iii) {
            return fail("area_level_iii", "level minimums must fall: I > II > III");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: &str = include_str!("../../../sql/rules/parameters.csv");

    fn with(key: &str, value: &str) -> String {
        DEFAULTS
            .lines()
            .map(|l| match l.split_once(',') {
                Some((k, rest)) if k == key => {
                    let rest = rest.split_once(',').map_or("", |r| r.1);
                    format!("{k},{value},{rest}")
                }
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_defaults_parse_with_every_key() {
        let p = Parameters::parse("parameters.csv", DEFAULTS).unwrap();
        assert_eq!(
            (p.credit_base, p.credit_max, p.bonus_cap),
            (1000, 1100, 100)
        );
        assert_eq!(p.risk_top_level4, Decimal::parse("0.05").unwrap());
        assert_eq!(p.plan_risk_factor_1.value, 0.75);
        assert_eq!(p.values().len(), KEYS.len());
        assert_eq!(DEFAULTS.lines().count() - 1, KEYS.len());
    }

    #[test]
    fn bad_tables_name_row_and_column() {
        let err = |text: &str| Parameters::parse("parameters.csv", text).unwrap_err();
        let e = err(&with("grade_b_min", "eight"));
        assert_eq!((e.row, e.column.as_deref()), (Some(6), Some("value")));
        let e = err(&format!("{DEFAULTS}credit_base,900,1,again\n"));
        assert!(e.message.contains("twice"), "{e}");
        let e = err(&format!("{DEFAULTS}colour,red,1,?\n"));
        assert!(e.message.contains("unknown parameter"), "{e}");
        let e = err(&DEFAULTS.replace("bonus_cap,100,1,cap on the sum of active bonuses\n", ""));
        assert!(e.message.contains("bonus_cap"), "{e}");
        let e = err(&with("area_weight_fires", "0.35"));
        assert!(e.message.contains("sum to 1.10"), "{e}");
        let e = err(&with("plan_grade_factor_a", "0"));
        assert!(e.message.contains("above 0"), "{e}");
        let e = err(&with("risk_top_level4", "1.5"));
        assert_eq!(e.column.as_deref(), Some("value"));
        let e = err(&with("grade_a_min", "800"));
        assert!(e.message.contains("A > B > C"), "{e}");
    }
}
