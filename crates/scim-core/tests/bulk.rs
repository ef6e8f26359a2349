//! Data-driven tests of bulk requests: parsing and limits, planning with bulkId references,
//! resolution, failOnErrors and the BulkResponse shape.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers report a broken fixture by panicking"
)]

use std::collections::HashMap;

use scim_core::Error;
use scim_core::bulk::{
    BulkLimits, BulkMethod, BulkOperation, BulkOperationResponse, BulkRequest, BulkResponse,
    BulkStep, FailOnErrors, PlanFailure, check_payload_size, resolve_bulk_ids, resolve_path,
};
use scim_core::schema::SchemaRegistry;
use serde_json::{Value, json};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn parse(body: &Value) -> Result<BulkRequest, Error> {
    BulkRequest::parse(body, &BulkLimits::default())
}

/// "ok <n> ops" or "ERR <status> <scimType>: <detail>"; for errors `want` is a prefix.
fn check_parse(body: Value, want: &str) {
    let got = match parse(&body) {
        Ok(r) => format!("ok {} ops", r.operations.len()),
        Err(e) => format!(
            "ERR {} {}: {e}",
            e.status(),
            e.scim_type().map_or("none", |t| t.as_str())
        ),
    };
    assert!(got.starts_with(want), "{body}: got {got:?}, want {want:?}…");
}

fn req(ops: Value) -> Value {
    json!({"schemas": [BULK], "Operations": ops})
}

fn post(bulk_id: &str, path: &str, data: Value) -> Value {
    json!({"method": "POST", "bulkId": bulk_id, "path": path, "data": data})
}

/// One line per case, so the table stays a table.
#[rustfmt::skip]
#[test]
fn parse_cases() {
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a"});
    let cases: Vec<(Value, &str)> = vec![
        (json!([]), "ERR 400 invalidSyntax: a bulk request must be a JSON object"),
        (json!({"schemas": [BULK]}), "ERR 400 invalidSyntax: a bulk request requires an Operations array"),
        (json!({"Operations": {}}), "ERR 400 invalidSyntax: Operations must be an array"),
        (json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}), "ERR 400 invalidSyntax: schemas must be"),
        (req(json!([1])), "ERR 400 invalidSyntax: Operations[0] must be a JSON object"),
        (req(json!([{"path": "/Users", "bulkId": "a", "data": {}}])), "ERR 400 invalidValue: Operations[0]: method is required"),
        (req(json!([{"method": "GET", "path": "/Users/1"}])), "ERR 400 invalidValue: Operations[0]: method \"GET\" is not a bulk method"),
        (req(json!([{"method": 1, "path": "/Users/1"}])), "ERR 400 invalidValue: Operations[0]: method must be a string"),
        (req(json!([{"method": "POST", "path": "/Users", "data": user}])), "ERR 400 invalidValue: Operations[0]: a POST operation requires a bulkId"),
        (req(json!([{"method": "POST", "path": "/Users", "bulkId": "a"}])), "ERR 400 invalidValue: Operations[0]: a POST operation requires data"),
        (req(json!([post("a", "/Users/123", user.clone())])), "ERR 400 invalidValue: Operations[0]: a POST path names the resource endpoint only"),
        (req(json!([{"method": "PUT", "path": "/Users", "data": user}])), "ERR 400 invalidValue: Operations[0]: a PUT path names one resource"),
        (req(json!([{"method": "PATCH", "path": "/Users/1"}])), "ERR 400 invalidValue: Operations[0]: a PATCH operation requires data"),
        (req(json!([{"method": "DELETE", "path": "/Users/a/b"}])), "ERR 400 invalidValue: Operations[0]: bulk path \"/Users/a/b\" has too many segments"),
        (req(json!([{"method": "DELETE", "path": "/Users/1?x=1"}])), "ERR 400 invalidValue: Operations[0]: bulk path \"/Users/1?x=1\" must not carry a query string"),
        (req(json!([{"method": "DELETE", "path": "/"}])), "ERR 400 invalidValue: Operations[0]: bulk path \"/\" names no resource endpoint"),
        (req(json!([{"method": "DELETE"}])), "ERR 400 invalidValue: Operations[0]: path is required"),
        (req(json!([{"method": "PUT", "path": "/Users/1", "data": "x"}])), "ERR 400 invalidValue: Operations[0]: data must be a JSON object"),
        (req(json!([post(" ", "/Users", user.clone())])), "ERR 400 invalidValue: Operations[0]: bulkId must not be empty"),
        (req(json!([{"method": "DELETE", "path": "/Users/1", "version": 3}])), "ERR 400 invalidValue: Operations[0]: version must be a string"),
        (req(json!([{"method": "DELETE", "path": "/Users/1"}, {"method": "bogus"}])), "ERR 400 invalidValue: Operations[1]:"),
        (req(json!([post("a", "/Users", user.clone()), {"method": "DELETE", "path": "/Users/1"}, post("a", "/Groups", json!({"displayName": "g"}))])),
            "ERR 400 invalidValue: bulkId \"a\" is used by Operations[0] and Operations[2]"),
        (json!({"failOnErrors": 0, "Operations": []}), "ERR 400 invalidValue: failOnErrors must be a positive integer"),
        (json!({"failOnErrors": -1, "Operations": []}), "ERR 400 invalidValue: failOnErrors must be a positive integer"),
        (json!({"failOnErrors": 1.5, "Operations": []}), "ERR 400 invalidValue: failOnErrors must be a positive integer"),
        // Accepted forms.
        (json!({"Operations": []}), "ok 0 ops"),
        (json!({"schemas": [BULK.to_lowercase()], "operations": []}), "ok 0 ops"),
        (req(json!([{"Method": "post", "BULKID": "a", "Path": "Users", "Data": user}])), "ok 1 ops"),
        (req(json!([{"method": "delete", "path": "/Groups/abc/"}])), "ok 1 ops"),
        (req(json!([{"method": "Patch", "path": "/Groups/bulkId:g", "data": {"Operations": []}}])), "ok 1 ops"),
    ];
    for (body, want) in cases {
        check_parse(body, want);
    }
}

#[test]
fn parse_keeps_fields() {
    let r = parse(&json!({
        "schemas": [BULK],
        "failOnErrors": "2",
        "Operations": [
            {"method": "post", "bulkId": "qwerty", "path": "/Users", "data": {"userName": "a"}},
            {"method": "PUT", "path": "/Users/b7c1", "version": "W/\"3694e05e9dff591\"", "data": {"userName": "b"}},
            {"method": "DELETE", "path": "/Users/e9e3", "version": "W/\"0ee8add0a938e1a\""},
        ]
    }))
    .unwrap();
    assert_eq!(r.fail_on_errors, Some(2));
    let op = &r.operations[0];
    assert_eq!(op.method, BulkMethod::Post);
    assert_eq!(op.bulk_id.as_deref(), Some("qwerty"));
    assert_eq!(op.data, Some(json!({"userName": "a"})));
    assert_eq!(
        r.operations[1].version.as_deref(),
        Some("W/\"3694e05e9dff591\"")
    );
    assert_eq!(r.operations[2].data, None);
    let t = r.operations[1].target().unwrap();
    assert_eq!((t.endpoint, t.id), ("Users", Some("b7c1")));
    let reg = SchemaRegistry::standard();
    assert_eq!(t.resource_type(&reg).unwrap().name, "User");
    let op = BulkOperation {
        path: "/widgets/1".into(),
        ..r.operations[2].clone()
    };
    assert!(op.target().unwrap().resource_type(&reg).is_none());
}

#[test]
fn limits_are_413() {
    let limits = BulkLimits {
        max_operations: 2,
        max_payload_size: 100,
    };
    let del = json!({"method": "DELETE", "path": "/Users/1"});
    let e = BulkRequest::parse(&req(json!([del, del, del])), &limits).unwrap_err();
    assert_eq!(e.status(), 413);
    assert_eq!(
        e.to_string(),
        "The number of operations (3) exceeds the maxOperations (2)."
    );
    assert!(BulkRequest::parse(&req(json!([del, del])), &limits).is_ok());
    let e = check_payload_size(101, &limits).unwrap_err();
    assert_eq!(e.status(), 413);
    assert_eq!(
        e.to_string(),
        "The size of the bulk operation (101 bytes) exceeds the maxPayloadSize (100)."
    );
    assert!(check_payload_size(100, &limits).is_ok());
    assert_eq!(
        BulkLimits::default(),
        BulkLimits {
            max_operations: 1000,
            max_payload_size: 1_048_576
        }
    );
}

/// The plan as text: `3` runs operation 3; `!3:unknown(x)`, `!3:cycle(a,b)`, `!3:after(a)`
/// fail it up front.
fn plan_of(ops: Value) -> String {
    let r = parse(&req(ops)).unwrap();
    r.plan()
        .steps
        .iter()
        .map(|s| match s {
            BulkStep::Run(i) => i.to_string(),
            BulkStep::Fail { index, failure } => match failure {
                PlanFailure::UnknownBulkId { bulk_id } => format!("!{index}:unknown({bulk_id})"),
                PlanFailure::CircularReference { bulk_ids } => {
                    format!("!{index}:cycle({})", bulk_ids.join(","))
                }
                PlanFailure::DependsOnFailed { bulk_id } => format!("!{index}:after({bulk_id})"),
            },
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn user(name: &str) -> Value {
    json!({"userName": name})
}

fn group_with(members: &[&str]) -> Value {
    let members: Vec<Value> = members
        .iter()
        .map(|m| json!({"type": "User", "value": m}))
        .collect();
    json!({"displayName": "g", "members": members})
}

fn patch(path: &str, value: Value) -> Value {
    json!({"method": "PATCH", "path": path, "data": {"Operations": [{"op": "add", "path": "members", "value": value}]}})
}

/// One line per case: the operations, then the plan (see [`plan_of`]).
#[rustfmt::skip]
#[test]
fn plan_cases() {
    let cases: Vec<(Value, &str)> = vec![
        // Independent operations keep request order.
        (json!([post("a", "/Users", user("a")), {"method": "DELETE", "path": "/Users/9"}, post("b", "/Users", user("b"))]), "0 1 2"),
        // RFC 7644 §3.7.2: the group (op 1) references a user created by a later operation (op 3).
        (json!([post("a", "/Users", user("a")), post("g", "/Groups", group_with(&["bulkId:c"])), post("b", "/Users", user("b")), post("c", "/Users", user("c"))]), "0 2 3 1"),
        // References in the path.
        (json!([{"method": "DELETE", "path": "/Users/bulkId:u"}, post("u", "/Users", user("u"))]), "1 0"),
        (json!([patch("/Groups/bulkId:g", json!([{"value": "bulkId:u"}])), post("g", "/Groups", group_with(&[])), post("u", "/Users", user("u"))]), "1 2 0"),
        // Nested deep inside data: the enterprise manager.
        (json!([post("e", "/Users", json!({"userName": "e", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "bulkId:m"}}})), post("m", "/Users", user("m"))]), "1 0"),
        // A chain runs back to front.
        (json!([post("a", "/Groups", group_with(&["bulkId:b"])), post("b", "/Groups", group_with(&["bulkId:c"])), post("c", "/Users", user("c"))]), "2 1 0"),
        // Only whole strings are references.
        (json!([post("a", "/Users", json!({"userName": "a", "nickName": "see bulkId:b", "title": "bulkId:"})), post("b", "/Users", user("b"))]), "0 1"),
        // Unknown references fail only their operation.
        (json!([post("a", "/Users", user("a")), patch("/Groups/g1", json!([{"value": "bulkId:zzz"}])), post("b", "/Users", user("b"))]), "0 !1:unknown(zzz) 2"),
        (json!([{"method": "DELETE", "path": "/Users/bulkId:nope"}]), "!0:unknown(nope)"),
        // A bulkId on a non-POST defines nothing.
        (json!([{"method": "DELETE", "path": "/Users/1", "bulkId": "x"}, patch("/Groups/g1", json!([{"value": "bulkId:x"}]))]), "0 !1:unknown(x)"),
        // Dependents of a failed POST fail too.
        (json!([post("a", "/Groups", group_with(&["bulkId:zzz"])), patch("/Groups/bulkId:a", json!([{"value": "u1"}]))]), "!0:unknown(zzz) !1:after(a)"),
        // Cycles: the POSTs of each cycle fail, dependents after them.
        (json!([post("a", "/Groups", group_with(&["bulkId:b"])), post("b", "/Groups", group_with(&["bulkId:a"]))]), "!0:cycle(a,b) !1:cycle(a,b)"),
        (json!([post("a", "/Groups", group_with(&["bulkId:a"]))]), "!0:cycle(a)"),
        (json!([patch("/Groups/bulkId:a", json!([{"value": "u1"}])), post("a", "/Groups", group_with(&["bulkId:b"])), post("b", "/Groups", group_with(&["bulkId:a"])), post("u", "/Users", user("u"))]),
            "3 !1:cycle(a,b) !2:cycle(a,b) !0:after(a)"),
        (json!([post("c", "/Groups", group_with(&["bulkId:a"])), post("a", "/Groups", group_with(&["bulkId:b"])), post("b", "/Groups", group_with(&["bulkId:a"])), post("x", "/Groups", group_with(&["bulkId:y"])), post("y", "/Groups", group_with(&["bulkId:x"]))]),
            "!1:cycle(a,b) !2:cycle(a,b) !3:cycle(x,y) !4:cycle(x,y) !0:after(a)"),
    ];
    for (ops, want) in cases {
        assert_eq!(plan_of(ops.clone()), want, "{ops}");
    }
}

#[test]
fn plan_order_and_failures_accessors() {
    let r = parse(&req(json!([
        {"method": "DELETE", "path": "/Users/bulkId:u"},
        post("u", "/Users", user("u")),
        {"method": "DELETE", "path": "/Users/bulkId:q"},
    ])))
    .unwrap();
    let plan = r.plan();
    assert_eq!(plan.order(), vec![1, 0]);
    let failures = plan.failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].0, 2);
    assert_eq!(
        plan.steps.iter().map(BulkStep::index).collect::<Vec<_>>(),
        [1, 0, 2]
    );
}

#[test]
fn resolution() {
    let ids: HashMap<String, String> = [("u", "92b7"), ("g", "e9e3")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut v = json!({"members": [{"value": "bulkId:u"}, {"value": "other"}], "x": {"y": ["bulkId:g", 1, null]}, "z": "bulkid:u"});
    resolve_bulk_ids(&mut v, &ids).unwrap();
    assert_eq!(
        v,
        json!({"members": [{"value": "92b7"}, {"value": "other"}], "x": {"y": ["e9e3", 1, null]}, "z": "bulkid:u"})
    );
    let original = json!({"a": "bulkId:u", "b": "bulkId:missing"});
    let mut v = original.clone();
    assert_eq!(resolve_bulk_ids(&mut v, &ids), Err("missing".to_string()));
    assert_eq!(v, original, "nothing changes when a reference is unknown");
    assert_eq!(
        resolve_path("/Groups/bulkId:g", &ids),
        Ok("/Groups/e9e3".to_string())
    );
    assert_eq!(
        resolve_path("/Groups/abc", &ids),
        Ok("/Groups/abc".to_string())
    );
    assert_eq!(resolve_path("/Groups/bulkId:h", &ids), Err("h".to_string()));
    let op = BulkOperation {
        method: BulkMethod::Patch,
        bulk_id: None,
        version: None,
        path: "/Groups/bulkId:g".into(),
        data: Some(
            json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:u"}]}]}),
        ),
    };
    assert_eq!(op.references(), vec!["g".to_string(), "u".to_string()]);
    let resolved = op.resolved(&ids).unwrap();
    assert_eq!(resolved.path, "/Groups/e9e3");
    assert_eq!(
        resolved.data.unwrap()["Operations"][0]["value"][0]["value"],
        "92b7"
    );
    let only_g: HashMap<String, String> = [("g".to_string(), "e9e3".to_string())].into();
    assert_eq!(op.resolved(&only_g), Err("u".to_string()));
}

#[test]
fn fail_on_errors_counting() {
    let op = BulkOperation {
        method: BulkMethod::Delete,
        bulk_id: None,
        version: None,
        path: "/Users/1".into(),
        data: None,
    };
    let ok = BulkOperationResponse::success(&op, 204, None, None);
    let bad = BulkOperationResponse::from_error(&op, &Error::NotFound("no such user".into()));
    // (limit, outcomes, the record() results)
    let cases: &[(Option<u64>, &[bool], &[bool])] = &[
        (None, &[false, false, false], &[false, false, false]),
        (Some(1), &[true, false], &[false, true]),
        (Some(1), &[false], &[true]),
        (
            Some(2),
            &[false, true, false, false],
            &[false, false, true, true],
        ),
        (Some(3), &[false, false], &[false, false]),
    ];
    for (limit, outcomes, want) in cases {
        let mut budget = FailOnErrors::new(*limit);
        let got: Vec<bool> = outcomes
            .iter()
            .map(|&success| budget.record(if success { &ok } else { &bad }))
            .collect();
        assert_eq!(got, *want, "limit {limit:?}, outcomes {outcomes:?}");
        assert_eq!(
            budget.errors(),
            outcomes.iter().filter(|s| !**s).count() as u64
        );
    }
}

#[test]
fn response_matches_rfc_shape() {
    let r = parse(&json!({
        "schemas": [BULK],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": {"userName": "Alice"}},
            {"method": "PUT", "path": "/Users/b7c14771-226c-4d05-8860-134711653041", "version": "W/\"3694e05e9dff591\"", "data": {"userName": "Bob"}},
            {"method": "DELETE", "path": "/Users/e9e30dba-f08f-4109-8486-d5c6a331660a"},
            {"method": "POST", "path": "/Users", "bulkId": "ytrewq", "data": {"userName": "Alice"}},
        ]
    }))
    .unwrap();
    let ops = &r.operations;
    let base = "https://example.com/v2/Users/";
    let response = BulkResponse::new(vec![
        BulkOperationResponse::success(
            &ops[0],
            201,
            Some(format!("{base}92b725cd9465")),
            Some("W/\"oY4m4wn58tkVjJxK\"".into()),
        ),
        BulkOperationResponse::success(
            &ops[1],
            200,
            Some(format!("{base}b7c14771-226c-4d05-8860-134711653041")),
            Some("W/\"huJj29dMNgu3WXPD\"".into()),
        ),
        BulkOperationResponse::success(
            &ops[2],
            204,
            Some(format!("{base}e9e30dba-f08f-4109-8486-d5c6a331660a")),
            None,
        ),
        BulkOperationResponse::from_error(
            &ops[3],
            &Error::Uniqueness("userName \"Alice\" is already taken".into()),
        ),
    ]);
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
            "Operations": [
                {"location": "https://example.com/v2/Users/92b725cd9465", "method": "POST", "bulkId": "qwerty", "version": "W/\"oY4m4wn58tkVjJxK\"", "status": "201"},
                {"location": "https://example.com/v2/Users/b7c14771-226c-4d05-8860-134711653041", "method": "PUT", "version": "W/\"huJj29dMNgu3WXPD\"", "status": "200"},
                {"location": "https://example.com/v2/Users/e9e30dba-f08f-4109-8486-d5c6a331660a", "method": "DELETE", "status": "204"},
                {"method": "POST", "bulkId": "ytrewq", "status": "409", "response": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": "409", "scimType": "uniqueness", "detail": "userName \"Alice\" is already taken"}}
            ]
        })
    );
    // Key order follows the RFC example.
    let text = serde_json::to_string(&response.operations[0]).unwrap();
    assert_eq!(
        text,
        r#"{"location":"https://example.com/v2/Users/92b725cd9465","method":"POST","bulkId":"qwerty","version":"W/\"oY4m4wn58tkVjJxK\"","status":"201"}"#
    );
    // A client can read it back, methods in any case.
    let mut v = serde_json::to_value(&response).unwrap();
    v["Operations"][1]["method"] = json!("put");
    let back: BulkResponse = serde_json::from_value(v).unwrap();
    assert_eq!(back, response);
    assert!(
        serde_json::from_value::<BulkResponse>(
            json!({"schemas": [], "Operations": [{"method": "GET", "status": "200"}]})
        )
        .is_err()
    );
}

#[test]
fn failure_bodies() {
    let op = BulkOperation {
        method: BulkMethod::Patch,
        bulk_id: None,
        version: None,
        path: "/Groups/bulkId:a".into(),
        data: Some(json!({})),
    };
    let cases = [
        (
            PlanFailure::UnknownBulkId {
                bulk_id: "zzz".into(),
            },
            "400",
            "bulkId:zzz is referenced but no POST operation in this request has bulkId \"zzz\"",
        ),
        (
            PlanFailure::CircularReference {
                bulk_ids: vec!["a".into(), "b".into()],
            },
            "409",
            "circular bulkId references between a, b; create one of them without the reference and add it with a later PATCH",
        ),
        (
            PlanFailure::DependsOnFailed {
                bulk_id: "a".into(),
            },
            "409",
            "bulkId:a could not be resolved because the operation that creates it failed",
        ),
    ];
    for (failure, status, detail) in cases {
        let r = BulkOperationResponse::failed(&op, &failure)
            .with_location("https://h/scim/v2/Groups/x");
        assert_eq!(r.status, status);
        assert!(r.is_error());
        assert_eq!(r.location.as_deref(), Some("https://h/scim/v2/Groups/x"));
        let body = r.response.unwrap();
        assert_eq!(body["status"], status);
        assert_eq!(body["scimType"], "invalidValue");
        assert_eq!(body["detail"], detail);
        assert_eq!(
            body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
    }
    let ok = BulkOperationResponse::success(&op, 200, None, None).with_response(json!({"id": "x"}));
    assert!(!ok.is_error());
    assert_eq!(ok.status_code(), Some(200));
    assert_eq!(ok.response, Some(json!({"id": "x"})));
}

/// A miniature executor, as the server would write one: walks the plan, resolves references,
/// "creates" resources with sequential ids, fails creates of users named "dup", and stops when
/// failOnErrors says so.
fn execute(body: Value) -> Value {
    let r = parse(&body).unwrap();
    let mut ids = HashMap::new();
    let mut budget = FailOnErrors::new(r.fail_on_errors);
    let mut out = Vec::new();
    for step in r.plan().steps {
        let op = &r.operations[step.index()];
        let resp = match step {
            BulkStep::Fail { failure, .. } => BulkOperationResponse::failed(op, &failure),
            BulkStep::Run(_) => match op.resolved(&ids) {
                Err(missing) => BulkOperationResponse::failed(
                    op,
                    &PlanFailure::DependsOnFailed { bulk_id: missing },
                ),
                Ok(resolved) => {
                    let data = resolved.data.clone().unwrap_or(Value::Null);
                    if data["userName"] == "dup" {
                        BulkOperationResponse::from_error(
                            op,
                            &Error::Uniqueness("userName dup is taken".into()),
                        )
                    } else if op.method == BulkMethod::Post {
                        let id = format!("id{}", ids.len() + 1);
                        if let Some(b) = &op.bulk_id {
                            ids.insert(b.clone(), id.clone());
                        }
                        let location =
                            format!("https://h/v2/{}/{id}", resolved.target().unwrap().endpoint);
                        BulkOperationResponse::success(op, 201, Some(location), None)
                            .with_response(data)
                    } else {
                        BulkOperationResponse::success(
                            op,
                            200,
                            Some(format!("https://h/v2{}", resolved.path)),
                            None,
                        )
                    }
                }
            },
        };
        let stop = budget.record(&resp);
        out.push(resp);
        if stop {
            break;
        }
    }
    serde_json::to_value(BulkResponse::new(out)).unwrap()
}

#[test]
fn executor_walkthrough() {
    let out = execute(json!({
        "schemas": [BULK],
        "Operations": [
            post("g", "/Groups", group_with(&["bulkId:u1", "bulkId:u2"])),
            post("u1", "/Users", user("one")),
            post("u2", "/Users", user("dup")),
            patch("/Groups/bulkId:g", json!([{"value": "bulkId:u1"}])),
        ]
    }));
    let ops = out["Operations"].as_array().unwrap();
    let summary: Vec<(String, String)> = ops
        .iter()
        .map(|o| {
            (
                o["bulkId"].as_str().unwrap_or("-").to_string(),
                o["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // u1 is created, u2 fails (duplicate), so g can't resolve bulkId:u2 and fails, and the
    // PATCH of g fails because g was never created.
    assert_eq!(
        summary,
        [("u1", "201"), ("u2", "409"), ("g", "409"), ("-", "409")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(ops[0]["location"], "https://h/v2/Users/id1");
    assert_eq!(
        ops[2]["response"]["detail"],
        "bulkId:u2 could not be resolved because the operation that creates it failed"
    );

    // failOnErrors 1: stop after the first error, leaving the rest out.
    let out = execute(json!({
        "failOnErrors": 1,
        "Operations": [
            post("a", "/Users", user("dup")),
            post("b", "/Users", user("b")),
        ]
    }));
    assert_eq!(out["Operations"].as_array().unwrap().len(), 1);
    assert_eq!(out["Operations"][0]["status"], "409");

    // A resolved reference lands in the created resource.
    let out = execute(json!({
        "Operations": [
            post("g", "/Groups", group_with(&["bulkId:u"])),
            post("u", "/Users", user("u")),
        ]
    }));
    assert_eq!(
        out["Operations"][1]["response"]["members"][0]["value"],
        "id1"
    );
    assert_eq!(out["Operations"][1]["location"], "https://h/v2/Groups/id2");
}
