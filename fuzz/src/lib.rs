//! What the fuzz targets share: the schema registry the server runs with, stored-form User and
//! Group documents to apply requests to, and the checks every accepted input must pass.
//!
//! The targets call scim-core exactly as `scim-server`'s handlers and services do (see each
//! target's docs), without the store: whatever core accepts must be a document the store
//! could persist (it validates), and nothing may panic, overflow or hang.

use chrono::DateTime;
use scim_core::filter::eval::{EvalContext, matches};
use scim_core::filter::{Filter, parse_filter};
use scim_core::policy::{ValidationRules, validate_user};
use scim_core::projection::Projection;
use scim_core::resource::{Meta, WriteMode, changed_attributes, prepare, stamp, validate};
use scim_core::schema::{ResourceType, SchemaRegistry};
use serde_json::{Value, json};

/// The registry `scim-server` builds at start (core User and Group, Enterprise User).
pub fn registry() -> SchemaRegistry {
    SchemaRegistry::standard()
}

/// The User or Group resource type of `registry`; both are always registered.
pub fn resource_type<'r>(registry: &'r SchemaRegistry, name: &str) -> &'r ResourceType {
    match registry.resource_type(name) {
        Some(rt) => rt,
        None => panic!("{name} is not registered"),
    }
}

/// A User as a client would send it, with most attribute kinds (complex, multi-valued,
/// extension, boolean, reference).
pub fn user_input() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "bjensen@example.com", "externalId": "00u1", "active": true,
        "displayName": "Babs", "title": "Tour Guide", "locale": "en-US",
        "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Barbara Jensen"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@example.org", "type": "home"}],
        "phoneNumbers": [{"value": "555-555-5555", "type": "work"}],
        "addresses": [{"streetAddress": "100 Universal City Plaza", "country": "US",
                       "type": "work", "primary": true}],
        "roles": [{"value": "admin", "primary": false}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984", "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    })
}

/// A Group as a client would send it.
pub fn group_input() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Tour Guides", "externalId": "00g1",
        "members": [{"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs"},
                    {"value": "902c246b-6245-4190-8e05-00816be7344a", "type": "User"}]
    })
}

/// A document as the store holds it: prepared by core, without `id` and `meta` (and, for a
/// Group, without `members`, which are rows).
pub fn stored(registry: &SchemaRegistry, rt: &ResourceType, input: Value) -> Value {
    let mut doc = match prepare(registry, rt, input, WriteMode::Create, None) {
        Ok(doc) => doc,
        Err(e) => panic!("the fixture does not prepare: {e}"),
    };
    if let Some(obj) = doc.as_object_mut()
        && rt.name == "Group"
    {
        obj.remove("members");
    }
    doc
}

/// The stored document with the `id` the services put back before a PATCH.
pub fn with_id(doc: &Value, id: &str) -> Value {
    let mut doc = doc.clone();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("id".into(), Value::String(id.into()));
    }
    doc
}

/// Every per-tenant validation rule switched on, so the fuzzer reaches that code too.
pub fn strict_rules() -> ValidationRules {
    ValidationRules {
        user_name_is_email: true,
        primary_email_is_user_name: true,
        country_is_iso3166: true,
    }
}

/// What the server does with a document core produced before it is stored and rendered:
/// per-tenant rules (their refusal is a 400, fine), the change list against the stored
/// document, the rendering with `meta`, and a projection. Panics when core produced a document
/// its own validation refuses: the store would then hold data no request could produce.
pub fn after_write(registry: &SchemaRegistry, rt: &ResourceType, before: &Value, doc: &Value) {
    if let Err(e) = validate(registry, rt, doc) {
        panic!("core produced a document it refuses: {e}\n{doc:#}");
    }
    if rt.name == "User" {
        let _ = validate_user(&ValidationRules::default(), doc);
        let _ = validate_user(&strict_rules(), doc);
    }
    let _ = changed_attributes(before, doc, rt);
    let mut rendered = doc.clone();
    stamp(&mut rendered, "x1", &sample_meta(rt));
    let _ = Projection::all().apply(&rendered);
    if let Ok(p) = Projection::new(registry, rt, &[], &["emails,name.givenName".into()]) {
        let _ = p.apply(&rendered);
    }
}

/// Parses a filter and, when it parses, checks what the server relies on: the canonical
/// printing parses back to the same tree, and validating and evaluating it against stored
/// documents of both resource types never panics.
pub fn check_filter(registry: &SchemaRegistry, text: &str) -> Option<Filter> {
    let ast = parse_filter(text).ok()?;
    let printed = ast.to_string();
    assert_eq!(
        parse_filter(&printed).as_ref(),
        Ok(&ast),
        "printed: {printed}"
    );
    evaluate(registry, &ast);
    Some(ast)
}

/// Validates and evaluates a parsed filter against the fixtures of both resource types.
pub fn evaluate(registry: &SchemaRegistry, ast: &Filter) {
    for (name, input) in [("User", user_input()), ("Group", group_input())] {
        let rt = resource_type(registry, name);
        let ctx = EvalContext::new(registry, rt);
        let _ = scim_core::filter::eval::validate(ast, &ctx);
        let mut doc = match prepare(registry, rt, input, WriteMode::Create, None) {
            Ok(doc) => doc,
            Err(e) => panic!("the fixture does not prepare: {e}"),
        };
        let _ = matches(ast, &doc, &ctx);
        stamp(&mut doc, "x1", &sample_meta(rt));
        let _ = matches(ast, &doc, &ctx);
    }
}

/// The `meta` the server stamps on a resource it renders.
pub fn sample_meta(rt: &ResourceType) -> Meta {
    let created = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
    Meta {
        resource_type: rt.name.clone(),
        created,
        last_modified: created,
        location: format!("https://scim.example.com/scim/v2{}/x1", rt.endpoint),
        version: 2,
    }
}

/// The request body as the server reads it (`http::parse_body`): JSON, or nothing to do.
pub fn json_body(data: &[u8]) -> Option<Value> {
    serde_json::from_slice(data).ok()
}
