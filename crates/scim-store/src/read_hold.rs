//! One read transaction kept open beside the readers while reads go on, so that the WAL read
//! lock every read takes is one this process already holds, and costs no system call.
//!
//! Every SQLite read in WAL mode begins a read transaction, which takes a shared lock on one
//! of the WAL index's read slots: the slot whose mark is the newest commit. The unix VFS
//! counts this process's holders of each slot and calls `fcntl` only when the count leaves or
//! returns to zero, and it makes that call holding the shared memory's mutex, which the other
//! request thread then sleeps on. With two request threads doing point reads, most reads found
//! the count at zero: `perf` of GET by id at 32 connections put about 12% of the server's CPU
//! in beginning and ending read transactions (`fcntl` 4%, the mutex's futex wake and wait
//! 5.6%), and `strace` counted 0.85 `fcntl` and 0.7 `futex` calls per request. While this
//! thread holds a read transaction on the newest snapshot, a reader's lock and unlock of the
//! same slot are two counter updates under a mutex held for nanoseconds
//! (BENCHMARKS.md, session 25).
//!
//! Readers never read through it: each read still begins its own transaction and sees every
//! commit made before it began. What the held transaction does affect is the WAL: it pins its
//! snapshot, so a checkpoint cannot copy frames committed after it and the WAL cannot start
//! over while it sits on a WAL frame. A first version that followed the commits (given up at
//! the tick after a commit, taken again on the new snapshot) made deactivations 18% slower:
//! under a steady write load it was nearly always on a WAL frame, so the WAL rarely started
//! over. So:
//! - it is taken only while the writer rests: when no batch committed since the holder last
//!   looked (every millisecond);
//! - the writer tells it of each commit ([`HoldSignal::committed`]), and it gives the hold up
//!   at once;
//! - it is never kept longer than 20 ms ([`Limits`]), since commits by other processes (the
//!   command-line tools) are not counted;
//! - while writes go on it looks less and less often (up to every 16 ms); after 20 looks
//!   without a read it sleeps until a read wakes it, so an idle server does not tick and a
//!   write-only load never sees it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::sqlite::SqliteConnection;

use crate::conn::{SqlitePragmas, SqliteRole};

/// When the holder looks and how long it holds. One set in production ([`Limits::DEFAULT`]);
/// tests stretch them to tell one rule from another.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// How often the holder looks for reads while writes rest.
    pub(crate) tick: Duration,
    /// Longest pause between two looks while writes go on (the pause doubles at each look
    /// that finds a commit).
    pub(crate) max_tick: Duration,
    /// Longest a snapshot is held, whatever happens.
    pub(crate) max_hold: Duration,
    /// Looks without a read after which the thread sleeps until a read wakes it.
    pub(crate) quiet_ticks: u32,
}

impl Limits {
    pub(crate) const DEFAULT: Limits = Limits {
        tick: Duration::from_millis(1),
        max_tick: Duration::from_millis(16),
        max_hold: Duration::from_millis(20),
        quiet_ticks: 20,
    };
}

/// The holder's thread. Dropping it gives the hold up and joins the thread.
pub(crate) struct ReadHold {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// The writer's side of the holder: tells it of each commit.
#[derive(Clone)]
pub(crate) struct HoldSignal(Arc<Shared>);

struct Shared {
    /// A read began since the holder last looked.
    read: AtomicBool,
    /// Batches the writer committed.
    commits: AtomicU64,
    /// A read transaction is held: the writer wakes the holder at its next commit.
    held: AtomicBool,
    /// The holder sleeps until a read sets [`Shared::read`] and wakes it.
    asleep: AtomicBool,
    /// Read transactions taken so far (for tests).
    taken: AtomicU64,
    /// Set once, when the store closes.
    stop: AtomicBool,
    /// Held only around the holder's waits and the wake-ups, never while it runs SQL, so a
    /// reader or the writer that wakes it never waits for a statement.
    lock: Mutex<()>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Wakes the holder. The holder checks what it waits for and starts waiting under the
    /// lock, so a wake-up that takes the lock first cannot fall between the two.
    fn wake_holder(&self) {
        let _guard = self.lock();
        self.wake.notify_one();
    }
}

impl ReadHold {
    /// Starts the holder on its own connection to `path`, and gives the writer's side. `None`
    /// when the connection or the thread can't be had: reads then lock as they would without
    /// it.
    pub(crate) fn start(path: &str, limits: Limits) -> Option<(ReadHold, HoldSignal)> {
        let mut conn = SqliteConnection::establish(path).ok()?;
        SqlitePragmas {
            role: SqliteRole::Holder,
        }
        .apply(&mut conn)
        .ok()?;
        let shared = Arc::new(Shared {
            read: AtomicBool::new(false),
            commits: AtomicU64::new(0),
            held: AtomicBool::new(false),
            asleep: AtomicBool::new(false),
            taken: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        });
        let theirs = shared.clone();
        let thread = thread::Builder::new()
            .name("scim-read-hold".into())
            .spawn(move || hold_loop(&mut conn, &theirs, limits))
            .ok()?;
        let signal = HoldSignal(shared.clone());
        Some((
            ReadHold {
                shared,
                thread: Some(thread),
            },
            signal,
        ))
    }

    /// Called as each read begins. Usually one load of a flag another read already set.
    pub(crate) fn reading(&self) {
        let shared = &*self.shared;
        if shared.read.load(Ordering::Relaxed) {
            // Not yet seen by the holder, which looks at it again before it sleeps.
            return;
        }
        // SeqCst pairs with the holder's store of `asleep` and load of `read` before it
        // sleeps: one of the two sides sees the other's store, so no wake-up is lost.
        shared.read.store(true, Ordering::SeqCst);
        if shared.asleep.swap(false, Ordering::SeqCst) {
            shared.wake_holder();
        }
    }

    /// Whether a read transaction is held now.
    #[cfg(test)]
    fn held(&self) -> bool {
        self.shared.held.load(Ordering::SeqCst)
    }

    /// Read transactions taken so far.
    #[cfg(test)]
    fn taken(&self) -> u64 {
        self.shared.taken.load(Ordering::SeqCst)
    }

    /// Whether the thread sleeps until a read wakes it.
    #[cfg(test)]
    fn asleep(&self) -> bool {
        self.shared.asleep.load(Ordering::SeqCst)
    }
}

impl HoldSignal {
    /// Called by the writer after each committed batch: one atomic add, and a wake-up only
    /// when a read transaction is held, which happens only on the first commit after writes
    /// rested.
    pub(crate) fn committed(&self) {
        let shared = &*self.0;
        // SeqCst pairs with the holder's store of `held` and its load of `commits` after it
        // took the hold: either it sees this commit, or this sees the hold.
        shared.commits.fetch_add(1, Ordering::SeqCst);
        if shared.held.load(Ordering::SeqCst) {
            shared.wake_holder();
        }
    }
}

impl Drop for ReadHold {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake_holder();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn hold_loop(conn: &mut SqliteConnection, shared: &Shared, limits: Limits) {
    let mut seen = shared.commits.load(Ordering::SeqCst);
    let mut pause = limits.tick;
    let mut quiet = 0;
    while !shared.stopping() {
        let read = shared.read.swap(false, Ordering::SeqCst);
        let commits = shared.commits.load(Ordering::SeqCst);
        let writes_rest = commits == seen;
        seen = commits;
        quiet = if read { 0 } else { quiet + 1 };
        if read && writes_rest && take(conn) {
            shared.taken.fetch_add(1, Ordering::SeqCst);
            shared.held.store(true, Ordering::SeqCst);
            let since = Instant::now();
            // Until the next commit (the writer wakes this thread), max_hold, or the end.
            let mut guard = shared.lock();
            while !shared.stopping() && shared.commits.load(Ordering::SeqCst) == seen {
                let Some(left) = limits.max_hold.checked_sub(since.elapsed()) else {
                    break;
                };
                guard = wait(shared, guard, left);
            }
            drop(guard);
            shared.held.store(false, Ordering::SeqCst);
            release(conn);
            pause = limits.tick;
            continue;
        }
        let mut guard = shared.lock();
        if quiet >= limits.quiet_ticks {
            shared.asleep.store(true, Ordering::SeqCst);
            while shared.asleep.load(Ordering::SeqCst)
                && !shared.read.load(Ordering::SeqCst)
                && !shared.stopping()
            {
                guard = shared
                    .wake
                    .wait(guard)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            shared.asleep.store(false, Ordering::SeqCst);
            quiet = 0;
            pause = limits.tick;
            continue;
        }
        pause = if writes_rest {
            limits.tick
        } else {
            (pause * 2).min(limits.max_tick)
        };
        drop(wait(shared, guard, pause));
    }
}

fn wait<'a>(
    shared: &'a Shared,
    guard: MutexGuard<'a, ()>,
    at_most: Duration,
) -> MutexGuard<'a, ()> {
    shared
        .wake
        .wait_timeout(guard, at_most)
        .unwrap_or_else(PoisonError::into_inner)
        .0
}

/// Begins a read transaction on the newest snapshot: BEGIN alone takes no lock, the first
/// read of a table does. False (and nothing held) when SQLite refused.
fn take(conn: &mut SqliteConnection) -> bool {
    if conn
        .batch_execute("BEGIN; SELECT 1 FROM sqlite_schema LIMIT 1;")
        .is_ok()
    {
        true
    } else {
        // A BEGIN that went through leaves a transaction open without its lock.
        let _ = conn.batch_execute("ROLLBACK;");
        false
    }
}

fn release(conn: &mut SqliteConnection) {
    // A read transaction has nothing to commit; ending it can only fail if it already ended.
    let _ = conn.batch_execute("COMMIT;");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::eventually;
    use crate::{Backend, Store, StoreOptions, tenants};
    use diesel::RunQueryDsl;
    use std::path::Path;

    /// A WAL database with one table and a row in the WAL, and a connection to write to it
    /// as another process would (no signal to the holder).
    fn database(dir: &Path) -> (String, SqliteConnection) {
        let path = dir.join("hold.db").to_string_lossy().into_owned();
        let mut outside = SqliteConnection::establish(&path).unwrap();
        outside
            .batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1);",
            )
            .unwrap();
        (path, outside)
    }

    /// Reads go on (as `Store::read` reports them) until the hold is taken.
    fn read_until_held(hold: &ReadHold) -> bool {
        eventually(|| {
            hold.reading();
            hold.held()
        })
    }

    /// `PRAGMA wal_checkpoint(TRUNCATE)` from `conn`: whether it emptied the WAL, which no
    /// reader may hold a WAL frame for.
    fn truncated(conn: &mut SqliteConnection) -> bool {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            busy: i32,
        }
        let rows: Vec<Row> = diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
            .load(conn)
            .unwrap();
        rows.first().is_some_and(|r| r.busy == 0)
    }

    /// Never let go because of time, so a release can only come from a commit or quiet.
    const NO_EXPIRY: Limits = Limits {
        max_hold: Duration::from_secs(3600),
        ..Limits::DEFAULT
    };

    #[test]
    fn reads_take_the_hold_and_the_writers_commit_gives_it_up() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut outside) = database(dir.path());
        let (hold, signal) = ReadHold::start(&path, NO_EXPIRY).unwrap();
        assert!(!hold.held(), "held before any read");
        assert!(read_until_held(&hold), "reads never took the hold");
        // The hold is on a WAL frame: a checkpoint cannot empty the WAL under it.
        outside.batch_execute("INSERT INTO t VALUES (2);").unwrap();
        assert!(
            !truncated(&mut outside),
            "the WAL was emptied under the hold"
        );

        signal.committed();
        assert!(
            eventually(|| !hold.held()),
            "a commit left the hold in place"
        );
        assert!(
            truncated(&mut outside),
            "the WAL stayed pinned after the release"
        );

        // Reads going on take it again once writes rest, on the new snapshot.
        let before = hold.taken();
        assert!(read_until_held(&hold));
        assert!(hold.taken() > before);
    }

    #[test]
    fn a_read_sees_a_commit_the_hold_has_not_heard_of() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut outside) = database(dir.path());
        let (hold, _signal) = ReadHold::start(&path, NO_EXPIRY).unwrap();
        assert!(read_until_held(&hold));
        // Committed by another process: the hold is not told and stays on its snapshot.
        outside.batch_execute("INSERT INTO t VALUES (2);").unwrap();
        let mut reader = SqliteConnection::establish(&path).unwrap();
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        hold.reading();
        let rows: Vec<Count> = diesel::sql_query("SELECT count(*) AS n FROM t")
            .load(&mut reader)
            .unwrap();
        assert_eq!(rows[0].n, 2, "the read saw the hold's snapshot");
        assert!(
            hold.held(),
            "the hold let go without a signal, so this proved nothing"
        );
    }

    #[test]
    fn a_quiet_store_lets_the_hold_go_and_sleeps_until_a_read() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut outside) = database(dir.path());
        let limits = Limits {
            max_hold: Duration::from_millis(5),
            quiet_ticks: 5,
            ..Limits::DEFAULT
        };
        let (hold, _signal) = ReadHold::start(&path, limits).unwrap();
        assert!(read_until_held(&hold));
        outside.batch_execute("INSERT INTO t VALUES (2);").unwrap();
        // No more reads: the hold expires, is not taken again, and the thread sleeps.
        assert!(eventually(|| hold.asleep()), "the thread never slept");
        assert!(!hold.held());
        let taken = hold.taken();
        thread::sleep(Duration::from_millis(50));
        assert_eq!(hold.taken(), taken, "taken again without a read");
        assert!(truncated(&mut outside), "a sleeping holder pinned the WAL");
        // A read wakes it.
        assert!(read_until_held(&hold), "a read did not wake the holder");
        assert!(!hold.asleep());
    }

    #[test]
    fn the_store_reports_its_reads_and_commits_and_gives_the_hold_up_when_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let url = format!("sqlite://{}", path.display());
        let store = Store::open(&url, StoreOptions::default()).unwrap();
        let Backend::Sqlite {
            hold: Some(hold), ..
        } = &*store.inner
        else {
            panic!("a SQLite store without its holder");
        };
        assert!(
            eventually(|| {
                store.read(tenants::list).unwrap();
                hold.held()
            }),
            "the store's reads never took the hold"
        );
        let commits = hold.shared.commits.load(Ordering::SeqCst);
        store
            .write(|c| tenants::create(c, "acme", chrono::Utc::now().naive_utc()))
            .unwrap();
        assert_eq!(
            hold.shared.commits.load(Ordering::SeqCst),
            commits + 1,
            "the writer's commit did not reach the holder"
        );
        drop(store);
        // Nobody holds the database any more: leaving WAL mode needs it to itself.
        let mut alone = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
        alone
            .batch_execute("PRAGMA journal_mode = DELETE;")
            .unwrap();
        #[derive(diesel::QueryableByName)]
        struct Mode {
            #[diesel(sql_type = diesel::sql_types::Text)]
            journal_mode: String,
        }
        let mode: Vec<Mode> = diesel::sql_query("PRAGMA journal_mode")
            .load(&mut alone)
            .unwrap();
        assert_eq!(mode[0].journal_mode, "delete");
    }
}
