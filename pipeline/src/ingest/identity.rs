//! The identity of an IoT event: the whole row. Staging drops a file's resends with it, and
//! resolve drops rows already in the lake or in an earlier file.

use datafusion::arrow::array::{BooleanArray, RecordBatch};
use datafusion::arrow::row::{RowConverter, SortField};

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

/// A set of row identities. Its keys are already uniform hashes, so a key's own bits pick its
/// slot, and one slot holds the whole key: a lookup touches one cache line, where a general
/// hash set touches a control byte and then a slot. Staging and resolve look up tens of millions
/// of keys in sets of millions, nearly every one a cache miss (about 8 % of staging's CPU with
/// `foldhash`'s set); [`IdentitySet::insert_all`] asks for the slots a few keys ahead, so the
/// misses overlap.
pub struct IdentitySet {
    /// `0` marks an empty slot; the key `0` itself is `zero`.
    slots: Vec<u128>,
    len: usize,
    zero: bool,
}

/// Keys looked ahead by the bulk operations: enough to overlap the misses, few enough that
/// the slots are still in cache when their keys' turn comes.
const AHEAD: usize = 8;

impl IdentitySet {
    /// A set that holds `expected` keys without growing.
    pub fn with_capacity(expected: usize) -> Self {
        IdentitySet {
            slots: vec![0; Self::slots_for(expected)],
            len: 0,
            zero: false,
        }
    }

    /// At most half full: linear probing stays short (about 1.5 slots a hit, 2.5 a miss).
    fn slots_for(keys: usize) -> usize {
        keys.max(8).saturating_mul(2).next_power_of_two()
    }

    pub fn len(&self) -> usize {
        self.len + usize::from(self.zero)
    }

    #[inline]
    fn home(&self, key: u128) -> usize {
        ((key >> 64) as usize) & (self.slots.len() - 1)
    }

    /// Whether `key` is in the set.
    #[inline]
    pub fn contains(&self, key: u128) -> bool {
        if key == 0 {
            return self.zero;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            match self.slots[i] {
                0 => return false,
                k if k == key => return true,
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Adds `key`; `false` if it was there already.
    #[inline]
    pub fn insert(&mut self, key: u128) -> bool {
        if key == 0 {
            return !std::mem::replace(&mut self.zero, true);
        }
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            match self.slots[i] {
                0 => {
                    self.slots[i] = key;
                    self.len += 1;
                    return true;
                }
                k if k == key => return false,
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Inserts `keys` in order; for each, whether it was new (the first of its kind).
    pub fn insert_all(&mut self, keys: &[u128]) -> Vec<bool> {
        let mut new = Vec::with_capacity(keys.len());
        for (i, &key) in keys.iter().enumerate() {
            if let Some(&ahead) = keys.get(i + AHEAD) {
                self.prefetch(ahead);
            }
            new.push(self.insert(key));
        }
        new
    }

    /// Empties the set, keeping its memory (already mapped: no page faults the next time).
    pub fn clear(&mut self) {
        self.slots.fill(0);
        self.len = 0;
        self.zero = false;
    }

    fn grow(&mut self) {
        let old = std::mem::replace(&mut self.slots, vec![0; Self::slots_for(self.len + 1)]);
        self.len = 0;
        for key in old.into_iter().filter(|&k| k != 0) {
            self.insert(key);
        }
    }

    /// Asks the CPU to bring `key`'s slot into cache: a hint, with no effect on the set.
    #[inline]
    pub fn prefetch(&self, key: u128) {
        #[cfg(target_arch = "x86_64")]
        {
            let slot: *const u128 = &self.slots[self.home(key)];
            // SAFETY: an SSE instruction (in every x86-64 CPU) that only hints at a cache line,
            // here of a slot inside the set's own vector; it never faults, reads nothing into
            // the program and changes no state.
            #[allow(unsafe_code)]
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(slot.cast());
            }
        }
    }
}

/// The rows of one file seen most recently, to drop a device's resends while staging. Two
/// generations of at most `capacity / 2` rows each: memory stays bounded however large the
/// file, and a row is compared with at least the `capacity / 2` rows before it. A resend
/// further back than that is still dropped, by resolve, at the cost of rewriting its part.
pub struct Recent {
    hasher: RowHasher,
    current: IdentitySet,
    /// `None` until the first generation fills (most files never do).
    previous: Option<IdentitySet>,
    half: usize,
}

impl Recent {
    /// `expected`: about how many rows the file has, so that the first generation is sized
    /// once rather than grown row by row.
    pub fn new(capacity: usize, expected: usize) -> Result<Self> {
        let half = (capacity / 2).max(1);
        Ok(Recent {
            hasher: RowHasher::new()?,
            current: IdentitySet::with_capacity(expected.min(half)),
            previous: None,
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
        let mut keep = Vec::with_capacity(hashes.len());
        for (i, &h) in hashes.iter().enumerate() {
            if let Some(&ahead) = hashes.get(i + AHEAD) {
                self.current.prefetch(ahead);
                if let Some(previous) = &self.previous {
                    previous.prefetch(ahead);
                }
            }
            let seen = self.previous.as_ref().is_some_and(|p| p.contains(h));
            if seen || !self.current.insert(h) {
                keep.push(false);
                continue;
            }
            if self.current.len() >= self.half {
                // The generation before goes; its memory becomes the next one's. A file this
                // large fills the next generation too: sized at once.
                let next = match self.previous.take() {
                    Some(mut old) => {
                        old.clear();
                        old
                    }
                    None => IdentitySet::with_capacity(self.half),
                };
                self.previous = Some(std::mem::replace(&mut self.current, next));
            }
            if let Some(kept) = kept.as_mut() {
                kept.push(h);
            }
            keep.push(true);
        }
        Ok(BooleanArray::from(keep))
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
    use proptest::prelude::*;

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

    /// Colliding homes (equal high halves), the key 0, repeats and growth from a small table.
    fn awkward_keys() -> Vec<u128> {
        let mut keys = vec![0, 0, 1, 1 << 64, (1 << 64) | 1, 1 << 64, 7, 0];
        keys.extend((0..5_000u128).map(|i| (i % 3_000) * 0x9e37_79b9_7f4a_7c15_0000_0001));
        keys
    }

    #[test]
    fn the_identity_set_is_a_set() {
        let keys = awkward_keys();
        let mut set = IdentitySet::with_capacity(2);
        let mut reference = std::collections::HashSet::new();
        for &k in &keys {
            assert_eq!(set.insert(k), reference.insert(k), "insert {k:#x}");
            assert!(set.contains(k));
        }
        assert_eq!(set.len(), reference.len());
        assert!(!set.contains(2) && !set.contains(u128::MAX));
        let mut bulk = IdentitySet::with_capacity(keys.len());
        let mut again = std::collections::HashSet::new();
        let expected: Vec<bool> = keys.iter().map(|k| again.insert(*k)).collect();
        assert_eq!(bulk.insert_all(&keys), expected);
        bulk.clear();
        assert_eq!(bulk.len(), 0);
        assert!(!bulk.contains(0) && !bulk.contains(7));
        assert_eq!(bulk.insert_all(&keys), expected, "the same after clear");
    }

    proptest! {
        #[test]
        fn the_identity_set_agrees_with_a_hash_set(
            keys in proptest::collection::vec(
                prop_oneof![0u128..64, any::<u128>(), (0u128..8).prop_map(|h| h << 64)],
                0..600,
            ),
            capacity in 0usize..100,
        ) {
            let mut set = IdentitySet::with_capacity(capacity);
            let mut reference = std::collections::HashSet::new();
            let expected: Vec<bool> = keys.iter().map(|k| reference.insert(*k)).collect();
            prop_assert_eq!(set.insert_all(&keys), expected);
            prop_assert_eq!(set.len(), reference.len());
            for k in &keys {
                prop_assert!(set.contains(*k));
            }
        }
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
        let previous = recent.previous.as_ref().map_or(0, IdentitySet::len);
        assert!(recent.current.len() + previous <= 4);
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
