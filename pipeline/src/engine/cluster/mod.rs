//! A Ballista cluster from this one binary (cargo feature `ballista`): `firecredit scheduler`
//! and `firecredit executor` are Ballista's own scheduler and executor, with the project's
//! functions (`draw_u`, the window function `next_closing`, the aggregate `union_length`)
//! registered, which stock Ballista processes lack.
//!
//! What runs where: `run --engine ballista://…` sends every SQL step to the scheduler, which
//! plans it into stages that the executors run, reading and writing the lake directly (the lake
//! must be reachable from every executor: a shared folder or S3). The client keeps ingest, the
//! model fit (from the published feature table), the plan's exact counts and inspector
//! assignment, the report and the manifest commit.

mod executor;
mod scheduler;

pub use executor::{start_executor, ExecutorOptions};
pub use scheduler::{start_scheduler, SchedulerOptions};

use crate::error::Error;

fn cluster_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Engine {
        engine: what.to_string(),
        message: e.to_string(),
    }
}
