//! `/Groups`: create, read, replace, patch, delete. Membership lives in its own table: reads
//! load members only when the response will show them, and PATCH sends member changes to the
//! store as operations, so a one-member change costs the same for any group size.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::patch::{Member, MemberOp, PatchRequest, apply};
use scim_core::resource::{WriteMode, prepare};
use scim_core::schema::ResourceType;
use scim_store::groups::{self, NewGroup};
use scim_store::{Conn, StoreError, StoredResource, TenantId};
use serde_json::{Value, json};

use super::common::{
    Tenant, if_match, if_none_match_hits, not_modified, projection, render, resource_response,
};
use crate::error::ApiError;
use crate::http::{base_url, blocking, parse_body};
use crate::state::{AppState, GroupPatchResponse};

/// Members read per query when a response lists them.
const MEMBER_PAGE: i64 = 1000;
/// How often a PATCH/PUT without `If-Match` re-reads after losing a race.
const RETRIES: usize = 5;

pub(crate) fn group_type(state: &AppState) -> Result<&ResourceType, ApiError> {
    state
        .registry
        .resource_type("Group")
        .ok_or_else(|| ApiError::Internal("the Group resource type is not registered".into()))
}

fn now(state: &AppState) -> chrono::NaiveDateTime {
    state.clock.now().naive_utc()
}

/// Every member of a group, read in pages.
pub(crate) fn all_members(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    id: &str,
) -> scim_store::Result<Vec<Member>> {
    let mut out = Vec::new();
    loop {
        let after = out.last().map(|m: &Member| m.value.clone());
        let page = groups::members(conn, tenant, id, after.as_deref(), MEMBER_PAGE)?;
        let done = (page.len() as i64) < MEMBER_PAGE;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

/// The Group document, with `members` when they were loaded.
pub(crate) fn render_group(
    state: &AppState,
    stored: &StoredResource,
    members: Option<&[Member]>,
    base: &str,
) -> Result<Value, ApiError> {
    let rt = group_type(state)?;
    let mut doc = render(stored, rt, base);
    if let (Some(members), Some(obj)) = (members, doc.as_object_mut())
        && !members.is_empty()
    {
        let list: Vec<Value> = members
            .iter()
            .map(|m| {
                let kind = m.kind.as_deref().unwrap_or("User");
                let endpoint = if kind == "Group" { "Groups" } else { "Users" };
                let mut v = json!({"value": m.value, "$ref": format!("{base}/{endpoint}/{}", m.value), "type": kind});
                if let Some(d) = &m.display {
                    v["display"] = Value::String(d.clone());
                }
                v
            })
            .collect();
        obj.insert("members".into(), Value::Array(list));
    }
    Ok(doc)
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

fn not_found() -> ApiError {
    ApiError::NotFound("no such Group".into())
}

/// POST /Groups
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input = parse_body(&req, &body)?;
    let rt = group_type(&state)?;
    let projection = projection(&req, &state, rt)?;
    let base = base_url(&req, &state);
    let st = state.clone();
    let with_members = projection.returns("members");
    let (stored, members) = blocking(move || {
        let rt = group_type(&st)?;
        let mut doc = prepare(&st.registry, rt, input, WriteMode::Create, None)?;
        let members = split_members(&mut doc)?;
        let new = NewGroup {
            id: uuid::Uuid::new_v4().to_string(),
            resource: doc,
            members,
            now: now(&st),
        };
        let registry = st.registry.clone();
        let tenant = tenant.0.tenant;
        Ok(st.store.write(move |c| {
            let stored = groups::insert(c, &registry, &tenant, new)?;
            let members = if with_members {
                all_members(c, &tenant, &stored.id)?
            } else {
                Vec::new()
            };
            Ok((stored, members))
        })?)
    })
    .await?;
    let doc = render_group(&state, &stored, Some(&members), &base)?;
    resource_response(StatusCode::CREATED, &projection.apply(&doc), stored.version)
}

/// GET /Groups/{id}
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rt = group_type(&state)?;
    let projection = projection(&req, &state, rt)?;
    let with_members = projection.returns("members");
    let base = base_url(&req, &state);
    let st = state.clone();
    let id = id.into_inner();
    let found = blocking(move || {
        let tenant = tenant.0.tenant;
        Ok(st.store.read(|c| {
            let Some(stored) = groups::get(c, &tenant, &id)? else {
                return Ok(None);
            };
            let members = if with_members {
                Some(all_members(c, &tenant, &id)?)
            } else {
                None
            };
            Ok(Some((stored, members)))
        })?)
    })
    .await?;
    let (stored, members) = found.ok_or_else(not_found)?;
    if if_none_match_hits(&req, stored.version) {
        return Ok(not_modified(stored.version));
    }
    let doc = render_group(&state, &stored, members.as_deref(), &base)?;
    resource_response(StatusCode::OK, &projection.apply(&doc), stored.version)
}

/// PUT /Groups/{id}: the body replaces the group, members included (absent members means
/// none, as RFC 7644 §3.5.1 replaces the whole resource); membership is written as a diff.
pub async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input = parse_body(&req, &body)?;
    let expected = if_match(&req)?;
    let rt = group_type(&state)?;
    let projection = projection(&req, &state, rt)?;
    let with_members = projection.returns("members");
    let base = base_url(&req, &state);
    let id = id.into_inner();
    let st = state.clone();
    let (stored, members) = blocking(move || {
        let tenant = tenant.0.tenant;
        for _ in 0..RETRIES {
            let current = st
                .store
                .read(|c| groups::get(c, &tenant, &id))?
                .ok_or_else(not_found)?;
            check_version(expected, current.version)?;
            let rt = group_type(&st)?;
            let mut doc = prepare(
                &st.registry,
                rt,
                input.clone(),
                WriteMode::Replace,
                Some(&current.resource),
            )?;
            let members = split_members(&mut doc)?;
            let (registry, t, i, n, v) = (
                st.registry.clone(),
                tenant.clone(),
                id.clone(),
                now(&st),
                current.version,
            );
            let result = st.store.write(move |c| {
                let stored = groups::replace(c, &registry, &t, &i, Some(v), doc, Some(members), n)?;
                let members = if with_members {
                    Some(all_members(c, &t, &i)?)
                } else {
                    None
                };
                Ok((stored, members))
            });
            match result {
                Err(StoreError::VersionMismatch { .. }) if expected.is_none() => continue,
                other => return other.map_err(version_error),
            }
        }
        Err(ApiError::Unavailable(1))
    })
    .await?;
    let doc = render_group(&state, &stored, members.as_deref(), &base)?;
    resource_response(StatusCode::OK, &projection.apply(&doc), stored.version)
}

/// PATCH /Groups/{id}: attribute changes are applied by core to the stored document; member
/// changes go to the store as operations (no member list is read to apply them).
pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request = PatchRequest::parse(&parse_body(&req, &body)?)?;
    let expected = if_match(&req)?;
    let rt = group_type(&state)?;
    let projection = projection(&req, &state, rt)?;
    let respond_with_body = state.config.group_patch_response == GroupPatchResponse::Resource;
    let with_members = respond_with_body && projection.returns("members");
    let base = base_url(&req, &state);
    let id = id.into_inner();
    let st = state.clone();
    let (stored, members) = blocking(move || {
        let tenant = tenant.0.tenant;
        for _ in 0..RETRIES {
            let current = st
                .store
                .read(|c| groups::get(c, &tenant, &id))?
                .ok_or_else(not_found)?;
            check_version(expected, current.version)?;
            let rt = group_type(&st)?;
            let mut with_id = current.resource.clone();
            if let Some(obj) = with_id.as_object_mut() {
                obj.insert("id".into(), Value::String(id.clone()));
            }
            let outcome = apply(&st.registry, rt, &with_id, &request)?;
            let attrs_changed = outcome.changes.attributes.iter().any(|a| a != "members");
            let member_ops: Vec<MemberOp> = outcome.changes.members;
            if !attrs_changed && member_ops.is_empty() {
                let members = if with_members {
                    Some(st.store.read(|c| all_members(c, &tenant, &id))?)
                } else {
                    None
                };
                return Ok((current, members));
            }
            let mut doc = outcome.resource;
            if let Some(obj) = doc.as_object_mut() {
                obj.remove("id");
                obj.remove("meta");
            }
            // Membership-only changes don't depend on the document we read, so they need no
            // version check: concurrent member PATCHes all land without retries.
            let (resource, version) = if attrs_changed {
                (Some(doc), Some(current.version))
            } else {
                (None, expected)
            };
            let (registry, t, i, n) = (st.registry.clone(), tenant.clone(), id.clone(), now(&st));
            let result = st.store.write(move |c| {
                let stored =
                    groups::patch(c, &registry, &t, &i, version, resource, &member_ops, n)?;
                let members = if with_members {
                    Some(all_members(c, &t, &i)?)
                } else {
                    None
                };
                Ok((stored, members))
            });
            match result {
                Err(StoreError::VersionMismatch { .. }) if expected.is_none() => continue,
                other => return other.map_err(version_error),
            }
        }
        Err(ApiError::Unavailable(1))
    })
    .await?;
    if !respond_with_body {
        return Ok(HttpResponse::NoContent().finish());
    }
    let doc = render_group(&state, &stored, members.as_deref(), &base)?;
    resource_response(StatusCode::OK, &projection.apply(&doc), stored.version)
}

fn check_version(expected: Option<i64>, current: i64) -> Result<(), ApiError> {
    match expected {
        Some(v) if v != current => Err(ApiError::PreconditionFailed(format!(
            "If-Match does not match the current version {}",
            scim_core::resource::etag(u64::try_from(current).unwrap_or_default())
        ))),
        _ => Ok(()),
    }
}

fn version_error(e: StoreError) -> ApiError {
    match e {
        StoreError::VersionMismatch { .. } => {
            ApiError::PreconditionFailed("If-Match does not match the current version".into())
        }
        StoreError::NotFound { .. } => not_found(),
        other => other.into(),
    }
}

/// DELETE /Groups/{id}
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let id = id.into_inner();
    let st = state.clone();
    blocking(move || {
        let tenant = tenant.0.tenant;
        let now = now(&st);
        st.store
            .write(move |c| groups::delete(c, &tenant, &id, expected, now))
            .map_err(version_error)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
