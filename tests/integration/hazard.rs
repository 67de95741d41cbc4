//! Golden tests of the hazard stage (scoring.md §2): interval logic of connected devices and the
//! major-hazard thresholds, one folder per case under `tests/golden/hazard/`.

use crate::helpers::*;

#[test]
fn hazard_rules_match_their_golden_files() {
    check_golden(
        "hazard",
        &["device_downtime", "hazard_elements", "major_hazard_units"],
    );
}

#[test]
fn major_hazard_status_compares_with_the_previous_run() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let case = repo().join("tests/golden/hazard/02_thresholds");
    nightly(&case.join("inbox"), &lake, "2026-06-30", None);
    // A finding of 2026-07-01 arrives; U21's finding (2025-07-01) is 365 days old by then.
    let late =
        "violation_id,inspection_id,unit_id,code,found_on\nU12-9,I-U12,U12,V105,2026-07-01\n";
    let inbox = inbox(
        tmp.path(),
        "day2",
        &[("violations/late.csv", late.as_bytes())],
    );
    let m = nightly(&inbox, &lake, "2026-07-01", None);
    let got = published(&lake, &m, "major_hazard_units", &["unit_id", "status"]);
    assert_eq!(
        got,
        [
            "U10,continuing",
            "U11,continuing",
            "U12,new",
            "U13,continuing",
            "U15,continuing",
            "U16,continuing",
            "U17,continuing",
            "U22,continuing"
        ]
    );
    let flags = published(&lake, &m, "unit_scores", &["unit_id", "major_hazard"]);
    assert!(flags.contains(&"U12,true".to_string()) && flags.contains(&"U21,false".to_string()));
    assert!(
        flags.contains(&"U18,false".to_string()),
        "closed units are never major hazard units"
    );
}
