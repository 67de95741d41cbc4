//! Scoring in SQL: the fitted model compiled into `sql/risk/risk_scores.sql`, the risk levels
//! (`sql/risk/risk_levels.sql`), and the logistic model as a points table (`scorecard`).

use std::sync::Arc;

use datafusion::arrow::array::{Float64Array, RecordBatch, StringArray, UInt64Array};
use firecredit_models::artifact::Artifact;
use firecredit_models::dataset::Dataset;
use firecredit_models::logistic::LogisticModel;
use firecredit_models::scorecard::{scorecard, Scaling};

use crate::engine::{Output, Scan, StageContext, Step};
use crate::error::Result;

pub const RISK_SCORES_TEMPLATE: &str = include_str!("../../../../sql/risk/risk_scores.sql");
pub const RISK_LEVELS: Step = Step::view(
    "risk_levels",
    include_str!("../../../../sql/risk/risk_levels.sql"),
);

/// The backtest by district and use type (in the model report).
pub const MODEL_BY_GROUP: Step = Step::view(
    "model_by_group",
    include_str!("../../../../sql/risk/model_by_group.sql"),
);

/// The risk-scores SQL with the model's compiled expressions in place of its markers: a tree
/// model's leaf columns, each contribution as a column `c_<feature>`, and each column's sort
/// key for the reasons.
pub fn risk_scores_sql(artifact: &Artifact) -> String {
    let contributions = artifact.sql_contributions();
    let columns = contributions
        .iter()
        .map(|(n, e)| format!("{e} AS c_{n}"))
        .collect::<Vec<_>>()
        .join(",\n           ");
    // Feature names are the feature table's own `f_*` columns: plain identifiers.
    let keys = contributions
        .iter()
        .map(|(n, _)| {
            format!(
                "CASE WHEN c_{n} > 0 THEN lpad(CAST(1000000000000000 - CAST(round(c_{n} * 1000000000.0) AS BIGINT) AS VARCHAR), 16, '0') || '{n}:' || CAST(ROUND(c_{n}, 3) AS VARCHAR) END"
            )
        })
        .collect::<Vec<_>>()
        .join(",\n                      ");
    let leaves: String = artifact
        .sql_leaves()
        .iter()
        .map(|l| format!(",\n           {l}"))
        .collect();
    RISK_SCORES_TEMPLATE
        .replace("/*LEAVES*/", &leaves)
        .replace("/*PROBABILITY*/", &artifact.sql_probability())
        .replace("/*CONTRIBUTIONS*/", &columns)
        .replace("/*KEYS*/", &keys)
}

/// The `risk_scores` step of a fitted model. It keeps one cutoff of the features, the last
/// third of a file sorted by cutoff: read whole, so that its rows are dealt to every core
/// rather than all falling in the last byte range ([`Scan::WholeFiles`]).
pub fn risk_scores_step(artifact: &Artifact) -> Step {
    Step {
        name: "risk_scores",
        sql: risk_scores_sql(artifact).into(),
        output: Output::Publish {
            csv: false,
            ndjson: false,
        },
        scan: Scan::WholeFiles,
    }
}

/// The logistic model as a points table (`scorecard`, Parquet and CSV), binned on its
/// training data.
pub async fn publish_scorecard(
    cx: &mut StageContext,
    training: &Dataset,
    model: &LogisticModel,
) -> Result<()> {
    let scaling = Scaling::default();
    let bins = scorecard(training, model, scaling, 5);
    let base = scaling.base_points(model);
    let mut features = vec!["(base)".to_string()];
    let mut bin_no = vec![0u64];
    let (mut lower, mut upper) = (vec![None], vec![None]);
    let (mut units, mut fires) = (
        vec![training.rows() as u64],
        vec![training.labels().iter().filter(|v| **v).count() as u64],
    );
    let (mut woe, mut points) = (vec![None], vec![base]);
    for b in &bins {
        features.push(b.feature.clone());
        bin_no.push(b.bin as u64);
        lower.push(Some(b.lower));
        upper.push(b.upper.is_finite().then_some(b.upper));
        units.push(b.units as u64);
        fires.push(b.fires as u64);
        woe.push(Some(b.woe));
        points.push(b.points);
    }
    let batch = RecordBatch::try_from_iter(vec![
        ("feature", Arc::new(StringArray::from(features)) as _),
        ("bin", Arc::new(UInt64Array::from(bin_no)) as _),
        ("lower", Arc::new(Float64Array::from(lower)) as _),
        ("upper", Arc::new(Float64Array::from(upper)) as _),
        ("units", Arc::new(UInt64Array::from(units)) as _),
        ("fires", Arc::new(UInt64Array::from(fires)) as _),
        ("woe", Arc::new(Float64Array::from(woe)) as _),
        ("points", Arc::new(Float64Array::from(points)) as _),
    ])?;
    cx.publish_batches("scorecard", batch.schema(), vec![batch], true)
        .await
}
