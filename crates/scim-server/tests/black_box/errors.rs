//! Errors: every failure is a SCIM Error body (`application/scim+json`, Error schema, string
//! `status`, `scimType` where the RFC has one, a `detail`), whatever produced it: routing,
//! method, body size, media type, JSON syntax, filter syntax. No input gets a 500.

use serde_json::json;

use crate::common::http::raw_request;
use crate::common::{Server, assert_scim_error, each_backend, id_of, urn, user_body};

#[test]
fn unknown_paths_are_scim_404() {
    each_backend(|srv: &Server| {
        for path in [
            "/Printers",
            "/Users/a/b",
            "/scim/v2/Users",
            "/v1/Users",
            "/Me",
        ] {
            assert_scim_error(&srv.get(path), 404, None);
            let r = srv.raw("GET", &format!("/scim/v2{path}")).send();
            assert_scim_error(&r, 404, None);
        }
    });
}

#[test]
fn wrong_methods_are_scim_405() {
    each_backend(|srv: &Server| {
        for (method, path) in [
            ("POST", "/Schemas"),
            ("DELETE", "/Schemas"),
            ("PUT", "/ServiceProviderConfig"),
            ("PATCH", "/ResourceTypes"),
            ("DELETE", "/Users"),
            ("PUT", "/Groups"),
            ("GET", "/Bulk"),
            ("POST", "/Users/some-id"),
            ("GET", "/.search"),
        ] {
            let r = srv
                .req(method, path)
                .body("application/scim+json", "{}")
                .send();
            assert_scim_error(&r, 405, None);
        }
    });
}

#[test]
fn oversized_bodies_are_scim_413() {
    each_backend(|srv: &Server| {
        let auth = format!("Authorization: Bearer {}", srv.token);
        // A syntactically fine 2 MB user: the size alone is the problem.
        let mut user = user_body("big@example.com");
        user["nickName"] = json!("x".repeat(2 * 1024 * 1024));
        let body = serde_json::to_vec(&user).expect("json");
        for path in ["/scim/v2/Users", "/scim/v2/Bulk"] {
            let head =
                format!("POST {path} HTTP/1.1\r\n{auth}\r\nContent-Type: application/scim+json");
            let r = raw_request(&srv.origin, &head, &body);
            assert_scim_error(&r, 413, None);
            assert!(r.header("x-request-id").is_some(), "{r:?}");
        }
        // Nothing was created, and the server still answers.
        assert_eq!(srv.get("/Users").json()["totalResults"], json!(0));
        // Just under the limit is fine.
        let mut user = user_body("big@example.com");
        user["nickName"] = json!("x".repeat(900 * 1024));
        assert_eq!(srv.post("/Users", &user).status, 201);
    });
}

#[test]
fn media_types() {
    each_backend(|srv: &Server| {
        let body = serde_json::to_vec(&user_body("mt@example.com")).expect("json");
        let r = srv
            .req("POST", "/Users")
            .body("text/plain", body.clone())
            .send();
        assert_scim_error(&r, 415, None);
        let r = srv
            .req("POST", "/Users")
            .body("application/x-www-form-urlencoded", "userName=x")
            .send();
        assert_scim_error(&r, 415, None);
        // Okta's and Entra's media types, with and without charset.
        let r = srv
            .req("POST", "/Users")
            .body("application/json; charset=utf-8", body.clone())
            .send();
        assert_eq!(r.status, 201, "{r:?}");
        let id = id_of(&r.json());
        for ct in [
            "application/json",
            "application/scim+json; charset=utf-8",
            "Application/SCIM+JSON",
        ] {
            let patch = serde_json::to_vec(&json!({"schemas": [urn::PATCH_OP],
                "Operations": [{"op": "replace", "path": "nickName", "value": ct}]}))
            .expect("json");
            let r = srv
                .req("PATCH", &format!("/Users/{id}"))
                .body(ct, patch)
                .send();
            assert_eq!(r.status, 200, "{ct}: {r:?}");
        }
        // Responses are always SCIM JSON.
        let r = srv
            .req("GET", &format!("/Users/{id}"))
            .header("accept", "application/json")
            .send();
        assert!(
            r.header("content-type")
                .unwrap_or("")
                .starts_with("application/scim+json"),
            "{r:?}"
        );
    });
}

#[test]
fn malformed_json_is_400_invalid_syntax() {
    each_backend(|srv: &Server| {
        let id = id_of(&srv.create_user("json@example.com"));
        for (method, path) in [
            ("POST", "/Users".to_string()),
            ("PUT", format!("/Users/{id}")),
            ("PATCH", format!("/Users/{id}")),
            ("POST", "/Groups".to_string()),
            ("POST", "/Users/.search".to_string()),
            ("POST", "/Bulk".to_string()),
        ] {
            for bad in [&b"{\"userName\": "[..], b"not json", b"", b"\xff\xfe{}"] {
                let r = srv
                    .req(method, &path)
                    .body("application/scim+json", bad.to_vec())
                    .send();
                assert_scim_error(&r, 400, Some("invalidSyntax"));
            }
        }
    });
}

#[test]
fn invalid_filters_are_400_invalid_filter() {
    each_backend(|srv: &Server| {
        for filter in [
            "userName%20eq",
            "userName%20equals%20%22x%22",
            "(userName%20eq%20%22x%22",
            "userName%20eq%20%22unterminated",
            "emails%5Btype%20eq%20%22work%22",
            "%22x%22",
        ] {
            let r = srv.get(&format!("/Users?filter={filter}"));
            assert_scim_error(&r, 400, Some("invalidFilter"));
        }
        let r = srv.post(
            "/Users/.search",
            &json!({"schemas": [urn::SEARCH], "filter": "displayName eq"}),
        );
        assert_scim_error(&r, 400, Some("invalidFilter"));
        let r = srv.get("/Groups?filter=displayName%20zz%20%22x%22");
        assert_scim_error(&r, 400, Some("invalidFilter"));
    });
}

/// Odd input of every kind: always a 2xx or a 4xx SCIM error, never a 500 or a dropped
/// connection.
#[test]
fn no_input_produces_a_500() {
    each_backend(|srv: &Server| {
        let id = id_of(&srv.create_user("odd@example.com"));
        let gid = id_of(&srv.create_group("Odd", &[&id]));
        let gets = [
            "/Users?startIndex=abc".to_string(),
            "/Users?count=-5".to_string(),
            "/Users?count=99999999999999999999999".to_string(),
            "/Users?sortBy=nonexistent".to_string(),
            "/Users?sortBy=emails&sortOrder=sideways".to_string(),
            "/Users?attributes=%40%40%40,,".to_string(),
            "/Users?excludedAttributes=urn:x:y:z".to_string(),
            format!("/Users?filter={}", "(".repeat(500)),
            format!("/Users?filter={}", "not%20(".repeat(200)),
            "/Users?filter=meta.created%20gt%20%22not%20a%20date%22".to_string(),
            "/Users?filter=userName%20gt%2012".to_string(),
            "/Users?filter=nosuchattr%20eq%20%22x%22".to_string(),
            "/Users?%ZZ=1".to_string(),
            format!("/Users/{}", "x".repeat(5000)),
            format!("/Groups/{gid}?attributes=members.value"),
        ];
        for path in &gets {
            let r = srv.get(path);
            assert!(r.status < 500, "GET {path}: {r:?}");
            if r.status >= 400 {
                assert_scim_error(&r, r.status, None);
            }
        }
        let patches = [
            json!([{"op": "remove"}]),
            json!([{"op": "add", "path": "emails[", "value": "x"}]),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value"}]),
            json!([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]),
            json!([{"op": "replace", "path": "id", "value": "other"}]),
            json!([{"op": "add", "path": "nosuch.attr", "value": 1}]),
            json!([{"op": "replace", "value": "not an object"}]),
            json!([{"op": "replace", "path": "userName", "value": null}]),
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            json!({"op": "replace"}),
        ];
        for ops in &patches {
            for path in [format!("/Users/{id}"), format!("/Groups/{gid}")] {
                let r = srv.patch(&path, ops);
                assert!(r.status < 500, "PATCH {path} {ops}: {r:?}");
                if r.status >= 400 {
                    assert_scim_error(&r, r.status, None);
                }
            }
        }
        // The user is still intact and readable.
        let u = srv.get(&format!("/Users/{id}")).json();
        assert_eq!(u["id"], json!(id), "{u}");
        assert!(u["userName"].is_string(), "{u}");
    });
}
