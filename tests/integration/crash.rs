//! Crash safety: `nightly` killed with SIGKILL at many points (after N ms, and right after
//! given outputs inside publish) never leaves a half-written run or a corrupt lake, and a rerun
//! publishes what an uninterrupted night does.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use firecredit::lake::publish::Manifest;
use firecredit::lake::Lake;

use super::helpers::*;

const DAY1: &str = "2026-06-29";
const DAY2: &str = "2026-06-30";

fn nightly_cmd(lake: &Path, as_of: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firecredit"));
    cmd.args(["--log", "error", "nightly", "--inbox"])
        .arg(samples("inbox"))
        .arg("--lake")
        .arg(lake)
        .args(["--as-of", as_of])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}

/// Starts nightly and kills it with SIGKILL after `ms`; returns whether it finished first.
fn kill_after(lake: &Path, ms: u64) -> bool {
    let mut child = nightly_cmd(lake, DAY2).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    false
}

/// Every committed manifest's outputs exist with their checksums and read back as Parquet;
/// the latest snapshot opens and every file it names is readable.
fn assert_consistent(lake_dir: &Path) {
    for day in [DAY1, DAY2] {
        let path = lake_dir.join(format!("runs/{day}/manifest.json"));
        if !path.exists() {
            continue;
        }
        let m: Manifest = serde_json::from_slice(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{day}: manifest unreadable: {e}"));
        assert_outputs_match(lake_dir, &m);
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let lake = Lake::open(lake_dir.to_str().unwrap()).unwrap();
        let snap = lake.snapshot().await.expect("the snapshot opens");
        for table in ["units", "iot_events", "violations", "quality", "quarantine"] {
            for f in snap.files(table) {
                lake.read_all(&f.path, None)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", f.path));
            }
        }
    });
}

#[test]
fn nightly_killed_at_many_points_recovers_to_the_uninterrupted_result() {
    let tmp = tempfile::tempdir().unwrap();
    // The uninterrupted reference: two nights.
    let reference = tmp.path().join("reference");
    nightly(&samples("inbox"), &reference, DAY1, None);
    let expected = nightly(&samples("inbox"), &reference, DAY2, None);

    // The victim: the first night completes, the second is killed again and again.
    let lake = tmp.path().join("victim");
    let day1 = nightly(&samples("inbox"), &lake, DAY1, None);

    // Kills inside publish, right after these outputs are written.
    for output in [
        "iot_intervals",
        "features",
        "unit_scores",
        "inspection_plan",
    ] {
        let status = nightly_cmd(&lake, DAY2)
            .env(firecredit::lake::ABORT_AFTER_ENV, output)
            .status()
            .unwrap();
        assert!(!status.success(), "killed after {output}");
        assert!(!lake.join(format!("runs/{DAY2}/manifest.json")).exists());
        assert_eq!(
            manifest(&lake, DAY1),
            day1,
            "day 1 untouched by a kill after {output}"
        );
        assert_consistent(&lake);
    }

    // Kills after a spread of delays: during ingest (of a fresh lake) and during the run.
    let fresh = tmp.path().join("fresh");
    let mut finished = 0;
    for ms in [30, 120, 400, 900, 1600, 2500, 4000, 6000, 9000, 13000] {
        for victim in [&lake, &fresh] {
            if kill_after(victim, ms) {
                finished += 1;
            }
            assert_consistent(victim);
        }
        assert_eq!(manifest(&lake, DAY1), day1, "day 1 untouched after {ms} ms");
    }

    // Reruns complete with what the uninterrupted nights published.
    assert_ok(&nightly_cmd(&lake, DAY2).output().unwrap());
    assert_eq!(checksums(&manifest(&lake, DAY2)), checksums(&expected));
    assert_consistent(&lake);
    // The fresh lake never had day 1: compare with a fresh uninterrupted lake instead.
    let fresh_ref = tmp.path().join("fresh-reference");
    let once = nightly(&samples("inbox"), &fresh_ref, DAY2, None);
    assert_ok(&nightly_cmd(&fresh, DAY2).output().unwrap());
    assert_eq!(checksums(&manifest(&fresh, DAY2)), checksums(&once));
    // Ingest committed each inbox file once, however often it was interrupted.
    assert_eq!(snapshot(&fresh).version, snapshot(&fresh_ref).version);
    assert!(finished < 20, "no kill landed before the end of a run");
}
