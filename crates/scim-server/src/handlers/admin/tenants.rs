//! `/admin/v1/tenants`: list, create, show and delete tenants; read and replace their
//! settings.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use scim_store::settings::TenantSettings;
use scim_store::{tenants, tokens};

use super::views::{NewTenant, TenantDetail, TenantSummary};
use super::{body, check_text, json, tenant};
use crate::admin_auth::{Admin, is_reserved_tenant_name};
use crate::error::ApiError;
use crate::http::{blocking, parse_body};
use crate::state::AppState;

fn detail(t: &scim_store::Tenant) -> TenantDetail {
    let s = TenantSummary::from(t);
    TenantDetail {
        id: s.id,
        name: s.name,
        created_at: s.created_at,
        settings: t.settings.clone(),
    }
}

/// GET /admin/v1/tenants
#[utoipa::path(
    get,
    path = "/tenants",
    operation_id = "adminListTenants",
    tag = "Tenants",
    summary = "List tenants",
    description = "Every tenant (one per identity-provider connection), by name.",
    responses(
        (status = 200, description = "The tenants.", body = Vec<TenantSummary>, content_type = "application/json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn list(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let all = blocking(move || Ok(store.read(tenants::list)?)).await?;
    let views: Vec<TenantSummary> = all
        .iter()
        .filter(|t| !is_reserved_tenant_name(&t.name))
        .map(TenantSummary::from)
        .collect();
    json(StatusCode::OK, &views)
}

/// POST /admin/v1/tenants
#[utoipa::path(
    post,
    path = "/tenants",
    operation_id = "adminCreateTenant",
    tag = "Tenants",
    summary = "Create a tenant",
    description = "Creates a tenant with default settings. Issue it a SCIM token next \
                   (`POST /admin/v1/tenants/{name}/tokens`).",
    request_body(
        description = "The tenant's name.",
        content((NewTenant = "application/json"), (NewTenant = "application/scim+json")),
    ),
    responses(
        (status = 201, description = "The created tenant.", body = TenantDetail, content_type = "application/json"),
        (status = 400, description = "No name, an empty or over-long one, or the reserved `_admin` (`invalidValue`); or a body that is not JSON (`invalidSyntax`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 409, description = "A tenant with this name exists (`uniqueness`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::BodyErrors,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn create(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let new: NewTenant = body(&req, &bytes)?;
    check_text("a tenant name", &new.name)?;
    if is_reserved_tenant_name(&new.name) {
        return Err(scim_core::Error::InvalidValue(format!(
            "the tenant name {:?} is reserved for administrator tokens",
            new.name.trim()
        ))
        .into());
    }
    let (store, now) = (state.store.clone(), state.clock.now().naive_utc());
    let t = blocking(move || Ok(store.write(move |c| tenants::create(c, &new.name, now))?)).await?;
    json(StatusCode::CREATED, &detail(&t))
}

/// GET /admin/v1/tenants/{name}
#[utoipa::path(
    get,
    path = "/tenants/{name}",
    operation_id = "adminGetTenant",
    tag = "Tenants",
    summary = "Show a tenant",
    description = "The tenant with its settings.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod")),
    responses(
        (status = 200, description = "The tenant.", body = TenantDetail, content_type = "application/json"),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn get(
    _: Admin,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let t = tenant(&state, name.into_inner()).await?;
    json(StatusCode::OK, &detail(&t))
}

/// DELETE /admin/v1/tenants/{name}
#[utoipa::path(
    delete,
    path = "/tenants/{name}",
    operation_id = "adminDeleteTenant",
    tag = "Tenants",
    summary = "Delete a tenant",
    description = "Deletes the tenant and everything it owns: users, groups, tokens, jobs, \
                   sync log and undelivered events. Its tokens stop working at once on the \
                   instance that answered, and within seconds on the others. Not undoable.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn delete(
    _: Admin,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let t = tenant(&state, name.into_inner()).await?;
    let store = state.store.clone();
    let ids = blocking(move || {
        Ok(store.write(move |c| {
            let ids: Vec<String> = tokens::list(c, &t.id)?.into_iter().map(|r| r.id).collect();
            tenants::delete(c, &t.id)?;
            Ok(ids)
        })?)
    })
    .await?;
    for id in &ids {
        state.verifier.forget_token(id);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// GET /admin/v1/tenants/{name}/settings
#[utoipa::path(
    get,
    path = "/tenants/{name}/settings",
    operation_id = "adminGetTenantSettings",
    tag = "Tenants",
    summary = "Read a tenant's settings",
    description = "Every setting, defaults included: the document `PUT` takes back.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod")),
    responses(
        (status = 200, description = "The settings.", body = crate::openapi::admin::TenantSettings, content_type = "application/json"),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn get_settings(
    _: Admin,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let t = tenant(&state, name.into_inner()).await?;
    let settings = TenantSettings::from_json(&t.settings)?.to_json()?;
    json(StatusCode::OK, &settings)
}

/// PUT /admin/v1/tenants/{name}/settings
#[utoipa::path(
    put,
    path = "/tenants/{name}/settings",
    operation_id = "adminReplaceTenantSettings",
    tag = "Tenants",
    summary = "Replace a tenant's settings",
    description = "Validates and stores the settings, replacing all of them: a missing key \
                   takes its default, an unknown key is refused. A running server applies them \
                   to changes made afterwards (a new deactivation delay to jobs scheduled after \
                   it); mapping changes move nobody until apply-mappings runs.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod")),
    request_body(
        description = "The new settings.",
        content((crate::openapi::admin::TenantSettings = "application/json"), (crate::openapi::admin::TenantSettings = "application/scim+json")),
    ),
    responses(
        (status = 200, description = "The stored settings, every field present.", body = crate::openapi::admin::TenantSettings, content_type = "application/json"),
        (status = 400, description = "Invalid settings (`invalidValue`, naming the setting and the rule), or a body that is not JSON (`invalidSyntax`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::BodyErrors,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn put_settings(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let value = parse_body(&req, &bytes)?;
    let settings = TenantSettings::from_json(&value)?;
    // This server never encrypts a bind password: whatever came in this field would be stored
    // and shown by GET exactly as sent, in clear (docs/ldap.md).
    if settings
        .ldap
        .as_ref()
        .is_some_and(|l| l.bind_password_enc.is_some())
    {
        return Err(scim_core::Error::InvalidValue(
            "ldap.bind_password_enc is not supported by this server; put the password in an \
             environment variable of the server and name it in ldap.bind_password_env"
                .into(),
        )
        .into());
    }
    // Mappings that don't compile (an organization attribute that is no JSONPath) would be
    // stored, then refuse every later user write of the tenant: refused here instead.
    scim_core::policy::EntitlementRules::new(&settings.to_policy(), &state.registry).map_err(
        |e| {
            ApiError::from(scim_core::Error::InvalidValue(format!(
                "invalid tenant settings: {e}"
            )))
        },
    )?;
    let t = tenant(&state, name.into_inner()).await?;
    let store = state.store.clone();
    let stored = settings.to_json()?;
    let id = t.id.clone();
    blocking(move || Ok(store.write(move |c| tenants::update_settings(c, &t.id, &settings))?))
        .await?;
    state.settings.forget(&id);
    json(StatusCode::OK, &stored)
}
