//! Validation of one row against the contract: typed values, or the first quarantine reason
//! that applies (in the contract's order) with a detail naming the field.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

use crate::values::{parse, Value};
use crate::{Check, Reason, Source};

/// A rejected row: its reason and a human-readable detail.
pub type Rejection = (Reason, String);

/// The codes a provider may send, as the rule tables in force define them.
pub trait CodeBook {
    /// A violation code from the rule table that the pipeline does not reserve for itself.
    fn is_provider_violation_code(&self, code: &str) -> bool;
    /// A bonus code from the rule table.
    fn is_bonus_code(&self, code: &str) -> bool;
}

/// `S`: the registry's hasher (ingest looks up every row's unit, so it picks a fast one).
pub struct Validator<'a, S = RandomState> {
    pub source: Source,
    pub codes: &'a dyn CodeBook,
    /// Unit ids of the registry as it stands after this ingest's units.
    pub units: &'a HashSet<String, S>,
}

impl<S: BuildHasher> Validator<'_, S> {
    /// Validates `fields` (text in contract order). A `defect` found by the reader competes with
    /// the field checks: the earlier reason in the contract's order wins.
    pub fn validate(
        &self,
        fields: &[Option<String>],
        defect: Option<Rejection>,
    ) -> Result<Vec<Value>, Rejection> {
        let mut worst: Option<Rejection> = defect;
        let mut note = |reason: Reason, detail: String| {
            if worst.as_ref().is_none_or(|(r, _)| reason < *r) {
                worst = Some((reason, detail));
            }
        };
        let contract = self.source.fields();
        let mut values = Vec::with_capacity(contract.len());
        for (field, text) in contract.iter().zip(fields) {
            let value = match parse(field.kind, text.as_deref().unwrap_or("")) {
                Ok(v) => v,
                Err(reason) => {
                    note(
                        reason,
                        format!("{}: `{}`", field.name, text.as_deref().unwrap_or("")),
                    );
                    values.push(Value::Null);
                    continue;
                }
            };
            let value = match value {
                Value::Null if field.null_is_false => Value::Bool(false),
                Value::Null if field.required => {
                    note(Reason::MissingField, format!("{} is required", field.name));
                    Value::Null
                }
                v => v,
            };
            match (&field.check, &value) {
                (Check::Range(lo, hi), Value::Float(x)) if x < lo || x > hi => note(
                    Reason::OutOfRange,
                    format!("{} = {x} not in {lo}..{hi}", field.name),
                ),
                (Check::Range(lo, hi), Value::Int(x)) if (*x as f64) < *lo || (*x as f64) > *hi => {
                    note(
                        Reason::OutOfRange,
                        format!("{} = {x} not in {lo}..{hi}", field.name),
                    )
                }
                (Check::DivisionCode, Value::Str(s))
                    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    note(
                        Reason::OutOfRange,
                        format!("{} = `{s}` is not a 6-digit code", field.name),
                    )
                }
                (Check::NonEmptyList, Value::List(items)) if items.is_empty() => note(
                    Reason::MissingField,
                    format!("{} needs at least one item", field.name),
                ),
                (Check::UnitRef, Value::Str(id)) if !self.units.contains(id) => note(
                    Reason::UnknownUnit,
                    format!("{} = `{id}` is not in the registry", field.name),
                ),
                _ => {}
            }
            values.push(value);
        }
        self.cross_field(&values, &mut note);
        match worst {
            Some(rejection) => Err(rejection),
            None => Ok(values),
        }
    }

    /// Rules that involve more than one field.
    fn cross_field(&self, v: &[Value], note: &mut impl FnMut(Reason, String)) {
        let s = self.source;
        let get = |name: &str| &v[s.field_index(name).expect("contract field")];
        match s {
            Source::Violations => {
                if let Value::Str(code) = get("code") {
                    if !self.codes.is_provider_violation_code(code) {
                        note(
                            Reason::UnknownCode,
                            format!("code `{code}` is not a provider violation code"),
                        );
                    }
                }
                if let Value::Date(found) = get("found_on") {
                    for name in ["rectify_due", "rectified_on"] {
                        if let Value::Date(d) = get(name) {
                            if d < found {
                                note(Reason::OutOfRange, format!("{name} is before found_on"));
                            }
                        }
                    }
                }
            }
            Source::CreditActions => match get("kind") {
                Value::Str(k) if k == "bonus" => match get("code") {
                    Value::Str(code) if !self.codes.is_bonus_code(code) => note(
                        Reason::UnknownCode,
                        format!("bonus code `{code}` is unknown"),
                    ),
                    Value::Null => note(Reason::MissingField, "a bonus needs its code".into()),
                    _ => {}
                },
                Value::Str(_) if matches!(get("ref_id"), Value::Null) => note(
                    Reason::MissingField,
                    "a repair or objection needs ref_id".into(),
                ),
                _ => {}
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes as the shipped rule tables have them: X01 is in the violation table but reserved
    /// for the pipeline.
    struct Codes;
    impl CodeBook for Codes {
        fn is_provider_violation_code(&self, code: &str) -> bool {
            ["V103", "V201"].contains(&code)
        }
        fn is_bonus_code(&self, code: &str) -> bool {
            code == "B01"
        }
    }

    fn check(source: Source, row: &[(&str, &str)], units: &[&str]) -> Result<Vec<Value>, Reason> {
        let units: HashSet<String> = units.iter().map(|u| u.to_string()).collect();
        let v = Validator {
            source,
            codes: &Codes,
            units: &units,
        };
        let fields: Vec<Option<String>> = source
            .fields()
            .iter()
            .map(|f| {
                row.iter()
                    .find(|(k, _)| *k == f.name)
                    .map(|(_, t)| t.to_string())
            })
            .collect();
        v.validate(&fields, None).map_err(|(r, _)| r)
    }

    const VIOLATION: &[(&str, &str)] = &[
        ("violation_id", "V1"),
        ("inspection_id", "I1"),
        ("unit_id", "U1"),
        ("code", "V103"),
        ("found_on", "2026-01-10"),
        ("rectify_due", "2026-01-20"),
    ];

    fn with(
        base: &[(&'static str, &'static str)],
        k: &'static str,
        v: &'static str,
    ) -> Vec<(&'static str, &'static str)> {
        let mut row: Vec<_> = base.iter().filter(|(n, _)| *n != k).cloned().collect();
        row.push((k, v));
        row
    }

    #[test]
    fn a_good_violation_is_typed() {
        let v = check(Source::Violations, VIOLATION, &["U1"]).unwrap();
        assert_eq!(v[3], Value::Str("V103".into()));
        assert!(matches!(v[4], Value::Date(_)));
        assert_eq!(v[6], Value::Null);
    }

    #[test]
    fn each_reason_is_found() {
        let u = &["U1"];
        assert_eq!(
            check(
                Source::Violations,
                &with(VIOLATION, "found_on", "2026-02-30"),
                u
            ),
            Err(Reason::ParseError)
        );
        assert_eq!(
            check(Source::Violations, &with(VIOLATION, "found_on", ""), u),
            Err(Reason::MissingField)
        );
        assert_eq!(
            check(Source::Violations, &with(VIOLATION, "code", "X01"), u),
            Err(Reason::UnknownCode)
        );
        assert_eq!(
            check(
                Source::Violations,
                &with(VIOLATION, "rectify_due", "2026-01-01"),
                u
            ),
            Err(Reason::OutOfRange)
        );
        assert_eq!(
            check(Source::Violations, VIOLATION, &["U2"]),
            Err(Reason::UnknownUnit)
        );
        assert_eq!(
            check(
                Source::Violations,
                &with(VIOLATION, "penalty_yuan", "-5"),
                u
            ),
            Err(Reason::OutOfRange)
        );
    }

    #[test]
    fn the_first_reason_in_contract_order_wins() {
        // Unknown code, unknown unit and a parse error at once: parse_error.
        let row = with(
            &with(VIOLATION, "code", "V999"),
            "rectified_on",
            "yesterday",
        );
        assert_eq!(
            check(Source::Violations, &row, &[]),
            Err(Reason::ParseError)
        );
        // A bad enum beats an unknown unit.
        let row = [
            ("inspection_id", "I1"),
            ("unit_id", "U9"),
            ("inspected_on", "2026-01-01"),
            ("kind", "surprise"),
            ("inspector_ids", "P1"),
        ];
        assert_eq!(check(Source::Inspections, &row, &[]), Err(Reason::BadEnum));
    }

    #[test]
    fn units_rules() {
        let unit = [
            ("unit_id", "U1"),
            ("name", "广州某酒店"),
            ("grid_id", "G1"),
            ("uscc", "914403001922038216"),
            ("district_code", "440106"),
            ("key_unit", ""),
            ("lat", "23.1"),
        ];
        let v = check(Source::Units, &unit, &[]).unwrap();
        assert_eq!(v[8], Value::Bool(false), "a null flag is false");
        assert_eq!(
            check(
                Source::Units,
                &with(&unit, "uscc", "914403001922038217"),
                &[]
            ),
            Err(Reason::BadUscc)
        );
        assert_eq!(
            check(Source::Units, &with(&unit, "lat", "60"), &[]),
            Err(Reason::OutOfRange)
        );
        assert_eq!(
            check(Source::Units, &with(&unit, "district_code", "4401"), &[]),
            Err(Reason::OutOfRange)
        );
        assert_eq!(
            check(Source::Units, &with(&unit, "key_unit", "maybe"), &[]),
            Err(Reason::BadEnum)
        );
        assert_eq!(
            check(Source::Units, &with(&unit, "build_year", "1899"), &[]),
            Err(Reason::OutOfRange)
        );
    }

    #[test]
    fn credit_action_rules() {
        let bonus = [
            ("action_id", "A1"),
            ("unit_id", "U1"),
            ("kind", "bonus"),
            ("code", "B01"),
            ("effective_on", "2026-01-01"),
        ];
        assert!(check(Source::CreditActions, &bonus, &["U1"]).is_ok());
        assert_eq!(
            check(Source::CreditActions, &with(&bonus, "code", "B99"), &["U1"]),
            Err(Reason::UnknownCode)
        );
        assert_eq!(
            check(Source::CreditActions, &with(&bonus, "code", ""), &["U1"]),
            Err(Reason::MissingField)
        );
        let repair = with(&bonus, "kind", "repair");
        assert_eq!(
            check(Source::CreditActions, &repair, &["U1"]),
            Err(Reason::MissingField)
        );
        assert!(check(
            Source::CreditActions,
            &with(&repair, "ref_id", "V1"),
            &["U1"]
        )
        .is_ok());
    }

    #[test]
    fn null_unit_ids_are_allowed_where_the_contract_allows_them() {
        let c = [
            ("complaint_id", "C1"),
            ("grid_id", "G1"),
            ("received_at", "2026-01-01T10:00:00"),
        ];
        assert!(check(Source::Complaints, &c, &[]).is_ok());
        assert_eq!(
            check(Source::Complaints, &with(&c, "unit_id", "U7"), &[]),
            Err(Reason::UnknownUnit)
        );
    }
}
