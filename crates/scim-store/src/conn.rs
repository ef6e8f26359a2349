//! Connections: one enum over SQLite and PostgreSQL, their pools, and the SQLite writer.
//!
//! Store operations are written once against [`Conn`] with the `with_conn!` macro, which
//! compiles the body for each backend with that backend's generated schema in scope (the
//! approach vaultwarden takes). That keeps diesel's typed DSL, RETURNING and backend-specific
//! SQL available, which a runtime `MultiConnection` can't offer.

use std::sync::{Arc, Condvar, Mutex, PoisonError, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;

use crate::error::{Result, StoreError};

/// A borrowed connection of either backend, handed to store operations.
pub enum Conn<'a> {
    /// An SQLite connection (the writer's, or a read connection).
    Sqlite(&'a mut SqliteConnection),
    /// A PostgreSQL connection from the pool.
    Pg(&'a mut PgConnection),
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Runs `$body` with `$c` bound to the concrete connection and the matching generated schema
/// (`crate::schema::sqlite` or `crate::schema::postgres`) glob-imported, so one body of typed
/// diesel code serves both backends.
#[macro_export]
#[doc(hidden)]
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:block) => {
        match $conn {
            $crate::conn::Conn::Sqlite($c) => {
                #[allow(unused_imports)]
                use $crate::dialect::sqlite::*;
                #[allow(unused_imports)]
                use $crate::schema::sqlite::*;
                $body
            }
            $crate::conn::Conn::Pg($c) => {
                #[allow(unused_imports)]
                use $crate::dialect::postgres::*;
                #[allow(unused_imports)]
                use $crate::schema::postgres::*;
                $body
            }
        }
    };
}

/// Where the database is, parsed from a URL: `sqlite://PATH`, `sqlite:PATH`, a bare path, or
/// `postgres://…` / `postgresql://…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file path.
    Sqlite(String),
    /// A libpq connection URL.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses the URL forms operators use.
    pub fn parse(url: &str) -> Result<DatabaseUrl> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(StoreError::Invalid("the database URL is empty".into()));
        }
        if path.contains("://") {
            return Err(StoreError::Unsupported(format!(
                "unsupported database URL {url:?}; use sqlite://PATH or postgres://…"
            )));
        }
        Ok(DatabaseUrl::Sqlite(path.to_string()))
    }
}

/// What an SQLite connection is for, which decides its cache and journal settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqliteRole {
    /// The one writer (its auto-checkpoint is turned off by [`Checkpointer::start`]).
    Writer,
    /// A pooled read connection with a page cache of `cache_kib` KiB.
    Reader {
        /// Page cache size in KiB.
        cache_kib: u32,
    },
    /// The background checkpointer's connection.
    Checkpointer,
    /// The connection that keeps a read transaction open beside the readers (see
    /// `read_hold`).
    Holder,
}

/// Page cache of the writer, in KiB. The writer dirties the same hot pages (the upper levels
/// of the user and userName b-trees, the tails of the creation-order index and the sync log)
/// batch after batch; 16 MB keeps them resident.
pub(crate) const WRITER_CACHE_KIB: u32 = 16_000;
/// What all read connections' page caches may hold together, in KiB; each reader gets its
/// share (1 MB each with the default 8 readers). Pages beyond that come from the operating
/// system's file cache. Reader caches cost more resident memory than their size: pooled
/// connections are used by many threads, so their pages are spread over malloc's per-thread
/// arenas. Measured with 1 000 000 users, 8 readers and 4 writers busy for 20 s (store only,
/// no HTTP): writer 32 MB + readers 4 MB each gave 181 MB resident; writer 16 MB + readers
/// 1 MB each 82 MB; writer 8 MB + readers 1 MB each 70 MB. These sizes leave room under the
/// server's 100 MB target.
pub(crate) const READERS_CACHE_KIB: u32 = 8_000;
/// The smallest page cache a reader gets, however many readers there are.
const MIN_READER_CACHE_KIB: u32 = 1_000;
/// Largest WAL file kept after the WAL restarts (bytes): a burst can grow the file, and
/// SQLite truncates it back to this once a checkpoint let it start over. The WAL restarts
/// about four times a second under load (see `writer_loop`); at 10 000 creates/s it reaches
/// some 115 MB in between. A limit below that made every cycle cut the file and then extend
/// it again, block by block, inside the writer's commits. An idle store truncates it to zero.
const WAL_SIZE_LIMIT: u64 = 256 * 1024 * 1024;

impl SqliteRole {
    /// A reader's role when `readers` connections share [`READERS_CACHE_KIB`].
    pub(crate) fn reader(readers: u32) -> SqliteRole {
        SqliteRole::Reader {
            cache_kib: (READERS_CACHE_KIB / readers.max(1)).max(MIN_READER_CACHE_KIB),
        }
    }
}

/// PRAGMAs every SQLite connection gets: WAL so readers never block the writer, FULL sync so a
/// committed write survives power loss (a 2xx means the change is on disk; the checkpointer
/// syncs the database file before the WAL can be reused; the writer alone then moves to NORMAL
/// when the WAL syncer takes over its fsyncs, see `start_syncer`), foreign keys on, a busy timeout
/// so a checkpoint never surfaces as an error. Then what the role needs: the writer a large
/// page cache and sub-journals in memory (a request that runs alone runs in a savepoint, whose
/// journal would otherwise spill to a temporary file), readers `query_only` and their cache share.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SqlitePragmas {
    pub(crate) role: SqliteRole,
}

impl SqlitePragmas {
    pub(crate) fn apply(&self, conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
        conn.batch_execute(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 10000;
             PRAGMA case_sensitive_like = ON;",
        )?;
        match self.role {
            SqliteRole::Writer => {
                conn.batch_execute(&format!(
                    "PRAGMA cache_size = -{WRITER_CACHE_KIB};
                     PRAGMA temp_store = MEMORY;
                     PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};"
                ))?;
            }
            SqliteRole::Reader { cache_kib } => {
                conn.batch_execute(&format!(
                    "PRAGMA cache_size = -{cache_kib};
                     PRAGMA query_only = ON;"
                ))?;
            }
            SqliteRole::Holder => {
                // It reads one page, and it never waits: a refused BEGIN is tried again at
                // the next tick.
                conn.batch_execute(
                    "PRAGMA cache_size = -64;
                     PRAGMA query_only = ON;
                     PRAGMA busy_timeout = 0;",
                )?;
            }
            SqliteRole::Checkpointer => {
                // A checkpoint copies WAL frames to the file without the page cache. It
                // never waits: a RESTART/TRUNCATE that finds the writer or a reader busy
                // gives up at once rather than hold the write lock while it waits.
                conn.batch_execute(
                    "PRAGMA cache_size = -256;
                     PRAGMA busy_timeout = 0;",
                )?;
            }
        }
        Ok(())
    }
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(
        &self,
        conn: &mut SqliteConnection,
    ) -> std::result::Result<(), diesel::r2d2::Error> {
        self.apply(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Pool of SQLite read connections.
pub(crate) type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;

use crate::read_hold::HoldSignal;
use crate::replay::{self, CommitHook, Replayable};
use crate::wal_sync::{Completion, WalSyncer};
use crate::write_stats::{Counters, WriteStats};
/// A write job of a batch.
enum Job {
    /// Runs once, inside its own savepoint of the batch transaction.
    Alone(Box<dyn Replayable>),
    /// Runs first bare in the batch's transaction beside the batch's other such jobs, and
    /// again alone if one of them fails (see [`crate::replay`]).
    Shared(Box<dyn Replayable>),
}

/// The single SQLite writer. SQLite allows one writer at a time anyway; owning it in one thread
/// lets concurrent requests share a transaction and its fsync (group commit), and a failing
/// request rolls back alone (see [`crate::replay`]). Dropping it lets the thread finish
/// what is queued and close the connection before the drop returns, so a store closed and
/// opened again (a restart, a test) finds the file free.
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<Counters>,
}

/// Most requests one batch commits together; bounded so one batch can't starve replies.
const MAX_BATCH: usize = 512;
/// Committed batches after which the writer finishes a checkpoint itself even if the
/// checkpointer has not completed a pass (see `writer_loop`), which bounds the WAL should the
/// checkpointer fall behind.
const FINISH_CHECKPOINT_EVERY: u64 = 1024;

impl Writer {
    /// Starts the writer thread on `conn`; `checkpoints` hears of every commit when a
    /// [`Checkpointer`] runs beside it.
    pub(crate) fn start(
        mut conn: SqliteConnection,
        checkpoints: Option<CheckpointSignal>,
        hold: Option<HoldSignal>,
        record_events: bool,
    ) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>();
        let stats = Arc::new(Counters::default());
        let syncer = start_syncer(&mut conn, &stats);
        let counters = stats.clone();
        let spawned = thread::Builder::new()
            .name("scim-sqlite-writer".into())
            .spawn(move || {
                // Every write of this store runs on this thread (see `outbox::recording`).
                crate::outbox::record_on_this_thread(record_events);
                writer_loop(
                    &mut conn,
                    rx,
                    Signals {
                        checkpoints: checkpoints.as_ref(),
                        hold: hold.as_ref(),
                    },
                    syncer.as_ref(),
                    &counters,
                );
                // Every committed batch is synced and answered before the connection closes
                // (closing may checkpoint and remove the WAL the syncer would open).
                drop(syncer);
                drop(conn);
            });
        let thread = match spawned {
            Ok(t) => Some(t),
            Err(e) => {
                // Without a thread every write fails with Unavailable (the receiver is gone);
                // the error says why.
                eprintln!("scim-store: could not start the SQLite writer thread: {e}");
                None
            }
        };
        Writer {
            queue: tx,
            thread,
            stats,
        }
    }

    /// The group commit's running totals (see [`crate::write_stats`]).
    pub(crate) fn stats(&self) -> WriteStats {
        self.stats.snapshot()
    }

    /// Runs `f` in the next batch and returns its result once the batch has committed.
    pub(crate) fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn<'_>) -> Result<R> + Send + 'static,
    {
        let (reply_tx, reply_rx) = mpsc::sync_channel::<Result<R>>(1);
        self.submit(f, move |result| {
            let _ = reply_tx.send(result);
        })?;
        reply_rx
            .recv()
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?
    }

    /// [`write`](Self::write), and `meanwhile` on this thread once the write has committed,
    /// while its batch is being made durable (see `Store::write_overlapped`).
    pub(crate) fn write_overlapped<R, T, F, G>(&self, f: F, meanwhile: G) -> Result<(R, T)>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn<'_>) -> Result<R> + Send + 'static,
        G: FnOnce() -> T,
    {
        let (reply_tx, reply_rx) = mpsc::sync_channel::<Result<R>>(1);
        let (commit_tx, commit_rx) = mpsc::sync_channel::<bool>(1);
        let reply = move |result| {
            let _ = reply_tx.send(result);
        };
        let hook: CommitHook = Box::new(move |ok| {
            let _ = commit_tx.send(ok);
        });
        self.submit_hooked(f, reply, Some(hook))?;
        // Only a committed write is worth reading after (a writer that stops drops the hook
        // unheard). Should the hook say no and the write still succeed, `meanwhile` runs
        // after all, once the write is durable.
        let early = match commit_rx.recv() {
            Ok(true) => Ok(meanwhile()),
            _ => Err(meanwhile),
        };
        let written = reply_rx
            .recv()
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))??;
        Ok((written, early.unwrap_or_else(|meanwhile| meanwhile())))
    }

    /// Queues `f` for the next batch; `reply` hears its result once the batch's commit is
    /// over, on the writer thread (so it must only hand the result on). If the writer has
    /// stopped, `f` and `reply` are dropped unrun and the error says so.
    pub(crate) fn submit<R, F, S>(&self, f: F, reply: S) -> Result<()>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn<'_>) -> Result<R> + Send + 'static,
        S: FnOnce(Result<R>) + Send + 'static,
    {
        self.submit_hooked(f, reply, None)
    }

    /// [`submit`](Self::submit), with `hook` told at COMMIT whether the write committed.
    fn submit_hooked<R, F, S>(&self, f: F, reply: S, hook: Option<CommitHook>) -> Result<()>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn<'_>) -> Result<R> + Send + 'static,
        S: FnOnce(Result<R>) + Send + 'static,
    {
        let reply = self.timed(reply);
        // Run only alone, so only once: the closure is taken on its first run.
        let mut f = Some(f);
        let once = move |c: &mut Conn<'_>| match f.take() {
            Some(f) => f(c),
            None => Err(StoreError::Database("a write ran twice".into())),
        };
        let job = replay::Job::new(once, reply);
        let job = match hook {
            Some(hook) => job.on_commit(hook),
            None => job,
        };
        self.queue
            .send(Job::Alone(Box::new(job)))
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))
    }

    /// [`submit`](Self::submit) for a job that may run twice (see [`crate::replay`]): `f` must
    /// have no effect outside the transaction.
    pub(crate) fn submit_replayable<R, F, S>(&self, f: F, reply: S) -> Result<()>
    where
        R: Send + 'static,
        F: FnMut(&mut Conn<'_>) -> Result<R> + Send + 'static,
        S: FnOnce(Result<R>) + Send + 'static,
    {
        let reply = self.timed(reply);
        self.queue
            .send(Job::Shared(Box::new(replay::Job::new(f, reply))))
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))
    }

    /// `reply`, counting the time from now (the write being queued) to its acknowledgement.
    fn timed<R, S>(&self, reply: S) -> impl FnOnce(Result<R>) + Send + 'static
    where
        S: FnOnce(Result<R>) + Send + 'static,
    {
        let (stats, queued) = (self.stats.clone(), Instant::now());
        move |result| {
            stats.write(queued);
            reply(result);
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once the queue is empty.
        drop(std::mem::replace(&mut self.queue, mpsc::channel().0));
        if let Some(thread) = self.thread.take() {
            // The last handle of a store may go inside a write job, on the writer thread
            // itself, which can't wait for itself.
            if thread.thread().id() != thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

/// Starts the WAL syncer for the writer's database and lets the writer's COMMITs skip their
/// own fsync (see [`crate::wal_sync`]). `None`, and the writer keeps `synchronous = FULL`, for
/// a database without a WAL file (in memory) or when the thread can't start.
fn start_syncer(conn: &mut SqliteConnection, stats: &Arc<Counters>) -> Option<WalSyncer> {
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Database {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        file: String,
    }
    use diesel::RunQueryDsl;
    let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(conn)
        .ok()?;
    if !mode.journal_mode.eq_ignore_ascii_case("wal") {
        return None;
    }
    let dbs: Vec<Database> = diesel::sql_query("PRAGMA database_list").load(conn).ok()?;
    let main = dbs.into_iter().find(|d| d.name == "main")?;
    if main.file.is_empty() {
        return None;
    }
    let syncer = WalSyncer::start(format!("{}-wal", main.file).into(), stats.clone())?;
    conn.batch_execute("PRAGMA synchronous = NORMAL").ok()?;
    Some(syncer)
}

/// Who hears of the writer's commits.
struct Signals<'a> {
    checkpoints: Option<&'a CheckpointSignal>,
    hold: Option<&'a HoldSignal>,
}

fn writer_loop(
    conn: &mut SqliteConnection,
    rx: mpsc::Receiver<Job>,
    Signals { checkpoints, hold }: Signals<'_>,
    syncer: Option<&WalSyncer>,
    stats: &Arc<Counters>,
) {
    let mut batches: u64 = 0;
    let mut finishing = false;
    while let Ok(first) = rx.recv() {
        let started = Instant::now();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if syncer.is_some_and(WalSyncer::failed) {
            // The WAL's contents are in doubt (see `wal_sync`): run nothing more; the dropped
            // jobs' callers hear that the writer is unavailable.
            drop(batch);
            continue;
        }
        let mut shared: Vec<Box<dyn Replayable>> = Vec::new();
        let mut alone: Vec<Box<dyn Replayable>> = Vec::new();
        for job in batch {
            match job {
                Job::Shared(j) => shared.push(j),
                Job::Alone(j) => alone.push(j),
            }
        }
        // Jobs of one batch are concurrent requests: any order is a valid serial order. The
        // replayable ones run bare first; if one fails, the transaction is rolled back and
        // the batch runs again with every job alone (see `replay`).
        let mut replay = false;
        let mut committed = conn.immediate_transaction::<(), StoreError, _>(|c| {
            if !replay::run_bare(c, &mut shared) {
                replay = true;
                return Err(StoreError::Invalid("a job of the bare run failed".into()));
            }
            replay::run_alone(c, &mut alone);
            Ok(())
        });
        if replay {
            committed = conn.immediate_transaction::<(), StoreError, _>(|c| {
                replay::run_alone(c, &mut shared);
                replay::run_alone(c, &mut alone);
                Ok(())
            });
        }
        let ok = committed.is_ok();
        let mut completions: Vec<Completion> = shared
            .into_iter()
            .chain(alone)
            .map(|j| j.finish(ok))
            .collect();
        stats.batch(started);
        // If BEGIN itself failed, no job ran and each caller hears the writer is unavailable;
        // otherwise every job learns the commit's outcome.
        let outcome = committed.map_err(|e| match e {
            StoreError::Database(m) => StoreError::Unavailable(m),
            other => other,
        });
        if let (Ok(()), Some(hold)) = (&outcome, hold) {
            // Before the checkpoint below, which a held read transaction would stop short.
            hold.committed();
        }
        if let (Ok(()), Some(signal)) = (&outcome, checkpoints) {
            let copied = signal.committed();
            batches += 1;
            // Finish what the checkpointer copied, so the next transaction starts the WAL from
            // its beginning again. Under a steady load the checkpointer alone never catches up
            // with the end of the WAL, which then grows without bound, and appending to a
            // growing file costs the writer block allocation and zeroing in the kernel on
            // every frame. Done right after each of the checkpointer's passes, when only the
            // frames committed since remain to copy. (It used to run every 64 batches, about
            // 28 times a second at 9 000 creates/s, so the writer did most of the copying
            // itself: 8% of its time, plus two fsyncs each time.) Retried after every batch
            // until it completes (it gives up at once while the checkpointer is mid-copy).
            if copied || batches.is_multiple_of(FINISH_CHECKPOINT_EVERY) || finishing {
                finishing = !checkpoint(conn, "PASSIVE");
            }
        }
        match (&outcome, syncer) {
            (Ok(()), Some(syncer)) => {
                // Last of the batch's replies: the others have been handed on when it runs.
                let (stats, committed) = (stats.clone(), Instant::now());
                completions.push(Box::new(move |_| stats.durable(committed)));
                syncer.after_sync(completions)
            }
            _ => {
                for done in completions {
                    done(outcome.clone());
                }
            }
        }
        // A batch that failed to commit may leave the connection mid-transaction; retry-safe
        // reset before the next batch.
        if outcome.is_err() {
            let _ = conn.batch_execute("ROLLBACK");
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Shortest time between two checkpoints while writes go on: a checkpoint fsyncs the database
/// file, so it copies a quarter second of commits at once (about the 1 000 frames SQLite's own
/// auto-checkpoint waits for, at full write load).
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);
/// How long without a commit before the WAL file is truncated.
const CHECKPOINT_IDLE: Duration = Duration::from_secs(2);

/// What the writer and the checkpointer share.
#[derive(Default)]
struct CheckpointState {
    /// A commit added frames to the WAL since the last checkpoint began.
    pending: bool,
    /// The store is closing: the checkpointer exits.
    stop: bool,
    /// The checkpointer completed a pass since the writer last heard: the writer may finish
    /// the checkpoint and let the WAL start over.
    copied: bool,
}

type Shared = Arc<(Mutex<CheckpointState>, Condvar)>;

/// The writer's side of the checkpointer: tells it that a commit added frames.
#[derive(Clone)]
pub(crate) struct CheckpointSignal(Shared);

impl CheckpointSignal {
    /// Called after each committed batch; wakes the checkpointer only when it was idle. Says
    /// whether the checkpointer completed a pass since the last call.
    fn committed(&self) -> bool {
        let (lock, wake) = &*self.0;
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        if !state.pending {
            state.pending = true;
            wake.notify_one();
        }
        std::mem::take(&mut state.copied)
    }
}

/// Checkpoints the WAL on its own thread and connection, so the writer never pays for copying
/// pages into the database file (and its fsync) inside a commit. While commits come, a PASSIVE
/// checkpoint runs at most every [`CHECKPOINT_INTERVAL`] (it waits for nobody and blocks
/// nobody); after [`CHECKPOINT_IDLE`] without commits a TRUNCATE empties the WAL file, unless
/// a reader or the writer is busy, in which case it gives up and tries at the next idle spell.
/// Durability is unchanged: commits are durable in the WAL (fsynced by the writer), and a
/// checkpoint syncs the database file before SQLite may reuse the WAL.
pub(crate) struct Checkpointer {
    shared: Shared,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a connection to `path` and starts the thread on it, then turns the auto-checkpoint
    /// of `writer` off. `None` (and the writer keeps SQLite's auto-checkpoint) when the
    /// connection or the thread can't be had.
    pub(crate) fn start(
        path: &str,
        writer: &mut SqliteConnection,
    ) -> Option<(Checkpointer, CheckpointSignal)> {
        let mut conn = SqliteConnection::establish(path).ok()?;
        SqlitePragmas {
            role: SqliteRole::Checkpointer,
        }
        .apply(&mut conn)
        .ok()?;
        let shared: Shared = Arc::default();
        let theirs = shared.clone();
        let thread = thread::Builder::new()
            .name("scim-checkpoint".into())
            .spawn(move || checkpoint_loop(&mut conn, &theirs))
            .ok()?;
        let signal = CheckpointSignal(shared.clone());
        let checkpointer = Checkpointer {
            shared,
            thread: Some(thread),
        };
        // On failure the checkpointer is dropped (its thread stopped) and SQLite goes on
        // checkpointing inside commits.
        writer
            .batch_execute("PRAGMA wal_autocheckpoint = 0;")
            .ok()?;
        Some((checkpointer, signal))
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        {
            let (lock, wake) = &*self.shared;
            let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
            state.stop = true;
            wake.notify_one();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One row of `PRAGMA wal_checkpoint`.
#[derive(diesel::QueryableByName)]
struct CheckpointRow {
    /// 1 when a RESTART/TRUNCATE could not finish because someone was busy.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
    /// Frames in the WAL.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
    /// Frames of them now in the database file.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    checkpointed: i32,
}

/// Runs `PRAGMA wal_checkpoint(mode)`; true when every frame of the WAL is in the database
/// file (and for TRUNCATE, the WAL file is empty).
fn checkpoint(conn: &mut SqliteConnection, mode: &str) -> bool {
    use diesel::RunQueryDsl;
    let rows: diesel::QueryResult<Vec<CheckpointRow>> =
        diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).load(conn);
    match rows.as_deref() {
        Ok([row]) => row.busy == 0 && row.log == row.checkpointed,
        _ => false,
    }
}

fn checkpoint_loop(conn: &mut SqliteConnection, shared: &Shared) {
    let (lock, wake) = &**shared;
    let mut last = Instant::now();
    // Whether the WAL file may hold frames (it may when the store opens).
    let mut wal_in_use = true;
    let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if state.stop {
            return;
        }
        if state.pending {
            // Let commits accumulate until the interval has passed, waking early only to stop.
            let due = last + CHECKPOINT_INTERVAL;
            let now = Instant::now();
            if now < due {
                state = wake
                    .wait_timeout(state, due - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                continue;
            }
            state.pending = false;
            drop(state);
            last = Instant::now();
            checkpoint(conn, "PASSIVE");
            wal_in_use = true;
            state = lock.lock().unwrap_or_else(PoisonError::into_inner);
            state.copied = true;
            continue;
        }
        let (guard, waited) = wake
            .wait_timeout(state, CHECKPOINT_IDLE)
            .unwrap_or_else(PoisonError::into_inner);
        state = guard;
        if !waited.timed_out() || state.pending || state.stop || !wal_in_use {
            continue;
        }
        drop(state);
        // Copy what is left without blocking anyone, then truncate the file if nobody is
        // reading from the WAL or writing.
        if checkpoint(conn, "PASSIVE") && checkpoint(conn, "TRUNCATE") {
            wal_in_use = false;
        }
        state = lock.lock().unwrap_or_else(PoisonError::into_inner);
    }
}
