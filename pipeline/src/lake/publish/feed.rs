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
