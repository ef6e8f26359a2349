//! Data-driven tests of list and search parameters, the ListResponse shape, and in-memory
//! sorting and paging.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers report a broken fixture by panicking"
)]

use scim_core::query::{ListQuery, ListResponse, QueryLimits, SortOrder, sort_and_page};
use scim_core::schema::SchemaRegistry;
use scim_core::{Error, Result};
use serde_json::{Value, json};

/// A compact, exact description of a query: defaults are left out.
fn summary(q: &ListQuery) -> String {
    let mut out = format!("s={} c={}", q.start_index, q.count);
    if let Some(sort) = &q.sort_by {
        out.push_str(&format!(" sort={sort}"));
    }
    if q.sort_order == SortOrder::Descending {
        out.push_str(" desc");
    }
    if let Some(f) = &q.filter {
        out.push_str(&format!(" filter={f}"));
    }
    if !q.attributes.is_empty() {
        out.push_str(&format!(" attrs={}", q.attributes.join(",")));
    }
    if !q.excluded_attributes.is_empty() {
        out.push_str(&format!(" excl={}", q.excluded_attributes.join(",")));
    }
    out
}

/// "ERR <scimType>: <detail>" for errors.
fn outcome(r: Result<ListQuery>) -> String {
    match r {
        Ok(q) => summary(&q),
        Err(e) => format!("ERR {}: {e}", e.scim_type().map_or("none", |t| t.as_str())),
    }
}

fn from_url(query: &str, limits: &QueryLimits) -> Result<ListQuery> {
    let pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    ListQuery::from_query_pairs(pairs, limits)
}

/// `expected` is the exact summary, or for errors a prefix of "ERR <scimType>: <detail>".
fn check_with(query: &str, limits: &QueryLimits, expected: &str) {
    let got = outcome(from_url(query, limits));
    if expected.starts_with("ERR") {
        assert!(
            got.starts_with(expected),
            "{query:?}: got {got:?}, want {expected:?}…"
        );
    } else {
        assert_eq!(got, expected, "{query:?}");
    }
}

fn check(query: &str, expected: &str) {
    check_with(query, &QueryLimits::default(), expected);
}

fn check_body(body: Value, expected: &str) {
    let got = outcome(ListQuery::from_search_body(&body, &QueryLimits::default()));
    if expected.starts_with("ERR") {
        assert!(
            got.starts_with(expected),
            "{body}: got {got:?}, want {expected:?}…"
        );
    } else {
        assert_eq!(got, expected, "{body}");
    }
}

#[test]
fn url_defaults_and_clamping() {
    check("", "s=1 c=100");
    check("startIndex=0", "s=1 c=100");
    check("startIndex=-5", "s=1 c=100");
    check("startIndex=7", "s=7 c=100");
    check("startIndex=+2", "s=2 c=100");
    check("startIndex= 3 ", "s=3 c=100");
    check(
        "startIndex=99999999999999999999999",
        "s=18446744073709551615 c=100",
    );
    check("count=-3", "s=1 c=0");
    check("count=0", "s=1 c=0");
    check("count=1000", "s=1 c=1000");
    check("count=5000", "s=1 c=1000");
    check("count=99999999999999999999999", "s=1 c=1000");
    check("startIndex=1&count=2", "s=1 c=2");
}

#[test]
fn url_custom_limits() {
    let small = QueryLimits {
        default_count: 10,
        max_count: 50,
    };
    check_with("", &small, "s=1 c=10");
    check_with("count=51", &small, "s=1 c=50");
    check_with("count=50", &small, "s=1 c=50");
    let odd = QueryLimits {
        default_count: 500,
        max_count: 50,
    };
    check_with("", &odd, "s=1 c=50");
}

#[test]
fn url_names_are_case_insensitive_and_unknown_ignored() {
    check("StartIndex=3&COUNT=4", "s=3 c=4");
    check(
        "SORTBY=userName&SortOrder=DESCENDING",
        "s=1 c=100 sort=userName desc",
    );
    check(
        "aadOptscim062020&filter=userName eq \"a\"",
        "s=1 c=100 filter=userName eq \"a\"",
    );
    check("foo=bar&count=5", "s=1 c=5");
    check("Attributes=userName", "s=1 c=100 attrs=userName");
}

#[test]
fn url_sorting_filter_and_attribute_lists() {
    check("sortBy=userName", "s=1 c=100 sort=userName");
    check(
        "sortBy=name.familyName&sortOrder=descending",
        "s=1 c=100 sort=name.familyName desc",
    );
    check("sortOrder=Ascending", "s=1 c=100");
    check("sortOrder=dEsCeNdInG", "s=1 c=100 desc");
    check(
        "sortBy=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        "s=1 c=100 sort=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    );
    check(
        "filter=userName eq \"bjensen\"",
        "s=1 c=100 filter=userName eq \"bjensen\"",
    );
    check(
        "filter=UserName EQ \"x\" AND active eq true",
        "s=1 c=100 filter=UserName eq \"x\" and active eq true",
    );
    check("filter=", "s=1 c=100");
    check("filter=  ", "s=1 c=100");
    check(
        "attributes=userName, emails ,,name.givenName",
        "s=1 c=100 attrs=userName,emails,name.givenName",
    );
    check("excludedAttributes=members", "s=1 c=100 excl=members");
    check("attributes=&excludedAttributes=", "s=1 c=100");
}

#[test]
fn url_errors() {
    check(
        "startIndex=abc",
        "ERR invalidValue: startIndex must be an integer",
    );
    check(
        "startIndex=1.5",
        "ERR invalidValue: startIndex must be an integer",
    );
    check(
        "startIndex=-",
        "ERR invalidValue: startIndex must be an integer",
    );
    check("count=ten", "ERR invalidValue: count must be an integer");
    check("count=1e3", "ERR invalidValue: count must be an integer");
    check("count=0x10", "ERR invalidValue: count must be an integer");
    check(
        "sortOrder=up",
        "ERR invalidValue: sortOrder must be \"ascending\" or \"descending\"",
    );
    check(
        "sortBy=emails[type eq \"work\"]",
        "ERR invalidValue: sortBy must name one attribute",
    );
    check(
        "sortBy=1abc",
        "ERR invalidValue: sortBy must name one attribute",
    );
    check(
        "filter=userName eq",
        "ERR invalidFilter: invalid filter at byte",
    );
    check(
        "filter=userName xx \"a\"",
        "ERR invalidFilter: invalid filter at byte",
    );
    check(
        "filter=(userName eq \"a\"",
        "ERR invalidFilter: invalid filter at byte",
    );
    check(
        "count=1&Count=2",
        "ERR invalidValue: the count parameter is given more than once",
    );
    check(
        "filter=a pr&FILTER=b pr",
        "ERR invalidValue: the filter parameter is given more than once",
    );
}

#[test]
fn search_bodies() {
    let sr = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
    check_body(
        json!({"schemas": [sr], "startIndex": 1, "count": 10}),
        "s=1 c=10",
    );
    check_body(json!({"startIndex": "5", "count": "2"}), "s=5 c=2");
    check_body(json!({"count": 2.0}), "s=1 c=2");
    check_body(json!({"count": -4, "startIndex": -1}), "s=1 c=0");
    check_body(json!({"count": 100000}), "s=1 c=1000");
    check_body(
        json!({"filter": null, "count": null, "sortBy": null}),
        "s=1 c=100",
    );
    check_body(
        json!({"attributes": "userName, emails"}),
        "s=1 c=100 attrs=userName,emails",
    );
    check_body(
        json!({"attributes": ["userName", "name.givenName,title"], "excludedAttributes": ["groups"]}),
        "s=1 c=100 attrs=userName,name.givenName,title excl=groups",
    );
    check_body(
        json!({"schemas": [sr], "Filter": "displayName sw \"Eng\"", "SORTBY": "displayName", "sortOrder": "descending", "unknown": {"x": 1}}),
        "s=1 c=100 sort=displayName desc filter=displayName sw \"Eng\"",
    );
    check_body(json!({"schemas": [sr.to_lowercase()]}), "s=1 c=100");
}

#[test]
fn search_body_errors() {
    check_body(
        json!([]),
        "ERR invalidSyntax: a search request must be a JSON object",
    );
    check_body(
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
        "ERR invalidSyntax: schemas must be",
    );
    check_body(
        json!({"schemas": "nope"}),
        "ERR invalidSyntax: schemas must be",
    );
    check_body(
        json!({"count": 2.5}),
        "ERR invalidValue: count must be an integer",
    );
    check_body(
        json!({"count": true}),
        "ERR invalidValue: count must be an integer",
    );
    check_body(
        json!({"startIndex": "one"}),
        "ERR invalidValue: startIndex must be an integer",
    );
    check_body(
        json!({"filter": 5}),
        "ERR invalidValue: filter must be a string",
    );
    check_body(
        json!({"sortOrder": ["descending"]}),
        "ERR invalidValue: sortOrder must be a string",
    );
    check_body(
        json!({"attributes": [1]}),
        "ERR invalidValue: attributes must be an array",
    );
    check_body(
        json!({"excludedAttributes": {"a": 1}}),
        "ERR invalidValue: excludedAttributes must be an array",
    );
    check_body(
        json!({"count": 1, "COUNT": 2}),
        "ERR invalidValue: the count parameter is given more than once",
    );
    check_body(
        json!({"filter": "userName eq"}),
        "ERR invalidFilter: invalid filter at byte",
    );
    check_body(
        json!({"sortBy": "a..b"}),
        "ERR invalidValue: sortBy must name one attribute",
    );
}

#[test]
fn errors_map_to_400() {
    let e = from_url("count=x", &QueryLimits::default()).unwrap_err();
    assert!(matches!(e, Error::InvalidValue(_)));
    assert_eq!(e.status(), 400);
    let e = from_url("filter=x eq", &QueryLimits::default()).unwrap_err();
    assert_eq!(e.status(), 400);
    assert_eq!(
        e.to_body().scim_type.map(|t| t.as_str()),
        Some("invalidFilter")
    );
}

#[test]
fn offset_is_start_index_minus_one() {
    let q = from_url("startIndex=11&count=10", &QueryLimits::default()).unwrap();
    assert_eq!(q.offset(), 10);
    assert_eq!(ListQuery::default().offset(), 0);
}

fn validate(rt: &str, query: &str) -> String {
    let reg = SchemaRegistry::standard();
    let rt = reg.resource_type(rt).unwrap();
    match from_url(query, &QueryLimits::default()).and_then(|q| q.validate_against(&reg, rt)) {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("{}: {e}", e.scim_type().map_or("none", |t| t.as_str())),
    }
}

#[test]
fn validate_against_schema() {
    let cases = [
        ("User", "sortBy=userName", "ok"),
        ("User", "sortBy=USERNAME", "ok"),
        ("User", "sortBy=name.givenName", "ok"),
        ("User", "sortBy=meta.lastModified", "ok"),
        ("User", "sortBy=id", "ok"),
        ("User", "sortBy=employeeNumber", "ok"),
        (
            "User",
            "sortBy=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "ok",
        ),
        (
            "User",
            "sortBy=emails",
            "invalidValue: sortBy names emails, which is multi-valued",
        ),
        (
            "User",
            "sortBy=emails.value",
            "invalidValue: sortBy names emails.value, which is multi-valued",
        ),
        (
            "User",
            "sortBy=name",
            "invalidValue: sortBy names name, which is complex; sort by one of its sub-attributes, such as name.formatted",
        ),
        (
            "User",
            "sortBy=nope",
            "invalidValue: sortBy names nope, which is not an attribute of User",
        ),
        (
            "User",
            "sortBy=name.nope",
            "invalidValue: sortBy names name.nope, which is not an attribute of User",
        ),
        ("Group", "sortBy=displayName", "ok"),
        (
            "Group",
            "sortBy=userName",
            "invalidValue: sortBy names userName, which is not an attribute of Group",
        ),
        ("User", "filter=userName eq \"a\"", "ok"),
        (
            "User",
            "filter=emails[type eq \"work\"].value eq \"a@b\"",
            "ok",
        ),
    ];
    for (rt, query, want) in cases {
        let got = validate(rt, query);
        assert!(
            got.starts_with(want),
            "{rt} {query}: got {got:?}, want {want:?}"
        );
    }
    assert!(validate("User", "filter=nope eq \"a\"").starts_with("invalidFilter"));
    assert!(validate("Group", "filter=userName eq \"a\"").starts_with("invalidFilter"));
}

#[test]
fn projection_comes_from_the_lists() {
    let reg = SchemaRegistry::standard();
    let rt = reg.resource_type("Group").unwrap();
    let q = from_url("excludedAttributes=members", &QueryLimits::default()).unwrap();
    let p = q.projection(&reg, rt).unwrap();
    let doc = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Eng", "members": [{"value": "u1"}]});
    let out = p.apply(&doc);
    assert_eq!(out["displayName"], "Eng");
    assert!(out.get("members").is_none());
}

#[test]
fn list_response_matches_rfc_shape() {
    let r = ListResponse::new(vec![json!({"id": "a"}), json!({"id": "b"})], 100, 1);
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":100,"itemsPerPage":2,"startIndex":1,"Resources":[{"id":"a"},{"id":"b"}]}"#
    );
    let empty = ListResponse::new(vec![], 0, 1);
    assert_eq!(
        serde_json::to_value(&empty).unwrap(),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []})
    );
    // A client reading a response without Resources (allowed when totalResults is 0).
    let parsed: ListResponse = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0, "itemsPerPage": 0, "startIndex": 1
    }))
    .unwrap();
    assert_eq!(parsed, empty);
}

fn users() -> Vec<Value> {
    vec![
        json!({"id": "u1", "userName": "carol", "externalId": "b", "active": true,
               "name": {"familyName": "Zeta"},
               "meta": {"lastModified": "2024-01-01T10:00:00+02:00"},
               "emails": [{"value": "z@x.org"}, {"value": "a@x.org", "primary": true}]}),
        json!({"id": "u2", "userName": "Bob", "externalId": "B", "active": "False",
               "meta": {"lastModified": "2024-01-01T09:00:00Z"},
               "emails": [{"value": "m@x.org"}]}),
        json!({"id": "u3", "userName": "alice", "externalId": "a",
               "name": {"familyName": "Young"},
               "meta": {"lastModified": "2023-12-31T23:00:00"},
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"}}),
        json!({"id": "u0", "userName": "dave", "active": false,
               "name": {"familyName": "young"},
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "10"}}),
    ]
}

/// Sorts and pages the fixture; returns the ids of the page and the total.
fn sorted(query: &str) -> (Vec<String>, u64) {
    let reg = SchemaRegistry::standard();
    let rt = reg.resource_type("User").unwrap();
    let q = from_url(query, &QueryLimits::default()).unwrap();
    let (page, total) = sort_and_page(users(), &q, &reg, rt);
    let ids = page
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    (ids, total)
}

#[test]
fn sort_and_page_cases() {
    let cases: &[(&str, &[&str])] = &[
        ("", &["u1", "u2", "u3", "u0"]),
        ("sortBy=userName", &["u3", "u2", "u1", "u0"]),
        (
            "sortBy=userName&sortOrder=descending",
            &["u0", "u1", "u2", "u3"],
        ),
        // caseExact: "B" < "a" < "b"; u0 has no externalId and goes last.
        ("sortBy=externalId", &["u2", "u3", "u1", "u0"]),
        // Missing values last ascending, first descending.
        ("sortBy=meta.lastModified", &["u3", "u1", "u2", "u0"]),
        (
            "sortBy=meta.lastModified&sortOrder=descending",
            &["u0", "u2", "u1", "u3"],
        ),
        // Case-folded equal values tie-break by id in both directions: u0 "young" before
        // u3 "Young"; "Zeta" after both.
        ("sortBy=name.familyName", &["u0", "u3", "u1", "u2"]),
        (
            "sortBy=name.familyName&sortOrder=descending",
            &["u2", "u1", "u0", "u3"],
        ),
        // Booleans: false (and "False") before true, missing last.
        ("sortBy=active", &["u0", "u2", "u1", "u3"]),
        // Extension attribute, string-typed: "10" < "7".
        ("sortBy=employeeNumber", &["u0", "u3", "u1", "u2"]),
        // Multi-valued: the primary value ("a@" for u1), else the first; the two users
        // without emails tie and go last, by id.
        ("sortBy=emails.value", &["u1", "u2", "u0", "u3"]),
        // Paging.
        ("sortBy=userName&startIndex=2&count=2", &["u2", "u1"]),
        ("sortBy=userName&startIndex=4&count=10", &["u0"]),
        ("sortBy=userName&startIndex=5", &[]),
        ("count=0", &[]),
        ("startIndex=0&count=1", &["u1"]),
        // Unknown sortBy keeps input order.
        ("sortBy=nope", &["u1", "u2", "u3", "u0"]),
    ];
    for (query, want) in cases {
        let (ids, total) = sorted(query);
        assert_eq!(ids, *want, "{query}");
        assert_eq!(total, 4, "{query}");
    }
}

#[test]
fn sort_by_numbers_is_numeric() {
    let mut reg = SchemaRegistry::standard();
    reg.register_extension(
        serde_json::from_value(json!({
            "id": "urn:example:params:scim:schemas:extension:acme:2.0:User",
            "name": "Acme",
            "attributes": [{"name": "level", "type": "integer"}]
        }))
        .unwrap(),
        "User",
        false,
    )
    .unwrap();
    let rt = reg.resource_type("User").unwrap();
    let urn = "urn:example:params:scim:schemas:extension:acme:2.0:User";
    let docs = vec![
        json!({"id": "a", urn: {"level": 10}}),
        json!({"id": "b", urn: {"level": 9}}),
        json!({"id": "c", urn: {"level": "11"}}),
        json!({"id": "d"}),
    ];
    let q = from_url("sortBy=level&sortOrder=descending", &QueryLimits::default()).unwrap();
    let (page, total) = sort_and_page(docs, &q, &reg, rt);
    let ids: Vec<&str> = page.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["d", "c", "a", "b"]);
    assert_eq!(total, 4);
}
