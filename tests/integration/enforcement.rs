//! Enforcement supervision (supervision.md §7) end to end: the alerts of a run, the audience
//! of every output in its manifest, and `export --public`, which must let nothing internal or
//! personal out.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::helpers::*;

const AS_OF: &str = "2026-06-30";

#[test]
fn the_public_export_carries_the_public_outputs_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let m = nightly(&samples("inbox"), &lake, AS_OF, None);

    // Every output has an audience; the public ones are those of supervision.md §7.
    let public: BTreeSet<&str> = m
        .outputs
        .iter()
        .filter(|o| o.audience == firecredit::lake::publish::Audience::Public)
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(
        public,
        BTreeSet::from([
            "area_supervision",
            "changes",
            "discipline_list",
            "district_summary",
            "hazard_supervision",
            "high_risk_areas",
            "inspection_plan",
            "plan_candidates",
            "plan_districts",
            "plan_parameters",
            "plan_population",
            "plan_strata",
            "report",
            "reward_list",
            "scores",
        ])
    );
    let alerts = table_of(&lake, &m, "enforcement_alerts");
    assert!(
        alerts.len() > 10,
        "the sample raises alerts: {}",
        alerts.len()
    );
    assert!(m.output("enforcement_summary", "parquet").is_some());

    let run_dir = lake.join(&m.dir);
    let out = tmp.path().join("for-the-government");
    assert_ok(&firecredit(&[
        "export",
        "--public",
        run_dir.to_str().unwrap(),
        out.to_str().unwrap(),
    ]));
    let exported: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let listed: BTreeSet<String> = exported["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap().to_string())
        .collect();
    let mut files: BTreeSet<String> = listing(&out).into_iter().collect();
    assert!(files.remove("manifest.json"));
    assert_eq!(files, listed, "the folder holds what its manifest lists");
    let expected: BTreeSet<String> = m
        .outputs
        .iter()
        .filter(|o| public.contains(o.name.as_str()))
        .map(|o| o.path.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(listed, expected);
    for o in exported["outputs"].as_array().unwrap() {
        let bytes = std::fs::read(out.join(o["path"].as_str().unwrap())).unwrap();
        assert_eq!(
            format!("{:x}", Sha256::digest(&bytes)),
            o["sha256"].as_str().unwrap()
        );
        assert_eq!(o["audience"], "public");
    }
    for key in ["inputs", "table_versions", "stage_timings", "dir"] {
        assert!(
            exported.get(key).is_none(),
            "the export's manifest has no {key}"
        );
    }

    // Nothing internal or personal: no alert, no officer an alert names outside the plan's
    // own assignment, no officer name, phone or complaint text.
    let (officers, mut secrets) = personal_data(&samples("inbox"));
    secrets.extend(officers);
    let alert_ids: Vec<&str> = alerts.iter().map(|a| a[0].as_str()).collect();
    let alert_officers: BTreeSet<&str> = alerts
        .iter()
        .filter(|a| !a[1].is_empty())
        .map(|a| a[1].as_str())
        .collect();
    assert!(!alert_officers.is_empty());
    for file in &files {
        let bytes = std::fs::read(out.join(file)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for needle in ["enforcement_alerts", "credit_ledger", "reporter_phone"] {
            assert!(
                !file.contains(needle) && !text.contains(needle),
                "{file}: {needle}"
            );
        }
        if let Some(s) = secrets.iter().find(|s| text.contains(s.as_str())) {
            panic!("{file} carries personal data: {s}");
        }
        if let Some(a) = alert_ids.iter().find(|a| text.contains(*a)) {
            panic!("{file} carries the alert {a}");
        }
        if !(file.starts_with("inspection_plan") || file.starts_with("plan_")) {
            if let Some(o) = alert_officers.iter().find(|o| text.contains(*o)) {
                panic!("{file} names the officer {o} of an alert");
            }
        }
    }

    // A folder that is not a committed run is refused.
    let out2 = tmp.path().join("nothing");
    let refused = firecredit(&[
        "export",
        "--public",
        lake.join("runs").to_str().unwrap(),
        out2.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(2));
}

/// `enforcement_alerts` as (alert_id, inspector_id or "") rows.
fn table_of(
    lake: &std::path::Path,
    m: &firecredit::lake::publish::Manifest,
    name: &str,
) -> Vec<[String; 2]> {
    published(lake, m, name, &["alert_id", "inspector_id"])
        .into_iter()
        .map(|line| {
            let (a, b) = line.split_once(',').unwrap();
            [a.to_string(), b.to_string()]
        })
        .collect()
}

#[test]
fn on_a_generated_inbox_the_alerts_are_exactly_the_planted_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let inbox = tmp.path().join("inbox");
    let lake = tmp.path().join("lake");
    assert_ok(&firecredit(&[
        "generate",
        "--out",
        inbox.to_str().unwrap(),
        "--units",
        "800",
        "--as-of",
        AS_OF,
        "--seed",
        "11",
    ]));
    let m = nightly(&inbox, &lake, AS_OF, None);
    let got: BTreeSet<String> = published(&lake, &m, "enforcement_alerts", &["alert_id", "kind"])
        .into_iter()
        .collect();
    let truth: BTreeSet<String> =
        std::fs::read_to_string(inbox.join("_truth/enforcement_alerts.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect();
    let missed: Vec<&String> = truth.difference(&got).collect();
    let extra: Vec<&String> = got.difference(&truth).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "recall: missed {missed:?}; precision: not planted {extra:?}"
    );
    // Every kind is planted.
    let kinds: BTreeSet<&str> = truth.iter().map(|l| l.split_once(',').unwrap().1).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "complaint_unchecked",
            "followup_overdue",
            "out_of_jurisdiction",
            "penalty_too_heavy",
            "penalty_too_light",
            "rotation_breach",
            "unknown_inspector",
        ])
    );
}
