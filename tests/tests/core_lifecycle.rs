//! A provisioning lifecycle driven through `scim-core`'s public API only, the way the server
//! uses it: Okta creates a user, finds it by filter, echoes it back in a PUT, deactivates it by
//! PATCH; Entra patches it in its own dialect; a list query pages and projects the result.
//! It checks that the modules agree with each other, which their own tests can't.

use chrono::{TimeZone, Utc};
use scim_core::filter::{eval, parse_filter};
use scim_core::patch::{PatchRequest, apply};
use scim_core::query::{ListQuery, ListResponse, QueryLimits, sort_and_page};
use scim_core::resource::{Meta, WriteMode, etag, parse_etag, prepare, stamp};
use scim_core::schema::SchemaRegistry;
use serde_json::{Value, json};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn meta(version: u64, minute: u32) -> Meta {
    let t = Utc.with_ymd_and_hms(2026, 11, 30, 9, minute, 0).unwrap();
    Meta {
        resource_type: "User".into(),
        created: Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap(),
        last_modified: t,
        location: "https://scim.example.com/scim/v2/Users/u-1".into(),
        version,
    }
}

#[test]
fn okta_then_entra_lifecycle() {
    let reg = SchemaRegistry::standard();
    let rt = reg.resource_type("User").unwrap();

    // Okta create (clients.md a.1 #4): password and empty groups included.
    let created = prepare(
        &reg,
        rt,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "Isaac.Brock@example.com",
            "name": {"givenName": "Isaac", "familyName": "Brock"},
            "emails": [{"primary": true, "value": "isaac.brock@example.com", "type": "work"}],
            "displayName": "Isaac Brock", "locale": "en-US", "externalId": "00u1abcd",
            "groups": [], "password": "1mz050nq", "active": true
        }),
        WriteMode::Create,
        None,
    )
    .unwrap();
    assert_eq!(
        created["password"], "1mz050nq",
        "kept for the server to hash"
    );
    let mut stored = created.clone();
    stored.as_object_mut().unwrap().remove("password");
    stamp(&mut stored, "u-1", &meta(1, 0));
    assert_eq!(stored["meta"]["version"], etag(1));
    assert_eq!(
        parse_etag(stored["meta"]["version"].as_str().unwrap()),
        Some(1)
    );

    // Okta's existence check uses the login in another case; Entra expects it to match.
    let ctx = eval::EvalContext::new(&reg, rt);
    let f = parse_filter(r#"userName eq "isaac.brock@EXAMPLE.com""#).unwrap();
    assert!(eval::matches(&f, &stored, &ctx));
    let f = parse_filter(r#"externalId eq "00U1ABCD""#).unwrap();
    assert!(!eval::matches(&f, &stored, &ctx), "externalId is caseExact");

    // Okta profile update: PUT with the body we returned plus a changed title.
    let mut echoed = stored.clone();
    echoed["title"] = json!("Tour Guide");
    let replaced = prepare(&reg, rt, echoed, WriteMode::Replace, Some(&stored)).unwrap();
    assert_eq!(replaced["title"], "Tour Guide");
    assert_eq!(
        replaced["id"], "u-1",
        "readOnly id carried over, not taken from input"
    );

    // Okta deactivation: pathless replace.
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let out = apply(&reg, rt, &replaced, &PatchRequest::parse(&body).unwrap()).unwrap();
    assert_eq!(out.resource["active"], false);
    assert_eq!(
        out.changes.attributes.iter().collect::<Vec<_>>(),
        ["active"]
    );

    // Entra: capitalised ops, string booleans, manager as a bare string, URN path.
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {"op": "Replace", "path": "active", "value": "True"},
        {"op": "Add", "path": format!("{ENT}:manager"), "value": "u-9"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ib@example.com"}
    ]});
    let out = apply(
        &reg,
        rt,
        &out.resource,
        &PatchRequest::parse(&body).unwrap(),
    )
    .unwrap();
    assert_eq!(out.resource["active"], true);
    assert_eq!(out.resource[ENT]["manager"], json!({"value": "u-9"}));
    let f = parse_filter(r#"emails[type eq "work"].value eq "IB@example.com""#).unwrap();
    assert!(eval::matches(&f, &out.resource, &ctx));

    // The patched document survives a fresh prepare unchanged (what the store re-reads).
    let again = prepare(
        &reg,
        rt,
        out.resource.clone(),
        WriteMode::Replace,
        Some(&out.resource),
    )
    .unwrap();
    assert_eq!(again, out.resource);
}

#[test]
fn okta_import_pages_through_users_with_projection() {
    let reg = SchemaRegistry::standard();
    let rt = reg.resource_type("User").unwrap();
    let docs: Vec<Value> = (0..250)
        .map(|i| {
            let mut d = prepare(
                &reg,
                rt,
                json!({"userName": format!("user{i:03}@example.com"), "password": "x"}),
                WriteMode::Create,
                None,
            )
            .unwrap();
            d.as_object_mut().unwrap().remove("password");
            stamp(&mut d, &format!("id-{i:03}"), &meta(1, (i % 60) as u32));
            d
        })
        .collect();
    let limits = QueryLimits::default();
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let start_s = start.to_string();
        let q = ListQuery::from_query_pairs(
            [
                ("startIndex", start_s.as_str()),
                ("count", "100"),
                ("sortBy", "userName"),
                ("attributes", "userName"),
            ],
            &limits,
        )
        .unwrap();
        q.validate_against(&reg, rt).unwrap();
        let projection = q.projection(&reg, rt).unwrap();
        let (page, total) = sort_and_page(docs.clone(), &q, &reg, rt);
        let page: Vec<Value> = page.iter().map(|d| projection.apply(d)).collect();
        let resp = serde_json::to_value(ListResponse::new(page, total, q.start_index)).unwrap();
        assert_eq!(resp["totalResults"], 250);
        assert_eq!(
            resp["itemsPerPage"],
            resp["Resources"].as_array().unwrap().len()
        );
        for r in resp["Resources"].as_array().unwrap() {
            assert!(
                r.get("meta").is_none(),
                "projection keeps only what was asked (and id)"
            );
            seen.push(r["userName"].as_str().unwrap().to_string());
        }
        start += 100;
        if start > 250 {
            break;
        }
    }
    let expected: Vec<String> = (0..250)
        .map(|i| format!("user{i:03}@example.com"))
        .collect();
    assert_eq!(seen, expected, "every user once, in order, across pages");
}
