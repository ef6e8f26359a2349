//! Group membership: the `group_members` table, written as a diff.
//!
//! Architecture invariant: no membership write reads the whole group. Adding members costs one
//! indexed existence check per new member (is it a user or group of this tenant?) and one
//! `INSERT … ON CONFLICT DO NOTHING`; removing by id is an indexed `DELETE`; so adding one
//! member to a group of 100 000 costs what it costs for a group of 10. The only operations
//! that read a group's rows are the ones whose input is the whole list anyway (replace all) and
//! a `RemoveWhere` filter other than `value eq "…"` (rare; evaluated in Rust with core's own
//! evaluator, page by page, so it agrees with core on case folding by construction).
//!
//! The group's own row (version, `updated_at`) is bumped by the caller in `groups`, once per
//! request; these functions only touch `group_members` — except `remove_member_everywhere`,
//! which also bumps every group it removes the member from, because those groups changed.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use scim_core::filter::eval::fold_case;
use scim_core::filter::{CompareOp, Filter, Literal};
use scim_core::patch::{Member, MemberOp};
use scim_core::schema::{AttributeDef, SchemaRegistry};

use crate::conn::Conn;
use crate::error::{Result, StoreError};
use crate::keyed::cached;
use crate::model::TenantId;
use crate::with_conn;

/// Ids per `IN (…)` list: far below SQLite's and PostgreSQL's bind limits.
const CHUNK: usize = 500;
/// Rows per page when a `RemoveWhere` filter has to be evaluated over a group's members.
const SCAN_PAGE: i64 = 1000;

/// A group as a member sees it: the User `groups` attribute (`value`, `display`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    /// The group's id.
    pub id: String,
    /// The group's displayName.
    pub display: String,
}

/// A membership row ready to insert: the member's id, its resource type as found in the
/// store (`User`/`Group`, never the client's claim), and the display the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    member_id: String,
    member_type: &'static str,
    display: Option<String>,
}

/// A member's resource type as stored in `group_members.member_type`, read without allocating
/// a string: a group's members are read by the thousand (every 200 answer to a group PATCH, every
/// `GET /Groups` page), and one allocation less per row is ~7% of reading one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::FromSqlRow)]
pub enum MemberKind {
    /// A user.
    User,
    /// A nested group.
    Group,
}

impl MemberKind {
    /// The SCIM `type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::User => "User",
            MemberKind::Group => "Group",
        }
    }

    fn parse(text: &[u8]) -> diesel::deserialize::Result<Self> {
        match text {
            b"User" => Ok(MemberKind::User),
            b"Group" => Ok(MemberKind::Group),
            other => Err(format!(
                "group_members.member_type holds {:?}, not User or Group",
                String::from_utf8_lossy(other)
            )
            .into()),
        }
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for MemberKind {
    fn from_sql(
        mut value: <diesel::sqlite::Sqlite as diesel::backend::Backend>::RawValue<'_>,
    ) -> diesel::deserialize::Result<Self> {
        MemberKind::parse(value.read_text().as_bytes())
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for MemberKind {
    fn from_sql(
        value: <diesel::pg::Pg as diesel::backend::Backend>::RawValue<'_>,
    ) -> diesel::deserialize::Result<Self> {
        MemberKind::parse(value.as_bytes())
    }
}

/// One member as stored: what a page of members is streamed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    /// The member's id.
    pub value: String,
    /// What the member is, as found in the store when it was added.
    pub kind: MemberKind,
    /// The display the client sent, if any.
    pub display: Option<String>,
}

impl From<MemberRow> for Member {
    fn from(row: MemberRow) -> Member {
        Member {
            value: row.value,
            display: row.display,
            kind: Some(row.kind.as_str().to_string()),
        }
    }
}

/// A page of the group's members, ordered by member id, after `after` (exclusive; `None`
/// starts at the beginning). `type` is the stored `User`/`Group`. Another tenant's group, or
/// none, has no members.
pub fn members(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    group_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Member>> {
    Ok(member_rows(conn, tenant, group_id, after, limit)?
        .into_iter()
        .map(Member::from)
        .collect())
}

/// [`members`] as stored rows, for a caller that writes them out (the response stream) and
/// so needs no `type` string per member.
pub fn member_rows(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    group_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<MemberRow>> {
    // Member ids are never empty, so "after the empty string" is "from the start".
    let after = after.unwrap_or("");
    let rows: Vec<(String, MemberKind, Option<String>)> = with_conn!(conn, |c| {
        group_members::table
            .filter(group_members::tenant_id.eq(tenant.as_str()))
            .filter(group_members::group_id.eq(group_id))
            .filter(group_members::member_id.gt(after))
            .order(group_members::member_id.asc())
            .limit(limit.max(0))
            .select((
                group_members::member_id,
                group_members::member_type,
                group_members::display,
            ))
            .load(&mut **c)?
    });
    Ok(rows
        .into_iter()
        .map(|(value, kind, display)| MemberRow {
            value,
            kind,
            display,
        })
        .collect())
}

/// How many members the group has: one row read, whatever the group's size. The count is kept
/// on the group's row by the database (triggers on `group_members`, migration
/// `000011_group_member_count`), so it moves with every write of a membership in the same
/// transaction, by whatever path. Another tenant's group, or none, has no members.
pub fn member_count(conn: &mut Conn<'_>, tenant: &TenantId, group_id: &str) -> Result<i64> {
    // `load`, not `first`: a primary-key read returns at most one row, and a bound `LIMIT`
    // made diesel prepare a statement again on every call elsewhere (`entitlements`, ~27 000
    // instructions).
    let n: Vec<i64> = with_conn!(conn, |c| {
        groups::table
            .filter(groups::tenant_id.eq(tenant.as_str()))
            .filter(groups::id.eq(group_id))
            .select(groups::member_count)
            .load(&mut **c)?
    });
    Ok(n.first().copied().unwrap_or(0))
}

/// The groups `member_id` (a user or a group) is a direct member of, by displayName.
pub fn groups_for_member(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    member_id: &str,
) -> Result<Vec<GroupRef>> {
    let mut map = groups_of(conn, tenant, &[member_id.to_string()])?;
    Ok(map.remove(member_id).unwrap_or_default())
}

/// For each of `member_ids`, the groups it is a direct member of (sorted by case-folded
/// displayName, then id — in Rust, so both backends agree whatever the database collation), in
/// one query per 500 ids: what a page of Users needs for their read-only `groups`
/// attribute. Every requested id is a key; ids in no group map to an empty list.
pub fn groups_of(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    member_ids: &[String],
) -> Result<HashMap<String, Vec<GroupRef>>> {
    let mut out: HashMap<String, Vec<GroupRef>> = member_ids
        .iter()
        .map(|id| (id.clone(), Vec::new()))
        .collect();
    for chunk in member_ids.chunks(CHUNK) {
        let rows: Vec<(String, String, String)> = match chunk {
            // One user (GET /Users/{id}, every write's response): `= ?` keeps the statement
            // in the prepared-statement cache, where `IN (…)` is prepared afresh each time.
            [one] => with_conn!(conn, |c| {
                group_members::table
                    .inner_join(
                        groups::table.on(groups::tenant_id
                            .eq(group_members::tenant_id)
                            .and(groups::id.eq(group_members::group_id))),
                    )
                    .filter(group_members::tenant_id.eq(tenant.as_str()))
                    .filter(group_members::member_id.eq(one))
                    .select((group_members::member_id, groups::id, groups::display_name))
                    .load(&mut **c)?
            }),
            _ => with_conn!(conn, |c| {
                group_members::table
                    .inner_join(
                        groups::table.on(groups::tenant_id
                            .eq(group_members::tenant_id)
                            .and(groups::id.eq(group_members::group_id))),
                    )
                    .filter(group_members::tenant_id.eq(tenant.as_str()))
                    .filter(group_members::member_id.eq_any(chunk))
                    .select((group_members::member_id, groups::id, groups::display_name))
                    .load(&mut **c)?
            }),
        };
        for (member, id, display) in rows {
            out.entry(member)
                .or_default()
                .push(GroupRef { id, display });
        }
    }
    for refs in out.values_mut() {
        sort_group_refs(refs);
    }
    Ok(out)
}

/// The order of a member's `groups`: case-folded displayName, then id, in Rust so both
/// backends agree whatever the database collation.
pub(crate) fn sort_group_refs(refs: &mut [GroupRef]) {
    refs.sort_by_cached_key(|g| (fold_case(&g.display).into_owned(), g.id.clone()));
}

/// Applies a PATCH's membership operations in request order, each as SQL on
/// `group_members` (see the module docs for what each costs).
pub(crate) fn apply_ops(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    group_id: &str,
    ops: &[MemberOp],
) -> Result<usize> {
    let mut changed = 0;
    for op in ops {
        changed += match op {
            MemberOp::Add(add) => {
                let rows = resolve(conn, tenant, group_id, add)?;
                insert(conn, tenant, group_id, &rows)?
            }
            MemberOp::Remove(ids) => delete_ids(conn, tenant, group_id, ids)?,
            MemberOp::RemoveAll => delete_all(conn, tenant, group_id)?,
            MemberOp::ReplaceAll(new) => replace_all(conn, tenant, group_id, new)?,
            MemberOp::RemoveWhere(filter) => {
                remove_where(conn, registry, tenant, group_id, filter)?
            }
        };
    }
    Ok(changed)
}

/// Inserts the members of a new group (validated like any addition).
pub(crate) fn add(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    group_id: &str,
    new: &[Member],
) -> Result<()> {
    let rows = resolve(conn, tenant, group_id, new)?;
    insert(conn, tenant, group_id, &rows).map(|_| ())
}

/// Makes the membership exactly `new`, as a diff: rows not in `new` are deleted, new ones
/// inserted (only those are validated: current members are valid by construction), and a
/// changed `display` is updated. Never delete-all-then-insert, so unchanged rows are not
/// rewritten and a PUT echoing the same list writes nothing to this table.
pub(crate) fn replace_all(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    group_id: &str,
    new: &[Member],
) -> Result<usize> {
    let current: Vec<(String, Option<String>)> = with_conn!(conn, |c| {
        group_members::table
            .filter(group_members::tenant_id.eq(tenant.as_str()))
            .filter(group_members::group_id.eq(group_id))
            .select((group_members::member_id, group_members::display))
            .load(&mut **c)?
    });
    let current: HashMap<String, Option<String>> = current.into_iter().collect();
    let mut seen = HashSet::new();
    let mut fresh = Vec::new();
    let mut redisplay = Vec::new();
    for m in new {
        if !seen.insert(m.value.as_str()) {
            continue;
        }
        match current.get(&m.value) {
            None => fresh.push(m.clone()),
            Some(old) if *old != m.display => redisplay.push(m),
            Some(_) => {}
        }
    }
    let gone: Vec<String> = current
        .keys()
        .filter(|id| !seen.contains(id.as_str()))
        .cloned()
        .collect();
    let mut changed = delete_ids(conn, tenant, group_id, &gone)?;
    let rows = resolve(conn, tenant, group_id, &fresh)?;
    changed += insert(conn, tenant, group_id, &rows)?;
    for m in redisplay {
        changed += with_conn!(conn, |c| {
            cached!(
                diesel::update(
                    group_members::table
                        .filter(group_members::tenant_id.eq(tenant.as_str()))
                        .filter(group_members::group_id.eq(group_id))
                        .filter(group_members::member_id.eq(&m.value)),
                )
                .set(group_members::display.eq(m.display.as_deref()))
                .returning(group_members::member_id)
            )
            .load::<String>(&mut **c)?
            .len()
        });
    }
    Ok(changed)
}

/// Removes `member_id` from every group of the tenant and bumps those groups' version and
/// `updated_at` (their membership changed, so their ETag must too). Used when a user or group
/// is deleted, in the same transaction. Returns the ids of the groups it left, whose change
/// the caller records (the sync log holds every change of a group).
pub(crate) fn remove_member_everywhere(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    member_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<String>> {
    let left = with_conn!(conn, |c| {
        let containing = group_members::table
            .filter(group_members::tenant_id.eq(tenant.as_str()))
            .filter(group_members::member_id.eq(member_id))
            .select(group_members::group_id);
        let left: Vec<String> = containing.load(&mut **c)?;
        cached!(
            diesel::update(
                groups::table
                    .filter(groups::tenant_id.eq(tenant.as_str()))
                    .filter(groups::id.eq_any(containing)),
            )
            .set((
                groups::version.eq(groups::version + 1),
                groups::updated_at.eq(now),
            ))
            .returning(groups::version)
        )
        .load::<i64>(&mut **c)?
        .len();
        diesel::delete(
            group_members::table
                .filter(group_members::tenant_id.eq(tenant.as_str()))
                .filter(group_members::member_id.eq(member_id)),
        )
        .execute(&mut **c)?;
        left
    });
    Ok(left)
}

/// Checks each member (deduplicated, first occurrence wins) is a user or group of this tenant
/// and not the group itself, and finds its type. Two indexed `IN` lookups per 500 members.
fn resolve(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    group_id: &str,
    members: &[Member],
) -> Result<Vec<Row>> {
    let mut seen = HashSet::new();
    let members: Vec<&Member> = members
        .iter()
        .filter(|m| seen.insert(m.value.as_str()))
        .collect();
    if members.iter().any(|m| m.value == group_id) {
        return Err(StoreError::Invalid(format!(
            "group {group_id} can't be a member of itself"
        )));
    }
    let mut users = HashSet::new();
    let mut groups = HashSet::new();
    for chunk in members.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|m| m.value.as_str()).collect();
        if let [one] = ids.as_slice() {
            // One member (Okta's and Entra's add): `= ?` statements stay in the prepared
            // cache, where an `IN (…)` list is parsed and planned afresh every time.
            match member_kind(conn, tenant, one)? {
                Some("User") => users.insert((*one).to_string()),
                Some(_) => groups.insert((*one).to_string()),
                None => false,
            };
            continue;
        }
        let (u, g): (Vec<String>, Vec<String>) = with_conn!(conn, |c| {
            let u = users::table
                .filter(users::tenant_id.eq(tenant.as_str()))
                .filter(users::id.eq_any(&ids))
                .filter(users::deleted_at.is_null())
                .select(users::id)
                .load(&mut **c)?;
            let g = if u.len() == ids.len() {
                Vec::new()
            } else {
                groups::table
                    .filter(groups::tenant_id.eq(tenant.as_str()))
                    .filter(groups::id.eq_any(&ids))
                    .select(groups::id)
                    .load(&mut **c)?
            };
            (u, g)
        });
        users.extend(u);
        groups.extend(g);
    }
    members
        .into_iter()
        .map(|m| {
            let member_type = if users.contains(&m.value) {
                "User"
            } else if groups.contains(&m.value) {
                "Group"
            } else {
                return Err(StoreError::Invalid(format!(
                    "member {} is not a user or group of this tenant",
                    m.value
                )));
            };
            Ok(Row {
                member_id: m.value.clone(),
                member_type,
                display: m.display.clone(),
            })
        })
        .collect()
}

/// Whether `id` is a user (`"User"`) or group (`"Group"`) of the tenant, or neither: the
/// one-member case of [`resolve`], in statements the prepared cache keeps.
fn member_kind(conn: &mut Conn<'_>, tenant: &TenantId, id: &str) -> Result<Option<&'static str>> {
    let (user, group): (Vec<String>, Vec<String>) = with_conn!(conn, |c| {
        let user: Vec<String> = users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::id.eq(id))
            .filter(users::deleted_at.is_null())
            .select(users::id)
            .load(&mut **c)?;
        let group = if user.is_empty() {
            groups::table
                .filter(groups::tenant_id.eq(tenant.as_str()))
                .filter(groups::id.eq(id))
                .select(groups::id)
                .load(&mut **c)?
        } else {
            Vec::new()
        };
        (user, group)
    });
    Ok(if !user.is_empty() {
        Some("User")
    } else if !group.is_empty() {
        Some("Group")
    } else {
        None
    })
}

/// Inserts rows, leaving members already present as they are (a retried add is harmless).
fn insert(conn: &mut Conn<'_>, tenant: &TenantId, group_id: &str, rows: &[Row]) -> Result<usize> {
    let mut n = 0;
    for chunk in rows.chunks(CHUNK) {
        n += with_conn!(conn, |c| {
            let mut values: Vec<_> = chunk
                .iter()
                .map(|r| {
                    (
                        group_members::tenant_id.eq(tenant.as_str()),
                        group_members::group_id.eq(group_id),
                        group_members::member_id.eq(r.member_id.as_str()),
                        group_members::member_type.eq(r.member_type),
                        group_members::display.eq(r.display.as_deref()),
                    )
                })
                .collect();
            let inserted = match values.pop() {
                // One row: a single-row INSERT, which the prepared cache keeps (a multi-row
                // insert is parsed afresh every time, whatever its length).
                Some(one) if values.is_empty() => diesel::insert_into(group_members::table)
                    .values(one)
                    .on_conflict_do_nothing()
                    .execute(&mut **c),
                Some(last) => {
                    values.push(last);
                    diesel::insert_into(group_members::table)
                        .values(values)
                        .on_conflict_do_nothing()
                        .execute(&mut **c)
                }
                None => Ok(0),
            };
            inserted.map_err(|e| group_gone(e, group_id))?
        });
    }
    Ok(n)
}

/// A membership row whose group is not there (a DELETE of the group committed after the
/// caller read it) is refused by the foreign key: the group is not found, not a server error.
fn group_gone(e: diesel::result::Error, group_id: &str) -> StoreError {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => StoreError::NotFound {
            resource_type: "Group",
            id: group_id.to_string(),
        },
        other => other.into(),
    }
}

fn delete_ids(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    group_id: &str,
    ids: &[String],
) -> Result<usize> {
    let mut n = 0;
    for chunk in ids.chunks(CHUNK) {
        n += with_conn!(conn, |c| {
            let group = group_members::table
                .filter(group_members::tenant_id.eq(tenant.as_str()))
                .filter(group_members::group_id.eq(group_id));
            match chunk {
                // One id (Okta's `members[value eq "…"]`): `= ?`, which the prepared cache
                // keeps, where an `IN (…)` list is parsed afresh every time.
                [one] => diesel::delete(group.filter(group_members::member_id.eq(one)))
                    .execute(&mut **c)?,
                _ => diesel::delete(group.filter(group_members::member_id.eq_any(chunk)))
                    .execute(&mut **c)?,
            }
        });
    }
    Ok(n)
}

fn delete_all(conn: &mut Conn<'_>, tenant: &TenantId, group_id: &str) -> Result<usize> {
    let n = with_conn!(conn, |c| {
        diesel::delete(
            group_members::table
                .filter(group_members::tenant_id.eq(tenant.as_str()))
                .filter(group_members::group_id.eq(group_id)),
        )
        .execute(&mut **c)?
    });
    Ok(n)
}

/// `members[filter]` removal. The common case — `value eq "id"`, possibly several joined by
/// `or` (what Okta and Entra send) — is an indexed delete by id. Any other filter is
/// evaluated with core's element evaluator over the group's rows, a page at a time, so the
/// result is exactly what core would remove from an in-memory list.
fn remove_where(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    group_id: &str,
    filter: &Filter,
) -> Result<usize> {
    let mut ids = Vec::new();
    if value_eq_ids(filter, &mut ids) {
        return delete_ids(conn, tenant, group_id, &ids);
    }
    let def = members_def(registry)?;
    let mut doomed = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = members(conn, tenant, group_id, after.as_deref(), SCAN_PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some(last.value.clone());
        let full = page.len() as i64 == SCAN_PAGE;
        doomed.extend(
            page.into_iter()
                .filter(|m| scim_core::filter::eval::matches_element(filter, &m.to_value(), def))
                .map(|m| m.value),
        );
        if !full {
            break;
        }
    }
    delete_ids(conn, tenant, group_id, &doomed)
}

/// Collects the ids of a filter made only of `value eq "…"` joined by `or`; false for any
/// other shape. `value` is caseExact (it is a resource id), so SQL `=` matches exactly what
/// core's evaluator matches.
fn value_eq_ids(filter: &Filter, out: &mut Vec<String>) -> bool {
    match filter {
        Filter::Or(a, b) => value_eq_ids(a, out) && value_eq_ids(b, out),
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: Literal::String(id),
        } if path.urn.is_none()
            && path.sub.is_none()
            && path.name.eq_ignore_ascii_case("value") =>
        {
            out.push(id.clone());
            true
        }
        _ => false,
    }
}

/// The Group `members` attribute definition, which the element evaluator needs.
fn members_def(registry: &SchemaRegistry) -> Result<&AttributeDef> {
    registry
        .resource_type("Group")
        .and_then(|rt| registry.schema(&rt.schema))
        .and_then(|s| s.attribute("members"))
        .ok_or_else(|| StoreError::Invalid("the schema registry has no Group members".into()))
}
