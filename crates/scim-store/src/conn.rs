//! Connections: one enum over SQLite and PostgreSQL, their pools, and the SQLite writer.
//!
//! Store operations are written once against [`Conn`] with the [`with_conn!`] macro, which
//! compiles the body for each backend with that backend's generated schema in scope (the
//! approach vaultwarden takes). That keeps diesel's typed DSL, RETURNING and backend-specific
//! SQL available, which a runtime `MultiConnection` can't offer.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

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

/// PRAGMAs every SQLite connection gets: WAL so readers never block the writer, FULL sync so a
/// committed write survives power loss (a 2xx means the change is on disk), foreign keys on,
/// and a busy timeout so a checkpoint never surfaces as an error.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SqlitePragmas {
    pub(crate) read_only: bool,
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
        if self.read_only {
            conn.batch_execute("PRAGMA query_only = ON;")?;
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
/// Pool of PostgreSQL connections.
pub(crate) type PgPool = Pool<ConnectionManager<PgConnection>>;

/// Called with the batch's commit outcome once the batch is over; it hands the job's own
/// result to the waiting caller only if the commit succeeded.
type Completion = Box<dyn FnOnce(Result<()>) + Send>;
/// A write job: runs inside its own savepoint of the batch transaction.
type Job = Box<dyn FnOnce(&mut SqliteConnection) -> Completion + Send>;

/// The single SQLite writer. SQLite allows one writer at a time anyway; owning it in one thread
/// lets concurrent requests share a transaction and its fsync (group commit), each inside its
/// own savepoint so a failing request rolls back alone.
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
}

/// Most requests one batch commits together; bounded so one batch can't starve replies.
const MAX_BATCH: usize = 512;

impl Writer {
    pub(crate) fn start(mut conn: SqliteConnection) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = thread::Builder::new()
            .name("scim-sqlite-writer".into())
            .spawn(move || writer_loop(&mut conn, rx));
        if let Err(e) = spawned {
            // Without a thread every write fails with Unavailable (the receiver is gone); the
            // error says why.
            eprintln!("scim-store: could not start the SQLite writer thread: {e}");
        }
        Writer { queue: tx }
    }

    /// Runs `f` in the next batch and returns its result once the batch has committed.
    pub(crate) fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn<'_>) -> Result<R> + Send + 'static,
    {
        let (reply_tx, reply_rx) = mpsc::sync_channel::<Result<R>>(1);
        let job: Job = Box::new(move |c: &mut SqliteConnection| {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                c.transaction::<R, StoreError, _>(|c| f(&mut Conn::Sqlite(c)))
            }))
            .unwrap_or_else(|_| Err(StoreError::Database("a write operation panicked".into())));
            Box::new(move |commit: Result<()>| {
                let _ = reply_tx.send(commit.and(outcome));
            })
        });
        self.queue
            .send(job)
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        reply_rx
            .recv()
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?
    }
}

fn writer_loop(conn: &mut SqliteConnection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut completions: Vec<Completion> = Vec::with_capacity(batch.len());
        let committed = conn.immediate_transaction::<(), StoreError, _>(|c| {
            for job in batch.drain(..) {
                completions.push(job(c));
            }
            Ok(())
        });
        // If BEGIN itself failed, the jobs were dropped unrun and their callers see the writer
        // as unavailable; otherwise every job learns the commit's outcome.
        let outcome = committed.map_err(|e| match e {
            StoreError::Database(m) => StoreError::Unavailable(m),
            other => other,
        });
        for done in completions {
            done(outcome.clone());
        }
        // A batch that failed to commit may leave the connection mid-transaction; retry-safe
        // reset before the next batch.
        if outcome.is_err() {
            let _ = conn.batch_execute("ROLLBACK");
            thread::sleep(Duration::from_millis(10));
        }
    }
}
