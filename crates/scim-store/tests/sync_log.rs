//! The sync log on both backends: written with the change it records or not at all, queried
//! by resource, action, actor and time, newest first, paged by keyset without gaps or
//! repeats, scoped to its tenant, and answered from indexes.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use diesel::connection::SimpleConnection;
use scim_store::sync_log::{self, LogCursor, LogQuery, NewLogEntry};
use scim_store::testing::TestDb;
use scim_store::{Actor, Conn, Store, StoreError, TenantId, tenants};
use serde_json::json;

fn t0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
}

fn tenant(store: &Store, name: &str) -> TenantId {
    let name = name.to_string();
    store
        .write(move |c| tenants::create(c, &name, t0()))
        .unwrap()
        .id
}

fn entry(secs: i64, actor: Actor, action: &str, resource_id: &str) -> NewLogEntry {
    NewLogEntry {
        at: t0() + TimeDelta::seconds(secs),
        actor,
        action: action.into(),
        resource_type: "User".into(),
        resource_id: resource_id.into(),
        detail: json!({"attributes": ["displayName"]}),
    }
}

fn query(store: &Store, t: &TenantId, q: LogQuery) -> Vec<(i64, NaiveDateTime)> {
    let t = t.clone();
    store
        .read(move |c| sync_log::query(c, &t, &q))
        .unwrap()
        .entries
        .iter()
        .map(|e| (e.id, e.at))
        .collect()
}

/// A small history: (seconds after t0, actor, action, user).
fn history() -> Vec<NewLogEntry> {
    vec![
        entry(0, Actor::Provider, "create", "u1"),
        entry(10, Actor::Provider, "create", "u2"),
        entry(20, Actor::Admin, "update", "u1"),
        entry(30, Actor::Provider, "deactivate", "u2"),
        entry(40, Actor::System, "deactivate", "u1"),
        entry(50, Actor::Ldap, "update", "u2"),
    ]
}

#[test]
fn entry_commits_with_its_change_or_not_at_all() {
    for db in TestDb::all() {
        let s = &db.store;
        // The closure fails after creating a tenant and logging it: neither is stored.
        let failed = s.write(|c| {
            let t = tenants::create(c, "rolled-back", t0())?;
            sync_log::append(c, &t.id, &entry(0, Actor::Admin, "create", "x"))?;
            Err::<(), _>(StoreError::Invalid("abort".into()))
        });
        assert!(
            matches!(failed, Err(StoreError::Invalid(_))),
            "{:?}",
            db.kind()
        );
        assert_eq!(
            s.read(|c| tenants::by_name(c, "rolled-back")).unwrap(),
            None
        );

        // The same write succeeding stores both, and the entry reads back whole.
        let (t, id) = s
            .write(|c| {
                let t = tenants::create(c, "committed", t0())?;
                let id = sync_log::append(c, &t.id, &entry(5, Actor::Admin, "create", "x"))?;
                Ok((t.id, id))
            })
            .unwrap();
        let tt = t.clone();
        let page = s
            .read(move |c| sync_log::query(c, &tt, &LogQuery::default()))
            .unwrap();
        assert_eq!(page.entries.len(), 1, "{:?}", db.kind());
        let e = &page.entries[0];
        assert_eq!(e.id, id);
        assert_eq!(e.tenant_id, t);
        assert_eq!(e.at, t0() + TimeDelta::seconds(5));
        assert_eq!(e.actor, Actor::Admin);
        assert_eq!(
            (
                e.action.as_str(),
                e.resource_type.as_str(),
                e.resource_id.as_str()
            ),
            ("create", "User", "x")
        );
        assert_eq!(e.detail, json!({"attributes": ["displayName"]}));
        assert_eq!(page.next, None);

        // Nothing of the failed write's log survived either: the table holds one entry.
        let total = s.read(count_all).unwrap();
        assert_eq!(total, 1, "{:?}", db.kind());
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Rows in the whole sync_log table, across tenants.
fn count_all(c: &mut Conn<'_>) -> Result<i64, StoreError> {
    use diesel::RunQueryDsl;
    let q = diesel::sql_query("SELECT COUNT(*) AS n FROM sync_log");
    let n: Count = match c {
        Conn::Sqlite(c) => q.get_result(&mut **c),
        Conn::Pg(c) => q.get_result(&mut **c),
    }
    .map_err(StoreError::from)?;
    Ok(n.n)
}

#[test]
fn filters_by_resource_action_actor_and_time_newest_first() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let tt = t.clone();
        s.write(move |c| sync_log::append_many(c, &tt, &history()))
            .unwrap();
        let at = |secs: &[i64]| -> Vec<NaiveDateTime> {
            secs.iter().map(|s| t0() + TimeDelta::seconds(*s)).collect()
        };
        let times = |q: LogQuery| -> Vec<NaiveDateTime> {
            query(s, &t, q).into_iter().map(|(_, at)| at).collect()
        };
        let k = db.kind();
        assert_eq!(
            times(LogQuery::default()),
            at(&[50, 40, 30, 20, 10, 0]),
            "{k:?}"
        );
        let by_user = LogQuery {
            resource_id: Some("u1".into()),
            ..LogQuery::default()
        };
        assert_eq!(times(by_user), at(&[40, 20, 0]), "{k:?}");
        let by_action = LogQuery {
            action: Some("deactivate".into()),
            ..LogQuery::default()
        };
        assert_eq!(times(by_action), at(&[40, 30]), "{k:?}");
        let by_actor = LogQuery {
            actor: Some(Actor::Provider),
            ..LogQuery::default()
        };
        assert_eq!(times(by_actor), at(&[30, 10, 0]), "{k:?}");
        // `from` is inclusive, `to` exclusive.
        let range = LogQuery {
            from: Some(t0() + TimeDelta::seconds(10)),
            to: Some(t0() + TimeDelta::seconds(40)),
            ..LogQuery::default()
        };
        assert_eq!(times(range), at(&[30, 20, 10]), "{k:?}");
        let combined = LogQuery {
            resource_id: Some("u2".into()),
            actor: Some(Actor::Provider),
            from: Some(t0() + TimeDelta::seconds(5)),
            ..LogQuery::default()
        };
        assert_eq!(times(combined), at(&[30, 10]), "{k:?}");
        let none = LogQuery {
            resource_id: Some("u1".into()),
            action: Some("create".into()),
            actor: Some(Actor::Jit),
            ..LogQuery::default()
        };
        assert_eq!(times(none), Vec::<NaiveDateTime>::new(), "{k:?}");
    }
}

#[test]
fn keyset_pages_have_no_gaps_or_repeats_even_while_appending() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        // 250 entries in 25 distinct instants, appended out of time order, so ties on `at`
        // and ids that disagree with time order are both exercised.
        let entries: Vec<NewLogEntry> = (0..250)
            .map(|i| {
                entry(
                    (i * 7) % 25,
                    Actor::Provider,
                    "update",
                    &format!("u{}", i % 3),
                )
            })
            .collect();
        let tt = t.clone();
        s.write(move |c| sync_log::append_many(c, &tt, &entries))
            .unwrap();
        let mut expected = query(
            s,
            &t,
            LogQuery {
                limit: 1000,
                ..LogQuery::default()
            },
        );
        assert_eq!(expected.len(), 250);
        let mut sorted = expected.clone();
        sorted.sort_by_key(|e| std::cmp::Reverse((e.1, e.0)));
        assert_eq!(expected, sorted, "newest first, ties by id descending");

        let mut seen = Vec::new();
        let mut cursor: Option<LogCursor> = None;
        let mut pages = 0;
        loop {
            let q = LogQuery {
                before: cursor,
                limit: 7,
                ..LogQuery::default()
            };
            let tt = t.clone();
            let page = s.read(move |c| sync_log::query(c, &tt, &q)).unwrap();
            assert!(page.entries.len() <= 7);
            seen.extend(page.entries.iter().map(|e| (e.id, e.at)));
            pages += 1;
            // New entries (newer than everything) arrive between pages; they must not shift
            // the pages being read.
            let tt = t.clone();
            s.write(move |c| {
                sync_log::append(c, &tt, &entry(3600 + pages, Actor::Admin, "update", "new"))
            })
            .unwrap();
            match page.next {
                // The cursor survives its text form.
                Some(next) => cursor = Some(next.to_string().parse().unwrap()),
                None => break,
            }
        }
        assert_eq!(pages, 36, "250 entries in pages of 7, {:?}", db.kind());
        assert_eq!(seen, expected, "{:?}", db.kind());
        expected.dedup();
        assert_eq!(expected.len(), 250);

        // Paging by resource uses the same cursor rules.
        let u0_all = query(
            s,
            &t,
            LogQuery {
                resource_id: Some("u0".into()),
                limit: 1000,
                ..LogQuery::default()
            },
        );
        let mut u0_paged = Vec::new();
        let mut cursor = None;
        loop {
            let q = LogQuery {
                resource_id: Some("u0".into()),
                before: cursor,
                limit: 10,
                ..LogQuery::default()
            };
            let tt = t.clone();
            let page = s.read(move |c| sync_log::query(c, &tt, &q)).unwrap();
            u0_paged.extend(page.entries.iter().map(|e| (e.id, e.at)));
            cursor = page.next;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(u0_paged, u0_all);
        assert_eq!(u0_all.len(), 84);
    }
}

#[test]
fn cursor_text_is_checked() {
    let c = LogCursor {
        at: t0() + TimeDelta::microseconds(123_456),
        id: 42,
    };
    assert_eq!(c.to_string().parse::<LogCursor>().unwrap(), c);
    for bad in ["", "12", "x_1", "1_x", "1_2_3"] {
        assert!(
            matches!(bad.parse::<LogCursor>(), Err(StoreError::Invalid(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn tenants_see_and_prune_only_their_own_entries() {
    for db in TestDb::all() {
        let s = &db.store;
        let a = tenant(s, "a");
        let b = tenant(s, "b");
        let ta = a.clone();
        s.write(move |c| sync_log::append_many(c, &ta, &history()))
            .unwrap();
        let tb = b.clone();
        s.write(move |c| sync_log::append(c, &tb, &entry(5, Actor::Jit, "create", "u1")))
            .unwrap();
        let k = db.kind();
        assert_eq!(query(s, &a, LogQuery::default()).len(), 6, "{k:?}");
        let from_b = query(s, &b, LogQuery::default());
        assert_eq!(from_b.len(), 1, "{k:?}");
        // B asking for A's user sees only its own entry for that id.
        let q = LogQuery {
            resource_id: Some("u1".into()),
            ..LogQuery::default()
        };
        assert_eq!(query(s, &b, q), from_b, "{k:?}");
        // A cursor taken from A's log reads nothing of A through B.
        let ta = a.clone();
        let first = s
            .read(move |c| {
                sync_log::query(
                    c,
                    &ta,
                    &LogQuery {
                        limit: 1,
                        ..LogQuery::default()
                    },
                )
            })
            .unwrap();
        let q = LogQuery {
            before: first.next,
            ..LogQuery::default()
        };
        assert!(query(s, &b, q).iter().all(|e| from_b.contains(e)));

        // Pruning B removes B's old entries and none of A's.
        let tb = b.clone();
        let pruned = s
            .write(move |c| sync_log::prune_before(c, &tb, t0() + TimeDelta::hours(1)))
            .unwrap();
        assert_eq!(pruned, 1, "{k:?}");
        assert!(query(s, &b, LogQuery::default()).is_empty());
        assert_eq!(query(s, &a, LogQuery::default()).len(), 6, "{k:?}");
        let ta = a.clone();
        let pruned = s
            .write(move |c| sync_log::prune_before(c, &ta, t0() + TimeDelta::seconds(20)))
            .unwrap();
        assert_eq!(pruned, 2, "{k:?}");
        assert_eq!(query(s, &a, LogQuery::default()).len(), 4, "{k:?}");
    }
}

#[test]
fn secrets_are_refused_and_pages_are_bounded() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let tt = t.clone();
        let refused = s.write(move |c| {
            let mut e = entry(0, Actor::Provider, "update", "u1");
            e.detail = json!({"changes": [{"Password": "hunter2"}]});
            sync_log::append(c, &tt, &e)
        });
        assert!(
            matches!(refused, Err(StoreError::Invalid(_))),
            "{:?}",
            db.kind()
        );
        // Naming the attribute that changed is fine; carrying its value is not.
        let tt = t.clone();
        s.write(move |c| {
            let mut e = entry(0, Actor::Provider, "update", "u1");
            e.detail = json!({"attributes": ["password"]});
            sync_log::append(c, &tt, &e)
        })
        .unwrap();

        let many: Vec<NewLogEntry> = (0..1200)
            .map(|i| entry(i, Actor::Provider, "update", "u1"))
            .collect();
        let tt = t.clone();
        assert_eq!(
            s.write(move |c| sync_log::append_many(c, &tt, &many))
                .unwrap(),
            1200
        );
        let page = |limit| {
            let tt = t.clone();
            s.read(move |c| {
                sync_log::query(
                    c,
                    &tt,
                    &LogQuery {
                        limit,
                        ..LogQuery::default()
                    },
                )
            })
            .unwrap()
        };
        assert_eq!(page(0).entries.len(), sync_log::DEFAULT_PAGE);
        assert_eq!(page(5000).entries.len(), sync_log::MAX_PAGE);
        assert!(page(5000).next.is_some());
    }
}

#[test]
fn every_query_shape_reads_an_index_without_sorting() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let entries: Vec<NewLogEntry> = (0..2000)
            .map(|i| {
                let actor = [Actor::Provider, Actor::Admin, Actor::System][i % 3];
                let action = ["create", "update", "deactivate", "membership"][i % 4];
                entry(i as i64, actor, action, &format!("u{}", i % 50))
            })
            .collect();
        let tt = t.clone();
        s.write(move |c| sync_log::append_many(c, &tt, &entries))
            .unwrap();
        let cursor = Some(LogCursor {
            at: t0() + TimeDelta::seconds(1000),
            id: 1000,
        });
        let shapes: Vec<(&str, LogQuery)> = vec![
            ("sync_log_time", LogQuery::default()),
            (
                "sync_log_time",
                LogQuery {
                    from: Some(t0()),
                    to: Some(t0() + TimeDelta::seconds(100)),
                    before: cursor,
                    ..LogQuery::default()
                },
            ),
            (
                "sync_log_resource",
                LogQuery {
                    resource_id: Some("u7".into()),
                    before: cursor,
                    ..LogQuery::default()
                },
            ),
            (
                "sync_log_action",
                LogQuery {
                    action: Some("update".into()),
                    from: Some(t0()),
                    ..LogQuery::default()
                },
            ),
            (
                "sync_log_actor",
                LogQuery {
                    actor: Some(Actor::Admin),
                    before: cursor,
                    ..LogQuery::default()
                },
            ),
        ];
        let plans = s
            .read(move |c| {
                if let Conn::Pg(pg) = c {
                    // On a small table (or a narrow range) a scan, or a bitmap scan plus a
                    // small sort, is cheapest; ask whether an index scan CAN serve each
                    // shape in order.
                    pg.batch_execute(
                        "ANALYZE sync_log; SET enable_seqscan = off; \
                         SET enable_bitmapscan = off",
                    )?;
                }
                let mut out = Vec::new();
                for (index, q) in shapes {
                    out.push((index, sync_log::plan(c, &t, &q)?.join("\n")));
                }
                if let Conn::Pg(pg) = c {
                    pg.batch_execute("RESET enable_seqscan; RESET enable_bitmapscan")?;
                }
                Ok(out)
            })
            .unwrap();
        for (index, plan) in plans {
            eprintln!("{:?} {index}:\n{plan}", db.kind());
            assert!(
                plan.contains(index),
                "{:?}: expected {index} in\n{plan}",
                db.kind()
            );
            let lower = plan.to_ascii_lowercase();
            assert!(
                !lower.contains("temp b-tree") && !lower.contains("sort"),
                "{:?}: the index should give the order:\n{plan}",
                db.kind()
            );
            assert!(!lower.contains("seq scan") && !lower.contains("scan sync_log\n"));
        }
    }
}
