//! Each user's lifecycle record, as `scim_core::policy` decides it: the state (with the due
//! time and reason of a pending deactivation, the cause of a block), origin, legal hold, the
//! provider's `active`, whether the user is mapped, and whether sign-in is allowed.
//!
//! The state is kept twice on purpose: `lifecycle_state` holds core's `LifecycleState` as JSON
//! (everything [`scim_core::policy::decide`] needs), `lifecycle` its one word
//! (`LifecycleState::name`) for indexes, the admin API and `scim-server user state`. Rows
//! written before the JSON column existed, or by the one-word `users::set_lifecycle`, have no
//! JSON; [`load`] derives the state from the word, the open deactivation job and the legal
//! hold (see [`legacy_state`]).
//!
//! The SCIM document's `active` is the provider's view: [`save_resource`] keeps it equal to
//! `provider_active`, and bumps the version only when that changes the document.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use scim_core::policy::{
    BlockReason, DeactivationReason, LifecycleState, Origin as PolicyOrigin, UserLifecycle,
};
use scim_core::schema::SchemaRegistry;
use serde_json::Value;

use crate::conn::Conn;
use crate::error::{Result, StoreError};
use crate::jobs;
use crate::keyed::cached;
use crate::model::{Origin, StoredResource, TenantId};
use crate::users::{ResourceRow, document_active, not_found, set_document_active, to_stored};
use crate::with_conn;

/// The store's origin and core's are the same two values; core's is what policy reads.
impl From<Origin> for PolicyOrigin {
    fn from(o: Origin) -> Self {
        match o {
            Origin::Provisioned => PolicyOrigin::Provisioned,
            Origin::Local => PolicyOrigin::Local,
        }
    }
}

/// The store's origin and core's are the same two values; the store's is what `NewUser` and
/// `UserRecord` carry.
impl From<PolicyOrigin> for Origin {
    fn from(o: PolicyOrigin) -> Self {
        match o {
            PolicyOrigin::Provisioned => Origin::Provisioned,
            PolicyOrigin::Local => Origin::Local,
        }
    }
}

/// The `lifecycle_state` column text of a state (serde's JSON of core's type).
pub(crate) fn state_json(state: &LifecycleState) -> Result<String> {
    serde_json::to_string(state)
        .map_err(|e| StoreError::Database(format!("cannot serialize a lifecycle state: {e}")))
}

/// The lifecycle columns of a `users` row, in this order.
pub(crate) type LifecycleRow = (Option<String>, String, String, bool, bool, bool);

/// Typed-DSL select of a [`LifecycleRow`]'s columns, in its order (inside a `with_conn!` arm,
/// where `users` is that backend's table): for every read of a user's lifecycle record, and
/// the replace that returns it.
macro_rules! lifecycle_columns {
    () => {
        (
            users::lifecycle_state,
            users::lifecycle,
            users::origin,
            users::legal_hold,
            users::provider_active,
            users::mapped,
        )
    };
}
pub(crate) use lifecycle_columns;

/// Builds the record from its columns; a row without JSON state gets [`legacy_state`], which
/// may read the user's open job.
pub(crate) fn from_row(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_id: &str,
    (state, word, origin, legal_hold, provider_active, mapped): LifecycleRow,
) -> Result<UserLifecycle> {
    let state = match state {
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            StoreError::Database(format!(
                "user {user_id} has an unreadable lifecycle state: {e}"
            ))
        })?,
        None => {
            let job = if word == "pending_deactivation" {
                jobs::open_job(conn, tenant, user_id)?.map(|j| (j.due_at, j.reason))
            } else {
                None
            };
            legacy_state(&word, provider_active, legal_hold, job)
        }
    };
    Ok(UserLifecycle {
        state,
        // Unknown text is treated as local, the safe side: the provider can't touch it.
        origin: Origin::parse(&origin).into(),
        legal_hold,
        provider_active,
        mapped,
    })
}

fn reason(s: &str) -> Option<DeactivationReason> {
    serde_json::from_value(Value::String(s.to_string())).ok()
}

/// The full state of a row that only has the one-word `lifecycle` (written before the JSON
/// column existed, or by `users::set_lifecycle`). Reasons are reconstructed from the facts:
/// a user the provider still has active was deactivated by an administrator (never undone
/// automatically), otherwise by the provider. A pending deactivation takes its due time and
/// reason from the open job (`job`: due time, reason); without one it is already due. An
/// unknown word is an administrator's block: sign-in refused, nothing automatic.
pub fn legacy_state(
    word: &str,
    provider_active: bool,
    legal_hold: bool,
    job: Option<(NaiveDateTime, String)>,
) -> LifecycleState {
    let fallback = if provider_active {
        DeactivationReason::Admin
    } else {
        DeactivationReason::ProviderInactive
    };
    match word {
        "active" => LifecycleState::Active,
        "pending_deactivation" => {
            let (due, why) = match job {
                Some((due, why)) => (due.and_utc(), reason(&why).unwrap_or(fallback)),
                None => (DateTime::<Utc>::UNIX_EPOCH, fallback),
            };
            LifecycleState::PendingDeactivation { due, reason: why }
        }
        "deactivated" => LifecycleState::Deactivated { reason: fallback },
        "blocked" if legal_hold => LifecycleState::Blocked {
            reason: BlockReason::LegalHold,
            cause: fallback,
        },
        _ => LifecycleState::Blocked {
            reason: BlockReason::Admin,
            cause: DeactivationReason::Admin,
        },
    }
}

/// Takes the user's row lock for the rest of the transaction (PostgreSQL; SQLite's single
/// writer already serialises writes). A job's runner calls it before touching the job row, so
/// it locks in the order a provider's write does (user row, then job row): the other way
/// round, a deactivation job running while the provider set the same user active again
/// deadlocked, and PostgreSQL aborted one of the two.
pub fn lock_user(conn: &mut Conn<'_>, tenant: &TenantId, user_id: &str) -> Result<()> {
    if let Conn::Pg(c) = conn {
        diesel::sql_query("SELECT id FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
            .bind::<diesel::sql_types::Text, _>(tenant.as_str())
            .bind::<diesel::sql_types::Text, _>(user_id)
            .execute(&mut **c)?;
    }
    Ok(())
}

/// The user's lifecycle record, or `None` when the tenant has no such user.
pub fn load(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_id: &str,
) -> Result<Option<UserLifecycle>> {
    let row: Option<LifecycleRow> = with_conn!(conn, |c| {
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::id.eq(user_id))
            .select(lifecycle_columns!())
            .get_result(&mut **c)
            .optional()?
    });
    row.map(|r| from_row(conn, tenant, user_id, r)).transpose()
}

/// The UPDATE of `user_id`'s lifecycle columns to `$lifecycle`, `$state` (its JSON) and
/// `$sign_in`, inside a [`with_conn!`] arm: one SET list for [`save_resource`] and
/// [`save_record`].
macro_rules! lifecycle_update {
    ($tenant:expr, $user_id:expr, $lifecycle:expr, $state:expr, $sign_in:expr) => {
        diesel::update(
            users::table
                .filter(users::tenant_id.eq($tenant.as_str()))
                .filter(users::id.eq($user_id)),
        )
        .set((
            users::lifecycle_state.eq(Some($state)),
            users::lifecycle.eq($lifecycle.state.name()),
            users::origin.eq($lifecycle.origin.as_str()),
            users::legal_hold.eq($lifecycle.legal_hold),
            users::provider_active.eq($lifecycle.provider_active),
            users::mapped.eq($lifecycle.mapped),
            users::sign_in_allowed.eq($sign_in),
        ))
    };
}

/// Stores a decision's record (`Decision::user`) and sign-in flag, and keeps the SCIM
/// document's `active` equal to `provider_active`: when that changes the document, the
/// version and `updated_at` are bumped (the resource changed); otherwise they stay, however
/// the lifecycle moved. Returns the user's SCIM side as it now is (to answer a request, or
/// to see whether the version moved). `NotFound` when the tenant has no such user.
pub fn save_resource(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    user_id: &str,
    lifecycle: &UserLifecycle,
    sign_in_allowed: bool,
    now: NaiveDateTime,
) -> Result<StoredResource> {
    let state = state_json(&lifecycle.state)?;
    // Updating the lifecycle first also locks the row (PostgreSQL) for the rest of the
    // transaction, so the read-modify-write of the document below can't interleave.
    let row: Option<(ResourceRow, bool)> = with_conn!(conn, |c| {
        cached!(
            lifecycle_update!(tenant, user_id, lifecycle, state.as_str(), sign_in_allowed)
                .returning((
                    (
                        users::id,
                        users::version,
                        users::created_at,
                        users::updated_at,
                        users::resource,
                    ),
                    users::active,
                ))
        )
        .get_result(&mut **c)
        .optional()?
    });
    let Some((row, column_active)) = row else {
        return Err(not_found(user_id));
    };
    let stored = to_stored(row)?;
    let active = lifecycle.provider_active;
    if column_active == active && document_active(&stored.resource) == active {
        return Ok(stored);
    }
    set_document_active(conn, registry, tenant, stored, active, now)
}

/// [`save_resource`] for a caller that has just written the user's document with `active`
/// equal to `lifecycle.provider_active` (a PUT or PATCH that changed `active`), and so holds
/// the user's SCIM side already: only the record is stored, and nothing is read back. Reading
/// back and parsing the row cost the SQLite writer ~23 000 instructions per deactivation (4%
/// of its share). `NotFound` when the tenant has no such user.
pub fn save_record(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_id: &str,
    lifecycle: &UserLifecycle,
    sign_in_allowed: bool,
) -> Result<()> {
    let state = state_json(&lifecycle.state)?;
    // With RETURNING and `get_result`, as every keyed UPDATE: `execute` would parse it anew
    // each time (see `keyed`).
    let updated: Option<i64> = with_conn!(conn, |c| {
        cached!(
            lifecycle_update!(tenant, user_id, lifecycle, state.as_str(), sign_in_allowed)
                .returning(users::version)
        )
        .get_result(&mut **c)
        .optional()?
    });
    match updated {
        Some(_) => Ok(()),
        None => Err(not_found(user_id)),
    }
}

/// The one word of the user's state (`active`, `pending_deactivation`, `deactivated`,
/// `blocked`): what `scim-server user state` prints. `None` when there is no such user.
pub fn state_name(conn: &mut Conn<'_>, tenant: &TenantId, user_id: &str) -> Result<Option<String>> {
    let word: Option<String> = with_conn!(conn, |c| {
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::id.eq(user_id))
            .select(users::lifecycle)
            .get_result(&mut **c)
            .optional()?
    });
    Ok(word)
}

/// Whether the user may sign in now (refused from the moment the provider deactivates, not
/// from the due time). `None` when there is no such user.
pub fn sign_in_allowed(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_id: &str,
) -> Result<Option<bool>> {
    let allowed: Option<bool> = with_conn!(conn, |c| {
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::id.eq(user_id))
            .select(users::sign_in_allowed)
            .get_result(&mut **c)
            .optional()?
    });
    Ok(allowed)
}
