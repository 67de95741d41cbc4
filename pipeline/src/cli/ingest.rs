//! `firecredit ingest`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::ingest::read::Limits;
use crate::ingest::{ingest, IngestOptions};
use crate::lake::Lake;

/// Load an inbox into the lake: validate every row, quarantine bad ones with a reason, apply
/// updates, and account for every file in the quality table. Files already ingested (same
/// SHA-256) are skipped, so rerunning is safe.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Inbox folder with one sub-folder per source (units/, inspections/, …).
    #[arg(long)]
    pub inbox: PathBuf,
    /// Lake location: a local folder (created if missing), or `s3://bucket/prefix` (build with
    /// `--features s3`).
    #[arg(long)]
    pub lake: String,
    /// Rule tables folder replacing the shipped defaults (the six tables of sql/rules/, checked
    /// before anything is read).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    #[command(flatten)]
    pub inbox_rules: InboxArgs,
}

/// How the inbox is read: what counts as a finished file, and the size of one row.
#[derive(Debug, Clone, Args)]
pub struct InboxArgs {
    /// Leave files modified less than this long ago (e.g. 10m) for the next ingest: files still
    /// being written. `*.part`, `*.tmp` and dot-files are always left alone.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub min_age: Option<std::time::Duration>,
    /// Largest cell, in bytes: a row with a larger one is quarantined `too_large`.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().cell_bytes)]
    pub max_cell_bytes: usize,
    /// Largest record (CSV record, NDJSON line, Parquet row), in bytes: a larger one is
    /// quarantined `too_large`, never held whole in memory.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().record_bytes)]
    pub max_record_bytes: usize,
    /// CSV records spanning more physical lines than this are reported in the file's warnings.
    #[arg(long, value_name = "LINES", default_value_t = Limits::default().record_lines)]
    pub max_record_lines: u64,
}

impl InboxArgs {
    fn apply(&self, opts: &mut IngestOptions) {
        opts.min_age = self.min_age;
        opts.limits = Limits {
            cell_bytes: self.max_cell_bytes,
            record_bytes: self.max_record_bytes,
            record_lines: self.max_record_lines,
        };
    }
}

pub async fn execute(args: IngestArgs) -> anyhow::Result<()> {
    let rules = super::run::rules(&args.rules)?;
    let lake = Lake::open(&args.lake)?;
    let mut opts = IngestOptions::new(&args.inbox, rules);
    args.inbox_rules.apply(&mut opts);
    let started = std::time::Instant::now();
    let report = ingest(&lake, &opts)
        .await
        .with_context(|| format!("ingesting {} into {}", args.inbox.display(), args.lake))?;
    for f in &report.files {
        tracing::info!(
            file = %f.file,
            status = %f.status,
            read = f.rows_read,
            accepted = f.rows_accepted,
            quarantined = f.rows_quarantined,
            superseded = f.rows_superseded,
            released = f.rows_released,
        );
    }
    tracing::info!(
        version = report.version,
        committed = report.committed,
        skipped = report.skipped.len(),
        seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
        "ingest finished"
    );
    report.into_result()?;
    Ok(())
}
