//! The attribute-definition table every other module reads (RFC 7643 §2, §7).
//!
//! One table drives validation, filtering, PATCH, projection and discovery, so an attribute
//! that is declared here behaves the same everywhere, and a custom extension registered at start
//! is filterable, patchable and discoverable without any other code change.

mod builtin;
mod registry;

pub use builtin::{common_attributes, enterprise_user_schema, group_schema, user_schema};
pub use registry::{Resolved, ResolvedKey, SchemaRegistry};

use serde::{Deserialize, Serialize};

/// Well-known URNs, in one place so no module spells them twice.
pub mod urn {
    /// Core User schema.
    pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    /// Core Group schema.
    pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    /// Enterprise User extension.
    pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    /// ServiceProviderConfig schema.
    pub const SERVICE_PROVIDER_CONFIG: &str =
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
    /// ResourceType schema.
    pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
    /// Schema schema.
    pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
    /// ListResponse message.
    pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
    /// SearchRequest message.
    pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
    /// PatchOp message.
    pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
    /// BulkRequest message.
    pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
    /// BulkResponse message.
    pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
    /// Error message.
    pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
}

/// SCIM data types (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    /// A Unicode string.
    String,
    /// `true` or `false` (clients may send `"True"`/`"False"`, which core coerces).
    Boolean,
    /// A real number.
    Decimal,
    /// A whole number.
    Integer,
    /// An xsd:dateTime string, compared as an instant.
    DateTime,
    /// Base64 data, compared case-exact.
    Binary,
    /// A URI to a resource, compared case-exact.
    Reference,
    /// A structure of sub-attributes.
    Complex,
}

/// Who may write an attribute (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// Only the service provider sets it; client values are ignored on write.
    ReadOnly,
    /// Clients may read and write it.
    #[default]
    ReadWrite,
    /// Clients may set it once, never change it.
    Immutable,
    /// Clients may write but never read it back (passwords).
    WriteOnly,
}

/// When an attribute appears in responses (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// Always returned, even if excluded.
    Always,
    /// Never returned.
    Never,
    /// Returned unless excluded, or unless `attributes` names others.
    #[default]
    Default,
    /// Returned only when named in `attributes`.
    Request,
}

/// Uniqueness scope of an attribute value (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    /// No uniqueness constraint.
    #[default]
    None,
    /// Unique within the service provider (here: within a tenant).
    Server,
    /// Globally unique.
    Global,
}

/// One attribute definition, serialized exactly as `/Schemas` publishes it, so the same JSON
/// format also configures custom extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeDef {
    /// Attribute name as declared (its canonical case).
    pub name: String,
    /// Data type.
    #[serde(rename = "type")]
    pub ty: AttrType,
    /// Sub-attributes of a complex attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<AttributeDef>,
    /// Whether the value is an array.
    #[serde(default)]
    pub multi_valued: bool,
    /// Human description, published in discovery.
    #[serde(default)]
    pub description: String,
    /// Whether a value must be present on create and replace.
    #[serde(default)]
    pub required: bool,
    /// Suggested values (published; not enforced, as RFC 7643 §2.3.1 allows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    /// Whether string comparison is case-sensitive.
    #[serde(default)]
    pub case_exact: bool,
    /// Who may write it.
    #[serde(default)]
    pub mutability: Mutability,
    /// When it is returned.
    #[serde(default)]
    pub returned: Returned,
    /// Uniqueness scope.
    #[serde(default)]
    pub uniqueness: Uniqueness,
    /// Resource types a reference may point to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
}

impl AttributeDef {
    /// A singular, optional, readWrite, default-returned attribute; refine with the builders.
    pub fn new(name: &str, ty: AttrType) -> Self {
        AttributeDef {
            name: name.to_string(),
            ty,
            sub_attributes: Vec::new(),
            multi_valued: false,
            description: String::new(),
            required: false,
            canonical_values: Vec::new(),
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            reference_types: Vec::new(),
        }
    }
    /// Sets the description.
    pub fn desc(mut self, d: &str) -> Self {
        self.description = d.to_string();
        self
    }
    /// Marks it multi-valued.
    pub fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    /// Marks it required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// Marks it case-exact.
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    /// Sets mutability.
    pub fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    /// Sets the `returned` rule.
    pub fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    /// Sets uniqueness.
    pub fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }
    /// Sets canonical values.
    pub fn canonical(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|s| s.to_string()).collect();
        self
    }
    /// Sets reference types.
    pub fn refs(mut self, types: &[&str]) -> Self {
        self.reference_types = types.iter().map(|s| s.to_string()).collect();
        self
    }
    /// Sets sub-attributes (and makes the type complex).
    pub fn subs(mut self, subs: Vec<AttributeDef>) -> Self {
        self.ty = AttrType::Complex;
        self.sub_attributes = subs;
        self
    }

    /// Finds a sub-attribute by name, ignoring case (RFC 7643 §2.1).
    pub fn sub(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Whether this is a multi-valued complex attribute with a `primary` sub-attribute.
    pub fn has_primary(&self) -> bool {
        self.multi_valued && self.sub("primary").is_some()
    }
}

/// A schema (RFC 7643 §7): a URN and its attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    /// The schema URN.
    pub id: String,
    /// Human name.
    #[serde(default)]
    pub name: String,
    /// Human description.
    #[serde(default)]
    pub description: String,
    /// Top-level attributes.
    pub attributes: Vec<AttributeDef>,
}

impl Schema {
    /// Finds a top-level attribute by name, ignoring case.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// An extension of a resource type (RFC 7643 §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaExtension {
    /// Extension schema URN.
    pub schema: String,
    /// Whether every resource of the type must carry it.
    pub required: bool,
}

/// A resource type (RFC 7643 §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceType {
    /// Identifier, also the name (`User`, `Group`).
    pub id: String,
    /// Name used in `meta.resourceType`.
    pub name: String,
    /// Endpoint relative to the base URL (`/Users`).
    pub endpoint: String,
    /// Human description.
    #[serde(default)]
    pub description: String,
    /// Core schema URN.
    pub schema: String,
    /// Extension schemas.
    #[serde(default)]
    pub schema_extensions: Vec<SchemaExtension>,
}
