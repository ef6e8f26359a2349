//! The user types callers build and read: what to insert, how a replace treats the password,
//! and the record policy code reads. Password hashes are redacted from every `Debug`.

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::model::{Origin, StoredResource};

/// A user to insert. The server chose the id and prepared the document.
#[derive(Clone)]
pub struct NewUser {
    /// Server-assigned id.
    pub id: String,
    /// Canonical document from `scim_core::resource::prepare`, without `id`, `meta` and
    /// `password`.
    pub resource: Value,
    /// argon2 PHC string of the password, if one was set.
    pub password_hash: Option<String>,
    /// Provisioned by the provider, or local to the product.
    pub origin: Origin,
    /// Creation time (UTC).
    pub now: NaiveDateTime,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("id", &self.id)
            .field("resource", &self.resource)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("origin", &self.origin)
            .field("now", &self.now)
            .finish()
    }
}

/// What a replace does to the stored password hash.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordChange {
    /// Leave it as it is (the PUT carried no password).
    Keep,
    /// Store this new argon2 PHC string.
    Set(String),
    /// Remove it.
    Clear,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PasswordChange::Keep => "Keep",
            PasswordChange::Set(_) => "Set(<redacted>)",
            PasswordChange::Clear => "Clear",
        })
    }
}

/// A user with the columns policy code reads besides the SCIM document.
#[derive(Clone, PartialEq)]
pub struct UserRecord {
    /// The SCIM side.
    pub stored: StoredResource,
    /// userName as sent.
    pub user_name: String,
    /// The provider's externalId.
    pub external_id: Option<String>,
    /// The `active` column (true when the document has no `active`).
    pub active: bool,
    /// Lifecycle state (`active`, `pending_deactivation`, `deactivated`, `blocked`, …).
    pub lifecycle: String,
    /// Where the user came from.
    pub origin: Origin,
    /// Whether the user is on legal hold.
    pub legal_hold: bool,
    /// argon2 PHC string, if a password was set.
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("stored", &self.stored)
            .field("user_name", &self.user_name)
            .field("external_id", &self.external_id)
            .field("active", &self.active)
            .field("lifecycle", &self.lifecycle)
            .field("origin", &self.origin)
            .field("legal_hold", &self.legal_hold)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}
