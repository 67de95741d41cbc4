//! The inbox's SHA-256s, computed ahead of staging: a file is staged as soon as its own
//! SHA-256 and those of the files it could be a copy of are known, so hashing the inbox
//! overlaps staging it instead of coming before it (decision 144).
//!
//! A file is taken when no earlier ingest took a file with its SHA-256 and no file before it in
//! byte order of path has its SHA-256. Only files of one length can share a SHA-256, so the
//! decision on a file waits for it and the files of its length before it; files are hashed in
//! the order they are staged (units first), each after the files of its length before it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use futures::StreamExt;
use tokio::sync::watch;

use super::InboxFile;
use crate::contract::Source;
use crate::error::{Error, Result};
use crate::lake::Snapshot;

/// What hashing one file found.
#[derive(Debug)]
enum Sum {
    Hashed(String),
    /// Its length was not the listed one: still being written.
    Changed {
        listed: u64,
        hashed: u64,
    },
    Failed(std::io::ErrorKind, String),
}

/// What becomes of one listed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Staged, with this SHA-256.
    Take(String),
    /// A file with the same SHA-256 was taken before, by this ingest or an earlier one.
    Skip,
    /// It changed while listed; left for the next ingest, as a file in flight is.
    Later,
}

/// The listed files and their SHA-256s as they are computed.
pub struct Hashes {
    files: Vec<InboxFile>,
    /// Indices into `files` in the order they are staged: units, then the others.
    units: Vec<usize>,
    others: Vec<usize>,
    /// Length → the files of that length, in byte order of path.
    by_len: HashMap<u64, Vec<usize>>,
    sums: Arc<[OnceLock<Sum>]>,
    /// Ticks after each file hashed; closed when hashing is over.
    hashed: watch::Receiver<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hashes {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Hashes {
    /// Starts hashing `files` (in byte order of path) on `parallelism` blocking threads, in the
    /// order they are staged.
    pub fn start(files: Vec<InboxFile>, parallelism: usize) -> Hashes {
        let (units, others): (Vec<usize>, Vec<usize>) =
            (0..files.len()).partition(|&i| files[i].source == Source::Units);
        let sums: Arc<[OnceLock<Sum>]> = files.iter().map(|_| OnceLock::new()).collect();
        let (tick, hashed) = watch::channel(());
        let mut by_len: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            by_len.entry(f.len).or_default().push(i);
        }
        let order = hashing_order(&files, &by_len, &[units.as_slice(), &others].concat());
        let paths: Vec<(usize, std::path::PathBuf, u64)> = order
            .into_iter()
            .map(|i| (i, files[i].path.clone(), files[i].len))
            .collect();
        let task = {
            let sums = sums.clone();
            tokio::spawn(async move {
                let mut done = futures::stream::iter(paths)
                    .map(|(i, path, listed)| {
                        tokio::task::spawn_blocking(move || (i, hash(&path, listed)))
                    })
                    .buffered(parallelism.max(1));
                while let Some(Ok((i, sum))) = done.next().await {
                    let _ = sums[i].set(sum);
                    tick.send_replace(());
                }
            })
        };
        Hashes {
            files,
            units,
            others,
            by_len,
            sums,
            hashed,
            task,
        }
    }

    pub fn files(&self) -> &[InboxFile] {
        &self.files
    }

    /// The units' files, staged first.
    pub fn units(&self) -> &[usize] {
        &self.units
    }

    /// The other sources' files, staged once the units are.
    pub fn others(&self) -> &[usize] {
        &self.others
    }

    async fn sum(&self, i: usize) -> Result<&Sum> {
        let mut hashed = self.hashed.clone();
        // Closed without this file's sum: the hashing task ended early (it panicked).
        let _ = hashed.wait_for(|_| self.sums[i].get().is_some()).await;
        self.sums[i]
            .get()
            .ok_or_else(|| Error::Internal(format!("hashing {} stopped", self.files[i].rel)))
    }

    /// Whether file `i` is taken on `base`. Waits for the SHA-256s it needs; an I/O error
    /// hashing the file fails the ingest, as it failed before anything was staged.
    pub async fn decide(&self, i: usize, base: &Snapshot) -> Result<Decision> {
        let file = &self.files[i];
        let sha = match self.sum(i).await? {
            Sum::Hashed(sha) => sha,
            Sum::Changed { .. } => return Ok(Decision::Later),
            Sum::Failed(kind, message) => {
                return Err(Error::Io {
                    path: file.path.display().to_string(),
                    source: std::io::Error::new(*kind, message.clone()),
                })
            }
        };
        if base.ingested.contains_key(sha) {
            return Ok(Decision::Skip);
        }
        for &j in self.by_len[&file.len].iter().take_while(|&&j| j < i) {
            if matches!(self.sum(j).await?, Sum::Hashed(other) if other == sha) {
                return Ok(Decision::Skip);
            }
        }
        Ok(Decision::Take(sha.clone()))
    }

    /// Logs a file that is not taken.
    pub fn log(&self, i: usize, decision: &Decision) {
        let file = &self.files[i];
        match decision {
            Decision::Take(_) => {}
            Decision::Skip => {
                tracing::info!(file = %file.rel, "already ingested (same SHA-256); skipped")
            }
            Decision::Later => {
                if let Some(Sum::Changed { listed, hashed }) = self.sums[i].get() {
                    tracing::warn!(file = %file.rel, listed, hashed, "changed while listed; left for the next ingest");
                }
            }
        }
    }
}

/// `staged`, each file after the files of its length before it in `files` not yet in the order.
fn hashing_order(
    files: &[InboxFile],
    by_len: &HashMap<u64, Vec<usize>>,
    staged: &[usize],
) -> Vec<usize> {
    let mut queued = vec![false; files.len()];
    let mut order = Vec::with_capacity(files.len());
    for &i in staged {
        for &j in &by_len[&files[i].len] {
            if j > i {
                break;
            }
            if !std::mem::replace(&mut queued[j], true) {
                order.push(j);
            }
        }
    }
    order
}

fn hash(path: &Path, listed: u64) -> Sum {
    match crate::lake::sha256_and_len(path) {
        Ok((sha, hashed)) if hashed == listed => Sum::Hashed(sha),
        Ok((_, hashed)) => Sum::Changed { listed, hashed },
        Err(e) => Sum::Failed(e.kind(), e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(rel: &str, len: u64) -> InboxFile {
        InboxFile {
            source: if rel.starts_with('u') {
                Source::Units
            } else {
                Source::Complaints
            },
            path: rel.into(),
            rel: rel.into(),
            format: None,
            len,
            sha256: String::new(),
        }
    }

    #[test]
    fn a_file_is_hashed_after_the_files_of_its_length_before_it() {
        // Units (3, 4) are staged first; 4 has the length of 1, which comes before it.
        let files = [
            file("a", 10),
            file("b", 20),
            file("c", 30),
            file("u1", 30),
            file("u2", 20),
        ];
        let by_len = HashMap::from([(10, vec![0]), (20, vec![1, 4]), (30, vec![2, 3])]);
        let order = |staged: &[usize]| hashing_order(&files, &by_len, staged);
        assert_eq!(order(&[3, 4, 0, 1, 2]), [2, 3, 1, 4, 0]);
        assert_eq!(order(&[0, 1, 2, 3, 4]), [0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn copies_are_skipped_after_the_first_and_a_changed_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            InboxFile {
                path,
                len: text.len() as u64,
                ..file(name, 0)
            }
        };
        let mut files = vec![
            write("a.csv", "id\n1\n"),
            write("b.csv", "id\n2\n"),
            write("c.csv", "id\n1\n"),
            write("d.csv", "id\n3\n"),
            write("e.csv", "id\n33\n"),
        ];
        // d grew after it was listed.
        files[3].len = 3;
        let mut base = Snapshot::default();
        let hashes = Hashes::start(files, 2);
        let sha = |i: usize| crate::lake::sha256_file(&hashes.files()[i].path).unwrap();
        let expect = [
            Decision::Take(sha(0)),
            Decision::Take(sha(1)),
            Decision::Skip,
            Decision::Later,
            Decision::Take(sha(4)),
        ];
        for (i, want) in expect.iter().enumerate() {
            assert_eq!(&hashes.decide(i, &base).await.unwrap(), want, "file {i}");
        }
        // Taken by an earlier ingest.
        base.ingested.insert(
            sha(1),
            crate::lake::snapshot::IngestedFile {
                ingest: 1,
                source: "complaints".into(),
                file: "b.csv".into(),
            },
        );
        assert_eq!(hashes.decide(1, &base).await.unwrap(), Decision::Skip);
        // A file that cannot be read fails the ingest.
        let gone = Hashes::start(vec![file("/nonexistent/x.csv", 4)], 1);
        assert!(matches!(gone.decide(0, &base).await, Err(Error::Io { .. })));
    }
}
