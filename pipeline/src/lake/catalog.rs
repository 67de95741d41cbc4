//! Registers lake tables, run outputs and in-memory tables with a DataFusion session, so that
//! every stage after ingest is SQL over named tables.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use super::{Lake, Snapshot};
use crate::contract::Source;
use crate::error::Result;
use crate::ingest::batch::{quality_schema, quarantine_schema};
use crate::ingest::{QUALITY, QUARANTINE};

/// Registers `name` as the Parquet files at `paths` (relative to the lake root); an empty
/// table of `schema` when there are none.
pub fn register_files(
    ctx: &SessionContext,
    lake: &Lake,
    name: &str,
    schema: SchemaRef,
    paths: &[&str],
) -> Result<()> {
    if paths.is_empty() {
        let empty = MemTable::try_new(schema, vec![vec![]])?;
        ctx.register_table(name, Arc::new(empty))?;
        return Ok(());
    }
    let urls = paths
        .iter()
        .map(|p| ListingTableUrl::parse(lake.url_of(p)))
        .collect::<datafusion::error::Result<Vec<_>>>()?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema);
    ctx.register_table(name, Arc::new(ListingTable::try_new(config)?))?;
    Ok(())
}

/// Registers the eight source tables, `quarantine` and `quality` of a snapshot.
pub fn register_snapshot(ctx: &SessionContext, lake: &Lake, snapshot: &Snapshot) -> Result<()> {
    let tables = Source::ALL
        .iter()
        .map(|s| (s.name(), s.lake_schema()))
        .chain([
            (QUARANTINE, quarantine_schema()),
            (QUALITY, quality_schema()),
        ]);
    for (name, schema) in tables {
        let paths: Vec<&str> = snapshot
            .files(name)
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        register_files(ctx, lake, name, schema, &paths)?;
    }
    Ok(())
}

/// Registers an in-memory table (rule tables, run parameters).
pub fn register_batch(ctx: &SessionContext, name: &str, batch: RecordBatch) -> Result<()> {
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}
