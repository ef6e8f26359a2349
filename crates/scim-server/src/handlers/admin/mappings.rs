//! `POST /admin/v1/tenants/{name}/apply-mappings`: recompute every user's organization, roles
//! and admin tier under the tenant's current mappings (nothing moves until this runs).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use scim_store::Actor;
use serde::Serialize;
use utoipa::ToSchema;

use super::{json, tenant};
use crate::admin_auth::Admin;
use crate::error::ApiError;
use crate::http::blocking;
use crate::service::entitlements::apply_mappings as apply;
use crate::state::AppState;

/// What an apply-mappings run did (the CLI prints the same counts).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    /// Users recomputed (every user of the tenant).
    pub users_examined: usize,
    /// Users whose entitlements changed (each change is in the sync log, with its events).
    pub users_changed: usize,
    /// Organizations created because a user attribute named them.
    pub organizations_created: usize,
}

/// POST /admin/v1/tenants/{name}/apply-mappings
#[utoipa::path(
    post,
    path = "/tenants/{name}/apply-mappings",
    operation_id = "adminApplyMappings",
    tag = "Tenants",
    summary = "Apply the tenant's mappings",
    description = "Recomputes every user's organization, roles and admin tier under the \
                   tenant's current settings, in batches, recording each change (and its \
                   access-revoked or privileges-decreased events) as an administrator's, like \
                   `scim-server apply-mappings --tenant NAME`. Mapping changes move nobody \
                   until this runs. Takes no body.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod")),
    responses(
        (status = 200, description = "What the run did.", body = ApplyReport, content_type = "application/json"),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn apply_mappings(
    _: Admin,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let t = tenant(&state, name.into_inner()).await?;
    let (store, registry) = (state.store.clone(), state.registry.clone());
    let now = crate::service::now(&state).and_utc();
    let report = blocking(move || Ok(apply(&store, registry, &t.id, Actor::Admin, now)?)).await?;
    json(
        StatusCode::OK,
        &ApplyReport {
            users_examined: report.users_examined,
            users_changed: report.users_changed,
            organizations_created: report.organizations_created,
        },
    )
}
