//! Registers lake tables, run outputs and in-memory tables with a DataFusion session, so that
//! every stage after ingest is SQL over named tables.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use super::session::origin;
use crate::error::Result;
use crate::lake::{tables, Lake, Snapshot};

/// Registers `name` as the Parquet files at `paths` (relative to the lake root); an empty
/// table of `schema` when there are none.
pub async fn register_files(
    ctx: &SessionContext,
    lake: &Lake,
    name: &str,
    schema: SchemaRef,
    paths: &[&str],
) -> Result<()> {
    if paths.is_empty() {
        return register_batches(ctx, name, schema, Vec::new()).await;
    }
    register_parquet(ctx, lake, name, schema, paths)
}

fn register_parquet(
    ctx: &SessionContext,
    lake: &Lake,
    name: &str,
    schema: SchemaRef,
    paths: &[&str],
) -> Result<()> {
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

/// Registers every lake table (the eight sources, `quarantine` and `quality`) of a snapshot.
pub async fn register_snapshot(
    ctx: &SessionContext,
    lake: &Lake,
    snapshot: &Snapshot,
) -> Result<()> {
    for (name, schema) in tables::all() {
        let paths: Vec<&str> = snapshot
            .files(name)
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        register_files(ctx, lake, name, schema, &paths).await?;
    }
    Ok(())
}

/// Registers an in-memory table (rule tables, run parameters).
pub async fn register_batch(ctx: &SessionContext, name: &str, batch: RecordBatch) -> Result<()> {
    register_batches(ctx, name, batch.schema(), vec![batch]).await
}

/// Registers a table the client holds in memory. A local session reads it in place; a
/// distributed one cannot ship it to its executors, so it is written once as Parquet to the
/// session's scratch folder in the lake and read from there.
pub async fn register_batches(
    ctx: &SessionContext,
    name: &str,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<()> {
    ctx.deregister_table(name)?;
    let scratch = origin(ctx).and_then(|o| Some((o.lake.clone(), o.scratch.clone()?)));
    let Some((lake, dir)) = scratch else {
        let table = MemTable::try_new(schema, vec![batches])?;
        ctx.register_table(name, Arc::new(table))?;
        return Ok(());
    };
    // A table may be registered again (a later cutoff's status): a new file each time.
    let path = format!(
        "{dir}/{name}-{}.parquet",
        SCRATCH_FILES.fetch_add(1, Ordering::Relaxed)
    );
    let mut writer = lake.table_writer(path.clone(), schema.clone());
    for b in &batches {
        writer.write(b).await?;
    }
    writer.finish_even_if_empty().await?;
    register_parquet(ctx, &lake, name, schema, &[path.as_str()])
}

/// A table the client holds in memory, as a DataFrame of `ctx` (see [`register_batches`]).
pub async fn batch_frame(
    ctx: &SessionContext,
    name: &str,
    batch: RecordBatch,
) -> Result<datafusion::prelude::DataFrame> {
    register_batch(ctx, name, batch).await?;
    Ok(ctx.table(name).await?)
}

/// Registers in `to` the tables `names` exactly as `from` has them (the same files, so the same
/// pinned data), for a second session of the same run.
pub async fn share_tables(
    from: &SessionContext,
    to: &SessionContext,
    names: &[&str],
) -> Result<()> {
    for name in names {
        to.deregister_table(*name)?;
        to.register_table(*name, from.table_provider(*name).await?)?;
    }
    Ok(())
}

static SCRATCH_FILES: AtomicU64 = AtomicU64::new(0);
