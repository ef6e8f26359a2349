//! `/Users` over HTTP (RFC 7644 §3.3–§3.6): extract → service → respond.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::patch::PatchRequest;
use scim_core::schema::ResourceType;
use scim_store::StoredResource;
use scim_store::members::GroupRef;
use serde_json::{Value, json};

use super::common::{
    Tenant, bytes_response, created_bytes_response, if_match, if_none_match_hits, location,
    not_modified, projection, render, render_owned, resource_response,
};
use crate::error::ApiError;
use crate::http::{base_url, blocking, parse_body, point_read};
use crate::service::users::{self as svc, CreatedUser, user_type};
use crate::state::AppState;

/// The User document with its read-only `groups` (direct memberships) filled in.
pub fn render_user(
    state: &AppState,
    stored: &StoredResource,
    groups: &[GroupRef],
    base: &str,
) -> Result<Value, ApiError> {
    Ok(render_user_doc(user_type(state)?, stored, groups, base))
}

/// [`render_user`] for a known resource type: the stamped document with `groups` appended.
pub fn render_user_doc(
    rt: &ResourceType,
    stored: &StoredResource,
    groups: &[GroupRef],
    base: &str,
) -> Value {
    let mut doc = render(stored, rt, base);
    if !groups.is_empty()
        && let Some(obj) = doc.as_object_mut()
    {
        obj.insert("groups".into(), groups_value(groups, base));
    }
    doc
}

/// A User's `groups` attribute: every group it is a direct member of.
pub fn groups_value(groups: &[GroupRef], base: &str) -> Value {
    Value::Array(
        groups
            .iter()
            .map(|g| {
                json!({"value": g.id, "$ref": format!("{base}/Groups/{}", g.id),
                       "display": g.display, "type": "direct"})
            })
            .collect(),
    )
}

fn respond(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    (stored, groups): &(StoredResource, Vec<GroupRef>),
) -> Result<HttpResponse, ApiError> {
    let projection = projection(req, state, user_type(state)?)?;
    let doc = render_user(state, stored, groups, &base_url(req, state))?;
    resource_response(status, &projection.apply_owned(doc), stored.version)
}

/// POST /Users
#[utoipa::path(
    post,
    path = "/Users",
    operation_id = "createUser",
    tag = "Users",
    summary = "Create a User",
    description = "Creates a User from the body; `userName` is required and unique within the tenant (case-insensitively). readOnly attributes in the body are ignored.",
    params(crate::openapi::ProjectionParams),
    request_body(
        description = "The new User.",
        content((crate::openapi::UserInput = "application/scim+json"), (crate::openapi::UserInput = "application/json")),
    ),
    responses(
        (status = 201, description = "The created User.", body = crate::openapi::User, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, e.g. `W/\"3\"` (also `meta.version`); send it as `If-Match` to update only this version."), ("Location" = String, description = "The User's URL (also `meta.location`)."))),
        (status = 400, description = "The body is not a valid User: not JSON (`invalidSyntax`), a missing or wrongly typed attribute (`invalidValue`), or a malformed attribute name in `attributes`/`excludedAttributes`.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 409, description = "`userName` is already taken in this tenant (`uniqueness`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
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
    let rt = user_type(&state)?;
    let projection = projection(&req, &state, rt)?;
    let base = base_url(&req, &state);
    // A new user is in no group. Its answer is copied from the text just stored, as a GET's
    // is, unless the projection needs to look inside a value; a user brought back is
    // rendered from its document, which is moved into the answer, not copied.
    let stored = match svc::create_queued(&state, &tenant.0.tenant, input).await? {
        CreatedUser::Text(raw) => {
            if let Some(bytes) = super::raw::user_bytes(rt, &raw, &[], &base, &projection) {
                let location = location(rt, &raw.id, &base);
                return Ok(created_bytes_response(bytes, raw.version, &location));
            }
            raw.parse()?
        }
        CreatedUser::Parsed(stored) => stored,
    };
    let (version, location) = (stored.version, location(rt, &stored.id, &base));
    let doc = projection.apply_owned(render_owned(stored, rt, &base));
    let body = scim_core::json::to_vec_with(&doc, scim_core::json::RESOURCE_CAPACITY);
    // `Location` names the new user even when the projection leaves `meta` out.
    Ok(created_bytes_response(body, version, &location))
}

/// GET /Users/{id}
#[utoipa::path(
    get,
    path = "/Users/{id}",
    operation_id = "getUser",
    tag = "Users",
    summary = "Get a User",
    description = "One User by id, projected by `attributes`/`excludedAttributes`. Inactive Users are returned too.",
    params(("id" = String, Path, description = "The User's `id`, as the server assigned it."), crate::openapi::ProjectionParams, crate::openapi::IfNoneMatch),
    responses(
        (status = 200, description = "The User.", body = crate::openapi::User, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, e.g. `W/\"3\"` (also `meta.version`); send it as `If-Match` to update only this version."))),
        (status = 304, description = "`If-None-Match` names the current version; no body.", headers(("ETag" = String, description = "The resource's version, e.g. `W/\"3\"` (also `meta.version`); send it as `If-Match` to update only this version."))),
        (status = 400, description = "A malformed attribute name in `attributes` or `excludedAttributes` (`invalidValue`); unknown names are ignored.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No User with this id in this tenant.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
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
    // Built (and a malformed name refused) before the read.
    let rt = user_type(&state)?;
    let projection = projection(&req, &state, rt)?;
    let st = state.clone();
    let (raw, groups) = point_read(&state, move || svc::get(&st, &tenant.0.tenant, &id))
        .await?
        .ok_or_else(|| ApiError::NotFound("no such User".into()))?;
    if if_none_match_hits(&req, raw.version) {
        return Ok(not_modified(raw.version));
    }
    let base = base_url(&req, &state);
    if let Some(bytes) = super::raw::user_bytes(rt, &raw, &groups, &base, &projection) {
        return Ok(bytes_response(StatusCode::OK, bytes, raw.version));
    }
    let version = raw.version;
    let doc = render_user_doc(rt, &raw.parse()?, &groups, &base);
    resource_response(StatusCode::OK, &projection.apply_owned(doc), version)
}

/// PUT /Users/{id}
#[utoipa::path(
    put,
    path = "/Users/{id}",
    operation_id = "replaceUser",
    tag = "Users",
    summary = "Replace a User",
    description = "Replaces every writable attribute with the body's (absent ones are cleared); readOnly attributes such as `id` and `meta` in the body are ignored, so a body fetched with GET can be sent back.",
    params(("id" = String, Path, description = "The User's `id`, as the server assigned it."), crate::openapi::ProjectionParams, crate::openapi::IfMatch),
    request_body(
        description = "The whole User.",
        content((crate::openapi::UserInput = "application/scim+json"), (crate::openapi::UserInput = "application/json")),
    ),
    responses(
        (status = 200, description = "The User after the replacement.", body = crate::openapi::User, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, e.g. `W/\"3\"` (also `meta.version`); send it as `If-Match` to update only this version."))),
        (status = 400, description = "The body is not a valid User (`invalidSyntax`, `invalidValue`), changes an immutable attribute (`mutability`), or has a malformed attribute name in `attributes`.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No User with this id in this tenant.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 409, description = "`userName` is already taken by another User (`uniqueness`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
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
    projection(&req, &state, user_type(&state)?)?;
    let st = state.clone();
    let view = blocking(move || svc::replace(&st, &tenant.0.tenant, &id, expected, &input)).await?;
    respond(&req, &state, StatusCode::OK, &view)
}

/// PATCH /Users/{id}
#[utoipa::path(
    patch,
    path = "/Users/{id}",
    operation_id = "patchUser",
    tag = "Users",
    summary = "Modify a User",
    description = "Applies the PatchOp's operations in order, all or none (RFC 7644 §3.5.2). Accepts the Okta and Entra dialects: op names in any case, pathless `replace` with an object of attribute paths.",
    params(("id" = String, Path, description = "The User's `id`, as the server assigned it."), crate::openapi::ProjectionParams, crate::openapi::IfMatch),
    request_body(
        description = "The operations.",
        content((crate::openapi::PatchOp = "application/scim+json"), (crate::openapi::PatchOp = "application/json")),
    ),
    responses(
        (status = 200, description = "The User after the operations.", body = crate::openapi::User, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, e.g. `W/\"3\"` (also `meta.version`); send it as `If-Match` to update only this version."))),
        (status = 400, description = "A malformed PatchOp (`invalidSyntax`), a bad path (`invalidPath`), a filter that matched nothing (`noTarget`), a bad value (`invalidValue`) or a readOnly/immutable target (`mutability`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No User with this id in this tenant.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 409, description = "`userName` would collide with another User (`uniqueness`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
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
    projection(&req, &state, user_type(&state)?)?;
    let st = state.clone();
    let view = blocking(move || svc::patch(&st, &tenant.0.tenant, &id, expected, &request)).await?;
    respond(&req, &state, StatusCode::OK, &view)
}

/// DELETE /Users/{id}
#[utoipa::path(
    delete,
    path = "/Users/{id}",
    operation_id = "deleteUser",
    tag = "Users",
    summary = "Delete a User",
    description = "Deletes the User and its group memberships.",
    params(("id" = String, Path, description = "The User's `id`, as the server assigned it."), crate::openapi::IfMatch),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No User with this id in this tenant.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
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
