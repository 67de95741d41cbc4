//! Readers: turn one inbox file (CSV, NDJSON or Parquet) into a stream of rows whose cells are
//! text in contract-field order, with the file's SHA-256 as read. The readers are the contract
//! crate's ([`firecredit_contract::records`], [`firecredit_contract::parquet`]), fuzzed there.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

pub use crate::contract::records::{detect_encoding, Encoding, FileInfo, Format, Limits, RawRow};
use crate::contract::Source;
use crate::contract::{parquet, records};
use crate::error::Error;

pub type ReadError = records::ReadError<Error>;
type Each<'f> = records::Each<'f, Error>;

/// A reader that hashes what passes through it: the SHA-256 of a file is that of the bytes its
/// rows came from, even if the file changes while it is read.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

impl<R: Read> Hashing<R> {
    /// Hashes the rest (of a file a reader left early) and returns the file's SHA-256.
    fn finish(mut self) -> std::io::Result<String> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        Ok(hex::encode(self.hasher.finalize()))
    }
}

/// Reads `path` as `format`, calling `each` once per data row. Also returns the SHA-256 of the
/// file as read, in the same pass for CSV and NDJSON; a Parquet file (read at random places) is
/// hashed through the same open file just before.
pub fn read_file(
    path: &Path,
    format: Format,
    source: Source,
    limits: &Limits,
    each: &mut Each<'_>,
) -> (Result<FileInfo, ReadError>, std::io::Result<String>) {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) => {
            let message = format!("cannot open: {e}");
            return (Err(ReadError::Unreadable(message)), Err(e));
        }
    };
    let mut hashing = Hashing {
        inner: file,
        hasher: Sha256::new(),
    };
    match format {
        Format::Csv | Format::Ndjson => {
            let read = if format == Format::Csv {
                records::read_csv(&mut hashing, source, limits, each)
            } else {
                records::read_ndjson(&mut hashing, source, limits, each)
            };
            (read, hashing.finish())
        }
        Format::Parquet => {
            let file = match hashing.inner.try_clone() {
                Ok(file) => file,
                Err(e) => {
                    let message = format!("cannot read: {e}");
                    return (Err(ReadError::Unreadable(message)), Err(e));
                }
            };
            let sha = hashing.finish();
            if sha.is_err() {
                let message = "cannot read the file through".to_string();
                return (Err(ReadError::Unreadable(message)), sha);
            }
            (parquet::read_parquet(file, source, limits, each), sha)
        }
    }
}
