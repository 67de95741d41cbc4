//! `export --public`: what a government or a credit platform receives of a committed run. Only
//! the outputs its manifest marks `public` (supervision.md §7) are copied, each checked against
//! its SHA-256, into a folder or bucket, then a manifest of just those, written last (as a
//! run's): a receiver that finds no `manifest.json` has no export.

use object_store::buffered::BufWriter;
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::{read_manifest, sha256_object, Audience, Output, Rules};
use crate::error::{Error, Result};
use crate::lake::Lake;

/// The manifest of a public export: the run's identity and its public outputs, with paths
/// relative to the export folder. No input file names, lake versions or timings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PublicManifest {
    pub run_id: String,
    pub as_of: String,
    pub firecredit_version: String,
    pub rules: Rules,
    pub model_version: Option<String>,
    pub outputs: Vec<Output>,
}

/// Where a run folder `<lake>/runs/<as_of>/<run_id>` belongs: (lake root, as_of, run folder
/// relative to the lake root).
fn split_run_dir(run_dir: &str) -> Result<(String, String, String)> {
    let trimmed = run_dir.trim_end_matches('/');
    let mut parts = trimmed.rsplitn(4, '/');
    let (run_id, as_of, runs, root) = (parts.next(), parts.next(), parts.next(), parts.next());
    match (run_id, as_of, runs, root) {
        (Some(run_id), Some(as_of), Some("runs"), Some(root)) if !run_id.is_empty() => Ok((
            if root.is_empty() { "/" } else { root }.to_string(),
            as_of.to_string(),
            format!("runs/{as_of}/{run_id}"),
        )),
        _ => Err(Error::Invalid(format!(
            "{run_dir} is not a run folder (LAKE/runs/<as_of>/<run_id>)"
        ))),
    }
}

/// Copies the public outputs of the committed run in `run_dir` to `out` (a folder or an
/// `s3://` location) and writes their manifest there. Returns that manifest.
pub async fn export_public(run_dir: &str, out: &str) -> Result<PublicManifest> {
    let (root, as_of, dir) = split_run_dir(run_dir)?;
    let lake = Lake::open(&root)?;
    let manifest = read_manifest(&lake, &as_of)
        .await?
        .filter(|m| m.dir == dir)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{run_dir} is not the committed run of {as_of} (its manifest names another folder, or none)"
            ))
        })?;
    let target = Lake::open(out)?;
    let mut outputs = Vec::new();
    for output in manifest
        .outputs
        .iter()
        .filter(|o| o.audience == Audience::Public)
    {
        let file = output
            .path
            .rsplit('/')
            .next()
            .unwrap_or(output.path.as_str())
            .to_string();
        copy(&lake, &output.path, &target, &file).await?;
        let copied = sha256_object(&target, &file).await?;
        if copied != output.sha256 {
            return Err(Error::Internal(format!(
                "{file}: SHA-256 {copied} after the copy, {} in the manifest",
                output.sha256
            )));
        }
        outputs.push(Output {
            path: file,
            ..output.clone()
        });
    }
    let public = PublicManifest {
        run_id: manifest.run_id,
        as_of: manifest.as_of,
        firecredit_version: manifest.firecredit_version,
        rules: manifest.rules,
        model_version: manifest.model_version,
        outputs,
    };
    let json = serde_json::to_vec_pretty(&public).map_err(|e| Error::Internal(e.to_string()))?;
    target.put("manifest.json", json.into()).await?;
    Ok(public)
}

/// Copies `from` in `lake` to `to` in `target` piece by piece: an output of any size is copied
/// in bounded memory.
async fn copy(lake: &Lake, from: &str, target: &Lake, to: &str) -> Result<()> {
    let io = |source| Error::Io {
        path: to.to_string(),
        source,
    };
    let mut upload = BufWriter::new(target.store(), Path::from(to));
    lake.for_each_piece(from, async |piece| {
        upload.write_all(&piece).await.map_err(io)
    })
    .await?;
    upload.shutdown().await.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_folder_names_its_lake_day_and_folder() {
        assert_eq!(
            split_run_dir("/data/lake/runs/2026-06-30/r1/").unwrap(),
            (
                "/data/lake".into(),
                "2026-06-30".into(),
                "runs/2026-06-30/r1".into()
            )
        );
        assert_eq!(
            split_run_dir("s3://b/p/runs/2026-06-30/r1").unwrap().0,
            "s3://b/p"
        );
        assert!(split_run_dir("/data/lake/2026-06-30/r1").is_err());
        assert!(split_run_dir("r1").is_err());
    }
}
