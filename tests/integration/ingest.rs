//! `firecredit ingest` on the committed samples and on hand-made inboxes.

use std::collections::BTreeMap;
use std::path::Path;

use crate::helpers::*;

fn summary(inbox: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(samples(inbox).join("_truth/summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn sample_inbox_accounts_for_every_row_of_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    assert_ok(&ingest(&samples("inbox"), &lake));
    let quality = quality(&lake);
    let truth = summary("inbox");
    assert_eq!(quality.len(), 8, "one quality row per file: {quality:?}");
    for (file, (status, read, accepted, quarantined, superseded, _)) in &quality {
        assert_eq!(status, "ok", "{file}");
        assert_eq!(
            *read,
            accepted + quarantined + superseded,
            "identity for {file}"
        );
        let source = file.split('/').next().unwrap();
        assert_eq!(
            *read,
            truth["rows"][source].as_i64().unwrap(),
            "{file} rows read"
        );
        assert_eq!(*quarantined, 0, "the clean sample has no defects: {file}");
        let planted = truth["superseded"][source].as_i64().unwrap_or(0);
        assert_eq!(*superseded, planted, "{file} superseded");
    }
    // One row per unit in the lake, whatever was resent.
    let units = table(&lake, "units").unwrap();
    assert_eq!(units.num_rows(), 1500);
    let mut ids = strings(&units, "unit_id");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1500);
}

#[test]
fn dirty_inbox_quarantines_each_defect_with_its_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let out = ingest(&samples("dirty"), &lake);
    assert_eq!(
        out.status.code(),
        Some(3),
        "unreadable files give exit 3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("registry_without_grid.csv"), "{stderr}");

    let q = table(&lake, "quarantine").unwrap();
    let mut got: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (s, r) in strings(&q, "source").into_iter().zip(strings(&q, "reason")) {
        *got.entry((s.unwrap(), r.unwrap())).or_default() += 1;
    }
    let expected_text =
        std::fs::read_to_string(samples("dirty").join("expected_quarantine.csv")).unwrap();
    let expected: BTreeMap<(String, String), i64> = expected_text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            ((f[0].to_string(), f[1].to_string()), f[2].parse().unwrap())
        })
        .collect();
    assert_eq!(got, expected);
    let reasons: std::collections::BTreeSet<&str> =
        expected.keys().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        reasons.len(),
        8,
        "every contract reason is exercised: {reasons:?}"
    );

    // Quarantine rows keep file, line and the raw row.
    let files = strings(&q, "file");
    let lines = ints(&q, "line");
    let raws = strings(&q, "raw");
    assert!(files
        .iter()
        .all(|f| f.as_deref().is_some_and(|f| f.contains('/'))));
    assert!(lines.iter().all(|l| l.unwrap() >= 1));
    assert!(raws.iter().all(|r| !r.as_deref().unwrap().is_empty()));

    let quality = quality(&lake);
    let failed_text =
        std::fs::read_to_string(samples("dirty").join("expected_failed.csv")).unwrap();
    for line in failed_text.lines().skip(1) {
        let f: Vec<&str> = line.splitn(3, ',').collect();
        let (status, read, ..) = &quality[f[0]];
        assert_eq!((status.as_str(), *read), (f[1], 0), "{}", f[0]);
    }
    let msg = table(&lake, "quality").unwrap();
    let messages = strings(&msg, "message");
    assert!(messages
        .iter()
        .flatten()
        .any(|m| m.contains("required column(s) missing: grid_id")));
    for (file, (status, read, accepted, quarantined, superseded, _)) in &quality {
        assert_eq!(
            *read,
            accepted + quarantined + superseded,
            "identity for {file} ({status})"
        );
    }
    // The other files went in.
    assert_eq!(table(&lake, "units").unwrap().num_rows(), 400);
}

#[test]
fn ingesting_the_same_inbox_again_changes_nothing_and_two_lakes_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    assert_ok(&ingest(&samples("inbox"), &a));
    let before = snapshot(&a);
    let again = ingest(&samples("inbox"), &a);
    assert_ok(&again);
    assert_eq!(snapshot(&a), before, "re-ingest commits nothing");
    assert_ok(&ingest(&samples("inbox"), &b));
    for t in [
        "units",
        "inspections",
        "violations",
        "complaints",
        "incidents",
        "iot_events",
        "credit_actions",
        "inspectors",
        "quality",
    ] {
        let (la, lb) = (table_lines(&a, t), table_lines(&b, t));
        assert!(!la.is_empty(), "{t} has rows");
        assert_eq!(la, lb, "{t} identical in both lakes");
    }
}

/// A file is taken once: a copy of it under another name, in the same inbox or a later one, is
/// skipped (the first in byte order of path is taken), while the files around it go in.
#[test]
fn copies_of_a_file_are_skipped_in_one_inbox_and_across_ingests() {
    let tmp = tempfile::tempdir().unwrap();
    let (first, lake, plain) = (
        tmp.path().join("first"),
        tmp.path().join("lake"),
        tmp.path().join("plain"),
    );
    copy_tree(&samples("inbox"), &first);
    let violations = std::fs::read(first.join("violations/violations.csv")).unwrap();
    std::fs::write(first.join("violations/violations_again.csv"), &violations).unwrap();
    let ingest_logged = |inbox: &Path, lake: &Path| {
        let out = ingest_logging("info", inbox, lake);
        assert_ok(&out);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let log = ingest_logged(&first, &lake);
    assert_ok(&ingest(&samples("inbox"), &plain));
    let taken: Vec<String> = quality(&lake).into_keys().collect();
    assert_eq!(taken, quality(&plain).into_keys().collect::<Vec<_>>());
    assert!(taken.contains(&"violations/violations.csv".to_string()));
    assert!(log.contains("skipped=1"), "{log}");
    assert!(
        log.contains("file=violations/violations_again.csv"),
        "{log}"
    );
    for t in ["violations", "units", "iot_events"] {
        assert_eq!(table_lines(&lake, t), table_lines(&plain, t), "{t}");
    }

    // The next ingest: a copy of an ingested file, and a new file.
    let next = tmp.path().join("next");
    let inspectors = std::fs::read_to_string(first.join("inspectors/inspectors.csv")).unwrap();
    let header = inspectors.lines().next().unwrap();
    let row = inspectors.lines().nth(1).unwrap();
    let id = row.split(',').next().unwrap();
    let new_row = row.replacen(id, "P01039999", 1);
    let more = format!("{header}\n{new_row}\n");
    let files: [(&str, &[u8]); 2] = [
        ("violations/resent.csv", &violations),
        ("inspectors/more.csv", more.as_bytes()),
    ];
    let more = inbox(&next, "more", &files);
    let log = ingest_logged(&more, &lake);
    let after = quality(&lake);
    assert!(!after.contains_key("violations/resent.csv"));
    assert_eq!(
        after["inspectors/more.csv"].2, 1,
        "the new file's row is taken"
    );
    assert!(log.contains("skipped=1"), "{log}");
    assert_eq!(
        table_lines(&lake, "violations"),
        table_lines(&plain, "violations")
    );
}

#[test]
fn gbk_names_round_trip_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    assert_ok(&ingest(&samples("inbox"), &lake));
    let bytes = std::fs::read(samples("inbox").join("units/units.csv")).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the sample registry really is GBK"
    );
    let (text, _, bad) = encoding_rs::GB18030.decode(&bytes);
    assert!(!bad);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let expected: BTreeMap<String, String> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[2].to_string())
        })
        .collect();
    let got = unit_names(&lake);
    assert_eq!(got, expected);
    assert!(
        got.values().any(|n| n.contains("天河")),
        "Chinese district names survive"
    );
}

/// unit_id → name of the lake's units.
fn unit_names(lake: &std::path::Path) -> BTreeMap<String, String> {
    let units = table(lake, "units").unwrap();
    strings(&units, "unit_id")
        .into_iter()
        .zip(strings(&units, "name"))
        .map(|(i, n)| (i.unwrap(), n.unwrap()))
        .collect()
}

const UNITS_HEADER: &str = "unit_id,name,grid_id,updated_at\n";

#[test]
fn the_same_id_again_is_an_update_ordered_by_updated_at() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let first = format!("{UNITS_HEADER}U1,甲,G1,2026-01-02T00:00:00+08:00\nU2,乙,G1,\n");
    assert_ok(&ingest(
        &inbox(tmp.path(), "d1", &[("units/a.csv", first.as_bytes())]),
        &lake,
    ));
    // An older version arrives later: superseded.
    let older = format!("{UNITS_HEADER}U1,旧,G1,2026-01-01T00:00:00+08:00\n");
    assert_ok(&ingest(
        &inbox(tmp.path(), "d2", &[("units/a.csv", older.as_bytes())]),
        &lake,
    ));
    let q = quality(&lake);
    assert_eq!(q["units/a.csv"].4, 1, "the older row is superseded: {q:?}");
    // A newer version, and U2 again without updated_at (later wins), in two files of one ingest.
    let newer = format!("{UNITS_HEADER}U1,新,G1,2026-01-03T00:00:00+08:00\nU2,乙二,G1,\n");
    let newest = format!("{UNITS_HEADER}U2,乙三,G2,\n");
    assert_ok(&ingest(
        &inbox(
            tmp.path(),
            "d3",
            &[
                ("units/b.csv", newer.as_bytes()),
                ("units/c.csv", newest.as_bytes()),
            ],
        ),
        &lake,
    ));
    let got = unit_names(&lake);
    assert_eq!(
        got,
        BTreeMap::from([("U1".into(), "新".into()), ("U2".into(), "乙三".into())])
    );
    let q = quality(&lake);
    assert_eq!(
        (q["units/b.csv"].2, q["units/b.csv"].4),
        (1, 1),
        "b.csv: U1 accepted, U2 superseded by c.csv"
    );
    assert_eq!((q["units/c.csv"].2, q["units/c.csv"].4), (1, 0));
}

#[test]
fn unknown_unit_rows_are_released_when_their_unit_arrives() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let units = format!("{UNITS_HEADER}U1,甲,G1,\n");
    let violations = "violation_id,inspection_id,unit_id,code,found_on\nV1,I1,U1,V103,2026-01-05\nV2,I1,U7,V101,2026-01-05\n";
    assert_ok(&ingest(
        &inbox(
            tmp.path(),
            "d1",
            &[
                ("units/u.csv", units.as_bytes()),
                ("violations/v.csv", violations.as_bytes()),
            ],
        ),
        &lake,
    ));
    let q = table(&lake, "quarantine").unwrap();
    assert_eq!(
        strings(&q, "reason"),
        vec![Some("unknown_unit".to_string())]
    );
    assert_eq!(table(&lake, "violations").unwrap().num_rows(), 1);

    let late = format!("{UNITS_HEADER}U7,后到单位,G1,\n");
    assert_ok(&ingest(
        &inbox(tmp.path(), "d2", &[("units/late.csv", late.as_bytes())]),
        &lake,
    ));
    let v = table(&lake, "violations").unwrap();
    let mut ids: Vec<_> = strings(&v, "violation_id").into_iter().flatten().collect();
    ids.sort();
    assert_eq!(ids, vec!["V1", "V2"]);
    let q = table(&lake, "quarantine").unwrap();
    assert_eq!(
        ints(&q, "released_in"),
        vec![Some(2)],
        "the quarantine row records its release"
    );
    let quality = quality(&lake);
    assert_eq!(
        quality["units/late.csv"].5, 1,
        "released rows are credited to the file that brought the unit"
    );
    assert_eq!(
        quality["violations/v.csv"],
        ("ok".into(), 2, 1, 1, 0, 0),
        "the first file's counts stay as read"
    );
}

#[test]
fn typed_parquet_input_reads_like_its_text() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    assert_ok(&ingest(&samples("inbox"), &a));
    // The lake's own typed units file, sent as an inbox file.
    let snap = snapshot(&a);
    let part = a.join(&snap.files("units")[0].path);
    let bytes = std::fs::read(part).unwrap();
    let inbox = inbox(tmp.path(), "typed", &[("units/registry.parquet", &bytes)]);
    assert_ok(&ingest(&inbox, &b));
    let (ua, ub) = (table(&a, "units").unwrap(), table(&b, "units").unwrap());
    assert_eq!(ua.num_rows(), ub.num_rows());
    for col in ["unit_id", "name", "uscc", "use_type", "district_code"] {
        assert_eq!(strings(&ua, col), strings(&ub, col), "{col}");
    }
    for col in [
        "opened_on",
        "updated_at",
        "key_unit",
        "floor_area_m2",
        "build_year",
    ] {
        assert_eq!(
            ua.column_by_name(col).unwrap(),
            ub.column_by_name(col).unwrap(),
            "{col}"
        );
    }
    let q = table(&b, "quality").unwrap();
    let warnings = strings(&q, "warnings");
    assert!(
        warnings[0].as_deref().unwrap().contains("_ingest"),
        "extra lineage columns are reported: {warnings:?}"
    );
}

#[test]
fn encodings_and_formats_of_one_source_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = "inspector_id,name,district_code,active,conflict_unit_ids\nP1,陈志强,440106,是,U1;U2\nP2,李敏,440106,N,\n";
    let (gbk, _, _) = encoding_rs::GB18030.encode(csv);
    // encoding_rs only decodes UTF-16 (WHATWG), so the file is built by hand.
    let mut utf16_bom = vec![0xFF, 0xFE];
    for u in csv.encode_utf16() {
        utf16_bom.extend_from_slice(&u.to_le_bytes());
    }
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(csv.as_bytes());
    let ndjson = "{\"inspector_id\":\"P1\",\"name\":\"陈志强\",\"district_code\":\"440106\",\"active\":true,\"conflict_unit_ids\":[\"U1\",\"U2\"]}\n{\"inspector_id\":\"P2\",\"name\":\"李敏\",\"district_code\":\"440106\",\"active\":\"N\",\"conflict_unit_ids\":null}\n";
    let variants: [(&str, &[u8]); 5] = [
        ("inspectors/x.csv", csv.as_bytes()),
        ("inspectors/x.csv", &gbk),
        ("inspectors/x.csv", &utf16_bom),
        ("inspectors/x.csv", &bom),
        ("inspectors/x.ndjson", ndjson.as_bytes()),
    ];
    let mut first: Option<Vec<String>> = None;
    for (k, (name, bytes)) in variants.iter().enumerate() {
        let lake = tmp.path().join(format!("lake{k}"));
        assert_ok(&ingest(
            &inbox(tmp.path(), &format!("in{k}"), &[(name, bytes)]),
            &lake,
        ));
        let t = table(&lake, "inspectors").unwrap();
        assert_eq!(t.num_rows(), 2, "variant {k}");
        let lines: Vec<String> = table_lines(&lake, "inspectors")
            .into_iter()
            .map(|l| l.rsplitn(3, '|').nth(2).unwrap().to_string())
            .collect();
        assert!(
            lines[0].contains("陈志强")
                && lines[0].contains("[U1, U2]")
                && lines[0].contains("true"),
            "{lines:?}"
        );
        match &first {
            None => first = Some(lines),
            Some(f) => assert_eq!(&lines, f, "variant {k}"),
        }
    }
}

#[test]
fn a_generated_100k_unit_inbox_accounts_for_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (inbox, lake) = (tmp.path().join("inbox"), tmp.path().join("lake"));
    let gen = firecredit(&[
        "generate",
        "--out",
        inbox.to_str().unwrap(),
        "--units",
        "100000",
        "--as-of",
        "2026-06-30",
        "--seed",
        "3",
        "--dirty",
        "0.001",
        "--gbk",
        "units",
        "--ndjson",
        "complaints",
    ]);
    assert_ok(&gen);
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(inbox.join("_truth/summary.json")).unwrap())
            .unwrap();
    assert_ok(&ingest(&inbox, &lake));
    let quality = quality(&lake);
    let mut per_source: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for (file, (status, read, accepted, quarantined, superseded, _)) in &quality {
        assert_eq!(status, "ok", "{file}");
        assert_eq!(
            *read,
            accepted + quarantined + superseded,
            "identity for {file}"
        );
        let e = per_source
            .entry(file.split('/').next().unwrap().to_string())
            .or_default();
        *e = (e.0 + read, e.1 + quarantined, e.2 + superseded);
    }
    for (source, (read, quarantined, superseded)) in &per_source {
        assert_eq!(
            *read,
            truth["rows"][source].as_i64().unwrap(),
            "{source} read"
        );
        let injected: i64 = truth["defects"][source]
            .as_object()
            .map_or(0, |m| m.values().map(|v| v.as_i64().unwrap()).sum());
        assert_eq!(*quarantined, injected, "{source} quarantined");
        assert_eq!(
            *superseded,
            truth["superseded"][source].as_i64().unwrap_or(0),
            "{source} superseded"
        );
    }
    assert_eq!(table(&lake, "units").unwrap().num_rows(), 100_000);
    assert!(
        per_source["iot_events"].0 > 5_000_000,
        "IoT dominates the volume"
    );
}
