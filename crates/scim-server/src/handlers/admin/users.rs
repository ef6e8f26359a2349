//! `/admin/v1/tenants/{name}/users/{id}/…` and `verify-password`: a user's lifecycle state,
//! legal hold on and off, immediate deactivation and reactivation (all through the same
//! policy as provisioning, recorded as administrator actions), effective entitlements, and a
//! password check for hosts that let provisioned users sign in locally.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::policy::LifecycleEvent;
use scim_store::{Actor, StoreError, entitlements, lifecycle};
use serde_json::Value;

use super::views::{EntitlementsView, PasswordVerdict, UserState};
use super::{json, tenant};
use crate::admin_auth::Admin;
use crate::error::ApiError;
use crate::http::{blocking, parse_body};
use crate::secrets::Secret;
use crate::service::lifecycle::{LifecycleError, handle};
use crate::state::AppState;

fn no_user(tenant: &str, id: &str) -> ApiError {
    ApiError::NotFound(format!("tenant {tenant} has no user {id:?}"))
}

/// GET /admin/v1/tenants/{name}/users/{id}/state
#[utoipa::path(
    get,
    path = "/tenants/{name}/users/{id}/state",
    operation_id = "adminGetUserState",
    tag = "Lifecycle",
    summary = "A user's lifecycle state",
    description = "State, whether sign-in is allowed, legal hold, origin and, while a \
                   deactivation is pending, when it takes effect.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod"), ("id" = String, Path, description = "The user's SCIM `id`.")),
    responses(
        (status = 200, description = "The user's state.", body = UserState, content_type = "application/json"),
        (status = 404, description = "No tenant has this name, or the tenant has no such user.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn state(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    let t = tenant(&state, name.clone()).await?;
    let (store, uid) = (state.store.clone(), id.clone());
    let found = blocking(move || {
        Ok(store.read(|c| {
            let Some(record) = lifecycle::load(c, &t.id, &uid)? else {
                return Ok(None);
            };
            let allowed = lifecycle::sign_in_allowed(c, &t.id, &uid)?;
            Ok(Some((record, allowed.unwrap_or(false))))
        })?)
    })
    .await?;
    let (record, allowed) = found.ok_or_else(|| no_user(&name, &id))?;
    json(StatusCode::OK, &UserState::new(&record, allowed))
}

/// Runs an administrator's lifecycle event and answers with the new state.
async fn act(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    event: LifecycleEvent,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    let t = tenant(&state, name.clone()).await?;
    let (store, registry) = (state.store.clone(), state.registry.clone());
    let now = crate::service::now(&state).and_utc();
    let uid = id.clone();
    let outcome = blocking(move || {
        Ok(store.write(move |c| {
            match handle(c, &registry, &t.id, &uid, event, Actor::Admin, now) {
                Ok((decision, _)) => Ok(Ok(decision)),
                Err(LifecycleError::Policy(e)) => Ok(Err(ApiError::from(e))),
                Err(LifecycleError::Store(StoreError::NotFound { .. })) => Ok(Err(
                    ApiError::NotFound(format!("no user {uid:?} in this tenant")),
                )),
                Err(LifecycleError::Store(e)) => Err(e),
            }
        })?)
    })
    .await?;
    let decision = outcome.map_err(|e| match e {
        ApiError::NotFound(_) => no_user(&name, &id),
        other => other,
    })?;
    json(
        StatusCode::OK,
        &UserState::new(&decision.user, decision.sign_in_allowed),
    )
}

/// POST /admin/v1/tenants/{name}/users/{id}/legal-hold
#[utoipa::path(
    post,
    path = "/tenants/{name}/users/{id}/legal-hold",
    operation_id = "adminSetLegalHold",
    tag = "Lifecycle",
    summary = "Put a user on legal hold",
    description = "A user on legal hold is never deactivated: when a deactivation comes due \
                   the user is blocked instead (sign-in refused, data kept). Recorded in the \
                   sync log as an administrator action. Setting it again changes nothing.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod"), ("id" = String, Path, description = "The user's SCIM `id`.")),
    responses(
        (status = 200, description = "The user's state afterwards.", body = UserState, content_type = "application/json"),
        (status = 404, description = "No tenant has this name, or the tenant has no such user.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn set_legal_hold(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    act(state, path, LifecycleEvent::LegalHoldSet).await
}

/// DELETE /admin/v1/tenants/{name}/users/{id}/legal-hold
#[utoipa::path(
    delete,
    path = "/tenants/{name}/users/{id}/legal-hold",
    operation_id = "adminReleaseLegalHold",
    tag = "Lifecycle",
    summary = "Release a user's legal hold",
    description = "Releases the hold. A user blocked by it whose provider still has them \
                   inactive is deactivated at once. Recorded in the sync log.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod"), ("id" = String, Path, description = "The user's SCIM `id`.")),
    responses(
        (status = 200, description = "The user's state afterwards.", body = UserState, content_type = "application/json"),
        (status = 404, description = "No tenant has this name, or the tenant has no such user.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn release_legal_hold(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    act(state, path, LifecycleEvent::LegalHoldReleased).await
}

/// POST /admin/v1/tenants/{name}/users/{id}/deactivate
#[utoipa::path(
    post,
    path = "/tenants/{name}/users/{id}/deactivate",
    operation_id = "adminDeactivateUser",
    tag = "Lifecycle",
    summary = "Deactivate a user now",
    description = "An administrator's deactivation: immediate, without the tenant's delay \
                   (a user on legal hold is blocked instead). Raises the deactivation events \
                   and is recorded in the sync log.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod"), ("id" = String, Path, description = "The user's SCIM `id`.")),
    responses(
        (status = 200, description = "The user's state afterwards.", body = UserState, content_type = "application/json"),
        (status = 404, description = "No tenant has this name, or the tenant has no such user.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn deactivate(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    act(state, path, LifecycleEvent::AdminDeactivate).await
}

/// POST /admin/v1/tenants/{name}/users/{id}/reactivate
#[utoipa::path(
    post,
    path = "/tenants/{name}/users/{id}/reactivate",
    operation_id = "adminReactivateUser",
    tag = "Lifecycle",
    summary = "Reactivate a user",
    description = "An administrator's reactivation: cancels a pending deactivation, or \
                   reactivates a deactivated or blocked user, at once. Recorded in the sync log.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod"), ("id" = String, Path, description = "The user's SCIM `id`.")),
    responses(
        (status = 200, description = "The user's state afterwards.", body = UserState, content_type = "application/json"),
        (status = 404, description = "No tenant has this name, or the tenant has no such user.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn reactivate(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    act(state, path, LifecycleEvent::AdminReactivate).await
}

/// GET /admin/v1/tenants/{name}/users/{id}/entitlements
#[utoipa::path(
    get,
    path = "/tenants/{name}/users/{id}/entitlements",
    operation_id = "adminGetUserEntitlements",
    tag = "Lifecycle",
    summary = "A user's effective entitlements",
    description = "Organization, roles, admin tier and whether the user is in a mapped group, \
                   as last computed (by provisioning, or by apply-mappings after a mapping \
                   change).",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod"), ("id" = String, Path, description = "The user's SCIM `id`.")),
    responses(
        (status = 200, description = "The entitlements.", body = EntitlementsView, content_type = "application/json"),
        (status = 404, description = "No tenant has this name, the tenant has no such user, or none were computed for the user yet (run apply-mappings).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn entitlements(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    let t = tenant(&state, name.clone()).await?;
    let (store, uid) = (state.store.clone(), id.clone());
    let found = blocking(move || {
        Ok(store.read(|c| {
            if lifecycle::state_name(c, &t.id, &uid)?.is_none() {
                return Ok(None);
            }
            Ok(Some(entitlements::get(c, &t.id, &uid)?))
        })?)
    })
    .await?;
    match found {
        None => Err(no_user(&name, &id)),
        Some(None) => Err(ApiError::NotFound(format!(
            "no entitlements were computed for user {id:?} yet; run apply-mappings for tenant {name}"
        ))),
        Some(Some(e)) => json(StatusCode::OK, &EntitlementsView::from(&e)),
    }
}

fn string_member(body: &Value, name: &str) -> Result<String, ApiError> {
    match body.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        // Never echo what was sent: it may be the password.
        _ => Err(scim_core::Error::InvalidValue(format!("`{name}` must be a string")).into()),
    }
}

/// POST /admin/v1/tenants/{name}/verify-password
#[utoipa::path(
    post,
    path = "/tenants/{name}/verify-password",
    operation_id = "adminVerifyPassword",
    tag = "Lifecycle",
    summary = "Check a user's password",
    description = "For hosts that let provisioned users sign in locally: checks a password \
                   against the argon2id hash of the one the provider synchronized. `valid` is \
                   false when the user is unknown, has no synchronized password, may not sign \
                   in (pending deactivation, deactivated or blocked), or the password differs; \
                   the answer takes about the same time in every case. The password is never \
                   logged, stored or echoed.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod")),
    request_body(
        description = "The user name and the password to check.",
        content((crate::handlers::admin::views::VerifyPassword = "application/json"), (crate::handlers::admin::views::VerifyPassword = "application/scim+json")),
    ),
    responses(
        (status = 200, description = "Whether the password is valid for signing in now.", body = PasswordVerdict, content_type = "application/json"),
        (status = 400, description = "`userName` or `password` missing or not a string (`invalidValue`), or a body that is not JSON (`invalidSyntax`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::BodyErrors,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn verify_password(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = parse_body(&req, &bytes)?;
    let user_name = string_member(&body, "userName")?;
    let password = Secret::new(string_member(&body, "password")?);
    drop(body);
    let t = tenant(&state, name.into_inner()).await?;
    let store = state.store.clone();
    let valid = blocking(move || {
        crate::service::passwords::verify_password(&store, &t.id, &user_name, &password)
    })
    .await?;
    json(StatusCode::OK, &PasswordVerdict { valid })
}
