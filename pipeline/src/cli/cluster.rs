//! `firecredit scheduler` and `firecredit executor` (cargo feature `ballista`).

use anyhow::Context;
use clap::Args;

use crate::engine::cluster::{start_executor, start_scheduler, ExecutorOptions, SchedulerOptions};

/// Run a Ballista scheduler that knows firecredit's SQL functions; `run --engine
/// ballista://HOST:PORT` sends its SQL here.
#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Address to listen on. Ballista has no authentication: whoever reaches the port runs SQL
    /// with the lake's credentials, so bind a private-network address only.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_host: String,
    /// gRPC port for clients and executors.
    #[arg(long, default_value_t = 50050)]
    pub port: u16,
    /// Host name that executors and clients use to reach this scheduler.
    #[arg(long, default_value = "localhost")]
    pub external_host: String,
}

/// Run a Ballista executor that knows firecredit's SQL functions.
#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// Address to listen on. Ballista has no authentication: whoever reaches the port runs SQL
    /// with the lake's credentials, so bind a private-network address only.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_host: String,
    /// Arrow Flight port (shuffle data and results).
    #[arg(long, default_value_t = 50051)]
    pub port: u16,
    /// gRPC port (tasks from the scheduler).
    #[arg(long, default_value_t = 50052)]
    pub grpc_port: u16,
    /// The scheduler's host.
    #[arg(long, default_value = "localhost")]
    pub scheduler_host: String,
    /// The scheduler's port.
    #[arg(long, default_value_t = 50050)]
    pub scheduler_port: u16,
    /// Tasks run at once (default: one per core).
    #[arg(long)]
    pub concurrent_tasks: Option<usize>,
    /// Memory for query operators, e.g. 6G; beyond it they spill (default: Ballista's share of
    /// RAM).
    #[arg(long, value_parser = super::run::parse_size)]
    pub memory_limit: Option<usize>,
    /// Folder for shuffle files and spills (default: a temporary folder).
    #[arg(long)]
    pub work_dir: Option<String>,
    /// The lake the cluster serves, when it is on S3 (its object store is registered).
    #[arg(long)]
    pub lake: Option<String>,
}

pub async fn scheduler(args: SchedulerArgs) -> anyhow::Result<()> {
    start_scheduler(SchedulerOptions {
        bind_host: args.bind_host,
        port: args.port,
        external_host: args.external_host,
    })
    .await
    .context("running the scheduler")
}

pub async fn executor(args: ExecutorArgs) -> anyhow::Result<()> {
    start_executor(ExecutorOptions {
        bind_host: args.bind_host,
        port: args.port,
        grpc_port: args.grpc_port,
        scheduler_host: args.scheduler_host,
        scheduler_port: args.scheduler_port,
        concurrent_tasks: args.concurrent_tasks,
        memory_limit: args.memory_limit,
        work_dir: args.work_dir,
        lake: args.lake,
    })
    .await
    .context("running the executor")
}
