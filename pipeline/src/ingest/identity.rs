//! The identity of an IoT event: the whole row. Staging drops a file's resends with it, and
//! resolve drops rows already in the lake or in an earlier file.

use datafusion::arrow::array::{BooleanArray, RecordBatch};
use datafusion::arrow::row::{RowConverter, SortField};
use foldhash::HashSet;

use crate::contract::Source;
use crate::error::Result;
use crate::lake::schema::LakeSchema;

/// Row identity of IoT events: a canonical byte encoding of the contract columns (Arrow's row
/// format, the same whatever file or batch the row came from), hashed to 128 bits.
pub struct RowHasher {
    converter: RowConverter,
    columns: usize,
}

impl RowHasher {
    pub fn new() -> Result<Self> {
        let schema = Source::IotEvents.lake_schema();
        let columns = Source::IotEvents.fields().len();
        let fields = schema.fields()[..columns]
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        Ok(RowHasher {
            converter: RowConverter::new(fields)?,
            columns,
        })
    }

    pub fn hashes(&self, batch: &RecordBatch) -> Result<Vec<u128>> {
        let rows = self
            .converter
            .convert_columns(&batch.columns()[..self.columns])?;
        Ok(rows
            .iter()
            .map(|r| xxhash_rust::xxh3::xxh3_128(r.as_ref()))
            .collect())
    }
}

/// The rows of one file seen most recently, to drop a device's resends while staging. Two
/// generations of at most `capacity / 2` rows each: memory stays bounded however large the
/// file, and a row is compared with at least the `capacity / 2` rows before it. A resend
/// further back than that is still dropped, by resolve, at the cost of rewriting its part.
pub struct Recent {
    hasher: RowHasher,
    current: HashSet<u128>,
    previous: HashSet<u128>,
    half: usize,
}

impl Recent {
    /// `expected`: about how many rows the file has, so that the first generation is sized
    /// once rather than grown (and rehashed) row by row.
    pub fn new(capacity: usize, expected: usize) -> Result<Self> {
        let half = (capacity / 2).max(1);
        Ok(Recent {
            hasher: RowHasher::new()?,
            current: HashSet::with_capacity_and_hasher(expected.min(half), Default::default()),
            previous: HashSet::default(),
            half,
        })
    }

    /// Which rows of `batch` (in order) are not resends of a recent row: the keep mask. The
    /// identities of the kept rows are appended to `kept`, if given.
    pub fn keep(
        &mut self,
        batch: &RecordBatch,
        mut kept: Option<&mut Vec<u128>>,
    ) -> Result<BooleanArray> {
        let hashes = self.hasher.hashes(batch)?;
        Ok(hashes
            .into_iter()
            .map(|h| {
                if self.previous.contains(&h) || !self.current.insert(h) {
                    return Some(false);
                }
                if self.current.len() >= self.half {
                    // A file this large will fill the next generation too: sized at once.
                    let next = HashSet::with_capacity_and_hasher(self.half, Default::default());
                    self.previous = std::mem::replace(&mut self.current, next);
                }
                if let Some(kept) = kept.as_mut() {
                    kept.push(h);
                }
                Some(true)
            })
            .collect())
    }
}

/// Identities as bytes (16 per row, little-endian), for a staged part's side file.
pub fn to_bytes(hashes: &[u128]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.to_le_bytes()).collect()
}

/// The identities of a side file; `None` when its length is not a whole number of them.
pub fn from_bytes(bytes: &[u8]) -> Option<impl Iterator<Item = u128> + '_> {
    bytes.len().is_multiple_of(16).then(|| {
        bytes
            .chunks_exact(16)
            .map(|c| u128::from_le_bytes(c.try_into().expect("16 bytes")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::values::Value;
    use crate::ingest::batch::RowBatchBuilder;

    fn batch(rows: &[(&str, i64)]) -> RecordBatch {
        let mut b = RowBatchBuilder::new(Source::IotEvents);
        for (line, (device, ts)) in rows.iter().enumerate() {
            let values = vec![
                Value::Str(device.to_string()),
                Value::Str("U1".into()),
                Value::Timestamp(*ts),
                Value::Str("auto_alarm".into()),
                Value::Str("offline".into()),
                Value::Null,
            ];
            b.push(&values, 1, "f.csv", line as u64 + 2);
        }
        b.finish()
    }

    fn kept(mask: &BooleanArray) -> Vec<bool> {
        mask.iter().map(|k| k.unwrap()).collect()
    }

    #[test]
    fn resends_are_dropped_whatever_their_lineage() {
        let mut recent = Recent::new(100, 3).unwrap();
        let mut identities = Vec::new();
        let first = batch(&[("D1", 1), ("D1", 1), ("D2", 1)]);
        let mask = recent.keep(&first, Some(&mut identities)).unwrap();
        assert_eq!(kept(&mask), [true, false, true]);
        // The same events in a later batch (other lines): still resends.
        let again = batch(&[("D2", 1), ("D1", 2)]);
        let mask = recent.keep(&again, Some(&mut identities)).unwrap();
        assert_eq!(kept(&mask), [false, true]);
        // One identity per kept row, as resolve computes them from the written rows.
        let written = batch(&[("D1", 1), ("D2", 1), ("D1", 2)]);
        assert_eq!(
            identities,
            RowHasher::new().unwrap().hashes(&written).unwrap()
        );
        let bytes = to_bytes(&identities);
        assert_eq!(from_bytes(&bytes).unwrap().collect::<Vec<_>>(), identities);
        assert!(from_bytes(&bytes[1..]).is_none());
    }

    #[test]
    fn memory_is_bounded_and_the_last_half_is_always_remembered() {
        let mut recent = Recent::new(4, 100).unwrap();
        let rows: Vec<(&str, i64)> = (0..10).map(|t| ("D1", t)).collect();
        assert!(kept(&recent.keep(&batch(&rows), None).unwrap())
            .iter()
            .all(|k| *k));
        assert!(recent.current.len() + recent.previous.len() <= 4);
        // The two rows before are remembered; the first ones are not any more.
        assert_eq!(
            kept(
                &recent
                    .keep(&batch(&[("D1", 9), ("D1", 8), ("D1", 0)]), None)
                    .unwrap()
            ),
            [false, false, true]
        );
    }
}
