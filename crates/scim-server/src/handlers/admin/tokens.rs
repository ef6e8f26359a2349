//! `/admin/v1/tenants/{name}/tokens`: a tenant's SCIM tokens — list, issue (the secret shown
//! once), revoke (effective at once on this instance).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use scim_store::tokens;

use super::views::{IssuedTokenView, NewToken, TokenView};
use super::{body, check_text, json, tenant};
use crate::admin_auth::Admin;
use crate::error::ApiError;
use crate::http::blocking;
use crate::secrets::{hash_secret, issue_token};
use crate::state::AppState;

/// The scope of the tokens issued here: the tenant's SCIM API.
const SCIM_SCOPE: &str = "scim";

/// GET /admin/v1/tenants/{name}/tokens
#[utoipa::path(
    get,
    path = "/tenants/{name}/tokens",
    operation_id = "adminListTokens",
    tag = "Tokens",
    summary = "List a tenant's tokens",
    description = "The tenant's tokens, oldest first, revoked ones included. Never a secret.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod")),
    responses(
        (status = 200, description = "The tokens.", body = Vec<TokenView>, content_type = "application/json"),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn list(
    _: Admin,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let t = tenant(&state, name.into_inner()).await?;
    let store = state.store.clone();
    let rows = blocking(move || Ok(store.read(|c| tokens::list(c, &t.id))?)).await?;
    let views: Vec<TokenView> = rows.iter().map(TokenView::from).collect();
    json(StatusCode::OK, &views)
}

/// POST /admin/v1/tenants/{name}/tokens
#[utoipa::path(
    post,
    path = "/tenants/{name}/tokens",
    operation_id = "adminIssueToken",
    tag = "Tokens",
    summary = "Issue a SCIM token",
    description = "Issues a token for the tenant's SCIM API (scope `scim`), like \
                   `scim-server token create --tenant NAME`. The token is in this response \
                   only: the server keeps its argon2id hash. The body may be empty.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod")),
    request_body(
        description = "An optional label.",
        content((NewToken = "application/json"), (NewToken = "application/scim+json")),
    ),
    responses(
        (status = 201, description = "The new token, shown once.", body = IssuedTokenView, content_type = "application/json"),
        (status = 400, description = "A label that is too long or has control characters, or an unknown member (`invalidValue`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::BodyErrors,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn issue(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let new: NewToken = if bytes.iter().all(u8::is_ascii_whitespace) {
        NewToken::default()
    } else {
        body(&req, &bytes)?
    };
    if let Some(label) = &new.label {
        check_text("a token label", label)?;
    }
    let t = tenant(&state, name.into_inner()).await?;
    let (store, now) = (state.store.clone(), state.clock.now().naive_utc());
    let issued = blocking(move || {
        let issued = issue_token().map_err(|e| ApiError::Internal(e.to_string()))?;
        let hash = hash_secret(&issued.secret).map_err(|e| ApiError::Internal(e.to_string()))?;
        let id = issued.id.clone();
        store.write(move |c| {
            tokens::create(c, &t.id, &id, &hash, SCIM_SCOPE, new.label.as_deref(), now)
        })?;
        Ok(issued)
    })
    .await?;
    let view = IssuedTokenView {
        id: issued.id.clone(),
        token: issued.bearer().expose().to_string(),
    };
    json(StatusCode::CREATED, &view)
}

/// DELETE /admin/v1/tenants/{name}/tokens/{id}
#[utoipa::path(
    delete,
    path = "/tenants/{name}/tokens/{id}",
    operation_id = "adminRevokeToken",
    tag = "Tokens",
    summary = "Revoke a token",
    description = "Revokes one of the tenant's tokens. The next request with it is refused \
                   (401) on the instance that answered, and within seconds on the others. \
                   Revoking a revoked token succeeds and keeps the first revocation time.",
    params(
        ("name" = String, Path, description = "The tenant's name.", example = "okta-prod"),
        ("id" = String, Path, description = "The token id (the part before the dot)."),
    ),
    responses(
        (status = 204, description = "Revoked."),
        (status = 404, description = "No tenant has this name, or the tenant has no such token.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn revoke(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    let t = tenant(&state, name.clone()).await?;
    let (store, now) = (state.store.clone(), state.clock.now().naive_utc());
    let token_id = id.clone();
    let found =
        blocking(move || Ok(store.write(move |c| tokens::revoke(c, &t.id, &token_id, now))?))
            .await?;
    if !found {
        return Err(ApiError::NotFound(format!(
            "tenant {name} has no token {id:?}"
        )));
    }
    state.verifier.forget_token(&id);
    Ok(HttpResponse::NoContent().finish())
}
