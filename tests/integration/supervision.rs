//! Listed supervision and cases across nights (supervision.md §6, §8): one lake, `nightly` on
//! consecutive days, a rerun of a day and a skipped day; objection and repair filings, with a
//! decision dated before its filing and a filing without `ref_id`.

use std::path::Path;

use crate::helpers::*;

const DAY1: &str = "2026-06-30";
const DAY2: &str = "2026-07-01";
const DAY3: &str = "2026-07-02";
const DAY5: &str = "2026-07-04";

const SUPERVISION: &[&str] = &[
    "unit_id",
    "status",
    "listed_on",
    "days_listed",
    "deadline",
    "overdue",
    "lift_reason",
    "elements",
];

/// The hazard thresholds case (tests/golden/hazard/02_thresholds) with day one's filings: U10
/// objects to an active finding; U22 asks for a repair; U11's objection came after a rejection
/// of the same finding (which decides nothing); U13's filing names no event.
fn day1_inbox(dir: &Path, with_defects: bool) -> std::path::PathBuf {
    let inbox = dir.join(if with_defects { "day1" } else { "day1-clean" });
    copy_tree(
        &repo().join("tests/golden/hazard/02_thresholds/inbox"),
        &inbox,
    );
    let mut cases = String::from(
        "action_id,unit_id,kind,code,ref_id,effective_on\n\
         K1,U10,objection_filed,,U10-0,2026-06-20\n\
         K2,U22,repair_requested,,U22-1,2026-06-25\n\
         K3,U11,objection_filed,,U11-0,2026-06-10\n",
    );
    if with_defects {
        cases.push_str("K3d,U11,objection_rejected,,U11-0,2026-06-01\n");
        cases.push_str("K4,U13,objection_filed,,,2026-06-20\n");
    }
    std::fs::write(inbox.join("credit_actions/cases.csv"), cases).unwrap();
    inbox
}

#[test]
fn listings_live_from_list_to_lifted_across_nights() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");

    // Day 1: every major hazard unit is new; the lone grid is a level I area.
    let m1 = nightly(&day1_inbox(tmp.path(), true), &lake, DAY1, None);
    assert_eq!(
        published(&lake, &m1, "hazard_supervision", SUPERVISION),
        [
            "U10,new,2026-06-30,0,2026-09-28,false,,C01;C03;C04",
            "U11,new,2026-06-30,0,2026-09-28,false,,C01;C03;C04",
            "U13,new,2026-06-30,0,2026-09-28,false,,C01;C03;C04;C05",
            "U15,new,2026-06-30,0,2026-09-28,false,,C01;C02;C03;C04;C05;C06",
            "U16,new,2026-06-30,0,2026-09-28,false,,C01;C03;C04",
            "U17,new,2026-06-30,0,2026-09-28,false,,D01",
            "U21,new,2026-06-30,0,2026-09-28,false,,D01",
            "U22,new,2026-06-30,0,2026-09-28,false,,C01;C03;C04;C05",
        ]
    );
    let area = ["grid_id", "district_code", "level", "status", "listed_on"];
    assert_eq!(
        published(&lake, &m1, "area_supervision", &area),
        ["G1,440106,I,new,2026-06-30"]
    );

    // Day 2: U12 gains a fourth element (new); U13 rectifies one (below its threshold); U17
    // closes; U21's only finding is now 365 days old (cleared).
    let day2 = inbox(
        tmp.path(),
        "day2",
        &[
            (
                "violations/day2.csv",
                b"violation_id,inspection_id,unit_id,code,found_on,rectify_due,rectified_on\n\
                  U12-9,I-U12,U12,V105,2026-07-01,,\n\
                  U13-3,I-U13,U13,V105,2026-06-01,,2026-07-01\n",
            ),
            (
                "units/day2.csv",
                "unit_id,name,grid_id,district_code,use_type,key_unit,crowded_place,status\n\
                 U17,单位U17,G1,440106,factory,false,false,closed\n"
                    .as_bytes(),
            ),
            (
                "credit_actions/day2.csv",
                b"action_id,unit_id,kind,code,ref_id,effective_on\n\
                  K1d,U10,objection_rejected,,U10-0,2026-07-01\n",
            ),
        ],
    );
    let m2 = nightly(&day2, &lake, DAY2, None);
    assert_eq!(
        published(&lake, &m2, "hazard_supervision", SUPERVISION),
        [
            "U10,continuing,2026-06-30,1,2026-09-28,false,,C01;C03;C04",
            "U11,continuing,2026-06-30,1,2026-09-28,false,,C01;C03;C04",
            "U12,new,2026-07-01,0,2026-09-29,false,,C01;C03;C04;C05",
            "U13,lifted,2026-06-30,1,2026-09-28,false,below_threshold,C01;C03;C04",
            "U15,continuing,2026-06-30,1,2026-09-28,false,,C01;C02;C03;C04;C05;C06",
            "U16,continuing,2026-06-30,1,2026-09-28,false,,C01;C03;C04",
            "U17,lifted,2026-06-30,1,2026-09-28,false,closed,",
            "U21,lifted,2026-06-30,1,2026-09-28,false,cleared,",
            "U22,continuing,2026-06-30,1,2026-09-28,false,,C01;C03;C04;C05",
        ]
    );
    assert_eq!(
        published(&lake, &m2, "area_supervision", &area),
        ["G1,440106,I,continuing,2026-06-30"]
    );

    // Day 3: U21 has a new direct finding and is listed again, anew; the lifted are gone.
    let day3 = inbox(
        tmp.path(),
        "day3",
        &[(
            "violations/day3.csv",
            b"violation_id,inspection_id,unit_id,code,found_on,rectify_due,rectified_on\n\
              U21-1,I-U21,U21,V111,2026-07-02,,\n",
        )],
    );
    let m3 = nightly(&day3, &lake, DAY3, None);
    let day3_rows = [
        "U10,continuing,2026-06-30,2,2026-09-28,false,,C01;C03;C04",
        "U11,continuing,2026-06-30,2,2026-09-28,false,,C01;C03;C04",
        "U12,continuing,2026-07-01,1,2026-09-29,false,,C01;C03;C04;C05",
        "U15,continuing,2026-06-30,2,2026-09-28,false,,C01;C02;C03;C04;C05;C06",
        "U16,continuing,2026-06-30,2,2026-09-28,false,,C01;C03;C04",
        "U21,new,2026-07-02,0,2026-09-30,false,,D01",
        "U22,continuing,2026-06-30,2,2026-09-28,false,,C01;C03;C04;C05",
    ];
    assert_eq!(
        published(&lake, &m3, "hazard_supervision", SUPERVISION),
        day3_rows
    );

    // A rerun of day 3 compares with day 2, not with the first day-3 run.
    assert_ok(&run_day(&lake, DAY3, &[]));
    let rerun = manifest(&lake, DAY3);
    assert_ne!(rerun.run_id, m3.run_id);
    assert_eq!(
        published(&lake, &rerun, "hazard_supervision", SUPERVISION),
        day3_rows
    );

    // Day 4 is skipped: day 5 compares with day 3. With a 3-day deadline U10 is overdue; U12
    // is due today (not overdue).
    let rules = rules_with(tmp.path(), "short", "parameters.csv", |t| {
        t.replace("hazard_deadline_days,90,", "hazard_deadline_days,3,")
    });
    assert_ok(&run_day(&lake, DAY5, &["--rules", rules.to_str().unwrap()]));
    let m5 = manifest(&lake, DAY5);
    let overdue = published(
        &lake,
        &m5,
        "hazard_supervision",
        &[
            "unit_id",
            "status",
            "listed_on",
            "days_listed",
            "deadline",
            "overdue",
        ],
    );
    assert_eq!(
        overdue,
        [
            "U10,continuing,2026-06-30,4,2026-07-03,true",
            "U11,continuing,2026-06-30,4,2026-07-03,true",
            "U12,continuing,2026-07-01,3,2026-07-04,false",
            "U15,continuing,2026-06-30,4,2026-07-03,true",
            "U16,continuing,2026-06-30,4,2026-07-03,true",
            "U21,continuing,2026-07-02,2,2026-07-05,false",
            "U22,continuing,2026-06-30,4,2026-07-03,true",
        ]
    );

    // `explain` tells the unit's story, run by run.
    let out = explain(&lake, DAY3, "U21");
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "2026-06-30 单位 unit U21 新挂牌 new: listed 2026-06-30 (0 days), deadline 2026-09-28  [D01]",
        "2026-07-01 单位 unit U21 摘牌 lifted: listed 2026-06-30 (1 days), deadline 2026-09-28  reason cleared",
        "2026-07-02 单位 unit U21 新挂牌 new: listed 2026-07-02 (0 days), deadline 2026-09-30  [D01]",
        "2026-07-02 网格 grid G1 持续 continuing: listed 2026-06-30 (2 days), deadline 2026-12-27  [I]",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
}

#[test]
fn filings_become_cases_and_hold_the_feed_while_pending() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let cases = [
        "case_id",
        "unit_id",
        "ref_id",
        "family",
        "filed_on",
        "decided_on",
        "decision",
        "days_open",
        "limit_days",
        "breach",
    ];
    let m1 = nightly(&day1_inbox(tmp.path(), true), &lake, DAY1, None);
    // K3d, dated before K3, decides nothing; K4 (no ref_id) never reached the lake.
    assert_eq!(
        published(&lake, &m1, "credit_cases", &cases),
        [
            "K1,U10,U10-0,objection,2026-06-20,,,10,15,false",
            "K2,U22,U22-1,repair,2026-06-25,,,5,15,false",
            "K3,U11,U11-0,objection,2026-06-10,,,20,15,true",
        ]
    );
    let q = table(&lake, "quarantine").unwrap();
    let quarantined: Vec<(Option<String>, Option<String>)> = strings(&q, "source")
        .into_iter()
        .zip(strings(&q, "reason"))
        .collect();
    assert_eq!(
        quarantined,
        [(Some("credit_actions".into()), Some("missing_field".into()))]
    );
    let raw = strings(&q, "raw");
    assert!(raw[0].as_deref().unwrap().contains("K4"), "{raw:?}");

    let feed = [
        "unit_id",
        "credit_points",
        "under_objection",
        "earliest_repairable_on",
    ];
    let scores = published(&lake, &m1, "scores", &feed);
    for row in [
        "U10,840,true,2026-08-30",
        "U11,840,true,2026-08-30",
        "U22,840,false,2026-08-30",
        "U18,800,false,2027-06-01",
        "U20,800,false,2026-06-30",
    ] {
        assert!(scores.contains(&row.to_string()), "{row} not in {scores:?}");
    }
    // The feed's CSV and NDJSON carry the two columns too, after the first version's.
    let csv =
        std::fs::read_to_string(lake.join(&m1.output("scores", "csv").unwrap().path)).unwrap();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",model_version,under_objection,earliest_repairable_on"),
        "{csv}"
    );
    let ndjson =
        std::fs::read_to_string(lake.join(&m1.output("scores", "ndjson").unwrap().path)).unwrap();
    let u10: serde_json::Value = ndjson
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["unit_id"] == "U10")
        .unwrap();
    assert_eq!(u10["under_objection"], true);
    assert_eq!(u10["earliest_repairable_on"], "2026-08-30");

    // Nothing else changes: without the early rejection and the filing with no ref_id, every
    // other output is the same.
    let clean_lake = tmp.path().join("clean");
    let clean = nightly(&day1_inbox(tmp.path(), false), &clean_lake, DAY1, None);
    for (table, columns) in [
        ("credit_cases", &cases[..]),
        ("scores", &feed[..]),
        (
            "credit_ledger",
            &["unit_id", "event_id", "points", "status"][..],
        ),
        ("hazard_supervision", SUPERVISION),
    ] {
        assert_eq!(
            published(&lake, &m1, table, columns),
            published(&clean_lake, &clean, table, columns),
            "{table}"
        );
    }

    // Day 2: U10's objection is rejected on the day: decided in 11 days, no longer pending.
    let day2 = inbox(
        tmp.path(),
        "day2",
        &[(
            "credit_actions/day2.csv",
            b"action_id,unit_id,kind,code,ref_id,effective_on\n\
              K1d,U10,objection_rejected,,U10-0,2026-07-01\n",
        )],
    );
    let m2 = nightly(&day2, &lake, DAY2, None);
    assert_eq!(
        published(&lake, &m2, "credit_cases", &cases)[0],
        "K1,U10,U10-0,objection,2026-06-20,2026-07-01,rejected,11,15,false"
    );
    let scores = published(&lake, &m2, "scores", &feed);
    assert!(
        scores.contains(&"U10,840,false,2026-08-30".to_string()),
        "{scores:?}"
    );
    let out = explain(&lake, DAY2, "U10");
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "K1 异议 objection on U10-0: filed 2026-06-20, 驳回 rejected 2026-07-01, 11 of 15 days",
        "异议处理中 under objection false    最早可修复日 earliest repairable on 2026-08-30",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
}
