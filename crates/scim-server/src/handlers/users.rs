//! `/Users` over HTTP (RFC 7644 §3.3–§3.6): extract → service → respond.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::patch::PatchRequest;
use scim_store::StoredResource;
use scim_store::members::GroupRef;
use serde_json::{Value, json};

use super::common::{
    Tenant, if_match, if_none_match_hits, not_modified, projection, render, resource_response,
};
use crate::error::ApiError;
use crate::http::{base_url, blocking, parse_body};
use crate::service::users::{self as svc, user_type};
use crate::state::AppState;

/// The User document with its read-only `groups` (direct memberships) filled in.
pub fn render_user(
    state: &AppState,
    stored: &StoredResource,
    groups: &[GroupRef],
    base: &str,
) -> Result<Value, ApiError> {
    let mut doc = render(stored, user_type(state)?, base);
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

fn respond(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    (stored, groups): &(StoredResource, Vec<GroupRef>),
) -> Result<HttpResponse, ApiError> {
    let projection = projection(req, state, user_type(state)?)?;
    let doc = render_user(state, stored, groups, &base_url(req, state))?;
    resource_response(status, &projection.apply(&doc), stored.version)
}

/// POST /Users
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input = parse_body(&req, &body)?;
    projection(&req, &state, user_type(&state)?)?;
    let st = state.clone();
    let stored = blocking(move || svc::create(&st, &tenant.0.tenant, input)).await?;
    respond(&req, &state, StatusCode::CREATED, &(stored, Vec::new()))
}

/// GET /Users/{id}
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    projection(&req, &state, user_type(&state)?)?;
    let st = state.clone();
    let view = blocking(move || svc::get(&st, &tenant.0.tenant, &id))
        .await?
        .ok_or_else(|| ApiError::NotFound("no such User".into()))?;
    if if_none_match_hits(&req, view.0.version) {
        return Ok(not_modified(view.0.version));
    }
    respond(&req, &state, StatusCode::OK, &view)
}

/// PUT /Users/{id}
pub async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input = parse_body(&req, &body)?;
    let expected = if_match(&req)?;
    projection(&req, &state, user_type(&state)?)?;
    let st = state.clone();
    let view = blocking(move || svc::replace(&st, &tenant.0.tenant, &id, expected, &input)).await?;
    respond(&req, &state, StatusCode::OK, &view)
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
    projection(&req, &state, user_type(&state)?)?;
    let st = state.clone();
    let view = blocking(move || svc::patch(&st, &tenant.0.tenant, &id, expected, &request)).await?;
    respond(&req, &state, StatusCode::OK, &view)
}

/// DELETE /Users/{id}
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let st = state.clone();
    blocking(move || svc::delete(&st, &tenant.0.tenant, &id, expected)).await?;
    Ok(HttpResponse::NoContent().finish())
}
