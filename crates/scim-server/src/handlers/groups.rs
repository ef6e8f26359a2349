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
#[utoipa::path(
    post,
    path = "/Groups",
    operation_id = "createGroup",
    tag = "Groups",
    summary = "Create a Group",
    description = "Creates a Group from the body; `displayName` is required and unique within the tenant (case-insensitively). readOnly attributes in the body are ignored. Members are given as `{\"value\": id}`.",
    params(crate::openapi::ProjectionParams),
    request_body(
        description = "The new Group.",
        content((crate::openapi::Group = "application/scim+json"), (crate::openapi::Group = "application/json")),
    ),
    responses(
        (status = 201, description = "The created Group.", body = crate::openapi::Group, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, e.g. `W/\"3\"` (also `meta.version`); send it as `If-Match` to update only this version."), ("Location" = String, description = "The Group's URL (also `meta.location`)."))),
        (status = 400, description = "The body is not a valid Group: not JSON (`invalidSyntax`), a missing or wrongly typed attribute (`invalidValue`), or a malformed attribute name in `attributes`/`excludedAttributes`. A member that does not exist is also `invalidValue`.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 409, description = "`displayName` is already taken in this tenant (`uniqueness`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::Protected,
        crate::openapi::BodyErrors,
        crate::openapi::ServerError,
    ),
    security(("bearer" = []), ("basic" = [])),
)]
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
#[utoipa::path(
    get,
    path = "/Groups/{id}",
    operation_id = "getGroup",
    tag = "Groups",
    summary = "Get a Group",
    description = "One Group by id, projected by `attributes`/`excludedAttributes`. `excludedAttributes=members` skips loading members.",
    params(("id" = String, Path, description = "The Group's `id`, as the server assigned it."), crate::openapi::ProjectionParams, crate::openapi::IfNoneMatch),
    responses(
        (status = 200, description = "The Group.", body = crate::openapi::Group, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, e.g. `W/\"3\"` (also `meta.version`); send it as `If-Match` to update only this version."))),
        (status = 304, description = "`If-None-Match` names the current version; no body.", headers(("ETag" = String, description = "The resource's version, e.g. `W/\"3\"` (also `meta.version`); send it as `If-Match` to update only this version."))),
        (status = 400, description = "A malformed attribute name in `attributes` or `excludedAttributes` (`invalidValue`); unknown names are ignored.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No Group with this id in this tenant.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::Protected,
        crate::openapi::ServerError,
    ),
    security(("bearer" = []), ("basic" = [])),
)]
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
#[utoipa::path(
    put,
    path = "/Groups/{id}",
    operation_id = "replaceGroup",
    tag = "Groups",
    summary = "Replace a Group",
    description = "Replaces every writable attribute with the body's (absent ones are cleared); readOnly attributes such as `id` and `meta` in the body are ignored, so a body fetched with GET can be sent back.",
    params(("id" = String, Path, description = "The Group's `id`, as the server assigned it."), crate::openapi::ProjectionParams, crate::openapi::IfMatch),
    request_body(
        description = "The whole Group.",
        content((crate::openapi::Group = "application/scim+json"), (crate::openapi::Group = "application/json")),
    ),
    responses(
        (status = 200, description = "The Group after the replacement.", body = crate::openapi::Group, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, e.g. `W/\"3\"` (also `meta.version`); send it as `If-Match` to update only this version."))),
        (status = 400, description = "The body is not a valid Group (`invalidSyntax`, `invalidValue`), changes an immutable attribute (`mutability`), or has a malformed attribute name in `attributes`.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No Group with this id in this tenant.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 409, description = "`displayName` is already taken by another Group (`uniqueness`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 412, description = "`If-Match` does not name the current version.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::Protected,
        crate::openapi::BodyErrors,
        crate::openapi::ServerError,
    ),
    security(("bearer" = []), ("basic" = [])),
)]
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
#[utoipa::path(
    patch,
    path = "/Groups/{id}",
    operation_id = "patchGroup",
    tag = "Groups",
    summary = "Modify a Group",
    description = "Applies the PatchOp's operations in order, all or none (RFC 7644 §3.5.2). Accepts the Okta and Entra dialects: op names in any case, pathless `replace` with an object of attribute paths. Member changes cost the same whatever the group's size.",
    params(("id" = String, Path, description = "The Group's `id`, as the server assigned it."), crate::openapi::ProjectionParams, crate::openapi::IfMatch),
    request_body(
        description = "The operations.",
        content((crate::openapi::PatchOp = "application/scim+json"), (crate::openapi::PatchOp = "application/json")),
    ),
    responses(
        (status = 200, description = "The Group after the operations (when the server answers PATCH on Groups with the resource, the default).", body = crate::openapi::Group, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, e.g. `W/\"3\"` (also `meta.version`); send it as `If-Match` to update only this version."))),
        (status = 204, description = "The operations were applied (when the server is configured to answer PATCH on Groups without a body, as Entra prefers)."),
        (status = 400, description = "A malformed PatchOp (`invalidSyntax`), a bad path (`invalidPath`), a filter that matched nothing (`noTarget`), a bad value (`invalidValue`) or a readOnly/immutable target (`mutability`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No Group with this id in this tenant.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 409, description = "`displayName` would collide with another Group (`uniqueness`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 412, description = "`If-Match` does not name the current version.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::Protected,
        crate::openapi::BodyErrors,
        crate::openapi::ServerError,
    ),
    security(("bearer" = []), ("basic" = [])),
)]
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
#[utoipa::path(
    delete,
    path = "/Groups/{id}",
    operation_id = "deleteGroup",
    tag = "Groups",
    summary = "Delete a Group",
    description = "Deletes the Group (its members are not deleted).",
    params(("id" = String, Path, description = "The Group's `id`, as the server assigned it."), crate::openapi::IfMatch),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No Group with this id in this tenant.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 412, description = "`If-Match` does not name the current version.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::Protected,
        crate::openapi::ServerError,
    ),
    security(("bearer" = []), ("basic" = [])),
)]
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
