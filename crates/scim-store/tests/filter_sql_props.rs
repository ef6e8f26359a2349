//! Property test: on random users and groups and random filters over every kind of
//! attribute the registry has (core, enterprise, a custom extension with each scalar type,
//! membership), the rows SQL returns are exactly the rows core's evaluator accepts; on both
//! backends. Values are drawn from small pools so that filters match some rows and not others
//! (asserted at the end), and half of the documents skip core's `prepare`, so numeric and
//! boolean strings and unparsable dateTimes are stored too.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "generators and fixtures fail loudly"
)]

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use scim_core::filter::eval::{EvalContext, matches};
use scim_core::filter::{CompareOp, Filter, Literal};
use scim_core::patch::Member;
use scim_core::path::AttrPath;
use scim_core::query::ListQuery;
use scim_core::resource::{self, Meta, WriteMode};
use scim_core::schema::{AttrType, AttributeDef, Schema, SchemaRegistry, urn};
use scim_store::testing::TestDb;
use scim_store::users::NewUser;
use scim_store::{Origin, StoredResource, TenantId, groups, members, query, tenants, users};
use serde_json::{Map, Value, json};

const ACME: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";

static REGISTRY: LazyLock<SchemaRegistry> = LazyLock::new(|| {
    let mut reg = SchemaRegistry::standard();
    let acme = Schema {
        id: ACME.to_string(),
        name: "Acme".to_string(),
        description: String::new(),
        attributes: vec![
            AttributeDef::new("level", AttrType::Integer),
            AttributeDef::new("score", AttrType::Decimal),
            AttributeDef::new("hiredAt", AttrType::DateTime),
            AttributeDef::new("contractor", AttrType::Boolean),
            AttributeDef::new("tags", AttrType::String).multi(),
            AttributeDef::new("costCode", AttrType::String).case_exact(),
        ],
    };
    reg.register_extension(acme, "User", false).unwrap();
    reg
});

/// userNames and group names: distinct after case folding.
const NAMES: &[&str] = &[
    "alice",
    "BOB",
    "carol.d@example.com",
    "Änne",
    "straße",
    "ΟΔΥΣΣΕΥΣ",
    "ǅemal",
    "dave_100%",
    "50%off",
    "x\\y",
];
/// Other strings stored and compared; case variants, Unicode folding, LIKE metacharacters.
const STRINGS: &[&str] = &[
    "alice",
    "Alice",
    "BOB",
    "Änne",
    "STRASSE",
    "straße",
    "ΟΔΥΣΣΕΥΣ",
    "a_b",
    "a%b",
    "a\\b",
    "O'Brien",
    "",
];
/// Substring fragments.
const FRAGMENTS: &[&str] = &["al", "ICE", "ss", "σ", "_", "%", "\\", "'", "e", ""];
const TYPES: &[&str] = &["work", "home", "Work"];
const IDS: &[&str] = &["u0", "u1", "U1", "u2", "g0"];
const DATES: &[&str] = &[
    "2011-05-13T04:42:34Z",
    "2011-05-13T06:42:34+02:00",
    "2011-05-13T04:42:34.5Z",
    "2012-01-01T00:00:00Z",
    "2011-12-31T19:00:00-05:00",
    "not-a-date",
    "2011",
];

fn pick(pool: &'static [&'static str]) -> impl Strategy<Value = &'static str> + Clone {
    prop::sample::select(pool)
}

fn opt<T: std::fmt::Debug>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop::option::weighted(0.6, s)
}

/// A number as stored: integers, decimals (with -0.0), numeric strings.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-2i64..3).prop_map(|n| json!(n)),
        prop::sample::select(&[-0.0, 0.0, 1.5, 2.0, -2.25][..]).prop_map(|f| json!(f)),
        prop::sample::select(&["2", "1.5", " 3 "][..]).prop_map(|s| json!(s)),
    ]
}

fn boolean() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => any::<bool>().prop_map(Value::Bool),
        1 => prop::sample::select(&["True", "FALSE"][..]).prop_map(|s| json!(s)),
    ]
}

fn email() -> impl Strategy<Value = Value> {
    (opt(pick(TYPES)), opt(pick(STRINGS)), opt(boolean())).prop_map(|(t, v, p)| {
        let mut e = Map::new();
        if let Some(v) = v {
            e.insert("value".into(), json!(v));
        }
        if let Some(t) = t {
            e.insert("type".into(), json!(t));
        }
        if let Some(p) = p {
            e.insert("primary".into(), p);
        }
        Value::Object(e)
    })
}

/// A user document without userName (assigned from the shuffled names).
fn user() -> impl Strategy<Value = (Value, bool, u8)> {
    let core = (
        opt(pick(STRINGS)),
        opt(pick(STRINGS)),
        opt(boolean()),
        opt((opt(pick(STRINGS)), opt(pick(STRINGS)))),
        prop::collection::vec(email(), 0..3),
        opt(pick(STRINGS)),
    );
    let ext = (
        opt(pick(STRINGS)),
        opt(pick(IDS)),
        opt(number()),
        opt(number()),
        opt(pick(DATES)),
        opt(boolean()),
        prop::collection::vec(pick(STRINGS), 0..3),
        opt(pick(STRINGS)),
    );
    (core, ext, any::<bool>(), 0u8..4).prop_map(
        |((display, title, active, name, emails, external), ext, prepare, when)| {
            let (dept, manager, level, score, hired, contractor, tags, cost) = ext;
            let mut doc = Map::new();
            let put = |m: &mut Map<String, Value>, k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            };
            put(&mut doc, "displayName", display.map(|s| json!(s)));
            put(&mut doc, "title", title.map(|s| json!(s)));
            put(&mut doc, "active", active);
            put(&mut doc, "externalId", external.map(|s| json!(s)));
            if let Some((g, f)) = name {
                let mut n = Map::new();
                put(&mut n, "givenName", g.map(|s| json!(s)));
                put(&mut n, "familyName", f.map(|s| json!(s)));
                doc.insert("name".into(), Value::Object(n));
            }
            if !emails.is_empty() {
                doc.insert("emails".into(), Value::Array(emails));
            }
            let mut ent = Map::new();
            put(&mut ent, "department", dept.map(|s| json!(s)));
            put(&mut ent, "manager", manager.map(|s| json!({ "value": s })));
            if !ent.is_empty() {
                doc.insert(urn::ENTERPRISE_USER.into(), Value::Object(ent));
            }
            let mut acme = Map::new();
            put(&mut acme, "level", level);
            put(&mut acme, "score", score);
            put(&mut acme, "hiredAt", hired.map(|s| json!(s)));
            put(&mut acme, "contractor", contractor);
            put(&mut acme, "costCode", cost.map(|s| json!(s)));
            if !tags.is_empty() {
                acme.insert("tags".into(), json!(tags));
            }
            if !acme.is_empty() {
                doc.insert(ACME.into(), Value::Object(acme));
            }
            (Value::Object(doc), prepare, when)
        },
    )
}

/// A generated group: externalId, and members as (user index, or 5 for group g0; display).
type GroupSpec = (Option<&'static str>, Vec<(usize, Option<&'static str>)>);

/// A group.
fn group() -> impl Strategy<Value = GroupSpec> {
    (
        opt(pick(STRINGS)),
        prop::collection::vec((0usize..6, opt(pick(STRINGS))), 0..4),
    )
}

/// A population: users and groups with distinct (folded) names.
#[derive(Debug, Clone)]
struct Population {
    users: Vec<(Value, bool, u8)>,
    groups: Vec<GroupSpec>,
    names: Vec<&'static str>,
}

fn population() -> impl Strategy<Value = Population> {
    (
        prop::collection::vec(user(), 1..7),
        prop::collection::vec(group(), 0..4),
        Just(NAMES.to_vec()).prop_shuffle(),
    )
        .prop_map(|(users, groups, names)| Population {
            users,
            groups,
            names,
        })
}

fn path(text: &str) -> AttrPath {
    AttrPath::parse(text).unwrap()
}

fn cmp(p: &str, op: CompareOp, value: Literal) -> Filter {
    Filter::Compare {
        path: path(p),
        op,
        value,
    }
}

const ALL_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Co,
    CompareOp::Sw,
    CompareOp::Ew,
    CompareOp::Gt,
    CompareOp::Ge,
    CompareOp::Lt,
    CompareOp::Le,
];
const ORDER_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Gt,
    CompareOp::Ge,
    CompareOp::Lt,
    CompareOp::Le,
];
const EQ_NE: &[CompareOp] = &[CompareOp::Eq, CompareOp::Ne];

/// A string literal from the pools, in its own case or upper case, or null.
fn text_literal() -> impl Strategy<Value = Literal> + Clone {
    prop_oneof![
        8 => (prop_oneof![pick(STRINGS), pick(NAMES), pick(FRAGMENTS), pick(TYPES), pick(IDS)], any::<bool>())
            .prop_map(|(s, up)| Literal::String(if up { s.to_uppercase() } else { s.to_string() })),
        1 => Just(Literal::Null),
    ]
}

fn bool_literal() -> impl Strategy<Value = Literal> + Clone {
    prop_oneof![
        any::<bool>().prop_map(Literal::Bool),
        prop::sample::select(&["True", "false"][..]).prop_map(|s| Literal::String(s.into())),
    ]
}

fn num_literal() -> impl Strategy<Value = Literal> + Clone {
    prop_oneof![
        (-2i64..4).prop_map(|n| Literal::Number(n.into())),
        prop::sample::select(&[0.0, -0.0, 1.5, 2.0][..])
            .prop_map(|f| Literal::Number(serde_json::Number::from_f64(f).unwrap())),
        prop::sample::select(&["2", "1.5"][..]).prop_map(|s| Literal::String(s.into())),
    ]
}

fn date_literal() -> impl Strategy<Value = Literal> + Clone {
    prop_oneof![
        pick(DATES).prop_map(|s| Literal::String(s.into())),
        pick(&[
            "2024-03-01T10:00:00Z",
            "2024-03-01T11:00:00.25+01:00",
            "2024-03-01T10:00:01Z",
            "2024-03-01t10:00:00.5z",
            "2024-03-01T10:00"
        ])
        .prop_map(|s| Literal::String(s.into())),
    ]
}

/// `null` only goes with eq/ne (validate refuses the rest).
fn fix_null(p: &str, op: CompareOp, lit: Literal) -> Filter {
    let op = if lit == Literal::Null && op != CompareOp::Ne {
        CompareOp::Eq
    } else {
        op
    };
    cmp(p, op, lit)
}

const USER_STRING_PATHS: &[&str] = &[
    "userName",
    "displayName",
    "title",
    "externalId",
    "name.givenName",
    "name.familyName",
    "emails",
    "emails.value",
    "emails.type",
    "department",
    "manager",
    "manager.value",
    "costCode",
    "tags",
    "groups.value",
    "groups.display",
    "id",
    "meta.version",
];

fn user_compare() -> BoxedStrategy<Filter> {
    prop_oneof![
        6 => (pick(USER_STRING_PATHS), prop::sample::select(ALL_OPS), text_literal())
            .prop_map(|(p, op, lit)| fix_null(p, op, lit)),
        1 => (pick(&["active", "contractor", "emails.primary"]), prop::sample::select(EQ_NE), bool_literal())
            .prop_map(|(p, op, lit)| cmp(p, op, lit)),
        2 => (pick(&["level", "score"]), prop::sample::select(ORDER_OPS), num_literal())
            .prop_map(|(p, op, lit)| cmp(p, op, lit)),
        2 => (pick(&["hiredAt", "meta.created", "meta.lastModified"]), prop::sample::select(ALL_OPS), date_literal())
            .prop_map(|(p, op, lit)| cmp(p, op, lit)),
        1 => pick(&["title", "displayName", "emails", "emails.value", "name", "active", "hiredAt", "level",
                    "score", "tags", "manager", "groups", "externalId", "contractor"])
            .prop_map(|p| Filter::Present(path(p))),
    ]
    .boxed()
}

fn email_element() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        (
            pick(&["type", "value"]),
            prop::sample::select(ALL_OPS),
            text_literal()
        )
            .prop_map(|(p, op, lit)| fix_null(p, op, lit)),
        (prop::sample::select(EQ_NE), bool_literal()).prop_map(|(op, lit)| cmp("primary", op, lit)),
        pick(&["type", "value", "primary"]).prop_map(|p| Filter::Present(path(p))),
    ];
    leaf.prop_recursive(2, 6, 2, combine)
}

fn value_paths() -> impl Strategy<Value = Filter> {
    prop_oneof![
        3 => email_element().prop_map(|f| Filter::ValuePath { path: path("emails"), filter: Box::new(f) }),
        1 => (prop::sample::select(ALL_OPS), text_literal()).prop_map(|(op, lit)| Filter::ValuePath {
            path: path("tags"),
            filter: Box::new(fix_null("value", op, lit)),
        }),
        1 => (pick(&["givenName", "familyName"]), prop::sample::select(ALL_OPS), text_literal())
            .prop_map(|(p, op, lit)| Filter::ValuePath {
                path: path("name"),
                filter: Box::new(Filter::Not(Box::new(fix_null(p, op, lit)))),
            }),
        1 => (prop::sample::select(EQ_NE), text_literal()).prop_map(|(op, lit)| Filter::ValuePath {
            path: path("groups"),
            filter: Box::new(fix_null("value", op, lit)),
        }),
    ]
}

fn combine(inner: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
        (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
        (inner.clone(), inner).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
    ]
}

fn user_filter() -> impl Strategy<Value = Filter> {
    prop_oneof![4 => user_compare(), 2 => value_paths()].prop_recursive(3, 10, 2, combine)
}

fn group_filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        3 => (pick(&["displayName", "externalId", "members", "members.value", "members.type", "id"]),
              prop::sample::select(ALL_OPS), text_literal())
            .prop_map(|(p, op, lit)| fix_null(p, op, lit)),
        1 => pick(&["members", "externalId", "displayName"]).prop_map(|p| Filter::Present(path(p))),
        1 => (prop::sample::select(EQ_NE), pick(IDS), pick(&["User", "group"])).prop_map(|(op, v, t)| {
            Filter::ValuePath {
                path: path("members"),
                filter: Box::new(Filter::And(
                    Box::new(cmp("value", op, Literal::String(v.into()))),
                    Box::new(cmp("type", CompareOp::Eq, Literal::String(t.into()))),
                )),
            }
        }),
    ];
    leaf.prop_recursive(2, 6, 2, combine)
}

fn at(when: u8) -> NaiveDateTime {
    let base = NaiveDate::from_ymd_opt(2024, 3, 1)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap();
    base + TimeDelta::milliseconds(250 * i64::from(when))
}

static TENANTS: AtomicUsize = AtomicUsize::new(0);

/// Inserts the population into a fresh tenant; returns it and the documents the evaluator
/// sees (users, groups), as the server would render them.
fn insert(db: &TestDb, pop: &Population) -> (TenantId, Vec<Value>, Vec<Value>) {
    let pop = pop.clone();
    let name = format!("t{}", TENANTS.fetch_add(1, Ordering::Relaxed));
    let tenant = db
        .store
        .write(move |c| {
            let t = tenants::create(c, &name, at(0))?.id;
            let rt = REGISTRY.resource_type("User").unwrap();
            for (i, (doc, prepare, when)) in pop.users.iter().enumerate() {
                let mut doc = doc.clone();
                doc["userName"] = json!(pop.names[i]);
                let doc = if *prepare {
                    resource::prepare(&REGISTRY, rt, doc.clone(), WriteMode::Create, None)
                        .unwrap_or(doc)
                } else {
                    doc
                };
                let new = NewUser {
                    id: format!("u{i}"),
                    resource: doc,
                    password_hash: None,
                    origin: Origin::Provisioned,
                    now: at(*when),
                };
                users::insert(c, &REGISTRY, &t, new)?;
            }
            for (g, (ext, mems)) in pop.groups.iter().enumerate() {
                let mut resource = json!({"displayName": pop.names[pop.names.len() - 1 - g]});
                if let Some(e) = ext {
                    resource["externalId"] = json!(e);
                }
                let mut seen = BTreeSet::new();
                let mut members: Vec<Member> = Vec::new();
                for (m, display) in mems {
                    // Index 5 stands for group g0 (when it exists and isn't this group).
                    let value = if *m == 5 && g > 0 {
                        "g0".to_string()
                    } else {
                        format!("u{}", m % pop.users.len())
                    };
                    if seen.insert(value.clone()) {
                        members.push(Member {
                            value,
                            display: display.map(str::to_string),
                            kind: None,
                        });
                    }
                }
                let new = groups::NewGroup {
                    id: format!("g{g}"),
                    resource,
                    members,
                    now: at(u8::try_from(g).unwrap()),
                };
                groups::insert(c, &REGISTRY, &t, new)?;
            }
            Ok(t)
        })
        .expect("insert population");
    let t = tenant.clone();
    let (us, gs) = db
        .store
        .read(move |c| {
            let all = ListQuery {
                count: 1000,
                ..ListQuery::default()
            };
            let mut us = Vec::new();
            for s in query::list_users(c, &REGISTRY, &t, &all)?.resources {
                let mut doc = s.resource.clone();
                let refs = members::groups_for_member(c, &t, &s.id)?;
                if !refs.is_empty() {
                    let list: Vec<Value> = refs
                        .iter()
                        .map(|g| json!({"value": g.id, "display": g.display}))
                        .collect();
                    doc["groups"] = Value::Array(list);
                }
                stamp(&mut doc, &s, "User");
                us.push(doc);
            }
            let mut gs = Vec::new();
            for s in query::list_groups(c, &REGISTRY, &t, &all)?.resources {
                let mut doc = s.resource.clone();
                let list: Vec<Value> = members::members(c, &t, &s.id, None, 1000)?
                    .into_iter()
                    .map(|m| json!({"value": m.value, "type": m.kind}))
                    .collect();
                if !list.is_empty() {
                    doc["members"] = Value::Array(list);
                }
                stamp(&mut doc, &s, "Group");
                gs.push(doc);
            }
            Ok((us, gs))
        })
        .unwrap();
    (tenant, us, gs)
}

fn stamp(doc: &mut Value, s: &StoredResource, rt: &str) {
    let meta = Meta {
        resource_type: rt.to_string(),
        created: s.created_at.and_utc(),
        last_modified: s.updated_at.and_utc(),
        location: format!("https://example.test/{rt}s/{}", s.id),
        version: u64::try_from(s.version).unwrap(),
    };
    resource::stamp(doc, &s.id, &meta);
}

fn sql_ids(db: &TestDb, t: &TenantId, rt: &'static str, f: &Filter) -> BTreeSet<String> {
    let q = ListQuery {
        filter: Some(f.clone()),
        count: 1000,
        ..ListQuery::default()
    };
    let t = t.clone();
    let page = db
        .store
        .read(move |c| match rt {
            "User" => query::list_users(c, &REGISTRY, &t, &q),
            _ => query::list_groups(c, &REGISTRY, &t, &q),
        })
        .unwrap_or_else(|e| panic!("{f}: {e}"));
    page.resources.into_iter().map(|r| r.id).collect()
}

fn eval_ids(rt: &str, docs: &[Value], f: &Filter) -> BTreeSet<String> {
    let ctx = EvalContext::new(&REGISTRY, REGISTRY.resource_type(rt).unwrap());
    docs.iter()
        .filter(|d| matches(f, d, &ctx))
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

/// Counts of cases, and of cases where some but not all rows matched.
#[derive(Default)]
struct Coverage {
    cases: Cell<usize>,
    split: Cell<usize>,
}

#[test]
fn sql_agrees_with_the_evaluator_on_random_data() {
    for db in TestDb::all() {
        let coverage = Coverage::default();
        let mut runner = TestRunner::new(Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        });
        let strategy = (
            population(),
            prop::collection::vec(user_filter(), 6),
            prop::collection::vec(group_filter(), 3),
        );
        let result = runner.run(&strategy, |(pop, ufs, gfs)| {
            let (t, us, gs) = insert(&db, &pop);
            for (rt, docs, filters) in [("User", &us, &ufs), ("Group", &gs, &gfs)] {
                for f in filters.iter() {
                    let sql = sql_ids(&db, &t, rt, f);
                    let eval = eval_ids(rt, docs, f);
                    prop_assert_eq!(&sql, &eval, "{:?} {}: {}", db.kind(), rt, f);
                    coverage.cases.set(coverage.cases.get() + 1);
                    if !eval.is_empty() && eval.len() < docs.len() {
                        coverage.split.set(coverage.split.get() + 1);
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        let (cases, split) = (coverage.cases.get(), coverage.split.get());
        let share = split as f64 / cases as f64;
        eprintln!(
            "{:?}: {} filters agree; {:.0}% matched some rows but not all",
            db.kind(),
            cases,
            share * 100.0
        );
        assert!(share > 0.2, "generators are vacuous: {share}");
    }
}
