//! The data contract in code: the eight input sources, their fields and the rules each field
//! must satisfy (`shared/spec/data-contract.md`), and everything that turns an inbox file's
//! bytes into typed, validated rows. Ingest validates against these tables and the lake schemas
//! are derived from them, so a field is described in exactly one place.
//!
//! # Layout
//! - `lib.rs`: the sources, their fields and the quarantine reasons.
//! - [`values`]: one cell's text to a typed value (numbers, dates, timestamps, flags, lists).
//! - [`uscc`]: the unified social credit code's check character.
//! - [`records`]: CSV and NDJSON files to rows of cell text, encodings detected, rows over the
//!   [`records::Limits`] quarantined `too_large` without ever being held whole.
//! - `parquet` (cargo feature `parquet`): Parquet files to rows of cell text, same limits.
//! - [`validate`]: one row to typed values or the first quarantine reason.
//! - [`rules`]: the rule tables (`rules/*.csv`) every number of the scoring comes from, checked
//!   before anything runs.
//! - [`probes`]: the invariants the fuzz targets (`contract/fuzz`) check, shared with the
//!   corpus-replay test so CI re-checks every committed input on stable Rust.
//!
//! This crate has no DataFusion dependency on purpose: the fuzz targets build it with
//! sanitizer instrumentation in seconds (with `parquet`, in minutes), not the half hour a
//! DataFusion build takes.

#[cfg(feature = "parquet")]
pub mod parquet;
pub mod probes;
pub mod records;
pub mod rules;
pub mod uscc;
pub mod validate;
pub mod values;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Enum values (trimmed, compared case-insensitively, stored lower-case).
pub const USE_TYPES: &[&str] = &[
    "retail",
    "hotel",
    "restaurant",
    "entertainment",
    "hospital",
    "elderly_care",
    "school",
    "factory",
    "warehouse",
    "office",
    "residential_mixed",
    "hazmat",
    "other",
];
pub const UNIT_STATUS: &[&str] = &["open", "closed"];
pub const INSPECTION_KINDS: &[&str] = &[
    "random",
    "complaint",
    "key",
    "follow_up",
    "pre_opening",
    "campaign",
];
pub const OUTCOMES: &[&str] = &["pass", "fail", "no_access"];
pub const CHANNELS: &[&str] = &["96119", "app", "wechat", "hotline", "other"];
pub const INCIDENT_KINDS: &[&str] = &["fire", "false_alarm", "other"];
pub const SYSTEMS: &[&str] = &[
    "auto_alarm",
    "sprinkler",
    "hydrant",
    "electrical",
    "smoke_exhaust",
];
pub const IOT_EVENTS: &[&str] = &[
    "alarm",
    "ack",
    "offline",
    "online",
    "fault",
    "restore",
    "shield",
    "unshield",
    "pressure_low",
];
/// `objection_upheld` and `repair` are the favourable decisions of scoring.md §1; the filings
/// and rejections are the cases of supervision.md §8.
pub const ACTION_KINDS: &[&str] = &[
    "bonus",
    "repair",
    "objection_upheld",
    "objection_filed",
    "objection_rejected",
    "repair_requested",
    "repair_rejected",
];

/// One input source of the contract. The folder name in an inbox is [`Source::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Units,
    Inspections,
    Violations,
    Complaints,
    Incidents,
    IotEvents,
    CreditActions,
    Inspectors,
}

/// How a field's text is parsed and stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Str,
    Float,
    Int,
    Bool,
    Date,
    Timestamp,
    Enum(&'static [&'static str]),
    List,
    Uscc,
}

/// Extra per-field rule checked after parsing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Check {
    None,
    /// Inclusive numeric range; violations are `out_of_range`.
    Range(f64, f64),
    /// Exactly six ASCII digits (administrative division code).
    DivisionCode,
    /// Must name an existing unit (`unknown_unit` otherwise).
    UnitRef,
    /// List must hold at least one item (`missing_field` otherwise).
    NonEmptyList,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub check: Check,
    /// A null flag means false (`key_unit`, `crowded_place`, `active`, …).
    pub null_is_false: bool,
    /// Personal data: never published.
    pub personal: bool,
}

const fn f(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
        check: Check::None,
        null_is_false: false,
        personal: false,
    }
}
const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        required: true,
        ..f(name, kind)
    }
}
const fn chk(field: Field, check: Check) -> Field {
    Field { check, ..field }
}
const fn flag(name: &'static str) -> Field {
    Field {
        null_is_false: true,
        ..f(name, Kind::Bool)
    }
}
const fn personal(field: Field) -> Field {
    Field {
        personal: true,
        ..field
    }
}

const NON_NEG: Check = Check::Range(0.0, f64::INFINITY);

static UNITS: &[Field] = &[
    req("unit_id", Kind::Str),
    f("uscc", Kind::Uscc),
    req("name", Kind::Str),
    chk(f("district_code", Kind::Str), Check::DivisionCode),
    req("grid_id", Kind::Str),
    chk(f("lon", Kind::Float), Check::Range(73.0, 136.0)),
    chk(f("lat", Kind::Float), Check::Range(3.0, 54.0)),
    f("use_type", Kind::Enum(USE_TYPES)),
    flag("key_unit"),
    flag("crowded_place"),
    chk(f("floor_area_m2", Kind::Float), NON_NEG),
    chk(f("floors_above", Kind::Int), NON_NEG),
    chk(f("floors_below", Kind::Int), NON_NEG),
    chk(f("height_m", Kind::Float), NON_NEG),
    chk(f("build_year", Kind::Int), Check::Range(1900.0, 2100.0)),
    chk(f("capacity", Kind::Int), NON_NEG),
    flag("has_sprinkler"),
    flag("has_auto_alarm"),
    chk(f("investment_wan", Kind::Float), NON_NEG),
    f("opened_on", Kind::Date),
    f("status", Kind::Enum(UNIT_STATUS)),
    f("updated_at", Kind::Timestamp),
];

static INSPECTIONS: &[Field] = &[
    req("inspection_id", Kind::Str),
    chk(req("unit_id", Kind::Str), Check::UnitRef),
    req("inspected_on", Kind::Date),
    f("kind", Kind::Enum(INSPECTION_KINDS)),
    chk(req("inspector_ids", Kind::List), Check::NonEmptyList),
    f("outcome", Kind::Enum(OUTCOMES)),
];

static VIOLATIONS: &[Field] = &[
    req("violation_id", Kind::Str),
    req("inspection_id", Kind::Str),
    chk(req("unit_id", Kind::Str), Check::UnitRef),
    req("code", Kind::Str),
    req("found_on", Kind::Date),
    f("rectify_due", Kind::Date),
    f("rectified_on", Kind::Date),
    chk(f("penalty_yuan", Kind::Float), NON_NEG),
];

static COMPLAINTS: &[Field] = &[
    req("complaint_id", Kind::Str),
    chk(f("unit_id", Kind::Str), Check::UnitRef),
    req("grid_id", Kind::Str),
    req("received_at", Kind::Timestamp),
    f("channel", Kind::Enum(CHANNELS)),
    personal(f("category", Kind::Str)),
    f("verified", Kind::Bool),
    personal(f("reporter_phone", Kind::Str)),
];

static INCIDENTS: &[Field] = &[
    req("incident_id", Kind::Str),
    chk(f("unit_id", Kind::Str), Check::UnitRef),
    req("grid_id", Kind::Str),
    req("occurred_at", Kind::Timestamp),
    f("kind", Kind::Enum(INCIDENT_KINDS)),
    chk(f("deaths", Kind::Int), NON_NEG),
    chk(f("injuries", Kind::Int), NON_NEG),
    chk(f("direct_loss_yuan", Kind::Float), NON_NEG),
    flag("unit_responsible"),
];

static IOT_EVENTS_FIELDS: &[Field] = &[
    req("device_id", Kind::Str),
    chk(req("unit_id", Kind::Str), Check::UnitRef),
    req("ts", Kind::Timestamp),
    f("system", Kind::Enum(SYSTEMS)),
    f("event", Kind::Enum(IOT_EVENTS)),
    f("value", Kind::Float),
];

static CREDIT_ACTIONS: &[Field] = &[
    req("action_id", Kind::Str),
    chk(req("unit_id", Kind::Str), Check::UnitRef),
    req("kind", Kind::Enum(ACTION_KINDS)),
    f("code", Kind::Str),
    f("ref_id", Kind::Str),
    req("effective_on", Kind::Date),
];

static INSPECTORS: &[Field] = &[
    req("inspector_id", Kind::Str),
    personal(f("name", Kind::Str)),
    chk(f("district_code", Kind::Str), Check::DivisionCode),
    flag("active"),
    f("conflict_unit_ids", Kind::List),
];

impl Source {
    /// Units first: every other source checks its `unit_id` against the registry.
    pub const ALL: [Source; 8] = [
        Source::Units,
        Source::Inspections,
        Source::Violations,
        Source::Complaints,
        Source::Incidents,
        Source::IotEvents,
        Source::CreditActions,
        Source::Inspectors,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Source::Units => "units",
            Source::Inspections => "inspections",
            Source::Violations => "violations",
            Source::Complaints => "complaints",
            Source::Incidents => "incidents",
            Source::IotEvents => "iot_events",
            Source::CreditActions => "credit_actions",
            Source::Inspectors => "inspectors",
        }
    }

    pub fn fields(self) -> &'static [Field] {
        match self {
            Source::Units => UNITS,
            Source::Inspections => INSPECTIONS,
            Source::Violations => VIOLATIONS,
            Source::Complaints => COMPLAINTS,
            Source::Incidents => INCIDENTS,
            Source::IotEvents => IOT_EVENTS_FIELDS,
            Source::CreditActions => CREDIT_ACTIONS,
            Source::Inspectors => INSPECTORS,
        }
    }

    /// The stable record id; `None` for `iot_events`, whose whole row is its identity.
    pub fn id_field(self) -> Option<usize> {
        match self {
            Source::IotEvents => None,
            _ => Some(0),
        }
    }

    /// Index of the field that orders versions of one id, where the source has one.
    pub fn updated_at_field(self) -> Option<usize> {
        self.field_index("updated_at")
    }

    pub fn field_index(self, name: &str) -> Option<usize> {
        self.fields().iter().position(|f| f.name == name)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|src| src.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown source `{s}` (expected one of: {})",
                    Source::ALL.map(|s| s.name()).join(", ")
                )
            })
    }
}

/// Why a row went to the quarantine. The order of the variants is the contract's order: a row
/// gets the first reason that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    TooLarge,
    BadEncoding,
    ParseError,
    MissingField,
    BadEnum,
    BadUscc,
    OutOfRange,
    UnknownCode,
    UnknownUnit,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Reason::TooLarge,
        Reason::BadEncoding,
        Reason::ParseError,
        Reason::MissingField,
        Reason::BadEnum,
        Reason::BadUscc,
        Reason::OutOfRange,
        Reason::UnknownCode,
        Reason::UnknownUnit,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Reason::TooLarge => "too_large",
            Reason::BadEncoding => "bad_encoding",
            Reason::ParseError => "parse_error",
            Reason::MissingField => "missing_field",
            Reason::BadEnum => "bad_enum",
            Reason::BadUscc => "bad_uscc",
            Reason::OutOfRange => "out_of_range",
            Reason::UnknownCode => "unknown_code",
            Reason::UnknownUnit => "unknown_unit",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_values_are_stored_lower_case() {
        // `values::parse` matches ASCII text against them case-insensitively and stores them.
        for s in Source::ALL {
            for f in s.fields() {
                if let Kind::Enum(allowed) = f.kind {
                    for a in allowed {
                        assert_eq!(*a, a.to_lowercase(), "{}.{}", s.name(), f.name);
                    }
                }
            }
        }
    }

    #[test]
    fn every_source_round_trips_its_name_and_has_an_id_first() {
        for s in Source::ALL {
            assert_eq!(s.name().parse::<Source>().unwrap(), s);
        }
        assert_eq!(Source::Units.updated_at_field(), Some(21));
        assert_eq!(Source::Violations.updated_at_field(), None);
        assert_eq!(Source::IotEvents.id_field(), None);
        assert!("fires".parse::<Source>().is_err());
    }

    #[test]
    fn reasons_are_ordered_as_the_contract_lists_them() {
        let mut sorted = Reason::ALL;
        sorted.sort();
        assert_eq!(sorted, Reason::ALL);
        assert!(Reason::BadEncoding < Reason::UnknownUnit);
    }
}
