//! Hostile options and rule tables: rejected with a clear message (exit 2) or kept as plain
//! data, never executed as SQL, never written outside the lake.

use std::path::Path;

use super::helpers::*;

const AS_OF: &str = "2026-06-30";

fn run(lake: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "--lake", lake.to_str().unwrap(), "--as-of", AS_OF];
    args.extend(extra);
    firecredit(&args)
}

fn assert_rejected(out: &std::process::Output, words: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit 2\n{stderr}");
    assert!(stderr.contains(words), "expected `{words}` in:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Files under `dir`, recursively, as sorted relative paths.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn malformed_campaigns_are_rejected_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    assert_ok(&ingest(&samples("inbox"), &lake));
    let before = listing(tmp.path());
    for (campaign, words) in [
        ("hotel=1.5;DROP TABLE units", "campaign"),
        ("hotel') OR 1=1 --=2", "campaign"),
        ("../../etc=2", "campaign"),
        ("hotel=1e400", "campaign"),
        ("hotel=0", "campaign"),
        ("hotel=1.5,hotel=2", "campaign"),
    ] {
        let out = run(&lake, &["--campaign", campaign]);
        assert_rejected(&out, words);
    }
    // Nothing was published or written anywhere.
    assert_eq!(listing(tmp.path()), before);
}

#[test]
fn rule_tables_with_sql_and_paths_stay_plain_data_or_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    assert_ok(&ingest(&samples("inbox"), &lake));
    let shipped = repo().join("sql/rules");

    // A rule name holding SQL, a path and a quote is data: the run succeeds and publishes the
    // name verbatim in the ledger's explanation source (the rule table itself is registered
    // as a table, never pasted into SQL).
    let rules = tmp.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    for f in std::fs::read_dir(&shipped).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, rules.join(f.file_name().unwrap())).unwrap();
    }
    let hostile = "x'); DROP TABLE units; -- ../../outside \"q\"";
    let text = std::fs::read_to_string(rules.join("bonuses.csv")).unwrap();
    let text = text.replacen(
        "registered fire engineer on staff (each)",
        &format!("\"{}\"", hostile.replace('"', "\"\"")),
        1,
    );
    std::fs::write(rules.join("bonuses.csv"), text).unwrap();
    let out = run(&lake, &["--rules", rules.to_str().unwrap()]);
    assert_ok(&out);
    assert!(!tmp.path().join("outside").exists());
    assert!(table(&lake, "units").is_some_and(|b| b.num_rows() > 0));
    let m = manifest(&lake, AS_OF);
    assert_eq!(m.output("unit_scores", "parquet").unwrap().rows, 1500);

    // A points value that is SQL is rejected with the table and the problem named.
    let bad = tmp.path().join("bad-rules");
    std::fs::create_dir_all(&bad).unwrap();
    for f in std::fs::read_dir(&shipped).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, bad.join(f.file_name().unwrap())).unwrap();
    }
    let text = std::fs::read_to_string(bad.join("bonuses.csv")).unwrap();
    let text = text.replacen("B01,20,", "B01,20 OR 1=1,", 1);
    std::fs::write(bad.join("bonuses.csv"), text).unwrap();
    let out = run(&lake, &["--rules", bad.to_str().unwrap()]);
    assert_rejected(&out, "bonuses");
    assert_eq!(manifest(&lake, AS_OF), m, "the committed run is unchanged");
}
