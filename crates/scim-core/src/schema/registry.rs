//! The set of schemas and resource types a server instance serves, and name resolution.

use super::{AttributeDef, ResourceType, Schema, SchemaExtension, common_attributes, urn};
use crate::error::{Error, Result};
use crate::path::{AttrPath, split_urn};

/// Every schema and resource type known to this server instance. Built once at start (standard
/// schemas plus configured extensions) and shared read-only afterwards.
#[derive(Debug, Clone)]
pub struct SchemaRegistry {
    schemas: Vec<Schema>,
    resource_types: Vec<ResourceType>,
    common: Vec<AttributeDef>,
}

/// An attribute path resolved against the registry.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// The schema the attribute belongs to; `None` for the common attributes `id`,
    /// `externalId`, `meta`.
    pub schema: Option<&'a Schema>,
    /// The top-level attribute.
    pub attr: &'a AttributeDef,
    /// The sub-attribute, when the path named one.
    pub sub: Option<&'a AttributeDef>,
    /// Whether the attribute lives under its schema URN key in the JSON document.
    pub in_extension: bool,
}

impl<'a> Resolved<'a> {
    /// The definition the path ends at (the sub-attribute if there is one).
    pub fn leaf(&self) -> &'a AttributeDef {
        self.sub.unwrap_or(self.attr)
    }

    /// The URN key the attribute is nested under, for extension attributes.
    pub fn extension_urn(&self) -> Option<&'a str> {
        if self.in_extension {
            self.schema.map(|s| s.id.as_str())
        } else {
            None
        }
    }

    /// The canonical, fully qualified path (`urn:…:User:name.givenName`), used for messages,
    /// change sets and SQL column selection.
    pub fn canonical_path(&self) -> AttrPath {
        AttrPath {
            urn: self.extension_urn().map(str::to_string),
            name: self.attr.name.clone(),
            sub: self.sub.map(|s| s.name.clone()),
        }
    }
}

/// What a free-form key (a pathless PATCH value key, an `attributes` entry) names.
#[derive(Debug, Clone, Copy)]
pub enum ResolvedKey<'a> {
    /// A whole schema URN (an extension object).
    Schema(&'a Schema),
    /// An attribute.
    Attr(Resolved<'a>),
}

impl Default for SchemaRegistry {
    fn default() -> Self {
        Self::standard()
    }
}

impl SchemaRegistry {
    /// User (with the Enterprise extension, optional) and Group, as RFC 7643 defines them.
    pub fn standard() -> Self {
        SchemaRegistry {
            schemas: vec![
                super::user_schema(),
                super::enterprise_user_schema(),
                super::group_schema(),
            ],
            resource_types: vec![
                ResourceType {
                    id: "User".to_string(),
                    name: "User".to_string(),
                    endpoint: "/Users".to_string(),
                    description: "User Account".to_string(),
                    schema: urn::USER.to_string(),
                    schema_extensions: vec![SchemaExtension {
                        schema: urn::ENTERPRISE_USER.to_string(),
                        required: false,
                    }],
                },
                ResourceType {
                    id: "Group".to_string(),
                    name: "Group".to_string(),
                    endpoint: "/Groups".to_string(),
                    description: "Group".to_string(),
                    schema: urn::GROUP.to_string(),
                    schema_extensions: vec![],
                },
            ],
            common: common_attributes(),
        }
    }

    /// Adds a custom extension schema to a resource type (e.g. a vendor URN carrying an
    /// organization name). Refuses URNs already known and resource types that don't exist, so a
    /// configuration mistake fails at start rather than at the first request.
    pub fn register_extension(
        &mut self,
        schema: Schema,
        resource_type: &str,
        required: bool,
    ) -> Result<()> {
        if !schema.id.to_ascii_lowercase().starts_with("urn:") {
            return Err(Error::invalid_value(format!(
                "extension schema id {:?} must be a URN",
                schema.id
            )));
        }
        if self.schema(&schema.id).is_some() {
            return Err(Error::Uniqueness(format!(
                "schema {} is already registered",
                schema.id
            )));
        }
        for a in &schema.attributes {
            if !crate::path::is_attr_name(&a.name) {
                return Err(Error::invalid_value(format!(
                    "attribute name {:?} in {} is not a valid SCIM attribute name",
                    a.name, schema.id
                )));
            }
        }
        let rt = self
            .resource_types
            .iter_mut()
            .find(|rt| rt.name.eq_ignore_ascii_case(resource_type))
            .ok_or_else(|| {
                Error::invalid_value(format!("unknown resource type {resource_type:?}"))
            })?;
        rt.schema_extensions.push(SchemaExtension {
            schema: schema.id.clone(),
            required,
        });
        self.schemas.push(schema);
        Ok(())
    }

    /// All schemas, core first.
    pub fn schemas(&self) -> &[Schema] {
        &self.schemas
    }

    /// All resource types.
    pub fn resource_types(&self) -> &[ResourceType] {
        &self.resource_types
    }

    /// The common attributes (`id`, `externalId`, `meta`).
    pub fn common_attributes(&self) -> &[AttributeDef] {
        &self.common
    }

    /// A schema by URN, ignoring case.
    pub fn schema(&self, id: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(id))
    }

    /// A resource type by name (`User`), ignoring case.
    pub fn resource_type(&self, name: &str) -> Option<&ResourceType> {
        self.resource_types
            .iter()
            .find(|rt| rt.name.eq_ignore_ascii_case(name))
    }

    /// The core schema and then the extension schemas of a resource type.
    pub fn schemas_of<'a>(&'a self, rt: &'a ResourceType) -> impl Iterator<Item = &'a Schema> + 'a {
        std::iter::once(rt.schema.as_str())
            .chain(rt.schema_extensions.iter().map(|e| e.schema.as_str()))
            .filter_map(|id| self.schema(id))
    }

    /// Resolves a path on a resource type. Unqualified names look in the common attributes,
    /// then the core schema, then the extensions (so `employeeNumber` works as well as the
    /// qualified form, which some clients rely on). Returns `None` for unknown names.
    pub fn resolve<'a>(&'a self, rt: &'a ResourceType, path: &AttrPath) -> Option<Resolved<'a>> {
        let top = match &path.urn {
            Some(u) => {
                let schema = self.schemas_of(rt).find(|s| s.id.eq_ignore_ascii_case(u))?;
                let is_core = schema.id.eq_ignore_ascii_case(&rt.schema);
                if is_core {
                    if let Some(a) = self.common_attr(&path.name) {
                        (None, a, false)
                    } else {
                        (Some(schema), schema.attribute(&path.name)?, false)
                    }
                } else {
                    (Some(schema), schema.attribute(&path.name)?, true)
                }
            }
            None => {
                if let Some(a) = self.common_attr(&path.name) {
                    (None, a, false)
                } else {
                    let core_id = rt.schema.as_str();
                    self.schemas_of(rt).find_map(|s| {
                        s.attribute(&path.name)
                            .map(|a| (Some(s), a, !s.id.eq_ignore_ascii_case(core_id)))
                    })?
                }
            }
        };
        let (schema, attr, in_extension) = top;
        let sub = match &path.sub {
            Some(name) => Some(attr.sub(name)?),
            None => None,
        };
        Some(Resolved {
            schema,
            attr,
            sub,
            in_extension,
        })
    }

    /// Resolves a free-form key: a whole extension URN, or an attribute path.
    pub fn resolve_key<'a>(&'a self, rt: &'a ResourceType, key: &str) -> Option<ResolvedKey<'a>> {
        if let Some(schema) = self.schemas_of(rt).find(|s| s.id.eq_ignore_ascii_case(key)) {
            return Some(ResolvedKey::Schema(schema));
        }
        let path = AttrPath::parse(key).ok()?;
        self.resolve(rt, &path).map(ResolvedKey::Attr)
    }

    /// Like [`resolve`](Self::resolve) but failing with an error that names the path, for
    /// callers that must reject unknown attributes.
    pub fn resolve_or_err<'a>(
        &'a self,
        rt: &'a ResourceType,
        path: &AttrPath,
        make: impl FnOnce(String) -> Error,
    ) -> Result<Resolved<'a>> {
        self.resolve(rt, path).ok_or_else(|| {
            make(format!(
                "attribute {path} is not defined for resource type {}",
                rt.name
            ))
        })
    }

    fn common_attr(&self, name: &str) -> Option<&AttributeDef> {
        self.common
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Whether a URN-looking key is the prefix of a known schema; used to tell
    /// `urn:…:User:employeeNumber` from an unknown schema.
    pub fn is_known_urn(&self, text: &str) -> bool {
        let (urn, _) = split_urn(text);
        self.schema(text).is_some() || urn.is_some_and(|u| self.schema(u).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::AttrType;

    #[test]
    fn resolves_case_insensitively_with_and_without_urn() {
        let reg = SchemaRegistry::standard();
        let user = reg.resource_type("user").unwrap();
        let r = reg
            .resolve(user, &AttrPath::parse("EMAILS.Value").unwrap())
            .unwrap();
        assert_eq!(r.attr.name, "emails");
        assert_eq!(r.leaf().name, "value");
        let r = reg
            .resolve(
                user,
                &AttrPath::parse("urn:ietf:params:scim:schemas:core:2.0:User:userName").unwrap(),
            )
            .unwrap();
        assert_eq!(r.attr.name, "userName");
        assert!(!r.in_extension);
        let r = reg
            .resolve(user, &AttrPath::parse("employeeNumber").unwrap())
            .unwrap();
        assert!(r.in_extension);
        assert_eq!(r.extension_urn(), Some(urn::ENTERPRISE_USER));
        let r = reg
            .resolve(user, &AttrPath::parse("meta.lastModified").unwrap())
            .unwrap();
        assert_eq!(r.leaf().ty, AttrType::DateTime);
        assert!(
            reg.resolve(user, &AttrPath::parse("nope").unwrap())
                .is_none()
        );
        assert!(
            reg.resolve(user, &AttrPath::parse("name.nope").unwrap())
                .is_none()
        );
        let group = reg.resource_type("Group").unwrap();
        assert!(
            reg.resolve(group, &AttrPath::parse("userName").unwrap())
                .is_none()
        );
    }

    #[test]
    fn registers_custom_extension() {
        let mut reg = SchemaRegistry::standard();
        let ext = Schema {
            id: "urn:example:params:scim:schemas:extension:acme:2.0:User".into(),
            name: "Acme".into(),
            description: String::new(),
            attributes: vec![AttributeDef::new("orgName", AttrType::String)],
        };
        reg.register_extension(ext.clone(), "User", false).unwrap();
        assert!(reg.register_extension(ext, "User", false).is_err());
        let user = reg.resource_type("User").unwrap();
        let r = reg
            .resolve(
                user,
                &AttrPath::parse("urn:example:params:scim:schemas:extension:acme:2.0:User:ORGNAME")
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(r.attr.name, "orgName");
        assert!(matches!(
            reg.resolve_key(
                user,
                "urn:example:params:scim:schemas:extension:acme:2.0:User"
            ),
            Some(ResolvedKey::Schema(_))
        ));
    }
}
