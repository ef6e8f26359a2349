//! Core benchmarks: the work an identity provider's busiest requests cost before any I/O.
//!
//! Run with `cargo bench -p scim-core`; figures are recorded in `BENCHMARKS.md`.

#![expect(
    clippy::expect_used,
    reason = "a benchmark whose fixtures are broken must stop loudly, not measure nothing"
)]
#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use scim_core::filter::{eval, parse_filter};
use scim_core::patch::{PatchRequest, apply};
use scim_core::projection::Projection;
use scim_core::resource::{WriteMode, prepare};
use scim_core::schema::SchemaRegistry;
use serde_json::json;
use std::hint::black_box;

fn okta_user() -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "00u1abcd2EFGHijk3l4",
        "userName": "isaac.brock@example.com",
        "name": {"givenName": "Isaac", "familyName": "Brock"},
        "emails": [{"primary": true, "value": "isaac.brock@example.com", "type": "work"}],
        "displayName": "Isaac Brock",
        "locale": "en-US",
        "active": true,
        "meta": {"resourceType": "User", "version": "W/\"3\""}
    })
}

fn bench(c: &mut Criterion) {
    let reg = SchemaRegistry::standard();
    let user_rt = reg.resource_type("User").expect("User resource type");
    let group_rt = reg.resource_type("Group").expect("Group resource type");

    c.bench_function("filter/parse okta userName eq", |b| {
        b.iter(|| parse_filter(black_box(r#"userName eq "isaac.brock@example.com""#)))
    });
    c.bench_function("filter/parse entra complex", |b| {
        b.iter(|| {
            parse_filter(black_box(
                r#"emails[type eq "work" and value co "@example.com"] and (active eq true or meta.lastModified gt "2011-05-13T04:42:34Z")"#,
            ))
        })
    });
    let filter = parse_filter(r#"userName eq "ISAAC.BROCK@example.com""#).expect("filter");
    let doc = okta_user();
    let ctx = eval::EvalContext::new(&reg, user_rt);
    c.bench_function("filter/eval userName eq (case-insensitive)", |b| {
        b.iter(|| eval::matches(black_box(&filter), black_box(&doc), &ctx))
    });

    let deactivate = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]
    });
    c.bench_function("patch/okta deactivate (parse + apply)", |b| {
        b.iter(|| {
            let req = PatchRequest::parse(black_box(&deactivate)).expect("parse");
            apply(&reg, user_rt, black_box(&doc), &req).expect("apply")
        })
    });
    let membership = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "value": {"id": "g1", "displayName": "Engineering"}},
            {"op": "remove", "path": "members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"},
            {"op": "add", "path": "members", "value": [{"value": "2819c223-7f76-453a-919d-413861904646", "display": "isaac.brock@example.com"}]}
        ]
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1", "displayName": "Engineering"
    });
    c.bench_function("patch/okta group push (parse + apply)", |b| {
        b.iter(|| {
            let req = PatchRequest::parse(black_box(&membership)).expect("parse");
            apply(&reg, group_rt, black_box(&group), &req).expect("apply")
        })
    });

    let create = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "isaac.brock@example.com",
        "name": {"givenName": "Isaac", "familyName": "Brock"},
        "emails": [{"primary": true, "value": "isaac.brock@example.com", "type": "work"}],
        "displayName": "Isaac Brock", "locale": "en-US", "externalId": "00u1abcd2EFGHijk3l4",
        "groups": [], "password": "1mz050nq", "active": true
    });
    c.bench_function("resource/prepare okta create", |b| {
        b.iter(|| {
            prepare(
                &reg,
                user_rt,
                black_box(create.clone()),
                WriteMode::Create,
                None,
            )
        })
    });
    let projection = Projection::new(&reg, user_rt, &[], &[]).expect("projection");
    c.bench_function("projection/default user", |b| {
        b.iter(|| projection.apply(black_box(&doc)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
