//! Each candidate model fitted on a run's published feature table, timed: the backtest's
//! training cutoff (`as_of − 730`) and the final fit's (`as_of − 365`), open units, `f_*`
//! columns, as the risk stage reads them.
//!
//! `cargo bench --locked -p firecredit-models --bench fit -- LAKE/runs/<as_of>/<run_id>`
//! Figures go to BENCHMARKS.md ("The fit under a minute at GD-1M").

#![allow(clippy::print_stdout)] // the bench's figures are its output

use std::fs::File;
use std::path::Path;
use std::time::Instant;

use arrow_array::{Array, BooleanArray, Date32Array, Float64Array};
use firecredit_models::boosting::BoostingParams;
use firecredit_models::dataset::Dataset;
use firecredit_models::forest::ForestParams;
use firecredit_models::logistic::LogisticParams;
use firecredit_models::metrics::roc_auc;
use firecredit_models::ndarray::{Array1, Array2};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The open units' labelled rows of each cutoff day (ascending), as the risk stage reads them.
fn read(path: &Path) -> Vec<(i32, Dataset)> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).expect("features"))
        .expect("parquet")
        .build()
        .expect("reader");
    let mut names: Vec<String> = Vec::new();
    let mut parts: std::collections::BTreeMap<i32, (Vec<f64>, Vec<bool>)> = Default::default();
    for batch in reader {
        let batch = batch.expect("batch");
        let schema = batch.schema();
        if names.is_empty() {
            names = schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .filter(|n| n.starts_with("f_"))
                .collect();
        }
        let col = |n: &str| batch.column(schema.index_of(n).expect(n)).clone();
        let cutoff = col("cutoff");
        let cutoff = cutoff.as_any().downcast_ref::<Date32Array>().unwrap();
        let open = col("open");
        let open = open.as_any().downcast_ref::<BooleanArray>().unwrap();
        let label = col("label");
        let label = label.as_any().downcast_ref::<BooleanArray>().unwrap();
        let cols: Vec<_> = names.iter().map(|n| col(n)).collect();
        let cols: Vec<&Float64Array> = cols
            .iter()
            .map(|c| c.as_any().downcast_ref::<Float64Array>().unwrap())
            .collect();
        for r in 0..batch.num_rows() {
            if !open.value(r) || label.is_null(r) {
                continue;
            }
            let (x, y) = parts.entry(cutoff.value(r)).or_default();
            x.extend(cols.iter().map(|c| c.value(r)));
            y.push(label.value(r));
        }
    }
    parts
        .into_iter()
        .map(|(day, (x, y))| {
            let rows = y.len();
            let data = Dataset {
                names: names.clone(),
                x: Array2::from_shape_vec((rows, names.len()), x).unwrap(),
                y: Some(Array1::from(y)),
            };
            (day, data)
        })
        .collect()
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    println!("{what:40} {:8.2} s", start.elapsed().as_secs_f64());
    out
}

fn main() {
    let run = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .expect("usage: fit RUN_DIR");
    let parts = timed("read features.parquet", || {
        read(&Path::new(&run).join("features.parquet"))
    });
    let Ok([(_, train), (_, test)]) = <[_; 2]>::try_from(parts) else {
        panic!("the feature table has two labelled cutoffs");
    };
    println!(
        "train {} rows, test {} rows, {} features, {} threads",
        train.rows(),
        test.rows(),
        train.names.len(),
        rayon::current_num_threads()
    );
    let logistic = LogisticParams::default().check().unwrap();
    let lr = timed("logistic (backtest)", || logistic.fit(&train).unwrap());
    timed("logistic (final, warm start)", || {
        logistic.fit_from(&test, Some(&lr)).unwrap()
    });
    let forest = ForestParams::default().check().unwrap();
    let fm = timed("forest (backtest)", || forest.fit(&train).unwrap());
    let boosting = BoostingParams::default().check().unwrap();
    let bm = timed("boosted (backtest)", || boosting.fit(&train).unwrap());
    println!(
        "boosted: {} trees kept of {} rounds",
        bm.rounds, bm.rounds_run
    );
    timed("boosted (final, the backtest's rounds)", || {
        boosting.fit_rounds(&test, bm.rounds).unwrap()
    });
    let labels = test.labels().to_vec();
    for (name, logit) in [
        (
            "logistic",
            timed("logistic log-odds (test rows)", || lr.logit(&test)),
        ),
        (
            "forest",
            timed("forest log-odds (test rows)", || fm.logit(&test)),
        ),
        (
            "boosted",
            timed("boosted log-odds (test rows)", || bm.logit(&test)),
        ),
    ] {
        println!(
            "{name:10} backtest AUC {:.4}",
            roc_auc(&logit, &labels).unwrap()
        );
    }
}
