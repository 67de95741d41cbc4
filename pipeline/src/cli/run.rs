//! `firecredit run`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::contract::rules::RuleSet;
use crate::lake::Lake;
use crate::run::{run, RunOptions};

/// Score every unit for one day and publish the run: credit points and grades, the ledger,
/// reward and discipline lists, and manifest.json (written last) under LAKE/runs/<as_of>/.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Lake location: a local folder.
    #[arg(long)]
    pub lake: String,
    /// The scoring date (local date, YYYY-MM-DD): only what is known by then counts.
    #[arg(long, value_parser = super::parse_as_of)]
    pub as_of: i32,
    /// Rule tables folder replacing the shipped defaults.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// DataFusion partitions (default: one per core).
    #[arg(long)]
    pub partitions: Option<usize>,
}

pub fn rules(dir: &Option<PathBuf>) -> anyhow::Result<RuleSet> {
    Ok(match dir {
        Some(dir) => RuleSet::from_dir(dir)?,
        None => RuleSet::defaults(),
    })
}

pub async fn execute(args: RunArgs) -> anyhow::Result<()> {
    let lake = Lake::open(&args.lake)?;
    let opts = RunOptions {
        as_of: args.as_of,
        rules: Arc::new(rules(&args.rules)?),
        target_partitions: args.partitions,
    };
    let manifest = run(&lake, &opts)
        .await
        .with_context(|| format!("scoring {}", args.lake))?;
    for o in manifest.outputs.iter().filter(|o| o.format == "parquet") {
        tracing::info!(table = %o.name, rows = o.rows, "published");
    }
    for t in &manifest.stage_timings {
        tracing::info!(stage = %t.stage, seconds = format!("{:.2}", t.seconds), "timing");
    }
    println!(
        "{}",
        lake.url_of(&crate::publish::manifest_path(&manifest.as_of))
    );
    Ok(())
}
