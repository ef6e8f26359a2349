//! LDAP synchronization runs: one row per run of a tenant's directory sync (scheduled or on
//! demand), so operators can see when it ran, what it changed and why it failed ("View Logs").
//!
//! A run is inserted as `running` by [`start`] in its own write before the directory is read,
//! and completed by [`finish`] with its counts, or with the error that made it change nothing.
//! The changes themselves are in the sync log (actor `ldap`); this table is the summary.
//!
//! Only one sync of a tenant may run at a time. On PostgreSQL several server instances share
//! the database, so [`try_lock`] takes a session advisory lock keyed by the tenant on a
//! connection the caller holds for the whole run (released by [`unlock`], or by PostgreSQL when
//! the connection ends, so a crashed instance never leaves a tenant locked). SQLite serves one
//! process; there [`try_lock`] always succeeds and callers rely on [`running_since`] to notice
//! a run another process (the CLI beside a server) started recently.
//!
//! Time is always a parameter; the store reads no clock.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Text};
use serde_json::Value;

use crate::conn::Conn;
use crate::error::{Result, StoreError};
use crate::keyed::cached;
use crate::model::TenantId;
use crate::with_conn;

/// Most runs [`list`] returns.
pub const MAX_LIST: usize = 1000;

/// First key of the two-key advisory lock: "LDAP sync" (the second is the tenant's hash), so
/// these locks never collide with the single-key migration lock.
const LOCK_CLASS: i32 = 0x005c_1da9;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// Started, not finished (or its process died; see [`running_since`]).
    Running,
    /// Finished: the directory was read completely and the changes were made.
    Succeeded,
    /// Finished without changing anything (directory unreachable, bind refused, partial
    /// answer, misconfiguration); the error says why.
    Failed,
}

impl RunStatus {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }

    /// Parses a column value; unknown text reads as failed (never as a success).
    pub fn parse(s: &str) -> RunStatus {
        match s {
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            _ => RunStatus::Failed,
        }
    }
}

/// What a run changed, by kind of change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RunCounts {
    /// Users created from directory entries.
    pub created: u32,
    /// Existing users whose attributes changed.
    pub updated: u32,
    /// Users sent down the deactivation path (in no mapped group any more).
    pub deactivated: u32,
    /// Users who came back to a mapped group and were reactivated.
    pub reactivated: u32,
}

/// How a run ended, for [`finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    /// [`RunStatus::Succeeded`] or [`RunStatus::Failed`].
    pub status: RunStatus,
    /// When it ended (UTC).
    pub at: NaiveDateTime,
    /// What it changed (all zero for a failed run).
    pub counts: RunCounts,
    /// Why it failed.
    pub error: Option<String>,
    /// Entries a successful run skipped, one sentence each.
    pub warnings: Vec<String>,
}

/// One recorded run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapRun {
    /// Run id (global, increasing).
    pub id: i64,
    /// The tenant synchronized.
    pub tenant_id: TenantId,
    /// What started it: `schedule`, `cli` or `admin_api`.
    pub started_by: String,
    /// Where it stands.
    pub status: RunStatus,
    /// When it started (UTC).
    pub started_at: NaiveDateTime,
    /// When it ended, if it has.
    pub finished_at: Option<NaiveDateTime>,
    /// What it changed.
    pub counts: RunCounts,
    /// Why it failed.
    pub error: Option<String>,
    /// What it skipped.
    pub warnings: Vec<String>,
}

type Row = (
    i64,
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    i32,
    i32,
    i32,
    i32,
    Option<String>,
    String,
);

macro_rules! run_columns {
    () => {
        (
            ldap_runs::id,
            ldap_runs::tenant_id,
            ldap_runs::started_by,
            ldap_runs::status,
            ldap_runs::started_at,
            ldap_runs::finished_at,
            ldap_runs::created,
            ldap_runs::updated,
            ldap_runs::deactivated,
            ldap_runs::reactivated,
            ldap_runs::error,
            ldap_runs::warnings,
        )
    };
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or_default()
}

fn column(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn to_run(row: Row) -> LdapRun {
    let (id, tenant, by, status, started, finished, c, u, d, r, error, warnings) = row;
    let warnings = match serde_json::from_str::<Value>(&warnings) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        // Written by `finish` as a JSON array; anything else is shown as it is.
        _ => vec![warnings],
    };
    LdapRun {
        id,
        tenant_id: TenantId(tenant),
        started_by: by,
        status: RunStatus::parse(&status),
        started_at: started,
        finished_at: finished,
        counts: RunCounts {
            created: count(c),
            updated: count(u),
            deactivated: count(d),
            reactivated: count(r),
        },
        error,
        warnings,
    }
}

/// Records the start of a run (status `running`); returns its id. Commit it in its own write
/// before the directory is read, so a run that never finishes is still visible.
pub fn start(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    started_by: &str,
    at: NaiveDateTime,
) -> Result<i64> {
    with_conn!(conn, |c| {
        diesel::insert_into(ldap_runs::table)
            .values((
                ldap_runs::tenant_id.eq(tenant.as_str()),
                ldap_runs::started_by.eq(started_by),
                ldap_runs::status.eq(RunStatus::Running.as_str()),
                ldap_runs::started_at.eq(at),
            ))
            .returning(ldap_runs::id)
            .get_result::<i64>(&mut **c)
            .map_err(StoreError::from)
    })
}

/// Completes run `id` of `tenant`. A run that is not the tenant's is `NotFound`.
pub fn finish(conn: &mut Conn<'_>, tenant: &TenantId, id: i64, end: &RunEnd) -> Result<()> {
    let warnings = Value::from(end.warnings.clone()).to_string();
    let n = with_conn!(conn, |c| {
        cached!(
            diesel::update(
                ldap_runs::table
                    .filter(ldap_runs::tenant_id.eq(tenant.as_str()))
                    .filter(ldap_runs::id.eq(id)),
            )
            .set((
                ldap_runs::status.eq(end.status.as_str()),
                ldap_runs::finished_at.eq(Some(end.at)),
                ldap_runs::created.eq(column(end.counts.created)),
                ldap_runs::updated.eq(column(end.counts.updated)),
                ldap_runs::deactivated.eq(column(end.counts.deactivated)),
                ldap_runs::reactivated.eq(column(end.counts.reactivated)),
                ldap_runs::error.eq(end.error.as_deref()),
                ldap_runs::warnings.eq(&warnings),
            ))
            .returning(ldap_runs::id)
        )
        .load::<i64>(&mut **c)?
        .len()
    });
    if n == 0 {
        return Err(StoreError::NotFound {
            resource_type: "LdapRun",
            id: id.to_string(),
        });
    }
    Ok(())
}

/// The tenant's runs, newest first, at most `limit` (capped at [`MAX_LIST`]).
pub fn list(conn: &mut Conn<'_>, tenant: &TenantId, limit: usize) -> Result<Vec<LdapRun>> {
    let limit = i64::try_from(limit.min(MAX_LIST)).unwrap_or(0);
    let rows: Vec<Row> = with_conn!(conn, |c| {
        ldap_runs::table
            .filter(ldap_runs::tenant_id.eq(tenant.as_str()))
            .order((ldap_runs::started_at.desc(), ldap_runs::id.desc()))
            .limit(limit)
            .select(run_columns!())
            .load::<Row>(&mut **c)?
    });
    Ok(rows.into_iter().map(to_run).collect())
}

/// The tenant's latest run (what the scheduler reads to know whether a sync is due).
pub fn latest(conn: &mut Conn<'_>, tenant: &TenantId) -> Result<Option<LdapRun>> {
    Ok(list(conn, tenant, 1)?.into_iter().next())
}

/// The tenant's latest run still `running` that started at or after `since`: a sync in
/// progress elsewhere. Older `running` rows are runs whose process died; they don't block.
pub fn running_since(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    since: NaiveDateTime,
) -> Result<Option<LdapRun>> {
    let rows: Vec<Row> = with_conn!(conn, |c| {
        ldap_runs::table
            .filter(ldap_runs::tenant_id.eq(tenant.as_str()))
            .filter(ldap_runs::status.eq(RunStatus::Running.as_str()))
            .filter(ldap_runs::started_at.ge(since))
            .order((ldap_runs::started_at.desc(), ldap_runs::id.desc()))
            .limit(1)
            .select(run_columns!())
            .load::<Row>(&mut **c)?
    });
    Ok(rows.into_iter().next().map(to_run))
}

/// Marks the tenant's runs still `running` that started before `started_before` as failed at
/// `at`: their process stopped without finishing them (call it holding the tenant's lock, or
/// with a bound past which no live run can still be going). Returns how many.
pub fn abandon(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    started_before: NaiveDateTime,
    at: NaiveDateTime,
) -> Result<usize> {
    let error = "abandoned: the process running it stopped before it finished";
    with_conn!(conn, |c| {
        cached!(
            diesel::update(
                ldap_runs::table
                    .filter(ldap_runs::tenant_id.eq(tenant.as_str()))
                    .filter(ldap_runs::status.eq(RunStatus::Running.as_str()))
                    .filter(ldap_runs::started_at.lt(started_before)),
            )
            .set((
                ldap_runs::status.eq(RunStatus::Failed.as_str()),
                ldap_runs::finished_at.eq(Some(at)),
                ldap_runs::error.eq(Some(error)),
            ))
            .returning(ldap_runs::id)
        )
        .load::<i64>(&mut **c)
        .map(|rows| rows.len())
        .map_err(StoreError::from)
    })
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Takes the tenant's sync lock on this connection without waiting: `true` when this session
/// now holds it, `false` when another session does. PostgreSQL only (a session advisory lock
/// keyed by the tenant); on SQLite always `true`. Call it outside a transaction, on a
/// connection held until [`unlock`].
pub fn try_lock(conn: &mut Conn<'_>, tenant: &TenantId) -> Result<bool> {
    match conn {
        Conn::Sqlite(_) => Ok(true),
        Conn::Pg(c) => {
            let row: Locked =
                diesel::sql_query("SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked")
                    .bind::<Integer, _>(LOCK_CLASS)
                    .bind::<Text, _>(tenant.as_str())
                    .get_result(&mut **c)?;
            Ok(row.locked)
        }
    }
}

/// Releases the lock [`try_lock`] took on this connection (a no-op on SQLite, or when this
/// session does not hold it).
pub fn unlock(conn: &mut Conn<'_>, tenant: &TenantId) -> Result<()> {
    match conn {
        Conn::Sqlite(_) => Ok(()),
        Conn::Pg(c) => {
            let _: Locked =
                diesel::sql_query("SELECT pg_advisory_unlock($1, hashtext($2)) AS locked")
                    .bind::<Integer, _>(LOCK_CLASS)
                    .bind::<Text, _>(tenant.as_str())
                    .get_result(&mut **c)?;
            Ok(())
        }
    }
}
