//! Where the SQL runs: DataFusion embedded in this process (the default), or a Ballista
//! cluster (`--engine ballista://HOST:PORT`, cargo feature `ballista`). Both get the same
//! session settings and the same functions, so a step's result does not depend on the engine.
//!
//! A distributed session cannot ship in-memory tables to its executors (Ballista sends the
//! plan, not the data). Tables the client builds in memory (rule tables, cutoffs, scores read
//! back for the model) are therefore written as Parquet under the lake's `_scratch/<session>/`
//! when the session is distributed; see [`super::catalog::register_batches`].

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

use super::pool::FairFreePool;
use crate::error::{Error, Result};
use crate::lake::Lake;

/// The query engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Engine {
    /// DataFusion in this process.
    #[default]
    Local,
    /// A Ballista scheduler at `http://HOST:PORT` (given as `ballista://HOST:PORT`).
    Ballista { host: String, port: u16 },
}

impl FromStr for Engine {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        if text == "local" {
            return Ok(Engine::Local);
        }
        let Some(address) = text.strip_prefix("ballista://") else {
            return Err(format!(
                "`{text}`: the engine is `local` or `ballista://HOST:PORT`"
            ));
        };
        let (host, port) = address
            .trim_end_matches('/')
            .rsplit_once(':')
            .ok_or_else(|| {
                format!("`{text}`: give the scheduler's port, e.g. ballista://localhost:50050")
            })?;
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("`{text}`: `{port}` is not a port number"))?;
        if host.is_empty() {
            return Err(format!("`{text}`: the scheduler's host is missing"));
        }
        Ok(Engine::Ballista {
            host: host.to_string(),
            port,
        })
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::Local => f.write_str("local"),
            Engine::Ballista { host, port } => write!(f, "ballista://{host}:{port}"),
        }
    }
}

/// Engine settings: DataFusion's memory pool spills to disk beyond `memory_limit`.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    pub engine: Engine,
    /// Target partitions (default: the machine's cores).
    pub target_partitions: Option<usize>,
    /// Bytes of memory for query operators (default: [`default_memory_limit`]).
    pub memory_limit: Option<usize>,
    /// Where spill files go (default: the OS temporary folder).
    pub spill_dir: Option<PathBuf>,
}

/// 40 % of physical memory (2 GiB when it cannot be read): leaves room for Parquet writers,
/// the model fit and the OS cache.
pub fn default_memory_limit() -> usize {
    let total_kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<usize>().ok())
    });
    total_kib.map_or(2 << 30, |k| k * 1024 / 10 * 4)
}

/// The session settings every engine shares. DataFusion's own `DATAFUSION_*` environment
/// variables (e.g. `DATAFUSION_EXECUTION_BATCH_SIZE`) tune it, so an operator can try a setting
/// without a rebuild; the flags and the settings below override them.
pub fn session_config(target_partitions: Option<usize>) -> Result<SessionConfig> {
    let mut config = SessionConfig::from_env()?.with_information_schema(false);
    // Plain string arrays rather than views: the Ballista engine forces this (its Flight
    // exchange), so both engines publish the same Arrow schema; and at 1M units the run is
    // faster with them (BENCHMARKS.md).
    let options = config.options_mut();
    options.execution.parquet.schema_force_view_types = false;
    options.sql_parser.map_string_types_to_utf8view = false;
    if let Some(n) = target_partitions {
        config = config.with_target_partitions(n.max(1));
    }
    Ok(config)
}

/// The memory pool and spill folder of `engine`.
pub fn runtime(engine: &EngineOptions) -> Result<Arc<RuntimeEnv>> {
    let limit = engine.memory_limit.unwrap_or_else(default_memory_limit);
    let disk = match &engine.spill_dir {
        Some(dir) => DiskManagerMode::Directories(vec![dir.clone()]),
        None => DiskManagerMode::OsTmpDirectory,
    };
    Ok(RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(FairFreePool::new(limit)))
        .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(disk))
        .build_arc()?)
}

/// What a session remembers about how it was made, so that a second session for the same run
/// (an earlier cutoff, the scoring SQL) gets the same engine and memory pool.
#[derive(Debug, Clone)]
pub struct SessionOrigin {
    pub options: EngineOptions,
    pub lake: Lake,
    /// `_scratch/<id>` in the lake when the session is distributed.
    pub scratch: Option<String>,
}

/// A session for the pipeline's SQL over `lake`, on the engine of `engine`.
pub async fn session(engine: &EngineOptions, lake: &Lake) -> Result<SessionContext> {
    let runtime = runtime(engine)?;
    let scratch = match engine.engine {
        Engine::Local => None,
        Engine::Ballista { .. } => Some(format!(
            "_scratch/{}-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            std::process::id()
        )),
    };
    let origin = SessionOrigin {
        options: engine.clone(),
        lake: lake.clone(),
        scratch,
    };
    connect(origin, runtime).await
}

/// A fresh session (no tables) on the same engine, memory pool and scratch folder as `ctx`.
pub async fn sibling(ctx: &SessionContext) -> Result<SessionContext> {
    let origin = origin(ctx)
        .ok_or_else(|| Error::Internal("session was not made by engine::session".into()))?;
    connect(origin.as_ref().clone(), ctx.runtime_env()).await
}

/// How `ctx` was made, when [`session`] made it.
pub fn origin(ctx: &SessionContext) -> Option<Arc<SessionOrigin>> {
    ctx.state().config().get_extension::<SessionOrigin>()
}

async fn connect(origin: SessionOrigin, runtime: Arc<RuntimeEnv>) -> Result<SessionContext> {
    let lake = origin.lake.clone();
    let config = session_config(origin.options.target_partitions)?;
    let engine = origin.options.engine.clone();
    let config = config.with_extension(Arc::new(origin));
    let ctx = match engine {
        // The project's window functions streamed (decision 140); Ballista plans on its
        // scheduler with DataFusion's rules only.
        Engine::Local => SessionContext::new_with_state(
            datafusion::execution::SessionStateBuilder::new()
                .with_config(config)
                .with_runtime_env(runtime)
                .with_default_features()
                .with_physical_optimizer_rule(Arc::new(super::functions::WholePartitionWindows))
                .build(),
        ),
        Engine::Ballista { host, port } => distributed(config, runtime, &host, port).await?,
    };
    lake.register_store(&ctx);
    super::functions::register(&mut *ctx.state_ref().write())?;
    Ok(ctx)
}

#[cfg(feature = "ballista")]
async fn distributed(
    config: SessionConfig,
    runtime: Arc<RuntimeEnv>,
    host: &str,
    port: u16,
) -> Result<SessionContext> {
    use ballista::prelude::SessionContextExt;
    use ballista_core::extension::SessionConfigExt;
    use datafusion::execution::SessionStateBuilder;

    // Ballista 55's adaptive planner re-plans the credit status at a past cutoff (a deep plan
    // of nested views) without end: tens of thousands of stages and no result. The static
    // distributed planner runs it in a few stages.
    let config = config
        .upgrade_for_ballista()
        .with_ballista_adaptive_query_planner(false);
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .build();
    let url = format!("df://{host}:{port}");
    SessionContext::remote_with_state(&url, state)
        .await
        .map_err(|e| Error::Engine {
            engine: format!("ballista://{host}:{port}"),
            message: e.to_string(),
        })
}

#[cfg(not(feature = "ballista"))]
async fn distributed(
    _config: SessionConfig,
    _runtime: Arc<RuntimeEnv>,
    host: &str,
    port: u16,
) -> Result<SessionContext> {
    Err(Error::Engine {
        engine: format!("ballista://{host}:{port}"),
        message: "this build has no Ballista support; build with `--features ballista`".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_parse_from_their_urls() {
        assert_eq!("local".parse::<Engine>(), Ok(Engine::Local));
        assert_eq!(
            "ballista://127.0.0.1:50050".parse::<Engine>(),
            Ok(Engine::Ballista {
                host: "127.0.0.1".into(),
                port: 50050
            })
        );
        assert_eq!(
            "ballista://sched.example:7000"
                .parse::<Engine>()
                .unwrap()
                .to_string(),
            "ballista://sched.example:7000"
        );
        for bad in [
            "ballista://host",
            "ballista://:50050",
            "ballista://h:port",
            "spark://h:1",
            "",
        ] {
            assert!(bad.parse::<Engine>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_memory_limit_is_a_share_of_ram() {
        let limit = default_memory_limit();
        assert!(limit >= 1 << 30, "{limit}");
    }
}
