//! `firecredit generate`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use firecredit_generate::{generate, Format, GenerateOptions};

use crate::contract::Source;

/// Write a synthetic inbox: all eight sources over the four years before --as-of, with a
/// planted fire model and its truth in INBOX/_truth/.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Inbox folder to write (one sub-folder per source).
    #[arg(long)]
    out: PathBuf,
    /// Number of supervised units.
    #[arg(long, default_value_t = 10_000)]
    units: usize,
    /// The last day of the history (local date, YYYY-MM-DD).
    #[arg(long, value_parser = super::parse_as_of)]
    as_of: i32,
    /// Random seed: the same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// File format of every source.
    #[arg(long, default_value = "csv", value_parser = parse_format)]
    format: Format,
    /// Share of rows followed by a defective copy (0..1), each defect of a contract kind.
    #[arg(long, default_value_t = 0.0)]
    dirty: f64,
    /// Sources to write as GBK/GB18030 CSV (comma-separated), as many government exports are.
    #[arg(long, value_delimiter = ',')]
    gbk: Vec<Source>,
    /// Sources to write as NDJSON (comma-separated).
    #[arg(long, value_delimiter = ',')]
    ndjson: Vec<Source>,
    /// Yearly drift of the planted fire model's log-odds beyond what the records explain
    /// (-1..1; zero in the middle year of the history): a rising fire rate, as real data has.
    #[arg(long, default_value_t = firecredit_generate::DEFAULT_FIRE_DRIFT, allow_negative_numbers = true)]
    fire_drift: f64,
    /// A second inbox for the rows of the --as-of day itself (events, findings and unit updates
    /// of that day): --out then holds the history to the day before and this folder one more
    /// day on top of it, for trying an incremental night (`nightly --as-of` the day before on
    /// --out, then `nightly --as-of` the day on this folder).
    #[arg(long)]
    last_day: Option<PathBuf>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    match s {
        "csv" => Ok(Format::Csv),
        "ndjson" => Ok(Format::Ndjson),
        "parquet" => Ok(Format::Parquet),
        _ => Err(format!("`{s}`: expected csv, ndjson or parquet")),
    }
}

/// The generator's errors with the binary's exit codes: a bad option is 2, a file that cannot
/// be written 4.
fn error(e: firecredit_generate::Error) -> crate::Error {
    use firecredit_generate::Error as G;
    match e {
        G::Invalid(message) => crate::Error::Invalid(message),
        G::Io { path, source } => crate::Error::Io { path, source },
        G::Parquet { path, source } => crate::Error::Parquet { path, source },
        G::Write(message) => crate::Error::Io {
            path: "the inbox".into(),
            source: std::io::Error::other(message),
        },
    }
}

pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let opts = GenerateOptions {
        out: args.out,
        units: args.units,
        as_of: args.as_of,
        seed: args.seed,
        format: args.format,
        gbk: args.gbk,
        ndjson: args.ndjson,
        dirty: args.dirty,
        fire_drift: args.fire_drift,
        last_day: args.last_day,
    };
    let started = std::time::Instant::now();
    let summary = generate(&opts)
        .map_err(error)
        .with_context(|| format!("generating into {}", opts.out.display()))?;
    for (source, rows) in &summary.rows {
        tracing::info!(source = %source, rows, "written");
    }
    for (source, rows) in &summary.last_day_rows {
        tracing::info!(source = %source, rows, "written to the last day's inbox");
    }
    tracing::info!(
        seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
        oracle_auc = ?summary.oracle_auc,
        "inbox generated"
    );
    Ok(())
}
