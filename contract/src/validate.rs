//! Validation of one row against the contract: typed values, or the first quarantine reason
//! that applies (in the contract's order) with a detail naming the field.

use std::cell::RefCell;
use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

use crate::values::{parse_into, Value};
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
    /// The unit the last lookup found in `units`.
    last_unit: RefCell<String>,
}

impl<'a, S: BuildHasher> Validator<'a, S> {
    pub fn new(source: Source, codes: &'a dyn CodeBook, units: &'a HashSet<String, S>) -> Self {
        Validator {
            source,
            codes,
            units,
            last_unit: RefCell::default(),
        }
    }

    /// Whether `id` is in the registry. A provider's file usually lists one unit's rows (or one
    /// device's) together, so the unit found last is compared first: a lookup in a registry of
    /// a million units misses the CPU's caches.
    fn knows_unit(&self, id: &str) -> bool {
        let mut last = self.last_unit.borrow_mut();
        if *last == id {
            return true;
        }
        let known = self.units.contains(id);
        if known {
            last.clear();
            last.push_str(id);
        }
        known
    }

    /// Validates `fields` (text in contract order). A `defect` found by the reader competes with
    /// the field checks: the earlier reason in the contract's order wins.
    pub fn validate(
        &self,
        fields: &[Option<String>],
        defect: Option<Rejection>,
    ) -> Result<Vec<Value>, Rejection> {
        let mut values = Vec::new();
        self.validate_into(fields, defect, &mut values)?;
        Ok(values)
    }

    /// [`Validator::validate`] into `values`, reusing the strings it holds from the row before:
    /// ingest validates every row of a file into one buffer. On `Err`, `values` is unspecified.
    pub fn validate_into(
        &self,
        fields: &[Option<String>],
        defect: Option<Rejection>,
        values: &mut Vec<Value>,
    ) -> Result<(), Rejection> {
        let mut worst: Option<Rejection> = defect;
        let mut note = |reason: Reason, detail: String| {
            if worst.as_ref().is_none_or(|(r, _)| reason < *r) {
                worst = Some((reason, detail));
            }
        };
        let contract = self.source.fields();
        values.resize(contract.len(), Value::Null);
        for (i, (field, value)) in contract.iter().zip(values.iter_mut()).enumerate() {
            // A field the reader did not give is absent, as an empty cell is.
            let text = fields.get(i).and_then(Option::as_deref).unwrap_or("");
            if let Err(reason) = parse_into(field.kind, text, value) {
                note(reason, format!("{}: `{text}`", field.name));
                *value = Value::Null;
                continue;
            }
            match value {
                Value::Null if field.null_is_false => *value = Value::Bool(false),
                Value::Null if field.required => {
                    note(Reason::MissingField, format!("{} is required", field.name))
                }
                _ => {}
            }
            match (&field.check, &*value) {
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
                (Check::UnitRef, Value::Str(id)) if !self.knows_unit(id) => note(
                    Reason::UnknownUnit,
                    format!("{} = `{id}` is not in the registry", field.name),
                ),
                _ => {}
            }
        }
        self.cross_field(values, &mut note);
        match worst {
            Some(rejection) => Err(rejection),
            None => Ok(()),
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

    /// The row's text in contract order.
    fn fields_of(source: Source, row: &[(&str, &str)]) -> Vec<Option<String>> {
        source
            .fields()
            .iter()
            .map(|f| {
                row.iter()
                    .find(|(k, _)| *k == f.name)
                    .map(|(_, t)| t.to_string())
            })
            .collect()
    }

    fn check(source: Source, row: &[(&str, &str)], units: &[&str]) -> Result<Vec<Value>, Reason> {
        let units: HashSet<String> = units.iter().map(|u| u.to_string()).collect();
        let v = Validator::new(source, &Codes, &units);
        v.validate(&fields_of(source, row), None)
            .map_err(|(r, _)| r)
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
    fn one_validator_checks_every_row_against_the_registry() {
        let units: HashSet<String> = ["U1".to_string()].into();
        let v = Validator::new(Source::Violations, &Codes, &units);
        let fields =
            |unit: &'static str| fields_of(Source::Violations, &with(VIOLATION, "unit_id", unit));
        let mut values = Vec::new();
        for (unit, known) in [("U1", true), ("U1", true), ("U2", false), ("U1", true)] {
            let result = v.validate_into(&fields(unit), None, &mut values);
            assert_eq!(result.is_ok(), known, "{unit}");
            if known {
                assert_eq!(values[2], Value::Str(unit.into()));
                assert_eq!(values[3], Value::Str("V103".into()));
            }
        }
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
