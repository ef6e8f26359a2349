//! The rule inputs of a tenant: the part of its settings that provisioning policy reads.
//!
//! `scim-core` cannot depend on `scim-store`, where the full `TenantSettings` type lives, so
//! the fields that rules read are declared here again, **with the same names and JSON shapes**
//! (`deactivation_delay_secs`, `deactivate_unmapped`, `org_mapping`, `default_org`,
//! `role_mappings`, `default_roles`, `admin_tiers`). Unknown keys are ignored, so the JSON the
//! store keeps for a tenant deserializes straight into [`PolicySettings`]; the two fields the
//! store does not have yet (`password_sync`, `validation`) take their defaults when absent.
//! Checking that the settings are self-consistent (non-empty names, one tier per group) stays
//! with the store, which validates on every write; the rules here only need well-typed data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// Default delay between a provider's deactivation and the destructive step: 15 minutes, as
/// the Code42/Incydr documentation describes (same value as the store's default).
pub const DEFAULT_DEACTIVATION_DELAY_SECS: u64 = 900;

/// The organization users land in until a mapping places them (same as the store's default).
pub const DEFAULT_ORG: &str = "Default";

/// What the provisioning rules read from a tenant's settings. Every field has a default, so
/// `{}` is valid: one organization, a 15-minute delay, no mappings, password sync on, every
/// validation rule off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicySettings {
    /// Seconds between the provider deactivating (or deleting) a user and the user being
    /// deactivated; 0 means "as soon as the worker runs".
    pub deactivation_delay_secs: u64,
    /// Deactivate users who are in no mapped group, through the same delayed path, and
    /// reactivate them when they return to one (DivvyCloud's behaviour).
    pub deactivate_unmapped: bool,
    /// How users are placed in organizations.
    pub org_mapping: OrgMapping,
    /// The organization users belong to until a mapping places them.
    pub default_org: String,
    /// SCIM group (displayName, case-sensitive) → roles.
    pub role_mappings: Vec<RoleMapping>,
    /// Organization → roles its users get when they are in no role-mapped group.
    pub default_roles: BTreeMap<String, Vec<String>>,
    /// Groups whose members are Domain Admins or Organization Admins.
    pub admin_tiers: AdminTiers,
    /// Keep a `password` the provider sends (the server stores only its hash); when off, a sent
    /// password is ignored. Okta syncs passwords; Code42 does not support it, so it is a switch.
    pub password_sync: bool,
    /// Per-tenant validation rules from the vendor documents.
    pub validation: ValidationRules,
}

impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings {
            deactivation_delay_secs: DEFAULT_DEACTIVATION_DELAY_SECS,
            deactivate_unmapped: false,
            org_mapping: OrgMapping::default(),
            default_org: DEFAULT_ORG.to_string(),
            role_mappings: Vec::new(),
            default_roles: BTreeMap::new(),
            admin_tiers: AdminTiers::default(),
            password_sync: true,
            validation: ValidationRules::default(),
        }
    }
}

impl PolicySettings {
    /// Reads the rule inputs from a tenant's settings JSON (the store's `TenantSettings`
    /// document, or any subset of it). Keys the rules don't use are ignored.
    pub fn from_json(value: &Value) -> Result<PolicySettings> {
        PolicySettings::deserialize(value)
            .map_err(|e| Error::invalid_value(format!("invalid tenant policy settings: {e}")))
    }
}

/// The four ways a tenant maps users to organizations, tagged by `method` in JSON exactly as
/// the store writes them (`{"method": "group", "map": {"Sales": "Acme Sales"}}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum OrgMapping {
    /// Everyone belongs to one organization.
    Single {
        /// Its name.
        org: String,
    },
    /// A SCIM group (by displayName, case-sensitive) places its members in an organization.
    Group {
        /// Group displayName → organization name.
        map: BTreeMap<String, String>,
    },
    /// An attribute of the user names the organization (Code42's `c42OrgName`).
    Attribute {
        /// A SCIM attribute path (`urn:…:User:c42OrgName`, `addresses[primary eq true].country`)
        /// or a JSONPath (`$['urn:…:User'].c42OrgName`, or the shorthand `$.urn:…:User.c42OrgName`).
        path: String,
        /// Create an organization the attribute names when it doesn't exist yet; otherwise such
        /// users stay in the default organization.
        #[serde(default)]
        create_missing: bool,
    },
    /// A custom (configured extension) attribute names the organization. Organizations it names
    /// are always created when missing, as Code42 documents for its "Custom attribute" method.
    Custom {
        /// The attribute's name or path, written as for [`OrgMapping::Attribute`].
        attribute: String,
    },
}

impl Default for OrgMapping {
    fn default() -> Self {
        OrgMapping::Single {
            org: DEFAULT_ORG.to_string(),
        }
    }
}

/// One group → roles mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleMapping {
    /// SCIM group displayName (case-sensitive, as the seed documents say).
    pub group: String,
    /// Roles the group's members get.
    pub roles: Vec<String>,
}

/// Groups mapped to the two admin tiers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminTiers {
    /// Members are Domain Admins, and only that.
    pub domain_admin_groups: Vec<String>,
    /// Members are Organization Admins (and may also hold basic roles).
    pub org_admin_groups: Vec<String>,
}

/// The per-tenant validation switches (Code42: "Username should be a syntactically valid email
/// address value. Primary email should be a syntactically valid value identical to Username";
/// "Country codes mapped must be valid 2-character codes"). All off by default, because Entra
/// and many Okta setups send userNames that are not email addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ValidationRules {
    /// `userName` must be a syntactically valid email address.
    pub user_name_is_email: bool,
    /// The primary email must equal `userName` (compared case-insensitively).
    pub primary_email_is_user_name: bool,
    /// Every `addresses[].country` must be an ISO 3166-1 alpha-2 code.
    pub country_is_iso3166: bool,
}
