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
pub async fn resource_types(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let all = discovery::resource_types(&state.registry, &base_url(&req, &state));
    let total = all.len() as u64;
    scim_json(StatusCode::OK, &ListResponse::new(all, total, 1))
}

/// GET /ResourceTypes/{name}
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
pub async fn schemas(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let all = discovery::schemas(&state.registry, &base_url(&req, &state));
    let total = all.len() as u64;
    scim_json(StatusCode::OK, &ListResponse::new(all, total, 1))
}

/// GET /Schemas/{urn}
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
