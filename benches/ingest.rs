//! CSV → Parquet ingest throughput, side by side with DuckDB on the same generated file.
//!
//! ```text
//! cargo bench --locked --bench ingest            # FIRECREDIT_BENCH_UNITS=20000 by default
//! ```
//!
//! Generates an inbox, loads its unit registry (not timed), then times `ingest` of the IoT
//! CSV files (parse, validate, de-duplicate, write zstd Parquet) and DuckDB's
//! `COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet)` on the same files, and prints
//! both throughputs and their ratio.
#![allow(clippy::print_stdout)] // the bench's figures are its output

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use firecredit::contract::rules::RuleSet;
use firecredit::contract::values::parse_date;
use firecredit::ingest::read::Format;
use firecredit::ingest::{ingest, IngestOptions};
use firecredit::lake::Lake;
use firecredit_generate::{generate, GenerateOptions};

fn main() {
    let units: usize = std::env::var("FIRECREDIT_BENCH_UNITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let all = dir.path().join("all");
    generate(&GenerateOptions {
        out: all.clone(),
        units,
        as_of: parse_date("2026-06-30").unwrap(),
        seed: 42,
        format: Format::Csv,
        gbk: vec![],
        ndjson: vec![],
        dirty: 0.0,
        fire_drift: firecredit_generate::DEFAULT_FIRE_DRIFT,
        last_day: None,
    })
    .expect("generate");
    // Two inboxes: the registry (loaded first, not timed) and the IoT files.
    let registry = dir.path().join("registry");
    let iot = dir.path().join("iot");
    std::fs::create_dir_all(&registry).unwrap();
    std::fs::create_dir_all(&iot).unwrap();
    std::fs::rename(all.join("units"), registry.join("units")).unwrap();
    std::fs::rename(all.join("iot_events"), iot.join("iot_events")).unwrap();
    let csv_files: Vec<_> = std::fs::read_dir(iot.join("iot_events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let bytes: u64 = csv_files.iter().map(|p| p.metadata().unwrap().len()).sum();
    let rows: u64 = csv_files
        .iter()
        .map(|p| {
            std::fs::read(p)
                .unwrap()
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64
                - 1
        })
        .sum();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    rt.block_on(ingest(
        &lake,
        &IngestOptions::new(&registry, RuleSet::defaults()),
    ))
    .expect("registry");
    let started = Instant::now();
    let report = rt
        .block_on(ingest(
            &lake,
            &IngestOptions::new(&iot, RuleSet::defaults()),
        ))
        .expect("ingest");
    let ours = started.elapsed().as_secs_f64();
    assert!(report.failed().is_empty());

    let duck = duckdb_seconds(&iot.join("iot_events"), &dir.path().join("duck.parquet"));
    println!(
        "ingest_csv_to_parquet units={units} files={} rows={rows} csv_mib={:.1}",
        csv_files.len(),
        bytes as f64 / 1048576.0
    );
    println!(
        "  firecredit  {ours:8.2} s  {:10.0} rows/s  {:7.1} MiB/s",
        rows as f64 / ours,
        bytes as f64 / 1048576.0 / ours
    );
    match duck {
        Some(d) => {
            println!(
                "  duckdb      {d:8.2} s  {:10.0} rows/s  {:7.1} MiB/s",
                rows as f64 / d,
                bytes as f64 / 1048576.0 / d
            );
            println!("  ratio firecredit/duckdb time = {:.2}", ours / d);
        }
        None => println!("  duckdb      not available (pip install duckdb)"),
    }
}

fn duckdb_seconds(csv_dir: &Path, out: &Path) -> Option<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/duckdb_csv_to_parquet.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(csv_dir.join("*.csv"))
        .arg(out)
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        return None;
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}
