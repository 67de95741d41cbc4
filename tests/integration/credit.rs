//! The credit stage end to end (scoring.md §1): the golden cases of `tests/golden/credit/` (an
//! inbox, its `as_of`, optional `rules/`, the expected ledger and scores, derived by hand from
//! the spec; each rule alone is a `.slt` case of `tests/sql/credit/`), reruns, kills and
//! `explain`. The real binary runs `nightly` on the inbox.

use std::path::Path;

use crate::helpers::*;

#[test]
fn credit_golden_cases_pass_end_to_end() {
    assert_eq!(golden_cases("credit").len(), 2);
    check_golden("credit", &["credit_ledger", "unit_scores"]);
}

/// `run` for 2026-06-30 on `lake` with the sample inbox's truth (as `nightly` passes it),
/// optionally aborting after the output `abort_after`.
fn rerun(lake: &Path, extra: &[&str], abort_after: Option<&str>) -> std::process::Output {
    let truth = samples("inbox").join("_truth/fire_truth.csv");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_firecredit"));
    cmd.args([
        "--log",
        "error",
        "run",
        "--lake",
        lake.to_str().unwrap(),
        "--as-of",
        "2026-06-30",
    ])
    .args(["--truth", truth.to_str().unwrap()])
    .args(extra);
    if let Some(output) = abort_after {
        cmd.env(firecredit::lake::ABORT_AFTER_ENV, output);
    }
    cmd.output().unwrap()
}

#[test]
fn two_runs_on_the_same_inputs_publish_identical_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let first = nightly(&samples("inbox"), &lake, "2026-06-30", None);
    assert_ok(&rerun(&lake, &[], None));
    let second = manifest(&lake, "2026-06-30");
    assert_ne!(first.run_id, second.run_id);
    assert_eq!(checksums(&first), checksums(&second));
    assert_outputs_match(&lake, &second);
    // The manifest names what was read (the eight inbox files and the truth) and the rules.
    assert_eq!(second.inputs.len(), 9);
    assert_eq!(second.inputs[8].source, "truth");
    assert_eq!(second.rules.version, "gd-2026.2");
    assert_eq!(second.lake_version, 1);
    assert!(second
        .stage_timings
        .iter()
        .any(|t| t.stage == "credit.credit_ledger"));
    assert!(second.stage_timings.iter().any(|t| t.stage == "risk.fit"));
    let scores = second.output("unit_scores", "parquet").unwrap();
    assert_eq!(scores.rows, 1500, "every unit is scored");
    // One partition or two: the same bytes.
    let other = tmp.path().join("other");
    assert_ok(&ingest(&samples("inbox"), &other));
    assert_ok(&rerun(&other, &["--partitions", "1"], None));
    assert_eq!(
        checksums(&manifest(&other, "2026-06-30")),
        checksums(&first)
    );
}

#[test]
fn a_run_killed_mid_way_leaves_the_last_run_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let committed = nightly(&samples("inbox"), &lake, "2026-06-30", None);
    for stage in ["credit_ledger", "unit_scores", "discipline_list"] {
        let out = rerun(&lake, &[], Some(stage));
        assert!(!out.status.success(), "the run was killed after {stage}");
        assert_eq!(
            manifest(&lake, "2026-06-30"),
            committed,
            "manifest unchanged after a kill in {stage}"
        );
        assert_outputs_match(&lake, &committed);
    }
    assert_ok(&rerun(&lake, &[], None));
    let again = manifest(&lake, "2026-06-30");
    assert_eq!(
        checksums(&again),
        checksums(&committed),
        "the rerun completes with the same tables"
    );
    // A run never deletes another attempt's folder (it may be a concurrent run's): the killed
    // attempts stay until `lake vacuum`, which keeps the new run and the one it replaced.
    let attempts = || {
        std::fs::read_dir(lake.join("runs/2026-06-30"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_dir())
            .count()
    };
    assert_eq!(attempts(), 5);
    let lake_arg = lake.to_str().unwrap();
    assert_ok(&firecredit(&[
        "lake", "--lake", lake_arg, "vacuum", "--retain", "0h",
    ]));
    assert_eq!(attempts(), 2);
    assert_eq!(manifest(&lake, "2026-06-30"), again);
}

#[test]
fn explain_shows_each_events_arithmetic_and_the_total() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let case = repo().join("tests/golden/credit/02_timely");
    nightly(&case.join("inbox"), &lake, "2026-06-30", None);
    let out = explain(&lake, "2026-06-30", "U1");
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "U1-b V101 消防设施、器材未保持完好有效 / fire systems or equipment not kept in working order",
        "基础分 base 30 ×2 重复 repeat (of U1-a) ÷2 按期整改 rectified in time = -30",
        "基础分 base 30 ÷2 按期整改 rectified in time = -15",
        "计分至 counts until 2027-01-31",
        "信用积分 points = clamp(1000 − 45 + 0, 0, 1100) = 955",
        "等级 grade A",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
    assert!(!text.contains("differ"), "{text}");
    let missing = explain(&lake, "2026-06-30", "U404");
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn nightly_does_not_score_when_an_inbox_file_failed_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let dirty = samples("dirty");
    let args = [
        "nightly",
        "--inbox",
        dirty.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
        "--as-of",
        "2026-06-30",
    ];
    let out = firecredit(&args);
    assert_eq!(out.status.code(), Some(3));
    assert!(!lake.join("runs").exists(), "nothing was published");
    let mut partial = args.to_vec();
    partial.push("--allow-partial");
    assert_ok(&firecredit(&partial));
    assert_eq!(
        manifest(&lake, "2026-06-30")
            .output("unit_scores", "parquet")
            .unwrap()
            .rows,
        400
    );
}
