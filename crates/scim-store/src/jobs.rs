//! The deactivation queue: one open job per user that says "deactivate (or block, or delete)
//! this user at `due_at`", written in the same transaction as the change that scheduled it,
//! and claimed by workers so that each job runs once even with several server processes on
//! one PostgreSQL.
//!
//! Claiming is one statement: on SQLite an `UPDATE … WHERE id IN (SELECT … LIMIT n)
//! RETURNING …` (SQLite has one writer, so the statement is the lock); on PostgreSQL the
//! candidates are picked `FOR UPDATE SKIP LOCKED` in a CTE, so concurrent claimers never wait
//! on each other and never take the same row. A claim is a lease: a worker that dies leaves
//! the job to be claimed again once the lease expires.
//!
//! Exactly-once effect: a worker runs [`complete`] and the job's effect in ONE write and rolls
//! the effect back when `complete` returns `false` (the job was cancelled, already completed,
//! or re-claimed by another worker after this worker's lease ran out).
//!
//! Time is always a parameter (`now`); the store reads no clock.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::conn::Conn;
use crate::error::{Result, StoreError};
use crate::keyed::cached;
use crate::keyed::keyed;
use crate::model::TenantId;
use crate::with_conn;

/// Largest number of jobs [`pending`] returns at once.
pub const MAX_PENDING: usize = 1000;

/// A deactivation job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Queue id (global, increasing).
    pub id: i64,
    /// The user's tenant.
    pub tenant_id: TenantId,
    /// The user to act on.
    pub user_id: String,
    /// When the job becomes due (UTC).
    pub due_at: NaiveDateTime,
    /// Why it was scheduled, as the policy names it (`provider_inactive`, `provider_delete`,
    /// `unmapped`, …); the worker acts on it.
    pub reason: String,
    /// When it was first scheduled.
    pub created_at: NaiveDateTime,
    /// The worker holding it, if claimed.
    pub claimed_by: Option<String>,
    /// Until when that worker holds it.
    pub claimed_until: Option<NaiveDateTime>,
    /// When it was completed.
    pub completed_at: Option<NaiveDateTime>,
    /// When it was cancelled.
    pub cancelled_at: Option<NaiveDateTime>,
}

/// A row in column order, read by the typed DSL (`Queryable`) and by raw `RETURNING`
/// statements (`QueryableByName`).
#[derive(Queryable, QueryableByName)]
struct JobRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    tenant_id: String,
    #[diesel(sql_type = Text)]
    user_id: String,
    #[diesel(sql_type = Timestamp)]
    due_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    reason: String,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Text>)]
    claimed_by: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    claimed_until: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    completed_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    cancelled_at: Option<NaiveDateTime>,
}

impl From<JobRow> for Job {
    fn from(r: JobRow) -> Job {
        Job {
            id: r.id,
            tenant_id: TenantId(r.tenant_id),
            user_id: r.user_id,
            due_at: r.due_at,
            reason: r.reason,
            created_at: r.created_at,
            claimed_by: r.claimed_by,
            claimed_until: r.claimed_until,
            completed_at: r.completed_at,
            cancelled_at: r.cancelled_at,
        }
    }
}

/// Columns in [`JobRow`] order, for raw `RETURNING` clauses.
const COLUMNS: &str = "id, tenant_id, user_id, due_at, reason, created_at, claimed_by, \
                       claimed_until, completed_at, cancelled_at";

/// The open-job predicate of the partial indexes `deactivation_jobs_open` and
/// `deactivation_jobs_due`.
const OPEN: &str = "completed_at IS NULL AND cancelled_at IS NULL";

/// Typed-DSL select of every column, in [`JobRow`] order (inside a `with_conn!` arm).
macro_rules! job_columns {
    () => {
        (
            deactivation_jobs::id,
            deactivation_jobs::tenant_id,
            deactivation_jobs::user_id,
            deactivation_jobs::due_at,
            deactivation_jobs::reason,
            deactivation_jobs::created_at,
            deactivation_jobs::claimed_by,
            deactivation_jobs::claimed_until,
            deactivation_jobs::completed_at,
            deactivation_jobs::cancelled_at,
        )
    };
}

/// Schedules the user's deactivation at `due_at`, or updates the open job if there is one
/// (upsert on `deactivation_jobs_open`, so two concurrent requests can't create two jobs):
/// the open job keeps the EARLIER of its due time and `due_at`, and takes the new `reason`.
/// So a provider DELETE of a user already pending deactivation keeps the original due time
/// (the delay is not extended) while the worker learns the user was deleted, and a repeated
/// `active=false` never postpones a deactivation. Returns the open job as it now stands.
pub fn schedule(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_id: &str,
    due_at: NaiveDateTime,
    reason: &str,
    now: NaiveDateTime,
) -> Result<Job> {
    let row: JobRow = with_conn!(conn, |c| {
        let sql = format!(
            "INSERT INTO deactivation_jobs (tenant_id, user_id, due_at, reason, created_at) \
             VALUES ({}, {}, {}, {}, {}) \
             ON CONFLICT (tenant_id, user_id) WHERE {OPEN} DO UPDATE SET \
               due_at = CASE WHEN excluded.due_at < deactivation_jobs.due_at \
                        THEN excluded.due_at ELSE deactivation_jobs.due_at END, \
               reason = excluded.reason \
             RETURNING {COLUMNS}",
            placeholder(1),
            placeholder(2),
            placeholder(3),
            placeholder(4),
            placeholder(5),
        );
        // Prepared once per connection (the text is fixed per backend): diesel prepares a
        // raw query afresh on every run otherwise, and on SQLite every deactivation runs
        // this on the one writer thread.
        keyed::<Schedule, _>(
            diesel::sql_query(sql)
                .bind::<Text, _>(tenant.as_str())
                .bind::<Text, _>(user_id)
                .bind::<Timestamp, _>(due_at)
                .bind::<Text, _>(reason)
                .bind::<Timestamp, _>(now),
        )
        .get_result::<JobRow>(&mut **c)?
    });
    Ok(row.into())
}

/// The prepared-cache key of [`schedule`]'s statement (see `keyed`).
struct Schedule;

/// Cancels the user's open job (the provider set `active` back to true in time, or an
/// administrator acted). Returns whether there was one. A job a worker already holds is
/// cancelled too: that worker's [`complete`] then returns `false` and it rolls back.
pub fn cancel(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<bool> {
    let n = with_conn!(conn, |c| {
        cached!(
            diesel::update(
                deactivation_jobs::table
                    .filter(deactivation_jobs::tenant_id.eq(tenant.as_str()))
                    .filter(deactivation_jobs::user_id.eq(user_id))
                    .filter(deactivation_jobs::completed_at.is_null())
                    .filter(deactivation_jobs::cancelled_at.is_null()),
            )
            .set(deactivation_jobs::cancelled_at.eq(now))
            .returning(deactivation_jobs::id)
        )
        .load::<i64>(&mut **c)?
        .len()
    });
    Ok(n > 0)
}

/// The user's open (neither completed nor cancelled) job, if any: the "pending deactivation
/// until …" the admin API and `user state` show.
pub fn open_job(conn: &mut Conn<'_>, tenant: &TenantId, user_id: &str) -> Result<Option<Job>> {
    let row: Option<JobRow> = with_conn!(conn, |c| {
        deactivation_jobs::table
            .filter(deactivation_jobs::tenant_id.eq(tenant.as_str()))
            .filter(deactivation_jobs::user_id.eq(user_id))
            .filter(deactivation_jobs::completed_at.is_null())
            .filter(deactivation_jobs::cancelled_at.is_null())
            .select(job_columns!())
            .first::<JobRow>(&mut **c)
            .optional()?
    });
    Ok(row.map(Job::from))
}

/// A tenant's open jobs, soonest first (admin API "pending jobs"); at most `limit`, capped at
/// [`MAX_PENDING`].
pub fn pending(conn: &mut Conn<'_>, tenant: &TenantId, limit: usize) -> Result<Vec<Job>> {
    let limit = i64::try_from(limit.min(MAX_PENDING)).unwrap_or(0);
    let rows: Vec<JobRow> = with_conn!(conn, |c| {
        deactivation_jobs::table
            .filter(deactivation_jobs::tenant_id.eq(tenant.as_str()))
            .filter(deactivation_jobs::completed_at.is_null())
            .filter(deactivation_jobs::cancelled_at.is_null())
            .order((deactivation_jobs::due_at.asc(), deactivation_jobs::id.asc()))
            .limit(limit)
            .select(job_columns!())
            .load::<JobRow>(&mut **c)?
    });
    Ok(rows.into_iter().map(Job::from).collect())
}

#[derive(QueryableByName)]
struct NextDue {
    #[diesel(sql_type = Nullable<Timestamp>)]
    next: Option<NaiveDateTime>,
}

/// The earliest time, across tenants, at which [`claim_due`] can return a job: the soonest
/// due time of an unclaimed open job, or the end of a claimed one's lease. The worker sleeps
/// until then (or until woken by a new schedule), so a job runs within moments of its due
/// time without polling. It may be in the past (a job due while the server was down): claim
/// at once. Costs one pass over the open jobs' partial index.
pub fn next_due_at(conn: &mut Conn<'_>) -> Result<Option<NaiveDateTime>> {
    let sql = format!(
        "SELECT MIN(CASE WHEN claimed_until IS NOT NULL AND claimed_until > due_at \
                    THEN claimed_until ELSE due_at END) AS next \
         FROM deactivation_jobs WHERE {OPEN}"
    );
    let row: NextDue = with_conn!(conn, |c| {
        diesel::sql_query(&sql).get_result::<NextDue>(&mut **c)?
    });
    Ok(row.next)
}

/// Claims up to `limit` due jobs (open, `due_at <= now`, unclaimed or lease expired) for
/// `worker` until `now + lease`, soonest first. Atomic: two workers, in one process or in
/// several on one database, never claim the same job while its lease runs. Run it in its
/// own `Store::write` so the claim commits before the work starts.
pub fn claim_due(
    conn: &mut Conn<'_>,
    worker: &str,
    now: NaiveDateTime,
    lease: Duration,
    limit: usize,
) -> Result<Vec<Job>> {
    let until = add(now, lease)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // Binds: ?1/$1 worker, ?2/$2 lease end, ?3/$3 now, ?4/$4 limit.
    let candidates = format!(
        "SELECT id FROM deactivation_jobs \
         WHERE {OPEN} AND due_at <= $3 AND (claimed_until IS NULL OR claimed_until <= $3) \
         ORDER BY due_at, id LIMIT $4"
    );
    let mut rows: Vec<JobRow> = match conn {
        Conn::Sqlite(c) => {
            let sql = format!(
                "UPDATE deactivation_jobs SET claimed_by = $1, claimed_until = $2 \
                 WHERE id IN ({candidates}) RETURNING {COLUMNS}"
            );
            diesel::sql_query(sqlite_numbered(&sql))
                .bind::<Text, _>(worker)
                .bind::<Timestamp, _>(until)
                .bind::<Timestamp, _>(now)
                .bind::<BigInt, _>(limit)
                .load::<JobRow>(&mut **c)?
        }
        Conn::Pg(c) => {
            let sql = format!(
                "WITH picked AS ({candidates} FOR UPDATE SKIP LOCKED) \
                 UPDATE deactivation_jobs j SET claimed_by = $1, claimed_until = $2 \
                 FROM picked WHERE j.id = picked.id RETURNING {}",
                prefixed("j", COLUMNS)
            );
            diesel::sql_query(sql)
                .bind::<Text, _>(worker)
                .bind::<Timestamp, _>(until)
                .bind::<Timestamp, _>(now)
                .bind::<BigInt, _>(limit)
                .load::<JobRow>(&mut **c)?
        }
    };
    // RETURNING order is unspecified.
    rows.sort_by_key(|a| (a.due_at, a.id));
    Ok(rows.into_iter().map(Job::from).collect())
}

/// Marks the job done. Returns `true` if this call completed it; `false` if it was already
/// completed (completing twice is harmless), cancelled, or is held by another worker whose
/// lease still runs. Put it in the same write as the job's effect and roll the effect back on
/// `false`.
pub fn complete(
    conn: &mut Conn<'_>,
    job_id: i64,
    worker: &str,
    now: NaiveDateTime,
) -> Result<bool> {
    let n = with_conn!(conn, |c| {
        cached!(
            diesel::update(
                deactivation_jobs::table
                    .filter(deactivation_jobs::id.eq(job_id))
                    .filter(deactivation_jobs::completed_at.is_null())
                    .filter(deactivation_jobs::cancelled_at.is_null())
                    .filter(
                        deactivation_jobs::claimed_by
                            .is_null()
                            .or(deactivation_jobs::claimed_by.eq(worker))
                            .or(deactivation_jobs::claimed_until.is_null())
                            .or(deactivation_jobs::claimed_until.le(now)),
                    ),
            )
            .set((
                deactivation_jobs::completed_at.eq(now),
                deactivation_jobs::claimed_by.eq(worker),
            ))
            .returning(deactivation_jobs::id)
        )
        .load::<i64>(&mut **c)?
        .len()
    });
    Ok(n > 0)
}

/// Gives a claimed job back before its lease ends (graceful shutdown, or a transient failure
/// the worker wants retried at once). Returns whether `worker` held it.
pub fn release(conn: &mut Conn<'_>, job_id: i64, worker: &str) -> Result<bool> {
    let n = with_conn!(conn, |c| {
        cached!(
            diesel::update(
                deactivation_jobs::table
                    .filter(deactivation_jobs::id.eq(job_id))
                    .filter(deactivation_jobs::claimed_by.eq(worker))
                    .filter(deactivation_jobs::completed_at.is_null())
                    .filter(deactivation_jobs::cancelled_at.is_null()),
            )
            .set((
                deactivation_jobs::claimed_by.eq(None::<String>),
                deactivation_jobs::claimed_until.eq(None::<NaiveDateTime>),
            ))
            .returning(deactivation_jobs::id)
        )
        .load::<i64>(&mut **c)?
        .len()
    });
    Ok(n > 0)
}

/// `now + d`, refusing durations that overflow the calendar.
pub(crate) fn add(now: NaiveDateTime, d: Duration) -> Result<NaiveDateTime> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .ok_or_else(|| StoreError::Invalid(format!("duration {d:?} is out of range")))
}

/// Raw SQL written with PostgreSQL's `$n` placeholders, for SQLite, which spells the same
/// numbered parameter `?n` (so one statement can use a bind twice on both backends).
pub(crate) fn sqlite_numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

/// `a, b` → `t.a, t.b` for a RETURNING list after a join.
pub(crate) fn prefixed(table: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{table}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}
