//! Data-driven tests of `attributes` / `excludedAttributes` projection and the `returned`
//! rules (RFC 7643 §7, RFC 7644 §3.4.2.5, §3.9).
#![expect(
    clippy::unwrap_used,
    reason = "test helpers report a failed case by panicking"
)]

use scim_core::ScimType;
use scim_core::projection::Projection;
use scim_core::schema::{AttrType, AttributeDef, Returned, Schema, SchemaRegistry};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ACME: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";

/// Standard schemas plus an extension with one attribute per `returned` rule.
fn registry() -> SchemaRegistry {
    let mut reg = SchemaRegistry::standard();
    let acme = Schema {
        id: ACME.into(),
        name: "Acme".into(),
        description: String::new(),
        attributes: vec![
            AttributeDef::new("orgName", AttrType::String),
            AttributeDef::new("tenantKey", AttrType::String).returned(Returned::Always),
            AttributeDef::new("ssn", AttrType::String).returned(Returned::Request),
            AttributeDef::new("pin", AttrType::String).returned(Returned::Never),
            AttributeDef::new("badge", AttrType::Complex).subs(vec![
                AttributeDef::new("number", AttrType::String),
                AttributeDef::new("secret", AttrType::String).returned(Returned::Request),
            ]),
        ],
    };
    reg.register_extension(acme, "User", false).unwrap();
    reg
}

fn user_doc() -> Value {
    json!({
        "schemas": [USER, ENT, ACME],
        "id": "u1",
        "externalId": "e1",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs",
        "active": true,
        "password": "leaked-if-projection-is-wrong",
        "emails": [{"value": "b@work", "type": "work", "primary": true}, {"value": "b@home", "type": "home"}],
        "groups": [{"value": "g1", "display": "Admins"}],
        ENT: {"department": "Sales", "manager": {"value": "m1", "displayName": "Boss"}},
        ACME: {"orgName": "Acme", "tenantKey": "t1", "ssn": "123", "pin": "0000",
               "badge": {"number": "B7", "secret": "s"}},
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z",
                 "lastModified": "2024-01-02T00:00:00Z", "location": "https://h/Users/u1",
                 "version": "W/\"3\""}
    })
}

fn list(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        vec![s.to_string()]
    }
}

fn project(rt: &str, attributes: &str, excluded: &str, doc: &Value) -> Value {
    let reg = registry();
    let rt = reg.resource_type(rt).unwrap();
    Projection::new(&reg, rt, &list(attributes), &list(excluded))
        .unwrap()
        .apply_owned(doc.clone())
}

/// Projects the fixture user and compares with `expected`.
fn check(attributes: &str, excluded: &str, expected: Value) {
    let got = project("User", attributes, excluded, &user_doc());
    assert_eq!(
        got, expected,
        "attributes={attributes:?} excludedAttributes={excluded:?}"
    );
}

/// The fixture user as returned by default, with `edit` applied.
fn default_with(edit: impl FnOnce(&mut Value)) -> Value {
    let mut v = user_doc();
    let m = v.as_object_mut().unwrap();
    m.remove("password");
    let acme = m.get_mut(ACME).unwrap().as_object_mut().unwrap();
    acme.remove("ssn");
    acme.remove("pin");
    acme["badge"].as_object_mut().unwrap().remove("secret");
    edit(&mut v);
    v
}

fn base() -> Value {
    json!({"schemas": [USER, ACME], "id": "u1", ACME: {"tenantKey": "t1"}})
}

fn with(extra: Value) -> Value {
    let mut v = base();
    let m = v.as_object_mut().unwrap();
    for (k, val) in extra.as_object().unwrap() {
        m.insert(k.clone(), val.clone());
    }
    let present: Vec<&str> = [USER, ENT, ACME]
        .into_iter()
        .filter(|u| *u == USER || m.contains_key(*u))
        .collect();
    m["schemas"] = json!(present);
    v
}

#[test]
fn default_returns_default_and_always_but_not_never_or_request() {
    check("", "", default_with(|_| {}));
}

#[test]
fn password_is_never_returned_even_when_requested() {
    check("password", "", base());
    check(
        "PASSWORD,userName",
        "",
        with(json!({"userName": "bjensen"})),
    );
    check(&format!("{ACME}:pin"), "", base());
}

#[test]
fn attributes_keeps_named_plus_always() {
    check("userName", "", with(json!({"userName": "bjensen"})));
    check(
        "userName,displayName",
        "",
        with(json!({"userName": "bjensen", "displayName": "Babs"})),
    );
    check("id", "", base());
}

#[test]
fn attributes_names_are_case_insensitive() {
    check(
        "USERNAME,Name.GivenName",
        "",
        with(json!({"userName": "bjensen", "name": {"givenName": "Barbara"}})),
    );
    check(
        &ENT.to_uppercase(),
        "",
        with(
            json!({ENT: {"department": "Sales", "manager": {"value": "m1", "displayName": "Boss"}}}),
        ),
    );
}

#[test]
fn attributes_sub_attribute() {
    check(
        "name.givenName",
        "",
        with(json!({"name": {"givenName": "Barbara"}})),
    );
    check(
        "meta.lastModified",
        "",
        with(json!({"meta": {"lastModified": "2024-01-02T00:00:00Z"}})),
    );
}

#[test]
fn attributes_multi_valued_sub_attribute() {
    check(
        "emails.value",
        "",
        with(json!({"emails": [{"value": "b@work"}, {"value": "b@home"}]})),
    );
    // Elements without the named sub-attribute disappear, and so does an emptied attribute.
    check(
        "emails.primary",
        "",
        with(json!({"emails": [{"primary": true}]})),
    );
    check("emails.display", "", base());
}

#[test]
fn parent_and_sub_named_together_keeps_the_parent() {
    check(
        "name.givenName,name",
        "",
        with(json!({"name": {"givenName": "Barbara", "familyName": "Jensen"}})),
    );
    check(
        "name,name.givenName",
        "",
        with(json!({"name": {"givenName": "Barbara", "familyName": "Jensen"}})),
    );
}

#[test]
fn attributes_urn_qualified() {
    check(
        &format!("{ENT}:department"),
        "",
        with(json!({ENT: {"department": "Sales"}})),
    );
    check(
        &format!("{ENT}:manager.value"),
        "",
        with(json!({ENT: {"manager": {"value": "m1"}}})),
    );
    check(
        &format!("{USER}:userName"),
        "",
        with(json!({"userName": "bjensen"})),
    );
    // Unqualified extension attribute names resolve too.
    check(
        "department",
        "",
        with(json!({ENT: {"department": "Sales"}})),
    );
}

#[test]
fn attributes_whole_extension() {
    check(
        ENT,
        "",
        with(
            json!({ENT: {"department": "Sales", "manager": {"value": "m1", "displayName": "Boss"}}}),
        ),
    );
    // The whole vendor extension: default attributes and always ones, not never/request.
    check(
        ACME,
        "",
        json!({"schemas": [USER, ACME], "id": "u1",
                           ACME: {"orgName": "Acme", "tenantKey": "t1", "badge": {"number": "B7"}}}),
    );
}

#[test]
fn request_attributes_only_when_named() {
    check(
        &format!("{ACME}:ssn"),
        "",
        json!({"schemas": [USER, ACME], "id": "u1", ACME: {"tenantKey": "t1", "ssn": "123"}}),
    );
    check(
        &format!("{ACME}:badge.secret"),
        "",
        json!({"schemas": [USER, ACME], "id": "u1", ACME: {"tenantKey": "t1", "badge": {"secret": "s"}}}),
    );
    // Excluding something else doesn't bring them back.
    check(
        "",
        "userName",
        default_with(|v| {
            v.as_object_mut().unwrap().remove("userName");
        }),
    );
}

#[test]
fn always_attributes_survive_exclusion() {
    check("", "id,schemas", default_with(|_| {}));
    check("", &format!("{ACME}:tenantKey"), default_with(|_| {}));
    // Excluding the whole extension keeps its always attribute.
    check(
        "",
        ACME,
        default_with(|v| {
            v[ACME] = json!({"tenantKey": "t1"});
        }),
    );
}

#[test]
fn excluded_attributes() {
    check(
        "",
        "emails,groups",
        default_with(|v| {
            let m = v.as_object_mut().unwrap();
            m.remove("emails");
            m.remove("groups");
        }),
    );
    check(
        "",
        "name.familyName,emails.type",
        default_with(|v| {
            v["name"] = json!({"givenName": "Barbara"});
            v["emails"] = json!([{"value": "b@work", "primary": true}, {"value": "b@home"}]);
        }),
    );
    check(
        "",
        "Meta",
        default_with(|v| {
            v.as_object_mut().unwrap().remove("meta");
        }),
    );
}

#[test]
fn excluding_an_extension_prunes_its_urn_from_schemas() {
    check(
        "",
        ENT,
        default_with(|v| {
            let m = v.as_object_mut().unwrap();
            m.remove(ENT);
            m["schemas"] = json!([USER, ACME]);
        }),
    );
    check(
        "",
        &format!("{ENT}:department,{ENT}:manager"),
        default_with(|v| {
            let m = v.as_object_mut().unwrap();
            m.remove(ENT);
            m["schemas"] = json!([USER, ACME]);
        }),
    );
}

#[test]
fn attributes_takes_precedence_over_excluded() {
    check("userName", "userName", with(json!({"userName": "bjensen"})));
}

#[test]
fn unknown_names_are_ignored_and_malformed_ones_rejected() {
    check("nope,name.nope,urn:example:other:2.0:User:x", "", base());
    check("", "nope", default_with(|_| {}));
    let reg = registry();
    let rt = reg.resource_type("User").unwrap();
    for bad in ["name..x", "1abc", "na me", "emails[type eq \"work\"]"] {
        let err = Projection::new(&reg, rt, &[bad.to_string()], &[]).unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue), "{bad}");
        assert!(
            err.to_string().contains("comma-separated attribute paths"),
            "{err}"
        );
        assert!(Projection::new(&reg, rt, &[], &[bad.to_string()]).is_err());
    }
}

#[test]
fn lists_may_be_split_or_comma_separated() {
    let reg = registry();
    let rt = reg.resource_type("User").unwrap();
    let a = Projection::new(&reg, rt, &["userName, displayName".into()], &[]).unwrap();
    let b = Projection::new(&reg, rt, &["userName".into(), "displayName".into()], &[]).unwrap();
    let expected = with(json!({"userName": "bjensen", "displayName": "Babs"}));
    assert_eq!(a.apply(&user_doc()), expected);
    assert_eq!(b.apply(&user_doc()), expected);
    // An empty `attributes=` is the same as none.
    let c = Projection::new(&reg, rt, &[" , ".into()], &["userName".into()]).unwrap();
    assert!(c.apply(&user_doc()).get("userName").is_none());
}

#[test]
fn group_without_members() {
    // Entra reads groups with excludedAttributes=members (clients.md E16).
    let group = json!({"schemas": [GROUP], "id": "g1", "displayName": "Admins",
                       "members": [{"value": "u1", "display": "bjensen"}],
                       "meta": {"resourceType": "Group"}});
    assert_eq!(
        project("Group", "", "members", &group),
        json!({"schemas": [GROUP], "id": "g1", "displayName": "Admins", "meta": {"resourceType": "Group"}})
    );
    assert_eq!(
        project("Group", "members.value", "", &group),
        json!({"schemas": [GROUP], "id": "g1", "members": [{"value": "u1"}]})
    );
    // Enterprise names mean nothing on a Group: ignored.
    assert_eq!(
        project("Group", "department", "", &group),
        json!({"schemas": [GROUP], "id": "g1"})
    );
}

#[test]
fn more_named_shapes() {
    // A whole multi-valued attribute; a readOnly but default-returned one.
    check(
        "emails",
        "",
        with(json!({"emails": user_doc()["emails"].clone()})),
    );
    check(
        "groups",
        "",
        with(json!({"groups": [{"value": "g1", "display": "Admins"}]})),
    );
    // Naming a parent doesn't return its `request` sub-attributes.
    check(
        &format!("{ACME}:badge"),
        "",
        with(json!({ACME: {"tenantKey": "t1", "badge": {"number": "B7"}}})),
    );
    // Excluding a `request` attribute is a no-op.
    check("", &format!("{ACME}:ssn"), default_with(|_| {}));
    // A sub-attribute of a simple attribute names nothing.
    check("userName.x", "", base());
    check("", "userName.x", default_with(|_| {}));
}

#[test]
fn legacy_entra_reference_check() {
    // `attributes=id` (clients.md E15).
    check("id", "", base());
}

#[test]
fn document_key_case_does_not_matter() {
    let doc = json!({"schemas": [USER], "id": "u1", "UserName": "b", "Password": "x", "NAME": {"GivenName": "B"}});
    assert_eq!(
        project("User", "name.givenName", "", &doc),
        json!({"schemas": [USER], "id": "u1", "NAME": {"GivenName": "B"}})
    );
    assert_eq!(
        project("User", "", "", &doc),
        json!({"schemas": [USER], "id": "u1", "UserName": "b", "NAME": {"GivenName": "B"}})
    );
}

#[test]
fn all_strips_only_password() {
    let mut expected = user_doc();
    expected.as_object_mut().unwrap().remove("password");
    assert_eq!(Projection::all().apply(&user_doc()), expected);
    assert_eq!(Projection::all().apply(&json!([1])), json!([1]));
}

#[test]
fn unknown_keys_in_documents() {
    let doc = json!({"schemas": [USER], "id": "u1", "userName": "b", "legacy": 1});
    assert_eq!(project("User", "", "", &doc), doc);
    assert_eq!(
        project("User", "userName", "", &doc),
        json!({"schemas": [USER], "id": "u1", "userName": "b"})
    );
}

#[test]
fn whole_projection_snapshot() {
    let got = project(
        "User",
        "userName,name.familyName,emails.value,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "",
        &user_doc(),
    );
    insta::assert_json_snapshot!("mixed_attributes", got);
}

#[test]
fn returns_tells_whether_an_attribute_can_appear() {
    let reg = SchemaRegistry::standard();
    let group = reg.resource_type("Group").unwrap();
    let p = Projection::new(&reg, group, &[], &["members".to_string()]).unwrap();
    assert!(!p.returns("members"));
    assert!(p.returns("displayName"));
    let p = Projection::new(&reg, group, &["displayName".to_string()], &[]).unwrap();
    assert!(!p.returns("members"));
    assert!(p.returns("id"));
    let p = Projection::new(&reg, group, &[], &[]).unwrap();
    assert!(p.returns("members"));
    let p = Projection::new(&reg, group, &["members.value".to_string()], &[]).unwrap();
    assert!(p.returns("MEMBERS"));
}
