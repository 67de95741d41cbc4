//! Rules are data (architecture.md): every number of the spec comes from the rule tables whose
//! SHA-256 the manifest records, so replacing one number changes the outputs and that SHA-256;
//! a rules folder that breaks a table's rules exits 2 before anything is written.

use crate::helpers::*;

const AS_OF: &str = "2026-06-30";

fn grades(lake: &std::path::Path, m: &firecredit::lake::publish::Manifest) -> Vec<String> {
    published(lake, m, "unit_scores", &["credit_grade"])
}

#[test]
fn one_number_of_parameters_csv_changes_the_outputs_and_the_rules_sha256() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let shipped = nightly(&samples("inbox"), &lake, AS_OF, None);
    let rules = rules_with(tmp.path(), "strict-a", "parameters.csv", |t| {
        t.replacen("grade_a_min,950,", "grade_a_min,990,", 1)
    });
    assert_ok(&run_day(
        &lake,
        AS_OF,
        &["--rules", rules.to_str().unwrap()],
    ));
    let strict = manifest(&lake, AS_OF);

    assert_ne!(strict.rules.sha256, shipped.rules.sha256);
    assert_eq!(strict.rules.version, "strict-a");
    let count = |g: &[String], grade: &str| g.iter().filter(|x| *x == grade).count();
    let (before, after) = (grades(&lake, &shipped), grades(&lake, &strict));
    assert!(
        count(&before, "A") > count(&after, "A"),
        "fewer units reach A"
    );
    assert_eq!(count(&before, "D"), count(&after, "D"), "D is unchanged");
    let sum = |m: &firecredit::lake::publish::Manifest, name: &str| {
        m.output(name, "parquet").unwrap().sha256.clone()
    };
    // The grade moved, the ledger's arithmetic did not; every score row names the new rules.
    assert_eq!(
        sum(&strict, "credit_ledger"),
        sum(&shipped, "credit_ledger")
    );
    assert_ne!(sum(&strict, "unit_scores"), sum(&shipped, "unit_scores"));
    assert_ne!(sum(&strict, "reward_list"), sum(&shipped, "reward_list"));
    let stamped = published(&lake, &strict, "unit_scores", &["rules_sha256"]);
    assert!(stamped.iter().all(|s| *s == strict.rules.sha256));
}

#[test]
fn a_rules_folder_with_a_repeated_key_exits_2_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    for (table, extra, row) in [
        ("bonuses.csv", "B01,20,365,again,again\n", "row 6"),
        ("classes.csv", "minor,30,0\n", "row 4"),
        ("parameters.csv", "credit_base,900,1,again\n", "row 53"),
        ("penalty_bands.csv", "V101,1,2,again\n", "row 21"),
        (
            "violations.csv",
            "V101,general,30,C01,false,again,again\n",
            "row 25",
        ),
        (
            "hazard_elements.csv",
            "C01,comprehensive,again,again\n",
            "row 17",
        ),
    ] {
        let rules = rules_with(tmp.path(), &format!("twice-{table}"), table, |t| t + extra);
        let lake = tmp.path().join(format!("lake-{table}"));
        let out = firecredit(&[
            "nightly",
            "--inbox",
            samples("inbox").to_str().unwrap(),
            "--lake",
            lake.to_str().unwrap(),
            "--as-of",
            AS_OF,
            "--rules",
            rules.to_str().unwrap(),
        ]);
        assert_rejected(&out, &format!("rule table {table}, {row}"));
        assert_rejected(&out, "given twice");
        assert!(!lake.exists(), "{table}: nothing was written");
    }
}

#[test]
fn a_parameter_out_of_range_or_unknown_names_its_row_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    for (edit, words) in [
        ("risk_top_level4,0.05,", "risk_top_level4,1.5,"),
        ("plan_months,1,", "plan_months,one,"),
    ] {
        let rules = rules_with(tmp.path(), "bad", "parameters.csv", |t| {
            t.replacen(edit, words, 1)
        });
        let out = run_day(&lake, AS_OF, &["--rules", rules.to_str().unwrap()]);
        assert_rejected(&out, "rule table parameters.csv, row");
        assert_rejected(&out, "column value");
        std::fs::remove_dir_all(&rules).unwrap();
    }
    let rules = rules_with(tmp.path(), "bad", "parameters.csv", |t| {
        t + "colour,red,1,?\n"
    });
    assert_rejected(
        &run_day(&lake, AS_OF, &["--rules", rules.to_str().unwrap()]),
        "unknown parameter `colour`",
    );
    assert!(!lake.exists(), "nothing was written");
}
