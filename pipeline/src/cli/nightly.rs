//! `firecredit nightly`: ingest, then run — the command a scheduler calls.

use std::path::PathBuf;

use clap::Args;

use super::{ingest, run};

/// Ingest the inbox, then score and publish for --as-of. If some inbox file cannot be read,
/// scoring does not start (exit 3) unless --allow-partial is given; what is already published
/// stays untouched.
#[derive(Debug, Args)]
pub struct NightlyArgs {
    /// Inbox folder with one sub-folder per source.
    #[arg(long)]
    inbox: PathBuf,
    /// Lake location: a local folder, or `s3://bucket/prefix` (build with `--features s3`).
    #[arg(long)]
    lake: String,
    /// The scoring date (local date, YYYY-MM-DD).
    #[arg(long, value_parser = super::parse_as_of)]
    as_of: i32,
    /// Rule tables folder replacing the shipped defaults (the six tables of sql/rules/, checked
    /// before anything runs).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Score even when some inbox files could not be read.
    #[arg(long)]
    allow_partial: bool,
    #[command(flatten)]
    inbox_rules: ingest::InboxArgs,
    #[command(flatten)]
    engine: run::EngineArgs,
    /// The risk model: `auto` takes the candidate with the better backtest.
    #[arg(long, value_enum, default_value_t)]
    model: crate::stages::risk::ModelChoice,
    /// Fit the models (`always`), or judge again the previous run's: when fitted on the same
    /// rows (`auto`), or whatever rows (`never`).
    #[arg(long, value_enum, default_value_t)]
    refit: crate::stages::risk::Refit,
    #[command(flatten)]
    plan: run::PlanArgs,
    /// Language of report.html.
    #[arg(long, value_enum, default_value_t)]
    lang: crate::stages::report::Lang,
    /// Compute everything anew: the intervals from all history and the models fitted,
    /// taking nothing over from the previous run.
    #[arg(long)]
    full: bool,
}

pub async fn execute(args: NightlyArgs) -> anyhow::Result<()> {
    // A generated inbox carries its truth; the model report then compares with the oracle.
    let truth = Some(args.inbox.join("_truth/fire_truth.csv")).filter(|p| p.exists());
    let ingested = ingest::execute(ingest::IngestArgs {
        inbox: args.inbox,
        lake: args.lake.clone(),
        rules: args.rules.clone(),
        inbox_rules: args.inbox_rules,
    })
    .await;
    if let Err(e) = ingested {
        let partial = matches!(
            e.downcast_ref::<crate::Error>(),
            Some(crate::Error::FilesFailed { .. })
        );
        if !(partial && args.allow_partial) {
            return Err(e.context("ingest did not complete; nothing was scored"));
        }
        tracing::warn!("{e:#}; scoring anyway (--allow-partial)");
    }
    run::execute(run::RunArgs {
        lake: args.lake,
        as_of: args.as_of,
        lake_version: None,
        rules: args.rules,
        engine: args.engine,
        truth,
        model: args.model,
        refit: args.refit,
        plan: args.plan,
        lang: args.lang,
        full: args.full,
    })
    .await
}
