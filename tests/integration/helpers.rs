//! Shared helpers: run the binary, read lake tables, build small inboxes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::Int64Type;
use firecredit::lake::Lake;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

pub fn samples(name: &str) -> PathBuf {
    repo().join("data-samples").join(name)
}

/// Runs `firecredit` with `args`; returns its output.
pub fn firecredit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firecredit"))
        .args(["--log", "warn"])
        .args(args)
        .output()
        .expect("run firecredit")
}

pub fn ingest(inbox: &Path, lake: &Path) -> Output {
    firecredit(&[
        "ingest",
        "--inbox",
        inbox.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
    ])
}

pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A whole lake table as one batch (empty batch for a table without files).
pub fn table(lake: &Path, name: &str) -> Option<RecordBatch> {
    runtime().block_on(async {
        let lake = Lake::open(lake.to_str().unwrap()).unwrap();
        let snap = lake.snapshot().await.unwrap();
        let mut batches = Vec::new();
        for f in snap.files(name) {
            batches.extend(lake.read_all(&f.path, None).await.unwrap());
        }
        let first = batches.first()?.schema();
        Some(concat_batches(&first, &batches).unwrap())
    })
}

pub fn snapshot(lake: &Path) -> firecredit::lake::Snapshot {
    runtime().block_on(async {
        Lake::open(lake.to_str().unwrap())
            .unwrap()
            .snapshot()
            .await
            .unwrap()
    })
}

pub fn strings(b: &RecordBatch, col: &str) -> Vec<Option<String>> {
    let c = b
        .column_by_name(col)
        .unwrap_or_else(|| panic!("column {col}"));
    c.as_string::<i32>()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect()
}

pub fn ints(b: &RecordBatch, col: &str) -> Vec<Option<i64>> {
    let c = b
        .column_by_name(col)
        .unwrap_or_else(|| panic!("column {col}"));
    let a = c.as_primitive::<Int64Type>();
    (0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
        .collect()
}

/// One quality row per file: file → (status, read, accepted, quarantined, superseded, released).
pub fn quality(lake: &Path) -> BTreeMap<String, (String, i64, i64, i64, i64, i64)> {
    let q = table(lake, "quality").expect("quality table");
    let files = strings(&q, "file");
    let status = strings(&q, "status");
    let cols: Vec<Vec<Option<i64>>> = [
        "rows_read",
        "rows_accepted",
        "rows_quarantined",
        "rows_superseded",
        "rows_released",
    ]
    .iter()
    .map(|c| ints(&q, c))
    .collect();
    (0..q.num_rows())
        .map(|i| {
            (
                files[i].clone().unwrap(),
                (
                    status[i].clone().unwrap(),
                    cols[0][i].unwrap(),
                    cols[1][i].unwrap(),
                    cols[2][i].unwrap(),
                    cols[3][i].unwrap(),
                    cols[4][i].unwrap(),
                ),
            )
        })
        .collect()
}

/// Writes `files` (relative path → bytes) into a fresh inbox folder under `dir`.
pub fn inbox(dir: &Path, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let root = dir.join(name);
    for (rel, bytes) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    root
}

/// The table's rows as sorted text lines, lineage columns included: equal lakes give equal lines.
pub fn table_lines(lake: &Path, name: &str) -> Vec<String> {
    let Some(b) = table(lake, name) else {
        return vec![];
    };
    let opts = datafusion::arrow::util::display::FormatOptions::default();
    let fmts: Vec<_> = b
        .columns()
        .iter()
        .map(|c| {
            datafusion::arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &opts).unwrap()
        })
        .collect();
    let mut lines: Vec<String> = (0..b.num_rows())
        .map(|i| {
            fmts.iter()
                .map(|f| f.value(i).to_string())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    lines.sort();
    lines
}
