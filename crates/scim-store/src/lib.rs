//! `scim-store`: durable storage for SCIM tenants, users and groups, on an embedded SQLite file
//! (the default) or PostgreSQL (several server instances behind a load balancer).
//!
//! Architecture invariant: the store knows SQL and nothing about HTTP or hashing. Every call
//! takes a tenant id and every query is scoped by it. It never decides policy: it persists what
//! `scim-core` decided, in one transaction per request (resource row, membership diff, version
//! bump, sync-log entry, outbox events and queue changes commit together or not at all).
//!
//! Durability: a call that returns `Ok` is on disk. SQLite runs in WAL mode with
//! `synchronous=FULL`, and all writes go through one writer thread that commits concurrent
//! requests together (group commit), so durable writes cost one fsync per batch. PostgreSQL
//! commits each request's own transaction.

pub mod conn;
pub mod dialect;
pub mod entitlements;
pub mod error;
pub mod groups;
pub mod jobs;
pub mod ldap_runs;
pub mod lifecycle;
pub mod members;
mod migrate;
pub mod model;
pub mod outbox;
pub mod query;
pub mod schema;
pub mod search;
pub mod settings;
pub mod sync_log;
pub mod tenants;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod tokens;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use diesel::Connection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::sqlite::SqliteConnection;

pub use conn::{BackendKind, Conn, DatabaseUrl};
pub use error::{Result, StoreError};
pub use model::{Actor, Origin, StoredResource, Tenant, TenantId};

use conn::{PgPool, SqlitePool, SqlitePragmas, Writer};

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
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            pool_size: 8,
            connect_timeout: Duration::from_secs(5),
            run_migrations: true,
        }
    }
}

enum Backend {
    Sqlite { read: SqlitePool, writer: Writer },
    Postgres { pool: PgPool },
}

/// A handle to the database; cheap to clone and share across threads.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Backend>,
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
        let mut writer_conn = SqliteConnection::establish(path).map_err(|e| {
            StoreError::Unavailable(format!("cannot open SQLite file {path:?}: {e}"))
        })?;
        SqlitePragmas { read_only: false }
            .apply(&mut writer_conn)
            .map_err(StoreError::from)?;
        if options.run_migrations {
            migrate::run(&mut Conn::Sqlite(&mut writer_conn))?;
        }
        // Gather planner statistics where SQLite thinks they are missing or stale (cheap when
        // they aren't), so selective indexes win over the creation-order index.
        {
            use diesel::connection::SimpleConnection;
            writer_conn
                .batch_execute("PRAGMA optimize = 0x10002;")
                .map_err(StoreError::from)?;
        }
        let read = Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(options.connect_timeout)
            .connection_customizer(Box::new(SqlitePragmas { read_only: true }))
            .build(ConnectionManager::<SqliteConnection>::new(path))?;
        Ok(Store {
            inner: Arc::new(Backend::Sqlite {
                read,
                writer: Writer::start(writer_conn),
            }),
        })
    }

    fn open_postgres(url: &str, options: &StoreOptions) -> Result<Store> {
        let pool = Pool::builder()
            .max_size(options.pool_size.max(2))
            .min_idle(Some(1))
            .connection_timeout(options.connect_timeout)
            .build(ConnectionManager::<PgConnection>::new(url))?;
        let store = Store {
            inner: Arc::new(Backend::Postgres { pool }),
        };
        if options.run_migrations {
            store.migrate()?;
        }
        Ok(store)
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
        match &*self.inner {
            Backend::Sqlite { writer, .. } => writer.write(migrate::run),
            Backend::Postgres { pool } => {
                let mut c = pool.get()?;
                migrate::run(&mut Conn::Pg(&mut c))
            }
        }
    }

    /// Reverts every migration (tests of migrations up, down, up).
    pub fn migrate_down_all(&self) -> Result<()> {
        match &*self.inner {
            Backend::Sqlite { writer, .. } => writer.write(migrate::revert_all),
            Backend::Postgres { pool } => {
                let mut c = pool.get()?;
                migrate::revert_all(&mut Conn::Pg(&mut c))
            }
        }
    }

    /// Runs a read-only operation on a pooled connection.
    pub fn read<R>(&self, f: impl FnOnce(&mut Conn<'_>) -> Result<R>) -> Result<R> {
        match &*self.inner {
            Backend::Sqlite { read, .. } => {
                let mut c = read.get()?;
                f(&mut Conn::Sqlite(&mut c))
            }
            Backend::Postgres { pool } => {
                let mut c = pool.get()?;
                f(&mut Conn::Pg(&mut c))
            }
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
        match &*self.inner {
            Backend::Sqlite { writer, .. } => writer.write(f),
            Backend::Postgres { pool } => {
                let mut c = pool.get()?;
                c.transaction::<R, StoreError, _>(|c| f(&mut Conn::Pg(c)))
            }
        }
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
