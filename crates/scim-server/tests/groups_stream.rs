//! Large groups over HTTP: the real binary on SQLite and (when `SCIM_TEST_PG_URL` is set)
//! PostgreSQL, a group of more than one member page (`handlers::stream::MEMBER_PAGE`, 10 000)
//! and more members than a Group PATCH answers with by default (`group_patch_member_limit`,
//! 10 000).
//!
//! Checked: a streamed Group (by id, in `GET /Groups`, `/Groups/.search` and `/.search`) is
//! valid JSON holding every member exactly once, in member-id order, in the same element shape
//! as small groups (`value`, `$ref`, `type`, `display` when sent, JSON escapes included);
//! projections (`attributes=members.value`, `excludedAttributes=members`, `attributes`
//! without members); ETag and `If-None-Match`; and the Group PATCH rule (200 with the group up
//! to the limit, 204 with an ETag beyond it, 200 whatever the size when `attributes` names
//! `members` or the response shows no members).

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly, with the response that broke them"
)]

#[path = "black_box/common/mod.rs"]
#[expect(
    dead_code,
    reason = "the black-box harness, of which these tests use a part"
)]
mod common;

use serde_json::{Value, json};

use common::{Resp, Server, each_backend, id_of, patch_body, resources, urn};

/// Members of the large group: past one member page and past the PATCH limit.
const BIG: usize = 12_050;
/// The default `group_patch_member_limit`.
const LIMIT: usize = 10_000;

/// Creates `n` users through `/Bulk` (1 000 per request); returns their ids in order.
fn bulk_users(srv: &Server, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for start in (0..n).step_by(1000) {
        let ops: Vec<Value> = (start..n.min(start + 1000))
            .map(|i| {
                json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                       "data": {"schemas": [urn::USER], "userName": format!("m{i}@example.com")}})
            })
            .collect();
        let r = srv.post(
            "/Bulk",
            &json!({"schemas": [urn::BULK_REQUEST], "Operations": ops}),
        );
        assert_eq!(r.status, 200, "[{}] bulk: {}", srv.backend, r.status);
        for op in r.json()["Operations"].as_array().expect("Operations") {
            assert_eq!(op["status"], json!("201"), "[{}] {op}", srv.backend);
            let loc = op["location"].as_str().expect("location");
            ids.push(loc.rsplit('/').next().expect("id").to_string());
        }
    }
    ids
}

/// The display sent for the `i`th member: none for most, and one that needs JSON escapes.
fn display_of(i: usize) -> Option<String> {
    match i % 7 {
        0 => Some(format!("Zoë \"{i}\" \\ tab\there")),
        3 => Some(format!("m{i}")),
        _ => None,
    }
}

/// The member element every Group response shows for user `id`.
fn element(srv: &Server, id: &str, display: Option<&str>) -> Value {
    let mut e = json!({"value": id, "$ref": format!("{}/scim/v2/Users/{id}", srv.origin),
                       "type": "User"});
    if let Some(d) = display {
        e["display"] = json!(d);
    }
    e
}

/// `members` as expected: by member id.
fn expected_members(srv: &Server, members: &[(String, Option<String>)]) -> Vec<Value> {
    let mut sorted: Vec<&(String, Option<String>)> = members.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
        .into_iter()
        .map(|(id, d)| element(srv, id, d.as_deref()))
        .collect()
}

/// The `members` array of a Group document (empty when absent).
fn members_of(doc: &Value) -> &[Value] {
    doc["members"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

#[track_caller]
fn ok_json(srv: &Server, r: &Resp, what: &str) -> Value {
    assert_eq!(
        r.status,
        200,
        "[{}] {what}: {} {}",
        srv.backend,
        r.status,
        &r.text[..r.text.len().min(500)]
    );
    common::assert_scim_json(r);
    serde_json::from_str(&r.text)
        .unwrap_or_else(|e| panic!("[{}] {what}: not JSON ({e})", srv.backend))
}

/// Whether the body was streamed (chunked, no length) rather than sent whole.
fn streamed(r: &Resp) -> bool {
    r.header("content-length").is_none()
        && r.header("transfer-encoding")
            .is_some_and(|t| t.contains("chunked"))
}

#[test]
fn large_groups_stream_every_member_once_in_order() {
    each_backend(|srv: &Server| {
        let ids = bulk_users(srv, BIG + 1);
        let spare = ids[BIG].clone();
        let members: Vec<(String, Option<String>)> = ids[..BIG]
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), display_of(i)))
            .collect();

        let big = srv.post(
            "/Groups",
            &json!({"schemas": [urn::GROUP], "displayName": "big"}),
        );
        assert_eq!(big.status, 201, "[{}] {big:?}", srv.backend);
        let gid = id_of(&big.json());
        // Filled by PATCH adds of 5 000; excludedAttributes=members answers 200 without them.
        for chunk in members.chunks(5000) {
            let value: Vec<Value> = chunk
                .iter()
                .map(|(id, d)| match d {
                    Some(d) => json!({"value": id, "display": d}),
                    None => json!({"value": id}),
                })
                .collect();
            let r = srv
                .req(
                    "PATCH",
                    &format!("/Groups/{gid}?excludedAttributes=members"),
                )
                .json(&patch_body(
                    &json!([{"op": "add", "path": "members", "value": value}]),
                ))
                .send();
            let doc = ok_json(srv, &r, "PATCH add, members excluded");
            assert!(doc.get("members").is_none(), "[{}] {doc}", srv.backend);
        }
        let small = srv.create_group("small", &[&ids[5], &ids[3]]);
        let small_id = id_of(&small);
        let want = expected_members(srv, &members);

        // GET by id: streamed, complete, ordered, same shape as small groups.
        let r = srv.get(&format!("/Groups/{gid}"));
        let doc = ok_json(srv, &r, "GET the big group");
        assert!(streamed(&r), "[{}] headers {:?}", srv.backend, r.headers);
        assert_eq!(
            members_of(&doc),
            want.as_slice(),
            "[{}] members",
            srv.backend
        );
        assert_eq!(doc["displayName"], json!("big"));
        assert_eq!(doc["id"], json!(gid));
        let version = doc["meta"]["version"]
            .as_str()
            .expect("meta.version")
            .to_string();
        assert_eq!(r.header("etag"), Some(version.as_str()));
        assert_eq!(
            doc["meta"]["location"],
            json!(format!("{}/scim/v2/Groups/{gid}", srv.origin))
        );
        let r = srv
            .req("GET", &format!("/Groups/{gid}"))
            .header("if-none-match", &version)
            .send();
        assert_eq!(r.status, 304, "[{}] If-None-Match", srv.backend);
        assert!(r.text.is_empty());

        // A small group: whole body with a length, same element shape.
        let r = srv.get(&format!("/Groups/{small_id}"));
        let small_doc = ok_json(srv, &r, "GET the small group");
        assert!(r.header("content-length").is_some(), "{:?}", r.headers);
        let small_want = expected_members(srv, &[(ids[5].clone(), None), (ids[3].clone(), None)]);
        assert_eq!(members_of(&small_doc), small_want.as_slice());

        // Projections.
        let r = srv.get(&format!("/Groups/{gid}?attributes=members.value"));
        let doc = ok_json(srv, &r, "attributes=members.value");
        let values: Vec<Value> = want.iter().map(|m| json!({"value": m["value"]})).collect();
        assert_eq!(members_of(&doc), values.as_slice());
        let mut keys: Vec<&str> = doc
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["id", "members", "schemas"],
            "[{}] only always-returned attributes and members",
            srv.backend
        );
        let r = srv.get(&format!("/Groups/{gid}?attributes=members.display"));
        let doc = ok_json(srv, &r, "attributes=members.display");
        let displays: Vec<Value> = want
            .iter()
            .filter(|m| m.get("display").is_some())
            .map(|m| json!({"display": m["display"]}))
            .collect();
        assert_eq!(members_of(&doc), displays.as_slice());
        for q in ["excludedAttributes=members", "attributes=displayName"] {
            let r = srv.get(&format!("/Groups/{gid}?{q}"));
            let doc = ok_json(srv, &r, q);
            assert!(doc.get("members").is_none(), "[{}] {q}: {doc}", srv.backend);
            assert!(r.header("content-length").is_some(), "{q}: {:?}", r.headers);
        }

        // Lists: the big group streamed inside the ListResponse, every group as by id.
        let r = srv.get("/Groups");
        let list = ok_json(srv, &r, "GET /Groups");
        assert!(streamed(&r), "[{}] {:?}", srv.backend, r.headers);
        assert_eq!(list["schemas"], json!([urn::LIST]));
        assert_eq!(list["totalResults"], json!(2));
        assert_eq!(list["itemsPerPage"], json!(2));
        assert_eq!(list["startIndex"], json!(1));
        let got = resources(&list);
        assert_eq!(got.len(), 2);
        let by_id = srv.get(&format!("/Groups/{gid}")).json();
        assert_eq!(
            got[0], by_id,
            "[{}] listed big group = GET by id",
            srv.backend
        );
        assert_eq!(got[1], small_doc, "[{}] listed small group", srv.backend);
        let list = ok_json(
            srv,
            &srv.get("/Groups?excludedAttributes=members"),
            "list, no members",
        );
        assert!(resources(&list).iter().all(|g| g.get("members").is_none()));
        let list = ok_json(srv, &srv.get("/Groups?startIndex=2"), "list from 2");
        assert_eq!(resources(&list), std::slice::from_ref(&small_doc));
        let search = json!({"schemas": [urn::SEARCH], "filter": "displayName eq \"big\""});
        for path in ["/Groups/.search", "/.search"] {
            let list = ok_json(srv, &srv.post(path, &search), path);
            assert_eq!(list["totalResults"], json!(1), "[{}] {path}", srv.backend);
            assert_eq!(
                resources(&list),
                std::slice::from_ref(&by_id),
                "[{}] {path}",
                srv.backend
            );
        }

        // PATCH: above the limit, 204 with the new ETag; the change is there.
        let add_spare = json!([{"op": "add", "path": "members", "value": [{"value": spare}]}]);
        let r = srv.patch(&format!("/Groups/{gid}"), &add_spare);
        assert_eq!(r.status, 204, "[{}] PATCH a big group: {r:?}", srv.backend);
        assert!(r.text.is_empty());
        let etag = r.header("etag").expect("ETag on 204").to_string();
        let doc = ok_json(srv, &srv.get(&format!("/Groups/{gid}")), "after add");
        assert_eq!(doc["meta"]["version"], json!(etag));
        assert_eq!(members_of(&doc).len(), BIG + 1);
        // ...unless the client names members: then the whole group, whatever its size.
        let remove_spare =
            json!([{"op": "remove", "path": format!("members[value eq \"{spare}\"]")}]);
        let r = srv
            .req("PATCH", &format!("/Groups/{gid}?attributes=members"))
            .json(&patch_body(&remove_spare))
            .send();
        let doc = ok_json(srv, &r, "PATCH ?attributes=members");
        assert_eq!(members_of(&doc), want.as_slice());
        // At the limit: 200 with the group and its members; one more: 204.
        let gone: Vec<Value> = members[LIMIT..]
            .iter()
            .map(|(id, _)| json!({"value": id}))
            .collect();
        let r = srv.patch(
            &format!("/Groups/{gid}"),
            &json!([{"op": "Remove", "path": "members", "value": gone}]),
        );
        let doc = ok_json(srv, &r, "PATCH down to the limit");
        assert_eq!(
            members_of(&doc),
            expected_members(srv, &members[..LIMIT]).as_slice()
        );
        let r = srv.patch(&format!("/Groups/{gid}"), &add_spare);
        assert_eq!(r.status, 204, "[{}] PATCH to limit + 1: {r:?}", srv.backend);
        // A small group's PATCH answers with its members, as before.
        let r = srv.patch(&format!("/Groups/{small_id}"), &add_spare);
        let doc = ok_json(srv, &r, "PATCH a small group");
        assert_eq!(members_of(&doc).len(), 3);
    });
}

#[test]
fn group_responses_are_the_documents_small_groups_always_had() {
    each_backend(|srv: &Server| {
        let a = id_of(&srv.create_user("a@example.com"));
        let b = id_of(&srv.create_user("b@example.com"));
        let inner = id_of(&srv.create_group("inner", &[]));
        let r = srv.post(
            "/Groups?attributes=members,displayName",
            &json!({"schemas": [urn::GROUP], "displayName": "outer", "externalId": "x1",
                    "members": [{"value": b, "display": "B \u{1}"}, {"value": a},
                                {"value": inner, "display": "inner"}]}),
        );
        assert_eq!(r.status, 201, "[{}] {r:?}", srv.backend);
        let doc: Value = serde_json::from_str(&r.text).expect("JSON");
        let gid = id_of(&doc);
        assert_eq!(
            r.header("location"),
            Some(format!("{}/scim/v2/Groups/{gid}", srv.origin).as_str())
        );
        let mut want = vec![
            element(srv, &a, None),
            element(srv, &b, Some("B \u{1}")),
            json!({"value": inner, "$ref": format!("{}/scim/v2/Groups/{inner}", srv.origin),
                   "type": "Group", "display": "inner"}),
        ];
        want.sort_by(|x, y| x["value"].as_str().cmp(&y["value"].as_str()));
        assert_eq!(
            doc,
            json!({"schemas": [urn::GROUP], "id": gid, "displayName": "outer", "members": want}),
            "[{}] attributes=members,displayName",
            srv.backend
        );
        let full = ok_json(srv, &srv.get(&format!("/Groups/{gid}")), "GET");
        assert_eq!(full["externalId"], json!("x1"));
        assert_eq!(members_of(&full), want.as_slice());
        // PUT answers with the members it set; an emptied group shows no `members` key.
        let r = srv.put(
            &format!("/Groups/{gid}"),
            &json!({"schemas": [urn::GROUP], "displayName": "outer"}),
        );
        let doc = ok_json(srv, &r, "PUT without members");
        assert!(doc.get("members").is_none(), "[{}] {doc}", srv.backend);
        let r = srv.patch(
            &format!("/Groups/{gid}"),
            &json!([{"op": "add", "path": "members", "value": [{"value": a}]}]),
        );
        let doc = ok_json(srv, &r, "PATCH a small group");
        assert_eq!(members_of(&doc), [element(srv, &a, None)].as_slice());
        assert_eq!(r.header("etag"), doc["meta"]["version"].as_str());
    });
}
