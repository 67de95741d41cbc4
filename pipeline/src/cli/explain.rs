//! `firecredit explain`.

use std::path::PathBuf;

use clap::Args;

use crate::contract::values::format_date;
use crate::lake::Lake;

/// Show one unit's credit ledger with each event's arithmetic (repeat, timely rectification,
/// window, repair and objection status) and the total, in Chinese and English: for answering an
/// objection (异议).
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Lake location: a local folder, or `s3://bucket/prefix` (build with `--features s3`).
    #[arg(long)]
    lake: String,
    /// The scoring date of a published run (YYYY-MM-DD).
    #[arg(long, value_parser = super::parse_as_of)]
    as_of: i32,
    /// The unit to explain.
    #[arg(long)]
    unit: String,
    /// Rule tables folder (for the names of codes); defaults to the shipped rules.
    #[arg(long)]
    rules: Option<PathBuf>,
}

pub async fn execute(args: ExplainArgs) -> anyhow::Result<()> {
    let lake = Lake::open(&args.lake)?;
    let rules = super::run::rules(&args.rules)?;
    let text = crate::stages::credit::explain::explain(
        &lake,
        &format_date(args.as_of),
        &args.unit,
        &rules,
    )
    .await?;
    print!("{text}");
    Ok(())
}
