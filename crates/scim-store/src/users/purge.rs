//! Which users the provider deleted are due to be purged.
//!
//! A provider DELETE hides the user and sets `purge_after` (the deletion plus the tenant's
//! deactivation delay). A user active or pending when deleted has a deactivation job, which
//! purges it when it runs. A user already deactivated or blocked has none; before
//! `purge_after` it stayed hidden for ever. The worker now purges every hidden user whose
//! `purge_after` has passed, unless it is on legal hold (then it waits for the release) or a
//! job is pending (the job decides). A user the provider creates again before then is restored
//! and loses its `purge_after` ([`super::unhide`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::conn::Conn;
use crate::error::Result;
use crate::model::TenantId;
use crate::with_conn;

/// The state name of a user whose deactivation job is open (`LifecycleState::name`).
const PENDING: &str = "pending_deactivation";

/// What makes a user due to be purged at `$now`, inside a `with_conn!` arm (whose schema's
/// `users` it names): hidden, past `purge_after`, not on legal hold, no pending job.
macro_rules! due_at {
    ($now:expr) => {
        users::purge_after
            .le($now)
            .and(users::deleted_at.is_not_null())
            .and(users::legal_hold.eq(false))
            .and(users::lifecycle.ne(PENDING))
    };
}

/// Up to `limit` hidden users due to be purged at `now`, oldest first, across all tenants (the
/// worker serves every tenant): `(tenant, user id)`.
pub fn due_purges(
    conn: &mut Conn<'_>,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<(TenantId, String)>> {
    let rows: Vec<(String, String)> = with_conn!(conn, |c| {
        users::table
            .filter(due_at!(now))
            .order(users::purge_after.asc())
            .limit(limit.max(0))
            .select((users::tenant_id, users::id))
            .load(&mut **c)?
    });
    Ok(rows.into_iter().map(|(t, id)| (TenantId(t), id)).collect())
}

/// Whether this user is still due to be purged at `now` (the worker asks again inside the
/// purge's transaction, after locking the user: a re-create, a legal hold or another instance
/// may have come first).
pub fn purge_is_due(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool> {
    let n: i64 = with_conn!(conn, |c| {
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::id.eq(id))
            .filter(due_at!(now))
            .count()
            .get_result(&mut **c)?
    });
    Ok(n > 0)
}
