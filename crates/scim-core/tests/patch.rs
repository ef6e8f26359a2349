//! PATCH tests: one case per client dialect form in `shared/clients.md`, each asserting the
//! whole resulting document (or the exact error), plus the RFC 7644 §3.5.2 semantics.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers report a broken fixture by panicking"
)]

use scim_core::patch::{MemberOp, PatchRequest, apply};
use scim_core::schema::SchemaRegistry;
use scim_core::{Error, ScimType};
use serde_json::{Value, json};

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn user() -> Value {
    json!({
        "schemas": [USER],
        "id": "u1",
        "externalId": "00u1",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "meta": {"resourceType": "User", "version": "W/\"1\""}
    })
}

fn group() -> Value {
    json!({
        "schemas": [GROUP],
        "id": "g1",
        "displayName": "Engineering",
        "meta": {"resourceType": "Group", "version": "W/\"1\""}
    })
}

fn ops(operations: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": operations})
}

fn run(rt: &str, doc: &Value, body: Value) -> Result<scim_core::patch::PatchOutcome, Error> {
    let reg = SchemaRegistry::standard();
    let rt = reg.resource_type(rt).unwrap();
    let req = PatchRequest::parse(&body)?;
    apply(&reg, rt, doc, &req)
}

/// Applies `operations` to `doc` and asserts the whole result.
#[track_caller]
fn check(rt: &str, doc: Value, operations: Value, expected: Value) {
    let out = run(rt, &doc, ops(operations)).unwrap_or_else(|e| panic!("patch failed: {e}"));
    assert_eq!(out.resource, expected, "\nactual: {:#}", out.resource);
}

/// Applies `operations` to `doc` and asserts the error type; the input must be unchanged
/// (apply takes it by reference, so atomicity is about the returned error only).
#[track_caller]
fn check_err(rt: &str, doc: Value, operations: Value, scim_type: ScimType, fragment: &str) {
    let err = run(rt, &doc, ops(operations)).expect_err("patch should fail");
    assert_eq!(err.scim_type(), Some(scim_type), "{err}");
    assert!(
        err.to_string().contains(fragment),
        "{err:?} lacks {fragment:?}"
    );
}

fn with(mut base: Value, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    f(base.as_object_mut().unwrap());
    base
}

// ---- Okta (clients.md a.1) ----

#[test]
fn okta_deactivate_pathless_replace() {
    check(
        "User",
        user(),
        json!([{"op": "replace", "value": {"active": false}}]),
        with(user(), |m| {
            m.insert("active".into(), json!(false));
        }),
    );
}

#[test]
fn okta_reactivate_pathless_replace() {
    let inactive = with(user(), |m| {
        m.insert("active".into(), json!(false));
    });
    check(
        "User",
        inactive,
        json!([{"op": "replace", "value": {"active": true}}]),
        user(),
    );
}

#[test]
fn okta_password_sync_keeps_password_for_the_server_to_hash() {
    let out = run(
        "User",
        &user(),
        ops(json!([{"op": "replace", "value": {"password": "t1meMa$heen"}}])),
    )
    .unwrap();
    assert_eq!(out.resource["password"], json!("t1meMa$heen"));
    assert!(out.changes.touches("password"));
    assert_eq!(out.changes.attributes.len(), 1);
}

#[test]
fn okta_group_rename_with_id_in_value() {
    check(
        "Group",
        group(),
        json!([{"op": "replace", "value": {"id": "g1", "displayName": "Eng"}}]),
        with(group(), |m| {
            m.insert("displayName".into(), json!("Eng"));
        }),
    );
}

#[test]
fn okta_group_rename_with_other_id_is_refused() {
    check_err(
        "Group",
        group(),
        json!([{"op": "replace", "value": {"id": "zzz", "displayName": "Eng"}}]),
        ScimType::Mutability,
        "id is readOnly",
    );
}

#[test]
fn okta_member_add_and_remove_in_one_request() {
    let out = run("Group", &group(), ops(json!([
        {"op": "remove", "path": "members[value eq \"u9\"]"},
        {"op": "add", "path": "members", "value": [{"value": "u1", "display": "bjensen@example.com"}]}
    ]))).unwrap();
    assert_eq!(
        out.resource,
        group(),
        "members are not materialised in the document"
    );
    assert_eq!(out.changes.members.len(), 2);
    assert!(
        matches!(&out.changes.members[0], MemberOp::RemoveWhere(f) if f.to_string() == "value eq \"u9\"")
    );
    assert!(
        matches!(&out.changes.members[1], MemberOp::Add(m) if m.len() == 1 && m[0].value == "u1" && m[0].display.as_deref() == Some("bjensen@example.com"))
    );
    assert!(out.changes.touches("members"));
}

#[test]
fn okta_replace_members() {
    let out = run(
        "Group",
        &group(),
        ops(json!([
            {"op": "replace", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}
        ])),
    )
    .unwrap();
    assert!(matches!(&out.changes.members[..], [MemberOp::ReplaceAll(m)] if m.len() == 2));
}

#[test]
fn materialised_members_are_patched_in_place() {
    let doc = with(group(), |m| {
        m.insert(
            "members".into(),
            json!([{"value": "u1"}, {"value": "u2", "display": "b"}]),
        );
    });
    check(
        "Group",
        doc,
        json!([
            {"op": "remove", "path": "members[value eq \"u1\"]"},
            {"op": "add", "path": "members", "value": [{"value": "u2"}, {"value": "u3", "display": "c"}]}
        ]),
        with(group(), |m| {
            m.insert(
                "members".into(),
                json!([{"value": "u2", "display": "b"}, {"value": "u3", "display": "c"}]),
            );
        }),
    );
}

// ---- Entra default dialect (clients.md b.2) ----

#[test]
fn entra_capitalised_ops_and_string_booleans() {
    check(
        "User",
        user(),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
        with(user(), |m| {
            m.insert("active".into(), json!(false));
        }),
    );
}

#[test]
fn entra_add_single_valued_string() {
    check(
        "User",
        user(),
        json!([{"op": "Add", "path": "nickName", "value": "Babs"}]),
        with(user(), |m| {
            m.insert("nickName".into(), json!("Babs"));
        }),
    );
}

#[test]
fn entra_one_op_per_attribute() {
    let out = run("User", &user(), ops(json!([
        {"op": "Replace", "path": "displayName", "value": "Barbara J"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "babs@example.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Barb"},
        {"op": "Replace", "path": "name.familyName", "value": "J"},
        {"op": "Replace", "path": "externalId", "value": "ext-9"},
        {"op": "Add", "path": format!("{ENT}:employeeNumber"), "value": "701984"}
    ]))).unwrap();
    assert_eq!(
        out.resource,
        json!({
            "schemas": [USER, ENT],
            "id": "u1",
            "externalId": "ext-9",
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barb", "familyName": "J"},
            "displayName": "Barbara J",
            "active": true,
            "emails": [{"value": "babs@example.com", "type": "work", "primary": true}],
            "meta": {"resourceType": "User", "version": "W/\"1\""},
            ENT: {"employeeNumber": "701984"}
        })
    );
    let changed: Vec<_> = out.changes.attributes.iter().map(String::as_str).collect();
    assert_eq!(
        changed,
        [
            "displayName",
            "emails",
            "externalId",
            "name",
            &format!("{ENT}:employeeNumber")
        ]
    );
}

#[test]
fn entra_manager_legacy_array_form() {
    check(
        "User",
        user(),
        json!([{"op": "Add", "path": "manager", "value": [{"$ref": "../Users/m1", "value": "m1"}]}]),
        with(user(), |m| {
            m.insert("schemas".into(), json!([USER, ENT]));
            m.insert(
                ENT.into(),
                json!({"manager": {"$ref": "../Users/m1", "value": "m1"}}),
            );
        }),
    );
}

#[test]
fn entra_manager_object_form() {
    check(
        "User",
        user(),
        json!([{"op": "Add", "path": format!("{ENT}:manager"), "value": {"value": "m1"}}]),
        with(user(), |m| {
            m.insert("schemas".into(), json!([USER, ENT]));
            m.insert(ENT.into(), json!({"manager": {"value": "m1"}}));
        }),
    );
}

#[test]
fn entra_manager_bare_string_form() {
    check(
        "User",
        user(),
        json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": "m2"}]),
        with(user(), |m| {
            m.insert("schemas".into(), json!([USER, ENT]));
            m.insert(ENT.into(), json!({"manager": {"value": "m2"}}));
        }),
    );
}

fn managed() -> Value {
    with(user(), |m| {
        m.insert("schemas".into(), json!([USER, ENT]));
        m.insert(
            ENT.into(),
            json!({"department": "R&D", "manager": {"value": "m1"}}),
        );
    })
}

#[test]
fn entra_manager_removal_by_empty_object() {
    check(
        "User",
        managed(),
        json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": {"value": ""}}]),
        with(managed(), |m| {
            m.insert(ENT.into(), json!({"department": "R&D"}));
        }),
    );
}

#[test]
fn entra_manager_removal_by_empty_string() {
    check(
        "User",
        managed(),
        json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": ""}]),
        with(managed(), |m| {
            m.insert(ENT.into(), json!({"department": "R&D"}));
        }),
    );
}

#[test]
fn removing_the_last_extension_attribute_drops_the_extension() {
    check(
        "User",
        managed(),
        json!([
            {"op": "remove", "path": format!("{ENT}:manager")},
            {"op": "remove", "path": format!("{ENT}:department")}
        ]),
        user(),
    );
}

#[test]
fn entra_disable() {
    check(
        "User",
        user(),
        json!([{"op": "Replace", "path": "active", "value": "false"}]),
        with(user(), |m| {
            m.insert("active".into(), json!(false));
        }),
    );
}

#[test]
fn entra_member_add_with_null_ref() {
    let out = run("Group", &group(), ops(json!([
        {"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u1"}, {"$ref": null, "value": "u2"}]}
    ]))).unwrap();
    assert!(
        matches!(&out.changes.members[..], [MemberOp::Add(m)] if m.iter().map(|m| m.value.as_str()).collect::<Vec<_>>() == ["u1", "u2"])
    );
}

#[test]
fn entra_member_removal_by_value_list() {
    let out = run(
        "Group",
        &group(),
        ops(json!([
            {"op": "Remove", "path": "members", "value": [{"value": "u1"}]}
        ])),
    )
    .unwrap();
    assert_eq!(
        out.changes.members,
        vec![MemberOp::Remove(vec!["u1".into()])]
    );
}

#[test]
fn remove_members_without_value_removes_all() {
    let out = run(
        "Group",
        &group(),
        ops(json!([{"op": "remove", "path": "members"}])),
    )
    .unwrap();
    assert_eq!(out.changes.members, vec![MemberOp::RemoveAll]);
}

#[test]
fn entra_validator_replace_members() {
    let out = run(
        "Group",
        &group(),
        ops(json!([
            {"op": "replace", "path": "members", "value": [{"value": "u5"}]}
        ])),
    )
    .unwrap();
    assert!(matches!(&out.changes.members[..], [MemberOp::ReplaceAll(m)] if m[0].value == "u5"));
}

// ---- Entra aadOptscim062020 ----

#[test]
fn entra_pathless_replace_with_dotted_and_urn_keys() {
    let out = run(
        "User",
        &user(),
        ops(json!([{"op": "replace", "value": {
            "displayName": "B. Jensen",
            "name.givenName": "Barb",
            "name.familyName": "Jensen-Smith",
            format!("{ENT}:employeeNumber"): "42",
            "active": "True"
        }}])),
    )
    .unwrap();
    assert_eq!(
        out.resource,
        json!({
            "schemas": [USER, ENT],
            "id": "u1",
            "externalId": "00u1",
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barb", "familyName": "Jensen-Smith"},
            "displayName": "B. Jensen",
            "active": true,
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
            "meta": {"resourceType": "User", "version": "W/\"1\""},
            ENT: {"employeeNumber": "42"}
        })
    );
}

#[test]
fn pathless_whole_extension_object() {
    check(
        "User",
        user(),
        json!([{"op": "add", "value": {ENT: {"department": "Sales", "Manager": {"Value": "m7"}}}}]),
        with(user(), |m| {
            m.insert("schemas".into(), json!([USER, ENT]));
            m.insert(
                ENT.into(),
                json!({"department": "Sales", "manager": {"value": "m7"}}),
            );
        }),
    );
}

#[test]
fn entra_flagged_member_removal_by_value_path() {
    let out = run(
        "Group",
        &group(),
        ops(json!([
            {"op": "remove", "path": "members[value eq \"u1\"]"}
        ])),
    )
    .unwrap();
    assert!(matches!(
        &out.changes.members[..],
        [MemberOp::RemoveWhere(_)]
    ));
}

// ---- Entra validator "add where nothing matches yet" (E23) ----

fn bare() -> Value {
    json!({"schemas": [USER], "id": "u2", "userName": "x@example.com"})
}

#[test]
fn add_work_email_to_user_without_emails() {
    check(
        "User",
        bare(),
        json!([
            {"op": "add", "path": "emails[type eq \"work\"].value", "value": "x@example.com"},
            {"op": "add", "path": "emails[type eq \"work\"].primary", "value": "True"}
        ]),
        with(bare(), |m| {
            m.insert(
                "emails".into(),
                json!([{"type": "work", "value": "x@example.com", "primary": true}]),
            );
        }),
    );
}

#[test]
fn add_work_address_parts() {
    check(
        "User",
        bare(),
        json!([
            {"op": "add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
            {"op": "add", "path": "addresses[type eq \"work\"].locality", "value": "Springfield"},
            {"op": "add", "path": "addresses[type eq \"work\"].country", "value": "US"}
        ]),
        with(bare(), |m| {
            m.insert("addresses".into(), json!([{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield", "country": "US"}]));
        }),
    );
}

#[test]
fn add_mobile_and_fax_phone() {
    check(
        "User",
        bare(),
        json!([
            {"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 (555) 010-0000"},
            {"op": "add", "path": "phoneNumbers[type eq \"fax\"].value", "value": "555.0101"}
        ]),
        with(bare(), |m| {
            m.insert("phoneNumbers".into(), json!([
        {"type": "mobile", "value": "+1 (555) 010-0000"}, {"type": "fax", "value": "555.0101"}
    ]));
        }),
    );
}

#[test]
fn add_roles_with_primary_string_true() {
    check(
        "User",
        bare(),
        json!([
            {"op": "add", "path": "roles[primary eq \"True\"].value", "value": "Admin"},
            {"op": "add", "path": "roles[primary eq \"True\"].display", "value": "Administrator"},
            {"op": "add", "path": "roles[primary eq \"True\"].type", "value": "WindowsAzureActiveDirectoryRole"}
        ]),
        with(bare(), |m| {
            m.insert("roles".into(), json!([
        {"primary": true, "value": "Admin", "display": "Administrator", "type": "WindowsAzureActiveDirectoryRole"}
    ]));
        }),
    );
}

#[test]
fn replace_on_missing_filtered_element_creates_it() {
    check(
        "User",
        bare(),
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "w@example.com"}]),
        with(bare(), |m| {
            m.insert(
                "emails".into(),
                json!([{"type": "work", "value": "w@example.com"}]),
            );
        }),
    );
}

#[test]
fn filter_that_cannot_describe_an_element_is_no_target() {
    check_err(
        "User",
        bare(),
        json!([{"op": "add", "path": "emails[value co \"@\"].type", "value": "work"}]),
        ScimType::NoTarget,
        "matches no element",
    );
}

#[test]
fn empty_operations_is_a_noop() {
    let out = run("User", &user(), ops(json!([]))).unwrap();
    assert_eq!(out.resource, user());
    assert!(out.changes.is_empty());
}

// ---- Case and structure leniency (E21) ----

#[test]
fn capitalised_attribute_names_are_canonicalised() {
    check(
        "User",
        user(),
        json!([{"op": "add", "path": "Emails", "value": [{"Value": "home@example.com", "Type": "home", "Primary": "True"}]}]),
        with(user(), |m| {
            m.insert(
                "emails".into(),
                json!([
                    {"value": "bjensen@example.com", "type": "work", "primary": false},
                    {"value": "home@example.com", "type": "home", "primary": true}
                ]),
            );
        }),
    );
}

#[test]
fn adding_an_existing_email_is_a_noop() {
    check(
        "User",
        user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "bjensen@example.com", "type": "work"}]}]),
        user(),
    );
}

#[test]
fn values_are_stored_as_sent() {
    check(
        "User",
        user(),
        json!([{"op": "add", "path": "phoneNumbers", "value": [{"value": "tel:+1-201-555-0123", "type": "work"}]}]),
        with(user(), |m| {
            m.insert(
                "phoneNumbers".into(),
                json!([{"value": "tel:+1-201-555-0123", "type": "work"}]),
            );
        }),
    );
}

// ---- RFC 7644 §3.5.2 semantics ----

#[test]
fn replace_complex_merges_sub_attributes() {
    check(
        "User",
        user(),
        json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}]),
        with(user(), |m| {
            m.insert(
                "name".into(),
                json!({"givenName": "Babs", "familyName": "Jensen"}),
            );
        }),
    );
}

#[test]
fn replace_multi_valued_without_filter_replaces_all() {
    check(
        "User",
        user(),
        json!([{"op": "replace", "path": "emails", "value": [{"value": "n@example.com", "type": "home"}]}]),
        with(user(), |m| {
            m.insert(
                "emails".into(),
                json!([{"value": "n@example.com", "type": "home"}]),
            );
        }),
    );
}

#[test]
fn remove_filtered_element() {
    let two = with(user(), |m| {
        m.insert("emails".into(), json!([
        {"value": "a@example.com", "type": "work"}, {"value": "b@example.com", "type": "home"}
    ]));
    });
    check(
        "User",
        two,
        json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
        with(user(), |m| {
            m.insert(
                "emails".into(),
                json!([{"value": "a@example.com", "type": "work"}]),
            );
        }),
    );
}

#[test]
fn remove_last_element_unassigns_attribute() {
    check(
        "User",
        user(),
        json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
        with(user(), |m| {
            m.shift_remove("emails");
        }),
    );
}

#[test]
fn remove_sub_attribute_of_filtered_element() {
    check(
        "User",
        user(),
        json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
        with(user(), |m| {
            m.insert(
                "emails".into(),
                json!([{"value": "bjensen@example.com", "type": "work"}]),
            );
        }),
    );
}

#[test]
fn remove_non_matching_filter_is_a_noop() {
    check(
        "User",
        user(),
        json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
        user(),
    );
}

#[test]
fn remove_singular_attribute() {
    check(
        "User",
        user(),
        json!([{"op": "remove", "path": "displayName"}]),
        with(user(), |m| {
            m.shift_remove("displayName");
        }),
    );
}

#[test]
fn replace_with_null_unassigns() {
    check(
        "User",
        user(),
        json!([{"op": "replace", "path": "displayName", "value": null}]),
        with(user(), |m| {
            m.shift_remove("displayName");
        }),
    );
}

#[test]
fn urn_qualified_core_path() {
    check(
        "User",
        user(),
        json!([{"op": "replace", "path": format!("{USER}:displayName"), "value": "BJ"}]),
        with(user(), |m| {
            m.insert("displayName".into(), json!("BJ"));
        }),
    );
}

#[test]
fn setting_a_new_primary_clears_the_old_one() {
    check(
        "User",
        user(),
        json!([{"op": "add", "path": "emails", "value": {"value": "p@example.com", "type": "home", "primary": true}}]),
        with(user(), |m| {
            m.insert(
                "emails".into(),
                json!([
                    {"value": "bjensen@example.com", "type": "work", "primary": false},
                    {"value": "p@example.com", "type": "home", "primary": true}
                ]),
            );
        }),
    );
}

// ---- Errors ----

#[test]
fn errors_name_what_to_fix() {
    let cases: &[(Value, ScimType, &str)] = &[
        (
            json!([{"op": "remove"}]),
            ScimType::NoTarget,
            "remove needs a path",
        ),
        (
            json!([{"op": "replace", "path": "nope", "value": 1}]),
            ScimType::InvalidPath,
            "nope is not an attribute of User",
        ),
        (
            json!([{"op": "replace", "path": "name.nope", "value": 1}]),
            ScimType::InvalidPath,
            "name.nope",
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq", "value": 1}]),
            ScimType::InvalidPath,
            "",
        ),
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            ScimType::Mutability,
            "readOnly",
        ),
        (
            json!([{"op": "replace", "path": "meta.created", "value": "x"}]),
            ScimType::Mutability,
            "readOnly",
        ),
        (
            json!([{"op": "add", "path": "groups", "value": [{"value": "g1"}]}]),
            ScimType::Mutability,
            "readOnly",
        ),
        (
            json!([{"op": "remove", "path": "userName"}]),
            ScimType::InvalidValue,
            "userName",
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            ScimType::InvalidValue,
            "active",
        ),
        (
            json!([{"op": "replace", "path": "userName", "value": 7}]),
            ScimType::InvalidValue,
            "userName",
        ),
        (
            json!([{"op": "replace", "value": "active"}]),
            ScimType::InvalidValue,
            "object value",
        ),
        (
            json!([{"op": "move", "path": "active", "value": true}]),
            ScimType::InvalidSyntax,
            "unknown op",
        ),
        (
            json!([{"op": "add", "path": "displayName"}]),
            ScimType::InvalidValue,
            "needs a value",
        ),
        (
            json!([{"op": "replace", "path": "displayName[value eq \"x\"]", "value": "y"}]),
            ScimType::InvalidPath,
            "[filter]",
        ),
        (
            json!([{"op": "replace", "path": "emails", "value": [
            {"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}]),
            ScimType::InvalidValue,
            "primary",
        ),
        (json!(["add"]), ScimType::InvalidSyntax, "Operations[0]"),
    ];
    for (operations, scim_type, fragment) in cases {
        let err = run("User", &user(), ops(operations.clone())).expect_err(&operations.to_string());
        assert_eq!(err.scim_type(), Some(*scim_type), "{operations}: {err}");
        assert!(
            err.to_string().contains(fragment),
            "{operations}: {err} lacks {fragment:?}"
        );
    }
}

#[test]
fn a_failing_operation_applies_nothing() {
    // The first op is valid; the second fails: the caller gets only the error, and since apply
    // works on a copy, the stored document is what it was.
    let doc = user();
    let err = run(
        "User",
        &doc,
        ops(json!([
            {"op": "replace", "path": "displayName", "value": "changed"},
            {"op": "replace", "path": "nope", "value": 1}
        ])),
    )
    .unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidPath));
    assert_eq!(doc, user());
}

#[test]
fn body_shape_errors() {
    for (body, fragment) in [
        (json!([]), "JSON object"),
        (json!({"schemas": [PATCH]}), "Operations array"),
        (
            json!({"schemas": [PATCH], "Operations": {}}),
            "must be an array",
        ),
        (
            json!({"schemas": ["urn:wrong"], "Operations": []}),
            "schemas must contain",
        ),
    ] {
        let err = PatchRequest::parse(&body).unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidSyntax), "{body}");
        assert!(err.to_string().contains(fragment), "{err}");
    }
    // Lenient where clients differ: no schemas, lowercase "operations".
    assert!(
        PatchRequest::parse(
            &json!({"operations": [{"op": "ADD", "path": "nickName", "value": "x"}]})
        )
        .is_ok()
    );
}

#[test]
fn group_member_sub_attributes_are_immutable() {
    let err = run(
        "Group",
        &group(),
        ops(json!([
            {"op": "replace", "path": "members[value eq \"u1\"].display", "value": "x"}
        ])),
    )
    .unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::Mutability));
}

#[test]
fn member_without_value_is_invalid() {
    let err = run(
        "Group",
        &group(),
        ops(json!([
            {"op": "add", "path": "members", "value": [{"display": "nobody"}]}
        ])),
    )
    .unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
}

#[test]
fn path_naming_a_whole_extension() {
    check(
        "User",
        user(),
        json!([{"op": "add", "path": ENT, "value": {"department": "Ops"}}]),
        with(user(), |m| {
            m.insert("schemas".into(), json!([USER, ENT]));
            m.insert(ENT.into(), json!({"department": "Ops"}));
        }),
    );
    check(
        "User",
        managed(),
        json!([{"op": "remove", "path": ENT}]),
        user(),
    );
}
