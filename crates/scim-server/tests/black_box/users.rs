//! `/Users`: create, read, replace, patch and delete as Okta and Entra ID send them.

use serde_json::{Value, json};

use crate::common::{
    Server, assert_scim_error, assert_scim_json, each_backend, id_of, urn, user_body,
};

/// The `ETag` header of a response, which must equal the body's `meta.version`.
#[track_caller]
fn etag_matches_meta(r: &crate::common::Resp) -> String {
    let etag = r.header("etag").unwrap_or_else(|| panic!("no ETag: {r:?}"));
    assert_eq!(json!(etag), r.json()["meta"]["version"], "{r:?}");
    etag.to_string()
}

#[test]
fn create_returns_201_location_etag_and_never_the_password() {
    each_backend(|srv: &Server| {
        let mut body = user_body("ada@example.com");
        body["password"] = json!("Sup3r-secret!");
        let r = srv.post("/Users", &body);
        assert_eq!(r.status, 201, "{r:?}");
        assert_scim_json(&r);
        etag_matches_meta(&r);
        let u = r.json();
        let created = r.text.clone();
        let id = id_of(&u);
        let location = format!("{}/scim/v2/Users/{id}", srv.origin);
        assert_eq!(r.header("location"), Some(location.as_str()), "{r:?}");
        assert_eq!(u["meta"]["location"], json!(location));
        assert_eq!(u["meta"]["resourceType"], json!("User"));
        assert!(u["meta"]["created"].is_string() && u["meta"]["lastModified"].is_string());
        assert_eq!(u["userName"], json!("ada@example.com"));
        assert_eq!(u["name"]["familyName"], json!("Tester"));
        assert_eq!(u["emails"][0]["primary"], json!(true));
        assert_eq!(u["externalId"], json!("00uada"));
        assert_eq!(u["active"], json!(true));
        assert!(u.get("password").is_none(), "password returned: {u}");
        assert!(!r.text.contains("Sup3r-secret!"), "{r:?}");
        assert!(
            !srv.log_text().contains("Sup3r-secret!"),
            "password in the log"
        );

        let r = srv.get(&format!("/Users/{id}"));
        assert_eq!(r.status, 200, "{r:?}");
        assert_scim_json(&r);
        etag_matches_meta(&r);
        let got = r.json();
        assert_eq!(got["id"], json!(id));
        assert!(got.get("password").is_none(), "password returned: {got}");
        assert_eq!(got["userName"], u["userName"]);
        // The 201's body is copied from the stored text, as a GET's is: the same bytes.
        assert_eq!(
            r.text, created,
            "the 201 body differs from the GET right after it"
        );
    });
}

#[test]
fn create_answers_with_the_projection_asked_for() {
    each_backend(|srv: &Server| {
        // Whole attributes (the answer may be copied from the stored text) and a sub-attribute
        // (the document is parsed and projected): either way the bytes a GET with the same
        // projection returns, and `ETag` and `Location` are sent though `meta` is not asked for.
        let cases: [(&str, &str, &[&str], &[&str]); 2] = [
            (
                "proj1@example.com",
                "userName,emails",
                &["userName", "emails"],
                &["name", "externalId"],
            ),
            (
                "proj2@example.com",
                "name.givenName",
                &["name"],
                &["userName", "emails"],
            ),
        ];
        for (user_name, attributes, present, absent) in cases {
            let r = srv.post(
                &format!("/Users?attributes={attributes}"),
                &user_body(user_name),
            );
            assert_eq!(r.status, 201, "{r:?}");
            let u = r.json();
            let id = id_of(&u);
            for key in present {
                assert!(u.get(*key).is_some(), "{attributes}: {key} missing in {u}");
            }
            for key in absent.iter().chain(&["meta"]) {
                assert!(u.get(*key).is_none(), "{attributes}: {key} in {u}");
            }
            let location = format!("{}/scim/v2/Users/{id}", srv.origin);
            assert_eq!(r.header("location"), Some(location.as_str()), "{r:?}");
            assert_eq!(r.header("etag"), Some("W/\"1\""), "{r:?}");
            let got = srv.get(&format!("/Users/{id}?attributes={attributes}"));
            assert_eq!(got.text, r.text, "{got:?}");
        }
        let r = srv.get(
            "/Users?filter=userName%20eq%20%22proj2%40example.com%22&attributes=name.givenName",
        );
        assert_eq!(
            r.json()["Resources"][0]["name"],
            json!({"givenName": "proj2"}),
            "{r:?}"
        );
    });
}

#[test]
fn entra_create_body_extras_are_tolerated() {
    each_backend(|srv: &Server| {
        // clients.md E2, E11: extension URNs (one malformed), meta, roles:[], nulls, and the
        // boolean as the string "True".
        let body = json!({
            "schemas": [urn::USER, urn::ENTERPRISE, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "userName": "OscarBaker@contoso.example",
            "active": "True",
            "displayName": "Oscar Baker",
            "meta": {"resourceType": "User"},
            "roles": [],
            "nickName": null,
            "name": {"formatted": "Oscar Baker", "familyName": "Baker", "givenName": "Oscar"},
            urn::ENTERPRISE: {"department": "Sales", "employeeNumber": "E-1"}
        });
        let r = srv.post("/Users", &body);
        assert_eq!(r.status, 201, "{r:?}");
        let u = r.json();
        assert_eq!(u["active"], json!(true), "{u}");
        assert_eq!(u[urn::ENTERPRISE]["department"], json!("Sales"), "{u}");
        assert!(u.get("nickName").is_none_or(Value::is_null), "{u}");
    });
}

#[test]
fn get_unknown_user_is_a_scim_404() {
    each_backend(|srv: &Server| {
        let missing = "/Users/2819c223-7f76-453a-919d-413861904646";
        assert_scim_error(&srv.get(missing), 404, None);
        assert_scim_error(&srv.put(missing, &user_body("x@example.com")), 404, None);
        let off = json!([{"op": "replace", "value": {"active": false}}]);
        assert_scim_error(&srv.patch(missing, &off), 404, None);
        assert_scim_error(&srv.delete(missing), 404, None);
        assert_scim_error(&srv.get("/Users/not-even-a-uuid"), 404, None);
    });
}

#[test]
fn okta_put_echoes_our_body_and_readonly_is_ignored() {
    each_backend(|srv: &Server| {
        let created = srv.create_user("grace@example.com");
        let id = id_of(&created);
        let group = srv.create_group("Engineering", &[&id]);
        // Okta merges its change into the body we returned, read-only parts included.
        let mut body = srv.get(&format!("/Users/{id}")).json();
        let created_at = body["meta"]["created"].clone();
        assert_eq!(body["groups"][0]["value"], group["id"], "{body}");
        body["name"]["givenName"] = json!("Gracie");
        body["password"] = json!("An0ther-secret!");
        body["meta"]["created"] = json!("1999-01-01T00:00:00Z");
        body["groups"] = json!([{"value": "made-up-group", "display": "Fake"}]);
        let r = srv.put(&format!("/Users/{id}"), &body);
        assert_eq!(r.status, 200, "{r:?}");
        assert_scim_json(&r);
        etag_matches_meta(&r);
        let u = r.json();
        assert_eq!(u["id"], json!(id));
        assert_eq!(u["name"]["givenName"], json!("Gracie"));
        assert_eq!(u["meta"]["created"], created_at, "{u}");
        assert_ne!(u["meta"]["version"], created["meta"]["version"], "{u}");
        assert!(u.get("password").is_none(), "password returned: {u}");
        // groups is readOnly: the real membership stays, the made-up one is ignored.
        let groups = u["groups"].as_array().cloned().unwrap_or_default();
        assert_eq!(groups.len(), 1, "{u}");
        assert_eq!(groups[0]["value"], group["id"], "{u}");

        // AIW deactivation is a PUT with active:false; the user stays readable.
        let mut off = u.clone();
        off["active"] = json!(false);
        let r = srv.put(&format!("/Users/{id}/"), &off);
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json()["active"], json!(false));
        assert_eq!(
            srv.get(&format!("/Users/{id}")).json()["active"],
            json!(false)
        );
    });
}

#[test]
fn okta_patch_deactivate_reactivate_and_password_sync() {
    each_backend(|srv: &Server| {
        let id = id_of(&srv.create_user("linus@example.com"));
        let path = format!("/Users/{id}");
        let r = srv.patch(
            &path,
            &json!([{"op": "replace", "value": {"active": false}}]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert_scim_json(&r);
        etag_matches_meta(&r);
        assert_eq!(r.json()["active"], json!(false), "{r:?}");
        // Soft delete: still readable and filterable. The PATCH answered the user exactly as
        // stored after the lifecycle step (the version, lastModified and ETag a GET gives).
        let got = srv.get(&path);
        assert_eq!(got.json(), r.json(), "{got:?}");
        assert_eq!(got.header("etag"), r.header("etag"), "{got:?}");
        let list = srv
            .get("/Users?filter=userName%20eq%20%22linus%40example.com%22")
            .json();
        assert_eq!(list["totalResults"], json!(1), "{list}");

        let r = srv.patch(
            &path,
            &json!([{"op": "replace", "value": {"active": true}}]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json()["active"], json!(true));
        let got = srv.get(&path);
        assert_eq!(got.json(), r.json(), "{got:?}");
        assert_eq!(got.header("etag"), r.header("etag"), "{got:?}");

        let before = srv.get(&path).json()["meta"]["version"].clone();
        let r = srv.patch(
            &path,
            &json!([{"op": "replace", "value": {"password": "N3w-secret!"}}]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        let u = r.json();
        assert!(u.get("password").is_none(), "password returned: {u}");
        assert!(!r.text.contains("N3w-secret!"));
        assert_ne!(
            u["meta"]["version"], before,
            "a password change is a change: {u}"
        );
    });
}

#[test]
fn entra_patch_dialects() {
    each_backend(|srv: &Server| {
        let id = id_of(&srv.create_user("barbara@example.com"));
        let manager = id_of(&srv.create_user("boss@example.com"));
        let path = format!("/Users/{id}");
        // E1 capitalised ops, E2 string booleans, E3 add on a single-valued attribute, E4
        // valuePath and URN-qualified paths.
        let r = srv.patch(
            &path,
            &json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "nickName", "value": "Babs"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "babs@example.com"},
                {"op": "Replace", "path": "name.givenName", "value": "Barbara"},
                {"op": "Replace", "path": format!("{}:employeeNumber", urn::ENTERPRISE), "value": "701984"}
            ]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        let u = r.json();
        assert_eq!(u["active"], json!(false), "{u}");
        assert_eq!(u["nickName"], json!("Babs"), "{u}");
        assert_eq!(u["emails"][0]["value"], json!("babs@example.com"), "{u}");
        assert_eq!(u["name"]["givenName"], json!("Barbara"), "{u}");
        assert_eq!(u[urn::ENTERPRISE]["employeeNumber"], json!("701984"), "{u}");

        // E5: pathless replace whose keys are paths and URNs.
        let r = srv.patch(
            &path,
            &json!([{"op": "replace", "value": {
                "displayName": "Babs Jensen",
                "name.familyName": "Jensen",
                format!("{}:department", urn::ENTERPRISE): "Tour Operations"
            }}]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        let u = r.json();
        assert_eq!(u["displayName"], json!("Babs Jensen"), "{u}");
        assert_eq!(u["name"]["familyName"], json!("Jensen"), "{u}");
        assert_eq!(
            u[urn::ENTERPRISE]["department"],
            json!("Tour Operations"),
            "{u}"
        );
        assert!(
            u.get("name.familyName").is_none(),
            "literal dotted key stored: {u}"
        );

        // E10: manager as object, as bare string, as legacy array; removal by empty value.
        let manager_path = format!("{}:manager", urn::ENTERPRISE);
        let forms = [
            json!({"op": "Replace", "path": manager_path, "value": {"value": manager}}),
            json!({"op": "Replace", "path": manager_path, "value": manager}),
            json!({"op": "Add", "path": "manager", "value": [{"$ref": format!("../Users/{manager}"), "value": manager}]}),
        ];
        for (i, form) in forms.iter().enumerate() {
            let r = srv.patch(
                &path,
                &json!([{"op": "Replace", "path": manager_path, "value": ""}]),
            );
            assert_eq!(r.status, 200, "clear before form {i}: {r:?}");
            let r = srv.patch(&path, &json!([form]));
            assert_eq!(r.status, 200, "manager form {i}: {r:?}");
            let u = srv.get(&path).json();
            assert_eq!(
                u[urn::ENTERPRISE]["manager"]["value"],
                json!(manager),
                "form {i}: {u}"
            );
        }
        for empty in [json!({"value": ""}), json!("")] {
            let r = srv.patch(
                &path,
                &json!([{"op": "Replace", "path": manager_path, "value": empty}]),
            );
            assert_eq!(r.status, 200, "{r:?}");
            let u = srv.get(&path).json();
            assert!(
                u[urn::ENTERPRISE].get("manager").is_none_or(Value::is_null),
                "manager not removed by {empty}: {u}"
            );
            srv.patch(
                &path,
                &json!([{"op": "Replace", "path": manager_path, "value": manager}]),
            );
        }

        // E24: an empty Operations array is a no-op that succeeds.
        let r = srv.patch(&path, &json!([]));
        assert_eq!(r.status, 200, "{r:?}");

        // A PATCH that breaks a rule answers a SCIM error and changes nothing.
        let before = srv.get(&path).json();
        let r = srv.patch(
            &path,
            &json!([{"op": "replace", "path": "displayName", "value": "New"},
                    {"op": "frobnicate", "path": "nickName", "value": "x"}]),
        );
        assert_scim_error(&r, 400, None);
        assert_eq!(
            srv.get(&path).json(),
            before,
            "a failed PATCH must change nothing"
        );
    });
}

#[test]
fn delete_then_get_is_404() {
    each_backend(|srv: &Server| {
        let id = id_of(&srv.create_user("gone@example.com"));
        let r = srv.delete(&format!("/Users/{id}"));
        assert_eq!(r.status, 204, "{r:?}");
        assert!(r.text.is_empty(), "{r:?}");
        assert_scim_error(&srv.get(&format!("/Users/{id}")), 404, None);
        assert_scim_error(&srv.delete(&format!("/Users/{id}")), 404, None);
        // The userName is free again.
        srv.create_user("gone@example.com");
    });
}

#[test]
fn duplicate_user_name_in_another_case_is_409_uniqueness() {
    each_backend(|srv: &Server| {
        let first = id_of(&srv.create_user("dup@example.com"));
        let r = srv.post("/Users", &user_body("DUP@Example.COM"));
        assert_scim_error(&r, 409, Some("uniqueness"));
        // Renaming another user onto it is refused the same way.
        let other = id_of(&srv.create_user("other@example.com"));
        let r = srv.patch(
            &format!("/Users/{other}"),
            &json!([{"op": "replace", "path": "userName", "value": "Dup@example.com"}]),
        );
        assert_scim_error(&r, 409, Some("uniqueness"));
        let r = srv.put(&format!("/Users/{other}"), &user_body("dUP@example.com"));
        assert_scim_error(&r, 409, Some("uniqueness"));
        // A user may change the case of its own userName.
        let r = srv.put(&format!("/Users/{first}"), &user_body("Dup@Example.com"));
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json()["userName"], json!("Dup@Example.com"));
    });
}

#[test]
fn invalid_bodies_are_400_invalid_value() {
    each_backend(|srv: &Server| {
        let mut no_name = user_body("x@example.com");
        no_name.as_object_mut().map(|o| o.remove("userName"));
        assert_scim_error(&srv.post("/Users", &no_name), 400, Some("invalidValue"));
        let mut empty = user_body("x@example.com");
        empty["userName"] = json!("");
        assert_scim_error(&srv.post("/Users", &empty), 400, Some("invalidValue"));
        let mut wrong_type = user_body("x@example.com");
        wrong_type["active"] = json!({"nested": true});
        assert_scim_error(&srv.post("/Users", &wrong_type), 400, None);
        assert_scim_error(&srv.post("/Users", &json!([1, 2])), 400, None);
        // PUT without userName is refused too, and leaves the user as it was.
        let id = id_of(&srv.create_user("kept@example.com"));
        assert_scim_error(
            &srv.put(&format!("/Users/{id}"), &no_name),
            400,
            Some("invalidValue"),
        );
        assert_eq!(
            srv.get(&format!("/Users/{id}")).json()["userName"],
            json!("kept@example.com")
        );
        // A PATCH body without Operations.
        let r = srv
            .req("PATCH", &format!("/Users/{id}"))
            .json(&json!({"schemas": [urn::PATCH_OP]}))
            .send();
        assert_scim_error(&r, 400, None);
    });
}

#[test]
fn trailing_slash_paths_work_like_the_plain_ones() {
    each_backend(|srv: &Server| {
        let r = srv.post("/Users/", &user_body("slash@example.com"));
        assert_eq!(r.status, 201, "{r:?}");
        let id = id_of(&r.json());
        let one = format!("/Users/{id}/");
        assert_eq!(srv.get(&one).status, 200);
        let r = srv.patch(
            &one,
            &json!([{"op": "replace", "path": "nickName", "value": "s"}]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(srv.put(&one, &user_body("slash@example.com")).status, 200);
        let list = srv.get("/Users/?count=5").json();
        assert_eq!(list["totalResults"], json!(1), "{list}");
        assert_eq!(srv.delete(&one).status, 204);
        assert_scim_error(&srv.get(&one), 404, None);
    });
}

/// `meta.created` and `meta.lastModified` in a write's response are what later reads show, so
/// a client can use them in a `meta.lastModified ge "…"` filter and find the resource.
#[test]
fn meta_dates_in_write_responses_match_later_reads() {
    each_backend(|srv: &Server| {
        let created = srv.create_user("clock@example.com");
        let id = id_of(&created);
        let read = srv.get(&format!("/Users/{id}")).json();
        assert_eq!(
            read["meta"]["created"], created["meta"]["created"],
            "{read}"
        );
        assert_eq!(
            read["meta"]["lastModified"], created["meta"]["lastModified"],
            "{read}"
        );
        let patched = srv
            .patch(
                &format!("/Users/{id}"),
                &json!([{"op": "replace", "path": "nickName", "value": "tick"}]),
            )
            .json();
        let read = srv.get(&format!("/Users/{id}")).json();
        assert_eq!(
            read["meta"]["lastModified"], patched["meta"]["lastModified"],
            "{read}"
        );
        let since = patched["meta"]["lastModified"]
            .as_str()
            .expect("lastModified");
        let r = srv
            .req("POST", "/Users/.search")
            .json(&json!({"schemas": [urn::SEARCH],
                "filter": format!("meta.lastModified ge \"{since}\"")}))
            .send();
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json()["totalResults"], json!(1), "{r:?}");
    });
}

/// What Microsoft's validator and Postman suite send (clients.md E21, E22, E23): attribute
/// names in any case, add on a filtered element that doesn't exist yet, `"True"` in filters.
#[test]
fn entra_validator_quirks() {
    each_backend(|srv: &Server| {
        let r = srv.post(
            "/Users",
            &json!({
                "schemas": [urn::USER, urn::ENTERPRISE],
                "UserName": "Validator@example.com",
                "Active": true,
                "DisplayName": "Val Idator",
                "Emails": [{"Primary": true, "Type": "work", "Value": "validator@example.com"}],
                urn::ENTERPRISE: {"Department": "QA"}
            }),
        );
        assert_eq!(r.status, 201, "{r:?}");
        let u = r.json();
        let id = id_of(&u);
        assert_eq!(u["userName"], json!("Validator@example.com"), "{u}");
        assert_eq!(
            u["emails"][0]["value"],
            json!("validator@example.com"),
            "{u}"
        );
        assert_eq!(u[urn::ENTERPRISE]["department"], json!("QA"), "{u}");
        let l = srv
            .get("/Users?filter=DisplayName%20eq%20%22Val%20Idator%22")
            .json();
        assert_eq!(l["totalResults"], json!(1), "{l}");

        // Add to elements that don't exist yet creates them, with the filter's type/primary.
        let path = format!("/Users/{id}");
        let r = srv.patch(
            &path,
            &json!([
                {"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
                {"op": "add", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"},
                {"op": "add", "path": "roles[primary eq \"True\"].value", "value": "Reader"}
            ]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        let u = r.json();
        assert_eq!(u["phoneNumbers"][0]["type"], json!("mobile"), "{u}");
        assert_eq!(
            u["phoneNumbers"][0]["value"],
            json!("+1 555 0100"),
            "stored as sent: {u}"
        );
        assert_eq!(u["addresses"][0]["locality"], json!("Redmond"), "{u}");
        assert_eq!(u["roles"][0]["value"], json!("Reader"), "{u}");
        assert_eq!(u["roles"][0]["primary"], json!(true), "{u}");
        let l = srv
            .get("/Users?filter=roles%5Bprimary%20eq%20%22True%22%5D.value%20eq%20%22Reader%22")
            .json();
        assert_eq!(l["totalResults"], json!(1), "{l}");
    });
}
