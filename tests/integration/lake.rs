//! The lake as Delta tables: read by an independent Delta reader (delta-rs's Python package),
//! migrated from the former format, read again at pinned versions, compacted and vacuumed,
//! ingests killed at every commit point, and two real processes writing one lake at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use firecredit::lake::tables;

use super::helpers::*;

const DAY1: &str = "2026-06-29";
const DAY2: &str = "2026-06-30";

/// The two inboxes the former-format fixture lake was made from: day 2 updates unit U1 and
/// violation V3, and brings unit U3, which releases V2 from the quarantine (V4's unit U9 never
/// arrives).
pub fn fixture_inbox(day: &str) -> PathBuf {
    repo().join("tests/fixtures/v1-lake-inbox").join(day)
}

fn lake_cmd(lake: &Path, args: &[&str]) -> Output {
    let mut all = vec!["lake", "--lake", lake.to_str().unwrap()];
    all.extend(args);
    firecredit(&all)
}

/// Every lake table as firecredit reads it (sorted lines).
fn all_lines(lake: &Path) -> BTreeMap<&'static str, Vec<String>> {
    tables::all()
        .into_iter()
        .map(|(name, _)| (name, table_lines(lake, name)))
        .collect()
}

/// Reads the Delta tables `specs` (`tables/units`, `feed/scores@cdf=3`) of the lake at `uri`
/// with the `deltalake` Python package; each as one batch.
fn delta_reader(uri: &str, specs: &[String]) -> BTreeMap<String, RecordBatch> {
    require_python("deltalake", "deltalake");
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("python3")
        .arg(repo().join("tests/integration/delta_read.py"))
        .arg(uri)
        .arg(out.path())
        .args(specs)
        .status()
        .unwrap();
    assert!(status.success(), "the Delta reader failed on {uri}");
    specs
        .iter()
        .map(|spec| {
            let (table, cdf) = match spec.split_once("@cdf=") {
                Some((t, _)) => (t, "@cdf"),
                None => (spec.as_str(), ""),
            };
            let file = out
                .path()
                .join(format!("{}{cdf}.parquet", table.replace('/', "__")));
            (spec.clone(), parquet_file(&file))
        })
        .collect()
}

/// Asserts the Delta reader reads every lake table of `lake` (a folder, or an `s3://` URL with
/// the AWS settings in this process's environment) as firecredit does.
pub fn assert_reader_agrees(lake: &Path) {
    let specs: Vec<String> = tables::all()
        .into_iter()
        .map(|(name, _)| tables::root(name))
        .collect();
    let read = delta_reader(lake.to_str().unwrap(), &specs);
    for (name, schema) in tables::all() {
        let mut batch = read[&tables::root(name)].clone();
        // The partition column comes from the Delta log: the months of the files firecredit
        // reads. Then the rest is compared.
        if let Ok(i) = batch.schema().index_of(tables::IOT_MONTH) {
            let mut months: Vec<String> = strings(&batch, tables::IOT_MONTH)
                .into_iter()
                .map(|m| m.expect("every row has its month"))
                .collect();
            months.sort();
            months.dedup();
            let mut folders: Vec<String> = referenced(lake, name)
                .iter()
                .filter_map(|p| p.split("/month=").nth(1))
                .map(|p| p.split('/').next().unwrap().to_string())
                .collect();
            folders.sort();
            folders.dedup();
            assert_eq!(months, folders, "{name}: partitions");
            batch.remove_column(i);
        }
        assert_eq!(
            batch.schema().fields().len(),
            schema.fields().len(),
            "{name}: columns"
        );
        let mut theirs = batch_lines(&batch, None, "|");
        theirs.sort();
        assert_eq!(
            theirs,
            table_lines(lake, name),
            "{name}: the Delta reader disagrees"
        );
    }
}

/// The data files in a table's folder (what `*.parquet` globbing finds), as lake paths.
fn parquet_in_folder(lake: &Path, name: &str) -> Vec<String> {
    let root = tables::root(name);
    let mut files: Vec<String> = listing(&lake.join(&root))
        .into_iter()
        .filter(|f| f.ends_with(".parquet") && !f.starts_with("_delta_log"))
        .map(|f| format!("{root}/{f}"))
        .collect();
    files.sort();
    files
}

/// Every table folder holds exactly the files of the table's latest version (`when` names the
/// moment in a failure).
fn assert_folders_hold_the_tables(lake: &Path, when: &str) {
    for (name, _) in tables::all() {
        assert_eq!(
            parquet_in_folder(lake, name),
            referenced(lake, name),
            "{name} {when}"
        );
    }
}

fn referenced(lake: &Path, name: &str) -> Vec<String> {
    let mut files: Vec<String> = snapshot(lake)
        .files(name)
        .iter()
        .map(|f| f.path.clone())
        .collect();
    files.sort();
    files
}

#[test]
fn an_independent_delta_reader_reads_every_table_and_the_feed_as_firecredit_does() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let first = nightly(&fixture_inbox("day1"), &lake, DAY1, None);
    nightly(&fixture_inbox("day2"), &lake, DAY2, None);
    // The updates and the release as firecredit reads them.
    let units = table(&lake, "units").unwrap();
    let names: BTreeMap<_, _> = strings(&units, "unit_id")
        .into_iter()
        .zip(strings(&units, "name"))
        .collect();
    assert_eq!(names.len(), 3);
    assert_eq!(names[&Some("U1".into())].as_deref(), Some("甲商场（新址）"));
    // V2 is released by day 2 (its unit arrived); V4's unit never does.
    let quarantine = table(&lake, "quarantine").unwrap();
    let released: BTreeMap<_, _> = strings(&quarantine, "raw")
        .into_iter()
        .map(|raw| raw.unwrap()[..2].to_string())
        .zip(ints(&quarantine, "released_in"))
        .collect();
    assert_eq!(
        released,
        BTreeMap::from([("V2".to_string(), Some(2)), ("V4".to_string(), None)])
    );
    // Superseded files are still in the folders, but not in the tables.
    assert!(parquet_in_folder(&lake, "units").len() > referenced(&lake, "units").len());
    assert_reader_agrees(&lake);

    // A rerun of day 2 replaces its partition of the feed; the change data feed shows it.
    let before = history_versions(&lake, "feed/scores");
    let rerun = run_day(&lake, DAY2, &[]);
    assert_ok(&rerun);
    let day2 = manifest(&lake, DAY2);
    let spec = format!("feed/scores@cdf={}", before + 1);
    let read = delta_reader(
        lake.to_str().unwrap(),
        &["feed/scores".to_string(), spec.clone()],
    );
    let feed = &read["feed/scores"];
    let scores = |m: &firecredit::lake::publish::Manifest| {
        parquet_file(&lake.join(&m.output("scores", "parquet").unwrap().path))
    };
    let (b1, b2) = (scores(&first), scores(&day2));
    // The published columns (the reader puts the partition column last).
    let schema = b1.schema();
    let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut want = batch_lines(&b1, Some(&columns), "|");
    want.extend(batch_lines(&b2, Some(&columns), "|"));
    want.sort();
    let mut got = batch_lines(feed, Some(&columns), "|");
    got.sort();
    assert_eq!(got, want, "feed/scores holds each night's scores once");
    let cdf = &read[&spec];
    let kinds = strings(cdf, "_change_type");
    let count = |k: &str| kinds.iter().filter(|c| c.as_deref() == Some(k)).count();
    assert_eq!(
        count("delete"),
        b2.num_rows(),
        "the rerun removed the old partition"
    );
    assert_eq!(count("insert"), b2.num_rows(), "and added the new one");
    assert_eq!(
        cdf.num_rows(),
        2 * b2.num_rows(),
        "and touched nothing else"
    );

    // After a vacuum, the folders hold exactly the tables' files: any Parquet reader globbing
    // a folder reads the table.
    assert_ok(&lake_cmd(&lake, &["vacuum", "--retain", "0h"]));
    assert_folders_hold_the_tables(&lake, "after vacuum");
    assert_reader_agrees(&lake);
    // The runs the manifests name are kept.
    assert_outputs_match(&lake, &manifest(&lake, DAY1));
    assert_outputs_match(&lake, &day2);
}

/// The latest version of a Delta table, from `firecredit lake history`.
fn history_versions(lake: &Path, table: &str) -> u64 {
    let out = lake_cmd(lake, &["history", table, "--limit", "1"]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let row = text.lines().nth(1).expect("a commit");
    row.split('\t').next().unwrap().parse().unwrap()
}

#[test]
fn migrate_converts_a_lake_of_the_former_format_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    copy_tree(&repo().join("tests/fixtures/v1-lake"), &old);
    // The former format's trap: the quarantine folder holds the superseded file too.
    let folder_rows: usize = listing(&old.join("tables/quarantine"))
        .iter()
        .map(|f| parquet_file(&old.join("tables/quarantine").join(f)).num_rows())
        .sum();
    assert_eq!(
        folder_rows, 4,
        "two rows of day 1, both rewritten on day 2 when V2 was released"
    );
    let old_run = manifest(&old, DAY2);
    assert!(old_run.table_versions.is_empty());

    let out = lake_cmd(&old, &["migrate"]);
    assert_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("migrated ingest 2"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !old.join("_lake").exists(),
        "the private snapshots are gone"
    );

    // The same tables as ingesting the two inboxes today.
    let fresh = tmp.path().join("fresh");
    assert_ok(&ingest(&fixture_inbox("day1"), &fresh));
    assert_ok(&ingest(&fixture_inbox("day2"), &fresh));
    assert_eq!(all_lines(&old), all_lines(&fresh));
    assert_eq!(quality(&old), quality(&fresh));
    assert_eq!(snapshot(&old).version, 2);
    assert_folders_hold_the_tables(&old, "after migrate");
    assert_reader_agrees(&old);

    // The lake goes on: the inboxes are known, a run of the day replaces the old run.
    let again = ingest(&fixture_inbox("day2"), &old);
    assert_ok(&again);
    assert_eq!(snapshot(&old).version, 2, "nothing new to ingest");
    assert_ok(&run_day(&old, DAY2, &[]));
    let new_run = manifest(&old, DAY2);
    assert_eq!(new_run.replaces.as_deref(), Some(old_run.dir.as_str()));
    assert_ok(&run_day(&fresh, DAY2, &[]));
    assert_eq!(checksums(&new_run), checksums(&manifest(&fresh, DAY2)));

    // Twice is refused with a clear message, and changes nothing.
    let twice = lake_cmd(&old, &["migrate"]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("firecredit-lake/1"));
    assert_eq!(all_lines(&old), all_lines(&fresh));
}

#[test]
fn a_run_pinned_to_the_versions_of_a_past_run_publishes_what_it_published() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let then = nightly(&fixture_inbox("day1"), &lake, DAY2, None);
    assert_eq!(then.table_versions["units"], 1);
    assert_eq!(then.table_versions.len(), tables::all().len());
    // Delta timestamps are milliseconds: make "after day 1" and "day 2" distinct instants.
    std::thread::sleep(Duration::from_millis(50));
    let instant = chrono::Utc::now().to_rfc3339();
    std::thread::sleep(Duration::from_millis(50));
    assert_ok(&ingest(&fixture_inbox("day2"), &lake));

    let pins: Vec<String> = then
        .table_versions
        .iter()
        .map(|(t, v)| format!("{t}={v}"))
        .collect();
    assert_ok(&run_day(&lake, DAY2, &["--lake-version", &pins.join(",")]));
    let pinned = manifest(&lake, DAY2);
    assert_eq!(pinned.table_versions, then.table_versions);
    assert_eq!(
        checksums(&pinned),
        checksums(&then),
        "the same data, the same outputs"
    );
    // explain reads the units at the versions its run read: U1's name before day 2.
    let explained = |lake: &Path| {
        let out = explain(lake, DAY2, "U1");
        assert_ok(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    let text = explained(&lake);
    assert!(text.contains("甲商场") && !text.contains("新址"), "{text}");
    assert!(text.contains("units v1"), "{text}");

    // By time: the lake as it was between the two ingests.
    assert_ok(&run_day(&lake, DAY2, &["--lake-version", &instant]));
    assert_eq!(checksums(&manifest(&lake, DAY2)), checksums(&then));

    // Unpinned, the run reads day 2's data.
    assert_ok(&run_day(&lake, DAY2, &[]));
    let now = manifest(&lake, DAY2);
    assert_eq!(now.table_versions["units"], 2);
    assert_ne!(checksums(&now), checksums(&then));
    assert!(explained(&lake).contains("新址"));

    // Pins that name no table, or a version that does not exist, are refused clearly.
    let bad = run_day(&lake, DAY2, &["--lake-version", "nosuch=1"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a lake table"));
    let missing = run_day(&lake, DAY2, &["--lake-version", "units=99"]);
    assert!(!missing.status.success());
    assert!(!String::from_utf8_lossy(&missing.stderr).contains("panicked"));
    assert_eq!(manifest(&lake, DAY2), now, "a refused run changes nothing");
}

#[test]
fn optimize_compacts_small_files_and_keeps_every_row() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    // Each ingest adds one file per IoT month: three ingests, three files in June.
    let month_files = |lake: &Path| {
        parquet_in_folder(lake, "iot_events")
            .into_iter()
            .filter(|f| referenced(lake, "iot_events").contains(f))
            .filter(|f| f.contains("month=2026-06/"))
            .count()
    };
    for (i, day) in ["01", "02", "03"].iter().enumerate() {
        let inbox = inbox(
            tmp.path(),
            &format!("inbox{i}"),
            &[(
                "iot_events/e.csv",
                format!(
                    "device_id,unit_id,ts,system,event,value\n\
                     D{i},U1,2026-06-{day}T08:00:00+08:00,auto_alarm,offline,\n\
                     D{i},U1,2026-05-{day}T08:00:00+08:00,auto_alarm,online,\n"
                )
                .as_bytes(),
            )],
        );
        if i == 0 {
            assert_ok(&ingest(&fixture_inbox("day1"), &lake));
        }
        assert_ok(&ingest(&inbox, &lake));
    }
    assert_eq!(month_files(&lake), 4);
    let before = all_lines(&lake);
    let quality_files = referenced(&lake, "quality").len();
    assert_eq!(quality_files, 4);

    let out = lake_cmd(&lake, &["optimize"]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("tables/iot_events\t8 files compacted into 2"),
        "{text}"
    );
    assert_eq!(month_files(&lake), 1);
    assert_eq!(referenced(&lake, "quality").len(), 1);
    assert_eq!(all_lines(&lake), before, "the same rows");
    assert_reader_agrees(&lake);
    // A compaction is a change of the lake: it has its number and does not count as data.
    let history = String::from_utf8(lake_cmd(&lake, &["history", "iot_events"]).stdout).unwrap();
    assert!(
        history.lines().nth(1).unwrap().contains("OPTIMIZE\t5"),
        "{history}"
    );

    // Ingest goes on on the compacted tables; the IoT duplicate check still sees every row.
    let dup = inbox(
        tmp.path(),
        "dup",
        &[(
            "iot_events/again.csv",
            b"device_id,unit_id,ts,system,event,value\n\
              D0,U1,2026-06-01T08:00:00+08:00,auto_alarm,offline,\n",
        )],
    );
    assert_ok(&ingest(&dup, &lake));
    let q = quality(&lake);
    let again = q.iter().find(|(f, _)| f.ends_with("again.csv")).unwrap().1;
    assert_eq!(
        (again.1, again.2, again.4),
        (1, 0, 1),
        "read 1, accepted 0, superseded 1"
    );
    assert_eq!(snapshot(&lake).version, 6);
    // Nothing to compact twice.
    let out = lake_cmd(&lake, &["optimize"]);
    assert_ok(&out);
}

/// Ingest points where a kill leaves a partial commit: after staging, after the record, and
/// after each table's commit.
fn kill_points(tables_changed: &[&str]) -> Vec<String> {
    ["ingest:staged", "ingest:recorded"]
        .iter()
        .map(|p| p.to_string())
        .chain(tables_changed.iter().map(|t| format!("ingest:{t}")))
        .collect()
}

fn ingest_killed_at(inbox: &Path, lake: &Path, point: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_firecredit"))
        .args(["--log", "error", "ingest", "--inbox"])
        .arg(inbox)
        .arg("--lake")
        .arg(lake)
        .env(firecredit::lake::ABORT_AFTER_ENV, point)
        .output()
        .unwrap();
    assert!(!out.status.success(), "killed at {point}");
    assert_eq!(out.status.code(), None, "killed by a signal at {point}");
}

#[test]
fn an_ingest_killed_at_any_commit_point_is_finished_by_the_next_one() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    assert_ok(&ingest(&fixture_inbox("day1"), &reference));
    let after_day1 = all_lines(&reference);
    assert_ok(&ingest(&fixture_inbox("day2"), &reference));
    let expected = all_lines(&reference);
    let expected_quality = quality(&reference);

    // Day 1 creates every table; day 2 updates units and violations and releases a row.
    let all: Vec<&str> = tables::all().into_iter().map(|(n, _)| n).collect();
    let cases: Vec<(&str, String)> = kill_points(&all)
        .into_iter()
        .map(|p| ("day1", p))
        .chain(
            kill_points(&["units", "violations", "quarantine", "quality"])
                .into_iter()
                .map(|p| ("day2", p)),
        )
        .collect();
    for (i, (day, point)) in cases.iter().enumerate() {
        let lake = tmp.path().join(format!("victim{i}"));
        if *day == "day2" {
            assert_ok(&ingest(&fixture_inbox("day1"), &lake));
        }
        ingest_killed_at(&fixture_inbox(day), &lake, point);
        // Until the next ingest, firecredit reads the lake as it was before the killed one,
        // or all of it once its quality commit is in: never a part.
        let seen = all_lines(&lake);
        let want = match (*day, point == "ingest:quality") {
            ("day1", true) | ("day2", false) => after_day1.clone(),
            ("day1", false) => all.iter().map(|n| (*n, vec![])).collect(),
            _ => expected.clone(),
        };
        assert_eq!(seen, want, "what readers see after a kill at {day} {point}");
        assert_ok(&ingest(&fixture_inbox(day), &lake));
        if *day == "day1" {
            assert_ok(&ingest(&fixture_inbox("day2"), &lake));
        }
        assert_eq!(all_lines(&lake), expected, "killed at {day} {point}");
        assert_eq!(quality(&lake), expected_quality, "killed at {day} {point}");
        assert_eq!(snapshot(&lake).version, 2, "killed at {day} {point}");
        assert_ok(&lake_cmd(&lake, &["vacuum", "--retain", "0h"]));
        assert_folders_hold_the_tables(&lake, &format!("after {day} {point} and vacuum"));
    }
}

/// Starts `firecredit args` held at `point` until `gate/go` exists.
fn spawn_held(args: &[&str], point: &str, gate: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_firecredit"))
        .args(["--log", "warn"])
        .args(args)
        .env(
            firecredit::lake::PAUSE_AT_ENV,
            format!("{point}@{}", gate.display()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Starts both commands held at `point`, waits until both are there, lets them go together
/// and returns their outputs.
fn race(a: &[&str], b: &[&str], point: &str) -> [Output; 2] {
    let gate = tempfile::tempdir().unwrap();
    let children = [
        spawn_held(a, point, gate.path()),
        spawn_held(b, point, gate.path()),
    ];
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let arrived = std::fs::read_dir(gate.path()).unwrap().count();
        if arrived == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the processes never reached {point}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(gate.path().join("go"), b"").unwrap();
    children.map(|c| c.wait_with_output().unwrap())
}

/// A loser of a race: exit 4 with a message that says what happened.
fn assert_lost(out: &Output, words: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains(words), "expected `{words}` in:\n{stderr}");
}

#[test]
fn two_ingests_at_once_take_every_file_once() {
    let tmp = tempfile::tempdir().unwrap();
    race_two_ingests(&tmp.path().join("lake"));
}

/// Races an ingest of day 1 against one of day 2 on `lake` (a folder, or an `s3://` URL with
/// the AWS settings in this process's environment) and checks that the lake is what ingesting
/// them one after the other makes.
pub fn race_two_ingests(lake: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let l = lake.to_str().unwrap();
    let (a, b) = (fixture_inbox("day1"), fixture_inbox("day2"));
    let outs = race(
        &["ingest", "--inbox", a.to_str().unwrap(), "--lake", l],
        &["ingest", "--inbox", b.to_str().unwrap(), "--lake", l],
        "ingest:staged",
    );
    // Both computed ingest 1 on the empty lake; one recorded it, the other started again.
    for out in &outs {
        assert_ok(out);
    }
    // One quality row per file of both inboxes (both have a units and a violations file).
    let log = table(lake, "quality").unwrap();
    assert_eq!(log.num_rows(), 5, "every file of both inboxes once");
    assert!(strings(&log, "status")
        .iter()
        .all(|s| s.as_deref() == Some("ok")));
    let [read, accepted, quarantined, superseded] = [
        "rows_read",
        "rows_accepted",
        "rows_quarantined",
        "rows_superseded",
    ]
    .map(|c| ints(&log, c));
    for i in 0..log.num_rows() {
        assert_eq!(
            read[i].unwrap(),
            accepted[i].unwrap() + quarantined[i].unwrap() + superseded[i].unwrap(),
            "identity for row {i}"
        );
    }
    // The lake is what ingesting them one after the other, in the order they committed, makes.
    let first_day2 = strings(&log, "file")
        .iter()
        .zip(ints(&log, "ingest"))
        .any(|(f, n)| f.as_deref() == Some("units/units.csv") && n == Some(1))
        && ints(&log, "ingest")
            .iter()
            .filter(|n| **n == Some(1))
            .count()
            == 2;
    let order = if first_day2 { [&b, &a] } else { [&a, &b] };
    let reference = tmp.path().join("reference");
    for inbox in order {
        assert_ok(&ingest(inbox, &reference));
    }
    assert_eq!(all_lines(lake), all_lines(&reference));
    assert_eq!(snapshot(lake).version, 2);
}

#[test]
fn two_nightlies_at_once_ingest_once_and_publish_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    race_two_nightlies(&tmp.path().join("lake"));
}

/// Races two nightlies of the sample inbox on `lake` (a folder, or an `s3://` URL with the AWS
/// settings in this process's environment): one ingest, one committed run, each row once.
pub fn race_two_nightlies(lake: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let l = lake.to_str().unwrap();
    let inbox = samples("inbox");
    let args = [
        "nightly",
        "--inbox",
        inbox.to_str().unwrap(),
        "--lake",
        l,
        "--as-of",
        DAY2,
    ];
    let outs = race(&args, &args, "ingest:staged");
    let won: Vec<&Output> = outs.iter().filter(|o| o.status.success()).collect();
    assert!(!won.is_empty(), "one nightly publishes");
    for out in outs.iter().filter(|o| !o.status.success()) {
        assert_lost(out, "another run of 2026-06-30 committed first");
    }
    let reference = tmp.path().join("reference");
    let expected = nightly(&inbox, &reference, DAY2, None);
    assert_eq!(all_lines(lake), all_lines(&reference), "each row once");
    assert_eq!(quality(lake), quality(&reference));
    assert_eq!(snapshot(lake).version, 1, "one ingest");
    let m = manifest(lake, DAY2);
    assert_eq!(checksums(&m), checksums(&expected));
    assert_outputs_match(lake, &m);
}

/// The run folders of a day.
fn attempts(lake: &Path, day: &str) -> Vec<String> {
    let lake = firecredit::lake::Lake::open(lake.to_str().unwrap()).unwrap();
    let mut dirs = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(lake.list_dirs(&format!("runs/{day}")))
        .unwrap();
    dirs.sort();
    dirs
}

#[test]
fn two_runs_of_one_day_at_once_commit_one_and_the_other_removes_only_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    race_two_runs(&tmp.path().join("lake"));
}

/// Two rounds of two runs of one day at once on `lake` (a folder, or an `s3://` URL with the
/// AWS settings in this process's environment): one commits, the other exits 4 and removes its
/// own folder only.
pub fn race_two_runs(lake: &Path) {
    let l = lake.to_str().unwrap();
    assert_ok(&ingest(&samples("inbox"), lake));
    let args = ["run", "--lake", l, "--as-of", DAY2];
    // No manifest yet (both create it), then one (both replace the one they read).
    let mut kept = Vec::new();
    for round in 0..2 {
        let outs = race(&args, &args, "run:manifest");
        let won = outs.iter().filter(|o| o.status.success()).count();
        assert_eq!(won, 1, "round {round}: exactly one run commits");
        let lost = outs.iter().find(|o| !o.status.success()).unwrap();
        assert_lost(lost, "another run of 2026-06-30 committed first");
        let m = manifest(lake, DAY2);
        assert_outputs_match(lake, &m);
        kept.push(m.dir.clone());
        assert_eq!(
            attempts(lake, DAY2),
            kept,
            "round {round}: the loser's folder is gone"
        );
        assert_eq!(m.replaces, (round == 1).then(|| kept[0].clone()));
    }
}
