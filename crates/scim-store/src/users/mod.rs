//! Users, scoped by tenant: the `users` row (resource JSON, search document, indexed columns)
//! and its `user_emails` rows, written together.
//!
//! userName is unique per tenant ignoring case: the row keeps it as sent and a folded key
//! ([`fold_case`], the same folding core's evaluator uses) carries the unique index. Every
//! write checks and bumps `version` in the `UPDATE` itself (`… WHERE version = ?`), so a stale
//! write is a [`StoreError::VersionMismatch`] without a read-then-write race.
//!
//! The password never enters the resource JSON: the server hashes it and passes the PHC string
//! separately; a document still carrying `password` is refused.
//!
//! The lifecycle columns (`lifecycle_state`, `lifecycle`, `origin`, `legal_hold`,
//! `provider_active`, `mapped`, `sign_in_allowed`) are written at insert
//! ([`insert_with_lifecycle`]) and then only by [`crate::lifecycle::save_resource`]: a
//! [`replace`] leaves them alone, so a caller can compare the stored `provider_active` with the
//! new document's `active` before or after the replace and see the same change.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::IntoSql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use scim_core::filter::eval::fold_case;
use scim_core::policy::{DeactivationReason, LifecycleState, UserLifecycle};
use scim_core::schema::SchemaRegistry;
use serde_json::Value;

use crate::conn::Conn;
use crate::error::{Result, StoreError};
use crate::flat::Row;
use crate::keyed::cached;
use crate::members::{self, GroupRef};
use crate::model::{Origin, RawResource, StoredResource, TenantId};
use crate::stamp::Stamp;
use crate::with_conn;

mod active;
mod columns;
mod prepared;
mod purge;
mod types;

pub(crate) use active::{document_active, set_document_active};
use columns::Email;
pub use prepared::{
    PreparedReplace, PreparedUser, Replaced, insert_prepared, insert_prepared_row, prepare_insert,
    prepare_replace, replace_prepared,
};
pub use purge::{due_purges, purge_is_due};
pub use types::{NewUser, PasswordChange, UserRecord};

/// Lifecycle a user starts in when `active` is true; policy moves it on with
/// [`crate::lifecycle::save_resource`].
pub const LIFECYCLE_ACTIVE: &str = "active";
/// Lifecycle a user created with `active: false` starts in, so the column never claims an
/// inactive user is active.
pub const LIFECYCLE_DEACTIVATED: &str = "deactivated";

pub(crate) fn parse_resource(id: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Database(format!("user {id} has unreadable resource JSON: {e}")))
}

pub(crate) fn not_found(id: &str) -> StoreError {
    StoreError::NotFound {
        resource_type: "User",
        id: id.to_string(),
    }
}

/// Inserts a user at version 1 with its email rows. A userName another user of the tenant
/// holds in any case is `Conflict { attribute: "userName" }`. The lifecycle is the default
/// of a user nobody decided about yet: active (or deactivated, when the document says
/// `active: false`), not on legal hold, not mapped; policy code that knows more uses
/// [`insert_with_lifecycle`].
pub fn insert(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    new: NewUser,
) -> Result<StoredResource> {
    let provider_active = document_active(&new.resource);
    let state = if provider_active {
        LifecycleState::Active
    } else {
        LifecycleState::Deactivated {
            reason: DeactivationReason::ProviderInactive,
        }
    };
    let lifecycle = UserLifecycle {
        state,
        origin: new.origin.into(),
        legal_hold: false,
        provider_active,
        mapped: false,
    };
    insert_with_lifecycle(
        conn,
        registry,
        tenant,
        new,
        &lifecycle,
        state.sign_in_allowed(),
    )
}

/// Inserts a user at version 1 with its email rows and the lifecycle record policy decided
/// for it (`scim_core::policy::create`), in one row. The document's `active` follows
/// `lifecycle.provider_active` (the provider's view, which the SCIM resource shows); a
/// document without `active` keeps none when the provider's view is active. The origin of
/// `new` and of `lifecycle` must agree (`Invalid` otherwise: which one is meant can't be
/// guessed). A taken userName is `Conflict { attribute: "userName" }`.
pub fn insert_with_lifecycle(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    new: NewUser,
    lifecycle: &UserLifecycle,
    sign_in_allowed: bool,
) -> Result<StoredResource> {
    let prepared = prepare_insert(registry, new, lifecycle, sign_in_allowed)?;
    insert_prepared(conn, tenant, &prepared)?.ok_or_else(|| StoreError::Conflict {
        attribute: "userName",
        value: prepared.user_name().to_string(),
    })
}

/// Writes the user's email rows; with `clear_first` (a replace) they are read first and left
/// alone when unchanged, else rewritten (emails are few; rewriting them is simpler than a
/// diff). Most replaces don't change them (Okta's deactivation, a rename): one indexed read
/// instead of a DELETE and an INSERT per email, which also dirtied the email table's and its
/// index's pages, written to the WAL on every commit.
///
/// The only writer of `user_emails`, always with the document the rows come from and in its
/// transaction: `PreparedReplace::emails_as_in` relies on it.
fn write_emails(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_id: &str,
    emails: &[Email],
    clear_first: bool,
) -> Result<()> {
    /// The insert's prepared-cache key (see [`keyed`]).
    struct Key;
    if clear_first && stored_emails(conn, tenant, user_id)? == emails {
        return Ok(());
    }
    with_conn!(conn, |c| {
        if clear_first {
            diesel::delete(
                user_emails::table
                    .filter(user_emails::tenant_id.eq(tenant.as_str()))
                    .filter(user_emails::user_id.eq(user_id)),
            )
            .execute(&mut **c)?;
        }
        // One row per statement: diesel keeps a single-row INSERT prepared, where a
        // multi-row one is prepared afresh each time (users have one or two emails, and on
        // SQLite this runs on the one writer thread).
        for e in emails {
            Row::<Key, _>::new(user_emails::table, 6)
                .set(user_emails::tenant_id, tenant.as_str())
                .set(user_emails::user_id, user_id)
                .set(user_emails::position, e.position)
                .set(user_emails::value_key, e.value_key.as_str())
                .set(user_emails::type_, e.kind.as_deref())
                .set(user_emails::is_primary, e.primary)
                .execute(&mut **c)?;
        }
    });
    Ok(())
}

/// The user's email rows as stored, in position order.
fn stored_emails(conn: &mut Conn<'_>, tenant: &TenantId, user_id: &str) -> Result<Vec<Email>> {
    let rows: Vec<(i32, String, Option<String>, bool)> = with_conn!(conn, |c| {
        user_emails::table
            .filter(user_emails::tenant_id.eq(tenant.as_str()))
            .filter(user_emails::user_id.eq(user_id))
            .order(user_emails::position.asc())
            .select((
                user_emails::position,
                user_emails::value_key,
                user_emails::type_,
                user_emails::is_primary,
            ))
            .load(&mut **c)?
    });
    Ok(rows
        .into_iter()
        .map(|(position, value_key, kind, primary)| Email {
            position,
            value_key,
            kind,
            primary,
        })
        .collect())
}

/// Typed-DSL select of a [`ResourceRow`]'s columns, in its order (inside a `with_conn!` arm,
/// where `users` is that backend's table).
macro_rules! resource_columns {
    () => {
        (
            users::id,
            users::version,
            users::created_at,
            users::updated_at,
            users::resource,
        )
    };
}

/// Timestamps as [`Stamp`], which reads SQLite's text without chrono's parser.
pub(crate) type ResourceRow = (String, i64, Stamp, Stamp, String);

// After `resource_columns!`, which it uses.
mod one;
pub use one::{get_raw_with_groups, visible_raw_by_user_name_with_groups};

pub(crate) fn to_stored(
    (id, version, created_at, updated_at, text): ResourceRow,
) -> Result<StoredResource> {
    let resource = parse_resource(&id, &text)?;
    Ok(StoredResource {
        id,
        version,
        created_at: created_at.0,
        updated_at: updated_at.0,
        resource,
    })
}

fn raw_row((id, version, created_at, updated_at, text): ResourceRow) -> RawResource {
    RawResource {
        id,
        version,
        created_at: created_at.0,
        updated_at: updated_at.0,
        text,
    }
}

/// The user with this id in this tenant, if any.
pub fn get(conn: &mut Conn<'_>, tenant: &TenantId, id: &str) -> Result<Option<StoredResource>> {
    get_raw(conn, tenant, id)?
        .map(RawResource::parse)
        .transpose()
}

/// [`get`] and the user's origin, in one read: what a provider's PUT or PATCH needs before it
/// computes its change, since a local account refuses it. As two reads (the origin from
/// [`get_record`], then the document) each request parsed the document twice.
pub fn get_with_origin(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<(StoredResource, Origin)>> {
    let row: Option<(ResourceRow, String)> = with_conn!(conn, |c| {
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::id.eq(id))
            .filter(users::deleted_at.is_null())
            .select((resource_columns!(), users::origin))
            .get_result(&mut **c)
            .optional()?
    });
    row.map(|(resource, origin)| Ok((to_stored(resource)?, Origin::parse(&origin))))
        .transpose()
}

/// [`get`] with the document left as stored text, for responses that copy it.
pub fn get_raw(conn: &mut Conn<'_>, tenant: &TenantId, id: &str) -> Result<Option<RawResource>> {
    let row: Option<ResourceRow> = with_conn!(conn, |c| {
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::id.eq(id))
            // A user the provider deleted is gone from SCIM, though its row waits for the
            // deactivation delay (see `hide`).
            .filter(users::deleted_at.is_null())
            .select(resource_columns!())
            .get_result(&mut **c)
            .optional()?
    });
    Ok(row.map(raw_row))
}

/// The user whose userName equals `user_name` ignoring case (the folded-key index).
pub fn by_user_name(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_name: &str,
) -> Result<Option<StoredResource>> {
    let key = fold_case(user_name);
    let row: Option<ResourceRow> = with_conn!(conn, |c| {
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::user_name_key.eq(key.as_ref()))
            .select(resource_columns!())
            .get_result(&mut **c)
            .optional()?
    });
    row.map(to_stored).transpose()
}

/// For local sign-in: the id, password hash (argon2 PHC string, if one was set) and whether
/// sign-in is allowed of the user whose userName equals `user_name` ignoring case. The
/// caller verifies the password and refuses sign-in when the flag is false.
pub fn password_hash_by_user_name(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_name: &str,
) -> Result<Option<(String, Option<String>, bool)>> {
    let key = fold_case(user_name);
    let row = with_conn!(conn, |c| {
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::user_name_key.eq(key.as_ref()))
            .select((users::id, users::password_hash, users::sign_in_allowed))
            .first::<(String, Option<String>, bool)>(&mut **c)
            .optional()?
    });
    Ok(row)
}

type RecordRow = (
    ResourceRow,
    (
        String,
        Option<String>,
        bool,
        String,
        String,
        bool,
        Option<String>,
    ),
);

/// The user's origin and userName, or `None` without such a user: what refusing a provider's
/// DELETE of a local account takes, without reading and parsing the document as
/// [`get_record`] does.
pub fn origin_of(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<(Origin, String)>> {
    let row: Option<(String, String)> = with_conn!(conn, |c| {
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::id.eq(id))
            .select((users::origin, users::user_name))
            .get_result(&mut **c)
            .optional()?
    });
    Ok(row.map(|(origin, user_name)| (Origin::parse(&origin), user_name)))
}

/// The user with the columns policy code needs (lifecycle, origin, legal hold, password hash).
pub fn get_record(conn: &mut Conn<'_>, tenant: &TenantId, id: &str) -> Result<Option<UserRecord>> {
    let row: Option<RecordRow> = with_conn!(conn, |c| {
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::id.eq(id))
            .select((
                resource_columns!(),
                (
                    users::user_name,
                    users::external_id,
                    users::active,
                    users::lifecycle,
                    users::origin,
                    users::legal_hold,
                    users::password_hash,
                ),
            ))
            .get_result(&mut **c)
            .optional()?
    });
    let Some((resource, rest)) = row else {
        return Ok(None);
    };
    let (user_name, external_id, active, lifecycle, origin, legal_hold, password_hash) = rest;
    Ok(Some(UserRecord {
        stored: to_stored(resource)?,
        user_name,
        external_id,
        active,
        lifecycle,
        origin: Origin::parse(&origin),
        legal_hold,
        password_hash,
    }))
}

/// After an `UPDATE … WHERE version = ?` matched nothing: was the user missing (or deleted by
/// the provider, see [`hide`]), or stale?
pub(super) fn missing_or_stale(conn: &mut Conn<'_>, tenant: &TenantId, id: &str) -> StoreError {
    let current: Result<Option<i64>> = with_conn!(conn, |c| {
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::id.eq(id))
            .filter(users::deleted_at.is_null())
            .select(users::version)
            .get_result(&mut **c)
            .optional()
            .map_err(StoreError::from)
    });
    match current {
        Ok(Some(current)) => StoreError::VersionMismatch { current },
        Ok(None) => not_found(id),
        Err(e) => e,
    }
}

/// Replaces the user's document (PUT, or the result of a PATCH). With `expected_version`,
/// the write only happens if the stored version still is that one (`VersionMismatch`
/// otherwise); without, it always happens. Either way the version goes up by one. The
/// `lifecycle`, `origin` and `legal_hold` columns are left alone (policy sets them).
///
/// [`prepare_replace`] then [`replace_prepared`]; a caller on SQLite's writer thread should
/// prepare first, on its own thread.
#[allow(
    clippy::too_many_arguments,
    reason = "one write, stated in full by the caller"
)]
pub fn replace(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    id: &str,
    expected_version: Option<i64>,
    resource: Value,
    password: PasswordChange,
    now: NaiveDateTime,
) -> Result<StoredResource> {
    let prepared = prepare_replace(registry, resource)?;
    replace_prepared(conn, tenant, id, expected_version, prepared, password, now)
        .map(|replaced| replaced.stored)
}

/// Sets the one-word lifecycle column, and `active` in the `provider_active` column, the
/// `active` column and the document; sign-in is allowed only for `active`. When `active`
/// changes the resource changed, so the version and `updated_at` are bumped and the search
/// document rewritten; a lifecycle-only change (e.g. `pending_deactivation` → `deactivated`
/// for a user already shown inactive) keeps the version. Returns the user as it now is.
///
/// The older, one-word form of [`crate::lifecycle::save_resource`]: it clears the full state
/// (`lifecycle_state`), which [`crate::lifecycle::load`] then derives from the word, the
/// user's open deactivation job and the legal hold. Policy code should call
/// [`crate::lifecycle::save_resource`], which keeps due times and reasons.
#[allow(
    clippy::too_many_arguments,
    reason = "one write, stated in full by the caller"
)]
pub fn set_lifecycle(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    id: &str,
    lifecycle: &str,
    active: bool,
    now: NaiveDateTime,
) -> Result<StoredResource> {
    if lifecycle.is_empty() {
        return Err(StoreError::Invalid(
            "a lifecycle state must not be empty".into(),
        ));
    }
    // Setting the lifecycle first also locks the row (PostgreSQL) for the rest of the
    // transaction, so the read-modify-write of `active` below can't interleave.
    let row: Option<(ResourceRow, bool)> = with_conn!(conn, |c| {
        cached!(
            diesel::update(
                users::table
                    .filter(users::tenant_id.eq(tenant.as_str()))
                    .filter(users::id.eq(id)),
            )
            .set((
                users::lifecycle.eq(lifecycle),
                users::lifecycle_state.eq(None::<String>),
                users::provider_active.eq(active),
                users::sign_in_allowed.eq(lifecycle == LIFECYCLE_ACTIVE),
            ))
            .returning((resource_columns!(), users::active))
        )
        .get_result(&mut **c)
        .optional()?
    });
    let Some((row, was_active)) = row else {
        return Err(not_found(id));
    };
    let stored = to_stored(row)?;
    if was_active == active
        && stored.resource.get("active").and_then(Value::as_bool) == Some(active)
    {
        return Ok(stored);
    }
    set_document_active(conn, registry, tenant, stored, active, now)
}

/// Puts the user on legal hold or releases it. Not part of the SCIM document, so the version
/// stays.
pub fn set_legal_hold(conn: &mut Conn<'_>, tenant: &TenantId, id: &str, hold: bool) -> Result<()> {
    let n = with_conn!(conn, |c| {
        cached!(
            diesel::update(
                users::table
                    .filter(users::tenant_id.eq(tenant.as_str()))
                    .filter(users::id.eq(id)),
            )
            .set(users::legal_hold.eq(hold))
            .returning(users::version)
        )
        .load::<i64>(&mut **c)?
        .len()
    });
    if n == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

/// Deletes the user (and its email rows), and removes it from every group in the same
/// transaction; those groups' version and `updated_at` are bumped, because their membership
/// changed (RFC 7644: a group's ETag must change when its members do).
pub fn delete(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    id: &str,
    expected_version: Option<i64>,
    now: NaiveDateTime,
) -> Result<()> {
    let (check, any_version) = (expected_version.unwrap_or(0), expected_version.is_none());
    let n = with_conn!(conn, |c| {
        diesel::delete(
            users::table
                .filter(users::tenant_id.eq(tenant.as_str()))
                .filter(users::id.eq(id))
                .filter(users::version.eq(check).or(any_version.into_sql::<Bool>())),
        )
        .execute(&mut **c)?
    });
    if n == 0 {
        return Err(missing_or_stale(conn, tenant, id));
    }
    members::remove_member_everywhere(conn, tenant, id, now).map(drop)
}

/// For each user id, the groups it is a direct member of (the read-only User `groups`
/// attribute, derived from membership at read time), in one query per 500 ids.
pub fn groups_of(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_ids: &[String],
) -> Result<HashMap<String, Vec<GroupRef>>> {
    members::groups_of(conn, tenant, user_ids)
}

/// How many users the tenant has.
pub fn count(conn: &mut Conn<'_>, tenant: &TenantId) -> Result<i64> {
    let n: i64 = with_conn!(conn, |c| {
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .count()
            .get_result(&mut **c)?
    });
    Ok(n)
}

/// A provider DELETE inside the deactivation delay: the user disappears from SCIM at once
/// (reads, lists, filters and group memberships, which are removed as a DELETE would), but its
/// row and data stay until they are purged with [`delete`]: by the deactivation job, or from
/// `purge_after` on (see [`due_purges`]). `NotFound` when the tenant has no such visible user.
pub fn hide(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    id: &str,
    now: NaiveDateTime,
    purge_after: NaiveDateTime,
) -> Result<Hidden> {
    let version = with_conn!(conn, |c| {
        cached!(
            diesel::update(
                users::table
                    .filter(users::tenant_id.eq(tenant.as_str()))
                    .filter(users::id.eq(id))
                    .filter(users::deleted_at.is_null()),
            )
            .set((
                users::deleted_at.eq(Some(now)),
                users::purge_after.eq(Some(purge_after)),
            ))
            .returning(users::version)
        )
        .load::<i64>(&mut **c)?
        .pop()
    });
    let Some(version) = version else {
        return Err(not_found(id));
    };
    let groups = members::remove_member_everywhere(conn, tenant, id, now)?;
    Ok(Hidden { version, groups })
}

/// What [`hide`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hidden {
    /// The user's version, which hiding keeps: read by the UPDATE that hid the row (holding
    /// its lock on PostgreSQL), so a DELETE's `If-Match` compares with the latest version
    /// without reading the user again.
    pub version: i64,
    /// The groups the user left.
    pub groups: Vec<String>,
}

/// Whether the user was deleted by the provider and waits for its purge.
pub fn is_hidden(conn: &mut Conn<'_>, tenant: &TenantId, id: &str) -> Result<bool> {
    let found: Option<Option<NaiveDateTime>> = with_conn!(conn, |c| {
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::id.eq(id))
            .select(users::deleted_at)
            .get_result(&mut **c)
            .optional()?
    });
    Ok(matches!(found, Some(Some(_))))
}

/// Undoes [`hide`] when the provider creates the user again before the purge: the account and
/// its data were never destroyed, so they come back (the caller then replaces the document and
/// reactivates through the policy). Returns whether a hidden user was restored.
pub fn unhide(conn: &mut Conn<'_>, tenant: &TenantId, id: &str) -> Result<bool> {
    let n = with_conn!(conn, |c| {
        cached!(
            diesel::update(
                users::table
                    .filter(users::tenant_id.eq(tenant.as_str()))
                    .filter(users::id.eq(id))
                    .filter(users::deleted_at.is_not_null()),
            )
            .set((
                users::deleted_at.eq(None::<NaiveDateTime>),
                users::purge_after.eq(None::<NaiveDateTime>),
            ))
            .returning(users::version)
        )
        .load::<i64>(&mut **c)?
        .len()
    });
    Ok(n > 0)
}
