//! The process's use of glibc's allocator, in one place (`unsafe` calls, as are the crash hook
//! of `lake` and the prefetch of `ingest::identity`): how many arenas it keeps, and giving freed
//! memory back between staged files. Elsewhere than glibc on Linux, both do nothing.

/// glibc gives each thread that allocates an arena of its own, up to eight per core, and memory
/// freed in one is not reused by the others: with ingest's staging threads (tokio's blocking
/// pool) the peak RSS of a GD-1M ingest was 3.5 GiB for under 2 GiB of live data, and a
/// `nightly` reached 6.1 GiB. One arena per core: 1.9 and 4.0 GiB at the same speed (decision
/// 121). A `MALLOC_ARENA_MAX` set by the user wins. Call first thing in `main`, before any
/// other thread exists.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn limit_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        // SAFETY: `mallopt` only sets a tunable; `main` calls this before other threads exist.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, i32::try_from(cores).unwrap_or(i32::MAX));
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas() {}

/// Gives the memory the arenas hold free back to the system. Staging a large file frees
/// hundreds of megabytes that the arena of its thread would otherwise keep while another file
/// is staged on another thread (decision 124).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn give_back_free() {
    // SAFETY: `malloc_trim` is thread-safe (it locks each arena in turn) and frees nothing in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back_free() {}
