//! Groups, scoped by tenant: the `groups` row (resource JSON without members, search
//! document, indexed columns). Membership lives in `group_members` ([`crate::members`]).
//!
//! displayName is unique per tenant ignoring case (a folded key carries the unique index).
//! Every write checks and bumps `version` in its `UPDATE`, and a membership change is a write
//! of the group: one version bump and `updated_at` per request, whatever it did to members.
//! Reading a group ([`get`]) never touches `group_members`.

use chrono::NaiveDateTime;
use diesel::IntoSql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use scim_core::filter::eval::fold_case;
use scim_core::patch::{Member, MemberOp};
use scim_core::schema::{ResourceType, SchemaRegistry};
use serde_json::Value;

use crate::conn::Conn;
use crate::error::{Result, StoreError, check_indexed, classify};
use crate::keyed::cached;
use crate::members;
use crate::model::{StoredResource, TenantId};
use crate::search::search_document;
use crate::stamp::Stamp;
use crate::with_conn;

pub use crate::members::{GroupRef, groups_for_member, member_count, members};

/// A group to insert. The server chose the id and prepared the document.
#[derive(Debug, Clone)]
pub struct NewGroup {
    /// Server-assigned id.
    pub id: String,
    /// Canonical document from `scim_core::resource::prepare`, without `id`, `meta` and
    /// `members`.
    pub resource: Value,
    /// Initial members (each must be a user or group of the tenant).
    pub members: Vec<Member>,
    /// Creation time (UTC).
    pub now: NaiveDateTime,
}

/// Everything a group write stores, derived from the document once.
struct Columns {
    display_name: String,
    display_name_key: String,
    external_id: Option<String>,
    resource: String,
    search: Value,
}

fn group_type(registry: &SchemaRegistry) -> Result<&ResourceType> {
    registry
        .resource_type("Group")
        .ok_or_else(|| StoreError::Invalid("the schema registry has no Group resource type".into()))
}

/// Checks the document and derives the columns. `id`, `meta` and `members` are dropped: the
/// server stamps the first two, and members are rows, never part of the stored JSON.
fn columns(registry: &SchemaRegistry, mut doc: Value) -> Result<(Value, Columns)> {
    let obj = doc
        .as_object_mut()
        .ok_or_else(|| StoreError::Invalid("a Group resource must be a JSON object".into()))?;
    for k in ["id", "meta", "members"] {
        obj.remove(k);
    }
    let display_name = match obj.get("displayName") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(StoreError::Invalid(
                "a Group needs a non-empty displayName".into(),
            ));
        }
    };
    let external_id = obj
        .get("externalId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let display_name_key = fold_case(&display_name).into_owned();
    check_indexed("displayName", &display_name_key)?;
    check_indexed("externalId", external_id.as_deref().unwrap_or(""))?;
    let search = search_document(registry, group_type(registry)?, &doc);
    let cols = Columns {
        display_name_key,
        display_name,
        external_id,
        resource: doc.to_string(),
        search,
    };
    Ok((doc, cols))
}

fn not_found(id: &str) -> StoreError {
    StoreError::NotFound {
        resource_type: "Group",
        id: id.to_string(),
    }
}

/// Inserts a group at version 1 and its members. A displayName another group of the tenant
/// holds in any case is `Conflict { attribute: "displayName" }`; a member that is not a user
/// or group of this tenant is `Invalid`.
pub fn insert(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    new: NewGroup,
) -> Result<StoredResource> {
    let (doc, cols) = columns(registry, new.resource)?;
    with_conn!(conn, |c| {
        diesel::insert_into(groups::table)
            .values((
                groups::tenant_id.eq(tenant.as_str()),
                groups::id.eq(&new.id),
                groups::display_name.eq(&cols.display_name),
                groups::display_name_key.eq(&cols.display_name_key),
                groups::external_id.eq(cols.external_id.as_deref()),
                groups::resource.eq(&cols.resource),
                groups::search.eq(search_value(&cols.search)),
                groups::version.eq(1_i64),
                groups::created_at.eq(new.now),
                groups::updated_at.eq(new.now),
            ))
            .execute(&mut **c)
            .map_err(|e| classify(e, Some(("displayName", &cols.display_name))))?;
    });
    members::add(conn, tenant, &new.id, &new.members)?;
    Ok(StoredResource {
        id: new.id,
        version: 1,
        created_at: new.now,
        updated_at: new.now,
        resource: doc,
    })
}

/// Timestamps as [`Stamp`], which reads SQLite's text without chrono's parser.
type ResourceRow = (String, i64, Stamp, Stamp, String);

fn to_stored((id, version, created_at, updated_at, text): ResourceRow) -> Result<StoredResource> {
    let resource = serde_json::from_str(&text).map_err(|e| {
        StoreError::Database(format!("group {id} has unreadable resource JSON: {e}"))
    })?;
    Ok(StoredResource {
        id,
        version,
        created_at: created_at.0,
        updated_at: updated_at.0,
        resource,
    })
}

/// The group with this id in this tenant, without members (read them with
/// [`members::members`], paged).
pub fn get(conn: &mut Conn<'_>, tenant: &TenantId, id: &str) -> Result<Option<StoredResource>> {
    let row: Option<ResourceRow> = with_conn!(conn, |c| {
        groups::table
            .filter(groups::tenant_id.eq(tenant.as_str()))
            .filter(groups::id.eq(id))
            .select((
                groups::id,
                groups::version,
                groups::created_at,
                groups::updated_at,
                groups::resource,
            ))
            .get_result(&mut **c)
            .optional()?
    });
    row.map(to_stored).transpose()
}

/// The group whose displayName equals `name` ignoring case (the folded-key index).
pub fn by_display_name(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    name: &str,
) -> Result<Option<StoredResource>> {
    let key = fold_case(name);
    let row: Option<ResourceRow> = with_conn!(conn, |c| {
        groups::table
            .filter(groups::tenant_id.eq(tenant.as_str()))
            .filter(groups::display_name_key.eq(key.as_ref()))
            .select((
                groups::id,
                groups::version,
                groups::created_at,
                groups::updated_at,
                groups::resource,
            ))
            .get_result(&mut **c)
            .optional()?
    });
    row.map(to_stored).transpose()
}

/// After an `UPDATE … WHERE version = ?` matched nothing: was the group missing, or stale?
fn missing_or_stale(conn: &mut Conn<'_>, tenant: &TenantId, id: &str) -> StoreError {
    let current: Result<Option<i64>> = with_conn!(conn, |c| {
        groups::table
            .filter(groups::tenant_id.eq(tenant.as_str()))
            .filter(groups::id.eq(id))
            .select(groups::version)
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

/// Bumps the group's version and `updated_at` (checking `expected_version` when given) and,
/// when `cols` is given, rewrites its document and columns; returns the row as written. On
/// PostgreSQL the `UPDATE` also locks the row for the rest of the transaction, so concurrent
/// membership changes of one group serialize on it instead of losing a version bump.
fn bump(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    id: &str,
    expected_version: Option<i64>,
    cols: Option<&Columns>,
    now: NaiveDateTime,
) -> Result<StoredResource> {
    let (check, any_version) = (expected_version.unwrap_or(0), expected_version.is_none());
    let conflict = cols.map(|c| ("displayName", c.display_name.as_str()));
    let with_document = cols.is_some();
    let row: Option<ResourceRow> = with_conn!(conn, |c| {
        let doc_columns = cols.map(|cols| {
            (
                groups::display_name.eq(cols.display_name.as_str()),
                groups::display_name_key.eq(cols.display_name_key.as_str()),
                groups::external_id.eq(cols.external_id.as_deref()),
                groups::resource.eq(cols.resource.as_str()),
                groups::search.eq(search_value(&cols.search)),
            )
        });
        let update = diesel::update(
            groups::table
                .filter(groups::tenant_id.eq(tenant.as_str()))
                .filter(groups::id.eq(id))
                .filter(groups::version.eq(check).or(any_version.into_sql::<Bool>())),
        )
        .set((
            groups::version.eq(groups::version + 1),
            groups::updated_at.eq(now),
            doc_columns,
        ))
        .returning((
            groups::id,
            groups::version,
            groups::created_at,
            groups::updated_at,
            groups::resource,
        ));
        // Two texts (a membership-only bump, and one that rewrites the document), two keys.
        let row = if with_document {
            cached!(update).get_result(&mut **c)
        } else {
            cached!(update).get_result(&mut **c)
        };
        row.optional().map_err(|e| classify(e, conflict))?
    });
    match row {
        Some(row) => to_stored(row),
        None => Err(missing_or_stale(conn, tenant, id)),
    }
}

/// Replaces the group's document (PUT). `members: Some(list)` makes the membership exactly
/// `list`, written as a diff against `group_members` (rows not in the list deleted, new ones
/// inserted, nothing else rewritten); `None` leaves membership alone. Version checked when
/// `expected_version` is given, and bumped by one.
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
    members: Option<Vec<Member>>,
    now: NaiveDateTime,
) -> Result<StoredResource> {
    let (_, cols) = columns(registry, resource)?;
    let stored = bump(conn, tenant, id, expected_version, Some(&cols), now)?;
    if let Some(list) = members {
        members::replace_all(conn, tenant, id, &list)?;
    }
    Ok(stored)
}

/// Writes a PATCH: `resource` is the document core's `patch::apply` produced (without
/// members), or `None` when only membership changed — then the document, its columns and
/// search document are not rewritten, so concurrent member additions never overwrite each
/// other's attribute changes. `member_ops` are applied in order as SQL (see
/// [`crate::members`]). Version checked when `expected_version` is given, and bumped by one —
/// unless only membership was asked to change and no membership row changed, which writes
/// nothing and keeps the version.
///
/// Every call bumps the version, even with no ops and no document: the server skips the
/// write when core's `ChangeSet::is_empty` says the request changed nothing.
///
/// On error the caller's transaction must be rolled back (`Store::write` does), since the
/// version may already have been bumped.
#[allow(
    clippy::too_many_arguments,
    reason = "one write, stated in full by the caller"
)]
pub fn patch(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    id: &str,
    expected_version: Option<i64>,
    resource: Option<Value>,
    member_ops: &[MemberOp],
    now: NaiveDateTime,
) -> Result<StoredResource> {
    patch_reporting(
        conn,
        registry,
        tenant,
        id,
        expected_version,
        resource,
        member_ops,
        now,
    )
    .map(|(stored, _)| stored)
}

/// [`patch`], also saying whether anything was written (false when only membership was asked
/// to change and no row changed), so callers record and announce only real changes.
#[allow(
    clippy::too_many_arguments,
    reason = "one write, stated in full by the caller"
)]
pub fn patch_reporting(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    id: &str,
    expected_version: Option<i64>,
    resource: Option<Value>,
    member_ops: &[MemberOp],
    now: NaiveDateTime,
) -> Result<(StoredResource, bool)> {
    let cols = match resource {
        Some(doc) => Some(columns(registry, doc)?.1),
        None => None,
    };
    let changed = members::apply_ops(conn, registry, tenant, id, member_ops)?;
    if cols.is_none() && changed == 0 {
        // Membership ops that changed no row (a retried add, a removal of a non-member):
        // nothing to write, so the version stays — only the precondition is still checked.
        let current = get(conn, tenant, id)?.ok_or_else(|| not_found(id))?;
        if let Some(v) = expected_version
            && v != current.version
        {
            return Err(StoreError::VersionMismatch {
                current: current.version,
            });
        }
        return Ok((current, false));
    }
    bump(conn, tenant, id, expected_version, cols.as_ref(), now).map(|s| (s, true))
}

/// Deletes the group: its own membership rows go with it (foreign-key cascade), and it is
/// removed from every group it was a member of, whose version and `updated_at` are bumped.
/// Returns the ids of those groups.
pub fn delete(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    id: &str,
    expected_version: Option<i64>,
    now: NaiveDateTime,
) -> Result<Vec<String>> {
    let (check, any_version) = (expected_version.unwrap_or(0), expected_version.is_none());
    let n = with_conn!(conn, |c| {
        diesel::delete(
            groups::table
                .filter(groups::tenant_id.eq(tenant.as_str()))
                .filter(groups::id.eq(id))
                .filter(groups::version.eq(check).or(any_version.into_sql::<Bool>())),
        )
        .execute(&mut **c)?
    });
    if n == 0 {
        return Err(missing_or_stale(conn, tenant, id));
    }
    members::remove_member_everywhere(conn, tenant, id, now)
}

/// How many groups the tenant has.
pub fn count(conn: &mut Conn<'_>, tenant: &TenantId) -> Result<i64> {
    let n: i64 = with_conn!(conn, |c| {
        groups::table
            .filter(groups::tenant_id.eq(tenant.as_str()))
            .count()
            .get_result(&mut **c)?
    });
    Ok(n)
}
