//! Password sync: whether a `password` the provider sends is kept.
//!
//! Okta sends a `password` on create (random or synced) and on password sync; Code42 does not
//! support password sync; so it is a per-tenant switch (`password_sync`). Kept passwords are
//! hashed by the server (argon2id) and never stored, returned or logged in clear; core only
//! decides, because it knows no hashing.

use super::settings::PolicySettings;

/// What to do with the `password` of a create, PUT or PATCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasswordDecision {
    /// Hash it and store the hash (replacing the stored one).
    Keep,
    /// Drop it: the tenant turned password sync off. The stored hash, if any, stays.
    Ignore,
    /// No password was sent (or an empty one, which is no credential): leave the stored hash.
    Absent,
}

/// Decides about a sent password (`None` when the request carried none). The caller removes
/// the password from the document in every case, so it never reaches storage or a response.
pub fn password_decision(settings: &PolicySettings, sent: Option<&str>) -> PasswordDecision {
    match sent {
        None | Some("") => PasswordDecision::Absent,
        Some(_) if settings.password_sync => PasswordDecision::Keep,
        Some(_) => PasswordDecision::Ignore,
    }
}
