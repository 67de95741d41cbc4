//! Golden tests of the credit stage (scoring.md §1): each folder of `tests/golden/credit/` is
//! one rule: an inbox, its `as_of`, optional `rules/`, and the expected `ledger.csv` and
//! `scores.csv`, derived by hand from the spec. The real binary runs `nightly` on the inbox.

use std::path::{Path, PathBuf};

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use firecredit::publish::Manifest;

use crate::helpers::*;

fn golden_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/golden/credit"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

/// Runs `nightly` for a case into `lake`; returns the committed manifest.
pub fn nightly(inbox: &Path, lake: &Path, as_of: &str, rules: Option<&Path>) -> Manifest {
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
    assert_ok(&firecredit(&args));
    manifest(lake, as_of)
}

pub fn manifest(lake: &Path, as_of: &str) -> Manifest {
    let text = std::fs::read_to_string(lake.join(format!("runs/{as_of}/manifest.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A published Parquet table as CSV lines of `columns` (lists `;`-joined), in file order.
pub fn published(lake: &Path, m: &Manifest, table: &str, columns: &[&str]) -> Vec<String> {
    let path = lake.join(&m.output(table, "parquet").unwrap().path);
    let file = std::fs::File::open(path).unwrap();
    let reader =
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
    let mut lines = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let schema = batch.schema();
        let batch = firecredit::publish::flatten_lists(&batch, &flat_schema(&schema)).unwrap();
        let opts = FormatOptions::default();
        let cols: Vec<_> = columns
            .iter()
            .map(|c| {
                ArrayFormatter::try_new(batch.column_by_name(c).unwrap().as_ref(), &opts).unwrap()
            })
            .collect();
        for r in 0..batch.num_rows() {
            lines.push(
                cols.iter()
                    .map(|f| f.value(r).to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
    }
    lines
}

fn flat_schema(
    schema: &datafusion::arrow::datatypes::SchemaRef,
) -> datafusion::arrow::datatypes::SchemaRef {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    std::sync::Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::List(_) => Field::new(f.name(), DataType::Utf8, true),
                _ => f.as_ref().clone(),
            })
            .collect::<Vec<_>>(),
    ))
}

fn expected(path: &Path) -> (Vec<String>, Vec<String>) {
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

#[test]
fn credit_rules_match_their_golden_files() {
    let cases = golden_cases();
    assert!(cases.len() >= 10, "one case per rule");
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
        let m = nightly(
            &case.join("inbox"),
            &lake,
            &as_of,
            rules.is_dir().then_some(rules.as_path()),
        );
        for (table, file) in [
            ("credit_ledger", "ledger.csv"),
            ("unit_scores", "scores.csv"),
        ] {
            let (header, want) = expected(&case.join(file));
            let columns: Vec<&str> = header.iter().map(String::as_str).collect();
            let got = published(&lake, &m, table, &columns);
            if got != want {
                failures.push(format!(
                    "{name}/{file}\n  want:\n    {}\n  got:\n    {}",
                    want.join("\n    "),
                    got.join("\n    ")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
