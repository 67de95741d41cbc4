//! The process's use of glibc's allocator, in one place (`unsafe` calls, as is the crash hook
//! of `lake`): how many arenas it keeps, and giving freed memory back between staged files.
//! Elsewhere than glibc on Linux, both do nothing.

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

/// Above this resident size a staged file's freed memory goes back to the system; below it the
/// arenas keep it for the next file (decision 126): trimming after every file met the memory
/// target but its page faults cost 3–10 s of a GD-1M ingest.
pub const TRIM_ABOVE_BYTES: u64 = 1 << 30;

/// Gives the memory the arenas hold free back to the system when the process's resident size
/// is above [`TRIM_ABOVE_BYTES`]. Staging a large file frees hundreds of megabytes that the
/// arena of its thread would otherwise keep while another file is staged on another thread
/// (decision 124).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn give_back_free() {
    if resident_bytes().is_some_and(|rss| rss <= TRIM_ABOVE_BYTES) {
        return;
    }
    // SAFETY: `malloc_trim` is thread-safe (it locks each arena in turn) and frees nothing in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back_free() {}

/// The process's resident set size, from `/proc/self/statm` (its second field, in pages).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: `sysconf` only reads a constant of the system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    #[test]
    fn resident_size_grows_with_touched_memory() {
        let before = resident_bytes().expect("statm readable");
        let block = vec![1u8; 64 << 20];
        let after = resident_bytes().expect("statm readable");
        assert!(after >= before + (48 << 20), "{before} -> {after}");
        assert_eq!(block.iter().map(|&b| u64::from(b)).sum::<u64>(), 64 << 20);
    }
}
