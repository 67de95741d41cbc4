//! The project's window functions streamed: a physical optimizer rule of local sessions puts
//! [`WholePartitionWindowExec`] where DataFusion planned a `WindowAggExec` whose functions are
//! all the project's own ([`super::window`]).
//!
//! `WindowAggExec` collects its whole input partition (at GD-1M 12.6 M events a core),
//! concatenates it into one batch, then slices it once per window partition (about a million
//! devices) and calls the function once per slice, and concatenates the million results: the
//! copies and the per-slice calls were 4 s of the IoT intervals' compute. This operator takes
//! the same sorted input batch by batch, holds back only the rows of the partition a batch
//! ends in (it may go on in the next batch), and hands each function the complete partitions
//! of a batch in one call with their ranges. The rows, their order and the results are the
//! same: the input is sorted by the partition keys first, so a partition's rows are
//! consecutive, and each is evaluated whole, as `WindowAggExec` evaluates it (decision 140).
//!
//! Ballista plans on its scheduler with DataFusion's own rules, so a distributed session runs
//! `WindowAggExec` and the functions' single-partition entry point, with the same results.
//!
//! Layout: the rule ([`WholePartitionWindows`]), the operator, its stream.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use datafusion::arrow::array::make_comparator;
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::compute::{concat_batches, SortColumn, SortOptions};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::common::utils::evaluate_partition_ranges;
use datafusion::common::Result as DfResult;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::window::{StandardWindowExpr, WindowExpr};
use datafusion::physical_expr::OrderingRequirements;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::execution_plan::{
    CardinalityEffect, ChildrenPropertiesMode, ReplaceChildrenOptions,
};
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::windows::{WindowAggExec, WindowUDFExpr};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, InputDistributionRequirements, PlanProperties,
};
use futures::{Stream, StreamExt};

use super::window::{Evaluate, WholePartition};

/// Replaces each `WindowAggExec` whose window functions are all the project's own by a
/// [`WholePartitionWindowExec`] over the same input.
#[derive(Debug, Default)]
pub struct WholePartitionWindows;

impl PhysicalOptimizerRule for WholePartitionWindows {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            Ok(match WholePartitionWindowExec::try_new(&node) {
                Some(exec) => Transformed::yes(Arc::new(exec) as Arc<dyn ExecutionPlan>),
                None => Transformed::no(node),
            })
        })
        .data()
    }

    fn name(&self) -> &str {
        "whole_partition_windows"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A window function of the project's, ready to run on a batch.
#[derive(Debug, Clone)]
struct Function {
    evaluate: Evaluate,
    args: Vec<Arc<dyn PhysicalExpr>>,
}

/// `WindowAggExec`'s work, streamed; see the module's documentation. It keeps the
/// `WindowAggExec` it replaces for everything but execution (properties, requirements,
/// display of its window expressions), so the plan around it is unchanged.
#[derive(Debug)]
pub struct WholePartitionWindowExec {
    /// The `WindowAggExec` replaced.
    window: Arc<dyn ExecutionPlan>,
    functions: Vec<Function>,
    /// The partition keys (`PARTITION BY`), in any order: only where they change matters.
    keys: Vec<Arc<dyn PhysicalExpr>>,
    metrics: ExecutionPlanMetricsSet,
}

impl WholePartitionWindowExec {
    /// The operator for `node`, if it is a `WindowAggExec` whose functions are all the
    /// project's.
    fn try_new(node: &Arc<dyn ExecutionPlan>) -> Option<Self> {
        let window = node.downcast_ref::<WindowAggExec>()?;
        let mut functions = Vec::new();
        for expr in window.window_expr() {
            functions.push(own_function(expr)?);
        }
        Some(WholePartitionWindowExec {
            keys: window.window_expr().first()?.partition_by().to_vec(),
            window: Arc::clone(node),
            functions,
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }

    fn input(&self) -> &Arc<dyn ExecutionPlan> {
        self.window.children()[0]
    }
}

/// `expr` as a function of [`super::window`], with its arguments.
fn own_function(expr: &Arc<dyn WindowExpr>) -> Option<Function> {
    let standard = expr.as_any().downcast_ref::<StandardWindowExpr>()?;
    let udf = standard
        .get_standard_func_expr()
        .as_any()
        .downcast_ref::<WindowUDFExpr>()?;
    let own = udf.fun().inner().downcast_ref::<WholePartition>()?;
    Some(Function {
        evaluate: own.evaluate,
        args: expr.expressions(),
    })
}

impl DisplayAs for WholePartitionWindowExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let names: Vec<&str> = match self.window.downcast_ref::<WindowAggExec>() {
            Some(w) => w.window_expr().iter().map(|e| e.name()).collect(),
            None => Vec::new(),
        };
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(f, "WholePartitionWindowExec: wdw=[{}]", names.join(", "))
            }
            DisplayFormatType::TreeRender => writeln!(f, "select_list={}", names.join(", ")),
        }
    }
}

impl ExecutionPlan for WholePartitionWindowExec {
    fn name(&self) -> &str {
        "WholePartitionWindowExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.window.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![self.input()]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        self.window.apply_expressions(f)
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        self.window.maintains_input_order()
    }

    fn required_input_ordering(&self) -> Vec<Option<OrderingRequirements>> {
        self.window.required_input_ordering()
    }

    fn input_distribution_requirements(&self) -> InputDistributionRequirements {
        self.window.input_distribution_requirements()
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        self.window.benefits_from_input_partitioning()
    }

    fn cardinality_effect(&self) -> CardinalityEffect {
        self.window.cardinality_effect()
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        options: ReplaceChildrenOptions,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(WholePartitionWindowExec {
            window: Arc::clone(&self.window).replace_children(children, options)?,
            functions: self.functions.clone(),
            keys: self.keys.clone(),
            metrics: ExecutionPlanMetricsSet::new(),
        }))
    }

    #[allow(deprecated)]
    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let input = self.input().execute(partition, context)?;
        Ok(Box::pin(WholePartitionStream {
            schema: self.schema(),
            input,
            functions: self.functions.clone(),
            keys: self.keys.clone(),
            held: Vec::new(),
            held_key: Vec::new(),
            metrics: BaselineMetrics::new(&self.metrics, partition),
        }))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

struct WholePartitionStream {
    schema: SchemaRef,
    input: SendableRecordBatchStream,
    functions: Vec<Function>,
    keys: Vec<Arc<dyn PhysicalExpr>>,
    /// Rows of one window partition, which may go on in the next batch.
    held: Vec<RecordBatch>,
    /// The held partition's key values (one row).
    held_key: Vec<ArrayRef>,
    metrics: BaselineMetrics,
}

impl WholePartitionStream {
    /// Takes `batch` in: the complete partitions before it and in it, evaluated, if any.
    fn push(&mut self, batch: RecordBatch) -> DfResult<Option<RecordBatch>> {
        let rows = batch.num_rows();
        let keys = self
            .keys
            .iter()
            .map(|k| k.evaluate(&batch)?.into_array(rows))
            .collect::<DfResult<Vec<_>>>()?;
        let continues = !self.held.is_empty() && same_key(&self.held_key, &keys)?;
        let mut ranges = evaluate_partition_ranges(
            rows,
            &keys
                .iter()
                .map(|values| SortColumn {
                    values: Arc::clone(values),
                    options: None,
                })
                .collect::<Vec<_>>(),
        )?;
        // The batch's last partition may go on in the next batch: it is held.
        let last = ranges.pop().map_or(0, |r| r.start);
        self.held_key = keys.iter().map(|k| k.slice(rows - 1, 1)).collect();
        let held: usize = self.held.iter().map(RecordBatch::num_rows).sum();
        // The partitions complete now, as ranges of the held rows followed by the batch's.
        let mut batch_ranges = ranges.iter().map(|r| held + r.start..held + r.end);
        let mut complete = Vec::with_capacity(ranges.len() + 1);
        if continues {
            // The held partition ends in the batch's first range, unless that is the last.
            complete.extend(batch_ranges.next().map(|r| 0..r.end));
        } else if held > 0 {
            complete.push(0..held);
        }
        complete.extend(batch_ranges);
        if complete.is_empty() {
            // The batch goes on the held partition (or starts one).
            self.held.push(batch);
            return Ok(None);
        }
        let mut parts = std::mem::take(&mut self.held);
        if last > 0 {
            parts.push(batch.slice(0, last));
        }
        self.held.push(batch.slice(last, rows - last));
        self.evaluate(&parts, &complete).map(Some)
    }

    /// `parts`' rows (the whole partitions `partitions`, in order) with each function's
    /// results beside them.
    fn evaluate(
        &self,
        parts: &[RecordBatch],
        partitions: &[Range<usize>],
    ) -> DfResult<RecordBatch> {
        let batch = match parts {
            [one] => one.clone(),
            _ => concat_batches(&parts[0].schema(), parts)?,
        };
        let rows = batch.num_rows();
        let mut columns = batch.columns().to_vec();
        for f in &self.functions {
            let args = f
                .args
                .iter()
                .map(|a| a.evaluate(&batch)?.into_array(rows))
                .collect::<DfResult<Vec<_>>>()?;
            columns.push((f.evaluate)(&args, partitions)?);
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
}

/// Whether the one-row key values `held` equal the first row of `keys`.
fn same_key(held: &[ArrayRef], keys: &[ArrayRef]) -> DfResult<bool> {
    for (h, k) in held.iter().zip(keys) {
        if make_comparator(h.as_ref(), k.as_ref(), SortOptions::default())?(0, 0) != Ordering::Equal
        {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Stream for WholePartitionStream {
    type Item = DfResult<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let next = match self.input.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(next) => next,
            };
            let timer = self.metrics.elapsed_compute().clone();
            let _timer = timer.timer();
            let out = match next {
                Some(Ok(batch)) if batch.num_rows() == 0 => continue,
                Some(Ok(batch)) => match self.push(batch) {
                    Ok(None) => continue,
                    Ok(Some(out)) => Some(Ok(out)),
                    Err(e) => Some(Err(e)),
                },
                Some(Err(e)) => Some(Err(e)),
                None if self.held.is_empty() => None,
                None => {
                    let parts = std::mem::take(&mut self.held);
                    let rows = parts.iter().map(RecordBatch::num_rows).sum();
                    Some(self.evaluate(&parts, std::slice::from_ref(&(0..rows))))
                }
            };
            return self.metrics.record_poll(Poll::Ready(out));
        }
    }
}

impl RecordBatchStream for WholePartitionStream {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, Int8Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::common::ScalarValue;
    use datafusion::datasource::MemTable;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::{SessionConfig, SessionContext};

    /// Events of 40 devices in two elements, with ties on time, repeated rows, NULL states
    /// and devices spread over several input batches and partitions.
    fn events() -> Vec<Vec<RecordBatch>> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("device_id", DataType::Utf8, false),
            Field::new("element", DataType::Int8, false),
            Field::new("ts", DataType::Int64, false),
            Field::new("closes", DataType::Int8, false),
            Field::new("state", DataType::Int8, true),
        ]));
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let rows = 3000;
        let (mut device, mut element, mut ts, mut closes, mut state) =
            (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..rows {
            device.push(format!("D{}", next(40)));
            element.push(1 + next(2) as i8);
            ts.push(next(60) as i64);
            closes.push(next(2) as i8);
            state.push((next(10) > 0).then(|| 1 + next(3) as i8));
        }
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(device)),
                Arc::new(Int8Array::from(element)),
                Arc::new(Int64Array::from(ts)),
                Arc::new(Int8Array::from(closes)),
                Arc::new(Int8Array::from(state)),
            ],
        )
        .unwrap();
        // Two input partitions of uneven batches.
        let cut = |from: usize, to: usize| -> Vec<RecordBatch> {
            let mut out = vec![];
            let mut at = from;
            let mut size = 1;
            while at < to {
                let n = size.min(to - at);
                out.push(batch.slice(at, n));
                at += n;
                size = size * 3 % 97 + 1;
            }
            out
        };
        vec![cut(0, 1700), cut(1700, rows)]
    }

    /// The query's plan and its rows, sorted, in a session with or without the rule.
    async fn run(streamed: bool, batch_size: usize) -> (String, Vec<String>) {
        let config = SessionConfig::new()
            .with_target_partitions(2)
            .with_batch_size(batch_size);
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features();
        if streamed {
            state = state.with_physical_optimizer_rule(Arc::new(WholePartitionWindows));
        }
        let ctx = SessionContext::new_with_state(state.build());
        super::super::register(&mut *ctx.state_ref().write()).unwrap();
        let parts = events();
        let table = MemTable::try_new(parts[0][0].schema(), parts).unwrap();
        ctx.register_table("ev", Arc::new(table)).unwrap();
        let df = ctx
            .sql(
                "SELECT device_id, element, ts, closes, state,
                        next_closing(ts, closes, state) OVER (
                            PARTITION BY device_id, element ORDER BY ts, closes, state) AS e
                 FROM ev",
            )
            .await
            .unwrap();
        let plan = df.clone().create_physical_plan().await.unwrap();
        let plan = displayable(plan.as_ref()).indent(true).to_string();
        let mut rows = vec![];
        for batch in df.collect().await.unwrap() {
            for i in 0..batch.num_rows() {
                let row: Vec<String> = batch
                    .columns()
                    .iter()
                    .map(|c| ScalarValue::try_from_array(c, i).unwrap().to_string())
                    .collect();
                rows.push(row.join(","));
            }
        }
        rows.sort();
        (plan, rows)
    }

    #[tokio::test]
    async fn streamed_windows_equal_datafusions_at_any_batch_size() {
        let (plan, expected) = run(false, 8192).await;
        assert!(plan.contains("WindowAggExec"), "{plan}");
        assert_eq!(expected.len(), 3000);
        // Some rows end, some do not.
        assert!(expected.iter().any(|r| r.ends_with(",NULL")));
        assert!(expected.iter().any(|r| !r.ends_with(",NULL")));
        for batch_size in [1, 2, 3, 7, 64, 8192] {
            let (plan, rows) = run(true, batch_size).await;
            assert!(plan.contains("WholePartitionWindowExec"), "{plan}");
            assert!(!plan.contains("WindowAggExec:"), "{plan}");
            assert_eq!(rows, expected, "batch size {batch_size}");
        }
    }
}
