//! Tenant isolation: each token names one tenant, and nothing of another tenant can be read,
//! changed, listed, searched or referenced through it; names are unique per tenant only.

use serde_json::{Value, json};

use crate::common::{Server, assert_scim_error, each_backend, id_of, urn, user_body};

#[test]
fn another_tenant_sees_and_touches_nothing() {
    each_backend(|srv: &Server| {
        // Tenant A (the server's default token).
        let ua = srv.create_user("shared@example.com");
        let ua_id = id_of(&ua);
        let ga_id = id_of(&srv.create_group("Shared", &[&ua_id]));
        let b = srv.new_tenant("tenant-b");
        let as_b = |method: &str, path: &str| srv.req(method, path).bearer(&b);

        // Reads and writes by id: 404, as if the resources didn't exist.
        let patch = json!({"schemas": [urn::PATCH_OP],
            "Operations": [{"op": "replace", "path": "displayName", "value": "hijacked"}]});
        for path in [format!("/Users/{ua_id}"), format!("/Groups/{ga_id}")] {
            assert_scim_error(&as_b("GET", &path).send(), 404, None);
            assert_scim_error(&as_b("PATCH", &path).json(&patch).send(), 404, None);
            let put = if path.starts_with("/Users") {
                user_body("hijacked@example.com")
            } else {
                json!({"schemas": [urn::GROUP], "displayName": "hijacked"})
            };
            assert_scim_error(&as_b("PUT", &path).json(&put).send(), 404, None);
            assert_scim_error(&as_b("DELETE", &path).send(), 404, None);
        }
        // Lists and searches: empty.
        let empty = |r: crate::common::Resp| {
            assert_eq!(r.status, 200, "{r:?}");
            let l = r.json();
            assert_eq!(l["totalResults"], json!(0), "{l}");
        };
        empty(as_b("GET", "/Users").send());
        empty(as_b("GET", "/Groups").send());
        empty(
            as_b(
                "GET",
                "/Users?filter=userName%20eq%20%22shared%40example.com%22",
            )
            .send(),
        );
        empty(as_b("GET", &format!("/Users?filter=id%20eq%20%22{ua_id}%22")).send());
        empty(
            as_b(
                "GET",
                &format!("/Groups?filter=members.value%20eq%20%22{ua_id}%22"),
            )
            .send(),
        );
        let search = json!({"schemas": [urn::SEARCH]});
        empty(as_b("POST", "/Users/.search").json(&search).send());
        empty(as_b("POST", "/Groups/.search").json(&search).send());
        empty(as_b("POST", "/.search").json(&search).send());

        // Bulk: the same refusals, operation by operation.
        let r = as_b("POST", "/Bulk")
            .json(&json!({"schemas": [urn::BULK_REQUEST], "Operations": [
                {"method": "PATCH", "path": format!("/Users/{ua_id}"),
                 "data": {"schemas": [urn::PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]}},
                {"method": "DELETE", "path": format!("/Groups/{ga_id}")},
                {"method": "POST", "path": "/Groups", "bulkId": "steal",
                 "data": {"schemas": [urn::GROUP], "displayName": "Thieves", "members": [{"value": ua_id}]}}
            ]}))
            .send();
        assert_eq!(r.status, 200, "{r:?}");
        let statuses: Vec<Value> = r.json()["Operations"]
            .as_array()
            .map(|o| o.iter().map(|x| x["status"].clone()).collect())
            .unwrap_or_default();
        assert_eq!(
            statuses,
            [json!("404"), json!("404"), json!("400")],
            "{r:?}"
        );

        // Same userName and displayName are fine in tenant B, and stay separate.
        let r = as_b("POST", "/Users")
            .json(&user_body("shared@example.com"))
            .send();
        assert_eq!(r.status, 201, "{r:?}");
        let ub_id = id_of(&r.json());
        assert_ne!(ub_id, ua_id);
        let r = as_b("POST", "/Groups")
            .json(&json!({"schemas": [urn::GROUP], "displayName": "Shared", "members": [{"value": ub_id}]}))
            .send();
        assert_eq!(r.status, 201, "{r:?}");
        let l = as_b("GET", "/Users").send().json();
        assert_eq!(l["totalResults"], json!(1), "{l}");
        assert_eq!(l["Resources"][0]["id"], json!(ub_id));

        // Tenant A is untouched.
        let now = srv.get(&format!("/Users/{ua_id}")).json();
        assert_eq!(now["meta"]["version"], ua["meta"]["version"], "{now}");
        assert_eq!(now["active"], json!(true));
        let g = srv.get(&format!("/Groups/{ga_id}")).json();
        assert_eq!(g["displayName"], json!("Shared"));
        assert_eq!(g["members"][0]["value"], json!(ua_id), "{g}");
        assert_eq!(srv.get("/Users").json()["totalResults"], json!(1));
        assert_eq!(srv.get("/Groups").json()["totalResults"], json!(1));
        // A's user isn't in B's group, nor B's in A's.
        let u = srv.get(&format!("/Users/{ua_id}")).json();
        assert_eq!(u["groups"].as_array().map(Vec::len), Some(1), "{u}");
    });
}

#[test]
fn a_token_id_with_another_tokens_secret_is_refused() {
    each_backend(|srv: &Server| {
        let b = srv.new_tenant("tenant-b");
        let (a_id, a_secret) = srv.token.split_once('.').expect("id.secret");
        let (b_id, b_secret) = b.split_once('.').expect("id.secret");
        for (id, secret) in [(a_id, b_secret), (b_id, a_secret)] {
            let r = srv
                .req("GET", "/Users")
                .bearer(&format!("{id}.{secret}"))
                .send();
            assert_scim_error(&r, 401, None);
            let r = srv.req("GET", "/Users").basic(id, secret).send();
            assert_scim_error(&r, 401, None);
        }
    });
}
