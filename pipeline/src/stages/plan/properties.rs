//! Property tests of the inspection plan on small random registries: the plan's SQL and
//! assignment (the real [`super::run`]) never select a unit that scoring.md §5 makes
//! ineligible, draw exactly each stratum's count, and never assign an inspector the unit may
//! not get. Eligibility is recomputed here in plain Rust, independently of the SQL.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use proptest::prelude::*;

use super::draw::{draw_count, PlanRules};
use super::{Campaign, Plan, PlanOptions};
use crate::contract::values::{parse_date, Value};
use crate::contract::Source;
use crate::engine::catalog::register_batch;
use crate::engine::Stage;
use crate::lake::columns::Columns;
use crate::testing::{collect, runtime, stage_context, Row};

const AS_OF: &str = "2026-06-30";
const DISTRICTS: [&str; 2] = ["440103", "440104"];
const USE_TYPES: [&str; 3] = ["hotel", "retail", "school"];
const INSPECTORS: usize = 6;

#[derive(Debug, Clone)]
struct Unit {
    district: usize,
    key: bool,
    crowded: bool,
    /// 0: null, 1: open, 2: closed.
    status: u8,
    use_type: usize,
    grade: usize,
    level: i32,
}

#[derive(Debug, Clone)]
struct Inspection {
    unit: usize,
    /// 0: random, 1: complaint, 2: key.
    kind: usize,
    days_before: i32,
    inspectors: BTreeSet<usize>,
}

#[derive(Debug, Clone)]
struct Inspector {
    district: usize,
    active: bool,
    conflicts: BTreeSet<usize>,
}

#[derive(Debug, Clone)]
struct Registry {
    units: Vec<Unit>,
    inspections: Vec<Inspection>,
    inspectors: Vec<Inspector>,
    /// A campaign doubling hotels.
    hotel_campaign: bool,
}

fn registry() -> impl Strategy<Value = Registry> {
    let unit = (
        0..2usize,
        any::<bool>(),
        any::<bool>(),
        0..3u8,
        0..3usize,
        0..4usize,
        1..5i32,
    )
        .prop_map(
            |(district, key, crowded, status, use_type, grade, level)| Unit {
                district,
                key,
                crowded,
                status,
                use_type,
                grade,
                level,
            },
        );
    let inspection = (
        any::<usize>(),
        0..3usize,
        -30..500i32,
        proptest::collection::btree_set(0..INSPECTORS, 1..3),
    )
        .prop_map(|(unit, kind, days_before, inspectors)| Inspection {
            unit,
            kind,
            days_before,
            inspectors,
        });
    let inspector = (
        0..2usize,
        proptest::bool::weighted(0.8),
        proptest::collection::btree_set(0..24usize, 0..3),
    )
        .prop_map(|(district, active, conflicts)| Inspector {
            district,
            active,
            conflicts,
        });
    (
        proptest::collection::vec(unit, 1..24),
        proptest::collection::vec(inspection, 0..40),
        proptest::collection::vec(inspector, INSPECTORS..=INSPECTORS),
        any::<bool>(),
    )
        .prop_map(
            |(units, inspections, inspectors, hotel_campaign)| Registry {
                units,
                inspections,
                inspectors,
                hotel_campaign,
            },
        )
}

fn unit_id(i: usize) -> String {
    format!("U{i:02}")
}

fn inspector_id(i: usize) -> String {
    format!("P{i}")
}

impl Registry {
    fn inspection_unit(&self, i: &Inspection) -> usize {
        i.unit % self.units.len()
    }

    fn tables(&self) -> Vec<(Source, Vec<Row>)> {
        let day = parse_date(AS_OF).expect("date");
        let str = |s: &str| Value::Str(s.to_string());
        let units = self
            .units
            .iter()
            .enumerate()
            .map(|(i, u)| {
                vec![
                    ("unit_id", Value::Str(unit_id(i))),
                    ("name", str("单位")),
                    ("grid_id", str("G1")),
                    ("district_code", str(DISTRICTS[u.district])),
                    ("use_type", str(USE_TYPES[u.use_type])),
                    ("key_unit", Value::Bool(u.key)),
                    ("crowded_place", Value::Bool(u.crowded)),
                    (
                        "status",
                        match u.status {
                            0 => Value::Null,
                            1 => str("open"),
                            _ => str("closed"),
                        },
                    ),
                ]
            })
            .collect();
        let inspections = self
            .inspections
            .iter()
            .enumerate()
            .map(|(n, i)| {
                vec![
                    ("inspection_id", Value::Str(format!("I{n}"))),
                    ("unit_id", Value::Str(unit_id(self.inspection_unit(i)))),
                    ("inspected_on", Value::Date(day - i.days_before)),
                    ("kind", str(["random", "complaint", "key"][i.kind])),
                    (
                        "inspector_ids",
                        Value::List(i.inspectors.iter().map(|p| inspector_id(*p)).collect()),
                    ),
                    ("outcome", str("pass")),
                ]
            })
            .collect();
        let inspectors = self
            .inspectors
            .iter()
            .enumerate()
            .map(|(n, p)| {
                vec![
                    ("inspector_id", Value::Str(inspector_id(n))),
                    ("district_code", str(DISTRICTS[p.district])),
                    ("active", Value::Bool(p.active)),
                    (
                        "conflict_unit_ids",
                        Value::List(p.conflicts.iter().map(|u| unit_id(*u)).collect()),
                    ),
                ]
            })
            .collect();
        vec![
            (Source::Units, units),
            (Source::Inspections, inspections),
            (Source::Inspectors, inspectors),
        ]
    }

    fn unit_scores(&self) -> RecordBatch {
        let ids: Vec<String> = (0..self.units.len()).map(unit_id).collect();
        let grades: Vec<&str> = self
            .units
            .iter()
            .map(|u| ["A", "B", "C", "D"][u.grade])
            .collect();
        let levels: Vec<i32> = self.units.iter().map(|u| u.level).collect();
        RecordBatch::try_from_iter(vec![
            ("unit_id", Arc::new(StringArray::from(ids)) as ArrayRef),
            (
                "credit_grade",
                Arc::new(StringArray::from(grades)) as ArrayRef,
            ),
            ("risk_level", Arc::new(Int32Array::from(levels)) as ArrayRef),
        ])
        .expect("unit_scores")
    }

    /// scoring.md §5, directly: open, no `random` inspection in (as_of − 180, as_of], fewer
    /// than two in (as_of − 365, as_of].
    fn eligible(&self, unit: usize) -> bool {
        if self.units[unit].status == 2 {
            return false;
        }
        let random_within = |days: i32| {
            self.inspections
                .iter()
                .filter(|i| self.inspection_unit(i) == unit && i.kind == 0)
                .filter(|i| i.days_before >= 0 && i.days_before < days)
                .count()
        };
        random_within(180) == 0 && random_within(365) < 2
    }

    fn stratum(&self, unit: usize) -> &'static str {
        match (self.units[unit].key, self.units[unit].crowded) {
            (true, true) => "S1",
            (true, false) => "S2",
            _ => "S3",
        }
    }

    /// How many units the plan must draw: per stratum (hotels apart, doubled, in a campaign).
    fn expected_draws(&self) -> u64 {
        let mut eligible: BTreeMap<(&str, bool), u64> = BTreeMap::new();
        for u in (0..self.units.len()).filter(|u| self.eligible(*u)) {
            let hotel = self.hotel_campaign && self.units[u].use_type == 0;
            *eligible.entry((self.stratum(u), hotel)).or_default() += 1;
        }
        let rules =
            PlanRules::from_parameters(&crate::contract::rules::RuleSet::defaults().parameters)
                .unwrap();
        eligible
            .iter()
            .map(|((stratum, hotel), n)| {
                let rate = rules.rate(stratum).unwrap().0;
                draw_count(*n, rate, (if *hotel { 2 } else { 1 }, 1), 1)
            })
            .sum()
    }

    /// Inspectors who took part in the unit's latest inspection on or before as_of.
    fn took_part(&self, unit: usize) -> BTreeSet<usize> {
        let known = |i: &&Inspection| self.inspection_unit(i) == unit && i.days_before >= 0;
        let Some(latest) = self
            .inspections
            .iter()
            .filter(known)
            .map(|i| i.days_before)
            .min()
        else {
            return BTreeSet::new();
        };
        self.inspections
            .iter()
            .filter(known)
            .filter(|i| i.days_before == latest)
            .flat_map(|i| i.inspectors.iter().copied())
            .collect()
    }
}

/// The published plan's `(unit_id, status, inspector_1, inspector_2)` rows.
type PlanRow = (String, String, Option<String>, Option<String>);

async fn plan(registry: &Registry) -> Vec<PlanRow> {
    let (_dir, mut cx) = stage_context(parse_date(AS_OF).unwrap(), &registry.tables()).await;
    register_batch(&cx.ctx, "unit_scores", registry.unit_scores())
        .await
        .unwrap();
    let options = PlanOptions {
        seed: None,
        campaign: if registry.hotel_campaign {
            "hotel=2".parse::<Campaign>().unwrap()
        } else {
            Campaign::default()
        },
    };
    Plan { options }.run(&mut cx).await.unwrap();
    let wanted = ["unit_id", "status", "inspector_1", "inspector_2"];
    let batches = collect(&cx.ctx, "inspection_plan", &wanted).await;
    let mut rows = Vec::new();
    for b in &batches {
        let table = Columns::new("inspection_plan", b);
        let ids = table.text("unit_id").unwrap();
        let status = table.text("status").unwrap();
        let p1 = table.text("inspector_1").unwrap();
        let p2 = table.text("inspector_2").unwrap();
        for i in 0..b.num_rows() {
            rows.push((
                ids[i].clone().unwrap(),
                status[i].clone().unwrap(),
                p1[i].clone(),
                p2[i].clone(),
            ));
        }
    }
    rows
}

fn check(registry: &Registry, rows: &[PlanRow]) {
    let index = |id: &str| id[1..].parse::<usize>().unwrap();
    let drawn: BTreeSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(drawn.len(), rows.len(), "one row per drawn unit");
    assert_eq!(rows.len() as u64, registry.expected_draws(), "draw counts");
    for (unit, status, p1, p2) in rows {
        let u = index(unit);
        assert!(registry.eligible(u), "{unit} is not eligible but was drawn");
        match (status.as_str(), p1, p2) {
            ("assigned", Some(a), Some(b)) => {
                assert_ne!(a, b, "{unit}: one inspector twice");
                for p in [a, b] {
                    let n = index(p);
                    let inspector = &registry.inspectors[n];
                    assert!(inspector.active, "{unit}: {p} is not active");
                    assert_eq!(
                        inspector.district, registry.units[u].district,
                        "{unit}: {p}"
                    );
                    assert!(
                        !inspector.conflicts.contains(&u),
                        "{unit}: {p} has a conflict"
                    );
                    assert!(
                        !registry.took_part(u).contains(&n),
                        "{unit}: {p} inspected it last"
                    );
                }
            }
            ("unassigned", None, None) => {}
            other => panic!("{unit}: {other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_plan_draws_exactly_its_counts_from_eligible_units_only(registry in registry()) {
        let rows = runtime().block_on(plan(&registry));
        check(&registry, &rows);
    }
}

/// A fixed registry whose plan is known: the property above must not hold by drawing nothing.
#[test]
fn a_known_registry_draws_its_eligible_units() {
    let unit = |key, status| Unit {
        district: 0,
        key,
        crowded: key,
        status,
        use_type: 1,
        grade: 3,
        level: 4,
    };
    let inspector = || Inspector {
        district: 0,
        active: true,
        conflicts: BTreeSet::new(),
    };
    let registry = Registry {
        // U00 key and crowded (S1, 100 %): drawn. U01 the same but closed. U02 S1 with a random
        // inspection 100 days ago. U03 S1 with two random inspections within the year.
        units: vec![unit(true, 1), unit(true, 2), unit(true, 0), unit(true, 0)],
        inspections: vec![
            Inspection {
                unit: 2,
                kind: 0,
                days_before: 100,
                inspectors: [0].into(),
            },
            Inspection {
                unit: 3,
                kind: 0,
                days_before: 200,
                inspectors: [0].into(),
            },
            Inspection {
                unit: 3,
                kind: 0,
                days_before: 300,
                inspectors: [1].into(),
            },
        ],
        inspectors: (0..INSPECTORS).map(|_| inspector()).collect(),
        hotel_campaign: false,
    };
    let rows = runtime().block_on(plan(&registry));
    assert_eq!(
        rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["U00"]
    );
    assert_eq!(rows[0].1, "assigned");
    check(&registry, &rows);
}
