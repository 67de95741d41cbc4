//! The rule tables as SQL tables (`rule_violations`, `rule_bonuses`, `rule_classes`,
//! `rule_hazard_elements`, `rule_penalty_bands`; the scalars of `parameters.csv` are bound
//! parameters instead, see [`super::params`]) and the views every stage may use.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Int64Array, StringArray};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;

use super::catalog::register_batch;
use super::context::register_view;
use super::params::{scalar, Params};
use super::step::Step;
use crate::contract::rules::{ParamValue, RuleSet};
use crate::error::Result;

/// Views that many steps read, registered before the first step of a day: events voided by an
/// upheld objection, the units that are not closed, and the connected devices' state
/// transitions.
pub const COMMON_VIEWS: [Step; 3] = [
    Step::view(
        "voided_events",
        include_str!("../../../sql/common/voided_events.sql"),
    ),
    Step::view(
        "open_units",
        include_str!("../../../sql/common/open_units.sql"),
    ),
    Step::view("iot_transitions", IOT_TRANSITIONS_SQL),
];

/// The connected devices' state transitions (scoring.md §2), read by the intervals' SQL.
pub const IOT_TRANSITIONS_SQL: &str = include_str!("../../../sql/common/iot_transitions.sql");

/// The rule tables' names, as the SQL uses them.
pub const RULE_TABLES: [&str; 5] = [
    "rule_violations",
    "rule_bonuses",
    "rule_classes",
    "rule_hazard_elements",
    "rule_penalty_bands",
];

/// The rule tables as Arrow batches, named as the SQL uses them ([`RULE_TABLES`] order).
pub fn rule_batches(rules: &RuleSet) -> Result<Vec<(&'static str, RecordBatch)>> {
    fn strs<T>(rows: &[T], f: impl Fn(&T) -> Option<&str>) -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    }
    fn ints<T>(rows: &[T], f: impl Fn(&T) -> i64) -> ArrayRef {
        Arc::new(rows.iter().map(|r| Some(f(r))).collect::<Int64Array>())
    }
    /// Exact decimals of one type, as the decimal parameters ([`scalar`]).
    fn decimals<T>(rows: &[T], f: impl Fn(&T) -> ParamValue) -> Result<ArrayRef> {
        let values = rows.iter().map(|r| scalar(f(r)));
        Ok(datafusion::common::ScalarValue::iter_to_array(values)?)
    }
    let batch = |cols: Vec<(&str, ArrayRef)>| RecordBatch::try_from_iter(cols);
    let (v, b, c, e, p) = (
        &rules.violations,
        &rules.bonuses,
        &rules.classes,
        &rules.hazard_elements,
        &rules.penalty_bands,
    );
    Ok(vec![
        (
            RULE_TABLES[0],
            batch(vec![
                ("code", strs(v, |r| Some(&r.code))),
                ("class", strs(v, |r| Some(&r.class))),
                ("points", ints(v, |r| r.points)),
                ("hazard_element", strs(v, |r| r.hazard_element.as_deref())),
                (
                    "veto",
                    Arc::new(v.iter().map(|r| Some(r.veto)).collect::<BooleanArray>()),
                ),
                ("name_zh", strs(v, |r| Some(&r.name_zh))),
                ("name_en", strs(v, |r| Some(&r.name_en))),
            ])?,
        ),
        (
            RULE_TABLES[1],
            batch(vec![
                ("code", strs(b, |r| Some(&r.code))),
                ("points", ints(b, |r| r.points)),
                ("window_days", ints(b, |r| r.window_days)),
                ("name_zh", strs(b, |r| Some(&r.name_zh))),
                ("name_en", strs(b, |r| Some(&r.name_en))),
            ])?,
        ),
        (
            RULE_TABLES[2],
            batch(vec![
                ("class", strs(c, |r| Some(&r.class))),
                ("window_days", ints(c, |r| r.window_days)),
                ("repair_min_days", ints(c, |r| r.repair_min_days)),
            ])?,
        ),
        (
            RULE_TABLES[3],
            batch(vec![
                ("element", strs(e, |r| Some(&r.element))),
                ("kind", strs(e, |r| Some(&r.kind))),
                ("name_zh", strs(e, |r| Some(&r.name_zh))),
                ("name_en", strs(e, |r| Some(&r.name_en))),
            ])?,
        ),
        (
            RULE_TABLES[4],
            batch(vec![
                ("code", strs(p, |r| Some(&r.code))),
                (
                    "min_yuan",
                    decimals(p, |r| ParamValue::Decimal(r.min_yuan))?,
                ),
                (
                    "max_yuan",
                    decimals(p, |r| ParamValue::Decimal(r.max_yuan))?,
                ),
                ("basis", strs(p, |r| Some(&r.basis))),
            ])?,
        ),
    ])
}

/// Registers the rule tables under the names the SQL uses.
pub async fn register_rules(ctx: &SessionContext, rules: &RuleSet) -> Result<()> {
    for (name, batch) in rule_batches(rules)? {
        register_batch(ctx, name, batch).await?;
    }
    Ok(())
}

/// Registers [`COMMON_VIEWS`] bound to `params`' day; the lake tables must be registered first.
pub async fn register_common_views(ctx: &SessionContext, params: &Params) -> Result<()> {
    for view in &COMMON_VIEWS {
        register_view(ctx, view, params).await?;
    }
    Ok(())
}
