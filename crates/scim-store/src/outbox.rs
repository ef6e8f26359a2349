//! The event outbox: events core produced (`user.created`, `user.deactivated`,
//! `access.revoked`, …), inserted in the same transaction as the change that caused them, and
//! handed to consumers (the webhook deliverer, an embedder's event handler) at least once and
//! in order per user.
//!
//! Delivery protocol: a consumer [`claim`]s a batch (a lease until `now + lease`), delivers
//! each event in id order, then [`mark_delivered`]s the ones that went through and [`fail`]s
//! the first one that didn't (it comes back after a backoff, with `attempts` counted). An event
//! whose lease runs out undelivered — the consumer died — is claimed again: at-least-once.
//!
//! Per-user order: an event is never claimed while an earlier undelivered event of the same
//! (tenant, user) is leased — by another consumer, by this one, or waiting out a failure
//! backoff — so a user's events are delivered in id order, one claimant at a time. Claims take
//! each user's free events as an id-ordered prefix, and giving an event back ([`fail`],
//! [`release`]) also gives back the same consumer's later events of that user. Events without
//! a user are unordered.
//!
//! On PostgreSQL two further things keep that true with several server processes:
//! - claims, failures and releases are serialised by a transaction-scoped advisory lock
//!   (the per-user check reads a snapshot, and two concurrent claimers could each miss the
//!   other's lease); the candidate rows are still picked `FOR UPDATE SKIP LOCKED` so a claim
//!   never waits on a delivery being marked;
//! - [`push`] takes a transaction-scoped advisory lock per (tenant, user), so two transactions
//!   adding events for one user commit in the order of their ids (a sequence hands out ids
//!   before commit, and a later id committing first would otherwise be delivered first). A
//!   transaction pushing events for several users should push them in one [`push_many`],
//!   which takes the locks in one global order.
//!
//! On SQLite one writer at a time already gives both.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{NaiveDateTime, SubsecRound};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
use serde_json::Value;

use crate::conn::Conn;
use crate::error::{Result, StoreError};
use crate::jobs::{add, prefixed, sqlite_numbered};
use crate::keyed::cached;
use crate::model::TenantId;
use crate::sync_log::check_no_secret;
use crate::with_conn;

/// Ids per `IN (…)` list, well under every backend's bind limit.
const ID_CHUNK: usize = 1000;
/// Advisory-lock key (PostgreSQL) serialising claims, failures and releases.
const CLAIM_LOCK: i64 = 0x005c_0b0c_0001;
/// First half of the two-part advisory-lock key per (tenant, user) taken by pushes.
const USER_LOCK_SPACE: i32 = 0x5c0b_0002;

/// An event to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// `user.created`, `user.updated`, `user.deactivation_scheduled`, `user.deactivated`,
    /// `user.reactivated`, `user.blocked`, `access.revoked`, `privileges.decreased`, …
    pub kind: String,
    /// The user it is about; events of one user are delivered in order.
    pub user_id: Option<String>,
    /// The event body. Never a secret: a `password` member anywhere is refused.
    pub payload: Value,
    /// When it happened (UTC; stored to the microsecond).
    pub at: NaiveDateTime,
}

/// An event in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Position in the outbox; delivery order within a user.
    pub id: i64,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// When it happened.
    pub at: NaiveDateTime,
    /// Its kind.
    pub kind: String,
    /// The user it is about.
    pub user_id: Option<String>,
    /// Its body.
    pub payload: Value,
    /// Failed delivery attempts so far.
    pub attempts: i32,
    /// The consumer holding it, if claimed.
    pub claimed_by: Option<String>,
    /// Until when it is held (or, after a failure, not retried).
    pub claimed_until: Option<NaiveDateTime>,
    /// When it was delivered.
    pub delivered_at: Option<NaiveDateTime>,
}

#[derive(Queryable, QueryableByName)]
struct EventRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    tenant_id: String,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    user_id: Option<String>,
    #[diesel(sql_type = Text)]
    payload: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    claimed_by: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    claimed_until: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    delivered_at: Option<NaiveDateTime>,
}

impl From<EventRow> for Event {
    fn from(r: EventRow) -> Event {
        Event {
            id: r.id,
            tenant_id: TenantId(r.tenant_id),
            at: r.created_at,
            kind: r.kind,
            user_id: r.user_id,
            // Written from serde_json text; anything else is handed on as the raw text.
            payload: serde_json::from_str(&r.payload).unwrap_or(Value::String(r.payload)),
            attempts: r.attempts,
            claimed_by: r.claimed_by,
            claimed_until: r.claimed_until,
            delivered_at: r.delivered_at,
        }
    }
}

/// Columns in [`EventRow`] order, for raw `RETURNING` clauses.
const COLUMNS: &str = "id, tenant_id, created_at, kind, user_id, payload, attempts, claimed_by, \
                       claimed_until, delivered_at";

thread_local! {
    /// Whether pushes on this thread reach the outbox: the setting of the store whose write
    /// runs here ([`crate::StoreOptions::record_events`]). A write runs on its store's SQLite
    /// writer thread, set once when that thread starts, or (PostgreSQL) on the caller's
    /// thread inside [`recording`]. The code that pushes events runs deep inside writes that
    /// are handed only a connection, so the store's setting travels with the thread rather
    /// than through every function on the way.
    static RECORDING: Cell<bool> = const { Cell::new(true) };
}

/// Sets, for the rest of this thread's life, whether pushes on it are recorded (the SQLite
/// writer thread, which runs one store's writes only).
pub(crate) fn record_on_this_thread(on: bool) {
    RECORDING.set(on);
}

/// Runs `f` with pushes on this thread recorded or not, then restores the setting (also when
/// `f` panics).
pub(crate) fn recording<R>(on: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            RECORDING.set(self.0);
        }
    }
    let _restore = Restore(RECORDING.replace(on));
    f()
}

/// Adds one event; call it in the same write as the change. Returns its id, or `None` when
/// the store records no events ([`crate::StoreOptions::record_events`]).
pub fn push(conn: &mut Conn<'_>, tenant: &TenantId, event: &NewEvent) -> Result<Option<i64>> {
    let ids = push_many(conn, tenant, std::slice::from_ref(event))?;
    Ok(ids.first().copied())
}

/// Adds several events, in the given order (their ids increase in that order). Returns their
/// ids: none when the store records no events. On PostgreSQL it first locks each named user
/// (sorted, so concurrent transactions can't deadlock on each other's users).
pub fn push_many(conn: &mut Conn<'_>, tenant: &TenantId, events: &[NewEvent]) -> Result<Vec<i64>> {
    if !RECORDING.get() {
        return Ok(Vec::new());
    }
    let mut rows = Vec::with_capacity(events.len());
    for e in events {
        check_no_secret(&e.payload, "event payload")?;
        rows.push((e.at.trunc_subsecs(6), e.payload.to_string()));
    }
    if let Conn::Pg(c) = conn {
        let users: BTreeSet<&str> = events.iter().filter_map(|e| e.user_id.as_deref()).collect();
        let mut keys: Vec<i32> = users.iter().map(|u| user_lock_key(tenant, u)).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
                .bind::<Integer, _>(USER_LOCK_SPACE)
                .bind::<Integer, _>(key)
                .execute(&mut **c)?;
        }
    }
    /// The insert's prepared-cache key (see [`keyed`]).
    struct Key;
    let mut ids = Vec::with_capacity(events.len());
    for (e, (at, payload)) in events.iter().zip(&rows) {
        let id = with_conn!(&mut *conn, |c| {
            let insert = diesel::insert_into(outbox::table).values((
                outbox::tenant_id.eq(tenant.as_str()),
                outbox::created_at.eq(*at),
                outbox::kind.eq(&e.kind),
                outbox::user_id.eq(e.user_id.as_deref()),
                outbox::payload.eq(payload),
            ));
            crate::inserted_id!(&mut **c, Key, insert, outbox::id)?
        });
        ids.push(id);
    }
    Ok(ids)
}

/// Claims up to `limit` deliverable events for `consumer` until `now + lease`, in id order:
/// undelivered, lease free or expired, and no earlier undelivered event of the same user
/// leased. Run it in its own `Store::write`.
pub fn claim(
    conn: &mut Conn<'_>,
    consumer: &str,
    now: NaiveDateTime,
    lease: Duration,
    limit: usize,
) -> Result<Vec<Event>> {
    let until = add(now, lease)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // Binds: $1 consumer, $2 lease end, $3 now, $4 limit.
    let candidates = "SELECT o.id FROM outbox o \
         WHERE o.delivered_at IS NULL \
           AND (o.claimed_until IS NULL OR o.claimed_until <= $3) \
           AND (o.user_id IS NULL OR NOT EXISTS ( \
                SELECT 1 FROM outbox p \
                WHERE p.tenant_id = o.tenant_id AND p.user_id = o.user_id AND p.id < o.id \
                  AND p.delivered_at IS NULL AND p.claimed_until > $3)) \
         ORDER BY o.id LIMIT $4";
    let mut rows: Vec<EventRow> = match conn {
        Conn::Sqlite(c) => {
            let sql = format!(
                "UPDATE outbox SET claimed_by = $1, claimed_until = $2 \
                 WHERE id IN ({candidates}) RETURNING {COLUMNS}"
            );
            diesel::sql_query(sqlite_numbered(&sql))
                .bind::<Text, _>(consumer)
                .bind::<Timestamp, _>(until)
                .bind::<Timestamp, _>(now)
                .bind::<BigInt, _>(limit)
                .load::<EventRow>(&mut **c)?
        }
        Conn::Pg(c) => {
            let sql = format!(
                "WITH picked AS ({candidates} FOR UPDATE OF o SKIP LOCKED) \
                 UPDATE outbox e SET claimed_by = $1, claimed_until = $2 \
                 FROM picked WHERE e.id = picked.id RETURNING {}",
                prefixed("e", COLUMNS)
            );
            c.transaction::<_, StoreError, _>(|c| {
                claim_lock(c)?;
                Ok(diesel::sql_query(sql)
                    .bind::<Text, _>(consumer)
                    .bind::<Timestamp, _>(until)
                    .bind::<Timestamp, _>(now)
                    .bind::<BigInt, _>(limit)
                    .load::<EventRow>(c)?)
            })?
        }
    };
    // RETURNING order is unspecified.
    rows.sort_by_key(|r| r.id);
    Ok(rows.into_iter().map(Event::from).collect())
}

/// Marks events delivered. Idempotent by id and open to any consumer: an event whose lease
/// ran out while its first consumer was still delivering it WAS delivered, and recording that
/// saves a duplicate. Returns how many were newly marked.
pub fn mark_delivered(conn: &mut Conn<'_>, ids: &[i64], now: NaiveDateTime) -> Result<usize> {
    let mut n = 0;
    for chunk in ids.chunks(ID_CHUNK) {
        n += with_conn!(&mut *conn, |c| {
            diesel::update(
                outbox::table
                    .filter(outbox::id.eq_any(chunk))
                    .filter(outbox::delivered_at.is_null()),
            )
            .set(outbox::delivered_at.eq(now))
            .execute(&mut **c)?
        });
    }
    Ok(n)
}

/// Records a failed delivery of events `consumer` holds: `attempts` goes up by one and each
/// becomes claimable again at `now + backoff` (the caller picks the backoff, e.g. growing
/// with `attempts`). The consumer's later claimed events of the same users are given back too
/// (without counting an attempt): they must wait for the failed one. Returns how many of
/// `ids` were given back.
pub fn fail(
    conn: &mut Conn<'_>,
    ids: &[i64],
    consumer: &str,
    now: NaiveDateTime,
    backoff: Duration,
) -> Result<usize> {
    let retry_at = add(now, backoff)?;
    give_back(conn, ids, consumer, Some(retry_at), true)
}

/// Gives back events `consumer` holds without counting an attempt (graceful shutdown), so
/// they can be claimed at once; the consumer's later claimed events of the same users go back
/// with them. Returns how many of `ids` were given back.
pub fn release(conn: &mut Conn<'_>, ids: &[i64], consumer: &str) -> Result<usize> {
    give_back(conn, ids, consumer, None, false)
}

/// Undelivered events, across tenants (a metric, and what `/readyz` may watch).
pub fn pending_count(conn: &mut Conn<'_>) -> Result<i64> {
    let n = with_conn!(conn, |c| {
        outbox::table
            .filter(outbox::delivered_at.is_null())
            .count()
            .get_result::<i64>(&mut **c)?
    });
    Ok(n)
}

/// Deletes events delivered before `cutoff` (retention). Returns how many.
pub fn prune_delivered(conn: &mut Conn<'_>, cutoff: NaiveDateTime) -> Result<usize> {
    let n = with_conn!(conn, |c| {
        diesel::delete(outbox::table.filter(outbox::delivered_at.lt(cutoff))).execute(&mut **c)?
    });
    Ok(n)
}

/// Shared body of [`fail`] and [`release`]: `until` is when the events may be claimed again
/// (`None` = at once).
fn give_back(
    conn: &mut Conn<'_>,
    ids: &[i64],
    consumer: &str,
    until: Option<NaiveDateTime>,
    count_attempt: bool,
) -> Result<usize> {
    match conn {
        Conn::Pg(c) => c.transaction::<_, StoreError, _>(|c| {
            claim_lock(c)?;
            give_back_locked(&mut Conn::Pg(c), ids, consumer, until, count_attempt)
        }),
        Conn::Sqlite(_) => give_back_locked(conn, ids, consumer, until, count_attempt),
    }
}

fn give_back_locked(
    conn: &mut Conn<'_>,
    ids: &[i64],
    consumer: &str,
    until: Option<NaiveDateTime>,
    count_attempt: bool,
) -> Result<usize> {
    // The earliest given-back event of each user: its later events go back with it.
    let mut heads: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut n = 0;
    for chunk in ids.chunks(ID_CHUNK) {
        let held: Vec<(i64, String, Option<String>)> = with_conn!(&mut *conn, |c| {
            outbox::table
                .filter(outbox::id.eq_any(chunk))
                .filter(outbox::claimed_by.eq(consumer))
                .filter(outbox::delivered_at.is_null())
                .select((outbox::id, outbox::tenant_id, outbox::user_id))
                .load(&mut **c)?
        });
        for (id, tenant, user) in &held {
            if let Some(user) = user {
                let head = heads.entry((tenant.clone(), user.clone())).or_insert(*id);
                *head = (*head).min(*id);
            }
        }
        let held_ids: Vec<i64> = held.iter().map(|h| h.0).collect();
        n += with_conn!(&mut *conn, |c| {
            let target = outbox::table.filter(outbox::id.eq_any(&held_ids));
            let unclaim = (
                outbox::claimed_by.eq(None::<String>),
                outbox::claimed_until.eq(until),
            );
            if count_attempt {
                diesel::update(target)
                    .set((unclaim, outbox::attempts.eq(outbox::attempts + 1)))
                    .execute(&mut **c)?
            } else {
                diesel::update(target).set(unclaim).execute(&mut **c)?
            }
        });
    }
    for ((tenant, user), head) in heads {
        with_conn!(&mut *conn, |c| {
            cached!(
                diesel::update(
                    outbox::table
                        .filter(outbox::tenant_id.eq(&tenant))
                        .filter(outbox::user_id.eq(&user))
                        .filter(outbox::id.gt(head))
                        .filter(outbox::claimed_by.eq(consumer))
                        .filter(outbox::delivered_at.is_null()),
                )
                .set((
                    outbox::claimed_by.eq(None::<String>),
                    outbox::claimed_until.eq(None::<NaiveDateTime>),
                ))
                .returning(outbox::id)
            )
            .load::<i64>(&mut **c)?
            .len()
        });
    }
    Ok(n)
}

/// Serialises claims, failures and releases on PostgreSQL until the transaction ends.
fn claim_lock(c: &mut PgConnection) -> Result<()> {
    c.batch_execute(&format!("SELECT pg_advisory_xact_lock({CLAIM_LOCK})"))?;
    Ok(())
}

/// A stable 32-bit key for (tenant, user): FNV-1a, identical in every process (no random
/// seed), so all instances lock the same key for the same user. Collisions only serialise
/// two unrelated users' pushes.
fn user_lock_key(tenant: &TenantId, user: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in tenant.as_str().bytes().chain([0u8]).chain(user.bytes()) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    i32::from_ne_bytes(h.to_ne_bytes())
}
