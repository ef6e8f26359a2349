//! The admin API (`/admin/v1`): tenants and their settings, tokens, users' lifecycle (legal
//! hold, immediate deactivation and reactivation), entitlements, password checks, apply
//! mappings, pending jobs, the sync log, JIT login, and LDAP synchronization ("Synchronize
//! Users", "View Logs"). Every handler requires an administrator token
//! ([`crate::admin_auth::Admin`]); bodies are JSON (`application/json`), errors are SCIM Error
//! bodies like everywhere else.
//!
//! Tenants are addressed by name, as operators and the CLI name them. The reserved tenant of
//! the administrator tokens ([`crate::admin_auth::ADMIN_TENANT`]) does not exist here.

pub mod activity;
pub mod jit;
pub mod ldap;
pub mod mappings;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod views;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::admin_auth::is_reserved_tenant_name;
use crate::error::ApiError;
use crate::http::{blocking, parse_body};
use crate::state::AppState;

/// A JSON response (`application/json`).
pub fn json(status: StatusCode, body: &impl Serialize) -> Result<HttpResponse, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ))
        .body(bytes))
}

/// Parses a JSON body into `T` (media type and syntax checked as for SCIM bodies); a body of
/// the wrong shape is 400 `invalidValue` saying why.
pub fn body<T: DeserializeOwned>(req: &HttpRequest, bytes: &[u8]) -> Result<T, ApiError> {
    let value = parse_body(req, bytes)?;
    serde_json::from_value(value).map_err(|e| {
        scim_core::Error::InvalidValue(format!("the request body is not accepted: {e}")).into()
    })
}

/// The tenant called `name`, or 404. The reserved administrator tenant is not found either.
pub async fn tenant(state: &AppState, name: String) -> Result<scim_store::Tenant, ApiError> {
    let store = state.store.clone();
    let found = if is_reserved_tenant_name(&name) {
        None
    } else {
        let n = name.clone();
        blocking(move || Ok(store.read(|c| scim_store::tenants::by_name(c, &n))?)).await?
    };
    found.ok_or_else(|| ApiError::NotFound(format!("no tenant named {name:?}")))
}

/// A name or label from a request: at most 200 characters, no control characters.
pub fn check_text(what: &str, text: &str) -> Result<(), ApiError> {
    if text.chars().count() > 200 || text.chars().any(char::is_control) {
        return Err(scim_core::Error::InvalidValue(format!(
            "{what} has at most 200 characters and no control characters"
        ))
        .into());
    }
    Ok(())
}

/// 404 for paths the admin API doesn't have.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no admin endpoint at {}; see the Admin operations in /scim/v2/openapi.json",
        req.path()
    )))
}
