//! `firecredit executor`: Ballista's executor with the project's functions and, for an S3
//! lake, its object store.

use std::sync::Arc;

use ballista_core::extension::{ballista_aggregate_functions, ballista_scalar_functions};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;

use super::cluster_error;
use crate::error::Result;
use crate::lake::Lake;

/// An executor's ports, its scheduler and its resources.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    pub bind_host: String,
    /// Arrow Flight port (shuffle data and results).
    pub port: u16,
    /// gRPC port (tasks from the scheduler).
    pub grpc_port: u16,
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// Concurrent tasks (default: the machine's cores).
    pub concurrent_tasks: Option<usize>,
    /// Memory for query operators, shared by the tasks.
    pub memory_limit: Option<usize>,
    /// Shuffle files and spills.
    pub work_dir: Option<String>,
    /// The lake whose object store the executor registers (needed for S3 lakes).
    pub lake: Option<String>,
}

/// A function's name and its aliases: the names a plan may call it by.
fn all_names(name: &str, aliases: &[String]) -> Vec<String> {
    std::iter::once(name.to_string())
        .chain(aliases.iter().cloned())
        .collect()
}

/// Runs the executor until the process is stopped or its scheduler goes away.
pub async fn start_executor(opts: ExecutorOptions) -> Result<()> {
    let what = format!("executor {}:{}", opts.bind_host, opts.port);
    // Ballista's default executor registry lacks the nested (array) functions its scheduler
    // plans with; the project's SQL uses `array_sort` and `array_agg`, and its own functions.
    let mut registry = BallistaFunctionRegistry::default();
    for f in ballista_scalar_functions()
        .into_iter()
        .chain(crate::engine::functions::functions())
    {
        for name in all_names(f.name(), f.aliases()) {
            registry.scalar_functions.insert(name, f.clone());
        }
    }
    for f in crate::engine::functions::window_functions() {
        for name in all_names(f.name(), f.aliases()) {
            registry.window_functions.insert(name, f.clone());
        }
    }
    for f in ballista_aggregate_functions()
        .into_iter()
        .chain(crate::engine::functions::aggregate_functions())
    {
        for name in all_names(f.name(), f.aliases()) {
            registry.aggregate_functions.insert(name, f.clone());
        }
    }
    let lake = opts.lake.as_deref().map(Lake::open).transpose()?;
    let mut config = ExecutorProcessConfig {
        bind_host: opts.bind_host.clone(),
        port: opts.port,
        grpc_port: opts.grpc_port,
        scheduler_host: opts.scheduler_host.clone(),
        scheduler_port: opts.scheduler_port,
        scheduler_connect_timeout_seconds: 30,
        vcores: opts.concurrent_tasks.unwrap_or(0),
        work_dir: opts.work_dir.clone(),
        memory_pool_size: opts.memory_limit.map(|b| b as u64),
        override_function_registry: Some(Arc::new(registry)),
        ..Default::default()
    };
    let work_dir = opts.work_dir.clone();
    config.override_runtime_producer = Some(Arc::new(move |_| {
        let mut builder = RuntimeEnvBuilder::new();
        if let Some(dir) = &work_dir {
            builder = builder.with_temp_file_path(dir.clone());
        }
        let runtime = builder.build()?;
        if let Some(lake) = &lake {
            lake.register_runtime_store(&runtime);
        }
        Ok(Arc::new(runtime))
    }));
    tracing::info!(
        port = opts.port,
        scheduler = format!("{}:{}", opts.scheduler_host, opts.scheduler_port),
        "executor starting"
    );
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| cluster_error(&what, e))
}
