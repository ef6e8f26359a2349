//! Authentication: bearer tokens and HTTP Basic (token id as user, secret as password), each
//! naming one tenant.
//!
//! argon2id costs about 30 ms per verification, so a verified token is cached in memory under
//! a keyed BLAKE3 digest of what the client presented (the secret itself is never kept). A
//! cached entry is re-checked against its database row (a cheap indexed read, no hashing) once
//! it is older than [`RECHECK`], so a revocation made on another instance takes effect within
//! seconds; a revocation made on this instance evicts the entry at once.
//!
//! Timing. Nothing here compares secret material with a short-circuiting `==`:
//! - a presented secret is checked by argon2id (`password-hash` compares the computed and the
//!   stored output in constant time);
//! - an unknown token id costs the same argon2id verification, against `DUMMY_PHC` (same
//!   parameters as issued tokens, a unit test holds them equal), so ids can't be probed by
//!   timing;
//! - the cache is keyed by a [`blake3::Hash`] of the presented credentials under a random
//!   per-process key. Its equality is constant-time, and since nobody outside the process knows
//!   the key, no one can choose inputs whose digests approach a cached one anyway.
//!
//! Failures are throttled per client address ([`crate::auth_throttle`]): once a client has
//! spent its budget, credentials that would need an argon2 verification are refused with 429
//! before any hashing; credentials already in the cache still pass.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use scim_store::{Store, TenantId, tokens};

use crate::auth_throttle::AuthThrottle;
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

/// What a client presented in `Authorization`, and from where.
#[derive(Debug)]
pub struct Credentials {
    token_id: String,
    secret: Secret,
    /// The peer address, for throttling failures; `None` is never throttled.
    client: Option<IpAddr>,
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
                client: None,
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
                client: None,
            })
        } else {
            Err(ApiError::Unauthorized(
                "unsupported authorization scheme; use Bearer or Basic".into(),
            ))
        }
    }

    /// Records where the credentials came from (`HttpRequest::peer_addr`): the TCP peer, never
    /// a forwarding header, which the client could write itself.
    pub fn with_client(mut self, peer: Option<SocketAddr>) -> Credentials {
        self.client = peer.map(|p| p.ip());
        self
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
    cache: Arc<RwLock<HashMap<blake3::Hash, Cached>>>,
    /// Per-client failure budgets (shared by the SCIM and the admin API).
    throttle: AuthThrottle,
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
            throttle: AuthThrottle::default(),
            hashing: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            )),
        })
    }

    /// Replaces the failure throttle (the default is [`AuthThrottle::default`]); clones made
    /// before keep the old one.
    pub fn set_throttle(&mut self, throttle: AuthThrottle) {
        self.throttle = throttle;
    }

    /// The failure throttle in use.
    pub fn throttle(&self) -> &AuthThrottle {
        &self.throttle
    }

    fn digest(&self, c: &Credentials) -> blake3::Hash {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(c.token_id.as_bytes());
        h.update(&[0]);
        h.update(c.secret.expose().as_bytes());
        h.finalize()
    }

    fn failed(&self, client: Option<IpAddr>) -> ApiError {
        self.throttle.failed(client);
        rejected()
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
                    Err(self.failed(creds.client))
                }
            };
        }
        // Not verified before: an argon2 verification, unless this client is locked out.
        self.throttle.check(creds.client)?;
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
        // Requests that queued for a permit while this client's budget ran out stop here.
        self.throttle.check(creds.client)?;
        let client = creds.client;
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
        let principal = outcome.ok_or_else(|| self.failed(client))?;
        self.remember(digest, principal.clone());
        Ok(principal)
    }

    fn remember(&self, digest: blake3::Hash, principal: Principal) {
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

    fn forget_digest(&self, digest: &blake3::Hash) {
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

/// A valid argon2id hash of a random, discarded value, verified against when the token id is
/// unknown; made by [`crate::secrets::hash_secret`], so it costs what an issued token's does.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$tLy87hOtrCnomMXMxSC3FQ$0ZAF5CvKG0V+poGVuZgkRnbvg0t3nc+273VETHujW0c";

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

    /// An unknown token id must cost what a known one does: the dummy hash has the
    /// algorithm, version, parameters and salt and output sizes of the hashes issued today.
    #[test]
    fn dummy_hash_costs_what_an_issued_one_does() {
        use argon2::password_hash::phc::PasswordHash;
        let dummy = PasswordHash::new(DUMMY_PHC).unwrap();
        let issued_phc = crate::secrets::hash_secret(&Secret::new("x")).unwrap();
        let issued = PasswordHash::new(&issued_phc).unwrap();
        assert_eq!(dummy.algorithm, issued.algorithm);
        assert_eq!(dummy.version, issued.version);
        assert_eq!(dummy.params, issued.params, "{issued_phc}");
        assert_eq!(
            dummy.salt.map(|s| s.len()),
            issued.salt.map(|s| s.len()),
            "{issued_phc}"
        );
        assert_eq!(
            dummy.hash.map(|h| h.len()),
            issued.hash.map(|h| h.len()),
            "{issued_phc}"
        );
        assert!(!verify_secret(&Secret::new("x"), DUMMY_PHC));
    }

    /// The cache key's equality is constant-time (`blake3::Hash`), and it depends on every
    /// byte of the id and the secret, and on the per-process key.
    #[test]
    fn cache_digest_depends_on_id_secret_and_process_key() {
        let db = scim_store::testing::TestDb::sqlite();
        let a = TokenVerifier::new(db.store.clone()).unwrap();
        let b = TokenVerifier::new(db.store.clone()).unwrap();
        let creds = |h: &str| Credentials::parse(Some(h)).unwrap();
        let d = a.digest(&creds("Bearer tok_1.secret"));
        assert_eq!(d, a.digest(&creds("Bearer tok_1.secret")));
        assert_ne!(d, a.digest(&creds("Bearer tok_1.secreT")));
        assert_ne!(d, a.digest(&creds("Bearer tok_2.secret")));
        // The separator keeps `id` + `secret` boundaries apart.
        assert_ne!(
            a.digest(&creds("Bearer tok_1a.bc")),
            a.digest(&creds("Bearer tok_1.abc"))
        );
        assert_ne!(d, b.digest(&creds("Bearer tok_1.secret")));
    }
}
