//! Fuzzes list parameters as `GET /Users?…` and `POST /.search` read them: the input is tried
//! as a SearchRequest body (JSON) and as a URL query string (`&`-separated `name=value`
//! pairs, already percent-decoded as the server hands them to core). Whatever parses is
//! validated against Users and Groups (what decides a 400), its projection built and applied,
//! its filter evaluated in memory and its sort and page applied to stored documents. Nothing
//! may panic; a page never holds more than `count` resources.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::query::{ListQuery, QueryLimits, sort_and_page};
use scim_core::resource::stamp;
use scim_fuzz::{
    evaluate, group_input, json_body, registry, resource_type, sample_meta, stored, user_input,
};
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let limits = QueryLimits::default();
    let mut queries = Vec::new();
    if let Some(body) = json_body(data)
        && let Ok(q) = ListQuery::from_search_body(&body, &limits)
    {
        queries.push(q);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let pairs = text
            .split('&')
            .map(|p| p.split_once('=').unwrap_or((p, "")));
        if let Ok(q) = ListQuery::from_query_pairs(pairs, &limits) {
            queries.push(q);
        }
    }
    if queries.is_empty() {
        return;
    }
    let registry = registry();
    for query in queries {
        assert!(
            query.start_index >= 1,
            "startIndex {} below 1",
            query.start_index
        );
        assert!(
            query.count <= limits.max_count,
            "count {} above the maximum",
            query.count
        );
        if let Some(filter) = &query.filter {
            evaluate(&registry, filter);
        }
        for (name, input) in [("User", user_input()), ("Group", group_input())] {
            let rt = resource_type(&registry, name);
            if query.validate_against(&registry, rt).is_err() {
                continue;
            }
            let mut docs = Vec::new();
            for (n, changed) in [("a", "x"), ("b", "Y"), ("c", "z")] {
                let mut doc = input.clone();
                if let Some(obj) = doc.as_object_mut() {
                    obj.insert("displayName".into(), json!(changed));
                    obj.insert("userName".into(), json!(format!("{n}{changed}")));
                }
                let mut doc = stored(&registry, rt, doc);
                stamp(&mut doc, n, &sample_meta(rt));
                docs.push(doc);
            }
            let (page, _total) = sort_and_page(docs, &query, &registry, rt);
            assert!(page.len() as u64 <= query.count, "a page longer than count");
            if let Ok(projection) = query.projection(&registry, rt) {
                for doc in &page {
                    let _ = projection.apply(doc);
                }
            }
        }
    }
});
