//! `firecredit run`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::contract::rules::RuleSet;
use crate::engine::{Engine, EngineOptions};
use crate::lake::publish::{manifest_path, StageTiming};
use crate::lake::{Lake, Pins};
use crate::run::{run, RunOptions};
use crate::stages::plan::{Campaign, PlanOptions};
use crate::stages::report::Lang;
use crate::stages::risk::{ModelChoice, Refit};

/// Score every unit for one day and publish the run under LAKE/runs/<as_of>/: the stages in
/// order (hazard, credit ledger, status at the model's cutoffs, risk, unit scores and lists,
/// high-risk areas, the credit-platform feed, the report, the inspection plan), each step's
/// table as Parquet (and CSV for people), then manifest.json, written last: the commit.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Lake location: a local folder, or `s3://bucket/prefix` (build with `--features s3`).
    #[arg(long)]
    pub lake: String,
    /// The scoring date (local date, YYYY-MM-DD): only what is known by then counts.
    #[arg(long, value_parser = super::parse_as_of)]
    pub as_of: i32,
    /// Read the lake as it was: every table at the versions given (`units=3,violations=5`; the
    /// others at their latest), or every table as it was at an instant (RFC 3339, e.g.
    /// 2026-06-30T18:00:00+08:00). A run's manifest lists the versions it read.
    #[arg(long, value_parser = parse_pins)]
    pub lake_version: Option<Pins>,
    /// Rule tables folder replacing the shipped defaults: the six tables of sql/rules/
    /// (violations, bonuses, classes, hazard_elements, penalty_bands, parameters), checked
    /// before anything runs (exit 2 naming the table, row and column).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// A generator's `_truth/fire_truth.csv`: the model report then gives the oracle AUC.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// The risk model: `auto` takes the candidate with the better backtest.
    #[arg(long, value_enum, default_value_t)]
    pub model: ModelChoice,
    /// Fit the models (`always`), judge again the previous run's when they were fitted on the
    /// same rows (`auto`), or judge again the previous run's whatever rows (`never`). The
    /// manifest's `reuse.fits` says which.
    #[arg(long, value_enum, default_value_t)]
    pub refit: Refit,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Language of report.html.
    #[arg(long, value_enum, default_value_t)]
    pub lang: Lang,
    /// Compute everything anew: the connected-device intervals from all history instead of
    /// carried forward from the previous run's (which a run does when the previous run's
    /// inputs allow it), and the models fitted whatever --refit says. The manifest's `reuse`
    /// says what a run took over.
    #[arg(long)]
    pub full: bool,
}

/// The inspection plan's public inputs, shared by `run` and `nightly`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Public seed of the double-random draw: a value announced after the plan period is fixed
    /// (for example a public lottery draw), so nobody can compute the draw in advance. Default:
    /// `<as_of>:<16 hex digits>` of the lake's content digest (SHA-256 over the sorted SHA-256s
    /// of the manifest's inputs, one per line), unknown before the data is frozen; the plan
    /// prints the seed it used.
    #[arg(long)]
    pub seed: Option<String>,
    /// Campaign (专项治理): use types drawn with a multiplier, e.g. `hotel=1.5,school=2`.
    #[arg(long, value_parser = parse_campaign)]
    pub campaign: Option<Campaign>,
}

impl PlanArgs {
    pub fn options(&self) -> PlanOptions {
        PlanOptions {
            seed: self.seed.clone(),
            campaign: self.campaign.clone().unwrap_or_default(),
        }
    }
}

fn parse_campaign(text: &str) -> Result<Campaign, String> {
    text.parse()
        .map_err(|e: crate::stages::plan::draw::CampaignError| e.to_string())
}

/// Query engine settings shared by `run` and `nightly`.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Where the SQL runs: `local` (DataFusion in this process) or `ballista://HOST:PORT`, a
    /// Ballista scheduler (needs a build with `--features ballista`).
    #[arg(long, default_value = "local")]
    pub engine: Engine,
    /// DataFusion partitions (default: one per core).
    #[arg(long)]
    pub partitions: Option<usize>,
    /// Memory for query operators, e.g. 6G or 800M; beyond it they spill to disk (default: 40 %
    /// of RAM).
    #[arg(long, value_parser = parse_size)]
    pub memory_limit: Option<usize>,
    /// Folder for spill files (default: the system's temporary folder).
    #[arg(long)]
    pub spill_dir: Option<PathBuf>,
}

impl EngineArgs {
    pub fn options(&self) -> EngineOptions {
        EngineOptions {
            engine: self.engine.clone(),
            target_partitions: self.partitions,
            memory_limit: self.memory_limit,
            spill_dir: self.spill_dir.clone(),
        }
    }
}

/// The stage timings as a table for the end of the command (stderr: data stays on stdout).
pub fn timing_table(timings: &[StageTiming]) -> String {
    let total = timings
        .iter()
        .find(|t| t.stage == "total")
        .map_or(0.0, |t| t.seconds);
    let width = timings
        .iter()
        .map(|t| t.stage.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!("{:<width$}  {:>9}  {:>6}\n", "stage", "seconds", "share");
    for t in timings {
        let share = if total > 0.0 && t.stage != "total" {
            format!("{:5.1}%", 100.0 * t.seconds / total)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{:<width$}  {:>9.2}  {:>6}\n",
            t.stage, t.seconds, share
        ));
    }
    out
}

/// `table=version,…` or an instant.
pub fn parse_pins(text: &str) -> Result<Pins, String> {
    if !text.contains('=') {
        let micros = crate::contract::values::parse_timestamp(text)
            .ok_or_else(|| format!("`{text}` is neither table=version,… nor a timestamp"))?;
        let at = chrono::DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| format!("`{text}` is out of range"))?;
        return Ok(Pins::Time(at));
    }
    let names: Vec<&str> = crate::lake::tables::all()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut versions = std::collections::BTreeMap::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (table, version) = entry
            .split_once('=')
            .ok_or_else(|| format!("`{entry}`: expected table=version"))?;
        if !names.contains(&table.trim()) {
            return Err(format!(
                "`{table}` is not a lake table ({})",
                names.join(", ")
            ));
        }
        let version: u64 = version
            .trim()
            .parse()
            .map_err(|_| format!("`{entry}`: the version is a whole number"))?;
        versions.insert(table.trim().to_string(), version);
    }
    Ok(Pins::Versions(versions))
}

/// `123`, `64K`, `800M`, `6G` (binary units).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size like 6G"))?;
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(format!("`{text}`: unit must be K, M or G")),
    };
    n.checked_shl(shift)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("`{text}` is out of range"))
}

/// The rule tables of `--rules DIR`, or the shipped defaults; an invalid table is exit 2.
pub fn rules(dir: &Option<PathBuf>) -> anyhow::Result<RuleSet> {
    Ok(match dir {
        Some(dir) => RuleSet::from_dir(dir).map_err(crate::Error::from)?,
        None => RuleSet::defaults(),
    })
}

pub async fn execute(args: RunArgs) -> anyhow::Result<()> {
    // The rules are checked before the lake is opened (which creates a local folder).
    let rules = Arc::new(rules(&args.rules)?);
    let lake = Lake::open(&args.lake)?;
    let opts = RunOptions {
        as_of: args.as_of,
        pins: args.lake_version.clone().unwrap_or_default(),
        rules,
        engine: args.engine.options(),
        truth: args.truth.clone(),
        model: args.model,
        refit: args.refit,
        plan: args.plan.options(),
        lang: args.lang,
        full: args.full,
    };
    let manifest = run(&lake, &opts)
        .await
        .with_context(|| format!("scoring {}", args.lake))?;
    for o in manifest.outputs.iter().filter(|o| o.format == "parquet") {
        tracing::info!(table = %o.name, rows = o.rows, "published");
    }
    eprint!("{}", timing_table(&manifest.stage_timings));
    println!("{}", lake.url_of(&manifest_path(&manifest.as_of)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{parse_size, timing_table, StageTiming};

    #[test]
    fn the_timing_table_gives_shares_of_the_total() {
        let t = |stage: &str, seconds| StageTiming {
            stage: stage.into(),
            seconds,
        };
        let table = timing_table(&[t("credit.credit_ledger", 3.0), t("total", 12.0)]);
        assert_eq!(
            table,
            "stage                   seconds   share\n\
             credit.credit_ledger       3.00   25.0%\n\
             total                     12.00        \n"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("6G"), Ok(6 << 30));
        assert_eq!(parse_size("800m"), Ok(800 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("6T").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
    }
}
