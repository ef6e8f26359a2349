//! Administrator tokens: who may use the admin API (`/admin/v1`), and how such a token is
//! issued.
//!
//! An administrator token is an ordinary API token (`<id>.<secret>`, argon2id-hashed, cached
//! by the same [`crate::auth::TokenVerifier`]) with scope `admin`. The `api_tokens` table
//! requires a tenant, so administrator tokens belong to one reserved internal tenant,
//! [`ADMIN_TENANT`], created on first use. That tenant can never act through SCIM:
//!
//! - the SCIM API accepts only `scim`-scoped tokens ([`crate::handlers::common::Tenant`]) and the
//!   admin API only `admin`-scoped ones ([`Admin`]), so a token is good for one API or the other;
//! - no `scim` token can be issued for the reserved tenant: the CLI (`token create --tenant`)
//!   and the admin API refuse its name ([`is_reserved_tenant_name`]), the admin API does not
//!   list or show it, and neither can create a tenant with that name.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use chrono::NaiveDateTime;
use scim_store::{Conn, Store, StoreError, Tenant, tenants, tokens};

use crate::auth::{Credentials, Principal};
use crate::error::ApiError;
use crate::secrets::{IssuedToken, SecretError, hash_secret, issue_token};
use crate::state::AppState;

/// The scope stored on administrator tokens.
pub const ADMIN_SCOPE: &str = "admin";

/// The reserved tenant administrator tokens belong to. It holds no users and is invisible
/// through the admin API.
pub const ADMIN_TENANT: &str = "_admin";

/// Whether `name` is the reserved tenant's (as the store compares names: trimmed, exact), so
/// callers refuse to create it or issue SCIM tokens for it.
pub fn is_reserved_tenant_name(name: &str) -> bool {
    name.trim() == ADMIN_TENANT
}

/// The reserved tenant, created when missing. Safe when two processes race to create it:
/// the loser reads the winner's row.
pub fn admin_tenant(conn: &mut Conn<'_>, now: NaiveDateTime) -> scim_store::Result<Tenant> {
    if let Some(t) = tenants::by_name(conn, ADMIN_TENANT)? {
        return Ok(t);
    }
    match tenants::create(conn, ADMIN_TENANT, now) {
        Err(StoreError::Conflict { .. }) => {
            tenants::by_name(conn, ADMIN_TENANT)?.ok_or_else(|| StoreError::NotFound {
                resource_type: "Tenant",
                id: ADMIN_TENANT.to_string(),
            })
        }
        other => other,
    }
}

/// Why issuing an administrator token failed.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// No randomness or hashing failed.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Issues an administrator token (what `scim-server token create --admin` prints). The
/// secret is in the returned value only; the store keeps its argon2id hash.
pub fn issue_admin_token(
    store: &Store,
    label: Option<String>,
    now: NaiveDateTime,
) -> Result<IssuedToken, IssueError> {
    let issued = issue_token()?;
    let hash = hash_secret(&issued.secret)?;
    let id = issued.id.clone();
    store.write(move |c| {
        let t = admin_tenant(c, now)?;
        tokens::create(c, &t.id, &id, &hash, ADMIN_SCOPE, label.as_deref(), now)
    })?;
    Ok(issued)
}

/// An authenticated administrator: the request carried a valid, unrevoked `admin`-scoped
/// token. No credentials (or bad ones) is 401; a valid token of another scope (a tenant's
/// SCIM token) is 403.
#[derive(Debug, Clone)]
pub struct Admin(pub Principal);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Admin, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string);
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::Internal("admin state not configured".into()))?;
            let creds = Credentials::parse(header.as_deref())?.with_client(req.peer_addr());
            let principal = state.verifier.authenticate(creds).await?;
            if principal.scope != ADMIN_SCOPE {
                return Err(ApiError::Forbidden(
                    "this token may not use the admin API; issue an administrator token with \
                     `scim-server token create --admin`"
                        .into(),
                ));
            }
            // For the access log (the token id, never the secret).
            req.extensions_mut().insert(principal.clone());
            Ok(Admin(principal))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_name_is_compared_as_the_store_does() {
        assert!(is_reserved_tenant_name("_admin"));
        assert!(is_reserved_tenant_name("  _admin "));
        assert!(!is_reserved_tenant_name("_Admin"));
        assert!(!is_reserved_tenant_name("admin"));
    }
}
