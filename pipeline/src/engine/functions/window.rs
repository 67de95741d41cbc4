//! The project's window functions. Each computes whole window partitions in one pass over its
//! arrays, so DataFusion plans it in `WindowAggExec`, which cuts the sorted input into
//! partitions by slicing. Its `BoundedWindowAggExec` instead keeps per-partition state and
//! evaluates row by row, which at millions of small partitions (one per device) cost about a
//! microsecond a row (decision 119). A local session runs them in [`super::window_exec`]
//! instead, which streams and hands a function many partitions at a time (decision 140).
//!
//! - `next_closing(ts, closes, state)`: for each row, the `ts` of the first row at or after it
//!   in the window's order whose `closes` is 1 and whose `state` (a number) is the row's (NULL:
//!   none).
//!
//! It reads its integer arguments in place, whatever their width (decision 136).

use std::hash::{Hash, Hasher};
use std::ops::Range;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBufferBuilder, Int64Array, Int8Array,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type, Int8Type};
use datafusion::common::{exec_err, Result as DfResult};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};

/// Every window function of the project's SQL.
pub fn window_functions() -> Vec<Arc<WindowUDF>> {
    [WholePartition::new(
        "next_closing",
        3,
        |values, partitions| {
            let [ts, closes, state] = int_args(values, "next_closing")?;
            Ok(Arc::new(next_closing(&ts, &closes, &state, partitions)))
        },
    )]
    .into_iter()
    .map(|f| Arc::new(WindowUDF::from(f)))
    .collect()
}

/// The first closing of each row's state at or after the row, in the window's order, within
/// the row's window partition (`partitions`: consecutive ranges covering every row).
pub fn next_closing(
    ts: &Ints,
    closes: &Ints,
    state: &Ints,
    partitions: &[Range<usize>],
) -> Int64Array {
    let rows = ts.len();
    // Written by index from the back: values and validity directly, not a vector of
    // `Option`s converted afterwards (hundreds of MB more at GD-1M).
    let mut values = vec![0i64; rows];
    let mut valid = BooleanBufferBuilder::new(rows);
    valid.append_n(rows, false);
    // A partition holds a device's events of one element: a handful of states.
    let mut latest: Vec<(i64, Option<i64>)> = Vec::with_capacity(4);
    for partition in partitions {
        latest.clear();
        for i in partition.clone().rev() {
            let Some(s) = state.get(i) else {
                continue;
            };
            let p = match latest.iter().position(|(k, _)| *k == s) {
                Some(p) => p,
                None => {
                    latest.push((s, None));
                    latest.len() - 1
                }
            };
            if closes.get(i) == Some(1) {
                if let Some(t) = ts.get(i) {
                    latest[p].1 = Some(t);
                }
            }
            if let Some(end) = latest[p].1 {
                values[i] = end;
                valid.set_bit(i, true);
            }
        }
    }
    Int64Array::new(values.into(), Some(NullBuffer::new(valid.finish())))
}

/// An integer argument read in place: the SQL passes `TINYINT` states and `BIGINT` times, and
/// a cast of each to Int64 copied every row of a partition (millions at GD-1M) per call.
pub enum Ints {
    I8(Int8Array),
    I64(Int64Array),
}

impl Ints {
    /// `array` as integers: Int8 and Int64 as they are, any other type cast to Int64.
    pub fn new(array: &ArrayRef) -> DfResult<Self> {
        Ok(match array.data_type() {
            DataType::Int8 => Ints::I8(array.as_primitive::<Int8Type>().clone()),
            DataType::Int64 => Ints::I64(array.as_primitive::<Int64Type>().clone()),
            _ => Ints::I64(
                cast(array, &DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .clone(),
            ),
        })
    }

    fn len(&self) -> usize {
        match self {
            Ints::I8(a) => a.len(),
            Ints::I64(a) => a.len(),
        }
    }

    #[inline]
    fn get(&self, i: usize) -> Option<i64> {
        match self {
            Ints::I8(a) => a.is_valid(i).then(|| i64::from(a.value(i))),
            Ints::I64(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

/// The `N` arguments of `function` as integers.
fn int_args<const N: usize>(values: &[ArrayRef], function: &str) -> DfResult<[Ints; N]> {
    let ints = values.iter().map(Ints::new).collect::<DfResult<Vec<_>>>()?;
    ints.try_into()
        .or_else(|ints: Vec<Ints>| exec_err!("{function} takes {N} arguments, got {}", ints.len()))
}

/// The arguments of consecutive window partitions (the ranges of their rows, covering every
/// row) to their result column.
pub(super) type Evaluate = fn(&[ArrayRef], &[Range<usize>]) -> DfResult<ArrayRef>;

/// A window function of Int64 results computed a whole partition at a time.
#[derive(Debug)]
pub(super) struct WholePartition {
    name: &'static str,
    signature: Signature,
    pub(super) evaluate: Evaluate,
}

impl WholePartition {
    fn new(name: &'static str, args: usize, evaluate: Evaluate) -> Self {
        let signature = Signature::any(args, Volatility::Immutable);
        WholePartition {
            name,
            signature,
            evaluate,
        }
    }
}

// By name: a name is one function (comparing function pointers is not meaningful).
impl PartialEq for WholePartition {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.signature == other.signature
    }
}

impl Eq for WholePartition {}

impl Hash for WholePartition {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.signature.hash(state);
    }
}

impl WindowUDFImpl for WholePartition {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn partition_evaluator(
        &self,
        _: PartitionEvaluatorArgs,
    ) -> DfResult<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(Evaluator(self.evaluate)))
    }

    fn field(&self, args: WindowUDFFieldArgs) -> DfResult<FieldRef> {
        Ok(Arc::new(Field::new(args.name(), DataType::Int64, true)))
    }
}

#[derive(Debug)]
struct Evaluator(Evaluate);

impl PartitionEvaluator for Evaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> DfResult<ArrayRef> {
        (self.0)(values, std::slice::from_ref(&(0..num_rows)))
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn ints(values: Vec<i64>) -> Ints {
        Ints::I64(Int64Array::from(values))
    }

    #[test]
    fn a_closing_closes_the_openings_of_its_state_before_it() {
        // Time order, openings before closings of the same instant.
        let ts = ints(vec![1, 2, 3, 3, 5, 6, 7]);
        let closes = ints(vec![0, 0, 0, 1, 1, 0, 0]);
        let state = ints(vec![1, 2, 1, 1, 2, 1, 2]);
        let end = next_closing(&ts, &closes, &state, std::slice::from_ref(&(0..ts.len())));
        assert_eq!(
            end.iter().collect::<Vec<_>>(),
            vec![Some(3), Some(5), Some(3), Some(3), Some(5), None, None]
        );
    }

    #[test]
    fn a_closing_closes_nothing_in_another_partition() {
        // Two partitions in one call: the second's closing at 4 does not reach the first's
        // opening at 1, and each partition's result is its own evaluated alone.
        let ts = ints(vec![1, 2, 3, 4, 5]);
        let closes = ints(vec![0, 0, 0, 1, 1]);
        let state = ints(vec![1, 1, 1, 1, 1]);
        let end = next_closing(&ts, &closes, &state, &[0..2, 2..5]);
        assert_eq!(
            end.iter().collect::<Vec<_>>(),
            vec![None, None, Some(4), Some(4), Some(5)]
        );
    }

    #[test]
    fn tinyint_states_are_read_in_place_and_nulls_close_nothing() {
        // As the SQL passes them: TINYINT states and closings; a row without a state has no
        // end and does not stop the closing at 4 from closing the opening at 1.
        let ts: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3, 4]));
        let closes: ArrayRef = Arc::new(Int8Array::from(vec![0, 1, 0, 1]));
        let state: ArrayRef = Arc::new(Int8Array::from(vec![Some(1), None, Some(2), Some(1)]));
        let [ts, closes, state] = int_args(&[ts, closes, state], "next_closing").unwrap();
        assert!(matches!((&closes, &state), (Ints::I8(_), Ints::I8(_))));
        let end = next_closing(&ts, &closes, &state, std::slice::from_ref(&(0..ts.len())));
        assert_eq!(
            end.iter().collect::<Vec<_>>(),
            vec![Some(4), None, None, Some(4)]
        );
    }
}
