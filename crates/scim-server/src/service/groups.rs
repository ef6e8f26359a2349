//! Group operations. Membership lives in its own table: members are loaded only when the
//! caller will show them, and PATCH hands member changes to the store as operations.

use scim_core::patch::{Member, MemberOp, PatchRequest, apply};
use scim_core::resource::{WriteMode, prepare};
use scim_core::schema::ResourceType;
use scim_store::groups::{self, NewGroup};
use scim_store::{Actor, Conn, StoreError, StoredResource, TenantId};
use serde_json::{Value, json};

use super::audit::{Change, record, record_member_removed};
use super::entitlements::GroupWatch;
use super::{RETRIES, check_version, now, write_error};
use crate::error::ApiError;
use crate::state::AppState;

/// Members read per query when a response lists them.
const MEMBER_PAGE: i64 = 1000;

/// A group as responses show it: the stored row and, when asked for, its members.
pub type GroupView = (StoredResource, Option<Vec<Member>>);

/// The Group resource type.
pub fn group_type(state: &AppState) -> Result<&ResourceType, ApiError> {
    state
        .registry
        .resource_type("Group")
        .ok_or_else(|| ApiError::Internal("the Group resource type is not registered".into()))
}

fn not_found() -> ApiError {
    ApiError::NotFound("no such Group".into())
}

/// Every member of a group, read in pages.
pub fn all_members(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    id: &str,
) -> scim_store::Result<Vec<Member>> {
    let mut out: Vec<Member> = Vec::new();
    loop {
        let after = out.last().map(|m| m.value.clone());
        let page = groups::members(conn, tenant, id, after.as_deref(), MEMBER_PAGE)?;
        let done = i64::try_from(page.len()).unwrap_or(i64::MAX) < MEMBER_PAGE;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

/// Splits `members` out of a prepared document (they are rows, not JSON).
fn split_members(doc: &mut Value) -> Result<Vec<Member>, ApiError> {
    match doc.as_object_mut().and_then(|o| o.remove("members")) {
        Some(Value::Array(items)) => Ok(items
            .iter()
            .map(Member::from_value)
            .collect::<Result<Vec<_>, _>>()?),
        _ => Ok(Vec::new()),
    }
}

/// POST /Groups. `then` gets the new group's id once the group has committed, and runs
/// while it is being made durable: a response's reads of the group (its members) go there, and
/// its result comes back only with the write's success (`Store::write_overlapped`). Reads
/// never go inside a write closure, where reading a large group would hold the (SQLite:
/// single) writer for as long as the read takes.
pub fn create<T>(
    st: &AppState,
    tenant: &TenantId,
    input: Value,
    then: impl FnOnce(&str) -> T,
) -> Result<(StoredResource, T), ApiError> {
    let mut doc = prepare(
        &st.registry,
        group_type(st)?,
        input,
        WriteMode::Create,
        None,
    )?;
    let members = split_members(&mut doc)?;
    let id = crate::service::new_id();
    let new = NewGroup {
        id: id.clone(),
        resource: doc,
        members,
        now: now(st),
    };
    let registry = st.registry.clone();
    let tenant = tenant.clone();
    Ok(st.store.write_overlapped(move |c| {
        let (at, count) = (new.now, new.members.len());
        let joined: Vec<String> = new.members.iter().map(|m| m.value.clone()).collect();
        let name = scim_core::resource::display_name(&new.resource).map(str::to_string);
        let watch = if joined.is_empty() { None } else { GroupWatch::start(c, &registry, &tenant, &new.id, name.as_deref(), false)? };
        let stored = groups::insert(c, &registry, &tenant, new)?;
        if let Some(w) = watch {
            w.finish(c, &registry, &tenant, &joined, Actor::Provider, at.and_utc())?;
        }
        let detail = json!({"displayName": scim_core::resource::display_name(&stored.resource), "members": count});
        let change = Change { at, action: "create", resource_type: "Group", id: &stored.id, detail, events: vec!["group.created"] };
        record(c, &tenant, change)?;
        Ok(stored)
    }, || then(&id))?)
}

/// GET /Groups/{id}: `None` when the tenant has no such group.
pub fn get(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    with_members: bool,
) -> Result<Option<GroupView>, ApiError> {
    Ok(st.store.read(|c| {
        let Some(stored) = groups::get(c, tenant, id)? else {
            return Ok(None);
        };
        let members = if with_members {
            Some(all_members(c, tenant, id)?)
        } else {
            None
        };
        Ok(Some((stored, members)))
    })?)
}

/// PUT /Groups/{id}: the body replaces the group, members included (absent members means
/// none, as RFC 7644 §3.5.1 replaces the whole resource); membership is written as a diff.
/// `then(id)` runs once the change has committed, as with [`create`].
pub fn replace<T>(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    expected: Option<i64>,
    input: &Value,
    then: impl Fn(&str) -> T,
) -> Result<(StoredResource, T), ApiError> {
    for _ in 0..RETRIES {
        let current = st
            .store
            .read(|c| groups::get(c, tenant, id))?
            .ok_or_else(not_found)?;
        check_version(expected, current.version)?;
        let mut doc = prepare(
            &st.registry,
            group_type(st)?,
            input.clone(),
            WriteMode::Replace,
            Some(&current.resource),
        )?;
        let members = split_members(&mut doc)?;
        let (registry, t, i, n, v) = (
            st.registry.clone(),
            tenant.clone(),
            id.to_string(),
            now(st),
            current.version,
        );
        let changed: Vec<String> =
            scim_core::resource::changed_attributes(&current.resource, &doc, group_type(st)?)
                .into_iter()
                .collect();
        let result = st.store.write_overlapped(
            move |c| {
                let count = members.len();
                let name = scim_core::resource::display_name(&doc).map(str::to_string);
                let watch = GroupWatch::start(c, &registry, &t, &i, name.as_deref(), true)?;
                let stored = groups::replace(c, &registry, &t, &i, Some(v), doc, Some(members), n)?;
                if let Some(w) = watch {
                    w.finish(c, &registry, &t, &[], Actor::Provider, n.and_utc())?;
                }
                let detail = json!({"changed": changed, "members": count});
                let change = Change {
                    at: n,
                    action: "replace",
                    resource_type: "Group",
                    id: &i,
                    detail,
                    events: vec!["group.updated"],
                };
                record(c, &t, change)?;
                Ok(stored)
            },
            || then(id),
        );
        match result {
            Err(StoreError::VersionMismatch { .. }) if expected.is_none() => continue,
            other => return other.map_err(write_error("Group")),
        }
    }
    Err(ApiError::Unavailable(1))
}

/// PATCH /Groups/{id}: attribute changes are applied by core to the stored document; member
/// changes go to the store as operations (no member list is read to apply them). `then(id)`
/// runs once the change has committed, as with [`create`] (after the read of an unchanged
/// group, when the PATCH changes nothing).
pub fn patch<T>(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    expected: Option<i64>,
    request: &PatchRequest,
    then: impl Fn(&str) -> T,
) -> Result<(StoredResource, T), ApiError> {
    for _ in 0..RETRIES {
        let current = st
            .store
            .read(|c| groups::get(c, tenant, id))?
            .ok_or_else(not_found)?;
        check_version(expected, current.version)?;
        let mut with_id = current.resource.clone();
        if let Some(obj) = with_id.as_object_mut() {
            obj.insert("id".into(), Value::String(id.to_string()));
        }
        let outcome = apply(&st.registry, group_type(st)?, &with_id, request)?;
        let attrs_changed = outcome.changes.attributes.iter().any(|a| a != "members");
        let member_ops: Vec<MemberOp> = outcome.changes.members;
        if !attrs_changed && member_ops.is_empty() {
            let (stored, _) = get(st, tenant, id, false)?.ok_or_else(not_found)?;
            return Ok((stored, then(id)));
        }
        let mut doc = outcome.resource;
        if let Some(obj) = doc.as_object_mut() {
            obj.remove("id");
            obj.remove("meta");
        }
        // Membership-only changes don't depend on the document read, so they need no version
        // check: concurrent member PATCHes all land without retries.
        let (resource, version) = if attrs_changed {
            (Some(doc), Some(current.version))
        } else {
            (None, expected)
        };
        let (registry, t, i, n) = (st.registry.clone(), tenant.clone(), id.to_string(), now(st));
        let changed: Vec<String> = outcome.changes.attributes.iter().cloned().collect();
        let new_name = resource
            .as_ref()
            .and_then(|d| scim_core::resource::display_name(d))
            .map(str::to_string);
        let result = st.store.write_overlapped(move |c| {
            let (touched, whole) = touched_members(&member_ops);
            let watch = GroupWatch::start(c, &registry, &t, &i, new_name.as_deref(), whole)?;
            let (stored, wrote) = groups::patch_reporting(c, &registry, &t, &i, version, resource, &member_ops, n)?;
            if let (true, Some(w)) = (wrote, watch) {
                w.finish(c, &registry, &t, &touched, Actor::Provider, n.and_utc())?;
            }
            if wrote {
                let detail = json!({"changed": changed, "memberOperations": member_ops.iter().map(describe_member_op).collect::<Vec<_>>()});
                let change = Change { at: n, action: "update", resource_type: "Group", id: &i, detail, events: vec!["group.updated"] };
                record(c, &t, change)?;
            }
            Ok(stored)
        }, || then(id));
        match result {
            Err(StoreError::VersionMismatch { .. }) if expected.is_none() => continue,
            other => return other.map_err(write_error("Group")),
        }
    }
    Err(ApiError::Unavailable(1))
}

/// DELETE /Groups/{id}.
pub fn delete(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    expected: Option<i64>,
) -> Result<(), ApiError> {
    let (t, i, now) = (tenant.clone(), id.to_string(), now(st));
    let registry = st.registry.clone();
    st.store
        .write(move |c| {
            let watch = GroupWatch::start(c, &registry, &t, &i, None, true)?;
            let parents = groups::delete(c, &t, &i, expected, now)?;
            if let Some(w) = watch {
                w.finish(c, &registry, &t, &[], Actor::Provider, now.and_utc())?;
            }
            let change = Change {
                at: now,
                action: "delete",
                resource_type: "Group",
                id: &i,
                detail: json!({}),
                events: vec!["group.deleted"],
            };
            record(c, &t, change)?;
            record_member_removed(c, &t, now, &i, &parents)
        })
        .map_err(write_error("Group"))
}

/// The member ids a PATCH's operations name (added or removed), and whether any operation
/// rewrites the membership as a whole (replace, clear, filter), for [`GroupWatch`].
fn touched_members(ops: &[MemberOp]) -> (Vec<String>, bool) {
    let mut ids = Vec::new();
    let mut whole = false;
    for op in ops {
        match op {
            MemberOp::Add(m) => ids.extend(m.iter().map(|m| m.value.clone())),
            MemberOp::Remove(r) => ids.extend(r.iter().cloned()),
            MemberOp::RemoveWhere(_) | MemberOp::RemoveAll | MemberOp::ReplaceAll(_) => {
                whole = true
            }
        }
    }
    (ids, whole)
}

/// A member operation as the sync log shows it (ids, never whole documents).
fn describe_member_op(op: &MemberOp) -> Value {
    match op {
        MemberOp::Add(m) => json!({"add": m.iter().map(|m| m.value.as_str()).collect::<Vec<_>>()}),
        MemberOp::Remove(ids) => json!({"remove": ids}),
        MemberOp::RemoveWhere(f) => json!({"removeWhere": f.to_string()}),
        MemberOp::RemoveAll => json!({"removeAll": true}),
        MemberOp::ReplaceAll(m) => {
            json!({"replaceAll": m.iter().map(|m| m.value.as_str()).collect::<Vec<_>>()})
        }
    }
}
