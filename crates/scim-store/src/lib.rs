//! `scim-store`: durable storage for SCIM tenants, users and groups, on an embedded SQLite file
//! (the default) or PostgreSQL (several server instances behind a load balancer).
//!
//! Architecture invariant: the store knows SQL and nothing about HTTP or hashing. Every call
//! takes a tenant id and every query is scoped by it. It never decides policy: it persists what
//! `scim-core` decided, in one transaction per request (resource row, membership diff, version
//! bump, sync-log entry, outbox events and queue changes commit together or not at all).
//!
//! Durability: a call that returns `Ok` is on disk. SQLite runs in WAL mode, and all writes go
//! through one writer thread that commits concurrent requests together (group commit); a
//! second thread fsyncs the WAL after each commit and only then lets the batch's callers
//! return (`wal_sync`), so durable writes cost one fsync per batch and the writer does not
//! wait for the disk. PostgreSQL commits each request's own transaction.

pub mod conn;
pub mod dialect;
pub mod entitlements;
pub mod error;
mod flat;
pub mod groups;
pub mod jobs;
mod keyed;
pub mod ldap_runs;
pub mod lifecycle;
pub mod members;
mod migrate;
pub mod model;
pub mod outbox;
mod pg_pool;
pub mod query;
mod read_hold;
mod replay;
pub mod schema;
pub mod search;
pub mod settings;
mod stamp;
pub mod sync_log;
pub mod tenants;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod tokens;
pub mod users;
mod wal_sync;
#[expect(
    unsafe_code,
    reason = "a VFS layer is C callbacks over raw pointers; see the SAFETY notes"
)]
mod wal_vfs;
pub mod write_stats;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::Connection;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::sqlite::SqliteConnection;

pub use conn::{BackendKind, Conn, DatabaseUrl};
pub use error::{Result, StoreError};
pub use model::{Actor, Origin, RawResource, StoredResource, Tenant, TenantId};
pub use write_stats::WriteStats;

use conn::{Checkpointer, SqlitePool, SqlitePragmas, SqliteRole, Writer};
use pg_pool::{PgManager, PgPool, with_pg};
use read_hold::ReadHold;

/// A snapshot of [`Store::pool_stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// The most connections the pool opens ([`StoreOptions::pool_size`]).
    pub max: u32,
    /// Connections open now, in use or idle.
    pub connections: u32,
    /// Open connections no request holds.
    pub idle: u32,
}

/// Tuning knobs; the defaults suit one server process.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Read connections (SQLite) or total connections (PostgreSQL).
    pub pool_size: u32,
    /// How long to wait for a pooled connection before reporting the database unavailable.
    pub connect_timeout: Duration,
    /// Apply pending migrations when opening (the binary's default; `migrate` does it
    /// explicitly).
    pub run_migrations: bool,
    /// Write provisioning events to the outbox (the default). Off for a process that knows
    /// nobody consumes them (`serve` without a webhook): each create's `user.created` event is
    /// an outbox row in three b-trees, 8% of a create's pages, and undelivered events are
    /// kept forever. Off, [`outbox::push_many`] records nothing and returns no ids; the
    /// change and its sync-log entry are written as always.
    pub record_events: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            pool_size: 8,
            connect_timeout: Duration::from_secs(5),
            run_migrations: true,
            record_events: true,
        }
    }
}

enum Backend {
    Sqlite {
        /// Declared first so it gives its read transaction up before the others close.
        hold: Option<ReadHold>,
        read: SqlitePool,
        writer: Writer,
        /// Stopped (and its thread joined) when the last handle of the store goes.
        _checkpointer: Option<Checkpointer>,
    },
    Postgres {
        pool: PgPool,
    },
}

/// A handle to the database; cheap to clone and share across threads.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Backend>,
    /// Writes this handle (and its clones) committed; see [`Store::write_generation`].
    writes: Arc<AtomicU64>,
    /// [`StoreOptions::record_events`].
    record_events: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

impl Store {
    /// Opens (and by default migrates) the database named by `url`.
    pub fn open(url: &str, options: StoreOptions) -> Result<Store> {
        match DatabaseUrl::parse(url)? {
            DatabaseUrl::Sqlite(path) => Self::open_sqlite(&path, &options),
            DatabaseUrl::Postgres(url) => Self::open_postgres(&url, &options),
        }
    }

    fn open_sqlite(path: &str, options: &StoreOptions) -> Result<Store> {
        // The writer alone goes through the WAL-coalescing VFS (see `wal_vfs`).
        let writer_url = wal_vfs::register().then(|| wal_vfs::uri(path)).flatten();
        let mut writer_conn = SqliteConnection::establish(writer_url.as_deref().unwrap_or(path))
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot open SQLite file {path:?}: {e}"))
            })?;
        SqlitePragmas {
            role: SqliteRole::Writer,
        }
        .apply(&mut writer_conn)
        .map_err(StoreError::from)?;
        if options.run_migrations {
            migrate::run(&mut Conn::Sqlite(&mut writer_conn))?;
        }
        planner_statistics(&mut writer_conn)?;
        let readers = options.pool_size.max(1);
        let read = Pool::builder()
            .max_size(readers)
            .min_idle(Some(1))
            // A connection to a local file cannot go stale; r2d2's default check ran a
            // `SELECT 1` (parsed afresh) on every checkout, once per request.
            .test_on_check_out(false)
            .connection_timeout(options.connect_timeout)
            .connection_customizer(Box::new(SqlitePragmas {
                role: SqliteRole::reader(readers),
            }))
            .build(ConnectionManager::<SqliteConnection>::new(path))?;
        let (checkpointer, signal) = match Checkpointer::start(path, &mut writer_conn) {
            Some((c, s)) => (Some(c), Some(s)),
            None => (None, None),
        };
        let (hold, hold_signal) = match ReadHold::start(path, read_hold::Limits::DEFAULT) {
            Some((h, s)) => (Some(h), Some(s)),
            None => (None, None),
        };
        let writer = Writer::start(writer_conn, signal, hold_signal, options.record_events);
        Ok(Store {
            writes: Arc::default(),
            record_events: options.record_events,
            inner: Arc::new(Backend::Sqlite {
                hold,
                read,
                writer,
                _checkpointer: checkpointer,
            }),
        })
    }

    fn open_postgres(url: &str, options: &StoreOptions) -> Result<Store> {
        let pool = Pool::builder()
            .max_size(options.pool_size.max(2))
            .min_idle(Some(1))
            .connection_timeout(options.connect_timeout)
            .build(PgManager::new(url))?;
        let store = Store {
            inner: Arc::new(Backend::Postgres { pool }),
            writes: Arc::default(),
            record_events: options.record_events,
        };
        if options.run_migrations {
            store.migrate()?;
        }
        Ok(store)
    }

    /// The SQLite writer's group-commit totals (batches, writer busy time, fsyncs, how long
    /// writes wait), for metrics and benchmarks; `None` on PostgreSQL, which commits each
    /// write on its own connection and has its own statistics views.
    pub fn write_stats(&self) -> Option<WriteStats> {
        match &*self.inner {
            Backend::Sqlite { writer, .. } => Some(writer.stats()),
            Backend::Postgres { .. } => None,
        }
    }

    /// The pool that serves requests: PostgreSQL's connections, or SQLite's readers (its
    /// writes have a connection of their own). For metrics: a pool whose connections are all
    /// in use makes requests queue for one, which no other figure shows.
    pub fn pool_stats(&self) -> PoolStats {
        let (max, state) = match &*self.inner {
            Backend::Sqlite { read, .. } => (read.max_size(), read.state()),
            Backend::Postgres { pool } => (pool.max_size(), pool.state()),
        };
        PoolStats {
            max,
            connections: state.connections,
            idle: state.idle_connections,
        }
    }

    /// Which backend this store runs on.
    pub fn backend(&self) -> BackendKind {
        match &*self.inner {
            Backend::Sqlite { .. } => BackendKind::Sqlite,
            Backend::Postgres { .. } => BackendKind::Postgres,
        }
    }

    /// Applies pending migrations (idempotent; safe to run from several instances at once on
    /// PostgreSQL, where an advisory lock serialises them).
    pub fn migrate(&self) -> Result<()> {
        self.on_schema(migrate::run)
    }

    /// Reverts every migration (tests of migrations up, down, up).
    pub fn migrate_down_all(&self) -> Result<()> {
        self.on_schema(|c| migrate::revert(c, migrate::Revert::All))
    }

    /// Reverts the last applied migration, so a test can check what running it again
    /// computes from the rows already there (a backfill).
    pub fn migrate_down_last(&self) -> Result<()> {
        self.on_schema(|c| migrate::revert(c, migrate::Revert::Last))
    }

    /// Runs a schema change where writes run: the SQLite writer thread (no other write can
    /// interleave), or a pooled PostgreSQL connection.
    fn on_schema(&self, change: fn(&mut Conn<'_>) -> Result<()>) -> Result<()> {
        match &*self.inner {
            Backend::Sqlite { writer, .. } => writer.write(change),
            Backend::Postgres { pool } => with_pg(pool, |c| change(&mut Conn::Pg(c))),
        }
    }

    /// Whether a short read may run on the caller's (async) thread: on SQLite, with a read
    /// connection idle, a point read costs microseconds — less than handing it to a thread
    /// pool and back. Never on PostgreSQL, where every read waits on the network.
    pub fn answers_inline(&self) -> bool {
        match &*self.inner {
            Backend::Sqlite { read, .. } => read.state().idle_connections > 0,
            Backend::Postgres { .. } => false,
        }
    }

    /// Runs a read-only operation on a pooled connection.
    pub fn read<R>(&self, f: impl FnOnce(&mut Conn<'_>) -> Result<R>) -> Result<R> {
        match &*self.inner {
            Backend::Sqlite { read, hold, .. } => {
                if let Some(hold) = hold {
                    hold.reading();
                }
                let mut c = read.get()?;
                f(&mut Conn::Sqlite(&mut c))
            }
            Backend::Postgres { pool } => with_pg(pool, |c| f(&mut Conn::Pg(c))),
        }
    }

    /// Runs a write in one transaction and returns once it is durable. On SQLite the write is
    /// queued to the writer thread and committed with whatever else is queued (each write in
    /// its own savepoint); on PostgreSQL it runs in its own transaction.
    pub fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn<'_>) -> Result<R> + Send + 'static,
    {
        let done = match &*self.inner {
            Backend::Sqlite { writer, .. } => writer.write(f),
            Backend::Postgres { pool } => with_pg(pool, |c| {
                outbox::recording(self.record_events, || {
                    c.transaction::<R, StoreError, _>(|c| f(&mut Conn::Pg(c)))
                })
            }),
        };
        self.writes.fetch_add(1, Ordering::Release);
        done
    }

    /// [`Store::write`], and `meanwhile` (typically a read of what the write changed, for the
    /// response) on this thread as soon as the write has committed; both are returned once the
    /// write is durable. On SQLite a committed batch is visible to readers before its WAL
    /// fsync ends, so a response's reads overlap the wait for the disk instead of following
    /// it (a 1 000-member Group PATCH answers with every member: reading them took longer
    /// than the fsync). `meanwhile`'s result is handed back only with the write's success,
    /// so nothing read ahead of durability can reach a client otherwise. If the write fails,
    /// `meanwhile` does not run; on PostgreSQL (durable at COMMIT) it runs after the write.
    pub fn write_overlapped<R, T, F, G>(&self, f: F, meanwhile: G) -> Result<(R, T)>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn<'_>) -> Result<R> + Send + 'static,
        G: FnOnce() -> T,
    {
        let done = match &*self.inner {
            Backend::Sqlite { writer, .. } => writer.write_overlapped(f, meanwhile),
            Backend::Postgres { .. } => return self.write(f).map(|r| (r, meanwhile())),
        };
        self.writes.fetch_add(1, Ordering::Release);
        done
    }

    /// Queues a write for the SQLite writer and returns a future of its result, ready once
    /// the write's batch has committed (durable, as with [`Store::write`]). An async caller
    /// awaits it without holding a thread: on a 2-core machine, handing each create to a
    /// blocking thread that then sleeps on the writer cost about a fifth of the create's CPU
    /// in thread wake-ups. PostgreSQL has no writer queue, so `Err(f)` hands the write back
    /// for [`Store::write`] on a blocking thread.
    ///
    /// `f` may run twice, and must have no effect outside the transaction: it first runs
    /// bare beside the batch's other queued writes in the batch's transaction, and if any of
    /// them fails, that transaction is rolled back and each runs again alone in its own
    /// savepoint (see `replay`). The caller gets its last run's result.
    ///
    /// Dropping the future does not cancel the write: once queued, it commits or fails with
    /// its batch.
    pub fn write_queued<R, F>(&self, f: F) -> std::result::Result<PendingWrite<R>, F>
    where
        R: Send + 'static,
        F: FnMut(&mut Conn<'_>) -> Result<R> + Send + 'static,
    {
        let Backend::Sqlite { writer, .. } = &*self.inner else {
            return Err(f);
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let writes = self.writes.clone();
        // A writer that has stopped drops the job and `tx` with it; the receiver then reports
        // the writer unavailable, so the error needs no second path here.
        let _ = writer.submit_replayable(f, move |result| {
            writes.fetch_add(1, Ordering::Release);
            let _ = tx.send(result);
        });
        Ok(PendingWrite(rx))
    }

    /// Counts the writes made through this store (any outcome). A value read before a
    /// computation and found unchanged after means no write of this process intervened, so
    /// the result (a list's total, say) may be reused for a short while; writes by other
    /// processes are not seen, which is why such reuse must also be bounded in time.
    pub fn write_generation(&self) -> u64 {
        self.writes.load(Ordering::Acquire)
    }

    /// Checks that the database answers (for `/readyz`).
    pub fn ping(&self) -> Result<()> {
        use diesel::connection::SimpleConnection;
        self.read(|c| match c {
            Conn::Sqlite(c) => c.batch_execute("SELECT 1").map_err(StoreError::from),
            Conn::Pg(c) => c.batch_execute("SELECT 1").map_err(StoreError::from),
        })
    }
}

/// Gathers planner statistics where SQLite thinks they are missing or stale (cheap when they
/// aren't), so selective indexes win over the creation-order index; then keeps only the
/// per-index averages (`sqlite_stat1`) and drops STAT4's samples (`sqlite_stat4`).
///
/// With samples, SQLite re-plans every statement whose bound parameter meets an indexed column
/// (every `tenant_id = ?`) each time it is re-bound: about a fifth of the writer's time went
/// to re-preparing. The averages are what picks `userName`'s unique index over a tenant scan;
/// the samples would only refine estimates for skewed values, and `tenant_id` is the only
/// column where values are skewed and every query pins it. `ANALYZE sqlite_schema` makes this
/// connection reload the statistics (connections opened later read them from the file).
fn planner_statistics(conn: &mut SqliteConnection) -> Result<()> {
    use diesel::connection::SimpleConnection;
    use diesel::sql_types::BigInt;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    conn.batch_execute("PRAGMA optimize = 0x10002;")?;
    let has_stat4: Vec<Count> = diesel::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT COUNT(*) AS n FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat4'",
        ),
        conn,
    )?;
    if has_stat4.first().is_some_and(|c| c.n > 0) {
        let samples: Vec<Count> = diesel::RunQueryDsl::load(
            diesel::sql_query("SELECT COUNT(*) AS n FROM sqlite_stat4"),
            conn,
        )?;
        if samples.first().is_some_and(|c| c.n > 0) {
            conn.batch_execute("DELETE FROM sqlite_stat4; ANALYZE sqlite_schema;")?;
        }
    }
    Ok(())
}

/// The result of a write queued with [`Store::write_queued`], ready once its batch has
/// committed.
#[derive(Debug)]
pub struct PendingWrite<R>(tokio::sync::oneshot::Receiver<Result<R>>);

impl<R> std::future::Future for PendingWrite<R> {
    type Output = Result<R>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<R>> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|received| {
            received.unwrap_or_else(|_| {
                Err(StoreError::Unavailable(
                    "the SQLite writer has stopped".into(),
                ))
            })
        })
    }
}
