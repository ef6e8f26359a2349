//! Test databases: a fresh SQLite file or a fresh PostgreSQL schema per test, removed on drop,
//! so tests run in parallel against real databases and never share state.
//!
//! PostgreSQL tests run when `SCIM_TEST_PG_URL` names a server (`scripts/test-all` starts one);
//! without it, [`TestDb::all`] returns only SQLite and says so once on stderr. Under `CI`, a
//! missing PostgreSQL is an error rather than a skip, so CI can't pass by testing half.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;

use crate::{BackendKind, Store, StoreOptions};

/// A store on a database that exists for one test.
pub struct TestDb {
    /// The store under test.
    pub store: Store,
    /// The URL it was opened with (to open a second store on the same database).
    pub url: String,
    guard: Guard,
}

enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Pg { admin_url: String, schema: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Guard::Pg { admin_url, schema } = &self.guard
            && let Ok(mut c) = PgConnection::establish(admin_url)
        {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

static SCHEMA_SEQ: AtomicU64 = AtomicU64::new(0);
static SKIP_NOTE: Once = Once::new();

impl TestDb {
    /// A migrated store on a new SQLite file in a temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("scim.db");
        let url = format!("sqlite://{}", path.display());
        let store = Store::open(&url, StoreOptions::default()).expect("open SQLite test store");
        TestDb {
            store,
            url,
            guard: Guard::Sqlite(dir),
        }
    }

    /// A migrated store in a new schema of the `SCIM_TEST_PG_URL` database, or `None` when the
    /// variable is unset (outside CI).
    pub fn postgres() -> Option<TestDb> {
        let admin_url = match std::env::var("SCIM_TEST_PG_URL") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                if std::env::var_os("CI").is_some() {
                    panic!(
                        "CI is set but SCIM_TEST_PG_URL is not: PostgreSQL tests would be skipped"
                    );
                }
                SKIP_NOTE.call_once(|| {
                    eprintln!(
                        "note: SCIM_TEST_PG_URL is not set; running the SQLite half only \
                         (scripts/test-all starts PostgreSQL and runs both)"
                    );
                });
                return None;
            }
        };
        let schema = format!(
            "t_{}_{}",
            std::process::id(),
            SCHEMA_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::establish(&admin_url).expect("connect to SCIM_TEST_PG_URL");
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .expect("create test schema");
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
        let store = Store::open(&url, StoreOptions::default()).expect("open PostgreSQL test store");
        Some(TestDb {
            store,
            url,
            guard: Guard::Pg { admin_url, schema },
        })
    }

    /// Every backend available here: SQLite always, PostgreSQL when configured.
    pub fn all() -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite()];
        v.extend(TestDb::postgres());
        v
    }

    /// Which backend this is (for assertion messages).
    pub fn kind(&self) -> BackendKind {
        self.store.backend()
    }
}

/// Whether `cond` held within 5 s, polled every millisecond: for what a background thread
/// (the WAL syncer, the read hold) does in its own time.
pub fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..5000 {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    cond()
}
