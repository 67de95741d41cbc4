//! `firecredit ingest`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

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
}

pub async fn execute(args: IngestArgs) -> anyhow::Result<()> {
    let rules = super::run::rules(&args.rules)?;
    let lake = Lake::open(&args.lake)?;
    let opts = IngestOptions::new(&args.inbox, rules);
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
