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
    copy_tree(&shipped, &rules);
    let hostile = "x'); DROP TABLE units; -- ../../outside \"q\" \0 nul";
    let text = std::fs::read_to_string(rules.join("bonuses.csv")).unwrap();
    let text = text.replacen(
        "registered fire engineer on staff (each)",
        &format!("\"{}\"", hostile.replace('"', "\"\"")),
        1,
    );
    // And a megabyte Chinese name.
    let text = text.replacen("配备注册消防工程师（每人）", &"消防".repeat(200_000), 1);
    std::fs::write(rules.join("bonuses.csv"), text).unwrap();
    let out = run(&lake, &["--rules", rules.to_str().unwrap()]);
    assert_ok(&out);
    assert!(!tmp.path().join("outside").exists());
    assert!(table(&lake, "units").is_some_and(|b| b.num_rows() > 0));
    let m = manifest(&lake, AS_OF);
    assert_eq!(m.output("unit_scores", "parquet").unwrap().rows, 1500);

    // A points value that is SQL is rejected with the table and the problem named.
    let bad = tmp.path().join("bad-rules");
    copy_tree(&shipped, &bad);
    let text = std::fs::read_to_string(bad.join("bonuses.csv")).unwrap();
    let text = text.replacen("B01,20,", "B01,20 OR 1=1,", 1);
    std::fs::write(bad.join("bonuses.csv"), text).unwrap();
    let out = run(&lake, &["--rules", bad.to_str().unwrap()]);
    assert_rejected(&out, "bonuses");
    assert_eq!(manifest(&lake, AS_OF), m, "the committed run is unchanged");

    // A folder missing a table, a table that is not text, a folder that does not exist.
    std::fs::remove_file(bad.join("classes.csv")).unwrap();
    assert_rejected(
        &run(&lake, &["--rules", bad.to_str().unwrap()]),
        "classes.csv",
    );
    std::fs::write(
        bad.join("classes.csv"),
        b"class,window_days\n\xff\xfe\x00\n",
    )
    .unwrap();
    assert_rejected(
        &run(&lake, &["--rules", bad.to_str().unwrap()]),
        "not UTF-8",
    );
    let missing = tmp.path().join("no-such-rules");
    assert_rejected(
        &run(&lake, &["--rules", missing.to_str().unwrap()]),
        "missing from",
    );
    assert_eq!(manifest(&lake, AS_OF), m, "the committed run is unchanged");
}

/// Copies the sample inbox into `dir/inbox` and adds `files` (relative path → bytes).
fn sample_inbox_with(dir: &Path, files: &[(&str, Vec<u8>)]) -> std::path::PathBuf {
    let root = dir.join("inbox");
    copy_tree(&samples("inbox"), &root);
    for (rel, bytes) in files {
        std::fs::write(root.join(rel), bytes).unwrap();
    }
    root
}

#[test]
fn hostile_ids_names_and_megabyte_fields_are_plain_data_or_quarantined() {
    const SQL_ID: &str = "X'); DROP TABLE units; --";
    const PATH_ID: &str = "../../../outside/escape";
    const NUL_ID: &str = "U\0NUL";
    const NEWLINE_ID: &str = "U\nNEWLINE";
    const MEGA_ID: &str = "U-MEGA";
    const HOSTILE_IDS: [&str; 5] = [SQL_ID, PATH_ID, NUL_ID, NEWLINE_ID, MEGA_ID];
    // 60 KB of UTF-8: large, and within the 64 KiB a cell may hold.
    let mega_name = "火".repeat(20_000);
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let unit_row = |id: &str, name: &str, grid: &str, use_type: &str| {
        format!(
            "{},{},440106,{},{use_type},true,open\n",
            quote(id),
            quote(name),
            quote(grid)
        )
    };
    let mut units = "unit_id,name,district_code,grid_id,use_type,key_unit,status\n".to_string();
    units += &unit_row(
        SQL_ID,
        "\"quoted\" name, with comma",
        "../../outside",
        "hotel",
    );
    units += &unit_row(PATH_ID, "a\0b", "G/../../x", "retail");
    units += &unit_row(NUL_ID, "nul id", "440106-G000", "retail");
    units += &unit_row(NEWLINE_ID, "line\nbreak", "440106-G000", "retail");
    units += &unit_row(MEGA_ID, &mega_name, "440106-G000", "office");
    // A megabyte value where an enum belongs: over the cell limit, quarantined as too_large.
    units += &unit_row("U-MEGA-ENUM", "x", "440106-G000", &"x".repeat(1 << 20));

    // One serious violation (V103, 100 points) for each hostile id, as NDJSON with JSON escapes.
    let violations: String = HOSTILE_IDS
        .iter()
        .enumerate()
        .map(|(i, id)| {
            serde_json::json!({
                "violation_id": format!("HV{i}'; DELETE FROM violations; --"),
                "inspection_id": "../../inspections",
                "unit_id": id,
                "code": "V103",
                "found_on": "2026-03-01",
            })
            .to_string()
                + "\n"
        })
        .collect();
    // An objection whose ref_id is SQL voids nothing.
    let actions = serde_json::json!({
        "action_id": "A'--", "unit_id": SQL_ID, "kind": "objection_upheld",
        "ref_id": "x' OR '1'='1", "effective_on": "2026-04-01",
    })
    .to_string()
        + "\n";

    let tmp = tempfile::tempdir().unwrap();
    let inbox = sample_inbox_with(
        tmp.path(),
        &[
            ("units/hostile.csv", units.into_bytes()),
            ("violations/hostile.ndjson", violations.into_bytes()),
            ("credit_actions/hostile.ndjson", actions.into_bytes()),
        ],
    );
    let lake = tmp.path().join("lake");
    let m = nightly(&inbox, &lake, AS_OF, None);

    // Every file written is in the lake (or the inbox the test made).
    for path in listing(tmp.path()) {
        assert!(
            path.starts_with("lake/") || path.starts_with("inbox/"),
            "written outside the lake: {path}"
        );
    }

    // No SQL ran: every sample unit and the five hostile ones are scored.
    assert_eq!(m.output("unit_scores", "parquet").unwrap().rows, 1505);

    // The ids are stored and published verbatim, scored like any unit (1000 − 100); the CSV
    // quotes what needs quoting, so read back it gives every id intact.
    let scores = published(&lake, &m, "unit_scores", &["credit_points", "unit_id"]);
    let units = table(&lake, "units").unwrap();
    let stored_ids = strings(&units, "unit_id");
    let csv_path = lake.join(&m.output("unit_scores", "csv").unwrap().path);
    let mut reader = csv::Reader::from_path(csv_path).unwrap();
    let points_at = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "credit_points")
        .unwrap();
    let points: std::collections::HashMap<String, String> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[points_at].to_string())
        })
        .collect();
    for id in HOSTILE_IDS {
        assert!(
            stored_ids.contains(&Some(id.to_string())),
            "{id:?} not stored"
        );
        assert_eq!(points.get(id).map(String::as_str), Some("900"), "{id:?}");
        assert!(
            scores.contains(&format!("900,{id}")),
            "{id:?}: 900 points in the Parquet"
        );
    }
    let names = strings(&units, "name");
    assert!(
        names.contains(&Some(mega_name.clone())),
        "a 60 KB name kept whole"
    );
    assert!(
        names.contains(&Some("a\0b".to_string())),
        "NUL kept as data"
    );

    // The megabyte enum is quarantined with its reason and a clipped raw row.
    let q = table(&lake, "quarantine").unwrap();
    let (files, reasons, raws) = (
        strings(&q, "file"),
        strings(&q, "reason"),
        strings(&q, "raw"),
    );
    let hit = (0..q.num_rows())
        .find(|&i| files[i].as_deref() == Some("units/hostile.csv"))
        .expect("the megabyte enum row is quarantined");
    assert_eq!(reasons[hit].as_deref(), Some("too_large"));
    let raw = raws[hit].as_ref().unwrap();
    assert!(raw.starts_with("U-MEGA-ENUM,x,440106"), "{raw:.80}");
    assert!(raw.len() < 2048 && raw.ends_with(" bytes]"), "{raw:.80}");
    assert_eq!(
        (0..q.num_rows())
            .filter(|&i| files[i].as_deref().is_some_and(|f| f.contains("hostile")))
            .count(),
        1,
        "only that row is quarantined"
    );
}
