//! POST bodies: names, coercions, unassigned values, unknown input, required and primary.

use super::*;

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
        let reg = registry();
        scim_core::resource::validate(&reg, reg.resource_type(rt).unwrap(), &once).unwrap();
    }
}
