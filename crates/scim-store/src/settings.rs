//! A tenant's settings: the typed shape of the `tenants.settings` JSON and its validation.
//!
//! Data and validation only. What the settings *mean* (when a user is deactivated, which
//! organization and roles a membership gives) is provisioning policy and lives in
//! `scim_core::policy`, whose types the mapping fields reuse ([`OrgMapping`], [`RoleMapping`],
//! [`AdminTiers`], [`ValidationRules`], re-exported here), so the JSON the store keeps is
//! exactly what the rules read ([`TenantSettings::to_policy`]). The store only guarantees that
//! what it holds parses and is self-consistent, so policy code never meets a half-valid
//! configuration. Unknown keys are refused at every level (`deny_unknown_fields` on the
//! store's own types, a round-trip check for core's, which ignore unknown keys) so a misspelt
//! setting fails when it is written, not silently later.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use scim_core::policy::PolicySettings;
pub use scim_core::policy::{
    AdminTiers, DEFAULT_DEACTIVATION_DELAY_SECS, DEFAULT_ORG, OrgMapping, RoleMapping,
    ValidationRules,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Result, StoreError};

/// Longest accepted delay (ten years): anything longer is a typo, and the bound keeps
/// `now + delay` representable for every caller.
pub const MAX_DEACTIVATION_DELAY_SECS: u64 = 10 * 366 * 24 * 3600;

/// Everything configurable per tenant. Every field has a default, so `{}` is a valid
/// configuration (single default organization, 15-minute delay, no mappings, password sync
/// on, no validation rule, no LDAP, JIT updating profiles at login).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantSettings {
    /// Seconds between the provider setting `active=false` and deactivation (0 = at once).
    pub deactivation_delay_secs: u64,
    /// Deactivate users who are in no mapped group (and reactivate them when they return).
    pub deactivate_unmapped: bool,
    /// How users are placed in organizations.
    pub org_mapping: OrgMapping,
    /// The organization users belong to until mapped.
    pub default_org: String,
    /// SCIM group → roles.
    pub role_mappings: Vec<RoleMapping>,
    /// Organization → roles given to its users who are in no role-mapped group.
    pub default_roles: BTreeMap<String, Vec<String>>,
    /// Groups that make their members Domain Admins or Organization Admins.
    pub admin_tiers: AdminTiers,
    /// Keep (the hash of) a `password` the provider sends; when off, it is ignored.
    pub password_sync: bool,
    /// The per-tenant validation rules (userName is an email, primary email = userName,
    /// ISO 3166-1 countries), each off by default.
    pub validation: ValidationRules,
    /// Pull-mode source, when the tenant synchronizes from a directory.
    pub ldap: Option<LdapSource>,
    /// Requests per second accepted from this tenant's provider (none = server default).
    pub rate_limit_per_sec: Option<u32>,
    /// Just-in-time provisioning at SAML login (what a login may change).
    pub jit: JitSettings,
}

impl Default for TenantSettings {
    fn default() -> Self {
        let policy = PolicySettings::default();
        TenantSettings {
            deactivation_delay_secs: policy.deactivation_delay_secs,
            deactivate_unmapped: policy.deactivate_unmapped,
            org_mapping: policy.org_mapping,
            default_org: policy.default_org,
            role_mappings: policy.role_mappings,
            default_roles: policy.default_roles,
            admin_tiers: policy.admin_tiers,
            password_sync: policy.password_sync,
            validation: policy.validation,
            ldap: None,
            rate_limit_per_sec: None,
            jit: JitSettings::default(),
        }
    }
}

/// What just-in-time provisioning at SAML login does with an assertion's values (the host
/// calls it after verifying the assertion; see the server's `docs/jit.md`). Stored JSON
/// written before these options existed reads with the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JitSettings {
    /// A known user's name and email are updated from the assertion at each login (default
    /// true); when false, only unknown users get them, at creation.
    pub update_profile_at_login: bool,
    /// Only group values starting with this prefix are considered (the value is then matched
    /// whole, prefix included, against the mapped group names); none = every value.
    pub group_prefix: Option<String>,
    /// A known user whose assertion names no mapped group is deactivated through the
    /// lifecycle policy (as if the provider had set `active=false`), not only refused.
    pub deactivate_unmapped_at_login: bool,
}

impl Default for JitSettings {
    fn default() -> Self {
        JitSettings {
            update_profile_at_login: true,
            group_prefix: None,
            deactivate_unmapped_at_login: false,
        }
    }
}

/// A directory the tenant's users are pulled from (hourly and on demand).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LdapSource {
    /// `ldaps://host:636` or `ldap://host:389` (the latter needs `starttls`).
    pub url: String,
    /// DN of the directory-read account.
    pub bind_dn: String,
    /// Name of an environment variable holding the bind password.
    pub bind_password_env: Option<String>,
    /// The bind password encrypted by the server (never plaintext; the store can't tell, so
    /// the server must only ever put ciphertext here).
    pub bind_password_enc: Option<String>,
    /// Where users and groups are searched.
    pub base_dn: String,
    /// objectClass of user entries.
    pub user_object_class: String,
    /// objectClass of group entries.
    pub group_object_class: String,
    /// Which LDAP attributes carry which user values.
    pub attributes: LdapAttributes,
    /// Groups (by name) whose members are synchronized.
    pub groups: Vec<String>,
    /// Upgrade an `ldap://` connection with StartTLS.
    pub starttls: bool,
    /// Allow an unencrypted connection (test directories only).
    pub allow_plaintext: bool,
    /// Seconds between scheduled synchronizations.
    pub interval_secs: u64,
}

impl Default for LdapSource {
    fn default() -> Self {
        LdapSource {
            url: String::new(),
            bind_dn: String::new(),
            bind_password_env: None,
            bind_password_enc: None,
            base_dn: String::new(),
            user_object_class: "person".into(),
            group_object_class: "groupOfNames".into(),
            attributes: LdapAttributes::default(),
            groups: Vec::new(),
            starttls: false,
            allow_plaintext: false,
            interval_secs: 3600,
        }
    }
}

/// The bind password fields are redacted: even encrypted, they don't belong in logs.
impl std::fmt::Debug for LdapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |o: &Option<String>| o.as_ref().map(|_| "<redacted>");
        f.debug_struct("LdapSource")
            .field("url", &self.url)
            .field("bind_dn", &self.bind_dn)
            .field("bind_password_env", &self.bind_password_env)
            .field("bind_password_enc", &redact(&self.bind_password_enc))
            .field("base_dn", &self.base_dn)
            .field("user_object_class", &self.user_object_class)
            .field("group_object_class", &self.group_object_class)
            .field("attributes", &self.attributes)
            .field("groups", &self.groups)
            .field("starttls", &self.starttls)
            .field("allow_plaintext", &self.allow_plaintext)
            .field("interval_secs", &self.interval_secs)
            .finish()
    }
}

/// LDAP attribute names for the user values the sync reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LdapAttributes {
    /// Becomes `userName`.
    pub user_name: String,
    /// Becomes `externalId` (a stable directory id).
    pub external_id: String,
    /// Becomes the primary email.
    pub email: String,
    /// Becomes `name.givenName`.
    pub given_name: String,
    /// Becomes `name.familyName`.
    pub family_name: String,
    /// Becomes `displayName`.
    pub display_name: String,
    /// Group attribute listing member DNs.
    pub member: String,
    /// Group attribute holding the group's name.
    pub group_name: String,
}

impl Default for LdapAttributes {
    fn default() -> Self {
        LdapAttributes {
            user_name: "uid".into(),
            external_id: "entryUUID".into(),
            email: "mail".into(),
            given_name: "givenName".into(),
            family_name: "sn".into(),
            display_name: "displayName".into(),
            member: "member".into(),
            group_name: "cn".into(),
        }
    }
}

fn invalid(msg: impl Into<String>) -> StoreError {
    StoreError::Invalid(msg.into())
}

fn non_empty(what: &str, s: &str) -> Result<()> {
    if s.trim().is_empty() {
        Err(invalid(format!("{what} must not be empty")))
    } else {
        Ok(())
    }
}

/// The first key of `input` that did not survive parsing into `parsed` (its re-serialized
/// form), as a dotted path: a key the typed settings don't know. Every settings type
/// serializes all its fields, and maps keep their keys, so any key missing is unknown.
fn unknown_key(input: &Value, parsed: &Value, path: &str) -> Option<String> {
    let at = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (input, parsed) {
        (Value::Object(i), Value::Object(p)) => i.iter().find_map(|(k, v)| match p.get(k) {
            None => Some(at(k)),
            Some(pv) => unknown_key(v, pv, &at(k)),
        }),
        (Value::Array(i), Value::Array(p)) => i
            .iter()
            .zip(p)
            .enumerate()
            .find_map(|(n, (iv, pv))| unknown_key(iv, pv, &format!("{path}[{n}]"))),
        _ => None,
    }
}

impl TenantSettings {
    /// Parses stored or submitted JSON and validates it; errors name the offending setting.
    /// JSON written before `password_sync` and `validation` existed gets their defaults.
    pub fn from_json(value: &Value) -> Result<TenantSettings> {
        let settings: TenantSettings = serde_json::from_value(value.clone())
            .map_err(|e| invalid(format!("invalid tenant settings: {e}")))?;
        if let Some(key) = unknown_key(value, &settings.to_json()?, "") {
            return Err(invalid(format!(
                "invalid tenant settings: unknown setting `{key}`"
            )));
        }
        settings.validate()?;
        Ok(settings)
    }

    /// The part of the settings provisioning policy reads, for `scim_core::policy`
    /// (lifecycle decisions, entitlement rules, validation, password sync).
    pub fn to_policy(&self) -> PolicySettings {
        PolicySettings {
            deactivation_delay_secs: self.deactivation_delay_secs,
            deactivate_unmapped: self.deactivate_unmapped,
            org_mapping: self.org_mapping.clone(),
            default_org: self.default_org.clone(),
            role_mappings: self.role_mappings.clone(),
            default_roles: self.default_roles.clone(),
            admin_tiers: self.admin_tiers.clone(),
            password_sync: self.password_sync,
            validation: self.validation,
        }
    }

    /// The JSON form stored in `tenants.settings` (every field, defaults included).
    pub fn to_json(&self) -> Result<Value> {
        serde_json::to_value(self)
            .map_err(|e| StoreError::Database(format!("cannot serialize tenant settings: {e}")))
    }

    /// Checks the settings are self-consistent: names non-empty, group names unique across
    /// the admin tiers (case-sensitive), role mappings one per group, a sane delay, an LDAP
    /// source that is encrypted and complete. Called on every write.
    pub fn validate(&self) -> Result<()> {
        if self.deactivation_delay_secs > MAX_DEACTIVATION_DELAY_SECS {
            return Err(invalid(format!(
                "deactivation_delay_secs must be at most {MAX_DEACTIVATION_DELAY_SECS} (ten years)"
            )));
        }
        non_empty("default_org", &self.default_org)?;
        self.validate_org_mapping()?;
        let mut mapped = BTreeSet::new();
        for m in &self.role_mappings {
            non_empty("role_mappings.group", &m.group)?;
            if !mapped.insert(m.group.as_str()) {
                return Err(invalid(format!(
                    "role_mappings lists group {:?} twice; merge its roles into one entry",
                    m.group
                )));
            }
            for r in &m.roles {
                non_empty("a role name in role_mappings", r)?;
            }
        }
        for (org, roles) in &self.default_roles {
            non_empty("a default_roles organization name", org)?;
            for r in roles {
                non_empty("a role name in default_roles", r)?;
            }
        }
        let mut tiers = BTreeSet::new();
        let lists = [
            ("domain_admin_groups", &self.admin_tiers.domain_admin_groups),
            ("org_admin_groups", &self.admin_tiers.org_admin_groups),
        ];
        for (list, groups) in lists {
            for g in groups {
                non_empty(&format!("a group name in admin_tiers.{list}"), g)?;
                if !tiers.insert(g.as_str()) {
                    return Err(invalid(format!(
                        "group {g:?} appears more than once in admin_tiers; each group maps to \
                         one tier"
                    )));
                }
            }
        }
        if self.rate_limit_per_sec == Some(0) {
            return Err(invalid(
                "rate_limit_per_sec must be at least 1 (omit it for the server default)",
            ));
        }
        if let Some(ldap) = &self.ldap {
            ldap.validate()?;
        }
        if let Some(prefix) = &self.jit.group_prefix {
            non_empty("jit.group_prefix (omit it to consider every group)", prefix)?;
        }
        Ok(())
    }

    fn validate_org_mapping(&self) -> Result<()> {
        match &self.org_mapping {
            OrgMapping::Single { org } => non_empty("org_mapping.org", org),
            OrgMapping::Group { map } => {
                for (group, org) in map {
                    non_empty("a group name in org_mapping.map", group)?;
                    non_empty(&format!("the organization of group {group:?}"), org)?;
                }
                Ok(())
            }
            OrgMapping::Attribute { path, .. } => {
                non_empty("org_mapping.path", path)?;
                // A JSONPath is compiled by the policy code that runs it; a SCIM path can be
                // checked here.
                if !path.trim_start().starts_with('$') {
                    scim_core::path::AttrPath::parse(path).map_err(|e| {
                        invalid(format!(
                            "org_mapping.path is neither a SCIM path nor a JSONPath: {e}"
                        ))
                    })?;
                }
                Ok(())
            }
            OrgMapping::Custom { attribute } => non_empty("org_mapping.attribute", attribute),
        }
    }
}

impl LdapSource {
    /// Checks the source is complete and encrypted (LDAPS or StartTLS unless plaintext is
    /// explicitly allowed), with exactly one way to find the bind password.
    pub fn validate(&self) -> Result<()> {
        non_empty("ldap.url", &self.url)?;
        let url = self.url.trim().to_ascii_lowercase();
        if url.starts_with("ldap://") {
            if !self.starttls && !self.allow_plaintext {
                return Err(invalid(
                    "ldap.url uses ldap:// without starttls; use ldaps:// or set starttls",
                ));
            }
        } else if !url.starts_with("ldaps://") {
            return Err(invalid("ldap.url must start with ldaps:// or ldap://"));
        }
        non_empty("ldap.bind_dn", &self.bind_dn)?;
        match (&self.bind_password_env, &self.bind_password_enc) {
            (Some(env), None) => non_empty("ldap.bind_password_env", env)?,
            (None, Some(enc)) => non_empty("ldap.bind_password_enc", enc)?,
            (None, None) => {
                return Err(invalid(
                    "ldap needs a bind password: set bind_password_env or bind_password_enc",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "ldap.bind_password_env and ldap.bind_password_enc are exclusive",
                ));
            }
        }
        non_empty("ldap.base_dn", &self.base_dn)?;
        non_empty("ldap.user_object_class", &self.user_object_class)?;
        non_empty("ldap.group_object_class", &self.group_object_class)?;
        let a = &self.attributes;
        for (name, v) in [
            ("user_name", &a.user_name),
            ("external_id", &a.external_id),
            ("email", &a.email),
            ("given_name", &a.given_name),
            ("family_name", &a.family_name),
            ("display_name", &a.display_name),
            ("member", &a.member),
            ("group_name", &a.group_name),
        ] {
            non_empty(&format!("ldap.attributes.{name}"), v)?;
        }
        for g in &self.groups {
            non_empty("a group name in ldap.groups", g)?;
        }
        if self.interval_secs == 0 {
            return Err(invalid("ldap.interval_secs must be greater than 0"));
        }
        Ok(())
    }
}
