//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` (RFC 7644 §4): generated from the
//! registry and the settings this server really runs with. Public, as RFC 7644 §4 allows, so
//! a client can discover before it has credentials.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::discovery::{self, ServiceProviderSettings};
use scim_core::query::ListResponse;

use crate::error::ApiError;
use crate::http::{base_url, scim_json};
use crate::state::AppState;

fn settings(state: &AppState) -> ServiceProviderSettings {
    ServiceProviderSettings {
        bulk: Some(state.config.bulk_limits),
        filter_max_results: state.config.query_limits.max_count,
        ..ServiceProviderSettings::default()
    }
}

/// GET /ServiceProviderConfig
#[utoipa::path(
    get,
    path = "/ServiceProviderConfig",
    operation_id = "getServiceProviderConfig",
    tag = "Discovery",
    summary = "What this server supports",
    description = "PATCH, bulk limits, the filter result maximum, sorting, ETags and the authentication schemes, as this server is configured. Public.",
    responses(
        (status = 200, description = "The ServiceProviderConfig.", body = crate::openapi::ServiceProviderConfig, content_type = "application/scim+json"),
        crate::openapi::ServerError,
    ),
)]
pub async fn service_provider_config(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let base = base_url(&req, &state);
    scim_json(
        StatusCode::OK,
        &discovery::service_provider_config(&settings(&state), &base),
    )
}

/// GET /ResourceTypes
#[utoipa::path(
    get,
    path = "/ResourceTypes",
    operation_id = "listResourceTypes",
    tag = "Discovery",
    summary = "List resource types",
    description = "`User` and `Group`, with their schema and schema extensions (configured extensions included). Public.",
    responses(
        (status = 200, description = "Every resource type, in one ListResponse.", body = crate::openapi::ResourceTypeListResponse, content_type = "application/scim+json"),
        crate::openapi::ServerError,
    ),
)]
pub async fn resource_types(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let all = discovery::resource_types(&state.registry, &base_url(&req, &state));
    let total = all.len() as u64;
    scim_json(StatusCode::OK, &ListResponse::new(all, total, 1))
}

/// GET /ResourceTypes/{name}
#[utoipa::path(
    get,
    path = "/ResourceTypes/{name}",
    operation_id = "getResourceType",
    tag = "Discovery",
    summary = "Get a resource type",
    description = "One resource type by name. Public.",
    params(("name" = String, Path, description = "`User` or `Group` (case-insensitive).", example = "User")),
    responses(
        (status = 200, description = "The resource type.", body = crate::openapi::ResourceType, content_type = "application/scim+json"),
        (status = 404, description = "No resource type has this name.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::ServerError,
    ),
)]
pub async fn resource_type(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    match discovery::resource_type(&state.registry, &name, &base_url(&req, &state)) {
        Some(rt) => scim_json(StatusCode::OK, &rt),
        None => Err(ApiError::NotFound(format!(
            "no resource type named {:?}",
            name.as_str()
        ))),
    }
}

/// GET /Schemas
#[utoipa::path(
    get,
    path = "/Schemas",
    operation_id = "listSchemas",
    tag = "Discovery",
    summary = "List schemas",
    description = "Every schema with its attribute definitions: User, EnterpriseUser, Group, configured extensions, and the ServiceProviderConfig, ResourceType and Schema schemas. Public.",
    responses(
        (status = 200, description = "Every schema, in one ListResponse.", body = crate::openapi::SchemaListResponse, content_type = "application/scim+json"),
        crate::openapi::ServerError,
    ),
)]
pub async fn schemas(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let all = discovery::schemas(&state.registry, &base_url(&req, &state));
    let total = all.len() as u64;
    scim_json(StatusCode::OK, &ListResponse::new(all, total, 1))
}

/// GET /Schemas/{urn}
#[utoipa::path(
    get,
    path = "/Schemas/{urn}",
    operation_id = "getSchema",
    tag = "Discovery",
    summary = "Get a schema",
    description = "One schema by its URN (case-insensitive). Public.",
    params(("urn" = String, Path, description = "The schema URN.", example = "urn:ietf:params:scim:schemas:core:2.0:User")),
    responses(
        (status = 200, description = "The schema.", body = crate::openapi::SchemaDefinition, content_type = "application/scim+json"),
        (status = 404, description = "No schema has this URN.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::ServerError,
    ),
)]
pub async fn schema(
    req: HttpRequest,
    state: web::Data<AppState>,
    urn: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    match discovery::schema(&state.registry, &urn, &base_url(&req, &state)) {
        Some(s) => scim_json(StatusCode::OK, &s),
        None => Err(ApiError::NotFound(format!("no schema {:?}", urn.as_str()))),
    }
}
