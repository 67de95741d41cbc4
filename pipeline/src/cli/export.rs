//! `firecredit export`.

use anyhow::Context;
use clap::Args;

use crate::lake::publish::export::export_public;

/// Copy what may leave the fire service of a committed run: its public outputs (supervision.md
/// §7: the feed, lists, high-risk areas, supervision lists, the inspection plan and its audit
/// tables, the district summary and the report), each checked against its SHA-256, and a
/// manifest of just those, written last. Alerts naming officers, the ledger, features, the
/// model and every lineage table stay behind.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Export the public outputs (the only kind of export).
    #[arg(long, required = true)]
    public: bool,
    /// The committed run's folder: LAKE/runs/<as_of>/<run_id> (local or s3://).
    run_dir: String,
    /// Where to write: a folder (created if missing) or s3://bucket/prefix.
    out: String,
}

pub async fn execute(args: ExportArgs) -> anyhow::Result<()> {
    debug_assert!(args.public);
    if !args.run_dir.contains("://") && !std::path::Path::new(&args.run_dir).is_dir() {
        return Err(crate::Error::Invalid(format!("{} is not a folder", args.run_dir)).into());
    }
    let manifest = export_public(&args.run_dir, &args.out)
        .await
        .with_context(|| format!("exporting the public outputs of {}", args.run_dir))?;
    tracing::info!(
        outputs = manifest.outputs.len(),
        out = %args.out,
        "public outputs exported"
    );
    Ok(())
}
