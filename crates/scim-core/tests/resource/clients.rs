//! Real client bodies from clients.md: Okta and Entra creates, Okta's echoing PUT.

use super::*;

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
    snapshot!("okta_create", got);
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
    snapshot!("entra_create", got);
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
    snapshot!("okta_put_echo", got);
}
