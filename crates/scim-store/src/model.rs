//! Plain data the store hands out and takes in. Rows are mapped to these at the edge of each
//! module so callers never see diesel types.

use chrono::NaiveDateTime;
use serde_json::Value;

/// A tenant's id. Every store call takes one; a newtype so it can't be confused with a
/// resource id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(pub String);

impl TenantId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One tenant: one provisioning connection (one identity provider pushing to us).
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    /// Stable id.
    pub id: TenantId,
    /// Unique name operators use (`acme-okta`).
    pub name: String,
    /// Validated settings JSON (deactivation delay, mappings, LDAP source…).
    pub settings: Value,
    /// When it was created (UTC).
    pub created_at: NaiveDateTime,
}

/// A User or Group as stored: the SCIM document without `id` and `meta`, plus the columns the
/// server needs to produce them. The server stamps `id`/`meta` (it knows the base URL).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    /// Resource id.
    pub id: String,
    /// Version, bumped by every write; the ETag is derived from it.
    pub version: i64,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last modification time (UTC).
    pub updated_at: NaiveDateTime,
    /// The SCIM document (core and extension attributes; no `id`, `meta`, `password`).
    pub resource: Value,
}

/// A User or Group as stored, with its document still as the stored JSON text: a response
/// that returns the document as it is copies the text instead of parsing and re-serialising
/// it (see `scim_server::handlers::raw`). [`RawResource::parse`] gives the [`StoredResource`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResource {
    /// Resource id.
    pub id: String,
    /// Version, bumped by every write.
    pub version: i64,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last modification time (UTC).
    pub updated_at: NaiveDateTime,
    /// The SCIM document as stored (no `id`, `meta`, `password`), a JSON object.
    pub text: String,
}

impl RawResource {
    /// The resource with its document parsed.
    pub fn parse(self) -> crate::Result<StoredResource> {
        let resource = serde_json::from_str(&self.text).map_err(|e| {
            crate::StoreError::Database(format!("stored resource {} is not JSON: {e}", self.id))
        })?;
        Ok(StoredResource {
            id: self.id,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            resource,
        })
    }
}

/// Where a user came from; local users may not be touched by the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Pushed by this tenant's identity provider (SCIM, LDAP or JIT).
    Provisioned,
    /// Created in the product itself.
    Local,
}

impl Origin {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Provisioned => "provisioned",
            Origin::Local => "local",
        }
    }
    /// Parses a column value; unknown text is treated as local, the safe side (the provider
    /// can't touch it).
    pub fn parse(s: &str) -> Origin {
        if s == "provisioned" {
            Origin::Provisioned
        } else {
            Origin::Local
        }
    }
}

/// Who made a change, for the sync log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The tenant's identity provider over SCIM.
    Provider,
    /// The scheduled or on-demand LDAP synchronization.
    Ldap,
    /// Just-in-time provisioning at SAML login.
    Jit,
    /// An administrator through the admin API or CLI.
    Admin,
    /// The server itself (deactivation worker, mapping re-application).
    System,
}

impl Actor {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Provider => "provider",
            Actor::Ldap => "ldap",
            Actor::Jit => "jit",
            Actor::Admin => "admin",
            Actor::System => "system",
        }
    }
    /// Parses a column value.
    pub fn parse(s: &str) -> Option<Actor> {
        Some(match s {
            "provider" => Actor::Provider,
            "ldap" => Actor::Ldap,
            "jit" => Actor::Jit,
            "admin" => Actor::Admin,
            "system" => Actor::System,
            _ => return None,
        })
    }
}
