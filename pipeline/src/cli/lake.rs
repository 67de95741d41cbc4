//! `firecredit lake`: keeping the lake (vacuum, optimize, history) and migrating it from the
//! former private format.

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::lake::Lake;

/// Keep the lake's Delta tables: remove what no recent version needs, compact small files,
/// show a table's commits, or migrate a lake of the former format.
#[derive(Debug, Args)]
pub struct LakeArgs {
    /// Lake location: a local folder, or `s3://bucket/prefix` (build with `--features s3`).
    #[arg(long, global = true)]
    pub lake: Option<String>,
    #[command(subcommand)]
    pub command: LakeCommand,
}

#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Remove the files that no table version of the retention period needs (also files that
    /// no version ever referenced, e.g. of an ingest killed before its commit), run folders
    /// that no manifest names, and old staging leftovers. Time travel reaches back as far as
    /// the retention.
    Vacuum {
        /// How long files that recent versions read are kept, e.g. 168h (Delta's default, 7
        /// days), 24h or 30d.
        #[arg(long, default_value = "168h", value_parser = humantime::parse_duration)]
        retain: std::time::Duration,
    },
    /// Compact small files into ~128 MiB ones (each IoT month apart). Not while an ingest is
    /// running.
    Optimize,
    /// The commits of one table (`units`, …, `quality`, `ingest_log`, `feed/scores`), newest
    /// first: version, time, operation, the ingest it belongs to, files added and removed.
    History {
        table: String,
        /// How many commits.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Convert a lake of the former private format (`_lake/snapshot-N.json`) to Delta tables,
    /// in place. Nothing else may use the lake meanwhile.
    Migrate,
}

pub async fn execute(args: LakeArgs) -> anyhow::Result<()> {
    let location = args.lake.context("give the lake with --lake")?;
    let lake = Lake::open(&location)?;
    match args.command {
        LakeCommand::Vacuum { retain } => {
            let report = lake.vacuum(retain).await?;
            for (table, files) in &report.files {
                tracing::info!(%table, files, "vacuumed");
            }
            println!(
                "removed {} table files, {} run attempt folders, {} staging leftovers",
                report.files.iter().map(|f| f.1).sum::<usize>(),
                report.runs.len(),
                report.scratch
            );
        }
        LakeCommand::Optimize => {
            for c in lake.optimize().await? {
                println!(
                    "{}\t{} files compacted into {}",
                    c.table, c.removed, c.added
                );
            }
        }
        LakeCommand::History { table, limit } => {
            println!("version\ttime\toperation\tingest\tadded\tremoved");
            for c in lake.history(&table, Some(limit)).await? {
                let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    c.version,
                    c.timestamp.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    c.operation,
                    opt(c.ingest),
                    opt(c.added),
                    opt(c.removed)
                );
            }
        }
        LakeCommand::Migrate => {
            let m = lake.migrate().await?;
            for (table, files) in &m.tables {
                tracing::info!(%table, files, "migrated");
            }
            println!(
                "migrated ingest {} to Delta tables; {} superseded files removed",
                m.ingest, m.deleted
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::lake::maintenance::DEFAULT_RETENTION;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        lake: super::LakeArgs,
    }

    fn retain(args: &[&str]) -> Result<std::time::Duration, clap::Error> {
        let cli = Cli::try_parse_from(["lake"].iter().chain(args))?;
        match cli.lake.command {
            super::LakeCommand::Vacuum { retain } => Ok(retain),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_default_retention_is_the_documented_one() {
        assert_eq!(retain(&["vacuum"]).unwrap(), DEFAULT_RETENTION);
        assert_eq!(retain(&["vacuum", "--retain", "0h"]).unwrap().as_secs(), 0);
        assert_eq!(
            retain(&["vacuum", "--retain", "30d"]).unwrap().as_secs(),
            30 * 86_400
        );
        assert!(retain(&["vacuum", "--retain", "a week"]).is_err());
    }
}
