//! Password verification for hosts that let provisioned users sign in locally (with the
//! password the identity provider synced).

use std::sync::OnceLock;

use scim_store::{Store, TenantId, users};

use crate::error::ApiError;
use crate::secrets::{Secret, hash_secret, verify_secret};

/// A hash of a random value, checked when the user is unknown or has no password so that the
/// answer takes about the same time either way (no user enumeration by timing).
fn dummy_hash() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| hash_secret(&Secret::new(uuid::Uuid::new_v4().to_string())).ok())
        .as_deref()
}

/// Whether `password` is the synced password of the tenant's user `user_name` (any case) and
/// the user may sign in now (not pending deactivation, deactivated or blocked). Blocking: runs
/// argon2id (tens of milliseconds); call it off async workers. The password is never logged
/// or stored.
pub fn verify_password(
    store: &Store,
    tenant: &TenantId,
    user_name: &str,
    password: &Secret,
) -> Result<bool, ApiError> {
    let row = store.read(|c| users::password_hash_by_user_name(c, tenant, user_name))?;
    let (hash, allowed) = match &row {
        Some((_, Some(hash), allowed)) => (Some(hash.as_str()), *allowed),
        _ => (dummy_hash(), false),
    };
    let matches = hash.is_some_and(|h| verify_secret(password, h));
    Ok(matches && allowed)
}
