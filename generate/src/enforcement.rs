//! Enforcement records with planted defects (supervision.md §7), and the alerts they raise.
//!
//! The natural records are clean: officers come from the unit's district and rotate (no
//! officer is on three inspections of a unit in a row when the district has officers enough),
//! penalties fall inside their code's band, each finding due in the look-back window gets its
//! follow-up check in time, and complaints are verified within their limit. Then, at the rates
//! below, defects are planted: an officer not on the roster, one from another district, a
//! penalty one yuan outside its band (or exactly at an edge, which is no alert), a missing
//! follow-up, an officer kept on a unit, a complaint never verified. Last, the alerts of the
//! unit's final records are computed here, independently of the pipeline's SQL: the truth
//! `_truth/enforcement_alerts.csv` against which the pipeline's alerts are checked.
//!
//! Everything here draws from the unit's own random stream 7, so the rows of other streams do
//! not move.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rand::Rng;

use super::history::{Frame, Roster, Row, UnitRows};
use super::world::{date, Unit, DISTRICTS};
use firecredit_contract::rules::RuleSet;
use firecredit_contract::values::parse_date;

/// Per inspection in the look-back window: an officer id not on the roster.
pub const PLANT_UNKNOWN: f64 = 0.01;
/// Per inspection in the window: an officer of another district.
pub const PLANT_OTHER_DISTRICT: f64 = 0.01;
/// Per banded violation found in the window: a penalty one yuan below or above its band, or
/// exactly at one of its edges (a quarter each).
pub const PLANT_PENALTY: f64 = 0.04;
/// Per violation due in the window: no follow-up check.
pub const PLANT_NO_FOLLOWUP: f64 = 0.04;
/// Per unit: its last three inspections share an officer.
pub const PLANT_ROTATION: f64 = 0.02;
/// Per complaint about a unit received in the window: never verified.
pub const PLANT_UNCHECKED: f64 = 0.05;

/// The default rules' numbers the records are made against.
pub struct Limits {
    bands: HashMap<String, (f64, f64)>,
    lookback: i32,
    followup: i32,
    rotation: usize,
    complaint_check: i32,
}

impl Limits {
    pub fn defaults() -> Limits {
        let rules = RuleSet::defaults();
        let p = &rules.parameters;
        let days = |v: i64| i32::try_from(v).expect("a day count");
        Limits {
            bands: rules
                .penalty_bands
                .iter()
                .map(|b| (b.code.clone(), (b.min_yuan.to_f64(), b.max_yuan.to_f64())))
                .collect(),
            lookback: days(p.alert_lookback_days),
            followup: days(p.followup_days),
            rotation: usize::try_from(p.rotation_run).expect("a count"),
            complaint_check: days(p.complaint_check_days),
        }
    }

    /// A penalty drawn in `0..=1` placed inside `code`'s band, in whole hundreds of yuan.
    pub fn penalty_in_band(&self, code: &str, x: f64) -> Option<f64> {
        let (min, max) = *self.bands.get(code)?;
        let hundreds = ((max - min) / 100.0).floor();
        Some(min + (x * hundreds).floor().min(hundreds) * 100.0)
    }

    /// Days after which a complaint must have been verified.
    pub fn complaint_check_days(&self) -> i32 {
        self.complaint_check
    }

    fn in_window(&self, f: &Frame, day: i32) -> bool {
        day > f.as_of - self.lookback && day <= f.as_of
    }
}

// Columns of the contract rows the generator writes.
const I_ID: usize = 0;
const I_DATE: usize = 2;
const I_KIND: usize = 3;
const I_OFFICERS: usize = 4;
const V_ID: usize = 0;
const V_CODE: usize = 3;
const V_FOUND: usize = 4;
const V_DUE: usize = 5;
const V_PENALTY: usize = 7;
const C_ID: usize = 0;
const C_UNIT: usize = 1;
const C_RECEIVED: usize = 3;
const C_VERIFIED: usize = 6;

fn day_of(cell: &str) -> Option<i32> {
    parse_date(cell.get(..10)?)
}

/// Adds the follow-up checks, assigns officers, plants the defects and returns the alerts of
/// the unit's records as `(alert_id, kind)`.
pub fn finish(
    f: &Frame,
    u: &Unit,
    roster: &Roster,
    limits: &Limits,
    voided: &BTreeSet<String>,
    rng: &mut rand_chacha::ChaCha8Rng,
    out: &mut UnitRows,
) -> Vec<(String, String)> {
    // Follow-up checks for the findings due in the window, some left out.
    let due: Vec<(i32, i32)> = out
        .violations
        .iter()
        .filter_map(|v| Some((day_of(&v[V_FOUND])?, day_of(&v[V_DUE])?)))
        .filter(|(_, due)| limits.in_window(f, *due))
        .collect();
    for (n, (found, due)) in due.into_iter().enumerate() {
        if rng.random::<f64>() < PLANT_NO_FOLLOWUP {
            continue;
        }
        let day = due + rng.random_range(0..=limits.followup);
        if day > found && day <= f.as_of {
            out.inspections.push(vec![
                format!("{}-F{n:03}", u.id),
                u.id.clone(),
                date(day),
                "follow_up".into(),
                String::new(),
                "pass".into(),
            ]);
        }
    }

    // Officers in rotation: none of the two previous inspections' common officers again.
    out.inspections
        .sort_by(|a, b| (day_of(&a[I_DATE]), &a[I_ID]).cmp(&(day_of(&b[I_DATE]), &b[I_ID])));
    let active = &roster.active[u.district];
    let mut previous: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for row in &mut out.inspections {
        let banned: Vec<&String> = previous[0]
            .iter()
            .filter(|o| previous[1].contains(o))
            .collect();
        let candidates: Vec<&String> = active.iter().filter(|o| !banned.contains(o)).collect();
        let officers: Vec<String> = if active.len() >= 3 && candidates.len() >= 2 {
            let n = candidates.len();
            let a = rng.random_range(0..n);
            let mut b = rng.random_range(0..n - 1);
            if b >= a {
                b += 1;
            }
            vec![candidates[a].clone(), candidates[b].clone()]
        } else {
            // Too few officers for pairs in rotation: one officer, another than last time
            // where the district has another (a district with one officer cannot rotate).
            let fresh: Vec<&String> = active.iter().filter(|o| !previous[1].contains(o)).collect();
            let pool = if fresh.is_empty() {
                active.iter().collect()
            } else {
                fresh
            };
            match pool.len() {
                0 => vec!["P0000".into()],
                n => vec![pool[rng.random_range(0..n)].clone()],
            }
        };
        row[I_OFFICERS] = officers.join(";");
        previous = [previous[1].clone(), officers];
    }

    // Planted officers: not on the roster, or of another district.
    let others: Vec<usize> = (0..DISTRICTS.len())
        .filter(|d| *d != u.district && !roster.active[*d].is_empty())
        .collect();
    for (n, row) in out.inspections.iter_mut().enumerate() {
        if !day_of(&row[I_DATE]).is_some_and(|d| limits.in_window(f, d)) {
            continue;
        }
        if rng.random::<f64>() < PLANT_UNKNOWN {
            row[I_OFFICERS] = format!("{};PX{}{n:03}", row[I_OFFICERS], &u.id[1..]);
        }
        if rng.random::<f64>() < PLANT_OTHER_DISTRICT && !others.is_empty() {
            let d = others[rng.random_range(0..others.len())];
            let officer = &roster.active[d][rng.random_range(0..roster.active[d].len())];
            row[I_OFFICERS] = format!("{};{officer}", row[I_OFFICERS]);
        }
    }
    // A unit whose last three inspections share an officer.
    let n = out.inspections.len();
    if n >= 3 && rng.random::<f64>() < PLANT_ROTATION {
        let kept = out.inspections[n - 1][I_OFFICERS]
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string();
        for row in &mut out.inspections[n - 3..n - 1] {
            if !row[I_OFFICERS].split(';').any(|o| o == kept) {
                row[I_OFFICERS] = format!("{};{kept}", row[I_OFFICERS]);
            }
        }
    }

    // Planted penalties: one yuan outside the band, or exactly at an edge.
    for row in &mut out.violations {
        let Some(&(min, max)) = limits.bands.get(&row[V_CODE]) else {
            continue;
        };
        if !day_of(&row[V_FOUND]).is_some_and(|d| limits.in_window(f, d)) {
            continue;
        }
        if rng.random::<f64>() < PLANT_PENALTY {
            let penalty = match rng.random_range(0..4) {
                0 if min >= 1.0 => min - 1.0,
                1 => max + 1.0,
                2 | 0 => min,
                _ => max,
            };
            row[V_PENALTY] = format!("{penalty}");
        }
    }

    // Planted complaints never verified.
    for row in &mut out.complaints {
        let received = day_of(&row[C_RECEIVED]);
        if row[C_UNIT].is_empty() || !received.is_some_and(|d| limits.in_window(f, d)) {
            continue;
        }
        if rng.random::<f64>() < PLANT_UNCHECKED {
            row[C_VERIFIED] = String::new();
        }
    }

    alerts(f, u, roster, limits, voided, out)
}

/// The alerts of supervision.md §7 raised by one unit's records at `f.as_of`.
fn alerts(
    f: &Frame,
    u: &Unit,
    roster: &Roster,
    limits: &Limits,
    voided: &BTreeSet<String>,
    out: &UnitRows,
) -> Vec<(String, String)> {
    let mut alerts: Vec<(String, String)> = Vec::new();
    let mut raise = |kind: &str, id: String| alerts.push((format!("{kind}#{id}"), kind.into()));
    let known: Vec<&Row> = out
        .inspections
        .iter()
        .filter(|r| day_of(&r[I_DATE]).is_some_and(|d| d <= f.as_of))
        .collect();
    for row in &known {
        if !day_of(&row[I_DATE]).is_some_and(|d| limits.in_window(f, d)) {
            continue;
        }
        let officers: BTreeSet<&str> = row[I_OFFICERS].split(';').collect();
        for officer in officers {
            match roster.district_of.get(officer) {
                None => raise("unknown_inspector", format!("{}#{officer}", row[I_ID])),
                Some(d) if *d != u.district => {
                    raise("out_of_jurisdiction", format!("{}#{officer}", row[I_ID]))
                }
                Some(_) => {}
            }
        }
    }
    let follow_ups: Vec<i32> = known
        .iter()
        .filter(|r| r[I_KIND] == "follow_up")
        .filter_map(|r| day_of(&r[I_DATE]))
        .collect();
    for row in &out.violations {
        let Some(found) = day_of(&row[V_FOUND]) else {
            continue;
        };
        if found > f.as_of || voided.contains(&row[V_ID]) {
            continue;
        }
        if let (Some(&(min, max)), Ok(penalty)) = (
            limits.bands.get(&row[V_CODE]),
            row[V_PENALTY].parse::<f64>(),
        ) {
            if limits.in_window(f, found) {
                if penalty < min {
                    raise("penalty_too_light", row[V_ID].clone());
                } else if penalty > max {
                    raise("penalty_too_heavy", row[V_ID].clone());
                }
            }
        }
        if let Some(due) = day_of(&row[V_DUE]) {
            let last = due + limits.followup;
            if limits.in_window(f, due)
                && last < f.as_of
                && !follow_ups.iter().any(|d| *d > found && *d <= last)
            {
                raise("followup_overdue", row[V_ID].clone());
            }
        }
    }
    // Rotation: runs of consecutive inspections (in date, then id, order) with one officer;
    // the latest run of at least `rotation` per officer, if its last inspection is recent.
    let mut runs: BTreeMap<&str, (usize, usize)> = BTreeMap::new(); // officer → (length, last)
    let mut latest: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (i, row) in known.iter().enumerate() {
        let officers: BTreeSet<&str> = row[I_OFFICERS].split(';').collect();
        for officer in &officers {
            let length = match runs.get(officer) {
                Some((length, last)) if *last + 1 == i => length + 1,
                _ => 1,
            };
            runs.insert(officer, (length, i));
            if length >= limits.rotation {
                latest.insert(officer, (length, i));
            }
        }
    }
    for (officer, (_, last)) in latest {
        if day_of(&known[last][I_DATE]).is_some_and(|d| limits.in_window(f, d)) {
            raise("rotation_breach", format!("{}#{officer}", u.id));
        }
    }
    for row in &out.complaints {
        let Some(received) = day_of(&row[C_RECEIVED]) else {
            continue;
        };
        if !row[C_UNIT].is_empty()
            && row[C_VERIFIED].is_empty()
            && limits.in_window(f, received)
            && received + limits.complaint_check < f.as_of
        {
            raise("complaint_unchecked", row[C_ID].clone());
        }
    }
    alerts
}
