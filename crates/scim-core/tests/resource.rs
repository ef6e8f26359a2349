//! Data-driven tests of resource preparation (POST/PUT bodies), validation, value
//! normalization, `meta` stamping and ETags, including real Okta and Entra bodies.
#![expect(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers report a failed case by panicking"
)]

use chrono::{TimeZone, Utc};
use scim_core::resource::{
    self, Meta, WriteMode, etag, normalize_value, parse_etag, prepare, stamp, sync_schemas,
    validate,
};
use scim_core::schema::{AttrType, AttributeDef, Mutability, Schema, SchemaRegistry};
use scim_core::{Error, ScimType};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ACME: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";

/// Standard schemas plus a vendor extension with one attribute of each interesting kind.
fn registry() -> SchemaRegistry {
    let mut reg = SchemaRegistry::standard();
    let acme = Schema {
        id: ACME.into(),
        name: "Acme".into(),
        description: String::new(),
        attributes: vec![
            AttributeDef::new("orgName", AttrType::String),
            AttributeDef::new("badge", AttrType::String).mutability(Mutability::Immutable),
            AttributeDef::new("level", AttrType::Integer),
            AttributeDef::new("score", AttrType::Decimal),
            AttributeDef::new("hired", AttrType::DateTime),
            AttributeDef::new("syncedBy", AttrType::String).mutability(Mutability::ReadOnly),
            AttributeDef::new("office", AttrType::Complex).subs(vec![
                AttributeDef::new("building", AttrType::String).required(),
                AttributeDef::new("room", AttrType::String),
                AttributeDef::new("code", AttrType::String)
                    .case_exact()
                    .mutability(Mutability::Immutable),
            ]),
        ],
    };
    reg.register_extension(acme, "User", false).unwrap();
    reg
}

fn run(rt: &str, input: Value, mode: WriteMode, existing: Option<&Value>) -> Result<Value, Error> {
    let reg = registry();
    let rt = reg.resource_type(rt).unwrap();
    prepare(&reg, rt, input, mode, existing)
}

/// POST `input` to `rt` and expect exactly `expected`.
fn create(rt: &str, input: Value, expected: Value) {
    let got = run(rt, input.clone(), WriteMode::Create, None)
        .unwrap_or_else(|e| panic!("create failed: {e}\ninput: {input:#}"));
    assert_eq!(got, expected, "input: {input:#}");
}

/// POST `input` to `rt` and expect an error of `ty` whose detail contains `needle`.
fn create_err(rt: &str, input: Value, ty: ScimType, needle: &str) {
    let err = run(rt, input.clone(), WriteMode::Create, None)
        .expect_err(&format!("expected an error for {input:#}"));
    assert_eq!(err.scim_type(), Some(ty), "{err}");
    assert!(err.to_string().contains(needle), "{err:?} lacks {needle:?}");
}

/// PUT `input` over `existing` and return the outcome.
fn replace(rt: &str, input: Value, existing: &Value) -> Result<Value, Error> {
    run(rt, input, WriteMode::Replace, Some(existing))
}

fn user(extra: Value) -> Value {
    let mut v = json!({"schemas": [USER], "userName": "bjensen"});
    if let (Some(m), Value::Object(e)) = (v.as_object_mut(), extra) {
        m.extend(e);
    }
    v
}

#[test]
fn input_must_be_an_object() {
    create_err(
        "User",
        json!(["userName"]),
        ScimType::InvalidSyntax,
        "JSON object",
    );
    create_err(
        "User",
        json!("bjensen"),
        ScimType::InvalidSyntax,
        "JSON object",
    );
    create_err("Group", json!(null), ScimType::InvalidSyntax, "JSON object");
}

#[test]
fn schemas_is_rebuilt_from_the_data() {
    // Missing.
    create(
        "User",
        json!({"userName": "b"}),
        json!({"schemas": [USER], "userName": "b"}),
    );
    // Wrong, foreign and malformed URNs (Entra E11/E12) never fail the request.
    create(
        "User",
        json!({"schemas": ["urn:nope", format!("{ENT}x"), "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"], "userName": "b"}),
        json!({"schemas": [USER], "userName": "b"}),
    );
    // An extension object present but not declared gets its URN added.
    create(
        "User",
        json!({"schemas": [USER], "userName": "b", ENT: {"department": "x"}}),
        json!({"schemas": [USER, ENT], "userName": "b", ENT: {"department": "x"}}),
    );
    // Declared but absent is dropped.
    create(
        "User",
        json!({"Schemas": [USER, ENT, ACME], "userName": "b"}),
        json!({"schemas": [USER], "userName": "b"}),
    );
}

#[test]
fn names_are_canonicalized_in_any_case() {
    create(
        "User",
        json!({"USERNAME": "b", "Name": {"GivenName": "Barbara", "FAMILYNAME": "J"},
               "Emails": [{"Value": "b@x", "Type": "work", "Primary": "True"}],
               "urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:user": {"Department": "Sales",
                   "Manager": {"Value": "m1"}}}),
        json!({"schemas": [USER, ENT], "userName": "b",
               "name": {"givenName": "Barbara", "familyName": "J"},
               "emails": [{"value": "b@x", "type": "work", "primary": true}],
               ENT: {"department": "Sales", "manager": {"value": "m1"}}}),
    );
}

#[test]
fn qualified_and_dotted_keys_are_moved_where_they_belong() {
    create(
        "User",
        json!({"urn:ietf:params:scim:schemas:core:2.0:User:userName": "b",
               format!("{ENT}:department"): "Sales",
               format!("{ENT}:manager.value"): "m1",
               "name.givenName": "Barbara",
               "NAME.familyName": "Jensen"}),
        json!({"schemas": [USER, ENT], "userName": "b",
               "name": {"givenName": "Barbara", "familyName": "Jensen"},
               ENT: {"department": "Sales", "manager": {"value": "m1"}}}),
    );
    // Merged with an extension object given as a whole, in either order.
    create(
        "User",
        json!({"userName": "b", ENT: {"division": "d"}, format!("{ENT}:employeeNumber"): "7"}),
        json!({"schemas": [USER, ENT], "userName": "b", ENT: {"employeeNumber": "7", "division": "d"}}),
    );
    // A sub-attribute of a multi-valued attribute on its own means nothing in a body.
    create_err(
        "User",
        json!({"userName": "b", "emails.value": "b@x"}),
        ScimType::InvalidValue,
        "emails.value can't be set on its own",
    );
}

#[test]
fn later_keys_win() {
    create(
        "User",
        json!({"userName": "a", "UserName": "b", "name": {"givenName": "x"}, "name.givenName": "y"}),
        json!({"schemas": [USER], "userName": "b", "name": {"givenName": "y"}}),
    );
}

#[test]
fn boolean_strings_become_booleans() {
    for (sent, stored) in [
        (json!("True"), true),
        (json!("FALSE"), false),
        (json!("true"), true),
        (json!(false), false),
    ] {
        create(
            "User",
            user(json!({"active": sent})),
            json!({"schemas": [USER], "userName": "bjensen", "active": stored}),
        );
    }
    create_err(
        "User",
        user(json!({"active": "yes"})),
        ScimType::InvalidValue,
        "attribute active must be a boolean",
    );
    create_err(
        "User",
        user(json!({"active": 1})),
        ScimType::InvalidValue,
        "got a number",
    );
}

#[test]
fn type_mismatches_name_the_attribute_and_type() {
    let cases: &[(Value, &str)] = &[
        (
            json!({"displayName": 12}),
            "attribute displayName must be a string, got a number",
        ),
        (
            json!({"displayName": ["x"]}),
            "attribute displayName must be a single value, not an array",
        ),
        (
            json!({"name": [{"givenName": "x"}]}),
            "attribute name must be a single value",
        ),
        (
            json!({"name": "Barbara"}),
            "attribute name must be a JSON object, got a string",
        ),
        (
            json!({"name": {"givenName": true}}),
            "attribute name.givenName must be a string",
        ),
        (
            json!({"emails": [{"primary": "maybe"}]}),
            "attribute emails.primary must be a boolean",
        ),
        (
            json!({"emails": [[1]]}),
            "attribute emails must be a JSON object",
        ),
        (
            json!({ACME: {"level": "12"}}),
            &format!("attribute {ACME}:level must be an integer, got a string"),
        ),
        (
            json!({ACME: {"level": 1.5}}),
            "level must be an integer, got a number",
        ),
        (json!({ACME: {"score": "1.5"}}), "score must be a number"),
        (
            json!({ACME: {"hired": "yesterday"}}),
            "hired must be an RFC 3339 dateTime",
        ),
        (json!({ACME: {"hired": "2024-13-01T00:00:00Z"}}), "RFC 3339"),
        (
            json!({ACME: "Acme"}),
            &format!("the {ACME} extension must be a JSON object"),
        ),
        (json!({"profileUrl": 5}), "profileUrl must be a URI string"),
    ];
    for (extra, needle) in cases {
        create_err("User", user(extra.clone()), ScimType::InvalidValue, needle);
    }
}

#[test]
fn numbers_and_datetimes_are_stored_as_sent() {
    create(
        "User",
        user(json!({ACME: {"level": 12, "score": 1.5, "hired": "2024-05-01T12:00:00.5+02:00"}})),
        json!({"schemas": [USER, ACME], "userName": "bjensen",
               ACME: {"level": 12, "score": 1.5, "hired": "2024-05-01T12:00:00.5+02:00"}}),
    );
}

#[test]
fn single_values_are_wrapped_for_multi_valued_attributes() {
    create(
        "User",
        user(json!({"emails": {"value": "b@x", "type": "work"}})),
        json!({"schemas": [USER], "userName": "bjensen", "emails": [{"value": "b@x", "type": "work"}]}),
    );
    // Bare strings for complex attributes with a `value` (manager as a string, clients.md E10).
    create(
        "User",
        user(json!({"emails": ["b@x"], ENT: {"manager": "m1"}})),
        json!({"schemas": [USER, ENT], "userName": "bjensen", "emails": [{"value": "b@x"}],
               ENT: {"manager": {"value": "m1"}}}),
    );
}

#[test]
fn nulls_and_empty_values_are_removed() {
    create(
        "User",
        user(
            json!({"title": null, "roles": [], "name": {"givenName": null, "formatted": "B J"},
                    "addresses": [{"country": "CA", "region": null}, {"locality": null}, null],
                    "phoneNumbers": [{}], "x509Certificates": null, ENT: {"department": null}}),
        ),
        json!({"schemas": [USER], "userName": "bjensen", "name": {"formatted": "B J"},
               "addresses": [{"country": "CA"}]}),
    );
    // An extension given as null is unassigned, even after a qualified key set something.
    create(
        "User",
        user(json!({format!("{ENT}:department"): "x", ENT: null})),
        json!({"schemas": [USER], "userName": "bjensen"}),
    );
}

#[test]
fn unknown_and_undeclared_attributes_are_dropped() {
    create(
        "User",
        user(
            json!({"favouriteColour": "blue", "name": {"givenName": "B", "nick": "x"},
                    "urn:example:other:2.0:User": {"a": 1}, "urn:example:other:2.0:User:a": 1,
                    "members": [{"value": "u1"}]}),
        ),
        json!({"schemas": [USER], "userName": "bjensen", "name": {"givenName": "B"}}),
    );
    // The enterprise extension is not declared for Group.
    create(
        "Group",
        json!({"displayName": "g", ENT: {"department": "x"}, "userName": "nope"}),
        json!({"schemas": [GROUP], "displayName": "g"}),
    );
}

#[test]
fn read_only_input_is_ignored_on_create() {
    create(
        "User",
        user(
            json!({"id": "client-id", "meta": {"resourceType": "User", "version": "W/\"9\""},
                    "groups": [{"value": "g1", "display": "Admins"}],
                    ENT: {"manager": {"value": "m1", "displayName": "Boss"}},
                    ACME: {"syncedBy": "client", "orgName": "Acme"}}),
        ),
        json!({"schemas": [USER, ENT, ACME], "userName": "bjensen",
               ENT: {"manager": {"value": "m1"}}, ACME: {"orgName": "Acme"}}),
    );
}

#[test]
fn write_only_password_is_kept_for_the_server_to_hash() {
    create(
        "User",
        user(json!({"password": "t1meMa$heen"})),
        json!({"schemas": [USER], "userName": "bjensen", "password": "t1meMa$heen"}),
    );
}

#[test]
fn values_are_stored_as_sent() {
    create(
        "User",
        json!({"userName": "BJensen@Example.COM", "phoneNumbers": [{"value": "+1 (425) 555-0100", "type": "mobile"}],
               "emails": [{"value": "BJensen@Example.COM"}]}),
        json!({"schemas": [USER], "userName": "BJensen@Example.COM",
               "emails": [{"value": "BJensen@Example.COM"}],
               "phoneNumbers": [{"value": "+1 (425) 555-0100", "type": "mobile"}]}),
    );
}

#[test]
fn output_is_in_schema_order() {
    let got = run(
        "User",
        json!({ACME: {"orgName": "A"}, "active": true, ENT: {"division": "d"}, "externalId": "e",
               "userName": "b", "schemas": [USER]}),
        WriteMode::Create,
        None,
    )
    .unwrap();
    let keys: Vec<&str> = got
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["schemas", "externalId", "userName", "active", ENT, ACME]
    );
    assert_eq!(got["schemas"], json!([USER, ENT, ACME]));
}

#[test]
fn required_attributes() {
    create_err(
        "User",
        json!({"displayName": "B"}),
        ScimType::InvalidValue,
        "attribute userName is required",
    );
    create_err(
        "User",
        json!({"userName": ""}),
        ScimType::InvalidValue,
        "attribute userName is required",
    );
    create_err(
        "User",
        json!({"userName": "  "}),
        ScimType::InvalidValue,
        "attribute userName is required",
    );
    create_err(
        "User",
        json!({"userName": null}),
        ScimType::InvalidValue,
        "attribute userName is required",
    );
    create_err(
        "Group",
        json!({"members": []}),
        ScimType::InvalidValue,
        "attribute displayName is required",
    );
    // Required sub-attributes only when the parent is present.
    create_err(
        "User",
        user(json!({ACME: {"office": {"room": "12"}}})),
        ScimType::InvalidValue,
        &format!("attribute {ACME}:office.building is required"),
    );
    create(
        "User",
        user(json!({ACME: {"orgName": "A"}})),
        json!({"schemas": [USER, ACME], "userName": "bjensen", ACME: {"orgName": "A"}}),
    );
}

#[test]
fn required_extension_schema() {
    let mut reg = SchemaRegistry::standard();
    let ext = Schema {
        id: "urn:example:params:scim:schemas:extension:must:2.0:Group".into(),
        name: "Must".into(),
        description: String::new(),
        attributes: vec![AttributeDef::new("code", AttrType::String).required()],
    };
    reg.register_extension(ext, "Group", true).unwrap();
    let rt = reg.resource_type("Group").unwrap();
    let err = prepare(
        &reg,
        rt,
        json!({"displayName": "g"}),
        WriteMode::Create,
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(
            "extension schema urn:example:params:scim:schemas:extension:must:2.0:Group is required"
        ),
        "{err}"
    );
    let err = prepare(
        &reg,
        rt,
        json!({"displayName": "g", "urn:example:params:scim:schemas:extension:must:2.0:Group": {"code": ""}}),
        WriteMode::Create,
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("must:2.0:Group:code is required"),
        "{err}"
    );
    let ok = prepare(
        &reg,
        rt,
        json!({"displayName": "g", "urn:example:params:scim:schemas:extension:must:2.0:Group:code": "c"}),
        WriteMode::Create,
        None,
    )
    .unwrap();
    assert_eq!(
        ok["schemas"],
        json!([
            GROUP,
            "urn:example:params:scim:schemas:extension:must:2.0:Group"
        ])
    );
}

#[test]
fn at_most_one_primary() {
    create_err(
        "User",
        user(
            json!({"emails": [{"value": "a", "primary": true}, {"value": "b", "Primary": "True"}]}),
        ),
        ScimType::InvalidValue,
        "at most one element of emails may have primary set to true",
    );
    create(
        "User",
        user(
            json!({"emails": [{"value": "a", "primary": true}, {"value": "b", "primary": "false"}]}),
        ),
        json!({"schemas": [USER], "userName": "bjensen",
               "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": false}]}),
    );
}

#[test]
fn group_members() {
    // Entra sends `$ref: null` (E8); Okta sends value + display.
    create(
        "Group",
        json!({"displayName": "Admins", "members": [{"$ref": null, "value": "u1"}, {"value": "u2", "display": "bob", "Type": "User"}]}),
        json!({"schemas": [GROUP], "displayName": "Admins",
               "members": [{"value": "u1"}, {"value": "u2", "display": "bob", "type": "User"}]}),
    );
    create_err(
        "Group",
        json!({"displayName": "Admins", "members": [{"display": "bob"}]}),
        ScimType::InvalidValue,
        "every element of members needs a non-empty value",
    );
    create_err(
        "Group",
        json!({"displayName": "Admins", "members": [{"value": ""}]}),
        ScimType::InvalidValue,
        "members needs a non-empty value",
    );
}

fn stored_user() -> Value {
    json!({"schemas": [USER, ACME], "id": "2819c223", "userName": "bjensen", "active": true,
           "groups": [{"value": "g1", "display": "Admins", "type": "direct"}],
           ACME: {"badge": "B-1", "syncedBy": "hr", "office": {"building": "HQ", "code": "X1"}},
           "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z",
                    "lastModified": "2024-01-02T00:00:00Z", "location": "https://h/scim/v2/Users/2819c223",
                    "version": "W/\"3\""}})
}

#[test]
fn replace_carries_read_only_values_over() {
    let got = replace(
        "User",
        json!({"id": "other", "userName": "bjensen", "groups": [], "meta": {"version": "W/\"1\""},
               ACME: {"syncedBy": "client", "badge": "B-1", "office": {"building": "HQ"}}}),
        &stored_user(),
    )
    .unwrap();
    let stored = stored_user();
    assert_eq!(got["id"], "2819c223");
    assert_eq!(got["groups"], stored["groups"]);
    assert_eq!(got["meta"], stored["meta"]);
    // readOnly kept, immutable omitted sub-attribute carried over.
    assert_eq!(
        got[ACME],
        json!({"badge": "B-1", "syncedBy": "hr", "office": {"building": "HQ", "code": "X1"}})
    );
    // active was omitted: a PUT replaces, so it is gone.
    assert!(got.get("active").is_none());
}

#[test]
fn replace_enforces_immutable() {
    let stored = stored_user();
    let err = replace(
        "User",
        json!({"userName": "bjensen", ACME: {"badge": "B-2"}}),
        &stored,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Mutability(_)), "{err:?}");
    assert_eq!(err.scim_type(), Some(ScimType::Mutability));
    assert!(
        err.to_string()
            .contains(&format!("attribute {ACME}:badge is immutable")),
        "{err}"
    );
    // Same value (case-insensitively, badge is not caseExact) is fine and keeps the stored one.
    let got = replace(
        "User",
        json!({"userName": "bjensen", ACME: {"badge": "b-1"}}),
        &stored,
    )
    .unwrap();
    assert_eq!(got[ACME]["badge"], "B-1");
    // Omitted: carried over.
    let got = replace("User", json!({"userName": "bjensen"}), &stored).unwrap();
    assert_eq!(got[ACME]["badge"], "B-1");
    // Immutable sub-attribute of a singular complex attribute, caseExact.
    let err = replace(
        "User",
        json!({"userName": "bjensen", ACME: {"office": {"building": "HQ", "code": "x1"}}}),
        &stored,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("office.code is immutable"),
        "{err}"
    );
    // Create may set immutable values freely; so may a Replace when nothing is stored yet.
    let got = replace(
        "User",
        json!({"userName": "b", ACME: {"badge": "new"}}),
        &json!({"userName": "b"}),
    )
    .unwrap();
    assert_eq!(got[ACME]["badge"], "new");
}

#[test]
fn replacing_members_is_not_a_mutability_violation() {
    let stored = json!({"schemas": [GROUP], "id": "g1", "displayName": "Admins",
                        "members": [{"value": "u1", "display": "a"}, {"value": "u2"}]});
    let got = replace(
        "Group",
        json!({"displayName": "Admins", "members": [{"value": "u3", "display": "c"}, {"value": "u1", "display": "renamed"}]}),
        &stored,
    )
    .unwrap();
    assert_eq!(
        got["members"],
        json!([{"value": "u3", "display": "c"}, {"value": "u1", "display": "renamed"}])
    );
    assert_eq!(got["id"], "g1");
}

#[test]
fn replace_without_existing_behaves_like_create() {
    let got = run(
        "User",
        json!({"id": "x", "userName": "b"}),
        WriteMode::Replace,
        None,
    )
    .unwrap();
    assert_eq!(got, json!({"schemas": [USER], "userName": "b"}));
}

/// Okta's POST /Users (clients.md a.4).
#[test]
fn okta_create_body() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "isabella.gonzales@example.com",
        "name": {"givenName": "Isabella", "familyName": "Gonzales"},
        "emails": [{"primary": true, "value": "isabella.gonzales@example.com", "type": "work"}],
        "displayName": "Isabella Gonzales",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    });
    let got = run("User", body, WriteMode::Create, None).unwrap();
    insta::assert_json_snapshot!("okta_create", got);
}

/// Entra's POST /Users with the quirks of clients.md E2, E11, E21.
#[test]
fn entra_create_body() {
    let body = json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"
        ],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee@testuser.com",
        "active": "True",
        "addresses": [{"country": "CA", "formatted": null, "locality": null, "postalCode": null,
                       "primary": false, "region": null, "streetAddress": null, "type": "work"}],
        "displayName": "Test_User_ab6490ee",
        "emails": [{"Primary": "True", "type": "work", "value": "Test_User_ab6490ee@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"familyName": "familyName", "givenName": "givenName", "formatted": "givenName familyName"},
        "nickName": null,
        "phoneNumbers": [{"type": "mobile", "value": "+1 (425) 555-0100"}],
        "roles": [],
        "title": null,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "1234",
            "Department": "Sales",
            "costCenter": null,
            "Manager": {"Value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    });
    let got = run("User", body, WriteMode::Create, None).unwrap();
    insta::assert_json_snapshot!("entra_create", got);
}

/// Entra's POST /Groups (E12): a foreign schema URI, externalId and meta.
#[test]
fn entra_group_create_body() {
    create(
        "Group",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                           "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
               "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Group1DisplayName",
               "meta": {"resourceType": "Group"}}),
        json!({"schemas": [GROUP], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
               "displayName": "Group1DisplayName"}),
    );
}

/// Okta's profile-update PUT: our own response echoed back with changes, plus a password.
#[test]
fn okta_put_echo_body() {
    let stored = json!({
        "schemas": [USER], "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "00ujl29u0le5T6Aj10h7", "userName": "isabella.gonzales@example.com",
        "name": {"givenName": "Isabella", "familyName": "Gonzales"}, "active": true,
        "emails": [{"primary": true, "value": "isabella.gonzales@example.com", "type": "work"}],
        "groups": [{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides", "type": "direct"}],
        "meta": {"resourceType": "User", "created": "2024-03-01T10:00:00Z",
                 "lastModified": "2024-03-01T10:00:00Z",
                 "location": "https://example.com/scim/v2/Users/2819c223-7f76-453a-919d-413861904646",
                 "version": "W/\"1\""}
    });
    let mut body = stored.clone();
    body["name"]["familyName"] = json!("Gonzales-Smith");
    body["groups"] = json!([]);
    body["meta"]["version"] = json!("W/\"0\"");
    body["password"] = json!("n3wP4ss");
    body["active"] = json!(false);
    let got = replace("User", body, &stored).unwrap();
    assert_eq!(got["groups"], stored["groups"]);
    assert_eq!(got["meta"], stored["meta"]);
    insta::assert_json_snapshot!("okta_put_echo", got);
}

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
    insta::assert_json_snapshot!("stamped", doc);
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

#[test]
fn prepared_documents_are_stable() {
    // Preparing a prepared document again changes nothing (PUT of our own output).
    let bodies = [
        user(
            json!({"emails": {"Value": "a", "primary": "true"}, ENT: {"manager": "m"}, "name.givenName": "B"}),
        ),
        json!({"displayName": "g", "members": [{"value": "u1", "$ref": null}]}),
    ];
    for (rt, body) in ["User", "Group"].into_iter().zip(bodies) {
        let once = run(rt, body, WriteMode::Create, None).unwrap();
        let twice = run(rt, once.clone(), WriteMode::Create, None).unwrap();
        assert_eq!(once, twice);
        check(rt, once).unwrap();
    }
}
