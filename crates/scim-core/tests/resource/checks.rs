//! `normalize_value`, `validate`, `sync_schemas`, `meta` stamping, ETags and getters.

use super::*;
use chrono::{TimeZone, Utc};
use scim_core::resource::{
    self, Meta, etag, normalize_value, parse_etag, stamp, sync_schemas, validate,
};

fn normalize(attr: &str, value: Value) -> Result<Value, Error> {
    let reg = registry();
    let rt = reg.resource_type("User").unwrap();
    let r = reg
        .resolve(rt, &scim_core::path::AttrPath::parse(attr).unwrap())
        .unwrap();
    normalize_value(&reg, r.leaf(), value)
}

#[test]
fn normalize_value_cases() {
    let cases: &[(&str, Value, Value)] = &[
        (
            "emails",
            json!([{"Value": "a@x", "Primary": "TRUE"}]),
            json!([{"value": "a@x", "primary": true}]),
        ),
        ("emails", json!({"value": "a@x"}), json!([{"value": "a@x"}])),
        ("emails", json!([]), json!([])),
        ("emails", json!([null, {"value": null}]), json!([])),
        (
            "manager",
            json!({"Value": "m1", "$REF": null}),
            json!({"value": "m1"}),
        ),
        ("manager", json!("m1"), json!({"value": "m1"})),
        ("active", json!("False"), json!(false)),
        ("active", json!(null), json!(null)),
        (
            "name",
            json!({"GIVENNAME": "B", "middleName": null, "bogus": 1}),
            json!({"givenName": "B"}),
        ),
        (
            "members",
            json!([{"value": "u1", "$ref": null}]),
            json!([{"value": "u1"}]),
        ),
        (
            "phoneNumbers.value",
            json!("+1 (425) 555-0100"),
            json!("+1 (425) 555-0100"),
        ),
    ];
    for (attr, input, expected) in cases {
        let reg = registry();
        let (rt, path) = if *attr == "members" {
            (reg.resource_type("Group").unwrap(), attr)
        } else {
            (reg.resource_type("User").unwrap(), attr)
        };
        let r = reg
            .resolve(rt, &scim_core::path::AttrPath::parse(path).unwrap())
            .unwrap();
        let got = normalize_value(&reg, r.leaf(), input.clone()).unwrap();
        assert_eq!(&got, expected, "{attr}: {input}");
    }
    let err = normalize("active", json!("nope")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "attribute active must be a boolean (true or false), got a string"
    );
    let err = normalize("userName", json!(["a"])).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
    let err = normalize("emails", json!([{"primary": 1}])).unwrap_err();
    assert!(err.to_string().contains("emails.primary"), "{err}");
}

fn check(rt: &str, doc: Value) -> Result<(), Error> {
    let reg = registry();
    validate(&reg, reg.resource_type(rt).unwrap(), &doc)
}

#[test]
fn validate_cases() {
    let ok: &[(&str, Value)] = &[
        ("User", json!({"schemas": [USER], "userName": "b"})),
        // `schemas` is derived data, not checked.
        (
            "User",
            json!({"schemas": [GROUP], "userName": "b", ENT: {"department": "d"}}),
        ),
        // Keys nobody declared are ignored (never written by prepare; rejected by PATCH).
        ("User", json!({"userName": "b", "legacy": 1})),
        (
            "Group",
            json!({"displayName": "g", "members": [{"value": "u1"}]}),
        ),
    ];
    for (rt, doc) in ok {
        check(rt, doc.clone()).unwrap_or_else(|e| panic!("{doc}: {e}"));
    }
    let bad: &[(&str, Value, &str)] = &[
        ("User", json!("x"), "must be a JSON object"),
        (
            "User",
            json!({"active": true}),
            "attribute userName is required",
        ),
        // No coercion: canonical documents carry booleans.
        (
            "User",
            json!({"userName": "b", "active": "True"}),
            "attribute active must be a boolean",
        ),
        (
            "User",
            json!({"userName": "b", "emails": {"value": "a"}}),
            "emails is multi-valued",
        ),
        (
            "User",
            json!({"userName": "b", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}),
            "at most one element of emails",
        ),
        (
            "User",
            json!({"userName": "b", ENT: "x"}),
            "extension must be a JSON object",
        ),
        (
            "User",
            json!({"userName": "b", ENT: {"manager": {"value": 5}}}),
            &format!("attribute {ENT}:manager.value must be a string"),
        ),
        (
            "Group",
            json!({"displayName": "g", "members": [{"display": "x"}]}),
            "needs a non-empty value",
        ),
        (
            "Group",
            json!({"displayName": ""}),
            "attribute displayName is required",
        ),
    ];
    for (rt, doc, needle) in bad {
        let err = check(rt, doc.clone()).expect_err(&format!("{doc} should fail"));
        assert!(
            err.to_string().contains(needle),
            "{doc}: {err} lacks {needle:?}"
        );
    }
}

#[test]
fn sync_schemas_follows_extension_objects() {
    let reg = registry();
    let rt = reg.resource_type("User").unwrap();
    let cases: &[(Value, Value)] = &[
        (
            json!({"userName": "b"}),
            json!({"schemas": [USER], "userName": "b"}),
        ),
        (
            json!({"userName": "b", ACME: {"orgName": "a"}, "schemas": [ENT]}),
            json!({"userName": "b", ACME: {"orgName": "a"}, "schemas": [USER, ACME]}),
        ),
        (
            json!({"schemas": [USER, ENT, "urn:x"], "userName": "b", ENT: {}}),
            json!({"schemas": [USER], "userName": "b", ENT: {}}),
        ),
    ];
    for (input, expected) in cases {
        let mut doc = input.clone();
        sync_schemas(&reg, rt, &mut doc);
        assert_eq!(&doc, expected);
        assert_eq!(
            doc.as_object().unwrap().keys().next(),
            expected.as_object().unwrap().keys().next()
        );
    }
}

#[test]
fn etags() {
    assert_eq!(etag(0), "W/\"0\"");
    assert_eq!(etag(42), "W/\"42\"");
    let cases: &[(&str, Option<u64>)] = &[
        ("W/\"7\"", Some(7)),
        ("\"7\"", Some(7)),
        ("W/7", Some(7)),
        ("7", Some(7)),
        ("  W/\"18446744073709551615\" ", Some(u64::MAX)),
        ("w/\"3\"", Some(3)),
        ("*", None),
        ("", None),
        ("W/\"\"", None),
        ("\"7", None),
        ("W/\"+7\"", None),
        ("W/\"-1\"", None),
        ("W/\"7a\"", None),
        ("W/\"18446744073709551616\"", None),
        ("W/\"1 2\"", None),
    ];
    for (tag, expected) in cases {
        assert_eq!(parse_etag(tag), *expected, "{tag:?}");
    }
    for v in [0, 1, 9, 10, 12345, u64::MAX - 1, u64::MAX] {
        assert_eq!(parse_etag(&etag(v)), Some(v));
    }
}

fn meta(version: u64) -> Meta {
    Meta {
        resource_type: "User".into(),
        created: Utc.with_ymd_and_hms(2024, 3, 1, 10, 0, 0).unwrap(),
        last_modified: Utc.with_ymd_and_hms(2024, 3, 2, 11, 30, 0).unwrap()
            + chrono::Duration::milliseconds(250),
        location: "https://example.com/scim/v2/Users/u1".into(),
        version,
    }
}

#[test]
fn stamp_writes_id_and_meta_in_reading_order() {
    let mut doc =
        json!({"userName": "b", "meta": {"version": "W/\"0\""}, "schemas": [USER], "id": "client"});
    stamp(&mut doc, "u1", &meta(4));
    snapshot!("stamped", doc);
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["schemas", "id", "userName", "meta"]);
    assert_eq!(resource::version(&doc), Some(4));
    assert_eq!(resource::id(&doc), Some("u1"));
    // Stamping again replaces, never duplicates.
    stamp(&mut doc, "u1", &meta(5));
    assert_eq!(doc["meta"]["version"], "W/\"5\"");
    assert_eq!(doc.as_object().unwrap().len(), 4);
    // Non-objects are left alone.
    let mut not_doc = json!([1]);
    stamp(&mut not_doc, "u1", &meta(1));
    assert_eq!(not_doc, json!([1]));
}

#[test]
fn getters() {
    let doc = json!({"id": "u1", "userName": "b", "displayName": "B", "externalId": "e", "active": false});
    assert_eq!(resource::id(&doc), Some("u1"));
    assert_eq!(resource::user_name(&doc), Some("b"));
    assert_eq!(resource::display_name(&doc), Some("B"));
    assert_eq!(resource::external_id(&doc), Some("e"));
    assert_eq!(resource::active(&doc), Some(false));
    assert_eq!(resource::version(&doc), None);
    let empty = json!({});
    assert_eq!(resource::active(&empty), None);
    assert_eq!(resource::user_name(&empty), None);
}
