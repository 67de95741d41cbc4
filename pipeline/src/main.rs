//! The `firecredit` binary: parse arguments, run the command, map errors to exit codes.

use clap::Parser;

fn main() {
    limit_malloc_arenas();
    let cli = firecredit::cli::Cli::parse();
    firecredit::cli::init_logging(cli.log.as_deref());
    let code = match firecredit::cli::run(cli) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("error: {err:#}");
            err.downcast_ref::<firecredit::Error>()
                .map_or(1, firecredit::Error::exit_code)
        }
    };
    std::process::exit(code);
}

/// glibc gives each thread that allocates an arena of its own, up to eight per core, and memory
/// freed in one is not reused by the others: with ingest's staging threads (tokio's blocking
/// pool) the peak RSS of a GD-1M ingest was 3.5 GiB for under 2 GiB of live data, and a
/// `nightly` reached 6.1 GiB. One arena per core: 1.9 and 4.0 GiB at the same speed (decision
/// 121).
/// A `MALLOC_ARENA_MAX` set by the user wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        // SAFETY: called first thing in `main`, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, i32::try_from(cores).unwrap_or(i32::MAX));
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
