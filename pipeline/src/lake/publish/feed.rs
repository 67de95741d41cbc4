//! The credit-platform feed as a Delta table, `feed/scores`: every night's `scores` as the
//! partition of its `as_of`, with Delta's change data feed on, so that a platform pulls what a
//! night added (or a rerun replaced) with any Delta reader. The run folders stay as they are;
//! this table is written after the run's manifest, from the published `scores`.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{col, lit};
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;

use crate::error::Result;
use crate::lake::delta::delta_error;
use crate::lake::Lake;

/// The table's folder, relative to the lake root.
pub const FEED_TABLE: &str = "feed/scores";

/// Replaces the partition `as_of` of `feed/scores` with the published scores at `path` (the
/// table is created on the first night). Returns the table's new version.
pub async fn append(lake: &Lake, as_of: i32, path: &str) -> Result<u64> {
    let batches = lake.read_all(path, None).await?;
    let schema = crate::lake::publish::parquet_schema(lake, path).await?;
    let table = lake
        .ensure_table(
            FEED_TABLE,
            &schema,
            &["as_of"],
            &[("delta.enableChangeDataFeed", "true")],
        )
        .await?;
    let written = table
        .write(batches)
        .with_save_mode(SaveMode::Overwrite)
        .with_replace_where(col("as_of").eq(lit(ScalarValue::Date32(Some(as_of)))))
        .with_partition_columns(["as_of"])
        // A later feed schema adds columns (a compatible change): merged, not refused.
        .with_schema_mode(SchemaMode::Merge)
        .await
        .map_err(delta_error(FEED_TABLE))?;
    Ok(written.version().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{BooleanArray, Date32Array, RecordBatch, StringArray};

    use super::*;
    use crate::lake::delta::At;

    async fn scores(lake: &Lake, path: &str, day: i32, with_new_column: bool) -> String {
        let mut columns: Vec<(&str, datafusion::arrow::array::ArrayRef)> = vec![
            ("unit_id", Arc::new(StringArray::from(vec!["U1"]))),
            ("as_of", Arc::new(Date32Array::from(vec![day]))),
        ];
        if with_new_column {
            columns.push(("under_objection", Arc::new(BooleanArray::from(vec![true]))));
        }
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        lake.write_parquet(path, batch.schema(), &[batch])
            .await
            .unwrap()
            .unwrap();
        path.to_string()
    }

    /// A feed table made by an earlier version takes the columns a later one adds (a
    /// compatible addition to `firecredit-scores/1`): the old nights read them as null.
    #[tokio::test]
    async fn a_column_added_to_the_feed_merges_into_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let old = scores(&lake, "runs/a/scores.parquet", 20_634, false).await;
        append(&lake, 20_634, &old).await.unwrap();
        let new = scores(&lake, "runs/b/scores.parquet", 20_635, true).await;
        let version = append(&lake, 20_635, &new).await.unwrap();
        let table = lake
            .delta_table(FEED_TABLE, At::Latest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(table.version(), Some(version));
        let files = Lake::delta_files(FEED_TABLE, &table).unwrap();
        assert_eq!(files.len(), 2);
        let fields: Vec<String> = table
            .snapshot()
            .unwrap()
            .schema()
            .fields()
            .map(|f| f.name().to_string())
            .collect();
        assert!(
            fields.contains(&"under_objection".to_string()),
            "{fields:?}"
        );
    }
}
