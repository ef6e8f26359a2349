//! `/Groups` over HTTP: extract → service → respond. Members are loaded only when the
//! response will show them (`excludedAttributes=members`, as Entra sends, skips them).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::patch::{Member, PatchRequest};
use scim_store::StoredResource;
use serde_json::{Value, json};

use super::common::{
    Tenant, if_match, if_none_match_hits, not_modified, projection, render, resource_response,
};
use crate::error::ApiError;
use crate::http::{base_url, blocking, parse_body};
use crate::service::groups::{self as svc, GroupView, group_type};
use crate::state::{AppState, GroupPatchResponse};

/// The Group document, with `members` when they were loaded.
pub fn render_group(
    state: &AppState,
    stored: &StoredResource,
    members: Option<&[Member]>,
    base: &str,
) -> Result<Value, ApiError> {
    let mut doc = render(stored, group_type(state)?, base);
    if let (Some(members), Some(obj)) = (members, doc.as_object_mut())
        && !members.is_empty()
    {
        let list: Vec<Value> = members
            .iter()
            .map(|m| {
                let kind = m.kind.as_deref().unwrap_or("User");
                let endpoint = if kind == "Group" { "Groups" } else { "Users" };
                let mut v = json!({"value": m.value,
                    "$ref": format!("{base}/{endpoint}/{}", m.value), "type": kind});
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

/// Whether this request's response shows members (decides whether to load them).
fn wants_members(req: &HttpRequest, state: &AppState) -> Result<bool, ApiError> {
    Ok(projection(req, state, group_type(state)?)?.returns("members"))
}

fn respond(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    (stored, members): &GroupView,
) -> Result<HttpResponse, ApiError> {
    let projection = projection(req, state, group_type(state)?)?;
    let doc = render_group(state, stored, members.as_deref(), &base_url(req, state))?;
    resource_response(status, &projection.apply(&doc), stored.version)
}

/// POST /Groups
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input = parse_body(&req, &body)?;
    let with_members = wants_members(&req, &state)?;
    let st = state.clone();
    let view = blocking(move || svc::create(&st, &tenant.0.tenant, input, with_members)).await?;
    respond(&req, &state, StatusCode::CREATED, &view)
}

/// GET /Groups/{id}
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let with_members = wants_members(&req, &state)?;
    let st = state.clone();
    let view = blocking(move || svc::get(&st, &tenant.0.tenant, &id, with_members))
        .await?
        .ok_or_else(|| ApiError::NotFound("no such Group".into()))?;
    if if_none_match_hits(&req, view.0.version) {
        return Ok(not_modified(view.0.version));
    }
    respond(&req, &state, StatusCode::OK, &view)
}

/// PUT /Groups/{id}
pub async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input = parse_body(&req, &body)?;
    let expected = if_match(&req)?;
    let with_members = wants_members(&req, &state)?;
    let st = state.clone();
    let view =
        blocking(move || svc::replace(&st, &tenant.0.tenant, &id, expected, &input, with_members))
            .await?;
    respond(&req, &state, StatusCode::OK, &view)
}

/// PATCH /Groups/{id}: 200 with the group, or 204 when the server is configured so.
pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request = PatchRequest::parse(&parse_body(&req, &body)?)?;
    let expected = if_match(&req)?;
    let with_body = state.config.group_patch_response == GroupPatchResponse::Resource;
    let with_members = with_body && wants_members(&req, &state)?;
    let st = state.clone();
    let view =
        blocking(move || svc::patch(&st, &tenant.0.tenant, &id, expected, &request, with_members))
            .await?;
    if !with_body {
        return Ok(HttpResponse::NoContent().finish());
    }
    respond(&req, &state, StatusCode::OK, &view)
}

/// DELETE /Groups/{id}
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
