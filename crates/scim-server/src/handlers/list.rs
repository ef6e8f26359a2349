//! `GET /Users`, `GET /Groups`, `POST /{Users,Groups}/.search` and `POST /.search`
//! (RFC 7644 §3.4.2, §3.4.3).

use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::projection::Projection;
use scim_core::query::ListQuery;

use super::common::{Tenant, query_pairs};
use super::stream::{self, Body};
use crate::error::ApiError;
use crate::http::{base_url, blocking, parse_body, point_read};
use crate::service::list::{Kind, page, point_lookup};
use crate::state::AppState;

async fn run(
    state: web::Data<AppState>,
    tenant: Tenant,
    kind: Kind,
    query: ListQuery,
    base: String,
) -> Result<HttpResponse, ApiError> {
    let rt = kind.resource_type(&state)?;
    let projection = state.projection(rt, &query.attributes, &query.excluded_attributes)?;
    let tenant = tenant.0.tenant;
    let (st, t, p, b) = (
        state.clone(),
        tenant.clone(),
        projection.clone(),
        base.clone(),
    );
    let start = query.start_index;
    // A point read, bounded whatever the tenant's size (Okta's and Entra's lookup before
    // every create).
    let unique = kind == Kind::Users && point_lookup(&query).is_some();
    let work = move || page(&st, &t, kind, &query, &p, &b);
    let (items, total) = if unique {
        point_read(&state, work).await?
    } else {
        blocking(work).await?
    };
    let body = Body::list(&state, &tenant, &projection, &base, items, total, start)?;
    stream::respond(HttpResponse::Ok(), body).await
}

fn from_query(req: &HttpRequest, state: &AppState) -> Result<ListQuery, ApiError> {
    let pairs = query_pairs(req)?;
    Ok(ListQuery::from_query_pairs(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &state.config.query_limits,
    )?)
}

/// GET /Users
#[utoipa::path(
    get,
    path = "/Users",
    operation_id = "listUsers",
    tag = "Users",
    summary = "List or filter Users",
    description = "A page of Users matching `filter` (all when absent), sorted by `sortBy` or else in a stable server order, so paging with `startIndex`/`count` is consistent. No match is a 200 with an empty `Resources`.",
    params(crate::openapi::ListParams),
    responses(
        (status = 200, description = "One page of Users.", body = crate::openapi::UserListResponse, content_type = "application/scim+json"),
        (status = 400, description = "A malformed filter, or one naming an unknown attribute or one this server cannot filter by, such as `members.display` or `meta.location` (`invalidFilter`), a bad or unsortable `sortBy`, `sortOrder`, `startIndex` or `count` (`invalidValue`), or a parameter given twice.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::Protected,
        crate::openapi::ServerError,
    ),
    security(("bearer" = []), ("basic" = [])),
)]
pub async fn list_users(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
) -> Result<HttpResponse, ApiError> {
    let query = from_query(&req, &state)?;
    let base = base_url(&req, &state);
    run(state, tenant, Kind::Users, query, base).await
}

/// GET /Groups
#[utoipa::path(
    get,
    path = "/Groups",
    operation_id = "listGroups",
    tag = "Groups",
    summary = "List or filter Groups",
    description = "A page of Groups matching `filter` (all when absent), sorted by `sortBy` or else in a stable server order, so paging with `startIndex`/`count` is consistent. No match is a 200 with an empty `Resources`.",
    params(crate::openapi::ListParams),
    responses(
        (status = 200, description = "One page of Groups.", body = crate::openapi::GroupListResponse, content_type = "application/scim+json"),
        (status = 400, description = "A malformed filter, or one naming an unknown attribute or one this server cannot filter by, such as `members.display` or `meta.location` (`invalidFilter`), a bad or unsortable `sortBy`, `sortOrder`, `startIndex` or `count` (`invalidValue`), or a parameter given twice.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::Protected,
        crate::openapi::ServerError,
    ),
    security(("bearer" = []), ("basic" = [])),
)]
pub async fn list_groups(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
) -> Result<HttpResponse, ApiError> {
    let query = from_query(&req, &state)?;
    let base = base_url(&req, &state);
    run(state, tenant, Kind::Groups, query, base).await
}

fn from_body(req: &HttpRequest, state: &AppState, body: &[u8]) -> Result<ListQuery, ApiError> {
    Ok(ListQuery::from_search_body(
        &parse_body(req, body)?,
        &state.config.query_limits,
    )?)
}

/// POST /Users/.search
#[utoipa::path(
    post,
    path = "/Users/.search",
    operation_id = "searchUsers",
    tag = "Users",
    summary = "Search Users",
    description = "Like `GET /Users`, with the query in the body, so filters stay out of URLs and logs.",
    request_body(
        description = "The query.",
        content((crate::openapi::SearchRequest = "application/scim+json"), (crate::openapi::SearchRequest = "application/json")),
    ),
    responses(
        (status = 200, description = "One page of Users.", body = crate::openapi::UserListResponse, content_type = "application/scim+json"),
        (status = 400, description = "A body that is not a SearchRequest (`invalidSyntax`), or a bad filter or parameter as for GET.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::Protected,
        crate::openapi::BodyErrors,
        crate::openapi::ServerError,
    ),
    security(("bearer" = []), ("basic" = [])),
)]
pub async fn search_users(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let query = from_body(&req, &state, &body)?;
    let base = base_url(&req, &state);
    run(state, tenant, Kind::Users, query, base).await
}

/// POST /Groups/.search
#[utoipa::path(
    post,
    path = "/Groups/.search",
    operation_id = "searchGroups",
    tag = "Groups",
    summary = "Search Groups",
    description = "Like `GET /Groups`, with the query in the body, so filters stay out of URLs and logs.",
    request_body(
        description = "The query.",
        content((crate::openapi::SearchRequest = "application/scim+json"), (crate::openapi::SearchRequest = "application/json")),
    ),
    responses(
        (status = 200, description = "One page of Groups.", body = crate::openapi::GroupListResponse, content_type = "application/scim+json"),
        (status = 400, description = "A body that is not a SearchRequest (`invalidSyntax`), or a bad filter or parameter as for GET.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::Protected,
        crate::openapi::BodyErrors,
        crate::openapi::ServerError,
    ),
    security(("bearer" = []), ("basic" = [])),
)]
pub async fn search_groups(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let query = from_body(&req, &state, &body)?;
    let base = base_url(&req, &state);
    run(state, tenant, Kind::Groups, query, base).await
}

/// POST /.search: Users then Groups, as one list. The filter must make sense for at least one
/// of them (each type matches nothing for attributes it lacks); paging runs over the
/// concatenation, so `startIndex`/`count` behave as for one type.
#[utoipa::path(
    post,
    path = "/.search",
    operation_id = "searchResources",
    tag = "Search",
    summary = "Search Users and Groups",
    description = "One query over both resource types: Users first, then Groups, paged as one list. The filter must make sense for at least one type; each type matches nothing for attributes it lacks.",
    request_body(
        description = "The query.",
        content((crate::openapi::SearchRequest = "application/scim+json"), (crate::openapi::SearchRequest = "application/json")),
    ),
    responses(
        (status = 200, description = "One page of Users and Groups.", body = crate::openapi::ResourceListResponse, content_type = "application/scim+json"),
        (status = 400, description = "A body that is not a SearchRequest (`invalidSyntax`), or a filter or parameter valid for neither type.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::Protected,
        crate::openapi::BodyErrors,
        crate::openapi::ServerError,
    ),
    security(("bearer" = []), ("basic" = [])),
)]
pub async fn search_all(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let query = from_body(&req, &state, &body)?;
    let base = base_url(&req, &state);
    let tenant = tenant.0.tenant;
    let (st, t, b) = (state.clone(), tenant.clone(), base.clone());
    let start = query.start_index;
    let (docs, total, groups) = blocking(move || {
        let (tenant, base) = (t, b);
        let mut parts = Vec::new();
        let mut first_error = None;
        for kind in [Kind::Users, Kind::Groups] {
            let rt = kind.resource_type(&st)?;
            if let Err(e) = query.validate_against(&st.registry, rt) {
                first_error.get_or_insert(e);
                continue;
            }
            parts.push(kind);
        }
        if parts.is_empty() {
            return Err(first_error
                .map(ApiError::from)
                .unwrap_or_else(|| ApiError::Internal("no resource types".into())));
        }
        let mut docs = Vec::new();
        let mut total = 0u64;
        let mut groups = None;
        // Skip/take over the concatenation: count each part first (count=0), then page.
        let mut skip = query.start_index.saturating_sub(1);
        let mut want = query.count;
        for kind in parts {
            let rt = kind.resource_type(&st)?;
            let projection = st.projection(rt, &query.attributes, &query.excluded_attributes)?;
            if kind == Kind::Groups {
                groups = Some(projection.clone());
            }
            let counting = ListQuery {
                count: 0,
                start_index: 1,
                ..query.clone()
            };
            let (_, n) = page(&st, &tenant, kind, &counting, &projection, &base)?;
            total += n;
            if skip >= n {
                skip -= n;
                continue;
            }
            if want > 0 {
                let q = ListQuery {
                    start_index: skip + 1,
                    count: want,
                    ..query.clone()
                };
                let (part, _) = page(&st, &tenant, kind, &q, &projection, &base)?;
                want = want.saturating_sub(part.len() as u64);
                docs.extend(part);
            }
            skip = 0;
        }
        Ok((docs, total, groups))
    })
    .await?;
    // Members are streamed only for Groups; Users are finished documents.
    let projection = groups.unwrap_or_else(|| std::sync::Arc::new(Projection::all()));
    let body = Body::list(&state, &tenant, &projection, &base, docs, total, start)?;
    stream::respond(HttpResponse::Ok(), body).await
}
