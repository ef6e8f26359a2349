//! `/Users`: create, read, replace, patch, delete (RFC 7644 §3.3–§3.6).
//!
//! Writes that depend on the stored document (PUT, PATCH) read it and write back with the
//! version they read, so a concurrent change is never overwritten silently: without `If-Match`
//! the handler retries on a fresh read, with `If-Match` a stale version is 412.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::patch::{PatchRequest, apply};
use scim_core::resource::{WriteMode, prepare};
use scim_core::schema::ResourceType;
use scim_store::users::{self, NewUser, PasswordChange};
use scim_store::{Origin, StoreError, StoredResource};
use serde_json::{Value, json};

use super::common::{
    Tenant, if_match, if_none_match_hits, not_modified, projection, render, resource_response,
};
use crate::error::ApiError;
use crate::http::{base_url, blocking, parse_body};
use crate::secrets::{Secret, hash_secret};
use crate::state::AppState;

/// How often a PUT/PATCH without `If-Match` re-reads after losing a race.
const RETRIES: usize = 5;

pub(crate) fn user_type(state: &AppState) -> Result<&ResourceType, ApiError> {
    state
        .registry
        .resource_type("User")
        .ok_or_else(|| ApiError::Internal("the User resource type is not registered".into()))
}

/// Removes the cleartext password from a prepared document and hashes it (argon2id).
fn take_password(doc: &mut Value) -> Result<Option<String>, ApiError> {
    let Some(obj) = doc.as_object_mut() else {
        return Ok(None);
    };
    match obj.remove("password") {
        Some(Value::String(p)) if !p.is_empty() => hash_secret(&Secret::new(p))
            .map(Some)
            .map_err(|e| ApiError::Internal(e.to_string())),
        _ => Ok(None),
    }
}

/// The User document with its read-only `groups` (direct memberships) filled in.
pub(crate) fn render_user(
    state: &AppState,
    stored: &StoredResource,
    groups: &[scim_store::members::GroupRef],
    base: &str,
) -> Result<Value, ApiError> {
    let rt = user_type(state)?;
    let mut doc = render(stored, rt, base);
    if !groups.is_empty()
        && let Some(obj) = doc.as_object_mut()
    {
        let list: Vec<Value> = groups
            .iter()
            .map(|g| {
                json!({"value": g.id, "$ref": format!("{base}/Groups/{}", g.id),
                       "display": g.display, "type": "direct"})
            })
            .collect();
        obj.insert("groups".into(), Value::Array(list));
    }
    Ok(doc)
}

fn now(state: &AppState) -> chrono::NaiveDateTime {
    state.clock.now().naive_utc()
}

/// POST /Users
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input = parse_body(&req, &body)?;
    let rt = user_type(&state)?;
    let projection = projection(&req, &state, rt)?;
    let base = base_url(&req, &state);
    let st = state.clone();
    let stored = blocking(move || {
        let rt = user_type(&st)?;
        let mut doc = prepare(&st.registry, rt, input, WriteMode::Create, None)?;
        let password_hash = take_password(&mut doc)?;
        let new = NewUser {
            id: uuid::Uuid::new_v4().to_string(),
            resource: doc,
            password_hash,
            origin: Origin::Provisioned,
            now: now(&st),
        };
        let registry = st.registry.clone();
        let tenant = tenant.0.tenant.clone();
        Ok(st
            .store
            .write(move |c| users::insert(c, &registry, &tenant, new))?)
    })
    .await?;
    let doc = render_user(&state, &stored, &[], &base)?;
    resource_response(StatusCode::CREATED, &projection.apply(&doc), stored.version)
}

/// GET /Users/{id}
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rt = user_type(&state)?;
    let projection = projection(&req, &state, rt)?;
    let base = base_url(&req, &state);
    let st = state.clone();
    let id = id.into_inner();
    let found = blocking(move || {
        let tenant = tenant.0.tenant;
        Ok(st.store.read(|c| {
            let Some(stored) = users::get(c, &tenant, &id)? else {
                return Ok(None);
            };
            let groups = users::groups_of(c, &tenant, std::slice::from_ref(&id))?
                .remove(&id)
                .unwrap_or_default();
            Ok(Some((stored, groups)))
        })?)
    })
    .await?;
    let (stored, groups) = found.ok_or_else(|| ApiError::NotFound("no such User".into()))?;
    if if_none_match_hits(&req, stored.version) {
        return Ok(not_modified(stored.version));
    }
    let doc = render_user(&state, &stored, &groups, &base)?;
    resource_response(StatusCode::OK, &projection.apply(&doc), stored.version)
}

/// PUT /Users/{id}: the body replaces the document; readOnly values (id, meta, groups) the
/// client echoes are ignored, as Okta's profile push needs.
pub async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input = parse_body(&req, &body)?;
    let expected = if_match(&req)?;
    let rt = user_type(&state)?;
    let projection = projection(&req, &state, rt)?;
    let base = base_url(&req, &state);
    let id = id.into_inner();
    let st = state.clone();
    let (stored, groups) = blocking(move || {
        let tenant = tenant.0.tenant;
        update_with_retry(&st, &tenant, &id, expected, move |st, current| {
            let rt = user_type(st)?;
            let mut doc = prepare(
                &st.registry,
                rt,
                input.clone(),
                WriteMode::Replace,
                Some(current),
            )?;
            let hash = take_password(&mut doc)?;
            Ok((doc, hash.map_or(PasswordChange::Keep, PasswordChange::Set)))
        })
    })
    .await?;
    let doc = render_user(&state, &stored, &groups, &base)?;
    resource_response(StatusCode::OK, &projection.apply(&doc), stored.version)
}

/// PATCH /Users/{id}
pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request = PatchRequest::parse(&parse_body(&req, &body)?)?;
    let expected = if_match(&req)?;
    let rt = user_type(&state)?;
    let projection = projection(&req, &state, rt)?;
    let base = base_url(&req, &state);
    let id = id.into_inner();
    let st = state.clone();
    let (stored, groups) = blocking(move || {
        let tenant = tenant.0.tenant;
        let patch_id = id.clone();
        update_with_retry(&st, &tenant, &id, expected, move |st, current| {
            let rt = user_type(st)?;
            // The stored document has no id; put it back so a pathless value carrying the
            // resource's own id (Okta) is recognised as unchanged.
            let mut with_id = current.clone();
            if let Some(obj) = with_id.as_object_mut() {
                obj.insert("id".into(), Value::String(patch_id.clone()));
            }
            let outcome = apply(&st.registry, rt, &with_id, &request)?;
            let mut doc = outcome.resource;
            if let Some(obj) = doc.as_object_mut() {
                obj.remove("id");
                obj.remove("meta");
            }
            let hash = take_password(&mut doc)?;
            Ok((doc, hash.map_or(PasswordChange::Keep, PasswordChange::Set)))
        })
    })
    .await?;
    let doc = render_user(&state, &stored, &groups, &base)?;
    resource_response(StatusCode::OK, &projection.apply(&doc), stored.version)
}

/// Read → compute → write with the version read; retried on a lost race unless the client
/// pinned a version with `If-Match`.
fn update_with_retry(
    st: &AppState,
    tenant: &scim_store::TenantId,
    id: &str,
    expected: Option<i64>,
    compute: impl Fn(&AppState, &Value) -> Result<(Value, PasswordChange), ApiError>,
) -> Result<(StoredResource, Vec<scim_store::members::GroupRef>), ApiError> {
    for _ in 0..RETRIES {
        let current = st
            .store
            .read(|c| users::get(c, tenant, id))?
            .ok_or_else(|| ApiError::NotFound("no such User".into()))?;
        if let Some(v) = expected
            && v != current.version
        {
            return Err(ApiError::PreconditionFailed(format!(
                "If-Match does not match the current version {}",
                scim_core::resource::etag(u64::try_from(current.version).unwrap_or_default())
            )));
        }
        let (doc, password) = compute(st, &current.resource)?;
        if doc == current.resource && password == PasswordChange::Keep {
            // Nothing changed: no write, no version bump.
            let groups = st
                .store
                .read(|c| users::groups_of(c, tenant, &[id.to_string()]))?
                .remove(id)
                .unwrap_or_default();
            return Ok((current, groups));
        }
        let registry = st.registry.clone();
        let (t, i, version, now) = (tenant.clone(), id.to_string(), current.version, now(st));
        let result = st.store.write(move |c| {
            let stored = users::replace(c, &registry, &t, &i, Some(version), doc, password, now)?;
            let groups = users::groups_of(c, &t, std::slice::from_ref(&i))?
                .remove(&i)
                .unwrap_or_default();
            Ok((stored, groups))
        });
        match result {
            Err(StoreError::VersionMismatch { .. }) if expected.is_none() => continue,
            Err(StoreError::VersionMismatch { current }) => {
                return Err(ApiError::PreconditionFailed(format!(
                    "the resource changed (now at version {}); read it again",
                    scim_core::resource::etag(u64::try_from(current).unwrap_or_default())
                )));
            }
            other => return Ok(other?),
        }
    }
    Err(ApiError::Unavailable(1))
}

/// DELETE /Users/{id}
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
            .write(move |c| users::delete(c, &tenant, &id, expected, now))
            .map_err(|e| match e {
                StoreError::NotFound { .. } => ApiError::NotFound("no such User".into()),
                StoreError::VersionMismatch { .. } => ApiError::PreconditionFailed(
                    "If-Match does not match the current version".into(),
                ),
                other => other.into(),
            })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
