//! What a user's groups and attributes give them: an organization, roles and an admin tier.
//!
//! The rules, from the DivvyCloud and Code42/Incydr documents:
//! - **Admin tiers.** A member of a Domain Admin group is a Domain Admin and *only* that: no
//!   Organization Admin tier and no roles from basic groups, even if the provider puts them
//!   there ("a user in both Organization and Domain Admin groups will be a Domain Admin
//!   (only)"). An Organization Admin may also hold roles from basic groups.
//! - **Roles.** The union of the roles of every role-mapped group the user is in; a user in no
//!   role-mapped group inherits the default roles of their organization.
//! - **Organization.** One method per tenant (single, group, attribute, custom); users land in
//!   the default organization until a mapping places them. With several organization-mapped
//!   groups, the group whose name sorts first (byte order) decides, so the answer never
//!   depends on the order groups were listed in.
//! - **Names** of groups, roles and organizations match case-sensitively ("these must match
//!   and are case sensitive").
//! - **Mapped** means "in at least one group named by a role mapping, an admin tier or the
//!   group organization mapping"; it drives `deactivate_unmapped`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attribute::AttributeReader;
use super::settings::{OrgMapping, PolicySettings};
use crate::error::Result;
use crate::schema::SchemaRegistry;

/// The tenant's organizations as the rules consult them: only "does this one exist?".
///
/// A set of every name works (and is what "apply mappings" passes, growing it as it creates
/// organizations), but a single user's create asks about at most two names
/// ([`EntitlementRules::organizations_consulted`]), so the server answers from those rows
/// rather than loading every organization of the tenant for each user it creates.
pub trait OrgCatalog {
    /// Whether an organization of this exact name exists.
    fn has(&self, name: &str) -> bool;
}

impl OrgCatalog for BTreeSet<String> {
    fn has(&self, name: &str) -> bool {
        self.contains(name)
    }
}

/// A catalog that answers the same for every name: used to find which names an answer can
/// depend on.
struct Uniform(bool);

impl OrgCatalog for Uniform {
    fn has(&self, _: &str) -> bool {
        self.0
    }
}

/// The admin tiers, ordered from least to most privileged (so a drop is `new < old`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AdminTier {
    /// No admin tier.
    #[default]
    None,
    /// Organization Admin.
    OrgAdmin,
    /// Domain Admin: administers every organization.
    DomainAdmin,
}

impl AdminTier {
    /// The snake_case name used in payloads and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminTier::None => "none",
            AdminTier::OrgAdmin => "org_admin",
            AdminTier::DomainAdmin => "domain_admin",
        }
    }
}

/// A user's effective entitlements, as the store keeps them per user.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Entitlements {
    /// The organization the user belongs to.
    pub organization: String,
    /// The organization was not in the set of existing organizations: the store must create
    /// it in the same transaction. (Configured organizations are normally created when the
    /// settings are saved, so this is mostly the attribute methods' auto-creation.)
    pub organization_created: bool,
    /// The user's roles (empty for a Domain Admin).
    pub roles: BTreeSet<String>,
    /// The user's admin tier.
    pub admin_tier: AdminTier,
    /// In at least one mapped group.
    pub mapped: bool,
}

impl Entitlements {
    /// Whether these entitlements give any access at all: a role or an admin tier.
    pub fn has_access(&self) -> bool {
        !self.roles.is_empty() || self.admin_tier != AdminTier::None
    }
}

/// A tenant's mapping rules, compiled once (the organization attribute is parsed and resolved
/// against the schema registry), then applied to any number of users. Owns its data, so a
/// server can cache one per tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct EntitlementRules {
    settings: PolicySettings,
    org_attribute: Option<OrgAttribute>,
}

#[derive(Debug, Clone, PartialEq)]
struct OrgAttribute {
    reader: AttributeReader,
    create_missing: bool,
}

impl EntitlementRules {
    /// Compiles the tenant's rules. Fails (`invalidValue`, naming the setting) when the
    /// organization attribute is neither a SCIM path of the User type nor a valid JSONPath.
    pub fn new(settings: &PolicySettings, registry: &SchemaRegistry) -> Result<Self> {
        let org_attribute = match &settings.org_mapping {
            OrgMapping::Attribute {
                path,
                create_missing,
            } => Some(OrgAttribute {
                reader: AttributeReader::parse(path, "org_mapping.path", registry)?,
                create_missing: *create_missing,
            }),
            OrgMapping::Custom { attribute } => Some(OrgAttribute {
                reader: AttributeReader::parse(attribute, "org_mapping.attribute", registry)?,
                create_missing: true,
            }),
            OrgMapping::Single { .. } | OrgMapping::Group { .. } => None,
        };
        Ok(EntitlementRules {
            settings: settings.clone(),
            org_attribute,
        })
    }

    /// The settings the rules were built from.
    pub fn settings(&self) -> &PolicySettings {
        &self.settings
    }

    /// The entitlements of a user who is in the groups named `groups` (displayNames, compared
    /// case-sensitively) and whose stored document is `user`. `existing_orgs` are the
    /// tenant's organizations, for the attribute methods' "create when missing".
    pub fn compute<G: AsRef<str>, C: OrgCatalog + ?Sized>(
        &self,
        groups: &[G],
        user: &Value,
        existing_orgs: &C,
    ) -> Entitlements {
        let s = &self.settings;
        let groups: BTreeSet<&str> = groups.iter().map(AsRef::as_ref).collect();
        let member_of = |names: &[String]| names.iter().any(|n| groups.contains(n.as_str()));

        let admin_tier = if member_of(&s.admin_tiers.domain_admin_groups) {
            AdminTier::DomainAdmin
        } else if member_of(&s.admin_tiers.org_admin_groups) {
            AdminTier::OrgAdmin
        } else {
            AdminTier::None
        };

        let organization = self.organization(&groups, user, existing_orgs);

        let role_groups: Vec<_> = s
            .role_mappings
            .iter()
            .filter(|m| groups.contains(m.group.as_str()))
            .collect();
        let roles: BTreeSet<String> = if admin_tier == AdminTier::DomainAdmin {
            BTreeSet::new()
        } else if role_groups.is_empty() {
            s.default_roles
                .get(&organization)
                .into_iter()
                .flatten()
                .cloned()
                .collect()
        } else {
            role_groups
                .iter()
                .flat_map(|m| m.roles.iter().cloned())
                .collect()
        };

        let org_groups = match &s.org_mapping {
            OrgMapping::Group { map } => map.keys().any(|g| groups.contains(g.as_str())),
            _ => false,
        };
        let mapped = !role_groups.is_empty() || admin_tier != AdminTier::None || org_groups;

        Entitlements {
            organization_created: !existing_orgs.has(&organization),
            organization,
            roles,
            admin_tier,
            mapped,
        }
    }

    /// Every organization name [`compute`](Self::compute) may ask its catalog about for this
    /// user (at most two: the one an attribute names and the one the user lands in), so a
    /// caller can look those up instead of listing the tenant's organizations. `compute` with
    /// a catalog that knows only these names answers as with the full one.
    pub fn organizations_consulted<G: AsRef<str>>(
        &self,
        groups: &[G],
        user: &Value,
    ) -> Vec<String> {
        let groups: BTreeSet<&str> = groups.iter().map(AsRef::as_ref).collect();
        // The attribute's value is asked about only when it is read; the answer is then that
        // value (every name exists) or the fallback (none does), and the landing organization
        // is asked about in turn. Nothing else is.
        let mut names = vec![self.organization(&groups, user, &Uniform(true))];
        let otherwise = self.organization(&groups, user, &Uniform(false));
        if otherwise != names[0] {
            names.push(otherwise);
        }
        names
    }

    fn organization<C: OrgCatalog + ?Sized>(
        &self,
        groups: &BTreeSet<&str>,
        user: &Value,
        existing_orgs: &C,
    ) -> String {
        let s = &self.settings;
        let mapped = match &s.org_mapping {
            OrgMapping::Single { org } => Some(org.clone()),
            OrgMapping::Group { map } => map
                .iter()
                .find(|(group, _)| groups.contains(group.as_str()))
                .map(|(_, org)| org.clone()),
            OrgMapping::Attribute { .. } | OrgMapping::Custom { .. } => {
                self.org_attribute.as_ref().and_then(|a| {
                    a.reader
                        .read(user)
                        .filter(|org| a.create_missing || existing_orgs.has(org))
                })
            }
        };
        mapped.unwrap_or_else(|| s.default_org.clone())
    }
}
