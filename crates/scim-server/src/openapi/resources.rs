//! OpenAPI schemas of SCIM resources (User, Group, their extensions) and of the discovery
//! documents, derived from the attribute table in `scim-core` that validates and publishes them.
//!
//! Deriving instead of transcribing means the document can't drift from the server: a new
//! attribute, a mutability change or a configured extension shows up in the OpenAPI schema
//! the moment `/Schemas` shows it. The mapping from RFC 7643 to JSON Schema:
//!
//! | SCIM | JSON Schema |
//! |---|---|
//! | string, boolean, decimal, integer | `string`, `boolean`, `number`, `integer` |
//! | dateTime / binary / reference | `string` with `format: date-time` / `contentEncoding: base64` / `format: uri-reference` |
//! | complex | `object` with its sub-attributes |
//! | multiValued | `array` of the above |
//! | mutability readOnly / writeOnly, returned never | `readOnly` / `writeOnly` |
//! | required | listed in `required` of the `…Input` schema (request bodies) only |
//! | canonicalValues, immutable, uniqueness, returned request | said in the description |
//!
//! Resource objects stay permissive (no `additionalProperties: false`): SCIM names are
//! case-insensitive and clients send attributes of other schemas, which the server drops or
//! stores as RFC 7643 allows.
//!
//! `User`, `Group` and their extension schemas describe resources as responses carry them,
//! and list nothing as `required`: RFC 7644 §3.9 lets `attributes`/`excludedAttributes` leave
//! any attribute out of a response but `id` and `schemas` (a `userName` too). What a request
//! body must carry is the `UserInput`/`GroupInput` schema: the resource plus, through
//! `allOf`, the `required` lists of RFC 7643 (and of configured extensions).

use std::borrow::Cow;

use scim_core::discovery::{resource_type_schema, schema_schema, service_provider_config_schema};
use scim_core::schema::{
    AttrType, AttributeDef, Mutability, Returned, Schema as ScimSchema, SchemaRegistry, Uniqueness,
    common_attributes,
};
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat,
    Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// Named schemas to put in `components.schemas`.
pub type Components = Vec<(String, RefOr<Schema>)>;

/// The `schemas` attribute every SCIM document carries.
fn schemas_property(urns: &[&str]) -> RefOr<Schema> {
    let list = urns
        .iter()
        .map(|u| format!("`{u}`"))
        .collect::<Vec<_>>()
        .join(", ");
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String))
        .description(Some(format!(
            "URNs of the schemas this document uses: {list}."
        )))
        .into()
}

/// The description of an attribute with what JSON Schema can't say.
fn describe(def: &AttributeDef) -> Option<String> {
    let mut text = def.description.trim().to_string();
    let mut note = |s: String| {
        if !text.is_empty() && !text.ends_with('.') {
            text.push('.');
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&s);
    };
    if def.mutability == Mutability::Immutable {
        note("Immutable: may be set when absent, never changed.".into());
    }
    match def.uniqueness {
        Uniqueness::Server => note("Unique within the tenant.".into()),
        Uniqueness::Global => note("Globally unique.".into()),
        Uniqueness::None => {}
    }
    if def.returned == Returned::Request {
        note("Returned only when named in `attributes`.".into());
    }
    if !def.canonical_values.is_empty() {
        note(format!(
            "Canonical values: {}.",
            def.canonical_values.join(", ")
        ));
    }
    (!text.is_empty()).then_some(text)
}

fn read_only(def: &AttributeDef) -> bool {
    def.mutability == Mutability::ReadOnly
}

fn write_only(def: &AttributeDef) -> bool {
    def.mutability == Mutability::WriteOnly || def.returned == Returned::Never
}

/// Whether schemas list `required` attributes: discovery documents do (the server always
/// returns them whole); resources don't, since projection may leave any attribute out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Required {
    Listed,
    Omitted,
}

/// One value of the attribute (an element, for a multi-valued one), with the attribute's
/// description and access flags when `annotate` (singular attributes carry them here).
fn value_schema(def: &AttributeDef, annotate: bool, required: Required) -> ObjectBuilder {
    let base = match def.ty {
        AttrType::String => ObjectBuilder::new().schema_type(Type::String),
        AttrType::Boolean => ObjectBuilder::new().schema_type(Type::Boolean),
        AttrType::Decimal => ObjectBuilder::new().schema_type(Type::Number),
        AttrType::Integer => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
        AttrType::DateTime => ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        AttrType::Binary => ObjectBuilder::new()
            .schema_type(Type::String)
            .content_encoding("base64"),
        AttrType::Reference => ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("uri-reference".into()))),
        AttrType::Complex => object_of(&def.sub_attributes, required),
    };
    if !annotate {
        return base;
    }
    let base = base.description(describe(def));
    // Only `true` is worth writing: `false` is the default and would double the document.
    match (read_only(def), write_only(def)) {
        (true, _) => base.read_only(true),
        (_, true) => base.write_only(true),
        _ => base,
    }
}

/// The schema of one attribute, singular or multi-valued.
fn attribute_schema(def: &AttributeDef, required: Required) -> RefOr<Schema> {
    if !def.multi_valued {
        return value_schema(def, true, required).into();
    }
    // utoipa's Array has no readOnly/writeOnly fields; JSON Schema allows them on any schema,
    // so they travel as (single-key, hence deterministic) extension keywords.
    let flag = if read_only(def) {
        Some("readOnly")
    } else if write_only(def) {
        Some("writeOnly")
    } else {
        None
    };
    ArrayBuilder::new()
        .items(value_schema(def, false, required))
        .description(describe(def))
        .extensions(flag.map(|k| Extensions::from_iter([(k, true)])))
        .into()
}

/// An object whose properties are `attrs`.
fn object_of(attrs: &[AttributeDef], required: Required) -> ObjectBuilder {
    let mut obj = ObjectBuilder::new().schema_type(Type::Object);
    for def in attrs {
        obj = obj.property(def.name.clone(), attribute_schema(def, required));
        if def.required && required == Required::Listed {
            obj = obj.required(def.name.clone());
        }
    }
    obj
}

/// The `required` lists of `attrs` at every depth, as a schema to combine with the
/// attributes' own through `allOf`; `None` when nothing in them is required.
fn required_overlay(attrs: &[AttributeDef]) -> Option<ObjectBuilder> {
    let mut obj = ObjectBuilder::new();
    let mut any = false;
    for def in attrs {
        if def.required {
            obj = obj.required(def.name.clone());
            any = true;
        }
        if def.ty != AttrType::Complex {
            continue;
        }
        if let Some(sub) = required_overlay(&def.sub_attributes) {
            let sub: RefOr<Schema> = if def.multi_valued {
                ArrayBuilder::new().items(sub).into()
            } else {
                sub.into()
            };
            obj = obj.property(def.name.clone(), sub);
            any = true;
        }
    }
    any.then_some(obj)
}

/// The component name of an extension schema, or `None` to inline it (a name already taken).
fn extension_name(schema: &ScimSchema, taken: &dyn Fn(&str) -> bool) -> Option<String> {
    let name = schema.name.trim();
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    (ok && !taken(name)).then(|| name.to_string())
}

fn extension_schema(schema: &ScimSchema) -> RefOr<Schema> {
    object_of(&schema.attributes, Required::Omitted)
        .description(Some(format!(
            "{} (`{}`): present under its URN when the resource uses the extension.",
            schema.description, schema.id
        )))
        .into()
}

/// The schemas of every resource type in `registry` (named like the type: `User`, `Group`),
/// of request bodies for it (`UserInput`: the type's schema with its `required` lists), and of
/// their extensions (named like the extension schema: `EnterpriseUser`). `taken` says which
/// names other components already use; an extension whose name is taken is inlined.
pub fn resource_components(registry: &SchemaRegistry, taken: &dyn Fn(&str) -> bool) -> Components {
    let mut out: Components = Vec::new();
    for rt in registry.resource_types() {
        let Some(core) = registry.schema(&rt.schema) else {
            continue;
        };
        let mut urns = vec![rt.schema.as_str()];
        urns.extend(rt.schema_extensions.iter().map(|e| e.schema.as_str()));
        let mut obj = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(format!(
                "{} (`{}`), as responses carry it. Attribute names are case-insensitive on \
                 input; responses use the names shown here. A response to a request with \
                 `attributes` or `excludedAttributes` holds only the selected attributes plus \
                 `id` and `schemas`, so no attribute is listed as required here; request \
                 bodies are `{}Input`.",
                rt.description, rt.schema, rt.name
            )))
            .property("schemas", schemas_property(&urns));
        let attrs: Vec<AttributeDef> = registry
            .common_attributes()
            .iter()
            .chain(&core.attributes)
            .cloned()
            .collect();
        for def in &attrs {
            obj = obj.property(def.name.clone(), attribute_schema(def, Required::Omitted));
        }
        let mut input = required_overlay(&attrs).unwrap_or_default();
        for ext in &rt.schema_extensions {
            let Some(schema) = registry.schema(&ext.schema) else {
                continue;
            };
            let is_taken = |n: &str| {
                taken(n)
                    || registry
                        .resource_types()
                        .iter()
                        .any(|r| r.name == n || format!("{}Input", r.name) == n)
                    || out.iter().any(|(o, _)| o == n)
            };
            let property = match extension_name(schema, &is_taken) {
                Some(name) => {
                    out.push((name.clone(), extension_schema(schema)));
                    RefOr::Ref(Ref::from_schema_name(name))
                }
                None => extension_schema(schema),
            };
            obj = obj.property(ext.schema.clone(), property);
            if ext.required {
                input = input.required(ext.schema.clone());
            }
            if let Some(overlay) = required_overlay(&schema.attributes) {
                input = input.property(ext.schema.clone(), overlay);
            }
        }
        out.push((rt.name.clone(), obj.into()));
        let input = AllOfBuilder::new()
            .item(Ref::from_schema_name(rt.name.clone()))
            .item(input)
            .description(Some(format!(
                "A {} as a request body (POST, PUT): the `{}` schema with the attributes a \
                 request must carry listed as `required`.",
                rt.name, rt.name
            )));
        out.push((format!("{}Input", rt.name), input.into()));
    }
    out
}

/// A discovery document's schema: its RFC 7643 §5–§7 attributes plus `schemas` and `meta`.
fn discovery_schema(schema: &ScimSchema) -> RefOr<Schema> {
    let meta = common_attributes().into_iter().find(|a| a.name == "meta");
    let mut obj = object_of(&schema.attributes, Required::Listed)
        .description(Some(format!("{} (`{}`).", schema.description, schema.id)))
        .property("schemas", schemas_property(&[schema.id.as_str()]));
    if let Some(meta) = meta {
        obj = obj.property("meta", attribute_schema(&meta, Required::Listed));
    }
    obj.into()
}

/// Looks a generated component up by name, for the marker types below.
fn standard(name: &str) -> RefOr<Schema> {
    resource_components(&SchemaRegistry::standard(), &|_| false)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, s)| s)
        .unwrap_or_else(|| ObjectBuilder::new().schema_type(Type::Object).into())
}

macro_rules! marker {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $schema:expr, []) => {
        marker!($(#[$doc])* $ty, $name, $schema, |_schemas| {});
    };
    ($(#[$doc:meta])* $ty:ident, $name:literal, $schema:expr, [$($dep:ident),+]) => {
        marker!($(#[$doc])* $ty, $name, $schema, |schemas| {
            $(schemas.push((<$dep as ToSchema>::name().into_owned(), <$dep>::schema()));)+
        });
    };
    ($(#[$doc:meta])* $ty:ident, $name:literal, $schema:expr, |$schemas:ident| $deps:block) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $ty;

        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }

            fn schemas($schemas: &mut Vec<(String, RefOr<Schema>)>) $deps
        }
    };
}

marker!(
    /// The `User` resource (core schema plus the Enterprise extension), for `#[utoipa::path]`.
    User, "User", standard("User"), [EnterpriseUser]
);
marker!(
    /// The Enterprise User extension object.
    EnterpriseUser, "EnterpriseUser", standard("EnterpriseUser"), []
);
marker!(
    /// The `Group` resource, for `#[utoipa::path]`.
    Group, "Group", standard("Group"), []
);
marker!(
    /// A User request body (POST, PUT): `User` with its `required` lists.
    UserInput, "UserInput", standard("UserInput"), [User]
);
marker!(
    /// A Group request body (POST, PUT): `Group` with its `required` lists.
    GroupInput, "GroupInput", standard("GroupInput"), [Group]
);
marker!(
    /// Either resource, as `POST /.search` returns them.
    Resource,
    "Resource",
    AnyOfBuilder::new()
        .item(Ref::from_schema_name("User"))
        .item(Ref::from_schema_name("Group"))
        .description(Some("A User or a Group; `meta.resourceType` says which."))
        .into(),
    [User, Group]
);
marker!(
    /// The `/ServiceProviderConfig` document.
    ServiceProviderConfig,
    "ServiceProviderConfig",
    discovery_schema(&service_provider_config_schema()),
    []
);
marker!(
    /// One `/ResourceTypes` entry.
    ResourceType, "ResourceType", discovery_schema(&resource_type_schema()), []
);
marker!(
    /// One `/Schemas` entry: a SCIM schema definition.
    SchemaDefinition, "Schema", discovery_schema(&schema_schema()), []
);
