//! Faults while publishing: a full disk and a read-only file system under the run folders give
//! a clear error (exit 4) and leave the committed run as it was; a rerun after the fault
//! publishes the same tables. The day's run folder is a small tmpfs mounted by the test (root
//! only); without the right to mount, a read-only folder stands in for both faults.

use std::path::{Path, PathBuf};
use std::process::Command;

use firecredit::lake::publish::Manifest;

use super::helpers::*;

const AS_OF: &str = "2026-06-30";

/// A tmpfs mounted for the test, unmounted when it ends.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }

    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success(), "remount {options}");
    }

    /// Bytes in use on the tmpfs.
    fn used(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=used", "-B1"])
            .arg(&self.0)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn run(lake: &Path) -> std::process::Output {
    firecredit(&["run", "--lake", lake.to_str().unwrap(), "--as-of", AS_OF])
}

fn assert_intact(lake: &Path, m: &Manifest) {
    assert_eq!(&manifest(lake, AS_OF), m, "the manifest is unchanged");
    assert_outputs_match(lake, m);
}

fn assert_fails_clearly(out: &std::process::Output, words: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(4),
        "exit 4 (lake failure)\n{stderr}"
    );
    assert!(
        words.iter().any(|w| stderr.contains(w)),
        "the error names the cause ({words:?}):\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_full_or_read_only_disk_while_publishing_leaves_the_last_run_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    assert_ok(&ingest(&samples("inbox"), &lake));
    let day = lake.join(format!("runs/{AS_OF}"));

    let Some(fs) = Tmpfs::mount(&day, "64m") else {
        // Not allowed to mount: a read-only day folder (effective for non-root users only).
        assert_ok(&run(&lake));
        let committed = manifest(&lake, AS_OF);
        let mut perms = std::fs::metadata(&day).unwrap().permissions();
        use std::os::unix::fs::PermissionsExt;
        perms.set_mode(0o555);
        std::fs::set_permissions(&day, perms.clone()).unwrap();
        let out = run(&lake);
        perms.set_mode(0o755);
        std::fs::set_permissions(&day, perms).unwrap();
        assert_fails_clearly(&out, &["Permission denied", "permission denied"]);
        assert_intact(&lake, &committed);
        return;
    };
    assert_ok(&run(&lake));
    let committed = manifest(&lake, AS_OF);

    // Disk full: room for a fraction of a second run's files.
    let used = fs.used();
    fs.remount(&format!("size={}", used + 600 * 1024));
    let out = run(&lake);
    assert_fails_clearly(&out, &["No space left", "no space left"]);
    assert_intact(&lake, &committed);

    // Read-only file system.
    fs.remount("size=64m");
    fs.remount("ro");
    let out = run(&lake);
    assert_fails_clearly(&out, &["Read-only file system", "read-only file system"]);
    assert_intact(&lake, &committed);

    // With the disk back, a rerun publishes the same tables.
    fs.remount("rw");
    assert_ok(&run(&lake));
    let again = manifest(&lake, AS_OF);
    assert_ne!(again.run_id, committed.run_id);
    assert_eq!(checksums(&again), checksums(&committed));
}

/// An ingest cut by a full disk (the lake is a small tmpfs) fails clearly and leaves the lake
/// as it was; with room again, the same inbox goes in. Durable writes (lake/durable.rs) make
/// every file whole on disk before a commit names it.
#[test]
fn a_full_disk_while_ingesting_leaves_the_lake_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let Some(fs) = Tmpfs::mount(&lake, "256m") else {
        eprintln!("not allowed to mount a tmpfs: skipped");
        return;
    };
    assert_ok(&ingest(&samples("inbox"), &lake));
    let before = quality(&lake);
    let units = table(&lake, "units").unwrap().num_rows();

    let inbox = tmp.path().join("inbox");
    copy_tree(&samples("inbox"), &inbox);
    // Enough units that their staged file cannot fit in the room left (a quarter of a MiB).
    const EXTRA: usize = 200_000;
    let mut extra = "unit_id,name,district_code,grid_id,use_type,key_unit,status\n".to_string();
    for i in 0..EXTRA {
        extra += &format!("U-X{i:06},extra unit {i},440106,440106-G000,office,false,open\n");
    }
    std::fs::write(inbox.join("units/extra.csv"), extra).unwrap();

    fs.remount(&format!("size={}", fs.used() + 256 * 1024));
    let out = ingest(&inbox, &lake);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(3 | 4)),
        "a failed file (3) or a lake failure (4)\n{stderr}"
    );
    assert!(stderr.contains("No space left"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Nothing of the cut ingest is visible: the sample's files as they were, and the new file at
    // most recorded as failed.
    let after = quality(&lake);
    for (file, row) in &before {
        assert_eq!(&after[file], row, "{file}");
    }
    assert!(after.get("units/extra.csv").is_none_or(|q| q.0 == "failed"));
    assert_eq!(table(&lake, "units").unwrap().num_rows(), units);

    fs.remount("size=256m");
    assert_ok(&ingest(&inbox, &lake));
    assert_eq!(quality(&lake)["units/extra.csv"].0, "ok");
    assert_eq!(table(&lake, "units").unwrap().num_rows(), units + EXTRA);
}
