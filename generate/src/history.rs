//! One unit's four years of records, as contract rows (text cells in contract order), and the
//! fires its planted model draws.

use rand::Rng;

use super::enforcement::{self, Limits};
use super::world::{
    date, drift, fire_log_odds, normal, pick_weighted, sigmoid, unit_rng, History, Unit,
    CATEGORIES, DISTRICTS, USE_TYPES,
};
use firecredit_contract::values::{
    format_timestamp_at, format_timestamp_local, LOCAL_OFFSET_SECONDS,
};

pub type Row = Vec<String>;

/// The inspector roster: the active officers of each district, and every officer's district
/// (inactive ones too).
pub struct Roster {
    pub active: Vec<Vec<String>>,
    pub district_of: std::collections::HashMap<String, usize>,
}

/// Everything one unit contributes, by source.
#[derive(Default)]
pub struct UnitRows {
    pub units: Vec<Row>,
    pub inspections: Vec<Row>,
    pub violations: Vec<Row>,
    pub complaints: Vec<Row>,
    pub incidents: Vec<Row>,
    pub iot: Vec<Row>,
    pub credit_actions: Vec<Row>,
    /// `(cutoff day, true probability of a fire in the next 365 days, realised)`.
    pub truth: Vec<(i32, f64, bool)>,
    /// The enforcement alerts the unit's records raise at `as_of`: `(alert_id, kind)`.
    pub alerts: Vec<(String, String)>,
}

const DAY_US: i64 = 86_400_000_000;

fn local_ts(day: i32, second: i64) -> i64 {
    (i64::from(day) * 86_400 + second - LOCAL_OFFSET_SECONDS) * 1_000_000
}

fn ts_plain_local(ts: i64) -> String {
    // `YYYY-MM-DD HH:MM:SS` without offset: local time by the contract.
    let t = format_timestamp_local(ts);
    format!("{} {}", &t[..10], &t[11..19])
}

fn ts_utc(ts: i64) -> String {
    format_timestamp_at(ts, 0)
}

fn b(v: bool) -> String {
    if v { "true" } else { "false" }.to_string()
}

struct Violation {
    id: String,
    code: &'static str,
    serious: bool,
    found: i32,
    due: Option<i32>,
    rectified: Option<i32>,
}

/// Violation codes with base weights; adjusted per unit below.
const CODES: &[(&str, f64, bool)] = &[
    ("V101", 10.0, false),
    ("V102", 5.0, false),
    ("V103", 8.0, true),
    ("V104", 5.0, false),
    ("V105", 2.0, false),
    ("V106", 4.0, false),
    ("V107", 2.0, false),
    ("V108", 3.0, false),
    ("V109", 7.0, false),
    ("V110", 2.0, true),
    ("V111", 0.3, true),
    ("V112", 0.5, true),
    ("V113", 0.5, true),
    ("V114", 1.0, true),
    ("V115", 3.0, false),
    ("V116", 6.0, false),
    ("V117", 6.0, false),
    ("V118", 6.0, false),
    ("V119", 0.15, true),
    ("V120", 0.05, true),
];

/// Parameters shared by all units.
pub struct Frame {
    pub seed: u64,
    pub start: i32,
    pub as_of: i32,
    /// The default rules' penalty bands and enforcement limits.
    pub limits: Limits,
    /// The planted model's drift in log-odds per year.
    pub fire_drift: f64,
}

pub fn unit_history(f: &Frame, u: &Unit, roster: &Roster) -> UnitRows {
    let mut rng = unit_rng(f.seed, u.idx, 3);
    let mut out = UnitRows::default();
    let from = u.opened_on.max(f.start);
    let until = u.closed_on.unwrap_or(f.as_of).min(f.as_of);
    let q = u.quality;
    let inspectors = &roster.active[u.district];
    let two_inspectors = |rng: &mut rand_chacha::ChaCha8Rng| -> String {
        if inspectors.len() < 2 {
            return inspectors
                .first()
                .cloned()
                .unwrap_or_else(|| "P0000".into());
        }
        let a = rng.random_range(0..inspectors.len());
        let mut b2 = rng.random_range(0..inspectors.len() - 1);
        if b2 >= a {
            b2 += 1;
        }
        format!("{};{}", inspectors[a], inspectors[b2])
    };

    // Inspections and their findings.
    let rate = if u.key_unit { 1.4 } else { 0.35 } + if u.crowded { 0.25 } else { 0.0 };
    let mut violations: Vec<Violation> = Vec::new();
    let mut t = from as f64;
    let mut n_insp = 0;
    loop {
        t += -(rng.random::<f64>().max(1e-9)).ln() * 365.0 / rate;
        let day = t as i32;
        if day > until {
            break;
        }
        n_insp += 1;
        let id = format!("{}-I{n_insp:03}", u.id);
        let kind = if day < u.opened_on + 30 && rng.random::<f64>() < 0.5 {
            "pre_opening"
        } else {
            [
                "random",
                "random",
                "key",
                "complaint",
                "follow_up",
                "campaign",
            ][pick_weighted(
                &mut rng,
                [4.0, 2.0, if u.key_unit { 3.0 } else { 0.0 }, 1.0, 1.0, 0.5].into_iter(),
            )]
        };
        let r: f64 = rng.random();
        let outcome = if r < 0.03 {
            "no_access"
        } else if r < 0.03 + sigmoid(-0.3 - 1.1 * q) {
            "fail"
        } else {
            "pass"
        };
        out.inspections.push(vec![
            id.clone(),
            u.id.clone(),
            date(day),
            kind.into(),
            two_inspectors(&mut rng),
            outcome.into(),
        ]);
        if outcome != "fail" {
            continue;
        }
        let n = 1 + (rng.random::<f64>() * (1.5 - 0.5 * q).max(0.2)) as usize;
        for k in 0..n {
            let weights = CODES.iter().map(|(c, w, _)| {
                let ut = USE_TYPES[u.use_type].0;
                w * match *c {
                    "V111" if ut == "hazmat" || ut == "residential_mixed" => 20.0,
                    "V112" if !u.sprinkler && u.key_unit => 15.0,
                    "V103" | "V107" if u.crowded => 2.0,
                    "V119" | "V120" if q < -1.5 => 10.0,
                    _ => 1.0,
                }
            });
            let (code, _, serious) = CODES[pick_weighted(&mut rng, weights)];
            let on_spot = !serious && rng.random::<f64>() < 0.15;
            let due = (!on_spot).then(|| day + if serious { 30 } else { 15 });
            let p_timely = sigmoid(0.8 + 1.2 * q);
            let rectified = if on_spot {
                Some(day)
            } else {
                let due = due.expect("due");
                let r: f64 = rng.random();
                if r < p_timely {
                    Some(day + rng.random_range(1..=(due - day)))
                } else if r < p_timely + (1.0 - p_timely) * 0.6 {
                    Some(due + rng.random_range(1..90))
                } else {
                    None
                }
            };
            violations.push(Violation {
                id: format!("{id}-V{k}"),
                code,
                serious,
                found: day,
                due,
                rectified: rectified.filter(|r| *r <= f.as_of),
            });
        }
    }
    for v in &violations {
        // The draws of the first version, placed inside the code's band.
        let in_band = |k: i32| {
            let x = f64::from(k - 5) / 45.0;
            f.limits
                .penalty_in_band(v.code, x)
                .map_or_else(String::new, |p| format!("{p}"))
        };
        // A serious finding is always fined; another in 30 % of cases (no draw is skipped).
        let penalty = if v.serious || rng.random::<f64>() < 0.3 {
            in_band(rng.random_range(5..50))
        } else {
            String::new()
        };
        out.violations.push(vec![
            v.id.clone(),
            v.id.rsplit_once("-V").expect("id").0.to_string(),
            u.id.clone(),
            v.code.into(),
            date(v.found),
            v.due.map(date).unwrap_or_default(),
            v.rectified.map(date).unwrap_or_default(),
            penalty,
        ]);
    }

    // Complaints.
    let mut complaints: Vec<(i32, bool)> = Vec::new();
    let rate = 0.12 * if u.crowded { 2.0 } else { 1.0 } * (-0.5 * q).exp();
    let mut t = from as f64;
    let mut k = 0;
    loop {
        t += -(rng.random::<f64>().max(1e-9)).ln() * 365.0 / rate;
        let day = t as i32;
        if day > until {
            break;
        }
        k += 1;
        let ts = local_ts(day, rng.random_range(7 * 3600..23 * 3600));
        // Unverified only while within the time limit to check it (the planted ones aside).
        let recent = f.as_of - day <= f.limits.complaint_check_days();
        let r: f64 = rng.random();
        let verified = if recent && r < 0.6 {
            None
        } else {
            Some(r < 0.45 + 0.1 * (-q).tanh())
        };
        if verified == Some(true) {
            complaints.push((day, true));
        }
        out.complaints.push(vec![
            format!("{}-C{k:03}", u.id),
            if rng.random::<f64>() < 0.05 {
                String::new()
            } else {
                u.id.clone()
            },
            u.grid.clone(),
            ts_plain_local(ts),
            ["96119", "app", "wechat", "hotline", "other"]
                [pick_weighted(&mut rng, [3.0, 2.0, 2.0, 1.0, 0.3].into_iter())]
            .into(),
            CATEGORIES[rng.random_range(0..CATEGORIES.len())].into(),
            verified.map(b).unwrap_or_default(),
            format!(
                "1{}{:09}",
                [3, 5, 8][rng.random_range(0..3)],
                rng.random_range(0..1_000_000_000u64)
            ),
        ]);
    }

    // Connected devices.
    let mut down: Vec<(i64, i64)> = Vec::new();
    let mut alarms: Vec<i64> = Vec::new();
    let connected = (u.alarm || u.sprinkler) && rng.random::<f64>() < 0.85;
    if connected {
        let mut systems: Vec<&str> = Vec::new();
        if u.alarm {
            systems.extend(std::iter::repeat_n(
                "auto_alarm",
                1 + (u.floor_area > 3000.0) as usize + (u.floor_area > 20000.0) as usize,
            ));
        }
        if u.sprinkler {
            systems.push("sprinkler");
        }
        for (p, s) in [
            (0.5, "hydrant"),
            (0.4, "electrical"),
            (0.2, "smoke_exhaust"),
        ] {
            if rng.random::<f64>() < p {
                systems.push(s);
            }
        }
        let start_us = local_ts(from, 0);
        let end_us = local_ts(until + 1, 0);
        for (d, system) in systems.iter().enumerate() {
            let device = format!("{}-D{d}", u.id);
            let mut events: Vec<(i64, &str, String)> = Vec::new();
            let span = (end_us - start_us) as f64;
            let per_year = |r: f64| r * span / (365.0 * DAY_US as f64);
            let episodes = |rng: &mut rand_chacha::ChaCha8Rng, rate: f64| -> Vec<i64> {
                let n = (per_year(rate) * (0.5 + rng.random::<f64>())).round() as usize;
                let mut v: Vec<i64> = (0..n)
                    .map(|_| start_us + (rng.random::<f64>() * span) as i64)
                    .collect();
                v.sort_unstable();
                v
            };
            for at in episodes(&mut rng, 4.0 * (-0.3 * q).exp()) {
                events.push((at, "alarm", String::new()));
                events.push((
                    at + rng.random_range(30..1800) * 1_000_000,
                    "ack",
                    String::new(),
                ));
                alarms.push(at);
            }
            let long = (-0.7 * q).exp();
            for (open, close, rate) in [
                ("offline", "online", 3.0 * long),
                ("fault", "restore", 1.2 * long),
                ("shield", "unshield", 0.4 * long),
            ] {
                for at in episodes(&mut rng, rate) {
                    let hours = (normal(&mut rng) * 1.4 + 1.8 - 0.6 * q).exp().min(2000.0);
                    let end = at + (hours * 3.6e9) as i64;
                    events.push((at, open, String::new()));
                    if end < end_us {
                        events.push((end, close, String::new()));
                    }
                    if *system == "auto_alarm" {
                        down.push((at, end.min(end_us)));
                    }
                }
            }
            if *system == "sprinkler" || *system == "hydrant" {
                for at in episodes(&mut rng, 0.8 * long) {
                    let hours = (normal(&mut rng) * 1.2 + 2.5 - 0.5 * q).exp().min(2000.0);
                    let end = at + (hours * 3.6e9) as i64;
                    events.push((
                        at,
                        "pressure_low",
                        format!("{:.2}", rng.random_range(0.05..0.25)),
                    ));
                    if end < end_us {
                        events.push((end, "restore", format!("{:.2}", rng.random_range(0.3..0.6))));
                    }
                }
            }
            // A stray closing event with nothing open: the contract says it is ignored.
            if rng.random::<f64>() < 0.1 {
                events.push((
                    start_us + (rng.random::<f64>() * span) as i64,
                    "online",
                    String::new(),
                ));
            }
            events.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
            for (at, event, value) in events {
                let row = vec![
                    device.clone(),
                    u.id.clone(),
                    format_timestamp_local(at),
                    (*system).into(),
                    event.into(),
                    value,
                ];
                // Devices resend now and then: an exact duplicate row.
                if rng.random::<f64>() < 0.001 {
                    out.iot.push(row.clone());
                }
                out.iot.push(row);
            }
        }
    }

    // Fires, year by year, from the planted model of the history on record at each year start.
    let mut fires: Vec<i32> = Vec::new();
    let mut n_inc = 0;
    for year in 0..5 {
        let cutoff = f.start + 365 * year;
        let (lo, hi) = (cutoff + 1, cutoff + 365);
        let cut_us = local_ts(cutoff + 1, 0);
        let year_ago = cutoff - 365;
        let h = History {
            violations_365: violations
                .iter()
                .filter(|v| v.found > year_ago && v.found <= cutoff)
                .count() as f64,
            unrectified: violations
                .iter()
                .filter(|v| {
                    v.found <= cutoff
                        && v.found > cutoff - 1095
                        && v.rectified.is_none_or(|r| r > cutoff)
                })
                .count() as f64,
            serious_365: violations
                .iter()
                .filter(|v| v.serious && v.found > year_ago && v.found <= cutoff)
                .count() as f64,
            down_hours_365: down
                .iter()
                .map(|(a, e)| {
                    let (a, e) = ((*a).max(cut_us - 365 * DAY_US), (*e).min(cut_us));
                    ((e - a).max(0) as f64) / 3.6e9
                })
                .sum(),
            verified_complaints_365: complaints
                .iter()
                .filter(|(d, _)| *d > year_ago && *d <= cutoff)
                .count() as f64,
            prior_fires: fires.iter().filter(|d| **d <= cutoff).count() as f64,
            false_alarms_365: alarms
                .iter()
                .filter(|a| **a < cut_us && **a >= cut_us - 365 * DAY_US)
                .count() as f64,
        };
        let p = sigmoid(fire_log_odds(u, &h, cutoff) + drift(f.fire_drift, year));
        let open_from = lo.max(u.opened_on);
        let open_to = hi.min(u.closed_on.unwrap_or(i32::MAX));
        let fire = open_from <= open_to && rng.random::<f64>() < p;
        if year >= 2 {
            out.truth.push((cutoff, p, fire));
        }
        if !fire {
            continue;
        }
        let day = rng.random_range(open_from..=open_to);
        fires.push(day);
        if day > f.as_of {
            continue;
        }
        n_inc += 1;
        let deaths = if rng.random::<f64>() < 0.01 {
            rng.random_range(1..4)
        } else {
            0
        };
        let injuries = if rng.random::<f64>() < 0.06 {
            rng.random_range(1..6)
        } else {
            0
        };
        out.incidents.push(vec![
            format!("{}-F{n_inc:02}", u.id),
            if rng.random::<f64>() < 0.03 {
                String::new()
            } else {
                u.id.clone()
            },
            u.grid.clone(),
            ts_utc(local_ts(day, rng.random_range(0..86_400))),
            "fire".into(),
            deaths.to_string(),
            injuries.to_string(),
            format!("{}", ((normal(&mut rng) * 1.5 + 10.0).exp()).round()),
            b(rng.random::<f64>() < 0.6),
        ]);
    }
    // False alarms attended: a few of the device alarms, and some reported by phone.
    for at in &alarms {
        if rng.random::<f64>() >= 0.03 {
            continue;
        }
        n_inc += 1;
        out.incidents.push(vec![
            format!("{}-A{n_inc:03}", u.id),
            u.id.clone(),
            u.grid.clone(),
            ts_utc(*at + 600_000_000),
            if rng.random::<f64>() < 0.9 {
                "false_alarm"
            } else {
                "other"
            }
            .into(),
            "0".into(),
            "0".into(),
            String::new(),
            String::new(),
        ]);
    }

    // Credit actions: bonuses for well-run units, repairs and upheld objections.
    let mut k = 0;
    let mut action = |rng: &mut rand_chacha::ChaCha8Rng,
                      kind: &str,
                      code: &str,
                      ref_id: &str,
                      day: i32|
     -> Option<Row> {
        if day > f.as_of || day < from {
            return None;
        }
        let _ = rng;
        k += 1;
        Some(vec![
            format!("{}-A{k:03}", u.id),
            u.id.clone(),
            kind.into(),
            code.into(),
            ref_id.into(),
            date(day),
        ])
    };
    if q > 0.3 {
        for code in ["B01", "B02", "B03", "B04", "B05"] {
            let mut day = from + rng.random_range(0..365);
            while day <= until {
                if rng.random::<f64>() < 0.35 {
                    if let Some(r) = action(&mut rng, "bonus", code, "", day) {
                        out.credit_actions.push(r);
                    }
                }
                day += 365;
            }
        }
    }
    // The favourable decisions, which the cases below may follow.
    let mut decided: Vec<(&'static str, String, i32)> = Vec::new();
    for v in &violations {
        let r: f64 = rng.random();
        if r < 0.02 {
            let day = v.found + rng.random_range(10..60);
            if let Some(row) = action(&mut rng, "objection_upheld", "", &v.id, day) {
                out.credit_actions.push(row);
                decided.push(("objection", v.id.clone(), day));
            }
        } else if r < 0.12 && v.rectified.is_some() {
            let min = if v.serious {
                365
            } else if v.code >= "V116" {
                0
            } else {
                90
            };
            let day = v.found + min + rng.random_range(-30..200);
            if let Some(row) = action(&mut rng, "repair", "", &v.id, day) {
                out.credit_actions.push(row);
                decided.push(("repair", v.id.clone(), day));
            }
        }
    }

    let ut = USE_TYPES[u.use_type].0;
    let updated = local_ts(u.opened_on.max(f.start - 400), rng.random_range(0..86_400));
    out.units.push(vec![
        u.id.clone(),
        u.uscc.clone().unwrap_or_default(),
        u.name.clone(),
        DISTRICTS[u.district].0.into(),
        u.grid.clone(),
        format!("{}", u.lon),
        format!("{}", u.lat),
        ut.into(),
        b(u.key_unit),
        b(u.crowded),
        format!("{}", u.floor_area),
        u.floors_above.to_string(),
        u.floors_below.to_string(),
        format!("{}", u.height),
        u.build_year.to_string(),
        u.capacity.to_string(),
        b(u.sprinkler),
        b(u.alarm),
        format!("{}", u.investment),
        date(u.opened_on),
        if u.closed_on.is_some() {
            "closed"
        } else {
            "open"
        }
        .into(),
        format_timestamp_local(updated),
    ]);
    // A registry correction sent later: the same unit_id with a later updated_at.
    if rng.random::<f64>() < 0.01 {
        let mut again = out.units[0].clone();
        again[15] = (u.capacity + 10).to_string();
        again[21] = format_timestamp_local(updated + 30 * DAY_US);
        out.units.push(again);
    }
    // From their own stream, so that every row above stays as it was.
    let mut rng = unit_rng(f.seed, u.idx, 6);
    cases(f, u, &violations, &decided, &mut rng, &mut out);
    if u.closed_on.is_none() && rng.random::<f64>() < 0.004 {
        listed_lifted_listed(f, u, &two_inspectors(&mut rng), &mut out);
    }
    let voided: std::collections::BTreeSet<String> = decided
        .iter()
        .filter(|(family, _, _)| *family == "objection")
        .map(|(_, id, _)| id.clone())
        .collect();
    let mut rng = unit_rng(f.seed, u.idx, 7);
    out.alerts = enforcement::finish(f, u, roster, &f.limits, &voided, &mut rng, &mut out);
    out
}

/// Objection and repair filings (supervision.md §8): most favourable decisions follow a filing
/// (some on the filing day, some after the 15-day limit); other filings are rejected, decided
/// late, still pending, or follow a rejection dated before them (which decides nothing).
fn cases(
    f: &Frame,
    u: &Unit,
    violations: &[Violation],
    decided: &[(&'static str, String, i32)],
    rng: &mut rand_chacha::ChaCha8Rng,
    out: &mut UnitRows,
) {
    let mut k = 0;
    let mut push = |out: &mut UnitRows, kind: &str, ref_id: &str, day: i32| {
        if day <= f.as_of {
            k += 1;
            out.credit_actions.push(vec![
                format!("{}-C{k:03}", u.id),
                u.id.clone(),
                kind.into(),
                String::new(),
                ref_id.into(),
                date(day),
            ]);
        }
    };
    for (family, ref_id, day) in decided {
        if rng.random::<f64>() < 0.7 {
            let filed = day - rng.random_range(0..25);
            let kind = if *family == "objection" {
                "objection_filed"
            } else {
                "repair_requested"
            };
            push(out, kind, ref_id, filed);
        }
    }
    for v in violations {
        let r: f64 = rng.random();
        let (filing, rejection) = if r < 0.03 {
            ("objection_filed", "objection_rejected")
        } else if r < 0.05 && v.rectified.is_some() {
            ("repair_requested", "repair_rejected")
        } else {
            continue;
        };
        let filed = v.found + rng.random_range(1..120);
        push(out, filing, &v.id, filed);
        let d: f64 = rng.random();
        if d < 0.55 {
            push(out, rejection, &v.id, filed + rng.random_range(0..40));
        } else if d < 0.65 {
            // Dated before the filing: decides nothing.
            push(out, rejection, &v.id, filed - rng.random_range(1..10));
        }
    }
}

/// A unit listed, lifted and listed again on the last three days: a direct hazard found two
/// days before `as_of` and rectified the next day, another found on `as_of`.
fn listed_lifted_listed(f: &Frame, u: &Unit, inspectors: &str, out: &mut UnitRows) {
    for (n, found, rectified) in [(1, f.as_of - 2, Some(f.as_of - 1)), (2, f.as_of, None)] {
        let inspection = format!("{}-S{n}", u.id);
        out.inspections.push(vec![
            inspection.clone(),
            u.id.clone(),
            date(found),
            "follow_up".into(),
            inspectors.into(),
            "fail".into(),
        ]);
        out.violations.push(vec![
            format!("{inspection}-V0"),
            inspection,
            u.id.clone(),
            "V111".into(),
            date(found),
            date(found + 30),
            rectified.map(date).unwrap_or_default(),
            "10000".into(),
        ]);
    }
}
