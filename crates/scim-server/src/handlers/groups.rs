//! `/Groups` over HTTP: extract → service → respond. Members are loaded only when the
//! response will show them (`excludedAttributes=members`, as Entra sends, skips them).

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::patch::PatchRequest;
use scim_core::projection::Projection;
use scim_core::resource::etag;
use scim_store::members::MemberRow;
use scim_store::{StoredResource, TenantId};

use super::common::{
    Tenant, if_match, if_none_match_hits, location, not_modified, projection, query_pairs, render,
};
use super::stream::{self, Body, Item};
use crate::error::ApiError;
use crate::http::{base_url, blocking, parse_body};
use crate::service::groups::{self as svc, group_type};
use crate::state::{AppState, GroupPatchResponse};

/// A stored Group as a response item: its rendered, projected document, with its members to
/// be streamed after it when the projection shows them (never read when it doesn't).
pub fn group_item(
    state: &AppState,
    stored: &StoredResource,
    projection: &Projection,
    base: &str,
) -> Result<Item, ApiError> {
    let mut doc = render(stored, group_type(state)?, base);
    // Membership rows are the truth; `members` is appended from them as the last key.
    if let Some(obj) = doc.as_object_mut() {
        obj.remove("members");
    }
    let doc = projection.apply_owned(doc);
    Ok(if projection.returns("members") {
        Item::Group {
            doc,
            id: stored.id.clone(),
            first: None,
        }
    } else {
        Item::Doc(doc)
    })
}

/// A single-Group response: `ETag`, `Location` for 201, members streamed (from `first`, their
/// first page, when the caller read it already).
async fn respond(
    req: &HttpRequest,
    state: &AppState,
    tenant: &TenantId,
    status: StatusCode,
    stored: &StoredResource,
    projection: &Projection,
    first: Option<Vec<MemberRow>>,
) -> Result<HttpResponse, ApiError> {
    let rt = group_type(state)?;
    let base = base_url(req, state);
    let item = match group_item(state, stored, projection, &base)? {
        Item::Group { doc, id, .. } => Item::Group { doc, id, first },
        other => other,
    };
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::ETAG, version_tag(stored.version)));
    if status == StatusCode::CREATED {
        builder.insert_header((header::LOCATION, location(rt, &stored.id, &base)));
    }
    stream::respond(
        builder,
        Body::single(state, tenant, projection, &base, item),
    )
    .await
}

/// The first page of a group's members when the response shows them: read as soon as a
/// write has committed, while it is being made durable (see `svc::create`).
fn first_members(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    shows_members: bool,
) -> Result<Option<Vec<MemberRow>>, ApiError> {
    if !shows_members {
        return Ok(None);
    }
    Ok(Some(st.store.read(|c| stream::first_page(c, tenant, id))?))
}

fn version_tag(version: i64) -> String {
    etag(u64::try_from(version).unwrap_or_default())
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
        content((crate::openapi::GroupInput = "application/scim+json"), (crate::openapi::GroupInput = "application/json")),
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
    let projection = projection(&req, &state, group_type(&state)?)?;
    let shows_members = projection.returns("members");
    let tenant = tenant.0.tenant;
    let (st, t) = (state.clone(), tenant.clone());
    let (stored, first) = blocking(move || {
        let (stored, first) = svc::create(&st, &t, input, |id| {
            first_members(&st, &t, id, shows_members)
        })?;
        Ok((stored, first?))
    })
    .await?;
    let status = StatusCode::CREATED;
    respond(&req, &state, &tenant, status, &stored, &projection, first).await
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
    let tenant = tenant.0.tenant;
    let (st, t) = (state.clone(), tenant.clone());
    let (stored, _) = blocking(move || svc::get(&st, &t, &id, false))
        .await?
        .ok_or_else(|| ApiError::NotFound("no such Group".into()))?;
    if if_none_match_hits(&req, stored.version) {
        return Ok(not_modified(stored.version));
    }
    let projection = projection(&req, &state, group_type(&state)?)?;
    respond(
        &req,
        &state,
        &tenant,
        StatusCode::OK,
        &stored,
        &projection,
        None,
    )
    .await
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
        content((crate::openapi::GroupInput = "application/scim+json"), (crate::openapi::GroupInput = "application/json")),
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
    let projection = projection(&req, &state, group_type(&state)?)?;
    let shows_members = projection.returns("members");
    let tenant = tenant.0.tenant;
    let (st, t) = (state.clone(), tenant.clone());
    let (stored, first) = blocking(move || {
        let (stored, first) = svc::replace(&st, &t, &id, expected, &input, |id| {
            first_members(&st, &t, id, shows_members)
        })?;
        Ok((stored, first?))
    })
    .await?;
    respond(
        &req,
        &state,
        &tenant,
        StatusCode::OK,
        &stored,
        &projection,
        first,
    )
    .await
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
        (status = 204, description = "The operations were applied, and the group has more than `group_patch_member_limit` members (10 000 by default) while `attributes` does not name `members`, or the server is configured to answer Group PATCH without a body (as Entra prefers). Carries the new ETag."),
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
    let projection = projection(&req, &state, group_type(&state)?)?;
    let answer = patch_answer(&req, &state, &projection)?;
    let tenant = tenant.0.tenant;
    let (st, t) = (state.clone(), tenant.clone());
    let shows_members = projection.returns("members");
    let (stored, body) = blocking(move || {
        let (stored, body) = svc::patch(&st, &t, &id, expected, &request, |id| {
            patch_body(&st, &t, id, answer, shows_members)
        })?;
        Ok((stored, body?))
    })
    .await?;
    match body {
        PatchBody::NoContent => Ok(HttpResponse::NoContent()
            .insert_header((header::ETAG, version_tag(stored.version)))
            .finish()),
        PatchBody::Group(first) => {
            respond(
                &req,
                &state,
                &tenant,
                StatusCode::OK,
                &stored,
                &projection,
                first,
            )
            .await
        }
    }
}

/// A Group PATCH's answer once decided: 204, or 200 with the group and, when the response
/// shows members, their first page.
enum PatchBody {
    NoContent,
    Group(Option<Vec<MemberRow>>),
}

/// Decides the answer and reads what it needs, on one read connection, as soon as the change
/// has committed: the member count (a row the database keeps) and the first page of members,
/// which so overlap the wait for the change to be durable (`Store::write_overlapped`).
fn patch_body(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    answer: PatchAnswer,
    shows_members: bool,
) -> Result<PatchBody, ApiError> {
    let limit = match answer {
        PatchAnswer::Empty => return Ok(PatchBody::NoContent),
        PatchAnswer::Group => None,
        PatchAnswer::GroupUpTo(n) => Some(n),
    };
    Ok(st.store.read(|c| {
        if let Some(n) = limit
            && scim_store::members::member_count(c, tenant, id)? > n
        {
            return Ok(PatchBody::NoContent);
        }
        let first = if shows_members {
            Some(stream::first_page(c, tenant, id)?)
        } else {
            None
        };
        Ok(PatchBody::Group(first))
    })?)
}

/// What a Group PATCH answers (docs/clients.md, choice 15).
#[derive(Debug, Clone, Copy)]
enum PatchAnswer {
    /// 204 No Content.
    Empty,
    /// 200 with the group.
    Group,
    /// 200 with the group when it has at most this many members, else 204.
    GroupUpTo(i64),
}

/// The rule: with `GroupPatchResponse::NoContent`, always 204. Otherwise 200 with the group
/// when the response would show no members (`excludedAttributes=members`, or `attributes`
/// without them: nothing large to send) or the client named `members` in `attributes` (it
/// asked for them, whatever the size); else 200 only while the group has at most
/// `group_patch_member_limit` members, and 204 beyond, so a one-member change to a huge group
/// costs what it costs for a small one instead of sending the whole group back.
fn patch_answer(
    req: &HttpRequest,
    state: &AppState,
    projection: &Projection,
) -> Result<PatchAnswer, ApiError> {
    if state.config.group_patch_response == GroupPatchResponse::NoContent {
        return Ok(PatchAnswer::Empty);
    }
    let named = query_pairs(req)?
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("attributes") && !v.trim().is_empty());
    if !projection.returns("members") || named {
        return Ok(PatchAnswer::Group);
    }
    Ok(match i64::try_from(state.config.group_patch_member_limit) {
        Ok(n) => PatchAnswer::GroupUpTo(n),
        Err(_) => PatchAnswer::Group,
    })
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
