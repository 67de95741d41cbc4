//! Shared helpers: run the binary, read lake tables, build small inboxes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use firecredit::lake::publish::Manifest;
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
    firecredit_logging("warn", args)
}

/// `firecredit` with its log at `level` (on stderr).
pub fn firecredit_logging(level: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firecredit"))
        .args(["--log", level])
        .args(args)
        .output()
        .expect("run firecredit")
}

pub fn ingest(inbox: &Path, lake: &Path) -> Output {
    ingest_logging("warn", inbox, lake)
}

/// `firecredit ingest` with its log at `level`.
pub fn ingest_logging(level: &str, inbox: &Path, lake: &Path) -> Output {
    firecredit_logging(
        level,
        &[
            "ingest",
            "--inbox",
            inbox.to_str().unwrap(),
            "--lake",
            lake.to_str().unwrap(),
        ],
    )
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
    let mut lines = batch_lines(&b, None, "|");
    lines.sort();
    lines
}

/// The case folders of `tests/golden/<kind>/`, sorted.
pub fn golden_cases(kind: &str) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/golden").join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

/// Runs `nightly` for a case into `lake`; returns the committed manifest.
pub fn nightly(inbox: &Path, lake: &Path, as_of: &str, rules: Option<&Path>) -> Manifest {
    nightly_with(inbox, lake, as_of, rules, &[])
}

/// `nightly` with extra arguments (e.g. `--campaign`).
pub fn nightly_with(
    inbox: &Path,
    lake: &Path,
    as_of: &str,
    rules: Option<&Path>,
    extra: &[&str],
) -> Manifest {
    let mut args = vec![
        "nightly",
        "--inbox",
        inbox.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
        "--as-of",
        as_of,
    ];
    if let Some(r) = rules {
        args.extend(["--rules", r.to_str().unwrap()]);
    }
    args.extend(extra);
    assert_ok(&firecredit(&args));
    manifest(lake, as_of)
}

/// A published JSON output (`model_report`, `model`) of a run.
pub fn published_json(lake: &Path, m: &Manifest, name: &str) -> serde_json::Value {
    let path = lake.join(&m.output(name, "json").unwrap().path);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `firecredit run` on an ingested lake, with extra arguments.
pub fn run_day(lake: &Path, as_of: &str, extra: &[&str]) -> Output {
    let mut args = vec!["run", "--lake", lake.to_str().unwrap(), "--as-of", as_of];
    args.extend(extra);
    firecredit(&args)
}

/// The committed manifest of `as_of` in `lake` (a folder or an `s3://` URL).
pub fn manifest(lake: &Path, as_of: &str) -> Manifest {
    runtime().block_on(async {
        let lake = Lake::open(lake.to_str().unwrap()).unwrap();
        firecredit::lake::publish::read_manifest(&lake, as_of)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no manifest of {as_of}"))
    })
}

/// A published Parquet table as CSV lines of `columns` (lists `;`-joined), in file order.
pub fn published(lake: &Path, m: &Manifest, table: &str, columns: &[&str]) -> Vec<String> {
    let batch = parquet_file(&lake.join(&m.output(table, "parquet").unwrap().path));
    let batch = firecredit::lake::publish::flatten_lists(&batch).unwrap();
    batch_lines(&batch, Some(columns), ",")
}

/// A local Parquet file as one batch.
pub fn parquet_file(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader =
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
    let schema = datafusion::arrow::array::RecordBatchReader::schema(&reader);
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    concat_batches(&schema, &batches).unwrap()
}

/// Makes sure python3 can import `module`, installing `package` from PyPI when it cannot.
pub fn require_python(module: &str, package: &str) {
    let has = || {
        Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has() {
        let status = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", package])
            .status()
            .expect("run pip");
        assert!(status.success() && has(), "pip install {package} failed");
    }
}

pub fn expected(path: &Path) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().map(str::to_string);
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    (header, lines.collect())
}

/// Runs every golden case of `kind`: `nightly` on its inbox, then each `<table>.csv` of the case
/// against the published table's columns named in that file's header.
pub fn check_golden(kind: &str, tables: &[&str]) {
    let cases = golden_cases(kind);
    assert!(!cases.is_empty());
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let as_of = std::fs::read_to_string(case.join("as_of"))
            .unwrap()
            .trim()
            .to_string();
        let rules = case.join("rules");
        let lake = tmp.path().join(&name);
        // Optional extra arguments, one per line (e.g. `--campaign` and its value).
        let extra = std::fs::read_to_string(case.join("args")).unwrap_or_default();
        let extra: Vec<&str> = extra.lines().filter(|l| !l.is_empty()).collect();
        let m = nightly_with(
            &case.join("inbox"),
            &lake,
            &as_of,
            rules.is_dir().then_some(rules.as_path()),
            &extra,
        );
        for table in tables {
            let file = case.join(format!("{table}.csv"));
            if !file.exists() {
                continue;
            }
            let (header, want) = expected(&file);
            let columns: Vec<&str> = header.iter().map(String::as_str).collect();
            let got = published(&lake, &m, table, &columns);
            if got != want {
                failures.push(format!(
                    "{kind}/{name}/{table}.csv\n  want:\n    {}\n  got:\n    {}",
                    want.join("\n    "),
                    got.join("\n    ")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Each output of a run as (name, format, rows, SHA-256): equal for runs that published the same.
pub fn checksums(m: &Manifest) -> Vec<(String, String, u64, String)> {
    m.outputs
        .iter()
        .map(|o| (o.name.clone(), o.format.clone(), o.rows, o.sha256.clone()))
        .collect()
}

/// The rows of `batch` as text, its `columns` (all when `None`) joined by `sep`.
pub fn batch_lines(batch: &RecordBatch, columns: Option<&[&str]>, sep: &str) -> Vec<String> {
    let opts = FormatOptions::default();
    let arrays: Vec<_> = match columns {
        Some(names) => names
            .iter()
            .map(|c| batch.column_by_name(c).unwrap().clone())
            .collect(),
        None => batch.columns().to_vec(),
    };
    let fmts: Vec<_> = arrays
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
        .collect();
    (0..batch.num_rows())
        .map(|r| {
            fmts.iter()
                .map(|f| f.value(r).to_string())
                .collect::<Vec<_>>()
                .join(sep)
        })
        .collect()
}

/// Every output of `m` exists in `lake` (a folder or an `s3://` URL) with the SHA-256 the
/// manifest records.
pub fn assert_outputs_match(lake: &Path, m: &Manifest) {
    use sha2::{Digest, Sha256};
    assert!(!m.outputs.is_empty());
    let lake = Lake::open(lake.to_str().unwrap()).unwrap();
    runtime().block_on(async {
        for o in &m.outputs {
            let bytes = lake.get(&o.path).await.unwrap();
            assert_eq!(hex::encode(Sha256::digest(&bytes)), o.sha256, "{}", o.path);
        }
    });
}

/// The command exited 2 with `words` in its message, and did not panic.
pub fn assert_rejected(out: &std::process::Output, words: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit 2\n{stderr}");
    assert!(stderr.contains(words), "expected `{words}` in:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Files under `dir`, recursively, as sorted relative paths.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

/// Copies every file under `from` to the same place under `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    for rel in listing(from) {
        let dest = to.join(&rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&rel), dest).unwrap();
    }
}

/// The shipped rules in a folder `name` under `dir`, with `edit` applied to `table`.
pub fn rules_with(dir: &Path, name: &str, table: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let rules = dir.join(name);
    copy_tree(&repo().join("sql/rules"), &rules);
    let text = std::fs::read_to_string(rules.join(table)).unwrap();
    std::fs::write(rules.join(table), edit(text)).unwrap();
    rules
}

/// The personal data of an inbox: its officers' names, and its reporters' phone numbers and
/// complaint texts (categories longer than six characters, which no output may carry).
pub fn personal_data(inbox: &Path) -> (Vec<String>, Vec<String>) {
    let bytes = std::fs::read(inbox.join("inspectors/inspectors.csv")).unwrap();
    let (text, _, _) = encoding_rs::GB18030.decode(&bytes);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let officers: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[1].to_string())
        .collect();
    let mut others = Vec::new();
    for line in std::fs::read_to_string(inbox.join("complaints/complaints.ndjson"))
        .unwrap()
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        others.extend(v["reporter_phone"].as_str().map(str::to_string));
        others.extend(
            v["category"]
                .as_str()
                .filter(|c| c.chars().count() > 6)
                .map(str::to_string),
        );
    }
    (officers, others)
}

/// `firecredit explain` of `unit` in the committed run of `as_of`.
pub fn explain(lake: &Path, as_of: &str, unit: &str) -> Output {
    firecredit(&[
        "explain",
        "--lake",
        lake.to_str().unwrap(),
        "--as-of",
        as_of,
        "--unit",
        unit,
    ])
}

/// Every published file of `m` in `lake`, by name and format: Parquet tables as rows in file
/// order, everything else as its bytes.
pub fn contents(lake: &Path, m: &Manifest) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for o in &m.outputs {
        let key = format!("{}.{}", o.name, o.format);
        let value = if o.format == "parquet" {
            let batch = parquet_file(&lake.join(&o.path));
            let batch = firecredit::lake::publish::flatten_lists(&batch).unwrap();
            batch_lines(&batch, None, ",")
        } else {
            vec![String::from_utf8_lossy(&std::fs::read(lake.join(&o.path)).unwrap()).into_owned()]
        };
        out.push((key, value));
    }
    out.sort();
    out
}

/// Two runs of `day` published the same files: Parquet tables with the same rows in the same
/// order, every other file with the same bytes.
pub fn assert_same_contents(day: &str, (a, ma): (&Path, &Manifest), (b, mb): (&Path, &Manifest)) {
    let (a, b) = (contents(a, ma), contents(b, mb));
    let names = |c: &[(String, Vec<String>)]| c.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b), "{day}");
    let differ: Vec<&String> = a
        .iter()
        .zip(&b)
        .filter(|((_, x), (_, y))| x != y)
        .map(|((name, _), _)| name)
        .collect();
    assert!(differ.is_empty(), "{day}: {differ:?} differ");
}
