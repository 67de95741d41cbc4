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
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use datafusion::arrow::array::make_comparator;
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::compute::{concat_batches, SortOptions};
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
    metrics: BaselineMetrics,
}

impl WholePartitionStream {
    /// The partition keys' values in `batch`.
    fn key_values(&self, batch: &RecordBatch) -> DfResult<Vec<ArrayRef>> {
        self.keys
            .iter()
            .map(|k| k.evaluate(batch)?.into_array(batch.num_rows()))
            .collect()
    }

    /// Whether row `i` of `a` and row `j` of `b` (key values) are in one partition.
    fn same_partition(a: &[ArrayRef], i: usize, b: &[ArrayRef], j: usize) -> DfResult<bool> {
        for (x, y) in a.iter().zip(b) {
            if make_comparator(x.as_ref(), y.as_ref(), SortOptions::default())?(i, j)
                != Ordering::Equal
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Takes `batch` in: the complete partitions before it and in it, evaluated, if any.
    fn push(&mut self, batch: RecordBatch) -> DfResult<Option<RecordBatch>> {
        let rows = batch.num_rows();
        let keys = self.key_values(&batch)?;
        // The start of the partition `batch` ends in, found from the back: a partition is a
        // device's events, a few dozen rows.
        let mut start = rows - 1;
        while start > 0 && Self::same_partition(&keys, start - 1, &keys, rows - 1)? {
            start -= 1;
        }
        if start == 0 {
            // One partition throughout: it goes on the held one, or the held one is complete.
            let ready = match self.held.last() {
                Some(last) => {
                    let held_keys = self.key_values(last)?;
                    if Self::same_partition(&held_keys, last.num_rows() - 1, &keys, 0)? {
                        None
                    } else {
                        Some(std::mem::take(&mut self.held))
                    }
                }
                None => None,
            };
            self.held.push(batch);
            return ready.map(|parts| self.evaluate(&parts)).transpose();
        }
        let mut parts = std::mem::take(&mut self.held);
        parts.push(batch.slice(0, start));
        self.held.push(batch.slice(start, rows - start));
        self.evaluate(&parts).map(Some)
    }

    /// `parts`' rows (whole partitions, in order) with each function's results beside them.
    fn evaluate(&self, parts: &[RecordBatch]) -> DfResult<RecordBatch> {
        let batch = match parts {
            [one] => one.clone(),
            _ => concat_batches(&parts[0].schema(), parts)?,
        };
        let rows = batch.num_rows();
        let keys = self.key_values(&batch)?;
        let partitions = evaluate_partition_ranges(
            rows,
            &keys
                .into_iter()
                .map(|values| datafusion::arrow::compute::SortColumn {
                    values,
                    options: None,
                })
                .collect::<Vec<_>>(),
        )?;
        let mut columns = batch.columns().to_vec();
        for f in &self.functions {
            let args = f
                .args
                .iter()
                .map(|a| a.evaluate(&batch)?.into_array(rows))
                .collect::<DfResult<Vec<_>>>()?;
            columns.push((f.evaluate)(&args, &partitions)?);
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
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
                    Some(self.evaluate(&parts))
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
