//! API tokens: the rows behind bearer and Basic authentication. The store keeps the argon2
//! PHC string the server computed and never sees a secret; verifying and caching are the
//! server's business.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::conn::Conn;
use crate::error::{Result, StoreError, classify};
use crate::keyed::cached;
use crate::model::TenantId;
use crate::tenants;
use crate::with_conn;

/// One token row. `Debug` redacts the hash: it is not the secret, but an offline guess
/// against it is still possible, so it stays out of logs.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The public token id (the part before the secret; the Basic user name).
    pub id: String,
    /// The tenant the token acts for.
    pub tenant_id: TenantId,
    /// argon2 PHC string of the secret.
    pub secret_hash: String,
    /// What the token may do (`scim`, `admin`, …; interpreted by the server).
    pub scope: String,
    /// Operator's note (`okta-prod`).
    pub label: Option<String>,
    /// When it was issued (UTC).
    pub created_at: NaiveDateTime,
    /// When it was revoked, if it was: a revoked token authenticates nothing.
    pub revoked_at: Option<NaiveDateTime>,
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("secret_hash", &"<redacted>")
            .field("scope", &self.scope)
            .field("label", &self.label)
            .field("created_at", &self.created_at)
            .field("revoked_at", &self.revoked_at)
            .finish()
    }
}

impl TokenRecord {
    /// Whether the token may still authenticate.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

type Row = (
    String,
    String,
    String,
    String,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

fn to_record(r: Row) -> TokenRecord {
    TokenRecord {
        id: r.0,
        tenant_id: TenantId(r.1),
        secret_hash: r.2,
        scope: r.3,
        label: r.4,
        created_at: r.5,
        revoked_at: r.6,
    }
}

/// Stores a new token for `tenant`. The id is chosen by the server (it is part of what the
/// client sends) and must be unique: a taken id is `Conflict { attribute: "id" }`. An unknown
/// tenant is `NotFound`.
pub fn create(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    token_id: &str,
    secret_hash: &str,
    scope: &str,
    label: Option<&str>,
    now: NaiveDateTime,
) -> Result<TokenRecord> {
    if token_id.is_empty() || secret_hash.is_empty() || scope.is_empty() {
        return Err(StoreError::Invalid(
            "a token needs an id, a secret hash and a scope".into(),
        ));
    }
    if !tenants::exists(conn, tenant)? {
        return Err(tenants::not_found(tenant));
    }
    with_conn!(conn, |c| {
        diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::id.eq(token_id),
                api_tokens::tenant_id.eq(tenant.as_str()),
                api_tokens::secret_hash.eq(secret_hash),
                api_tokens::scope.eq(scope),
                api_tokens::label.eq(label),
                api_tokens::created_at.eq(now),
            ))
            .execute(&mut **c)
            .map_err(|e| classify(e, Some(("id", token_id))))?;
    });
    Ok(TokenRecord {
        id: token_id.to_string(),
        tenant_id: tenant.clone(),
        secret_hash: secret_hash.to_string(),
        scope: scope.to_string(),
        label: label.map(str::to_string),
        created_at: now,
        revoked_at: None,
    })
}

/// The token with this id, whatever its tenant: authentication starts from the token id
/// alone and learns the tenant from the row. Includes revoked tokens (check
/// [`TokenRecord::is_active`]).
pub fn get(conn: &mut Conn<'_>, token_id: &str) -> Result<Option<TokenRecord>> {
    let row: Option<Row> = with_conn!(conn, |c| {
        api_tokens::table
            .filter(api_tokens::id.eq(token_id))
            .select((
                api_tokens::id,
                api_tokens::tenant_id,
                api_tokens::secret_hash,
                api_tokens::scope,
                api_tokens::label,
                api_tokens::created_at,
                api_tokens::revoked_at,
            ))
            .get_result::<Row>(&mut **c)
            .optional()?
    });
    Ok(row.map(to_record))
}

/// Revokes a token of `tenant`. Idempotent: revoking a revoked token keeps the first
/// revocation time. Returns whether the tenant has such a token (so the admin API can answer
/// 404 for an unknown one); another tenant's token is left alone and reported as absent.
pub fn revoke(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    token_id: &str,
    now: NaiveDateTime,
) -> Result<bool> {
    let (updated, exists) = with_conn!(conn, |c| {
        let updated = cached!(
            diesel::update(
                api_tokens::table
                    .filter(api_tokens::tenant_id.eq(tenant.as_str()))
                    .filter(api_tokens::id.eq(token_id))
                    .filter(api_tokens::revoked_at.is_null()),
            )
            .set(api_tokens::revoked_at.eq(Some(now)))
            .returning(api_tokens::id)
        )
        .load::<String>(&mut **c)?
        .len();
        let exists: i64 = if updated > 0 {
            1
        } else {
            api_tokens::table
                .filter(api_tokens::tenant_id.eq(tenant.as_str()))
                .filter(api_tokens::id.eq(token_id))
                .count()
                .get_result(&mut **c)?
        };
        (updated, exists)
    });
    Ok(updated > 0 || exists > 0)
}

/// The tenant's tokens, oldest first, revoked ones included (the admin API shows them).
pub fn list(conn: &mut Conn<'_>, tenant: &TenantId) -> Result<Vec<TokenRecord>> {
    let rows: Vec<Row> = with_conn!(conn, |c| {
        api_tokens::table
            .filter(api_tokens::tenant_id.eq(tenant.as_str()))
            .order((api_tokens::created_at.asc(), api_tokens::id.asc()))
            .select((
                api_tokens::id,
                api_tokens::tenant_id,
                api_tokens::secret_hash,
                api_tokens::scope,
                api_tokens::label,
                api_tokens::created_at,
                api_tokens::revoked_at,
            ))
            .load::<Row>(&mut **c)?
    });
    Ok(rows.into_iter().map(to_record).collect())
}
