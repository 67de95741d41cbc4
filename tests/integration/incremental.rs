//! Consecutive nights (issue 22): each night's `nightly` carries the connected-device
//! intervals forward from the night before, and publishes exactly what `run --full` of the same
//! lake publishes: the same rows in the same order in every table, the same bytes in every
//! other file.

use std::path::Path;

use crate::helpers::*;

/// The sample inbox's history ends 2026-06-30; the first night scores 2026-06-27, so the nights
/// after it have days of their own.
const NIGHTS: [(&str, &[(&str, &str)]); 4] = [
    (
        // New events, and a late one: device D1's low pressure on 2026-03-01, four months
        // before the night that brings it, restored the same night.
        "2026-06-28",
        &[(
            "iot_events/night-0628.csv",
            "device_id,unit_id,ts,system,event,value\n\
             U0000000-D0,U0000000,2026-06-28T08:00:00+08:00,auto_alarm,offline,\n\
             U0000000-D1,U0000000,2026-03-01T10:00:00+08:00,sprinkler,pressure_low,\n\
             U0000000-D1,U0000000,2026-06-28T09:00:00+08:00,sprinkler,restore,\n",
        )],
    ),
    (
        // A correction of a violation found in 2023 (rectified in time after all), and the
        // outage of the night before ends.
        "2026-06-29",
        &[
            (
                "violations/night-0629.csv",
                "violation_id,inspection_id,unit_id,code,found_on,rectify_due,rectified_on,penalty_yuan\n\
                 U0000000-I002-V0,U0000000-I002,U0000000,V108,2023-08-27,2023-09-11,2023-09-05,\n",
            ),
            (
                "iot_events/night-0629.csv",
                "device_id,unit_id,ts,system,event,value\n\
                 U0000000-D0,U0000000,2026-06-29T07:00:00+08:00,auto_alarm,online,\n\
                 U0000003-D0,U0000003,2026-06-29T07:00:00+08:00,sprinkler,pressure_low,\n",
            ),
        ],
    ),
    // A night with no new data.
    ("2026-06-30", &[]),
    // A night whose only IoT events are for later days (unknown to it).
    (
        "2026-07-01",
        &[(
            "iot_events/night-0701.csv",
            "device_id,unit_id,ts,system,event,value\n\
             U0000003-D0,U0000003,2026-07-03T07:00:00+08:00,sprinkler,restore,\n",
        )],
    ),
];

#[test]
fn each_night_carried_forward_equals_a_full_recompute() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let first = nightly(&samples("inbox"), &lake, "2026-06-27", None);
    let reuse = &first.reuse["iot_intervals"];
    assert_eq!(
        (reuse.mode.as_str(), reuse.detail.as_str()),
        ("full", "no earlier run to carry from")
    );
    let mut previous = first;
    for (n, (day, files)) in NIGHTS.iter().enumerate() {
        let files: Vec<(&str, &[u8])> = files.iter().map(|(p, t)| (*p, t.as_bytes())).collect();
        let inbox = inbox(dir.path(), &format!("inbox-{n}"), &files);
        std::fs::create_dir_all(&inbox).unwrap();
        let carried = nightly(&inbox, &lake, day, None);
        let reuse = &carried.reuse["iot_intervals"];
        assert_eq!(reuse.mode, "carried", "{day}: {}", reuse.detail);
        assert_eq!(reuse.from.as_deref(), Some(previous.dir.as_str()));
        // The training cutoffs move with the day: the models are fitted each night.
        assert_eq!(carried.reuse["fits"].mode, "fitted", "{day}");

        // The same lake, scored again from all history.
        let full_lake = dir.path().join(format!("full-{n}"));
        copy_tree(&lake, &full_lake);
        assert_ok(&run_day(&full_lake, day, &["--full"]));
        let full = manifest(&full_lake, day);
        assert_eq!(full.reuse["iot_intervals"].mode, "full");
        assert_same_contents(day, (&lake, &carried), (&full_lake, &full));
        previous = carried;
    }
    // The last day scored again, nothing new: the same training rows, so the models of the
    // run it replaces are judged again, and the outputs are still those of fitting anew.
    let last = NIGHTS[NIGHTS.len() - 1].0;
    assert_ok(&run_day(&lake, last, &[]));
    let again = manifest(&lake, last);
    let reuse = &again.reuse["fits"];
    assert_eq!(reuse.mode, "reused", "{}", reuse.detail);
    assert_eq!(reuse.from.as_deref(), Some(previous.dir.as_str()));
    let full_lake = dir.path().join("full-again");
    copy_tree(&lake, &full_lake);
    assert_ok(&run_day(&full_lake, last, &["--full"]));
    let full = manifest(&full_lake, last);
    assert_eq!(full.reuse["fits"].mode, "fitted");
    assert_same_contents(last, (&lake, &again), (&full_lake, &full));

    // The late event was found: D1's interval of 2026-03-01 is in the carried intervals.
    let m = manifest(&lake, "2026-06-28");
    let intervals = published(
        &lake,
        &m,
        "iot_intervals",
        &["device_id", "opened_by", "start_us", "end_us"],
    );
    let march = firecredit::contract::values::parse_timestamp("2026-03-01T10:00:00+08:00")
        .unwrap()
        .to_string();
    assert!(
        intervals
            .iter()
            .any(|l| l.starts_with(&format!("U0000000-D1,pressure_low,{march},"))),
        "the late interval is missing"
    );
}

#[test]
fn a_compacted_lake_is_scored_from_all_history() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    nightly(&samples("inbox"), &lake, "2026-06-29", None);
    // A second file in June's partition, which `lake optimize` then merges with the first.
    let (_, files) = NIGHTS[0];
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, t)| (*p, t.as_bytes())).collect();
    let more = inbox(dir.path(), "more", &files);
    assert_ok(&ingest(&more, &lake));
    assert_ok(&firecredit(&[
        "lake",
        "optimize",
        "--lake",
        lake.to_str().unwrap(),
    ]));
    assert_ok(&run_day(&lake, "2026-06-30", &[]));
    let reuse = &manifest(&lake, "2026-06-30").reuse["iot_intervals"];
    assert_eq!(reuse.mode, "full");
    assert!(
        reuse.detail.contains("were removed since"),
        "{}",
        reuse.detail
    );
}

#[test]
fn refit_never_scores_with_the_previous_models() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let first = nightly(&samples("inbox"), &lake, "2026-06-29", None);
    assert_ok(&run_day(&lake, "2026-06-30", &["--refit", "never"]));
    let second = manifest(&lake, "2026-06-30");
    let reuse = &second.reuse["fits"];
    assert_eq!(reuse.mode, "reused", "{}", reuse.detail);
    assert_eq!(
        reuse.detail,
        "--refit never: the models fitted for 2026-06-29"
    );
    assert_eq!(second.model_version, first.model_version);
    let (model, before) = (
        published_json(&lake, &second, "model"),
        published_json(&lake, &first, "model"),
    );
    assert_eq!(model["model"], before["model"]);
    assert_eq!(model["training_cutoff"], "2025-06-29");
}

#[test]
fn generate_last_day_splits_the_inbox_by_the_rows_day() {
    let dir = tempfile::tempdir().unwrap();
    let gen = |out: &Path, last: Option<&Path>| {
        let mut args = vec![
            "generate",
            "--units",
            "1500",
            "--seed",
            "7",
            "--as-of",
            "2026-06-30",
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(last) = last {
            args.extend(["--last-day", last.to_str().unwrap()]);
        }
        assert_ok(&firecredit(&args));
    };
    let (whole, base, day) = (
        dir.path().join("whole"),
        dir.path().join("base"),
        dir.path().join("day"),
    );
    gen(&whole, None);
    gen(&base, Some(&day));
    // Each source's data lines: the two inboxes together hold exactly the whole inbox's.
    let lines = |inbox: &Path, source: &str| -> Vec<String> {
        let mut out = Vec::new();
        let folder = inbox.join(source);
        if !folder.exists() {
            return out;
        }
        for rel in listing(&folder) {
            let text = std::fs::read_to_string(folder.join(rel)).unwrap();
            out.extend(text.lines().skip(1).map(str::to_string));
        }
        out.sort();
        out
    };
    for source in firecredit::contract::Source::ALL.map(|s| s.name()) {
        let mut split = lines(&base, source);
        split.extend(lines(&day, source));
        split.sort();
        assert_eq!(split, lines(&whole, source), "{source}");
    }
    // The day's IoT events are those of 2026-06-30 (local time, as the generator writes them).
    let iot = lines(&day, "iot_events");
    assert!(!iot.is_empty());
    assert!(iot
        .iter()
        .all(|l| l.split(',').nth(2).unwrap().starts_with("2026-06-30T")));
    assert!(!lines(&base, "iot_events").iter().any(|l| l
        .split(',')
        .nth(2)
        .unwrap()
        .starts_with("2026-06-30T")));
    let inspections = lines(&day, "inspections");
    assert!(!inspections.is_empty());
    assert!(lines(&day, "inspectors").is_empty());
}
