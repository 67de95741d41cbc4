//! `firecredit verify-plan`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::stages::plan::verify::verify_plan;

/// Recompute a published inspection plan from its run folder alone (LAKE/runs/<as_of>/<run_id>):
/// every draw key from the public seed, each stratum's count, the selection and the inspector
/// assignment. Prints one line per unit (`match` or `MISMATCH` with what differs); exits 5 when
/// anything differs.
#[derive(Debug, Args)]
pub struct VerifyPlanArgs {
    /// The run folder holding inspection_plan.csv and the plan_* tables.
    pub run_dir: PathBuf,
}

pub fn execute(args: VerifyPlanArgs) -> anyhow::Result<()> {
    let report = verify_plan(&args.run_dir)
        .with_context(|| format!("verifying the plan in {}", args.run_dir.display()))?;
    let mut out = std::io::stdout().lock();
    for (unit, problems) in &report.units {
        if problems.is_empty() {
            writeln!(out, "{unit}\tmatch")?;
        } else {
            writeln!(out, "{unit}\tMISMATCH\t{}", problems.join("; "))?;
        }
    }
    for problem in &report.general {
        writeln!(out, "-\tMISMATCH\t{problem}")?;
    }
    let mismatches = report.mismatches();
    tracing::info!(units = report.units.len(), mismatches, "plan verified");
    if mismatches > 0 {
        return Err(crate::Error::PlanMismatch { mismatches }.into());
    }
    Ok(())
}
