//! Process-wide allocator settings for the binary (a host app mounting the library keeps its
//! own).
//!
//! glibc gives each thread that allocates under contention its own arena (up to 8 per core),
//! and memory freed into one arena is not reused by another. actix workers, blocking threads,
//! the SQLite writer and the member streamers each leave their own high-water mark, so resident
//! memory grew with the number of threads rather than with the data: 140 MB after a few load
//! runs at 100 000 users, 87 MB with two arenas (BENCHMARKS.md, "Memory"). mimalloc was tried
//! and peaked far higher. Two arenas keep contention low on the two request workers' paths.

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
