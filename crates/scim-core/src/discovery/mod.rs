//! Discovery documents (RFC 7643 §5–§7, RFC 7644 §4): `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas`, rendered from the schema registry and the server's settings.
//!
//! Everything here is derived, never hand-written JSON: the resource types and schemas come
//! from the same [`SchemaRegistry`] that validation and filtering read, so a registered
//! extension is discoverable the moment it is usable, and the ServiceProviderConfig comes from
//! [`ServiceProviderSettings`], which the server fills from what it really enabled.

mod meta_schemas;

pub use meta_schemas::{
    meta_schemas, resource_type_schema, schema_schema, service_provider_config_schema,
};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::bulk::BulkLimits;
use crate::query::QueryLimits;
use crate::schema::{ResourceType, Schema, SchemaRegistry, urn};

/// One entry of `authenticationSchemes` (RFC 7643 §5). Clients such as Okta show these to the
/// administrator who sets up the connection, so they must match how the server really
/// authenticates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthScheme {
    /// The RFC keyword: `oauthbearertoken`, `httpbasic`, `oauth2`, ….
    #[serde(rename = "type")]
    pub type_: String,
    /// Common name, e.g. "OAuth Bearer Token".
    pub name: String,
    /// What the scheme is and how to use it here.
    pub description: String,
    /// The scheme's specification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_uri: Option<String>,
    /// This server's documentation for the scheme.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation_uri: Option<String>,
    /// Whether clients should prefer this scheme.
    pub primary: bool,
}

impl AuthScheme {
    /// `Authorization: Bearer <token>` (RFC 6750), what Entra and Okta's "HTTP Header" mode send.
    pub fn oauth_bearer_token(primary: bool) -> Self {
        AuthScheme {
            type_: "oauthbearertoken".to_string(),
            name: "OAuth Bearer Token".to_string(),
            description: "Authentication with a bearer token in the Authorization header."
                .to_string(),
            spec_uri: Some("https://www.rfc-editor.org/info/rfc6750".to_string()),
            documentation_uri: None,
            primary,
        }
    }

    /// HTTP Basic (RFC 7617) with the token id as user name and the secret as password, for
    /// Okta's "Basic Auth" template.
    pub fn http_basic(primary: bool) -> Self {
        AuthScheme {
            type_: "httpbasic".to_string(),
            name: "HTTP Basic".to_string(),
            description: "Authentication with HTTP Basic: the token id as user name and the token secret as password."
                .to_string(),
            spec_uri: Some("https://www.rfc-editor.org/info/rfc7617".to_string()),
            documentation_uri: None,
            primary,
        }
    }
}

/// What the server really supports, passed in by the server from its configuration, so the
/// ServiceProviderConfig never advertises a feature that is switched off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProviderSettings {
    /// Human-readable help for this service provider.
    pub documentation_uri: Option<String>,
    /// Whether PATCH is supported.
    pub patch: bool,
    /// Bulk limits when `/Bulk` is enabled; `None` advertises bulk as unsupported.
    pub bulk: Option<BulkLimits>,
    /// The most resources one list or search response returns (the `count` clamp).
    pub filter_max_results: u64,
    /// Whether clients may change passwords.
    pub change_password: bool,
    /// Whether `sortBy` is honoured.
    pub sort: bool,
    /// Whether ETags / `If-Match` are supported.
    pub etag: bool,
    /// How clients authenticate, primary first.
    pub authentication_schemes: Vec<AuthScheme>,
}

impl Default for ServiceProviderSettings {
    /// Everything this codebase implements: PATCH, bulk with default limits, filtering up to
    /// the default query clamp, password change, sorting, ETags, bearer and basic auth.
    fn default() -> Self {
        ServiceProviderSettings {
            documentation_uri: None,
            patch: true,
            bulk: Some(BulkLimits::default()),
            filter_max_results: QueryLimits::default().max_count,
            change_password: true,
            sort: true,
            etag: true,
            authentication_schemes: vec![
                AuthScheme::oauth_bearer_token(true),
                AuthScheme::http_basic(false),
            ],
        }
    }
}

/// `base_url` + `rest`, with exactly one slash between them.
fn join(base_url: &str, rest: &str) -> String {
    format!("{}/{}", base_url.trim_end_matches('/'), rest)
}

/// `meta` of a discovery resource: the RFC examples carry only `resourceType` and `location`.
fn meta(resource_type: &str, location: String) -> Value {
    json!({ "resourceType": resource_type, "location": location })
}

/// The `/ServiceProviderConfig` document. `base_url` is the absolute SCIM root, e.g.
/// `https://host/scim/v2`.
pub fn service_provider_config(settings: &ServiceProviderSettings, base_url: &str) -> Value {
    let supported = |on: bool| json!({ "supported": on });
    let (bulk_on, max_ops, max_payload) = match &settings.bulk {
        Some(l) => (true, l.max_operations, l.max_payload_size),
        None => (false, 0, 0),
    };
    let mut doc = Map::new();
    doc.insert("schemas".into(), json!([urn::SERVICE_PROVIDER_CONFIG]));
    if let Some(uri) = &settings.documentation_uri {
        doc.insert("documentationUri".into(), json!(uri));
    }
    doc.insert("patch".into(), supported(settings.patch));
    doc.insert(
        "bulk".into(),
        json!({ "supported": bulk_on, "maxOperations": max_ops, "maxPayloadSize": max_payload }),
    );
    doc.insert(
        "filter".into(),
        json!({ "supported": true, "maxResults": settings.filter_max_results }),
    );
    doc.insert("changePassword".into(), supported(settings.change_password));
    doc.insert("sort".into(), supported(settings.sort));
    doc.insert("etag".into(), supported(settings.etag));
    doc.insert(
        "authenticationSchemes".into(),
        serde_json::to_value(&settings.authentication_schemes).unwrap_or_else(|_| json!([])),
    );
    doc.insert(
        "meta".into(),
        meta(
            "ServiceProviderConfig",
            join(base_url, "ServiceProviderConfig"),
        ),
    );
    Value::Object(doc)
}

/// One resource type as `/ResourceTypes/{name}` returns it (RFC 7643 §6).
fn render_resource_type(rt: &ResourceType, base_url: &str) -> Value {
    let mut doc = Map::new();
    doc.insert("schemas".into(), json!([urn::RESOURCE_TYPE]));
    doc.insert("id".into(), json!(rt.id));
    doc.insert("name".into(), json!(rt.name));
    doc.insert("endpoint".into(), json!(rt.endpoint));
    doc.insert("description".into(), json!(rt.description));
    doc.insert("schema".into(), json!(rt.schema));
    if !rt.schema_extensions.is_empty() {
        let exts: Vec<Value> = rt
            .schema_extensions
            .iter()
            .map(|e| json!({ "schema": e.schema, "required": e.required }))
            .collect();
        doc.insert("schemaExtensions".into(), Value::Array(exts));
    }
    doc.insert(
        "meta".into(),
        meta(
            "ResourceType",
            join(base_url, &format!("ResourceTypes/{}", rt.id)),
        ),
    );
    Value::Object(doc)
}

/// Every resource type, for `GET /ResourceTypes` (the server wraps them in a ListResponse).
pub fn resource_types(registry: &SchemaRegistry, base_url: &str) -> Vec<Value> {
    registry
        .resource_types()
        .iter()
        .map(|rt| render_resource_type(rt, base_url))
        .collect()
}

/// One resource type by name (`User`), ignoring case; `None` means 404.
pub fn resource_type(registry: &SchemaRegistry, name: &str, base_url: &str) -> Option<Value> {
    registry
        .resource_type(name)
        .map(|rt| render_resource_type(rt, base_url))
}

/// One schema as `/Schemas/{urn}` returns it (RFC 7643 §7, shaped like the §8.7.1 examples).
fn render_schema(schema: &Schema, base_url: &str) -> Value {
    let attributes = schema
        .attributes
        .iter()
        .map(|a| serde_json::to_value(a).unwrap_or(Value::Null))
        .collect();
    let mut doc = Map::new();
    doc.insert("schemas".into(), json!([urn::SCHEMA]));
    doc.insert("id".into(), json!(schema.id));
    doc.insert("name".into(), json!(schema.name));
    doc.insert("description".into(), json!(schema.description));
    doc.insert("attributes".into(), Value::Array(attributes));
    doc.insert(
        "meta".into(),
        meta("Schema", join(base_url, &format!("Schemas/{}", schema.id))),
    );
    Value::Object(doc)
}

/// Every schema, for `GET /Schemas`: the registry's resource schemas (User, EnterpriseUser,
/// Group and every registered custom extension) followed by the three discovery schemas.
pub fn schemas(registry: &SchemaRegistry, base_url: &str) -> Vec<Value> {
    registry
        .schemas()
        .iter()
        .chain(meta_schemas().iter())
        .map(|s| render_schema(s, base_url))
        .collect()
}

/// One schema by URN, ignoring case; `None` means 404.
pub fn schema(registry: &SchemaRegistry, urn: &str, base_url: &str) -> Option<Value> {
    if let Some(s) = registry.schema(urn) {
        return Some(render_schema(s, base_url));
    }
    meta_schemas()
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(urn))
        .map(|s| render_schema(s, base_url))
}
