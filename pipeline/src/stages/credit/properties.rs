//! Property tests of the credit SQL (`credit_ledger.sql`, `credit_points.sql`) on small random
//! histories: points stay within [0, 1100], and voiding an event, adding a bonus or adding a
//! repair never lowers any unit's points. Each case runs the real SQL on DataFusion over lake
//! tables built by the ingest's own builder, before and after the change.

use std::collections::BTreeMap;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use proptest::prelude::*;

use crate::contract::rules::RuleSet;
use crate::contract::validate::CodeBook;
use crate::contract::values::{parse_date, Value};
use crate::contract::Source;
use crate::testing::{collect, runtime, stage_context, Row};

const AS_OF: &str = "2026-06-30";
const UNITS: usize = 4;

fn as_of() -> i32 {
    parse_date(AS_OF).expect("date")
}

#[derive(Debug, Clone)]
struct Violation {
    unit: usize,
    code: usize,
    /// Days before `as_of`; negative is after it (not yet known).
    found: i32,
    due_after: Option<i32>,
    rectified_after: Option<i32>,
}

#[derive(Debug, Clone)]
struct Fire {
    unit: usize,
    is_fire: bool,
    deaths: i64,
    injuries: i64,
    responsible: bool,
    days_before: i32,
    hour: i64,
}

/// A credit action; `target` picks a violation or fire (modulo their count). The property
/// adds one of these to a history: each may only help the unit it touches.
#[derive(Debug, Clone)]
enum Action {
    Bonus {
        unit: usize,
        code: usize,
        days_before: i32,
    },
    Repair {
        target: usize,
        days_before: i32,
    },
    Objection {
        target: usize,
        days_before: i32,
    },
}

#[derive(Debug, Clone)]
struct History {
    violations: Vec<Violation>,
    fires: Vec<Fire>,
    actions: Vec<Action>,
}

fn violation() -> impl Strategy<Value = Violation> {
    (
        0..UNITS,
        0..64usize,
        -20..900i32,
        proptest::option::of(0..120i32),
        proptest::option::of(0..150i32),
    )
        .prop_map(
            |(unit, code, found, due_after, rectified_after)| Violation {
                unit,
                code,
                found,
                due_after,
                rectified_after,
            },
        )
}

fn fire() -> impl Strategy<Value = Fire> {
    (
        0..UNITS,
        any::<bool>(),
        0..3i64,
        0..3i64,
        any::<bool>(),
        -5..900i32,
        0..24i64,
    )
        .prop_map(
            |(unit, is_fire, deaths, injuries, responsible, days_before, hour)| Fire {
                unit,
                is_fire,
                deaths,
                injuries,
                responsible,
                days_before,
                hour,
            },
        )
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (0..UNITS, 0..64usize, -20..900i32).prop_map(|(unit, code, days_before)| {
            Action::Bonus {
                unit,
                code,
                days_before,
            }
        }),
        (any::<usize>(), -20..900i32).prop_map(|(target, days_before)| Action::Repair {
            target,
            days_before
        }),
        (any::<usize>(), -20..900i32).prop_map(|(target, days_before)| Action::Objection {
            target,
            days_before
        }),
    ]
}

fn history() -> impl Strategy<Value = History> {
    (
        proptest::collection::vec(violation(), 0..14),
        proptest::collection::vec(fire(), 0..4),
        proptest::collection::vec(action(), 0..8),
    )
        .prop_map(|(violations, fires, actions)| History {
            violations,
            fires,
            actions,
        })
}

/// The codes a provider may send, from the shipped rules.
fn codes(rules: &RuleSet) -> (Vec<String>, Vec<String>) {
    let violations = rules
        .violations
        .iter()
        .map(|v| v.code.clone())
        .filter(|c| rules.is_provider_violation_code(c))
        .collect();
    let bonuses = rules.bonuses.iter().map(|b| b.code.clone()).collect();
    (violations, bonuses)
}

impl History {
    /// `(event id, unit)` of every violation and fire, in order.
    fn events(&self) -> Vec<(String, usize)> {
        let v = self
            .violations
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("V{i}"), v.unit));
        let f = self
            .fires
            .iter()
            .enumerate()
            .map(|(i, f)| (format!("F{i}"), f.unit));
        v.chain(f).collect()
    }

    fn tables(&self, rules: &RuleSet) -> Vec<(Source, Vec<Row>)> {
        let day = as_of();
        let (violation_codes, bonus_codes) = codes(rules);
        let unit = |u: usize| Value::Str(format!("U{u}"));
        let units = (0..UNITS)
            .map(|u| {
                vec![
                    ("unit_id", unit(u)),
                    ("name", Value::Str(format!("单位{u}"))),
                    ("grid_id", Value::Str("G1".into())),
                ]
            })
            .collect();
        let violations = self
            .violations
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let found = day - v.found;
                vec![
                    ("violation_id", Value::Str(format!("V{i}"))),
                    ("inspection_id", Value::Str(format!("I{i}"))),
                    ("unit_id", unit(v.unit)),
                    (
                        "code",
                        Value::Str(violation_codes[v.code % violation_codes.len()].clone()),
                    ),
                    ("found_on", Value::Date(found)),
                    (
                        "rectify_due",
                        v.due_after.map_or(Value::Null, |d| Value::Date(found + d)),
                    ),
                    (
                        "rectified_on",
                        v.rectified_after
                            .map_or(Value::Null, |d| Value::Date(found + d)),
                    ),
                ]
            })
            .collect();
        let incidents = self
            .fires
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let local = i64::from(day - f.days_before) * 86_400 + f.hour * 3600;
                let utc_micros =
                    (local - crate::contract::values::LOCAL_OFFSET_SECONDS) * 1_000_000;
                vec![
                    ("incident_id", Value::Str(format!("F{i}"))),
                    ("unit_id", unit(f.unit)),
                    ("grid_id", Value::Str("G1".into())),
                    ("occurred_at", Value::Timestamp(utc_micros)),
                    (
                        "kind",
                        Value::Str(if f.is_fire { "fire" } else { "false_alarm" }.into()),
                    ),
                    ("deaths", Value::Int(f.deaths)),
                    ("injuries", Value::Int(f.injuries)),
                    ("unit_responsible", Value::Bool(f.responsible)),
                ]
            })
            .collect();
        let events = self.events();
        let actions = self
            .actions
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let id = Value::Str(format!("A{i}"));
                let row = match a {
                    Action::Bonus {
                        unit: u,
                        code,
                        days_before,
                    } => vec![
                        ("action_id", id),
                        ("unit_id", unit(*u)),
                        ("kind", Value::Str("bonus".into())),
                        (
                            "code",
                            Value::Str(bonus_codes[code % bonus_codes.len()].clone()),
                        ),
                        ("effective_on", Value::Date(day - days_before)),
                    ],
                    Action::Repair {
                        target,
                        days_before,
                    }
                    | Action::Objection {
                        target,
                        days_before,
                    } => {
                        let (event, u) = events.get(target % events.len().max(1))?.clone();
                        let kind = if matches!(a, Action::Repair { .. }) {
                            "repair"
                        } else {
                            "objection_upheld"
                        };
                        vec![
                            ("action_id", id),
                            ("unit_id", unit(u)),
                            ("kind", Value::Str(kind.into())),
                            ("ref_id", Value::Str(event)),
                            ("effective_on", Value::Date(day - days_before)),
                        ]
                    }
                };
                Some(row)
            })
            .collect();
        vec![
            (Source::Units, units),
            (Source::Violations, violations),
            (Source::Incidents, incidents),
            (Source::CreditActions, actions),
        ]
    }
}

/// Each unit's `credit_points` at `as_of`, by the run's own SQL steps.
async fn points(history: &History) -> BTreeMap<String, i64> {
    let rules = RuleSet::defaults();
    let (_dir, cx) = stage_context(as_of(), &history.tables(&rules)).await;
    for step in &super::LEDGER_AND_POINTS {
        cx.register_view(&step.as_view()).await.unwrap();
    }
    let batches = collect(&cx.ctx, "credit_points", &["unit_id", "credit_points"]).await;
    let mut out = BTreeMap::new();
    for b in &batches {
        let ids = b.column(0).as_string::<i32>();
        let pts = b.column(1).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            out.insert(ids.value(i).to_string(), pts.value(i));
        }
    }
    out
}

fn points_now(history: &History) -> BTreeMap<String, i64> {
    runtime().block_on(points(history))
}

/// `after` is never below `before`, and both are in range with one row per unit.
fn never_lower(before: &BTreeMap<String, i64>, after: &BTreeMap<String, i64>) {
    assert_eq!(before.len(), UNITS, "{before:?}");
    assert_eq!(after.len(), UNITS, "{after:?}");
    for (unit, p) in before.iter().chain(after) {
        assert!((0..=1100).contains(p), "{unit}: {p} points");
    }
    for (unit, b) in before {
        assert!(after[unit] >= *b, "{unit}: {b} → {}", after[unit]);
    }
}

impl History {
    /// The history with one more credit action: a void (objection), a bonus or a repair, each
    /// of which may only help the unit it touches.
    fn with(&self, change: &Action) -> History {
        let mut h = self.clone();
        h.actions.push(change.clone());
        h
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn points_stay_in_range_and_a_void_bonus_or_repair_never_lowers_them(
        history in history(),
        change in action(),
    ) {
        let before = points_now(&history);
        let after = points_now(&history.with(&change));
        never_lower(&before, &after);
    }
}

/// The properties above hold vacuously if nothing ever changes; these fixed histories pin the
/// exact effect of each change.
#[test]
fn each_change_has_its_exact_effect() {
    let v103 = |found: i32| Violation {
        unit: 0,
        code: 2, // V103, serious, 100 points, 1095-day window, repair after 365 days
        found,
        due_after: None,
        rectified_after: None,
    };
    let (violation_codes, _) = codes(&RuleSet::defaults());
    assert_eq!(violation_codes[2], "V103");
    let base = History {
        violations: vec![v103(400), v103(100)],
        fires: vec![],
        actions: vec![],
    };
    let p = |h: &History| points_now(h)["U0"];
    // The second V103 within 365 days of the first is doubled: 1000 − 100 − 200.
    assert_eq!(p(&base), 700);
    for (change, expected, why) in [
        (
            Action::Objection {
                target: 0,
                days_before: 0,
            },
            900,
            "voiding the first removes it and the doubling of the second: 1000 − 100",
        ),
        (
            Action::Bonus {
                unit: 0,
                code: 0,
                days_before: 10,
            },
            720,
            "a bonus of B01 (+20) known at as_of",
        ),
        (
            Action::Repair {
                target: 0,
                days_before: 20,
            },
            800,
            "a repair of the first 380 days after it (past the 365-day minimum): 1000 − 200",
        ),
        (
            Action::Repair {
                target: 1,
                days_before: 20,
            },
            700,
            "a repair of the second, too early: no effect",
        ),
    ] {
        assert_eq!(p(&base.with(&change)), expected, "{why}");
    }
    // Twelve serious violations would go below zero: clamped.
    let many = History {
        violations: (0..12).map(|i| v103(10 + i)).collect(),
        ..base
    };
    assert_eq!(p(&many), 0);
}
