//! The engine layer: where and how the SQL of every stage runs.
//!
//! # Layout
//! - [`session`]: the DataFusion session (local, or a Ballista cluster), its memory pool and
//!   spill folder; a second session of the same run is its [`session::sibling`].
//! - [`pool`]: the memory pool: a fair share for each operator that spills, and free memory
//!   beyond it.
//! - [`functions`]: the SQL functions of the project (`draw_u`, `local_day`, the window
//!   function `next_closing`, the aggregate `union_length`), and the operator that streams
//!   the window functions in local sessions.
//! - [`catalog`]: lake tables, published files and in-memory tables registered by name.
//! - [`rules`]: the rule tables as SQL tables and the common views (`voided_events`,
//!   `open_units`).
//! - [`params`]: the named parameters every step binds, every rule scalar among them.
//! - [`step`]: one SQL step, published or a view, and how its files are split ([`Scan`]).
//! - [`context`]: the stage context and step runner ([`StageContext`]), the [`Stage`] trait.
//! - `cluster` (feature `ballista`): the scheduler and executor processes, which register the
//!   same functions.
//!
//! The engine knows no stage: stages import it, `run/` orders them.

pub mod catalog;
#[cfg(feature = "ballista")]
pub mod cluster;
pub mod context;
pub mod functions;
pub mod params;
pub mod pool;
pub mod rules;
pub mod session;
pub mod step;

pub use context::{SqlStage, Stage, StageContext};
pub use params::Params;
pub use session::{default_memory_limit, session, sibling, Engine, EngineOptions};
pub use step::{Output, Scan, Step};

use datafusion::prelude::SessionContext;

use crate::contract::rules::RuleSet;
use crate::error::Result;
use crate::lake::{tables, Lake, Snapshot};

/// Registers what every step of a day may read in `ctx`: the snapshot's lake tables, the rule
/// tables, and the common views bound to `params`.
pub async fn prepare(
    ctx: &SessionContext,
    lake: &Lake,
    snapshot: &Snapshot,
    rules: &RuleSet,
    params: &Params,
) -> Result<()> {
    catalog::register_snapshot(ctx, lake, snapshot).await?;
    rules::register_rules(ctx, rules).await?;
    rules::register_common_views(ctx, params).await
}

/// A second session of the run of `ctx` for another day: the same engine, memory pool, lake
/// tables (the same pinned files) and rule tables, the common views bound to `params`, and the
/// tables `extra` of `ctx`.
pub async fn day_session(
    ctx: &SessionContext,
    params: &Params,
    extra: &[&str],
) -> Result<SessionContext> {
    let day = sibling(ctx).await?;
    let lake_tables: Vec<&str> = tables::all().into_iter().map(|(name, _)| name).collect();
    catalog::share_tables(ctx, &day, &lake_tables).await?;
    catalog::share_tables(ctx, &day, &rules::RULE_TABLES).await?;
    catalog::share_tables(ctx, &day, extra).await?;
    rules::register_common_views(&day, params).await?;
    Ok(day)
}
