//! Hostile and unlucky inputs (issue 20): megabyte rows in bounded memory, a file that breaks
//! its reader fails alone, an unclosed quote is reported, files in flight wait, spreadsheet
//! formulas are escaped in every CSV, a cut-short commit record is survived, and `verify-plan`
//! checks the files against the manifest.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use super::helpers::*;

const AS_OF: &str = "2026-06-30";
const UNITS_HEADER: &str = "unit_id,name,district_code,grid_id,use_type,key_unit,status\n";

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The peak resident memory (VmHWM, bytes) of a child, polled until it exits.
fn run_measuring_peak(args: &[&str]) -> (std::process::ExitStatus, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_firecredit"))
        .args(["--log", "warn"])
        .args(args)
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            for line in text.lines() {
                if let Some(kb) = line.strip_prefix("VmHWM:") {
                    let kb: u64 = kb.trim().trim_end_matches(" kB").trim().parse().unwrap();
                    peak = peak.max(kb * 1024);
                }
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status, peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn two_thousand_megabyte_names_are_quarantined_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let inbox = tmp.path().join("inbox");
    let path = inbox.join("units/huge.csv");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    file.write_all(UNITS_HEADER.as_bytes()).unwrap();
    file.write_all(b"U-SMALL-1,small one,440106,440106-G000,office,false,open\n")
        .unwrap();
    let name = "x".repeat(1 << 20);
    for i in 0..2000 {
        writeln!(
            file,
            "U-BIG-{i:04},{name},440106,440106-G000,office,false,open"
        )
        .unwrap();
    }
    file.write_all(b"U-SMALL-2,small two,440106,440106-G000,office,false,open\n")
        .unwrap();
    file.into_inner().unwrap().sync_all().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 2000 << 20);

    let lake = tmp.path().join("lake");
    let (status, peak) = run_measuring_peak(&[
        "ingest",
        "--inbox",
        inbox.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
    ]);
    assert!(status.success(), "{status}");
    assert!(peak > 0 && peak < 1 << 30, "peak RSS {} MiB", peak >> 20);

    let q = table(&lake, "quarantine").unwrap();
    let (reasons, raws, details) = (
        strings(&q, "reason"),
        strings(&q, "raw"),
        strings(&q, "detail"),
    );
    assert_eq!(q.num_rows(), 2000);
    assert!(reasons.iter().all(|r| r.as_deref() == Some("too_large")));
    assert!(raws
        .iter()
        .flatten()
        .all(|r| r.len() < 2048 && r.ends_with(" bytes]")));
    assert!(
        details[0]
            .as_deref()
            .unwrap()
            .contains("limit 1048576 per record"),
        "{details:?}"
    );
    let quality = quality(&lake);
    // (status, read, accepted, quarantined, superseded, released)
    assert_eq!(
        quality["units/huge.csv"],
        ("ok".into(), 2002, 2, 2000, 0, 0)
    );
    let units = table(&lake, "units").unwrap();
    assert_eq!(
        strings(&units, "unit_id"),
        [Some("U-SMALL-1".into()), Some("U-SMALL-2".into())]
    );
}

/// A small valid Parquet inbox file of inspections.
fn inspections_parquet() -> Vec<u8> {
    use datafusion::arrow::array::{ArrayRef, StringArray};
    use datafusion::arrow::record_batch::RecordBatch;
    let col = |v: Vec<&str>| std::sync::Arc::new(StringArray::from(v)) as ArrayRef;
    let batch = RecordBatch::try_from_iter([
        ("inspection_id", col(vec!["PQ-1", "PQ-2", "PQ-3"])),
        ("unit_id", col(vec!["U0000000", "U0000001", "U0000002"])),
        (
            "inspected_on",
            col(vec!["2026-01-05", "2026-01-06", "2026-01-07"]),
        ),
        ("kind", col(vec!["random", "random", "complaint"])),
        (
            "inspector_ids",
            col(vec!["P06050001", "P06050001", "P06050002"]),
        ),
        ("outcome", col(vec!["pass", "pass", "pass"])),
    ])
    .unwrap();
    let mut out = Vec::new();
    let mut w =
        datafusion::parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out
}

#[test]
fn a_file_that_breaks_its_reader_fails_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let inbox = tmp.path().join("inbox");
    copy_tree(&samples("inbox"), &inbox);
    let good = inspections_parquet();
    write(&inbox.join("inspections/good.parquet"), &good);
    // A crafted footer: the magic bytes around a metadata length pointing before the file.
    let mut crafted = b"PAR1".to_vec();
    crafted.extend_from_slice(&[0x15, 0x04, 0x15, 0x04]);
    crafted.extend_from_slice(&u32::MAX.to_le_bytes());
    crafted.extend_from_slice(b"PAR1");
    write(&inbox.join("inspections/crafted.parquet"), &crafted);
    // Mutants of the good file: each is ingested or fails with a reason; none stops the rest.
    for (i, at) in (8..good.len() - 8).step_by(good.len() / 24).enumerate() {
        let mut m = good.clone();
        m[at] ^= 0x5A;
        m[at + 1] = m[at + 1].wrapping_add(97);
        write(
            &inbox.join(format!("inspections/mutant-{i:02}.parquet")),
            &m,
        );
    }
    // And a reader that panics on one file (the test hook stands in for a reader bug).
    write(&inbox.join("violations/panics.csv"), b"violation_id\n");
    let lake = tmp.path().join("lake");
    let out = Command::new(env!("CARGO_BIN_EXE_firecredit"))
        .args([
            "--log",
            "warn",
            "ingest",
            "--inbox",
            inbox.to_str().unwrap(),
        ])
        .args(["--lake", lake.to_str().unwrap()])
        .env("FIRECREDIT_PANIC_IN", "violations/panics.csv")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let quality = quality(&lake);
    let q = table(&lake, "quality").unwrap();
    let messages: std::collections::BTreeMap<_, _> = strings(&q, "file")
        .into_iter()
        .zip(strings(&q, "message"))
        .map(|(f, m)| (f.unwrap(), m))
        .collect();
    assert_eq!(quality["inspections/crafted.parquet"].0, "failed");
    assert!(messages["inspections/crafted.parquet"]
        .as_deref()
        .unwrap()
        .starts_with("not a readable Parquet file"));
    assert_eq!(quality["violations/panics.csv"].0, "failed");
    assert_eq!(
        messages["violations/panics.csv"].as_deref(),
        Some("the reader failed on this file: FIRECREDIT_PANIC_IN names this file")
    );
    // Its rows are read (mutants that still read send the same ids later: superseded).
    let good = &quality["inspections/good.parquet"];
    assert_eq!((good.0.as_str(), good.1), ("ok", 3));
    let mutants = quality.keys().filter(|f| f.contains("mutant-")).count();
    assert!(mutants >= 20, "{mutants} mutants accounted for");
    // Every sample file went in regardless.
    for f in [
        "units/units.csv",
        "inspections/inspections.csv",
        "complaints/complaints.ndjson",
    ] {
        assert_eq!(quality[f].0, "ok", "{f}");
    }
}

#[test]
fn an_unclosed_quote_is_warned_about_and_files_in_flight_wait() {
    let tmp = tempfile::tempdir().unwrap();
    let inbox = tmp.path().join("inbox");
    let mut units = UNITS_HEADER.to_string();
    units += "U-Q1,fine,440106,440106-G000,office,false,open\n";
    units += "U-Q2,\"unclosed,440106,440106-G000,office,false,open\n";
    for i in 0..150 {
        units += &format!(
            "U-Q{},swallowed,440106,440106-G000,office,false,open\n",
            i + 3
        );
    }
    write(&inbox.join("units/quote.csv"), units.as_bytes());
    write(&inbox.join("units/upload.csv.part"), b"half a file");
    write(&inbox.join("units/.hidden.csv"), b"not for us");
    write(&inbox.join("units/copying.tmp"), b"not yet");
    let lake = tmp.path().join("lake");
    assert_ok(&ingest(&inbox, &lake));
    let quality = quality(&lake);
    assert_eq!(
        quality.keys().collect::<Vec<_>>(),
        ["units/quote.csv"],
        "in-flight files wait"
    );
    // Two records read: the quote took the 150 lines after it into the second.
    assert_eq!(quality["units/quote.csv"], ("ok".into(), 2, 1, 1, 0, 0));
    let q = table(&lake, "quality").unwrap();
    let warnings = strings(&q, "warnings")[0].clone().unwrap();
    assert!(
        warnings
            .contains("1 record(s) span more than 100 lines or 1048576 bytes, the first at line 3"),
        "{warnings}"
    );

    // --min-age: a file modified just now waits for the next ingest.
    write(&inbox.join("units/fresh.csv"), b"unit_id,name,district_code,grid_id,use_type,key_unit,status\nU-F,f,440106,440106-G000,office,false,open\n");
    let out = firecredit(&[
        "ingest",
        "--inbox",
        inbox.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
        "--min-age",
        "1h",
    ]);
    assert_ok(&out);
    assert!(!super::helpers::quality(&lake).contains_key("units/fresh.csv"));
    assert_ok(&ingest(&inbox, &lake));
    assert_eq!(super::helpers::quality(&lake)["units/fresh.csv"].0, "ok");
}

#[test]
fn formula_names_are_escaped_in_every_csv_and_raw_elsewhere() {
    const EVIL: &str = "=HYPERLINK(\"http://evil.example\",\"click\")";
    let tmp = tempfile::tempdir().unwrap();
    let inbox = tmp.path().join("inbox");
    copy_tree(&samples("inbox"), &inbox);
    let units = format!(
        "{UNITS_HEADER}U-EVIL,\"{}\",440106,440106-G000,office,false,open\nU-PLUS,+1 Mall,440106,440106-G000,retail,false,open\n",
        EVIL.replace('"', "\"\"")
    );
    write(&inbox.join("units/evil.csv"), units.as_bytes());
    let lake = tmp.path().join("lake");
    let m = nightly(&inbox, &lake, AS_OF, None);
    let mut escaped = 0;
    for o in m.outputs.iter().filter(|o| o.format == "csv") {
        let mut reader = csv::Reader::from_path(lake.join(&o.path)).unwrap();
        for record in reader.records() {
            for cell in record.unwrap().iter() {
                assert!(
                    !cell.starts_with("=HYPERLINK") && !cell.starts_with("+1 Mall"),
                    "{}: {cell}",
                    o.path
                );
                escaped += usize::from(cell == format!("'{EVIL}") || cell == "'+1 Mall");
            }
        }
    }
    assert!(escaped >= 2, "{escaped} escaped cells");
    // The feed's Parquet and NDJSON keep the raw value.
    let names = published(&lake, &m, "scores", &["unit_id", "name"]);
    assert!(names.contains(&format!("U-EVIL,{EVIL}")), "{names:?}");
    let ndjson =
        std::fs::read_to_string(lake.join(&m.output("scores", "ndjson").unwrap().path)).unwrap();
    assert!(ndjson.contains(&serde_json::to_string(EVIL).unwrap()));
}

#[test]
fn a_cut_short_newest_commit_record_is_survived() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    assert_ok(&ingest(&samples("inbox"), &lake));
    let units = table(&lake, "units").unwrap().num_rows();
    let files = quality(&lake);
    // The newest record of the quality table (an ingest's last commit), cut short.
    cut_newest_record(&lake.join("tables/quality/_delta_log"));
    // The next command sets it aside, says so, and reads the newest readable version.
    let out = firecredit(&[
        "lake",
        "history",
        "quality",
        "--lake",
        lake.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the newest commit record is unreadable"),
        "{stderr}"
    );
    let aside = lake.join("tables/quality/_unreadable_commits");
    assert_eq!(aside.read_dir().unwrap().count(), 1);
    // The ingest it belonged to is recorded in the ingest log: the next writer finishes it, and
    // the night runs on the whole lake.
    let m = nightly(&samples("inbox"), &lake, AS_OF, None);
    assert_eq!(quality(&lake), files);
    assert_eq!(table(&lake, "units").unwrap().num_rows(), units);
    assert_eq!(m.lake_version, 1);
    assert!(m.output("unit_scores", "parquet").unwrap().rows > 1000);

    // A source table's newest record cut short: its data is gone from the newest readable
    // version, and the next writer applies the ingest log's change to it again.
    cut_newest_record(&lake.join("tables/units/_delta_log"));
    let rows = table(&lake, "units").map_or(0, |b| b.num_rows());
    assert_eq!(rows, 0, "read at the version before");
    let out = ingest(&samples("inbox"), &lake);
    assert_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("applying it again"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(table(&lake, "units").unwrap().num_rows(), units);
    assert_eq!(quality(&lake), files);
}

/// Cuts the newest commit record of a Delta log to a third, as a power cut on a disk that did
/// not flush it would.
fn cut_newest_record(log: &Path) {
    let newest = std::fs::read_dir(log)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .max()
        .unwrap();
    let bytes = std::fs::read(&newest).unwrap();
    std::fs::write(&newest, &bytes[..bytes.len() / 3]).unwrap();
}

#[test]
fn verify_plan_checks_the_files_against_the_manifest_and_unit_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let m = nightly(&samples("inbox"), &lake, AS_OF, None);
    let plan = lake.join(&m.output("inspection_plan", "parquet").unwrap().path);
    let dir = plan.parent().unwrap().to_path_buf();
    assert_ok(&firecredit(&["verify-plan", dir.to_str().unwrap()]));
    // The default seed mixes the date with the lake's content digest, and is printed.
    let seeds = published(&lake, &m, "inspection_plan", &["seed"]);
    assert!(
        seeds
            .iter()
            .all(|s| s.starts_with("2026-06-30:") && s.len() == 27),
        "{seeds:?}"
    );

    // The same rows in new bytes: only the checksum tells.
    let original = std::fs::read(&plan).unwrap();
    let batches: Vec<_> =
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(
            bytes::Bytes::from(original.clone()),
            1024,
        )
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut rewritten = Vec::new();
    let mut w =
        datafusion::parquet::arrow::ArrowWriter::try_new(&mut rewritten, batches[0].schema(), None)
            .unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    assert_ne!(rewritten, original);
    std::fs::write(&plan, &rewritten).unwrap();
    let out = firecredit(&["verify-plan", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(5));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("inspection_plan.parquet: SHA-256")
            && text.contains("changed after publishing"),
        "{text}"
    );
    std::fs::write(&plan, &original).unwrap();
    assert_ok(&firecredit(&["verify-plan", dir.to_str().unwrap()]));
}
