//! `firecredit scheduler`: Ballista's scheduler with the project's functions.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_core::utils::default_session_builder;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

use super::cluster_error;
use crate::error::Result;

/// Where the scheduler listens.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub bind_host: String,
    pub port: u16,
    /// The host name executors and clients use to reach it.
    pub external_host: String,
}

/// Runs the scheduler until the process is stopped.
pub async fn start_scheduler(opts: SchedulerOptions) -> Result<()> {
    let what = format!("scheduler {}:{}", opts.bind_host, opts.port);
    let address: SocketAddr = format!("{}:{}", opts.bind_host, opts.port)
        .parse()
        .map_err(|e| cluster_error(&what, e))?;
    let mut config = SchedulerConfig {
        bind_host: opts.bind_host.clone(),
        bind_port: opts.port,
        external_host: opts.external_host.clone(),
        ..Default::default()
    };
    // Plans arrive as logical plans naming `draw_u` and `next_closing`: the scheduler's sessions
    // must know them.
    config.override_session_builder = Some(Arc::new(|session_config| {
        let mut state = default_session_builder(session_config)?;
        crate::engine::functions::register(&mut state)?;
        Ok(state)
    }));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| cluster_error(&what, e))?;
    tracing::info!(%address, "scheduler listening");
    start_server(cluster, address, Arc::new(config))
        .await
        .map_err(|e| cluster_error(&what, e))
}
