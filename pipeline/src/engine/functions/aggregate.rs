//! The project's aggregate functions.
//!
//! - `union_length(start, end)`: the length of the union of a group's intervals
//!   `[start, end)`, overlaps and touching intervals counted once (NULL when the group has no
//!   interval with both ends; intervals with `end <= start` add nothing).
//!
//! The device downtime needs one union per (device, element), of about one interval each at
//! GD-1M. As a window function over intervals sorted by start, that cost a sort and a window
//! partition per group (`WindowAggExec` slices its arrays once per partition); as a grouped
//! aggregate it is one hash aggregation, and each group's intervals are sorted when the group
//! is emitted (decision 138).
//!
//! Between the partial and the final aggregation a group travels as the disjoint, sorted pieces
//! of its union so far (`starts` and `ends`, two lists of the same length; a NULL list for a
//! group without an interval).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListArray};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{exec_err, Result as DfResult, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

/// Every aggregate function of the project's SQL.
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    vec![Arc::new(AggregateUDF::from(UnionLength {
        signature: Signature::exact(
            vec![DataType::Int64, DataType::Int64],
            Volatility::Immutable,
        ),
    }))]
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct UnionLength {
    signature: Signature,
}

impl AggregateUDFImpl for UnionLength {
    fn name(&self) -> &str {
        "union_length"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int64)
    }

    fn accumulator(&self, _: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        Ok(Box::new(OneGroup(Intervals::default())))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        let list = DataType::List(piece_field());
        Ok(["starts", "ends"]
            .into_iter()
            .map(|part| {
                Arc::new(Field::new(
                    format_state_name(args.name, part),
                    list.clone(),
                    true,
                ))
            })
            .collect())
    }

    fn groups_accumulator_supported(&self, _: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _: AccumulatorArgs,
    ) -> DfResult<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(Intervals::default()))
    }
}

/// The items of a state's lists: the starts, or the ends, of a group's pieces.
fn piece_field() -> FieldRef {
    Arc::new(Field::new_list_field(DataType::Int64, false))
}

/// Every group's intervals as they arrived, in one vector for all groups (not one per group:
/// most groups hold a single interval).
#[derive(Debug, Default)]
struct Intervals {
    /// (group, start, end).
    intervals: Vec<(usize, i64, i64)>,
    /// Whether each group has seen an interval with both ends.
    seen: Vec<bool>,
}

/// The intervals of groups `0..n`, grouped and each group sorted by (start, end): group `g`'s
/// are `intervals[offsets[g]..offsets[g + 1]]`.
struct Sorted {
    offsets: Vec<usize>,
    intervals: Vec<(i64, i64)>,
}

impl Sorted {
    /// The disjoint, non-empty pieces of group `g`'s union, in order.
    fn pieces(&self, g: usize, mut piece: impl FnMut(i64, i64)) {
        let mut open: Option<(i64, i64)> = None;
        for &(s, e) in &self.intervals[self.offsets[g]..self.offsets[g + 1]] {
            match open {
                Some((_, to)) if s <= to => open = open.map(|(from, to)| (from, to.max(e))),
                _ => {
                    if let Some((from, to)) = open {
                        piece(from, to);
                    }
                    open = (e > s).then_some((s, e));
                }
            }
        }
        if let Some((from, to)) = open {
            piece(from, to);
        }
    }

    fn length(&self, g: usize) -> i64 {
        let mut length = 0;
        self.pieces(g, |from, to| length += to - from);
        length
    }
}

impl Intervals {
    fn push(&mut self, group: usize, start: i64, end: i64) {
        self.intervals.push((group, start, end));
        self.seen[group] = true;
    }

    fn groups(&mut self, total: usize) {
        if self.seen.len() < total {
            self.seen.resize(total, false);
        }
    }

    /// The first `n` groups' intervals, grouped by a counting sort and sorted within each group.
    fn sorted(&self, n: usize) -> Sorted {
        let mut offsets = vec![0usize; n + 1];
        for &(g, _, _) in self.intervals.iter().filter(|i| i.0 < n) {
            offsets[g + 1] += 1;
        }
        for g in 0..n {
            offsets[g + 1] += offsets[g];
        }
        let mut next = offsets.clone();
        let mut intervals = vec![(0, 0); offsets[n]];
        for &(g, s, e) in self.intervals.iter().filter(|i| i.0 < n) {
            intervals[next[g]] = (s, e);
            next[g] += 1;
        }
        for g in 0..n {
            intervals[offsets[g]..offsets[g + 1]].sort_unstable();
        }
        Sorted { offsets, intervals }
    }

    /// Forgets groups `0..n` and numbers the rest from 0.
    fn drop_first(&mut self, n: usize) {
        if n >= self.seen.len() {
            *self = Intervals::default();
            return;
        }
        self.intervals.retain(|i| i.0 >= n);
        for i in &mut self.intervals {
            i.0 -= n;
        }
        self.seen.drain(..n);
    }

    fn emitted(&self, emit_to: EmitTo) -> usize {
        match emit_to {
            EmitTo::All => self.seen.len(),
            EmitTo::First(n) => n.min(self.seen.len()),
        }
    }

    fn validity(&self, n: usize) -> Option<NullBuffer> {
        let nulls = NullBuffer::from(self.seen[..n].to_vec());
        (nulls.null_count() > 0).then_some(nulls)
    }

    fn lengths(&self, n: usize) -> Int64Array {
        let sorted = self.sorted(n);
        let values: Vec<i64> = (0..n).map(|g| sorted.length(g)).collect();
        Int64Array::new(values.into(), self.validity(n))
    }

    /// Each of the first `n` groups' union as two lists, its pieces' starts and ends.
    fn pieces(&self, n: usize) -> Vec<ArrayRef> {
        let sorted = self.sorted(n);
        let (mut starts, mut ends) = (Vec::new(), Vec::new());
        let mut lengths = Vec::with_capacity(n);
        for g in 0..n {
            let before = starts.len();
            sorted.pieces(g, |from, to| {
                starts.push(from);
                ends.push(to);
            });
            lengths.push(starts.len() - before);
        }
        let (offsets, validity) = (OffsetBuffer::from_lengths(lengths), self.validity(n));
        [starts, ends]
            .into_iter()
            .map(|values| {
                Arc::new(ListArray::new(
                    piece_field(),
                    offsets.clone(),
                    Arc::new(Int64Array::from(values)),
                    validity.clone(),
                )) as ArrayRef
            })
            .collect()
    }
}

/// An argument, or a state list's items, as Int64 values (`None`: missing).
fn int64s<'a>(array: Option<&'a ArrayRef>, what: &str) -> DfResult<&'a Int64Array> {
    match array {
        Some(a) if a.data_type() == &DataType::Int64 => Ok(a.as_primitive::<Int64Type>()),
        Some(a) => exec_err!("union_length: {what} is {}, not Int64", a.data_type()),
        None => exec_err!("union_length: {what} missing"),
    }
}

fn lists(values: &[ArrayRef], i: usize) -> DfResult<&ListArray> {
    match values.get(i).and_then(|a| a.as_list_opt::<i32>()) {
        Some(list) => Ok(list),
        None => exec_err!("union_length: state column {i} is not a list"),
    }
}

impl GroupsAccumulator for Intervals {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> DfResult<()> {
        let (start, end) = (
            int64s(values.first(), "start")?,
            int64s(values.get(1), "end")?,
        );
        self.groups(total_num_groups);
        for (i, &g) in group_indices.iter().enumerate() {
            let counted = opt_filter.is_none_or(|f| f.is_valid(i) && f.value(i));
            if counted && start.is_valid(i) && end.is_valid(i) {
                self.push(g, start.value(i), end.value(i));
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DfResult<ArrayRef> {
        let n = self.emitted(emit_to);
        let out = self.lengths(n);
        self.drop_first(n);
        Ok(Arc::new(out))
    }

    fn state(&mut self, emit_to: EmitTo) -> DfResult<Vec<ArrayRef>> {
        let n = self.emitted(emit_to);
        let out = self.pieces(n);
        self.drop_first(n);
        Ok(out)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> DfResult<()> {
        let (starts, ends) = (lists(values, 0)?, lists(values, 1)?);
        let (start_values, end_values) = (
            int64s(Some(starts.values()), "starts")?,
            int64s(Some(ends.values()), "ends")?,
        );
        self.groups(total_num_groups);
        for (row, &g) in group_indices.iter().enumerate() {
            if starts.is_null(row) {
                continue;
            }
            let (from, to) = (starts.value_offsets()[row], starts.value_offsets()[row + 1]);
            if ends.value_offsets()[row + 1] - ends.value_offsets()[row] != to - from {
                return exec_err!("union_length: a state's starts and ends differ in length");
            }
            let e0 = ends.value_offsets()[row] as usize;
            self.seen[g] = true;
            for (k, i) in (from as usize..to as usize).enumerate() {
                self.push(g, start_values.value(i), end_values.value(e0 + k));
            }
        }
        Ok(())
    }

    /// Each row as a group of its own, for when the partial aggregation stops grouping (too few
    /// rows per group to pay).
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> DfResult<Vec<ArrayRef>> {
        let rows = values.first().map_or(0, |a| a.len());
        let mut each = Intervals::default();
        each.update_batch(values, &(0..rows).collect::<Vec<_>>(), opt_filter, rows)?;
        Ok(each.pieces(rows))
    }

    fn size(&self) -> usize {
        self.intervals.capacity() * size_of::<(usize, i64, i64)>() + self.seen.capacity()
    }
}

/// `union_length` outside a grouped aggregation (one group; a window frame may evaluate it
/// more than once, so evaluating keeps the intervals).
#[derive(Debug)]
struct OneGroup(Intervals);

impl Accumulator for OneGroup {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let rows = values.first().map_or(0, |a| a.len());
        self.0.update_batch(values, &vec![0; rows], None, 1)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let rows = states.first().map_or(0, |a| a.len());
        self.0.merge_batch(states, &vec![0; rows], 1)
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        self.0.groups(1);
        ScalarValue::try_from_array(&self.0.lengths(1), 0)
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        self.0.groups(1);
        self.0
            .pieces(1)
            .iter()
            .map(|list| ScalarValue::try_from_array(list, 0))
            .collect()
    }

    fn size(&self) -> usize {
        size_of::<Self>() + GroupsAccumulator::size(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrays(start: Vec<Option<i64>>, end: Vec<Option<i64>>) -> Vec<ArrayRef> {
        vec![
            Arc::new(Int64Array::from(start)),
            Arc::new(Int64Array::from(end)),
        ]
    }

    fn values_of(a: &ArrayRef) -> Vec<Option<i64>> {
        a.as_primitive::<Int64Type>().iter().collect()
    }

    #[test]
    fn overlaps_and_touching_intervals_count_once_in_any_order() {
        // Group 0: [20,25) [0,10) [21,22) [5,12) [12,12) [12,14): 14 + 5 = 19. Group 1: only
        // NULL ends. Group 2: an empty interval only. Group 3: filtered out.
        let mut acc = Intervals::default();
        let values = arrays(
            vec![
                Some(20),
                Some(0),
                Some(21),
                Some(1),
                Some(5),
                Some(12),
                Some(12),
                Some(9),
                Some(3),
            ],
            vec![
                Some(25),
                Some(10),
                Some(22),
                None,
                Some(12),
                Some(12),
                Some(14),
                Some(4),
                Some(9),
            ],
        );
        let filter = BooleanArray::from(vec![
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            None,
        ]);
        acc.update_batch(&values, &[0, 0, 0, 1, 0, 0, 0, 2, 3], Some(&filter), 4)
            .unwrap();
        let out = acc.evaluate(EmitTo::All).unwrap();
        assert_eq!(values_of(&out), vec![Some(19), None, Some(0), None]);
        assert_eq!(acc.size(), 0);
    }

    #[test]
    fn partial_states_merge_to_the_whole_union() {
        // Two partial aggregations of one group's intervals, and a group seen by one of them.
        let mut left = Intervals::default();
        left.update_batch(
            &arrays(vec![Some(0), Some(30)], vec![Some(10), Some(40)]),
            &[0, 1],
            None,
            2,
        )
        .unwrap();
        let mut right = Intervals::default();
        right
            .update_batch(
                &arrays(
                    vec![Some(8), Some(50), Some(9)],
                    vec![Some(20), Some(55), Some(9)],
                ),
                &[0, 0, 1],
                None,
                2,
            )
            .unwrap();
        let mut last = Intervals::default();
        for (partial, groups) in [(left, [0, 1]), (right, [1, 0])] {
            let mut partial = partial;
            let state = partial.state(EmitTo::All).unwrap();
            last.merge_batch(&state, &groups, 2).unwrap();
        }
        // The right one's groups are the last one's in reverse. Group 0: [0,10) with [9,9) =
        // 10; group 1: [30,40) with [8,20) [50,55) = 27.
        let out = last.evaluate(EmitTo::All).unwrap();
        assert_eq!(values_of(&out), vec![Some(10), Some(27)]);
    }

    #[test]
    fn rows_converted_to_states_merge_like_partial_states() {
        let values = arrays(
            vec![Some(0), Some(4), Some(7), None],
            vec![Some(5), Some(9), Some(7), Some(1)],
        );
        let acc = Intervals::default();
        let state = acc.convert_to_state(&values, None).unwrap();
        let mut last = Intervals::default();
        last.merge_batch(&state, &[0, 0, 1, 2], 3).unwrap();
        assert_eq!(
            values_of(&last.evaluate(EmitTo::All).unwrap()),
            vec![Some(9), Some(0), None]
        );
    }

    #[test]
    fn emitting_the_first_groups_renumbers_the_rest() {
        let mut acc = Intervals::default();
        acc.update_batch(
            &arrays(
                vec![Some(0), Some(0), Some(0)],
                vec![Some(1), Some(2), Some(3)],
            ),
            &[0, 1, 2],
            None,
            3,
        )
        .unwrap();
        assert_eq!(
            values_of(&acc.evaluate(EmitTo::First(2)).unwrap()),
            vec![Some(1), Some(2)]
        );
        acc.update_batch(&arrays(vec![Some(5)], vec![Some(9)]), &[1], None, 2)
            .unwrap();
        assert_eq!(
            values_of(&acc.evaluate(EmitTo::All).unwrap()),
            vec![Some(3), Some(4)]
        );
    }

    #[test]
    fn one_group_evaluates_more_than_once() {
        let mut acc = OneGroup(Intervals::default());
        Accumulator::update_batch(&mut acc, &arrays(vec![Some(0)], vec![Some(5)])).unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Int64(Some(5)));
        Accumulator::update_batch(&mut acc, &arrays(vec![Some(3)], vec![Some(7)])).unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Int64(Some(7)));
        let state = acc.state().unwrap();
        let mut other = OneGroup(Intervals::default());
        let arrays: Vec<ArrayRef> = state.iter().map(|s| s.to_array().unwrap()).collect();
        Accumulator::merge_batch(&mut other, &arrays).unwrap();
        assert_eq!(other.evaluate().unwrap(), ScalarValue::Int64(Some(7)));
    }
}
