//! `POST /admin/v1/tenants/{name}/jit-login`: just-in-time provisioning at SAML login, for a
//! host whose SAML layer has ALREADY VERIFIED the assertion (signature, audience, validity,
//! replay). The endpoint trusts the values it is given; see `crate::service::jit` and
//! `docs/jit.md`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{body, json, tenant};
use crate::admin_auth::Admin;
use crate::error::ApiError;
use crate::http::blocking;
use crate::service::jit::{JitAssertion, JitLogin, JitOutcome, jit_login};
use crate::state::AppState;

/// POST /admin/v1/tenants/{name}/jit-login
#[utoipa::path(
    post,
    path = "/tenants/{name}/jit-login",
    operation_id = "adminJitLogin",
    tag = "Lifecycle",
    summary = "Provision a user just in time at SAML login",
    description = "For the host's SAML layer, AFTER it has verified the assertion (this \
                   endpoint verifies nothing). userName is the NameID (the email when the \
                   NameID is empty). An unknown user is created (`externalId` \
                   `jit:<userName>`); a known one gets the assertion's name and email when the \
                   tenant's `jit.update_profile_at_login` is on. Group values (only those \
                   starting with `jit.group_prefix` when set, matched whole) set the user's \
                   membership of the groups the tenant's mappings name, and the entitlements \
                   are recomputed; changes are in the sync log with actor `jit`. \
                   `endOtherSessions` is true when the login changed the user's group \
                   membership or entitlements. A user in no mapped group is refused (403), \
                   and deactivated when `jit.deactivate_unmapped_at_login` is on; a local \
                   account or a user that is not active is refused and never re-enabled.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod")),
    request_body(
        description = "The verified assertion's values.",
        content((JitAssertion = "application/json"), (JitAssertion = "application/scim+json")),
    ),
    responses(
        (status = 200, description = "The user may sign in, with these entitlements.", body = JitLogin, content_type = "application/json"),
        (status = 400, description = "The body is not an assertion, has neither NameID nor email, or a value the tenant's validation rules refuse.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        (status = 403, description = "Refused: no mapped group, a local account, or a disabled user (`detail` says which). Also a token that is not an administrator token.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::BodyErrors,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn login(
    _: Admin,
    state: web::Data<AppState>,
    name: web::Path<String>,
    req: HttpRequest,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let t = tenant(&state, name.into_inner()).await?;
    let assertion: JitAssertion = body(&req, &bytes)?;
    let st = state.get_ref().clone();
    let outcome = blocking(move || jit_login(&st, &t.id, &assertion)).await?;
    match outcome {
        JitOutcome::Accepted(login) => json(StatusCode::OK, &login),
        JitOutcome::Refused { reason } => Err(ApiError::Forbidden(reason)),
    }
}
