//! API tokens: generation, argon2id hashing, and the parsing of what clients present.
//!
//! A token is `<id>.<secret>`: the id (public, stored in clear, used to find the row and as
//! the HTTP Basic user name) and the secret (32 random bytes, hex; only its argon2id PHC hash is
//! stored). Okta's Basic-auth template sends the id as user and the secret as password; bearer
//! clients send the whole token.

use std::fmt;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// A token secret or password in memory. `Debug` and `Display` print nothing of it, so it
/// can't leak through logs or error messages by accident, and `==` compares in constant time
/// (for equal lengths), so no comparison of two secrets can leak one by timing.
#[derive(Clone)]
pub struct Secret(String);

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for Secret {}

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself, for hashing or for printing once to the operator who created it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A freshly issued token: shown once, never stored in clear.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// Public token id (row key; HTTP Basic user name).
    pub id: String,
    /// The secret part.
    pub secret: Secret,
}

impl IssuedToken {
    /// The bearer form, `<id>.<secret>`, printed once by `token create`.
    pub fn bearer(&self) -> Secret {
        Secret(format!("{}.{}", self.id, self.secret.expose()))
    }
}

/// Failures of token handling; none of them carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The operating system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
    /// Hashing failed.
    #[error("hashing failed: {0}")]
    Hash(String),
}

fn random_hex(bytes: usize) -> Result<String, SecretError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| SecretError::Random(e.to_string()))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Issues a new token: a 16-byte id and a 32-byte secret from the OS random source.
pub fn issue_token() -> Result<IssuedToken, SecretError> {
    Ok(IssuedToken {
        id: format!("tok_{}", random_hex(16)?),
        secret: Secret(random_hex(32)?),
    })
}

/// argon2id PHC string of a secret (random salt; default parameters, about 30 ms here).
pub fn hash_secret(secret: &Secret) -> Result<String, SecretError> {
    Argon2::default()
        .hash_password(secret.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| SecretError::Hash(e.to_string()))
}

/// Checks a secret against a stored PHC string. Constant-time in the secret (argon2's
/// comparison); a malformed stored hash is a mismatch, never a panic.
pub fn verify_secret(secret: &Secret, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.expose().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Splits a presented bearer token into id and secret.
pub fn split_bearer(token: &str) -> Option<(&str, Secret)> {
    let (id, secret) = token.trim().split_once('.')?;
    if id.is_empty() || secret.is_empty() {
        return None;
    }
    Some((id, Secret(secret.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_hash_verify_round_trip() {
        let t = issue_token().unwrap();
        assert!(t.id.starts_with("tok_") && t.id.len() == 36);
        assert_eq!(t.secret.expose().len(), 64);
        let phc = hash_secret(&t.secret).unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains(t.secret.expose()));
        assert!(verify_secret(&t.secret, &phc));
        assert!(!verify_secret(&Secret::new("wrong"), &phc));
        assert!(!verify_secret(&t.secret, "not a phc string"));
        let bearer = t.bearer();
        let (id, secret) = split_bearer(bearer.expose()).unwrap();
        assert_eq!(id, t.id);
        assert_eq!(secret, t.secret);
        assert_eq!(format!("{:?}", t.secret), "Secret(<redacted>)");
        assert!(split_bearer("nodot").is_none());
        assert!(split_bearer(".x").is_none());
    }

    #[test]
    fn secrets_compare_by_value() {
        let a = Secret::new("0123456789abcdef");
        assert_eq!(a, Secret::new("0123456789abcdef"));
        assert_ne!(a, Secret::new("0123456789abcdeF"), "last byte differs");
        assert_ne!(a, Secret::new("x123456789abcdef"), "first byte differs");
        assert_ne!(a, Secret::new("0123456789abcde"), "shorter");
        assert_ne!(a, Secret::new(""));
        assert_eq!(Secret::new(""), Secret::new(""));
    }
}
