//! The sync log: an append-only record of every change to a tenant's users, groups,
//! memberships, lifecycle states, organizations and roles, written in the same transaction as
//! the change it records (call [`append`] inside the same `Store::write` closure).
//!
//! Entries are never updated or deleted through this API; [`prune_before`] is the one
//! exception, an operator's retention tool. Reads come newest first (`at DESC, id DESC`) in
//! pages addressed by a keyset [`LogCursor`], so paging never skips or repeats an entry even
//! while new entries arrive, and every query shape is answered from an index
//! (`sync_log_time`, `sync_log_resource`, `sync_log_action`, `sync_log_actor`, all ending in
//! `at, id`); [`plan`] shows the database's plan so tests can hold that true.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, SubsecRound};
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use serde_json::Value;

use crate::conn::Conn;
use crate::error::{Result, StoreError};
use crate::flat::Row;
use crate::model::{Actor, TenantId};
use crate::stamp::Stamp;
use crate::with_conn;

/// Page size when a query asks for 0 entries.
pub const DEFAULT_PAGE: usize = 100;
/// Largest page a query returns, so one request can't read a whole tenant's history.
pub const MAX_PAGE: usize = 1000;
/// Rows per INSERT statement in [`append_many`] (8 binds each stays under every backend's
/// bind limit).
const INSERT_CHUNK: usize = 500;

/// One change to record. `detail` says what changed (attribute names, member ids added or
/// removed, old and new state) and must never carry a secret: an object key named `password`
/// anywhere in it is refused.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLogEntry {
    /// When the change happened (UTC; stored to the microsecond on both backends).
    pub at: NaiveDateTime,
    /// Who made it.
    pub actor: Actor,
    /// What kind of change: `create`, `update`, `replace`, `delete`, `deactivate`,
    /// `reactivate`, `block`, `membership`, … (the policy owns the vocabulary).
    pub action: String,
    /// `User`, `Group`, `Organization`, `Role`, …
    pub resource_type: String,
    /// The id of the changed resource.
    pub resource_id: String,
    /// What changed, as JSON.
    pub detail: Value,
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Position in the log (increases with every append, across tenants).
    pub id: i64,
    /// The tenant the change belongs to.
    pub tenant_id: TenantId,
    /// When it happened (UTC).
    pub at: NaiveDateTime,
    /// Who made it.
    pub actor: Actor,
    /// What kind of change.
    pub action: String,
    /// The changed resource's type.
    pub resource_type: String,
    /// The changed resource's id.
    pub resource_id: String,
    /// What changed.
    pub detail: Value,
}

/// Where the next page starts: the `(at, id)` of the last entry returned. A keyset cursor
/// rather than an offset, so entries appended while someone pages don't shift the pages. Its
/// text form (`Display`/`FromStr`) is opaque to clients and stays valid after the entry it
/// names has been pruned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogCursor {
    /// Time of the last entry of the previous page.
    pub at: NaiveDateTime,
    /// Id of the last entry of the previous page.
    pub id: i64,
}

impl fmt::Display for LogCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.at.and_utc().timestamp_micros(), self.id)
    }
}

impl FromStr for LogCursor {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<LogCursor> {
        let bad = || StoreError::Invalid(format!("{s:?} is not a sync-log cursor"));
        let (micros, id) = s.split_once('_').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        let at = DateTime::from_timestamp_micros(micros)
            .ok_or_else(bad)?
            .naive_utc();
        Ok(LogCursor { at, id })
    }
}

/// What to read. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    /// Only changes to this resource (a user's or group's id).
    pub resource_id: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only changes by this actor.
    pub actor: Option<Actor>,
    /// Only entries at or after this time (inclusive).
    pub from: Option<NaiveDateTime>,
    /// Only entries before this time (exclusive).
    pub to: Option<NaiveDateTime>,
    /// Continue after this cursor (from the previous page's [`LogPage::next`]).
    pub before: Option<LogCursor>,
    /// Page size: 0 means [`DEFAULT_PAGE`]; at most [`MAX_PAGE`].
    pub limit: usize,
}

/// One page of entries, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPage {
    /// The entries.
    pub entries: Vec<LogEntry>,
    /// Cursor for the next (older) page, or `None` when this page is the last.
    pub next: Option<LogCursor>,
}

/// Records one change; call it in the same write as the change. Returns the entry's id.
pub fn append(conn: &mut Conn<'_>, tenant: &TenantId, entry: &NewLogEntry) -> Result<i64> {
    check_no_secret(&entry.detail, "sync-log detail")?;
    let detail = scim_core::json::to_string_with(&entry.detail, scim_core::json::RESOURCE_CAPACITY);
    let at = entry.at.trunc_subsecs(6);
    /// The insert's prepared-cache key (see [`keyed`]).
    struct Key;
    with_conn!(conn, |c| {
        let insert = Row::<Key, _>::new(sync_log::table, 7)
            .set(sync_log::tenant_id, tenant.as_str())
            .set(sync_log::at, Stamp(at))
            .set(sync_log::actor, entry.actor.as_str())
            .set(sync_log::action, &entry.action)
            .set(sync_log::resource_type, &entry.resource_type)
            .set(sync_log::resource_id, &entry.resource_id)
            .set(sync_log::detail, &detail);
        crate::inserted_id!(&mut **c, Key, insert, sync_log::id).map_err(StoreError::from)
    })
}

/// Records several changes (e.g. one per user touched by "apply mappings") with a few
/// multi-row INSERTs. Returns how many were written.
pub fn append_many(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    entries: &[NewLogEntry],
) -> Result<usize> {
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        check_no_secret(&e.detail, "sync-log detail")?;
        rows.push((
            e.at.trunc_subsecs(6),
            e.actor.as_str(),
            e.action.as_str(),
            e.resource_type.as_str(),
            e.resource_id.as_str(),
            // Held until its chunk is inserted: exact length, as the stored user columns.
            scim_core::json::to_string_exact(&e.detail),
        ));
    }
    let mut written = 0;
    for chunk in rows.chunks(INSERT_CHUNK) {
        written += with_conn!(&mut *conn, |c| {
            let values: Vec<_> = chunk
                .iter()
                .map(|(at, actor, action, rtype, rid, detail)| {
                    (
                        sync_log::tenant_id.eq(tenant.as_str()),
                        sync_log::at.eq(Stamp(*at)),
                        sync_log::actor.eq(*actor),
                        sync_log::action.eq(*action),
                        sync_log::resource_type.eq(*rtype),
                        sync_log::resource_id.eq(*rid),
                        sync_log::detail.eq(detail),
                    )
                })
                .collect();
            diesel::insert_into(sync_log::table)
                .values(values)
                .execute(&mut **c)
                .map_err(StoreError::from)
        })?;
    }
    Ok(written)
}

/// Row as selected, in column order.
type LogRow = (
    i64,
    String,
    NaiveDateTime,
    String,
    String,
    String,
    String,
    String,
);

/// Builds the boxed SELECT for a query inside a [`with_conn!`] arm, so [`query`] and [`plan`]
/// run the very same SQL.
macro_rules! log_select {
    ($tenant:expr, $q:expr, $limit:expr) => {{
        let q: &LogQuery = $q;
        let mut s = sync_log::table
            .select((
                sync_log::id,
                sync_log::tenant_id,
                sync_log::at,
                sync_log::actor,
                sync_log::action,
                sync_log::resource_type,
                sync_log::resource_id,
                sync_log::detail,
            ))
            .filter(sync_log::tenant_id.eq($tenant.as_str().to_owned()))
            .into_boxed();
        if let Some(r) = &q.resource_id {
            s = s.filter(sync_log::resource_id.eq(r.clone()));
        }
        if let Some(a) = &q.action {
            s = s.filter(sync_log::action.eq(a.clone()));
        }
        if let Some(a) = q.actor {
            s = s.filter(sync_log::actor.eq(a.as_str()));
        }
        if let Some(from) = q.from {
            s = s.filter(sync_log::at.ge(from));
        }
        if let Some(to) = q.to {
            s = s.filter(sync_log::at.lt(to));
        }
        if let Some(cur) = q.before {
            // (at, id) < (cur.at, cur.id), written so `at <= ?` bounds the index range.
            s = s.filter(
                sync_log::at
                    .le(cur.at)
                    .and(sync_log::at.lt(cur.at).or(sync_log::id.lt(cur.id))),
            );
        }
        s.order((sync_log::at.desc(), sync_log::id.desc()))
            .limit($limit)
    }};
}

/// Reads one page of a tenant's log, newest first.
pub fn query(conn: &mut Conn<'_>, tenant: &TenantId, q: &LogQuery) -> Result<LogPage> {
    let limit = page_size(q.limit);
    // One extra row says whether another page exists.
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let rows: Vec<LogRow> = with_conn!(conn, |c| {
        log_select!(tenant, q, fetch)
            .load::<LogRow>(&mut **c)
            .map_err(StoreError::from)
    })?;
    let more = rows.len() > limit;
    let entries = rows
        .into_iter()
        .take(limit)
        .map(entry_from_row)
        .collect::<Result<Vec<_>>>()?;
    let next = match entries.last() {
        Some(last) if more => Some(LogCursor {
            at: last.at,
            id: last.id,
        }),
        _ => None,
    };
    Ok(LogPage { entries, next })
}

/// The database's plan for [`query`] with `q`, one line per plan step (SQLite's
/// `EXPLAIN QUERY PLAN` details, PostgreSQL's `EXPLAIN` lines). Operators and tests use it to
/// check that each query shape reads an index and needs no sort.
pub fn plan(conn: &mut Conn<'_>, tenant: &TenantId, q: &LogQuery) -> Result<Vec<String>> {
    let fetch = i64::try_from(page_size(q.limit) + 1).unwrap_or(i64::MAX);
    match conn {
        Conn::Sqlite(c) => {
            use crate::schema::sqlite::*;
            let rows: Vec<(i32, i32, i32, String)> = Explain::<_, SqlitePlanRow>::new(
                "EXPLAIN QUERY PLAN ",
                log_select!(tenant, q, fetch),
            )
            .load(*c)?;
            Ok(rows.into_iter().map(|r| r.3).collect())
        }
        Conn::Pg(c) => {
            use crate::schema::postgres::*;
            let rows: Vec<String> = Explain::<_, diesel::sql_types::Text>::new(
                "EXPLAIN ",
                log_select!(tenant, q, fetch),
            )
            .load(*c)?;
            Ok(rows)
        }
    }
}

/// Deletes a tenant's entries older than `cutoff` (retention, for operators; the only way
/// entries ever leave the log). Returns how many were removed.
pub fn prune_before(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    cutoff: NaiveDateTime,
) -> Result<usize> {
    with_conn!(conn, |c| {
        diesel::delete(
            sync_log::table
                .filter(sync_log::tenant_id.eq(tenant.as_str()))
                .filter(sync_log::at.lt(cutoff)),
        )
        .execute(&mut **c)
        .map_err(StoreError::from)
    })
}

fn page_size(limit: usize) -> usize {
    match limit {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    }
}

fn entry_from_row(row: LogRow) -> Result<LogEntry> {
    let (id, tenant_id, at, actor, action, resource_type, resource_id, detail) = row;
    let actor = Actor::parse(&actor).ok_or_else(|| {
        StoreError::Database(format!("sync-log entry {id} has unknown actor {actor:?}"))
    })?;
    // Entries are written from serde_json text; anything else is kept as the raw text rather
    // than hiding the entry.
    let detail = serde_json::from_str(&detail).unwrap_or(Value::String(detail));
    Ok(LogEntry {
        id,
        tenant_id: TenantId(tenant_id),
        at,
        actor,
        action,
        resource_type,
        resource_id,
        detail,
    })
}

/// Refuses JSON that carries a `password` member at any depth: the log and the outbox are
/// read by operators and webhooks and must never hold a synced password in clear.
pub(crate) fn check_no_secret(v: &Value, what: &str) -> Result<()> {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k.eq_ignore_ascii_case("password") {
                    return Err(StoreError::Invalid(format!(
                        "{what} must not carry a password"
                    )));
                }
                check_no_secret(v, what)?;
            }
            Ok(())
        }
        Value::Array(a) => a.iter().try_for_each(|v| check_no_secret(v, what)),
        _ => Ok(()),
    }
}

/// SQLite's `EXPLAIN QUERY PLAN` row: id, parent, notused, detail.
type SqlitePlanRow = (
    diesel::sql_types::Integer,
    diesel::sql_types::Integer,
    diesel::sql_types::Integer,
    diesel::sql_types::Text,
);

/// `EXPLAIN …` in front of a typed query, keeping its binds, so the plan shown is the plan
/// of the exact SQL [`query`] runs.
struct Explain<Q, ST> {
    prefix: &'static str,
    query: Q,
    _row: std::marker::PhantomData<ST>,
}

impl<Q, ST> Explain<Q, ST> {
    fn new(prefix: &'static str, query: Q) -> Self {
        Explain {
            prefix,
            query,
            _row: std::marker::PhantomData,
        }
    }
}

impl<Q, ST, DB> QueryFragment<DB> for Explain<Q, ST>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.prefix);
        self.query.walk_ast(out.reborrow())
    }
}

impl<Q, ST> QueryId for Explain<Q, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, ST> Query for Explain<Q, ST> {
    type SqlType = ST;
}

impl<Q, ST, C> RunQueryDsl<C> for Explain<Q, ST> {}
