//! PUT bodies: readOnly carry-over and immutable attributes.

use super::*;

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
