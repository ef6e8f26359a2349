//! Authentication: bearer tokens and HTTP Basic (token id as user, secret as password), each
//! naming one tenant.
//!
//! argon2id costs about 30 ms per verification, so a verified token is cached in memory under
//! a keyed BLAKE3 digest of what the client presented (the secret itself is never kept). A
//! cached entry is re-checked against its database row (a cheap indexed read, no hashing) once
//! it is older than [`RECHECK`], so a revocation made on another instance takes effect within
//! seconds; a revocation made on this instance evicts the entry at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use scim_store::{Store, TenantId, tokens};

use crate::error::ApiError;
use crate::secrets::{Secret, split_bearer, verify_secret};

/// How long a cached verification is trusted before the token row is read again.
pub const RECHECK: Duration = Duration::from_secs(2);

/// Who a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The tenant (provisioning connection) the token belongs to.
    pub tenant: TenantId,
    /// The token's public id, for logs.
    pub token_id: String,
    /// The token's scope (`scim` or `admin`).
    pub scope: String,
}

/// What a client presented in `Authorization`.
#[derive(Debug)]
pub struct Credentials {
    token_id: String,
    secret: Secret,
}

impl Credentials {
    /// Parses `Bearer <id>.<secret>` or `Basic base64(<id>:<secret>)` (scheme names in any
    /// case). Errors say what is wrong without echoing the credential.
    pub fn parse(header: Option<&str>) -> Result<Credentials, ApiError> {
        let header = header.ok_or_else(|| {
            ApiError::Unauthorized(
                "authentication required: send Authorization: Bearer <token> or HTTP Basic".into(),
            )
        })?;
        let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            let (id, secret) = split_bearer(rest).ok_or_else(malformed)?;
            Ok(Credentials {
                token_id: id.to_string(),
                secret,
            })
        } else if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .map_err(|_| malformed())?;
            let text = String::from_utf8(decoded).map_err(|_| malformed())?;
            let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
            if id.is_empty() || secret.is_empty() {
                return Err(malformed());
            }
            Ok(Credentials {
                token_id: id.to_string(),
                secret: Secret::new(secret),
            })
        } else {
            Err(ApiError::Unauthorized(
                "unsupported authorization scheme; use Bearer or Basic".into(),
            ))
        }
    }
}

fn malformed() -> ApiError {
    ApiError::Unauthorized(
        "malformed credentials; expected a token issued by `scim-server token create`".into(),
    )
}

fn rejected() -> ApiError {
    ApiError::Unauthorized("invalid or revoked token".into())
}

struct Cached {
    principal: Principal,
    checked: Instant,
}

/// Verifies credentials against stored token hashes, with the cache described above.
#[derive(Clone)]
pub struct TokenVerifier {
    store: Store,
    key: [u8; 32],
    cache: Arc<RwLock<HashMap<[u8; 32], Cached>>>,
    /// Bounds concurrent argon2 verifications to the cores: each holds about 19 MiB, and a
    /// client that opens 16 connections at once sent 16 first verifications of the same
    /// token together (300 MB resident for a moment). Waiters re-check the cache once they
    /// hold a permit, so a burst of one token's requests costs one verification.
    hashing: Arc<tokio::sync::Semaphore>,
}

impl TokenVerifier {
    /// A verifier with a fresh random cache key (digests are meaningless outside this process).
    pub fn new(store: Store) -> Result<Self, ApiError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(TokenVerifier {
            store,
            key,
            cache: Arc::new(RwLock::new(HashMap::new())),
            hashing: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            )),
        })
    }

    fn digest(&self, c: &Credentials) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(c.token_id.as_bytes());
        h.update(&[0]);
        h.update(c.secret.expose().as_bytes());
        *h.finalize().as_bytes()
    }

    /// Authenticates; blocking work (database, argon2) runs on the blocking pool.
    pub async fn authenticate(&self, creds: Credentials) -> Result<Principal, ApiError> {
        let digest = self.digest(&creds);
        let cached = self.cache.read().ok().and_then(|m| {
            m.get(&digest)
                .map(|e| (e.principal.clone(), e.checked.elapsed() < RECHECK))
        });
        if let Some((principal, fresh)) = cached {
            if fresh {
                return Ok(principal);
            }
            // Stale: confirm the row still authorizes (no argon2 needed: the digest proves
            // the same secret was verified before).
            let store = self.store.clone();
            let id = principal.token_id.clone();
            let row = actix_web::web::block(move || store.read(|c| tokens::get(c, &id)))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))??;
            return match row {
                Some(r) if r.is_active() => {
                    self.remember(digest, principal.clone());
                    Ok(principal)
                }
                _ => {
                    self.forget_digest(&digest);
                    Err(rejected())
                }
            };
        }
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(format!("token verification closed: {e}")))?;
        let verified_meanwhile = self.cache.read().ok().and_then(|m| {
            m.get(&digest)
                .filter(|e| e.checked.elapsed() < RECHECK)
                .map(|e| e.principal.clone())
        });
        if let Some(principal) = verified_meanwhile {
            return Ok(principal);
        }
        let store = self.store.clone();
        let outcome = actix_web::web::block(move || -> Result<Option<Principal>, ApiError> {
            let Some(row) = store.read(|c| tokens::get(c, &creds.token_id))? else {
                // Spend the same time as a real check so ids can't be probed by timing.
                let _ = verify_secret(&creds.secret, DUMMY_PHC);
                return Ok(None);
            };
            if !verify_secret(&creds.secret, &row.secret_hash) || !row.is_active() {
                return Ok(None);
            }
            Ok(Some(Principal {
                tenant: row.tenant_id,
                token_id: row.id,
                scope: row.scope,
            }))
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
        let principal = outcome.ok_or_else(rejected)?;
        self.remember(digest, principal.clone());
        Ok(principal)
    }

    fn remember(&self, digest: [u8; 32], principal: Principal) {
        if let Ok(mut m) = self.cache.write() {
            m.insert(
                digest,
                Cached {
                    principal,
                    checked: Instant::now(),
                },
            );
        }
    }

    fn forget_digest(&self, digest: &[u8; 32]) {
        if let Ok(mut m) = self.cache.write() {
            m.remove(digest);
        }
    }

    /// Evicts every cached verification of a token (called when it is revoked here).
    pub fn forget_token(&self, token_id: &str) {
        if let Ok(mut m) = self.cache.write() {
            m.retain(|_, c| c.principal.token_id != token_id);
        }
    }
}

/// A valid argon2id hash of a random value, verified against when the token id is unknown.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2NpbS1kdW1teS1zYWx0$0o8mBn8xvQfDn0yvGJ4lX9vFJ1eUQ7a9K4kq2Hq3Yt8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_and_basic() {
        let c = Credentials::parse(Some("Bearer tok_1.abc")).unwrap();
        assert_eq!(c.token_id, "tok_1");
        assert_eq!(c.secret.expose(), "abc");
        let basic = base64::engine::general_purpose::STANDARD.encode("tok_2:s3cret");
        let c = Credentials::parse(Some(&format!("basic {basic}"))).unwrap();
        assert_eq!(c.token_id, "tok_2");
        assert_eq!(c.secret.expose(), "s3cret");
        for bad in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer nodot"),
            Some("Basic !!!"),
            Some("Digest x"),
        ] {
            assert!(
                matches!(Credentials::parse(bad), Err(ApiError::Unauthorized(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_PHC).is_ok());
    }
}
