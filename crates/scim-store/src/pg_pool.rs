//! The PostgreSQL connection pool, and when it checks a connection before handing it out.
//!
//! r2d2's default checks every checkout with a `SELECT 1`: one more round trip per request, and
//! on a 2-core machine under load the round trips are what a PostgreSQL request costs (each one
//! two context switches in the server and two in the backend). Measured with 32 connections on
//! 5 000 users, dropping the check took GET by id from 13 400 to 17 500/s and `userName eq`
//! lookups from 11 900 to 14 600/s; creates from 2 480 to 2 550/s (BENCHMARKS.md, session 23).
//!
//! The rule here is HikariCP's: a connection that went back to the pool less than
//! [`TRUSTED_FOR`] ago is handed out unchecked, since it just worked; one idle for longer is
//! checked, since that is when a database restart or an idle timeout on a proxy goes
//! unnoticed. A connection whose last operation failed is checked whatever its age, so a
//! connection the server dropped under a steady load fails one operation at most (with 503, as
//! any lost connection does) and is then replaced, rather than being trusted forever.

use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Error, ManageConnection, Pool};

use crate::error::Result;

/// How long after it went back to the pool a connection is handed out without a check:
/// HikariCP's figure. Under load every connection is back within milliseconds, so none is
/// checked; after a quiet spell, the first checkout of each one is.
pub(crate) const TRUSTED_FOR: Duration = Duration::from_millis(500);

/// Pool of PostgreSQL connections.
pub(crate) type PgPool = Pool<PgManager>;

/// diesel's connection manager, with the checkout rule of this module.
#[derive(Debug)]
pub(crate) struct PgManager {
    inner: ConnectionManager<PgConnection>,
    trusted_for: Duration,
}

impl PgManager {
    pub(crate) fn new(url: &str) -> PgManager {
        PgManager {
            inner: ConnectionManager::new(url),
            trusted_for: TRUSTED_FOR,
        }
    }
}

/// A pooled PostgreSQL connection and what the checkout rule needs to know about it.
pub(crate) struct PgPooled {
    conn: PgConnection,
    /// When it last went back to the pool (or was opened).
    returned: Instant,
    /// Its last operation failed: check it before the next one, however recent.
    suspect: bool,
}

impl PgPooled {
    /// Marks the connection for a check at its next checkout; called when an operation on it
    /// failed, which may have been the connection itself failing.
    pub(crate) fn distrust(&mut self) {
        self.suspect = true;
    }
}

impl Deref for PgPooled {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for PgPooled {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

impl ManageConnection for PgManager {
    type Connection = PgPooled;
    type Error = Error;

    fn connect(&self) -> std::result::Result<PgPooled, Error> {
        Ok(PgPooled {
            conn: self.inner.connect()?,
            returned: Instant::now(),
            suspect: false,
        })
    }

    fn is_valid(&self, c: &mut PgPooled) -> std::result::Result<(), Error> {
        if !c.suspect && c.returned.elapsed() < self.trusted_for {
            return Ok(());
        }
        self.inner.is_valid(&mut c.conn)?;
        c.suspect = false;
        Ok(())
    }

    /// r2d2 calls this each time a connection goes back to the pool, which is the moment
    /// [`PgPooled::returned`] records.
    fn has_broken(&self, c: &mut PgPooled) -> bool {
        c.returned = Instant::now();
        self.inner.has_broken(&mut c.conn)
    }
}

/// Runs `op` on a pooled connection, and marks the connection for a check if `op` failed.
pub(crate) fn with_pg<R>(pool: &PgPool, op: impl FnOnce(&mut PgPooled) -> Result<R>) -> Result<R> {
    let mut c = pool.get()?;
    let out = op(&mut c);
    if out.is_err() {
        c.distrust();
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, reason = "test code")]

    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl};

    use super::*;
    use crate::testing::TestDb;

    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }

    fn pid(c: &mut PgConnection) -> i32 {
        diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result::<Pid>(c)
            .expect("backend pid")
            .pid
    }

    /// Ends connection `pid` from the server's side, as a restart or a proxy's idle timeout
    /// would, and waits until it is gone.
    fn terminate(url: &str, pid: i32) {
        let mut admin = PgConnection::establish(url).expect("admin connection");
        admin
            .batch_execute(&format!("SELECT pg_terminate_backend({pid})"))
            .expect("terminate");
        for _ in 0..200 {
            let left: i64 = diesel::sql_query(format!(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = {pid}"
            ))
            .get_result::<Count>(&mut admin)
            .expect("pg_stat_activity")
            .n;
            if left == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("backend {pid} still there");
    }

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    #[test]
    fn a_recently_returned_connection_is_not_checked_and_a_failed_one_is() {
        let Some(db) = TestDb::postgres() else { return };
        let manager = PgManager {
            inner: ConnectionManager::new(db.url.as_str()),
            // Long enough that no pause of the test machine turns "recent" into "idle".
            trusted_for: Duration::from_secs(3600),
        };
        let mut c = manager.connect().expect("connect");
        let first = pid(&mut c);
        assert!(!manager.has_broken(&mut c), "a healthy connection is kept");
        terminate(&db.url, first);

        // Just returned: handed out without a round trip, so the dead connection passes.
        assert!(manager.is_valid(&mut c).is_ok());
        // Its operation fails, and the failure marks it for a check, which now fails, so r2d2
        // drops it instead of handing it out again.
        assert!(
            diesel::sql_query("SELECT 1").execute(&mut *c).is_err(),
            "the server ended this connection"
        );
        c.distrust();
        assert!(manager.is_valid(&mut c).is_err());

        // Idle past the window: checked.
        let mut d = manager.connect().expect("connect");
        let second = pid(&mut d);
        assert_ne!(first, second);
        d.returned = Instant::now() - Duration::from_secs(7200);
        terminate(&db.url, second);
        assert!(manager.is_valid(&mut d).is_err());

        // A healthy connection passes a check, which also clears the mark.
        let mut e = manager.connect().expect("connect");
        e.distrust();
        assert!(manager.is_valid(&mut e).is_ok());
        assert!(!e.suspect);
    }

    #[test]
    fn a_pool_replaces_a_connection_the_server_ended_after_one_failure() {
        let Some(db) = TestDb::postgres() else { return };
        let pool = Pool::builder()
            .max_size(1)
            .build(PgManager::new(&db.url))
            .expect("pool");
        let first = with_pg(&pool, |c| Ok(pid(c))).expect("first read");
        terminate(&db.url, first);
        // The one connection went back moments ago, so it is handed out unchecked and its
        // next operation fails (a 503 to the client). Only if this machine paused for longer
        // than TRUSTED_FOR was it checked and replaced first.
        let failed = with_pg(&pool, |c| {
            diesel::sql_query("SELECT 1")
                .execute(&mut **c)
                .map_err(|e| crate::error::classify(e, None))
        })
        .is_err();
        // The failure marked it, the check found it dead, and r2d2 opened another.
        let next = with_pg(&pool, |c| Ok(pid(c))).expect("the pool replaced the connection");
        assert_ne!(next, first, "a new backend serves after the failure");
        assert_eq!(with_pg(&pool, |c| Ok(pid(c))).expect("read"), next);
        eprintln!("stale connection handed out unchecked: {failed}");
    }
}
