//! Command-line interface: one module per subcommand. Data goes to stdout (the only place that
//! prints it), logs to stderr.
#![allow(clippy::print_stdout)]

#[cfg(feature = "ballista")]
mod cluster;
mod explain;
mod export;
mod generate;
mod ingest;
mod lake;
mod nightly;
mod run;
mod verify_plan;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Exit codes, shown in `--help`.
const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  internal error
  2  invalid arguments or rule tables
  3  some inbox files could not be read (the others were ingested; see the quality table)
  4  lake or file-system failure (nothing half-written is visible)
  5  verify-plan: the published plan does not match its recomputation
  6  the query engine (a Ballista cluster) is unreachable or failed

Logs go to stderr (set the level with --log or RUST_LOG); data goes to files or stdout.";

/// firecredit: fire-safety credit scoring (消防信用积分) and risk analytics.
///
/// Analysts (or a scheduler) run `nightly` every night: it ingests the day's inbox and
/// publishes the day's scores. `explain` answers an objection about one unit; `generate` makes a
/// synthetic inbox for trials and benchmarks.
#[derive(Debug, Parser)]
#[command(name = "firecredit", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Log level or filter (error, warn, info, debug; default info).
    #[arg(long, global = true)]
    pub log: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Generate(generate::GenerateArgs),
    Ingest(ingest::IngestArgs),
    Run(run::RunArgs),
    Nightly(nightly::NightlyArgs),
    Explain(explain::ExplainArgs),
    Export(export::ExportArgs),
    Lake(lake::LakeArgs),
    VerifyPlan(verify_plan::VerifyPlanArgs),
    #[cfg(feature = "ballista")]
    Scheduler(cluster::SchedulerArgs),
    #[cfg(feature = "ballista")]
    Executor(cluster::ExecutorArgs),
}

/// Logs to stderr at `level` (a level, or a full `tracing` filter). The Delta crates report
/// every snapshot they load at info; a level alone keeps them at warn.
pub fn init_logging(level: Option<&str>) {
    let directives = |level: &str| {
        let chatty = ["info", "debug", "trace"].contains(&level.to_ascii_lowercase().as_str());
        if chatty {
            format!("{level},delta_kernel=warn,buoyant_kernel=warn,deltalake_core=warn")
        } else {
            level.to_string()
        }
    };
    let filter = level
        .map(|l| tracing_subscriber::EnvFilter::new(directives(l)))
        .or_else(|| tracing_subscriber::EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(directives("info")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Generate(args) => generate::run(args),
        Command::Ingest(args) => runtime()?.block_on(ingest::execute(args)),
        Command::Run(args) => runtime()?.block_on(run::execute(args)),
        Command::Nightly(args) => runtime()?.block_on(nightly::execute(args)),
        Command::Explain(args) => runtime()?.block_on(explain::execute(args)),
        Command::Export(args) => runtime()?.block_on(export::execute(args)),
        Command::Lake(args) => runtime()?.block_on(lake::execute(args)),
        Command::VerifyPlan(args) => verify_plan::execute(args),
        #[cfg(feature = "ballista")]
        Command::Scheduler(args) => runtime()?.block_on(cluster::scheduler(args)),
        #[cfg(feature = "ballista")]
        Command::Executor(args) => runtime()?.block_on(cluster::executor(args)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Parses a `YYYY-MM-DD` local date into days since 1970-01-01.
pub(crate) fn parse_as_of(text: &str) -> Result<i32, String> {
    crate::contract::values::parse_date(text)
        .ok_or_else(|| format!("`{text}` is not a valid YYYY-MM-DD date"))
}
