//! The project's window functions. Each computes a whole window partition in one pass over its
//! arrays (`evaluate_all`), so DataFusion runs it in `WindowAggExec`, which cuts the sorted
//! input into partitions by slicing. Its `BoundedWindowAggExec` instead keeps per-partition
//! state and evaluates row by row, which at millions of small partitions (one per device)
//! cost about a microsecond a row (decision 119).
//!
//! - `next_closing(ts, closes, state)`: for each row, the `ts` of the first row at or after it
//!   in the window's order whose `closes` is 1 and whose `state` (a number) is the row's (NULL:
//!   none);
//! - `union_gain(start, end)`: for each interval, in the window's order by start, the length
//!   it adds to the union of the intervals before it: summed, the length of the union.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{exec_err, Result as DfResult};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};

/// Every window function of the project's SQL.
pub fn window_functions() -> Vec<Arc<WindowUDF>> {
    [
        WholePartition::new("next_closing", 3, |values| {
            let [ts, closes, state] = int64_args(values, "next_closing")?;
            Ok(Arc::new(next_closing(&ts, &closes, &state)))
        }),
        WholePartition::new("union_gain", 2, |values| {
            let [start, end] = int64_args(values, "union_gain")?;
            Ok(Arc::new(union_gain(&start, &end)))
        }),
    ]
    .into_iter()
    .map(|f| Arc::new(WindowUDF::from(f)))
    .collect()
}

/// The first closing of each row's state at or after the row, in the window's order.
pub fn next_closing(ts: &Int64Array, closes: &Int64Array, state: &Int64Array) -> Int64Array {
    // A partition holds a device's events of one element: a handful of states.
    let mut latest: Vec<(i64, Option<i64>)> = Vec::with_capacity(4);
    let mut out = vec![None; ts.len()];
    for i in (0..ts.len()).rev() {
        if !state.is_valid(i) {
            continue;
        }
        let s = state.value(i);
        let p = match latest.iter().position(|(k, _)| *k == s) {
            Some(p) => p,
            None => {
                latest.push((s, None));
                latest.len() - 1
            }
        };
        if closes.is_valid(i) && closes.value(i) == 1 && ts.is_valid(i) {
            latest[p].1 = Some(ts.value(i));
        }
        out[i] = latest[p].1;
    }
    Int64Array::from(out)
}

/// The length each interval adds to the union of those before it (intervals by start).
pub fn union_gain(start: &Int64Array, end: &Int64Array) -> Int64Array {
    let mut covered_to: Option<i64> = None;
    (0..start.len())
        .map(|i| {
            if !start.is_valid(i) || !end.is_valid(i) {
                return None;
            }
            let (s, e) = (start.value(i), end.value(i));
            let from = covered_to.map_or(s, |c| c.max(s));
            covered_to = Some(covered_to.map_or(e, |c| c.max(e)));
            Some((e - from).max(0))
        })
        .collect()
}

/// The `N` arguments of `function`, each as Int64 (a no-op when it is one already).
fn int64_args<const N: usize>(values: &[ArrayRef], function: &str) -> DfResult<[Int64Array; N]> {
    if values.len() != N {
        return exec_err!("{function} takes {N} arguments, got {}", values.len());
    }
    let mut out = Vec::with_capacity(N);
    for v in values {
        out.push(
            cast(v, &DataType::Int64)?
                .as_primitive::<Int64Type>()
                .clone(),
        );
    }
    Ok(out.try_into().expect("N arrays"))
}

/// One partition's arguments to its result column.
type Evaluate = fn(&[ArrayRef]) -> DfResult<ArrayRef>;

/// A window function of Int64 results computed a whole partition at a time.
#[derive(Debug)]
struct WholePartition {
    name: &'static str,
    signature: Signature,
    evaluate: Evaluate,
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
    fn evaluate_all(&mut self, values: &[ArrayRef], _num_rows: usize) -> DfResult<ArrayRef> {
        (self.0)(values)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closing_closes_the_openings_of_its_state_before_it() {
        // Time order, openings before closings of the same instant.
        let ts = Int64Array::from(vec![1, 2, 3, 3, 5, 6, 7]);
        let closes = Int64Array::from(vec![0, 0, 0, 1, 1, 0, 0]);
        let state = Int64Array::from(vec![1, 2, 1, 1, 2, 1, 2]);
        let end = next_closing(&ts, &closes, &state);
        assert_eq!(
            end.iter().collect::<Vec<_>>(),
            vec![Some(3), Some(5), Some(3), Some(3), Some(5), None, None]
        );
    }

    #[test]
    fn the_union_counts_overlaps_once() {
        // [0,10) [5,12) [12,12) [20,25) [21,22): union 12 + 5 = 17.
        let start = Int64Array::from(vec![0, 5, 12, 20, 21]);
        let end = Int64Array::from(vec![10, 12, 12, 25, 22]);
        let gain = union_gain(&start, &end);
        assert_eq!(
            gain.iter().collect::<Vec<_>>(),
            vec![Some(10), Some(2), Some(0), Some(5), Some(0)]
        );
    }
}
