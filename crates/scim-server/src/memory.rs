//! Process-wide allocator settings for the binary (a host app mounting the library keeps its
//! own).
//!
//! glibc gives each thread that allocates under contention its own arena (up to 8 per core),
//! and memory freed into one arena is not reused by another. actix workers, blocking threads,
//! the SQLite writer and the member streamers each leave their own high-water mark, so resident
//! memory grew with the number of threads rather than with the data: 140 MB after a few load
//! runs at 100 000 users, 87 MB with two arenas (BENCHMARKS.md, "Memory"). mimalloc was tried
//! and peaked far higher. Two arenas keep contention low on the two request workers' paths.
//! A trimmer thread then returns freed heap after bursts ([`trim_in_background`]).

/// Arenas glibc may create (`M_ARENA_MAX`); `SCIM_MALLOC_ARENAS` overrides, and
/// `MALLOC_ARENA_MAX` in the environment still wins because glibc reads it first.
pub const ARENAS: i32 = 2;

/// Caps glibc's arenas; call before the runtime starts threads. Does nothing elsewhere.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
            return;
        }
        let arenas = std::env::var("SCIM_MALLOC_ARENAS")
            .ok()
            .and_then(|v| v.parse::<i32>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(ARENAS);
        // SAFETY: mallopt only adjusts allocator tuning; M_ARENA_MAX with a positive value is
        // a documented, always-valid parameter, and no other thread exists yet.
        #[expect(unsafe_code, reason = "mallopt has no safe wrapper; see SAFETY")]
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

/// How often the trimmer looks at the heap.
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// Growth of the process's anonymous resident memory since the last trim that triggers one.
const TRIM_AFTER_GROWTH_KIB: u64 = 4096;

/// Starts a thread that hands freed heap back to the kernel (`malloc_trim`) after resident
/// memory grew by `TRIM_AFTER_GROWTH_KIB` (4 MiB). glibc only returns memory at the top of a
/// heap; a burst (a Bulk of 1 000 users, 16 streams of a 100 000-member group) leaves freed pages
/// inside the arenas resident. With 1 000 000 users the bench's peak was 104 MB with ~20 MB of
/// that free heap (BENCHMARKS.md). The check is a read of `/proc/self/statm`; a trim costs
/// about a millisecond and runs only after growth. Does nothing off glibc.
pub fn trim_in_background() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let spawned = std::thread::Builder::new()
            .name("scim-trim".into())
            .spawn(|| {
                let mut last = anon_kib().unwrap_or(0);
                loop {
                    std::thread::sleep(TRIM_EVERY);
                    let Some(now) = anon_kib() else { return };
                    if now > last + TRIM_AFTER_GROWTH_KIB {
                        trim();
                        last = anon_kib().unwrap_or(now);
                    } else if now < last {
                        last = now;
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no heap trimmer thread");
        }
    }
}

/// The process's anonymous resident memory in KiB (`RssAnon` of /proc/self/status).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn anon_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only releases free memory of glibc's heaps back to the kernel; it
    // takes each arena's lock itself and is safe to call from any thread at any time.
    #[expect(unsafe_code, reason = "malloc_trim has no safe wrapper; see SAFETY")]
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    #[test]
    fn reads_its_own_resident_memory_and_trims() {
        let before = super::anon_kib().unwrap_or(0);
        assert!(before > 0, "RssAnon not read from /proc/self/status");
        super::trim();
        assert!(super::anon_kib().is_some());
    }
}
