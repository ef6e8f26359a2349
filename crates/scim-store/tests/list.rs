//! List queries: paging 250 users in pages of 100 with a stable order and exact totals,
//! `count=0`, a `startIndex` past the end, `sortBy` on hot columns and search-document
//! attributes in both directions (with missing values, equal values, `-0.0` and `0.0`,
//! instants across offsets) agreeing with core's `sort_and_page`, tenant isolation, and
//! pages read from cursors and page marks agreeing with OFFSET; on both backends.
#![expect(clippy::unwrap_used, reason = "fixtures fail loudly")]

use std::collections::BTreeSet;
use std::sync::LazyLock;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use scim_core::filter::parse_filter;
use scim_core::path::AttrPath;
use scim_core::query::{ListQuery, SortOrder, sort_and_page};
use scim_core::resource::{self, Meta};
use scim_core::schema::{AttrType, AttributeDef, Schema, SchemaRegistry};
use scim_store::testing::TestDb;
use scim_store::users::NewUser;
use scim_store::{Origin, StoreError, StoredResource, TenantId, query, tenants, users};
use serde_json::{Value, json};

const ACME: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";
const N: usize = 250;

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
            AttributeDef::new("costCode", AttrType::String).case_exact(),
        ],
    };
    reg.register_extension(acme, "User", false).unwrap();
    reg
});

fn base() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 3, 1)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap()
}

/// User number `i`: ids not in insertion order, three users per creation instant, values with
/// collisions, missing values, non-ASCII text, `-0.0`/`0.0` and equal instants in other
/// offsets.
fn user(i: usize) -> (String, Value, NaiveDateTime) {
    let id = format!("id-{:03}", (i * 37) % N);
    let prefixes = ["user", "User", "ÜSER", "zed"];
    let mut doc = json!({
        "userName": format!("{}{:03}", prefixes[i % 4], (i * 7) % N),
        "active": i.is_multiple_of(2),
    });
    if !i.is_multiple_of(3) {
        let titles = ["Engineer", "engineer", "Älter", "zeta", ""];
        doc["title"] = json!(titles[i % 5]);
    }
    if i % 4 != 1 {
        let family = ["Smith", "smith", "Ng", "Østberg"][i % 4];
        doc["name"] = json!({ "familyName": family });
    }
    if i % 6 != 5 {
        doc["externalId"] = json!(format!("ext-{}", i % 11));
    }
    let mut acme = serde_json::Map::new();
    if i % 4 != 3 {
        acme.insert("level".into(), json!((i % 9) as i64 - 4));
    }
    if i % 5 != 4 {
        let scores = [
            json!(-0.0),
            json!(0.0),
            json!(1.5),
            json!(-2.25),
            json!(1e-9),
        ];
        acme.insert("score".into(), scores[i % 5].clone());
    }
    if i % 7 != 6 {
        let dates = [
            "2011-05-13T04:42:34Z",
            "2011-05-13T06:42:34+02:00",
            "2011-05-13T04:42:34.5Z",
            "2010-12-31T23:00:00-01:00",
            "2012-01-01T00:00:00Z",
            "2011-05-13T04:42:33.999999999Z",
        ];
        acme.insert("hiredAt".into(), json!(dates[i % 6]));
    }
    if i % 2 == 1 {
        let codes = ["a", "B", "b"];
        acme.insert("costCode".into(), json!(codes[i % 3]));
    }
    if !acme.is_empty() {
        doc[ACME] = Value::Object(acme);
    }
    let created = base() + TimeDelta::seconds(i64::try_from(i / 3).unwrap());
    (id, doc, created)
}

fn new_user(id: &str, resource: Value, now: NaiveDateTime) -> NewUser {
    NewUser {
        id: id.to_string(),
        resource,
        password_hash: None,
        origin: Origin::Provisioned,
        now,
    }
}

/// A store with the 250 users in one tenant and three users in another.
fn populated(db: &TestDb) -> (TenantId, TenantId) {
    db.store
        .write(|c| {
            let a = tenants::create(c, "a", base())?.id;
            let b = tenants::create(c, "b", base())?.id;
            let rt = REGISTRY.resource_type("User").unwrap();
            for i in 0..N {
                let (id, doc, now) = user(i);
                let doc = resource::prepare(&REGISTRY, rt, doc, resource::WriteMode::Create, None)
                    .unwrap();
                users::insert(c, &REGISTRY, &a, new_user(&id, doc, now))?;
            }
            for i in 0..3 {
                let doc = json!({"userName": format!("user{i:03}")});
                users::insert(c, &REGISTRY, &b, new_user(&format!("b-{i}"), doc, base()))?;
            }
            Ok((a, b))
        })
        .unwrap()
}

fn list(db: &TestDb, tenant: &TenantId, q: ListQuery) -> Result<query::Page, StoreError> {
    let t = tenant.clone();
    db.store
        .read(move |c| query::list_users(c, &REGISTRY, &t, &q))
}

fn ids(rs: &[StoredResource]) -> Vec<String> {
    rs.iter().map(|r| r.id.clone()).collect()
}

/// Every page of `q` (pages of `size`), concatenated, checking each page's total.
fn all_pages(db: &TestDb, tenant: &TenantId, q: &ListQuery, size: u64) -> Vec<StoredResource> {
    let mut out = Vec::new();
    let mut start = 1;
    loop {
        let page = list(
            db,
            tenant,
            ListQuery {
                start_index: start,
                count: size,
                ..q.clone()
            },
        )
        .unwrap();
        let total = page.total;
        let got = page.resources.len() as u64;
        out.extend(page.resources);
        assert!(got <= size);
        if got < size {
            assert_eq!(out.len() as u64, total, "pages add up to the total");
            return out;
        }
        start += size;
    }
}

/// The documents as the server would return them, for core's reference sort.
fn full_docs(rs: &[StoredResource]) -> Vec<Value> {
    rs.iter()
        .map(|s| {
            let mut doc = s.resource.clone();
            let meta = Meta {
                resource_type: "User".into(),
                created: s.created_at.and_utc(),
                last_modified: s.updated_at.and_utc(),
                location: format!("https://example.test/Users/{}", s.id),
                version: u64::try_from(s.version).unwrap(),
            };
            resource::stamp(&mut doc, &s.id, &meta);
            doc
        })
        .collect()
}

#[test]
fn pages_of_100_are_stable_and_add_up() {
    for db in TestDb::all() {
        let (a, _) = populated(&db);
        let q = ListQuery::default();
        let pages = all_pages(&db, &a, &q, 100);
        assert_eq!(pages.len(), N);
        let unique: BTreeSet<String> = ids(&pages).into_iter().collect();
        assert_eq!(unique.len(), N, "no resource twice");
        // Creation order, then id.
        let mut expected: Vec<(NaiveDateTime, String)> = (0..N)
            .map(|i| {
                let (id, _, at) = user(i);
                (at, id)
            })
            .collect();
        expected.sort();
        let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
        assert_eq!(ids(&pages), expected, "{:?}", db.kind());
        // The same again: stable.
        assert_eq!(ids(&all_pages(&db, &a, &q, 100)), expected);
        // Page sizes and totals.
        for (start, len) in [(1, 100), (101, 100), (201, 50), (251, 0), (300, 0)] {
            let page = list(
                &db,
                &a,
                ListQuery {
                    start_index: start,
                    count: 100,
                    ..ListQuery::default()
                },
            )
            .unwrap();
            assert_eq!(
                (page.resources.len(), page.total),
                (len, N as u64),
                "{start}"
            );
        }
        let only_total = list(
            &db,
            &a,
            ListQuery {
                count: 0,
                ..ListQuery::default()
            },
        )
        .unwrap();
        assert_eq!(
            (only_total.resources.len(), only_total.total),
            (0, N as u64)
        );
        eprintln!("{:?}: paging ok", db.kind());
    }
}

#[test]
fn sorting_agrees_with_core_in_both_directions() {
    let paths = [
        "userName",
        "id",
        "externalId",
        "title",
        "name.familyName",
        "active",
        "meta.created",
        "meta.lastModified",
        "meta.version",
        "meta.resourceType",
        "urn:example:params:scim:schemas:extension:acme:2.0:User:level",
        "score",
        "hiredAt",
        "costCode",
    ];
    for db in TestDb::all() {
        let (a, _) = populated(&db);
        let docs = full_docs(&all_pages(&db, &a, &ListQuery::default(), 1000));
        let rt = REGISTRY.resource_type("User").unwrap();
        for filter in [
            None,
            Some(r#"title pr or active eq true"#),
            // An indexed equality: ordered without the creation-order index.
            Some(r#"externalId eq "ext-3" and not (userName eq "user000")"#),
        ] {
            let filter = filter.map(|f| parse_filter(f).unwrap());
            let ctx = scim_core::filter::eval::EvalContext::new(&REGISTRY, rt);
            let matching: Vec<Value> = docs
                .iter()
                .filter(|d| {
                    filter
                        .as_ref()
                        .is_none_or(|f| scim_core::filter::eval::matches(f, d, &ctx))
                })
                .cloned()
                .collect();
            for path in paths {
                for order in [SortOrder::Ascending, SortOrder::Descending] {
                    let q = ListQuery {
                        filter: filter.clone(),
                        sort_by: Some(AttrPath::parse(path).unwrap()),
                        sort_order: order,
                        count: 1000,
                        ..ListQuery::default()
                    };
                    let (want, total) = sort_and_page(matching.clone(), &q, &REGISTRY, rt);
                    let want: Vec<&str> = want.iter().map(|d| d["id"].as_str().unwrap()).collect();
                    let got = all_pages(&db, &a, &q, 37);
                    assert_eq!(got.len() as u64, total);
                    assert_eq!(ids(&got), want, "{:?} sortBy={path} {order:?}", db.kind());
                }
            }
        }
        eprintln!(
            "{:?}: {} sort orders agree with core",
            db.kind(),
            paths.len() * 6
        );
    }
}

#[test]
fn missing_values_sort_last_ascending_and_first_descending() {
    for db in TestDb::all() {
        let (a, _) = populated(&db);
        let titled =
            |r: &StoredResource| r.resource["title"].as_str().is_some_and(|t| !t.is_empty());
        let q = |order| ListQuery {
            sort_by: Some(AttrPath::parse("title").unwrap()),
            sort_order: order,
            ..ListQuery::default()
        };
        let asc = all_pages(&db, &a, &q(SortOrder::Ascending), 100);
        let first_missing = asc.iter().position(|r| !titled(r)).unwrap();
        assert!(first_missing > 0 && asc[first_missing..].iter().all(|r| !titled(r)));
        let desc = all_pages(&db, &a, &q(SortOrder::Descending), 100);
        let first_titled = desc.iter().position(titled).unwrap();
        assert!(first_titled > 0 && desc[first_titled..].iter().all(titled));
    }
}

#[test]
fn lists_are_scoped_to_their_tenant() {
    for db in TestDb::all() {
        let (a, b) = populated(&db);
        let page = list(&db, &b, ListQuery::default()).unwrap();
        assert_eq!(page.total, 3);
        assert_eq!(ids(&page.resources), ["b-0", "b-1", "b-2"]);
        // The same userName in tenant A is not visible from B, and vice versa.
        let f = |t: &str| ListQuery {
            filter: Some(parse_filter(t).unwrap()),
            ..ListQuery::default()
        };
        let in_a = list(&db, &a, f(r#"userName eq "user000""#)).unwrap();
        let in_b = list(&db, &b, f(r#"userName eq "user000""#)).unwrap();
        assert_eq!(ids(&in_a.resources), ["id-000"]);
        assert_eq!(ids(&in_b.resources), ["b-0"]);
        let none = list(&db, &TenantId("nope".into()), ListQuery::default()).unwrap();
        assert_eq!((none.total, none.resources.len()), (0, 0));
    }
}

#[test]
fn sorting_by_what_has_no_single_value_is_refused() {
    for db in TestDb::all() {
        let (a, _) = populated(&db);
        // Every one a client's mistake (400 invalidValue), `meta.location` included: it is
        // no stored value, so there is nothing to sort by.
        for path in ["emails", "name", "nosuch", "meta.location"] {
            let q = ListQuery {
                sort_by: Some(AttrPath::parse(path).unwrap()),
                ..ListQuery::default()
            };
            let err = list(&db, &a, q).unwrap_err();
            assert!(matches!(err, StoreError::Invalid(_)), "{path}: {err:?}");
        }
    }
}

/// Paging from the cursor each page hands out gives exactly the OFFSET pages (users share
/// creation instants here, so the id breaks ties), the cursor is ignored for another offset
/// or a filtered query, and after a user before the position disappears the cursor goes on
/// right after the last user served where OFFSET would skip one.
#[test]
fn cursors_page_like_offset_and_skip_nobody_after_a_delete() {
    for db in TestDb::all() {
        let (a, _) = populated(&db);
        let page_at = |start: u64, cursor: Option<&query::PageCursor>| {
            let (t, c) = (a.clone(), cursor.cloned());
            let q = ListQuery {
                start_index: start,
                count: 40,
                ..ListQuery::default()
            };
            db.store
                .read(move |conn| {
                    query::list_users_after(conn, &REGISTRY, &t, &q, c.as_ref(), None)
                })
                .unwrap()
        };
        let offset_pages = all_pages(&db, &a, &ListQuery::default(), 40);
        let mut via_cursor = Vec::new();
        let mut start = 1;
        let mut cursor: Option<query::PageCursor> = None;
        loop {
            assert!(start <= N as u64 + 1, "paging by cursor must end");
            let page = page_at(start, cursor.as_ref());
            assert_eq!(page.total, N as u64, "{:?}", db.kind());
            let got = page.resources.len();
            via_cursor.extend(page.resources);
            match page.next {
                Some(next) => {
                    assert_eq!(got, 40, "only full pages hand out a cursor");
                    assert_eq!(next.offset, start - 1 + 40);
                    cursor = Some(next);
                }
                None => break,
            }
            start += 40;
        }
        assert_eq!(ids(&via_cursor), ids(&offset_pages), "{:?}", db.kind());

        // A cursor before the offset skips the entries in between; one after it is not used.
        let first = page_at(1, None);
        let to_41 = first.next.clone().unwrap();
        assert_eq!(
            ids(&page_at(81, Some(&to_41)).resources),
            ids(&offset_pages[80..120])
        );
        assert_eq!(
            ids(&page_at(1, Some(&to_41)).resources),
            ids(&offset_pages[0..40])
        );

        // The first user disappears: the cursor continues after the 40th user served.
        let gone = offset_pages[0].id.clone();
        let t = a.clone();
        db.store
            .write(move |c| users::delete(c, &t, &gone, None, base()))
            .unwrap();
        let next = page_at(41, Some(&to_41));
        assert_eq!(
            ids(&next.resources),
            ids(&offset_pages[40..80]),
            "{:?}",
            db.kind()
        );
        let shifted = page_at(41, None);
        assert_eq!(
            ids(&shifted.resources),
            ids(&offset_pages[41..81]),
            "OFFSET skips one"
        );
    }
}

#[test]
fn page_marks_start_any_page_where_offset_does() {
    for db in TestDb::all() {
        let (a, b) = populated(&db);
        let marks_of = |t: &TenantId, every: u64| {
            let t = t.clone();
            db.store
                .read(move |c| query::user_page_marks(c, &t, every))
                .unwrap()
        };
        let page_at = |start: u64, cursor: Option<query::PageCursor>| {
            let (t, q) = (
                a.clone(),
                ListQuery {
                    start_index: start,
                    count: 40,
                    ..ListQuery::default()
                },
            );
            db.store
                .read(move |c| query::list_users_after(c, &REGISTRY, &t, &q, cursor.as_ref(), None))
                .unwrap()
        };
        let check = |every: u64| {
            let offset_pages = all_pages(&db, &a, &ListQuery::default(), 40);
            let n = offset_pages.len() as u64;
            let marks = marks_of(&a, every);
            assert_eq!(marks.len() as u64, n / every, "{:?}", db.kind());
            for (k, m) in marks.iter().enumerate() {
                assert_eq!(m.offset, (k as u64 + 1) * every);
            }
            for start in [
                1,
                every,
                every + 1,
                2 * every + 3,
                100,
                201,
                n - 1,
                n,
                n + 1,
                n + 50,
            ] {
                let offset = start - 1;
                let mark = (offset / every)
                    .checked_sub(1)
                    .and_then(|k| marks.get(k as usize).or(marks.last()))
                    .cloned();
                let page = page_at(start, mark.clone());
                let from = (offset as usize).min(offset_pages.len());
                let to = (from + 40).min(offset_pages.len());
                assert_eq!(
                    ids(&page.resources),
                    ids(&offset_pages[from..to]),
                    "{:?} start {start} every {every} mark {:?}",
                    db.kind(),
                    mark.map(|m| m.offset)
                );
                assert_eq!(page.total, n);
            }
        };
        check(7);
        check(100);
        // Marks are the tenant's own.
        assert_eq!(marks_of(&b, 1).len(), 3);
        // After a delete, marks read afresh still agree with OFFSET.
        let gone = all_pages(&db, &a, &ListQuery::default(), 40)[3].id.clone();
        let t = a.clone();
        db.store
            .write(move |c| users::delete(c, &t, &gone, None, base()))
            .unwrap();
        check(7);
    }
}
