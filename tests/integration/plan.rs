//! The double-random inspection plan (scoring.md §5): golden cases, and `verify-plan` on a
//! real run (passes) and on runs whose public plan was edited (fails, naming the unit).

use crate::helpers::*;

const AS_OF: &str = "2026-06-30";

#[test]
fn golden_inspection_plans() {
    check_golden("plan", &["inspection_plan"]);
}

fn run_dir(lake: &std::path::Path, m: &firecredit::lake::publish::Manifest) -> std::path::PathBuf {
    lake.join(&m.output("inspection_plan", "csv").unwrap().path)
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn verify_plan_passes_on_a_run_and_fails_on_an_edited_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let m = nightly_with(
        &samples("inbox"),
        &lake,
        AS_OF,
        None,
        &["--campaign", "hotel=3,school=2"],
    );
    let dir = run_dir(&lake, &m);
    let ok = firecredit(&["verify-plan", dir.to_str().unwrap()]);
    assert_ok(&ok);
    let lines = String::from_utf8(ok.stdout).unwrap();
    let plan = std::fs::read_to_string(dir.join("inspection_plan.csv")).unwrap();
    let drawn = plan.lines().count() - 1;
    assert!(drawn >= 20, "{drawn} drawn units");
    assert_eq!(lines.lines().count(), drawn, "one verdict per drawn unit");
    assert!(lines.lines().all(|l| l.ends_with("\tmatch")), "{lines}");
    assert!(plan.contains("S1:hotel") || plan.contains("S3:hotel") || plan.contains(":school"));

    // Swap the first drawn unit for an undrawn one in the public CSV.
    let first = plan
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let edited = plan.replacen(&format!("\n{first},"), "\nU9999999,", 1);
    std::fs::write(dir.join("inspection_plan.csv"), &edited).unwrap();
    let bad = firecredit(&["verify-plan", dir.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(5), "mismatches exit with 5");
    let out = String::from_utf8(bad.stdout).unwrap();
    assert!(
        out.lines()
            .any(|l| l.starts_with(&format!("{first}\tMISMATCH"))),
        "{out}"
    );
    assert!(out.contains("U9999999\tMISMATCH"), "{out}");

    // The published file restored, the plan verifies again.
    std::fs::write(dir.join("inspection_plan.csv"), &plan).unwrap();
    assert_ok(&firecredit(&["verify-plan", dir.to_str().unwrap()]));
}

#[test]
fn a_malformed_campaign_is_rejected_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    for bad in [
        "hotel=0",
        "motel=2",
        "hotel=1'; DROP TABLE units; --",
        "hotel",
    ] {
        let out = run_day(&lake, AS_OF, &["--campaign", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("campaign"), "{err}");
        assert!(!lake.exists(), "nothing written");
    }
}
