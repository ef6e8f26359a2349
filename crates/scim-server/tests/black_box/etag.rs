//! ETags (RFC 7644 §3.14): the `ETag` header equals `meta.version`; `If-None-Match` answers
//! 304; `If-Match` guards PUT, PATCH and DELETE with 412 on a stale version.

use serde_json::{Value, json};

use crate::common::{Resp, Server, assert_scim_error, each_backend, id_of, user_body};

#[track_caller]
fn etag(r: &Resp) -> String {
    let e = r
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag: {r:?}"))
        .to_string();
    if !r.text.is_empty() {
        assert_eq!(
            json!(e),
            r.json()["meta"]["version"],
            "ETag != meta.version: {r:?}"
        );
    }
    e
}

#[test]
fn etag_header_is_meta_version_and_moves_with_changes() {
    each_backend(|srv: &Server| {
        let r = srv.post("/Users", &user_body("e@example.com"));
        let v1 = etag(&r);
        assert!(v1.starts_with("W/\""), "weak ETag expected: {v1}");
        let id = id_of(&r.json());
        let path = format!("/Users/{id}");
        assert_eq!(etag(&srv.get(&path)), v1);
        let r = srv.patch(
            &path,
            &json!([{"op": "replace", "path": "nickName", "value": "e"}]),
        );
        let v2 = etag(&r);
        assert_ne!(v2, v1);
        // A PATCH that changes nothing keeps the version.
        let r = srv.patch(
            &path,
            &json!([{"op": "replace", "path": "nickName", "value": "e"}]),
        );
        assert_eq!(etag(&r), v2, "a no-op PATCH moved the version");
        let v3 = etag(&srv.put(&path, &user_body("e2@example.com")));
        assert_ne!(v3, v2);
        assert_eq!(etag(&srv.get(&path)), v3);
        // Lists carry meta.version too.
        let l = srv.get("/Users").json();
        assert_eq!(l["Resources"][0]["meta"]["version"], json!(v3), "{l}");

        let g = srv.create_group("Versioned", &[]);
        let gpath = format!("/Groups/{}", id_of(&g));
        let gv1 = etag(&srv.get(&gpath));
        let r = srv.patch(
            &gpath,
            &json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
        );
        let gv2 = etag(&r);
        assert_ne!(gv2, gv1, "a membership change is a change");
        assert_eq!(etag(&srv.get(&gpath)), gv2);
    });
}

#[test]
fn if_none_match_answers_304() {
    each_backend(|srv: &Server| {
        let u = srv.create_user("cache@example.com");
        let path = format!("/Users/{}", id_of(&u));
        let v = u["meta"]["version"].as_str().expect("version").to_string();
        let r = srv.req("GET", &path).header("if-none-match", &v).send();
        assert_eq!(r.status, 304, "{r:?}");
        assert!(r.text.is_empty(), "{r:?}");
        assert_eq!(r.header("etag"), Some(v.as_str()));
        let r = srv.req("GET", &path).header("if-none-match", "*").send();
        assert_eq!(r.status, 304, "{r:?}");
        let r = srv
            .req("GET", &path)
            .header("if-none-match", "W/\"999\", W/\"998\"")
            .send();
        assert_eq!(r.status, 200, "{r:?}");
        // After a change the old tag no longer matches.
        srv.patch(
            &path,
            &json!([{"op": "replace", "path": "nickName", "value": "n"}]),
        );
        let r = srv.req("GET", &path).header("if-none-match", &v).send();
        assert_eq!(r.status, 200, "{r:?}");
        assert_ne!(etag(&r), v);

        let g = srv.create_group("Cached", &[]);
        let gv = g["meta"]["version"].as_str().expect("version").to_string();
        let r = srv
            .req("GET", &format!("/Groups/{}", id_of(&g)))
            .header("if-none-match", &gv)
            .send();
        assert_eq!(r.status, 304, "{r:?}");
    });
}

#[test]
fn if_match_guards_put_patch_and_delete() {
    each_backend(|srv: &Server| {
        let u = srv.create_user("guarded@example.com");
        let path = format!("/Users/{}", id_of(&u));
        let v1 = u["meta"]["version"].as_str().expect("version").to_string();
        let nick = |n: &str| {
            json!({"schemas": [crate::common::urn::PATCH_OP],
            "Operations": [{"op": "replace", "path": "nickName", "value": n}]})
        };

        // Current version: accepted.
        let r = srv
            .req("PATCH", &path)
            .header("if-match", &v1)
            .json(&nick("one"))
            .send();
        assert_eq!(r.status, 200, "{r:?}");
        let v2 = etag(&r);
        // Stale: 412, nothing changes, for every write method.
        let r = srv
            .req("PATCH", &path)
            .header("if-match", &v1)
            .json(&nick("two"))
            .send();
        assert_scim_error(&r, 412, None);
        let mut body = user_body("guarded@example.com");
        body["nickName"] = json!("three");
        let r = srv
            .req("PUT", &path)
            .header("if-match", &v1)
            .json(&body)
            .send();
        assert_scim_error(&r, 412, None);
        let r = srv.req("DELETE", &path).header("if-match", &v1).send();
        assert_scim_error(&r, 412, None);
        let now = srv.get(&path);
        assert_eq!(now.json()["nickName"], json!("one"));
        assert_eq!(etag(&now), v2);
        // Garbage in If-Match is never a match.
        let r = srv
            .req("PATCH", &path)
            .header("if-match", "\"nonsense\"")
            .json(&nick("x"))
            .send();
        assert_scim_error(&r, 412, None);
        // `*` matches whatever is there.
        let r = srv
            .req("PATCH", &path)
            .header("if-match", "*")
            .json(&nick("star"))
            .send();
        assert_eq!(r.status, 200, "{r:?}");
        let v3 = etag(&r);
        let r = srv
            .req("PUT", &path)
            .header("if-match", &v3)
            .json(&body)
            .send();
        assert_eq!(r.status, 200, "{r:?}");
        let v4 = etag(&r);
        assert_eq!(r.json()["nickName"], json!("three"));
        let r = srv.req("DELETE", &path).header("if-match", &v4).send();
        assert_eq!(r.status, 204, "{r:?}");
        assert_scim_error(&srv.get(&path), 404, None);
    });
}

#[test]
fn if_match_on_groups() {
    each_backend(|srv: &Server| {
        let member = id_of(&srv.create_user("gm@example.com"));
        let g = srv.create_group("Guarded", &[]);
        let path = format!("/Groups/{}", id_of(&g));
        let v1 = g["meta"]["version"].as_str().expect("version").to_string();
        let add: Value = json!({"schemas": [crate::common::urn::PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": member}]}]});
        let r = srv
            .req("PATCH", &path)
            .header("if-match", &v1)
            .json(&add)
            .send();
        assert_eq!(r.status, 200, "{r:?}");
        let v2 = etag(&r);
        let r = srv
            .req("PATCH", &path)
            .header("if-match", &v1)
            .json(&add)
            .send();
        assert_scim_error(&r, 412, None);
        let put = json!({"schemas": [crate::common::urn::GROUP], "displayName": "Guarded 2"});
        let r = srv
            .req("PUT", &path)
            .header("if-match", &v1)
            .json(&put)
            .send();
        assert_scim_error(&r, 412, None);
        let r = srv.req("DELETE", &path).header("if-match", &v1).send();
        assert_scim_error(&r, 412, None);
        assert_eq!(srv.get(&path).json()["displayName"], json!("Guarded"));
        let r = srv
            .req("PUT", &path)
            .header("if-match", &v2)
            .json(&put)
            .send();
        assert_eq!(r.status, 200, "{r:?}");
        let r = srv
            .req("DELETE", &path)
            .header("if-match", &etag(&r))
            .send();
        assert_eq!(r.status, 204, "{r:?}");
    });
}
