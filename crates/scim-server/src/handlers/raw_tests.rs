//! The copying path gives the bytes of the parsing path, and takes over where it should.

use chrono::NaiveDate;
use scim_core::projection::Projection;
use scim_core::schema::{AttrType, AttributeDef, Returned, Schema, SchemaRegistry};
use scim_store::RawResource;
use scim_store::members::GroupRef;
use serde_json::{Value, json};

use super::user_bytes;
use crate::handlers::users::render_user_doc;

const ACME: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const BASE: &str = "https://scim.example.com/scim/v2";

fn registry() -> SchemaRegistry {
    let mut reg = SchemaRegistry::standard();
    let mut secret = AttributeDef::new("badge", AttrType::String);
    secret.returned = Returned::Request;
    let ext = Schema {
        id: ACME.into(),
        name: "Acme".into(),
        description: String::new(),
        attributes: vec![AttributeDef::new("orgName", AttrType::String), secret],
    };
    assert!(reg.register_extension(ext, "User", false).is_ok());
    reg
}

fn raw(doc: &Value) -> RawResource {
    let t = |h| {
        NaiveDate::from_ymd_opt(2026, 11, 30)
            .and_then(|d| d.and_hms_micro_opt(h, 1, 2, 345_678))
            .unwrap_or_default()
    };
    RawResource {
        id: "2819c223-7f76-453a-919d-413861904646".into(),
        version: 7,
        created_at: t(9),
        updated_at: t(10),
        text: serde_json::to_string(doc).unwrap_or_default(),
    }
}

fn groups() -> Vec<GroupRef> {
    vec![GroupRef {
        id: "e9e30dba-f08f-4109-8486-d5c6a331660a".into(),
        display: "Tour \"Guides\"".into(),
    }]
}

fn plain() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
           "userName": "bjensen@example.com", "name": {"givenName": "Barbara", "familyName": "Jensen"},
           "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
           "active": true, "title": "Tour \u{e9}guide\n",
           ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "26118915"}}})
}

/// Compares both paths for one document and projection; returns whether the copy served it.
fn check(reg: &SchemaRegistry, doc: &Value, attributes: &[&str], excluded: &[&str]) -> bool {
    let rt = reg
        .resource_type("User")
        .unwrap_or_else(|| panic!("no User type"));
    let names = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let projection = Projection::new(reg, rt, &names(attributes), &names(excluded))
        .unwrap_or_else(|e| panic!("projection: {e}"));
    let r = raw(doc);
    for groups in [Vec::new(), groups()] {
        let stored = r.clone().parse().unwrap_or_else(|e| panic!("parse: {e}"));
        let expected = projection.apply(&render_user_doc(rt, &stored, &groups, BASE));
        match user_bytes(rt, &r, &groups, BASE, &projection) {
            Some(bytes) => {
                let want = serde_json::to_vec(&expected).unwrap_or_default();
                assert_eq!(
                    String::from_utf8_lossy(&bytes),
                    String::from_utf8_lossy(&want),
                    "attributes={attributes:?} excluded={excluded:?}"
                );
            }
            None => return false,
        }
    }
    true
}

#[test]
fn copies_the_bytes_the_parsing_path_writes() {
    let reg = registry();
    let mut acme = plain();
    acme["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ACME]);
    acme[ACME] = json!({"orgName": "Acme"});
    let mut schemas_last = serde_json::Map::new();
    schemas_last.insert("userName".into(), json!("late"));
    schemas_last.insert(
        "schemas".into(),
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"]),
    );
    let schemas_last = Value::Object(schemas_last);
    let mut core_only = plain();
    core_only["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User"]);
    if let Some(m) = core_only.as_object_mut() {
        m.remove(ENTERPRISE);
    }
    // (document, attributes, excludedAttributes, served by the copy)
    let cases: &[(&Value, &[&str], &[&str], bool)] = &[
        (&plain(), &[], &[], true),
        (&core_only, &["userName"], &[], true),
        (&core_only, &["userName", "groups", "meta"], &[], true),
        (&core_only, &[], &["emails"], true),
        // `userName` alone leaves the enterprise object out, so its URN leaves `schemas`.
        (&plain(), &["userName"], &[], false),
        (&plain(), &[], &["emails", "groups", "meta"], true),
        (&plain(), &[ENTERPRISE], &[], true),
        (&plain(), &["name.givenName"], &[], false),
        (&plain(), &["meta.lastModified"], &[], false),
        // The enterprise object not returned: its URN must leave `schemas`.
        (&plain(), &[], &[ENTERPRISE], false),
        (&schemas_last, &[], &[], true),
        // An extension with a `returned: request` attribute: only named reads copy.
        (&acme, &[], &[], false),
        (&acme, &["userName"], &[], false),
        (&acme, &["userName", ACME], &[], false),
    ];
    for (doc, attributes, excluded, served) in cases {
        assert_eq!(
            check(&reg, doc, attributes, excluded),
            *served,
            "{doc} attributes={attributes:?} excluded={excluded:?}"
        );
    }
}

#[test]
fn leaves_documents_with_server_stamped_keys_to_the_parsing_path() {
    let reg = registry();
    for key in ["id", "meta", "groups", "Meta"] {
        let mut doc = plain();
        doc[key] = json!("stored by mistake");
        assert!(!check(&reg, &doc, &[], &[]), "{key}");
    }
    let rt = reg
        .resource_type("User")
        .unwrap_or_else(|| panic!("no User type"));
    let projection = Projection::new(&reg, rt, &[], &[]).unwrap_or_else(|e| panic!("{e}"));
    let mut r = raw(&plain());
    r.text = "[1, 2]".into();
    assert!(user_bytes(rt, &r, &[], BASE, &projection).is_none());
}
