//! `POST /Bulk` (RFC 7644 §3.7): bulkId references (forward ones included), every method,
//! errors reported inside the BulkResponse, and failOnErrors.

use serde_json::{Value, json};

use crate::common::{
    Server, assert_scim_error, assert_scim_json, each_backend, id_of, resources, urn, user_body,
};

fn bulk(srv: &Server, fail_on_errors: Option<u64>, ops: Value) -> Value {
    let mut body = json!({"schemas": [urn::BULK_REQUEST], "Operations": ops});
    if let Some(n) = fail_on_errors {
        body["failOnErrors"] = json!(n);
    }
    let r = srv.post("/Bulk", &body);
    assert_eq!(r.status, 200, "{r:?}");
    assert_scim_json(&r);
    let resp = r.json();
    assert_eq!(resp["schemas"], json!([urn::BULK_RESPONSE]), "{resp}");
    resp
}

fn ops(resp: &Value) -> Vec<Value> {
    resp["Operations"].as_array().cloned().unwrap_or_default()
}

/// The id at the end of an operation's location.
fn id_from_location(op: &Value) -> String {
    op["location"]
        .as_str()
        .and_then(|l| l.rsplit('/').next())
        .unwrap_or_else(|| panic!("no location in {op}"))
        .to_string()
}

#[test]
fn forward_bulk_id_references_resolve() {
    each_backend(|srv: &Server| {
        // The group comes first and names users created later in the same request.
        let resp = bulk(
            srv,
            None,
            json!([
                {"method": "POST", "path": "/Groups", "bulkId": "g1",
                 "data": {"schemas": [urn::GROUP], "displayName": "Tour Guides",
                          "members": [{"type": "User", "value": "bulkId:u1"},
                                      {"type": "User", "value": "bulkId:u2"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "u1", "data": user_body("bulk1@example.com")},
                {"method": "POST", "path": "/Users", "bulkId": "u2", "data": user_body("bulk2@example.com")},
                {"method": "PATCH", "path": "/Users/bulkId:u2",
                 "data": {"schemas": [urn::PATCH_OP], "Operations": [{"op": "replace", "path": "nickName", "value": "two"}]}}
            ]),
        );
        let ops = ops(&resp);
        assert_eq!(ops.len(), 4, "{resp}");
        for (op, (method, bulk_id, status)) in ops.iter().zip([
            ("POST", Some("g1"), "201"),
            ("POST", Some("u1"), "201"),
            ("POST", Some("u2"), "201"),
            ("PATCH", None, "200"),
        ]) {
            assert_eq!(op["method"], json!(method), "{op}");
            assert_eq!(op["status"], json!(status), "status is a string: {op}");
            if let Some(b) = bulk_id {
                assert_eq!(op["bulkId"], json!(b), "{op}");
            }
            let loc = op["location"].as_str().unwrap_or("");
            assert!(loc.starts_with(&format!("{}/scim/v2/", srv.origin)), "{op}");
            assert!(
                op["version"].as_str().is_some_and(|v| v.starts_with("W/")),
                "{op}"
            );
        }
        let gid = id_from_location(&ops[0]);
        let u1 = id_from_location(&ops[1]);
        let u2 = id_from_location(&ops[2]);
        assert_eq!(id_from_location(&ops[3]), u2);
        assert!(!u1.starts_with("bulkId"), "a bulkId leaked as an id: {u1}");

        let g = srv.get(&format!("/Groups/{gid}")).json();
        let mut members: Vec<&str> = g["members"]
            .as_array()
            .map(|m| m.iter().filter_map(|x| x["value"].as_str()).collect())
            .unwrap_or_default();
        members.sort_unstable();
        let mut want = vec![u1.as_str(), u2.as_str()];
        want.sort_unstable();
        assert_eq!(members, want, "{g}");
        let u = srv.get(&format!("/Users/{u2}")).json();
        assert_eq!(u["nickName"], json!("two"), "{u}");
        assert_eq!(u["groups"][0]["value"], json!(gid), "{u}");
        // The version a bulk op reports is the resource's.
        assert_eq!(u["meta"]["version"], ops[3]["version"], "{u}");
    });
}

#[test]
fn put_patch_delete_and_versions_in_bulk() {
    each_backend(|srv: &Server| {
        let a = srv.create_user("ba@example.com");
        let b = srv.create_user("bb@example.com");
        let (a_id, b_id) = (id_of(&a), id_of(&b));
        let mut replaced = user_body("ba@example.com");
        replaced["nickName"] = json!("put");
        let resp = bulk(
            srv,
            None,
            json!([
                {"method": "PUT", "path": format!("/Users/{a_id}"), "version": a["meta"]["version"], "data": replaced},
                {"method": "DELETE", "path": format!("/Users/{b_id}"), "version": "W/\"999\""},
                {"method": "DELETE", "path": "/Users/4b6c1e3a-0000-4000-8000-000000000000"},
                {"method": "PATCH", "path": format!("/Users/{a_id}"),
                 "data": {"schemas": [urn::PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]}}
            ]),
        );
        let ops = ops(&resp);
        assert_eq!(ops.len(), 4, "{resp}");
        assert_eq!(ops[0]["status"], json!("200"), "{resp}");
        assert_eq!(ops[1]["status"], json!("412"), "stale version: {resp}");
        assert_eq!(ops[1]["response"]["status"], json!("412"), "{resp}");
        assert_eq!(ops[2]["status"], json!("404"), "{resp}");
        assert_eq!(ops[2]["response"]["schemas"], json!([urn::ERROR]), "{resp}");
        assert_eq!(ops[3]["status"], json!("200"), "{resp}");
        let u = srv.get(&format!("/Users/{a_id}")).json();
        assert_eq!(
            (u["nickName"].clone(), u["active"].clone()),
            (json!("put"), json!(false))
        );
        assert_eq!(
            srv.get(&format!("/Users/{b_id}")).status,
            200,
            "a stale DELETE ran"
        );
        let resp = bulk(
            srv,
            None,
            json!([{"method": "DELETE", "path": format!("/Users/{b_id}"), "version": b["meta"]["version"]}]),
        );
        assert_eq!(ops_status(&resp), ["204"]);
        assert_scim_error(&srv.get(&format!("/Users/{b_id}")), 404, None);
    });
}

fn ops_status(resp: &Value) -> Vec<String> {
    ops(resp)
        .iter()
        .map(|o| o["status"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[test]
fn errors_are_reported_per_operation_and_fail_on_errors_stops() {
    each_backend(|srv: &Server| {
        srv.create_user("taken@example.com");
        // Without failOnErrors every operation runs; each failure carries its SCIM error.
        let resp = bulk(
            srv,
            None,
            json!([
                {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user_body("TAKEN@example.com")},
                {"method": "POST", "path": "/Users", "bulkId": "ok1", "data": user_body("ok1@example.com")},
                {"method": "POST", "path": "/Groups", "bulkId": "g",
                 "data": {"schemas": [urn::GROUP], "displayName": "Refs", "members": [{"value": "bulkId:dup"}]}},
                {"method": "POST", "path": "/Groups", "bulkId": "g2",
                 "data": {"schemas": [urn::GROUP], "displayName": "Undefined", "members": [{"value": "bulkId:nobody"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "noname", "data": {"schemas": [urn::USER]}}
            ]),
        );
        assert_eq!(
            ops_status(&resp),
            ["409", "201", "409", "400", "400"],
            "{resp}"
        );
        let dup = &ops(&resp)[0]["response"];
        assert_eq!(dup["schemas"], json!([urn::ERROR]), "{resp}");
        assert_eq!(dup["status"], json!("409"), "{resp}");
        assert_eq!(dup["scimType"], json!("uniqueness"), "{resp}");
        assert!(
            dup["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{resp}"
        );
        assert!(ops(&resp)[0].get("location").is_none(), "{resp}");
        let list = srv.get("/Groups").json();
        assert_eq!(
            list["totalResults"],
            json!(0),
            "groups with failed references were created: {list}"
        );

        // failOnErrors=1: the first failure stops the rest, which are not in the response.
        let resp = bulk(
            srv,
            Some(1),
            json!([
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": user_body("first@example.com")},
                {"method": "POST", "path": "/Users", "bulkId": "b", "data": user_body("taken@example.com")},
                {"method": "POST", "path": "/Users", "bulkId": "c", "data": user_body("never@example.com")}
            ]),
        );
        assert_eq!(ops_status(&resp), ["201", "409"], "{resp}");
        let never = srv
            .get("/Users?filter=userName%20eq%20%22never%40example.com%22")
            .json();
        assert_eq!(
            never["totalResults"],
            json!(0),
            "ran past failOnErrors: {never}"
        );
        let first = srv
            .get("/Users?filter=userName%20eq%20%22first%40example.com%22")
            .json();
        assert_eq!(
            resources(&first).len(),
            1,
            "an operation before the failure is kept"
        );

        // failOnErrors=2 tolerates one failure.
        let resp = bulk(
            srv,
            Some(2),
            json!([
                {"method": "POST", "path": "/Users", "bulkId": "1", "data": user_body("taken@example.com")},
                {"method": "POST", "path": "/Users", "bulkId": "2", "data": user_body("second@example.com")},
                {"method": "POST", "path": "/Users", "bulkId": "3", "data": user_body("TAKEN@EXAMPLE.COM")},
                {"method": "POST", "path": "/Users", "bulkId": "4", "data": user_body("third@example.com")}
            ]),
        );
        assert_eq!(ops_status(&resp), ["409", "201", "409"], "{resp}");
    });
}

#[test]
fn malformed_bulk_requests_are_scim_errors() {
    each_backend(|srv: &Server| {
        let r = srv.post("/Bulk", &json!({"schemas": [urn::BULK_REQUEST]}));
        assert_scim_error(&r, 400, None);
        let r = srv.post(
            "/Bulk",
            &json!({"schemas": [urn::BULK_REQUEST], "Operations": [{"method": "FETCH", "path": "/Users"}]}),
        );
        assert_scim_error(&r, 400, None);
        // A POST must carry a bulkId (RFC 7644 §3.7).
        let r = srv.post(
            "/Bulk",
            &json!({"schemas": [urn::BULK_REQUEST], "Operations": [
                {"method": "POST", "path": "/Users", "data": user_body("nobulkid@example.com")}]}),
        );
        assert_scim_error(&r, 400, Some("invalidValue"));
        // More operations than maxOperations: 413 (RFC 7644 §3.7.4).
        let many: Vec<Value> = (0..1001)
            .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
            .collect();
        let r = srv.post(
            "/Bulk",
            &json!({"schemas": [urn::BULK_REQUEST], "Operations": many}),
        );
        assert_scim_error(&r, 413, None);
        // An operation on an unknown resource type fails alone.
        let resp = bulk(
            srv,
            None,
            json!([{"method": "POST", "path": "/Printers", "bulkId": "p", "data": {"x": 1}}]),
        );
        let status = ops_status(&resp);
        assert!(status[0].starts_with('4'), "{resp}");
    });
}

/// Independent creates run together (they share commits) yet answer as if run one by one:
/// responses in request order, and of two creates of one userName (in any case) the later one
/// is refused, whatever the timing.
#[test]
fn independent_creates_run_together_with_request_order_results() {
    each_backend(|srv: &Server| {
        let mut list = Vec::new();
        for i in 0..40 {
            list.push(
                json!({"method": "POST", "path": "/Users", "bulkId": format!("b{i}"),
                             "data": user_body(&format!("crowd{i}@example.com"))}),
            );
        }
        // Same userName as operation 3, in another case, after it.
        list.push(json!({"method": "POST", "path": "/Users", "bulkId": "dup",
                         "data": user_body("CROWD3@example.com")}));
        let resp = bulk(srv, None, Value::Array(list));
        let ops = ops(&resp);
        assert_eq!(ops.len(), 41, "{resp}");
        for (i, op) in ops.iter().take(40).enumerate() {
            assert_eq!(op["bulkId"], json!(format!("b{i}")), "{resp}");
            assert_eq!(op["status"], json!("201"), "{op}");
        }
        assert_eq!(ops[40]["bulkId"], json!("dup"), "{resp}");
        assert_eq!(ops[40]["status"], json!("409"), "{resp}");
        assert_eq!(
            ops[40]["response"]["scimType"],
            json!("uniqueness"),
            "{resp}"
        );
        let listed = srv.get("/Users?filter=userName%20sw%20%22crowd%22&count=100");
        assert_eq!(listed.json()["totalResults"], json!(40), "{listed:?}");
        let first = srv.get(&format!("/Users/{}", id_from_location(&ops[3])));
        assert_eq!(
            first.json()["userName"],
            json!("crowd3@example.com"),
            "{first:?}"
        );
    });
}
