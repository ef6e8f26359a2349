//! Organizations and each user's effective entitlements (organization, roles, admin tier,
//! mapped), as `scim_core::policy::EntitlementRules` computes them.
//!
//! The store keeps what was last computed, so "apply mappings" can diff new against old
//! ([`scim_core::policy::diff`]) and the admin API can show a user's entitlements without
//! recomputing. [`users_for_mappings`] feeds that recomputation a page of users at a time,
//! with everything the rules read (document, direct groups, stored entitlements, lifecycle),
//! in a fixed number of queries per page.
//!
//! Organization and role names are case-sensitive, as the rules compare them.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;
use scim_core::policy::{AdminTier, Entitlements, UserLifecycle};
use serde_json::Value;

use crate::conn::Conn;
use crate::error::{Result, StoreError};
use crate::flat::Row;
use crate::keyed::cached;
use crate::keyed::keyed;
use crate::lifecycle::{LifecycleRow, from_row, lifecycle_columns};
use crate::model::TenantId;
use crate::stamp::Stamp;
use crate::users::{not_found, parse_resource};
use crate::{members, with_conn};

/// The tenant's organizations, by name.
pub fn organizations(conn: &mut Conn<'_>, tenant: &TenantId) -> Result<BTreeSet<String>> {
    let names: Vec<String> = with_conn!(conn, |c| {
        organizations::table
            .filter(organizations::tenant_id.eq(tenant.as_str()))
            .select(organizations::name)
            .load(&mut **c)?
    });
    Ok(names.into_iter().collect())
}

/// Which of `names` are organizations of the tenant: one key lookup per name, for a caller
/// that knows which few names it needs (a user's create asks about at most two,
/// `EntitlementRules::organizations_consulted`), where [`organizations`] reads every row.
pub fn organizations_named<S: AsRef<str>>(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    names: &[S],
) -> Result<BTreeSet<String>> {
    let mut found = BTreeSet::new();
    for name in names {
        let name = name.as_ref();
        // A key lookup returns at most one row; `load` rather than `first`, whose `LIMIT`
        // made diesel prepare the statement again on every call (~27 000 instructions).
        let hit: Vec<String> = with_conn!(conn, |c| {
            organizations::table
                .filter(organizations::tenant_id.eq(tenant.as_str()))
                .filter(organizations::name.eq(name))
                .select(organizations::name)
                .load(&mut **c)?
        });
        found.extend(hit);
    }
    Ok(found)
}

/// Creates the organizations of `names` that don't exist yet (configured ones when settings
/// are saved, or those an attribute names, when `Entitlements::organization_created` says so)
/// and returns the names it created, for the sync log. Idempotent, and safe when two
/// transactions create the same name at once. A blank name is `Invalid`.
///
/// This is the only write to `organizations`: an organization, once committed, is never
/// deleted or renamed, which lets the server remember which ones exist (`known_orgs` in
/// scim-server) instead of looking them up on every create.
pub fn ensure_organizations<I, S>(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    names: I,
    now: NaiveDateTime,
) -> Result<Vec<String>>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let names: BTreeSet<String> = names.into_iter().map(|n| n.as_ref().to_string()).collect();
    if names.iter().any(|n| n.trim().is_empty()) {
        return Err(StoreError::Invalid(
            "an organization name must not be empty".into(),
        ));
    }
    let mut created = Vec::new();
    for name in names {
        let n = with_conn!(conn, |c| {
            diesel::insert_into(organizations::table)
                .values((
                    organizations::tenant_id.eq(tenant.as_str()),
                    organizations::name.eq(&name),
                    organizations::created_at.eq(Stamp(now)),
                ))
                .on_conflict_do_nothing()
                .execute(&mut **c)?
        });
        if n > 0 {
            created.push(name);
        }
    }
    Ok(created)
}

/// One `user_entitlements` row without its tenant and time.
type EntitlementRow = (String, String, String, String, bool);

fn to_entitlements(
    (user_id, organization, roles, tier, mapped): EntitlementRow,
) -> Result<(String, Entitlements)> {
    let bad = |what: &str, e: serde_json::Error| {
        StoreError::Database(format!("user {user_id} has unreadable stored {what}: {e}"))
    };
    let roles: BTreeSet<String> = serde_json::from_str(&roles).map_err(|e| bad("roles", e))?;
    let admin_tier: AdminTier =
        serde_json::from_value(Value::String(tier)).map_err(|e| bad("admin tier", e))?;
    let entitlements = Entitlements {
        organization,
        // Stored means the organization exists now.
        organization_created: false,
        roles,
        admin_tier,
        mapped,
    };
    Ok((user_id, entitlements))
}

/// The user's stored entitlements, or `None` when none were computed yet (or there is no such
/// user). `organization_created` is always false: a stored organization exists.
pub fn get(conn: &mut Conn<'_>, tenant: &TenantId, user_id: &str) -> Result<Option<Entitlements>> {
    let mut found = load_many(conn, tenant, &[user_id.to_string()])?;
    Ok(found.remove(user_id))
}

/// Ids per `IN (…)` list, well under every backend's bind-parameter limit.
const CHUNK: usize = 500;

fn load_many(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_ids: &[String],
) -> Result<HashMap<String, Entitlements>> {
    let mut out = HashMap::with_capacity(user_ids.len());
    for chunk in user_ids.chunks(CHUNK) {
        let rows: Vec<EntitlementRow> = with_conn!(conn, |c| {
            user_entitlements::table
                .filter(user_entitlements::tenant_id.eq(tenant.as_str()))
                .filter(user_entitlements::user_id.eq_any(chunk))
                .select((
                    user_entitlements::user_id,
                    user_entitlements::organization,
                    user_entitlements::roles,
                    user_entitlements::admin_tier,
                    user_entitlements::mapped,
                ))
                .load(&mut **c)?
        });
        for row in rows {
            let (id, e) = to_entitlements(row)?;
            out.insert(id, e);
        }
    }
    Ok(out)
}

/// Stores the user's entitlements (replacing the previous ones). Also sets the user's
/// `mapped` column, so the lifecycle record (`UserLifecycle::mapped`) never disagrees with the
/// stored entitlements, and creates the organization when `organization_created` says it is
/// new. `NotFound` when the tenant has no such user.
pub fn set(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_id: &str,
    entitlements: &Entitlements,
    now: NaiveDateTime,
) -> Result<()> {
    let n = with_conn!(conn, |c| {
        cached!(
            diesel::update(
                users::table
                    .filter(users::tenant_id.eq(tenant.as_str()))
                    .filter(users::id.eq(user_id)),
            )
            .set(users::mapped.eq(entitlements.mapped))
            .returning(users::version)
        )
        .load::<i64>(&mut **c)?
        .len()
    });
    if n == 0 {
        return Err(not_found(user_id));
    }
    write_row(conn, tenant, user_id, entitlements, now, true)
}

/// [`set`] for a user inserted in this transaction, whose users row says `row_mapped`: the
/// entitlements row is a plain INSERT and the users row is updated only when `mapped`
/// differs. diesel prepares an upsert and an UPDATE afresh on every call (it never caches
/// them), and on SQLite every create runs this on the one writer thread: the upsert and the
/// UPDATE were 15% of its time per create (BENCHMARKS.md).
pub fn set_new(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_id: &str,
    entitlements: &Entitlements,
    row_mapped: bool,
    now: NaiveDateTime,
) -> Result<()> {
    if entitlements.mapped != row_mapped {
        return set(conn, tenant, user_id, entitlements, now);
    }
    write_row(conn, tenant, user_id, entitlements, now, false)
}

/// The organization when it is new, then the entitlements row: replacing the previous one
/// when `replace`, else a plain INSERT (the one diesel keeps prepared).
fn write_row(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_id: &str,
    entitlements: &Entitlements,
    now: NaiveDateTime,
    replace: bool,
) -> Result<()> {
    if entitlements.organization_created {
        ensure_organizations(conn, tenant, [&entitlements.organization], now)?;
    }
    let roles = serde_json::to_string(&entitlements.roles)
        .map_err(|e| StoreError::Database(format!("cannot serialize roles: {e}")))?;
    let tier = entitlements.admin_tier.as_str();
    /// The two statements' prepared-cache keys (see [`keyed`]).
    struct Upsert;
    struct Insert;
    with_conn!(conn, |c| {
        if replace {
            let insert = diesel::insert_into(user_entitlements::table).values((
                user_entitlements::tenant_id.eq(tenant.as_str()),
                user_entitlements::user_id.eq(user_id),
                user_entitlements::organization.eq(&entitlements.organization),
                user_entitlements::roles.eq(&roles),
                user_entitlements::admin_tier.eq(tier),
                user_entitlements::mapped.eq(entitlements.mapped),
                user_entitlements::updated_at.eq(Stamp(now)),
            ));
            keyed::<Upsert, _>(
                insert
                    .on_conflict((user_entitlements::tenant_id, user_entitlements::user_id))
                    .do_update()
                    .set((
                        user_entitlements::organization
                            .eq(excluded(user_entitlements::organization)),
                        user_entitlements::roles.eq(excluded(user_entitlements::roles)),
                        user_entitlements::admin_tier.eq(excluded(user_entitlements::admin_tier)),
                        user_entitlements::mapped.eq(excluded(user_entitlements::mapped)),
                        user_entitlements::updated_at.eq(excluded(user_entitlements::updated_at)),
                    ))
                    .returning(user_entitlements::mapped),
            )
            .load::<bool>(&mut **c)?;
        } else {
            Row::<Insert, _>::new(user_entitlements::table, 7)
                .set(user_entitlements::tenant_id, tenant.as_str())
                .set(user_entitlements::user_id, user_id)
                .set(user_entitlements::organization, &entitlements.organization)
                .set(user_entitlements::roles, &roles)
                .set(user_entitlements::admin_tier, tier)
                .set(user_entitlements::mapped, entitlements.mapped)
                .set(user_entitlements::updated_at, Stamp(now))
                .execute(&mut **c)?;
        }
    });
    Ok(())
}

/// One user as "apply mappings" needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingRow {
    /// The user's id.
    pub user_id: String,
    /// The stored SCIM document (for attribute-based organization mapping).
    pub document: Value,
    /// displayNames of the groups the user is a direct member of, sorted ignoring case.
    pub groups: Vec<String>,
    /// What was stored last time, `None` if never computed.
    pub entitlements: Option<Entitlements>,
    /// The user's lifecycle record.
    pub lifecycle: UserLifecycle,
}

/// A page of the tenant's users in id order, after `after` (exclusive; `None` starts at the
/// beginning), at most `limit`: a page shorter than `limit` is the last. Three queries per
/// page of up to 500 users (users, their stored entitlements, their groups), so
/// recomputing a tenant costs the same per user whatever its size.
pub fn users_for_mappings(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<MappingRow>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let after = after.unwrap_or("");
    let rows: Vec<(String, String, LifecycleRow)> = with_conn!(conn, |c| {
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::id.gt(after))
            .order(users::id.asc())
            .limit(limit)
            .select((users::id, users::resource, lifecycle_columns!()))
            .load(&mut **c)?
    });
    let ids: Vec<String> = rows.iter().map(|(id, _, _)| id.clone()).collect();
    let mut stored = load_many(conn, tenant, &ids)?;
    let mut groups = members::groups_of(conn, tenant, &ids)?;
    let mut page = Vec::with_capacity(rows.len());
    for (user_id, text, lifecycle) in rows {
        let document = parse_resource(&user_id, &text)?;
        let lifecycle = from_row(conn, tenant, &user_id, lifecycle)?;
        let groups = groups
            .remove(&user_id)
            .unwrap_or_default()
            .into_iter()
            .map(|g| g.display)
            .collect();
        page.push(MappingRow {
            entitlements: stored.remove(&user_id),
            user_id,
            document,
            groups,
            lifecycle,
        });
    }
    Ok(page)
}
