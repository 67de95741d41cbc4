//! Inspector assignment (scoring.md §5): sequential by nature (each unit's choice depends on
//! the capacity the units before it used), so it runs in Rust over the candidates that the SQL
//! computed; `verify-plan` reruns this same function on the published candidates.

use std::collections::HashMap;

/// One drawn unit and one inspector it may get (`inspector` none: it may get nobody).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub unit_id: String,
    pub district_code: String,
    pub draw_key: f64,
    pub inspector: Option<(String, f64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub unit_id: String,
    /// `assigned` or `unassigned`.
    pub status: &'static str,
    /// `no_inspectors` or `capacity` when unassigned.
    pub reason: Option<&'static str>,
    /// `per_unit` inspectors when assigned.
    pub inspectors: Vec<String>,
}

/// Assigns `per_unit` inspectors (two by default) per drawn unit. `capacity(district)` is the
/// cap of assignments per inspector. Units of a district are served by descending key (ties:
/// smaller unit_id); each takes the eligible inspectors with the largest u (ties: smaller
/// inspector_id) still under the cap. A unit that cannot get them all gets none and uses no
/// capacity.
pub fn assign(
    candidates: &[Candidate],
    capacity: &dyn Fn(&str) -> u64,
    per_unit: usize,
) -> Vec<Assignment> {
    // (unit, district, key, its inspectors with their u)
    type Drawn<'a> = (&'a str, &'a str, f64, Vec<(&'a str, f64)>);
    let mut units: Vec<Drawn> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for c in candidates {
        let i = *at.entry(&c.unit_id).or_insert_with(|| {
            units.push((&c.unit_id, &c.district_code, c.draw_key, Vec::new()));
            units.len() - 1
        });
        if let Some((id, u)) = &c.inspector {
            units[i].3.push((id, *u));
        }
    }
    units.sort_by(|a, b| a.1.cmp(b.1).then(b.2.total_cmp(&a.2)).then(a.0.cmp(b.0)));
    let mut held: HashMap<(&str, &str), u64> = HashMap::new();
    let mut out = Vec::with_capacity(units.len());
    for (unit, district, _, mut inspectors) in units {
        inspectors.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        inspectors.dedup_by(|a, b| a.0 == b.0);
        let cap = capacity(district);
        let picked: Vec<&str> = inspectors
            .iter()
            .filter(|(id, _)| held.get(&(district, *id)).copied().unwrap_or(0) < cap)
            .take(per_unit)
            .map(|(id, _)| *id)
            .collect();
        let (status, reason, chosen) = if inspectors.len() < per_unit {
            ("unassigned", Some("no_inspectors"), Vec::new())
        } else if picked.len() < per_unit {
            ("unassigned", Some("capacity"), Vec::new())
        } else {
            for id in &picked {
                *held.entry((district, id)).or_insert(0) += 1;
            }
            (
                "assigned",
                None,
                picked.iter().map(|p| p.to_string()).collect(),
            )
        };
        out.push(Assignment {
            unit_id: unit.to_string(),
            status,
            reason,
            inspectors: chosen,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(unit: &str, key: f64, insp: Option<(&str, f64)>) -> Candidate {
        Candidate {
            unit_id: unit.into(),
            district_code: "440106".into(),
            draw_key: key,
            inspector: insp.map(|(i, u)| (i.into(), u)),
        }
    }

    /// Three units, three inspectors, cap 2: the first two units take the best pairs, the
    /// third finds only P3 under the cap; a unit with one candidate has no inspectors.
    #[test]
    fn capacity_order_and_reasons() {
        let cands = vec![
            c("U2", -1.0, Some(("P1", 0.9))),
            c("U2", -1.0, Some(("P2", 0.8))),
            c("U2", -1.0, Some(("P3", 0.1))),
            c("U1", -0.5, Some(("P2", 0.7))),
            c("U1", -0.5, Some(("P1", 0.7))),
            c("U1", -0.5, Some(("P3", 0.2))),
            c("U3", -2.0, Some(("P1", 0.5))),
            c("U3", -2.0, Some(("P2", 0.5))),
            c("U3", -2.0, Some(("P3", 0.5))),
            c("U4", -3.0, Some(("P3", 0.5))),
            c("U5", -4.0, None),
        ];
        let got = assign(&cands, &|_| 2, 2);
        let pairs: Vec<_> = got
            .iter()
            .map(|a| (a.unit_id.as_str(), a.status, a.reason, a.inspectors.clone()))
            .collect();
        let p = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
        assert_eq!(
            pairs,
            vec![
                // Largest key first; u ties broken by the smaller inspector id.
                ("U1", "assigned", None, p("P1", "P2")),
                ("U2", "assigned", None, p("P1", "P2")),
                // P1 and P2 are full: only P3 is left.
                ("U3", "unassigned", Some("capacity"), vec![]),
                ("U4", "unassigned", Some("no_inspectors"), vec![]),
                ("U5", "unassigned", Some("no_inspectors"), vec![]),
            ]
        );
        // Three per unit, cap 2: U1 and U2 take all three inspectors, U3 finds them full.
        let three = assign(&cands, &|_| 2, 3);
        assert_eq!(three[0].inspectors, ["P1", "P2", "P3"]);
        assert_eq!((three[1].status, three[1].reason), ("assigned", None));
        assert_eq!(
            (three[2].status, three[2].reason),
            ("unassigned", Some("capacity"))
        );
        assert_eq!(three[3].reason, Some("no_inspectors"));
    }
}
