//! Plans and results of the hot list queries (issue #8): the count and the page of the default
//! list read the partial index of visible users (the rows an OFFSET skips are skipped in the
//! index), `userName eq` reads the unique index, and pages, totals and their order are what
//! they were — hidden users excluded, other tenants unseen — on both backends. Also SQLite's
//! housekeeping: no STAT4 samples kept (they made statements re-prepare on every rebind), and
//! the WAL emptied by the background checkpointer, whose thread ends with the store.
#![expect(clippy::unwrap_used, reason = "fixtures fail loudly")]

use std::sync::LazyLock;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use scim_core::query::{ListQuery, QueryLimits};
use scim_core::schema::SchemaRegistry;
use scim_store::groups::{self, NewGroup};
use scim_store::query::{self, ListPlan};
use scim_store::testing::TestDb;
use scim_store::users::NewUser;
use scim_store::{BackendKind, Conn, Origin, Store, StoreOptions, TenantId, tenants, users};
use serde_json::json;

static REGISTRY: LazyLock<SchemaRegistry> = LazyLock::new(SchemaRegistry::standard);

/// Users in the tenant under test; every tenth is hidden (deleted by the provider).
const N: usize = 600;

fn base() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, 6, 1)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
}

/// User `i`: ids not in creation order, two users per creation instant.
fn user_id(i: usize) -> String {
    format!("u-{:04}", (i * 7919) % 10_000)
}

fn created(i: usize) -> NaiveDateTime {
    base() + TimeDelta::seconds(i64::try_from(i / 2).unwrap())
}

fn hidden(i: usize) -> bool {
    i % 10 == 3
}

/// The tenant under test with [`N`] users (some hidden) and 30 groups, and a second tenant
/// with users created at the same instants.
fn populated(store: &Store) -> (TenantId, TenantId) {
    store
        .write(|c| {
            let a = tenants::create(c, "a", base())?.id;
            let b = tenants::create(c, "b", base())?.id;
            for i in 0..N {
                let doc = json!({
                    "userName": format!("user{i:04}@example.com"),
                    "title": if i % 3 == 0 { "Engineer" } else { "Manager" },
                });
                let new = NewUser {
                    id: user_id(i),
                    resource: doc,
                    password_hash: None,
                    origin: Origin::Provisioned,
                    now: created(i),
                };
                users::insert(c, &REGISTRY, &a, new)?;
                if hidden(i) {
                    users::hide(c, &a, &user_id(i), created(i), created(i))?;
                }
            }
            for i in 0..40 {
                let new = NewUser {
                    id: format!("b-{i}"),
                    resource: json!({"userName": format!("user{i:04}@example.com")}),
                    password_hash: None,
                    origin: Origin::Provisioned,
                    now: created(i),
                };
                users::insert(c, &REGISTRY, &b, new)?;
            }
            for i in 0..30 {
                let new = NewGroup {
                    id: format!("g-{:02}", (i * 7) % 30),
                    resource: json!({"displayName": format!("Group {i}")}),
                    members: Vec::new(),
                    now: created(i),
                };
                groups::insert(c, &REGISTRY, &a, new)?;
            }
            Ok((a, b))
        })
        .unwrap()
}

fn q(pairs: &[(&str, &str)]) -> ListQuery {
    ListQuery::from_query_pairs(pairs.iter().copied(), &QueryLimits::default()).unwrap()
}

/// The plans of `query` on `store`; on PostgreSQL with the tables vacuumed (as autovacuum
/// keeps them: index-only scans need the visibility map) and analyzed, and sequential and
/// bitmap scans off, so the plan says whether an index CAN serve the statement (on tables this
/// small a scan would otherwise win).
fn plans(store: &Store, tenant: &TenantId, query: ListQuery, groups: bool) -> ListPlan {
    let t = tenant.clone();
    store
        .read(move |c| {
            if let Conn::Pg(pg) = c {
                // One statement per call: VACUUM refuses to run in a multi-statement batch.
                pg.batch_execute("VACUUM ANALYZE users")?;
                pg.batch_execute("VACUUM ANALYZE groups")?;
                pg.batch_execute("SET enable_seqscan = off; SET enable_bitmapscan = off")?;
            }
            let plan = match groups {
                false => query::explain_list_users(c, &REGISTRY, &t, &query),
                true => query::explain_list_groups(c, &REGISTRY, &t, &query),
            };
            if let Conn::Pg(pg) = c {
                pg.batch_execute("RESET enable_seqscan; RESET enable_bitmapscan")?;
            }
            plan
        })
        .unwrap()
}

/// A store on the same database opened again, as a restarted server does: its planner
/// statistics are gathered from the populated tables.
fn reopened(db: &TestDb) -> Store {
    Store::open(&db.url, StoreOptions::default()).unwrap()
}

fn all(plan: &[String]) -> String {
    plan.join("\n")
}

#[test]
fn the_default_list_counts_and_skips_in_the_visible_users_index() {
    for db in TestDb::all() {
        let (a, _) = populated(&db.store);
        let store = reopened(&db);
        let plan = plans(
            &store,
            &a,
            q(&[("startIndex", "301"), ("count", "100")]),
            false,
        );
        let (count, page) = (all(&plan.count), all(&plan.page));
        eprintln!("{:?} count:\n{count}\npage:\n{page}", db.kind());
        match db.kind() {
            BackendKind::Sqlite => {
                // Both partial indexes cover the count; either will do.
                assert!(
                    count.contains("USING COVERING INDEX users_live_"),
                    "count:\n{count}"
                );
                // The ids of the page come in order from the covering index (no sort of the
                // tenant), then the page's rows by primary key; only those 100 are sorted.
                assert!(
                    page.contains("USING COVERING INDEX users_live_created"),
                    "page:\n{page}"
                );
                assert!(page.contains("USING PRIMARY KEY"), "page:\n{page}");
                assert_eq!(page.matches("TEMP B-TREE").count(), 1, "page:\n{page}");
            }
            BackendKind::Postgres => {
                assert!(
                    count.contains("Index Only Scan using users_live_"),
                    "{count}"
                );
                // The ids come in order from the index: the only sort is the page's own.
                assert!(
                    page.contains("Index Only Scan using users_live_created"),
                    "page:\n{page}"
                );
                assert_eq!(page.matches("Sort Key").count(), 1, "page:\n{page}");
            }
        }
        assert!(!count.to_ascii_lowercase().contains("seq scan"));
    }
}

#[test]
fn user_name_eq_counts_and_pages_through_the_unique_index() {
    for db in TestDb::all() {
        let (a, _) = populated(&db.store);
        let store = reopened(&db);
        let filter = "userName eq \"USER0042@example.com\"";
        let plan = plans(&store, &a, q(&[("filter", filter)]), false);
        let (count, page) = (all(&plan.count), all(&plan.page));
        eprintln!("{:?} count:\n{count}\npage:\n{page}", db.kind());
        let unique = match db.kind() {
            BackendKind::Sqlite => "sqlite_autoindex_users_2 (tenant_id=? AND user_name_key=?)",
            BackendKind::Postgres => "users_tenant_id_user_name_key_key",
        };
        assert!(count.contains(unique), "count:\n{count}");
        assert!(page.contains(unique), "page:\n{page}");
        assert!(!page.contains("users_live_created"), "page:\n{page}");
        // And the answer: one user, found whatever the case.
        let found = store
            .read(move |c| query::list_users(c, &REGISTRY, &a, &q(&[("filter", filter)])))
            .unwrap();
        assert_eq!(found.total, 1);
        assert_eq!(found.resources[0].id, user_id(42));
    }
}

#[test]
fn the_filtered_default_list_still_pages_in_creation_order_from_the_index() {
    for db in TestDb::all() {
        let (a, _) = populated(&db.store);
        let store = reopened(&db);
        let pairs = [("filter", "title eq \"Engineer\""), ("startIndex", "51")];
        let plan = plans(&store, &a, q(&pairs), false);
        let page = all(&plan.page);
        eprintln!("{:?} page:\n{page}", db.kind());
        assert!(page.contains("users_live_created"), "page:\n{page}");
    }
}

/// What the lists must answer: the visible users of the tenant in creation order (id breaks
/// ties), and the groups likewise.
fn expected_users(filter: impl Fn(usize) -> bool) -> Vec<String> {
    let mut v: Vec<(NaiveDateTime, String)> = (0..N)
        .filter(|&i| !hidden(i) && filter(i))
        .map(|i| (created(i), user_id(i)))
        .collect();
    v.sort();
    v.into_iter().map(|(_, id)| id).collect()
}

fn paged(
    store: &Store,
    tenant: &TenantId,
    filter: Option<&str>,
    groups: bool,
) -> (u64, Vec<String>) {
    let mut ids = Vec::new();
    let mut total = None;
    let mut start = 1usize;
    loop {
        let (s, t) = (start.to_string(), tenant.clone());
        let mut pairs = vec![("startIndex", s.as_str()), ("count", "37")];
        pairs.extend(filter.map(|f| ("filter", f)));
        let query = q(&pairs);
        let page = store
            .read(move |c| match groups {
                false => query::list_users(c, &REGISTRY, &t, &query),
                true => query::list_groups(c, &REGISTRY, &t, &query),
            })
            .unwrap();
        assert!(total.is_none_or(|t| t == page.total), "totals agree");
        total = Some(page.total);
        if page.resources.is_empty() {
            break;
        }
        assert!(page.resources.len() <= 37);
        start += page.resources.len();
        ids.extend(page.resources.into_iter().map(|r| r.id));
    }
    (total.unwrap(), ids)
}

#[test]
fn pages_totals_and_order_are_unchanged_and_hidden_users_stay_out() {
    for db in TestDb::all() {
        let (a, b) = populated(&db.store);
        let want = expected_users(|_| true);
        let (total, ids) = paged(&db.store, &a, None, false);
        assert_eq!(total, u64::try_from(want.len()).unwrap(), "{:?}", db.kind());
        assert_eq!(
            ids,
            want,
            "{:?}: every visible user once, in order",
            db.kind()
        );

        let want = expected_users(|i| i % 3 == 0);
        let (total, ids) = paged(&db.store, &a, Some("title eq \"Engineer\""), false);
        assert_eq!(total, u64::try_from(want.len()).unwrap(), "{:?}", db.kind());
        assert_eq!(ids, want, "{:?}", db.kind());

        // A hidden user is out of the lookup too; the other tenant keeps its own.
        let hidden_name = "userName eq \"user0003@example.com\"";
        let (total, ids) = paged(&db.store, &a, Some(hidden_name), false);
        assert_eq!((total, ids.len()), (0, 0), "{:?}", db.kind());
        let (total, ids) = paged(&db.store, &b, Some(hidden_name), false);
        assert_eq!(
            (total, ids),
            (1, vec!["b-3".to_string()]),
            "{:?}",
            db.kind()
        );
        let (total, ids) = paged(&db.store, &b, None, false);
        assert_eq!(total, 40);
        assert!(ids.iter().all(|id| id.starts_with("b-")));

        let mut want: Vec<(NaiveDateTime, String)> = (0..30)
            .map(|i| (created(i), format!("g-{:02}", (i * 7) % 30)))
            .collect();
        want.sort();
        let want: Vec<String> = want.into_iter().map(|(_, id)| id).collect();
        let (total, ids) = paged(&db.store, &a, None, true);
        assert_eq!((total, ids), (30, want), "{:?}", db.kind());
    }
}

#[test]
fn sqlite_keeps_planner_averages_but_no_stat4_samples() {
    let db = TestDb::sqlite();
    populated(&db.store);
    let store = reopened(&db);
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let count = |sql: &'static str| {
        store
            .read(move |c| match c {
                Conn::Sqlite(c) => Ok(diesel::sql_query(sql).load::<Count>(&mut **c)?[0].n),
                Conn::Pg(_) => unreachable!("SQLite store"),
            })
            .unwrap()
    };
    assert!(count("SELECT COUNT(*) AS n FROM sqlite_stat1 WHERE tbl = 'users'") > 0);
    assert_eq!(count("SELECT COUNT(*) AS n FROM sqlite_stat4"), 0);
}

/// The bundled SQLite is built as `.cargo/config.toml` asks: multi-thread mode (no mutex per
/// API call on a connection, which diesel's connections never share between threads), no
/// global page-cache group, no allocation statistics.
#[test]
fn sqlite_is_built_without_per_call_mutexes() {
    let db = TestDb::sqlite();
    #[derive(diesel::QueryableByName)]
    struct Opt {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }
    let options: Vec<String> = db
        .store
        .read(|c| match c {
            Conn::Sqlite(c) => {
                Ok(diesel::sql_query("PRAGMA compile_options").load::<Opt>(&mut **c)?)
            }
            Conn::Pg(_) => unreachable!("SQLite store"),
        })
        .unwrap()
        .into_iter()
        .map(|o| o.compile_options)
        .collect();
    assert!(options.iter().any(|o| o == "THREADSAFE=2"), "{options:?}");
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "{options:?}"
    );
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "{options:?}"
    );
}

/// Threads of this process named `name` (Linux; as `comm` shows them, 15 bytes at most).
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

#[test]
fn the_checkpointer_empties_the_wal_once_writes_stop() {
    let db = TestDb::sqlite();
    let (a, _) = populated(&db.store);
    let path = db.url.strip_prefix("sqlite://").unwrap();
    let wal = format!("{path}-wal");
    let size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert!(size() > 0, "the writes went to the WAL");
    // The writer never checkpoints; the checkpointer copies the WAL and, after two seconds
    // without commits, truncates it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while size() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(size(), 0, "the WAL was emptied");
    // Everything is readable, by a new store too.
    let again = reopened(&db);
    let page = again
        .read(move |c| query::list_users(c, &REGISTRY, &a, &q(&[])))
        .unwrap();
    assert_eq!(
        page.total,
        u64::try_from(expected_users(|_| true).len()).unwrap()
    );
}

/// Under continuous writes the checkpointer never copies the whole WAL by itself (frames keep
/// coming while it copies), so the WAL can only start over when the writer finishes the
/// checkpoint between two batches; it does so right after each of the checkpointer's passes,
/// four times a second. Each start writes a new WAL header with the next checkpoint sequence
/// number (bytes 12..16, SQLite file format 4.1), which is what this counts.
#[test]
fn the_wal_starts_over_after_each_checkpointer_pass_under_continuous_writes() {
    const THREADS: usize = 4;
    let db = TestDb::sqlite();
    let path = db.url.strip_prefix("sqlite://").unwrap();
    let wal = format!("{path}-wal");
    let t = db
        .store
        .write(|c| tenants::create(c, "steady", base()))
        .unwrap()
        .id;
    let sequence = || {
        let mut header = [0u8; 16];
        std::fs::File::open(&wal)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
            .map_or(0, |()| {
                u32::from_be_bytes([header[12], header[13], header[14], header[15]])
            })
    };
    let before = sequence();
    let until = std::time::Instant::now() + std::time::Duration::from_millis(2000);
    let handles: Vec<_> = (0..THREADS)
        .map(|n| {
            let (store, t) = (db.store.clone(), t.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while std::time::Instant::now() < until {
                    let (t, id) = (t.clone(), format!("s-{n}-{i}"));
                    store
                        .write(move |c| {
                            let new = NewUser {
                                resource: json!({"userName": id.clone(), "title": "x".repeat(2000)}),
                                id,
                                password_hash: None,
                                origin: Origin::Provisioned,
                                now: base(),
                            };
                            users::insert(c, &REGISTRY, &t, new)
                        })
                        .unwrap();
                    i += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let starts = sequence().wrapping_sub(before);
    // About eight passes in two seconds; the writer's own fallback (every 1 024 batches) gives
    // two to four starts here on its own, which is what this fails with.
    assert!(
        starts >= 5,
        "the WAL started over {starts} times in 2 s of writes"
    );
}

#[test]
fn the_writer_and_checkpointer_threads_end_with_their_store() {
    const STORES: usize = 24;
    // `comm` keeps 15 bytes of the writer's name, `scim-sqlite-writer`.
    for name in ["scim-checkpoint", "scim-sqlite-wri"] {
        let stores: Vec<TestDb> = (0..STORES).map(|_| TestDb::sqlite()).collect();
        // A thread takes its name once it first runs, which on a busy machine (other tests of
        // this file keep writer threads busy) can be a while after its store has opened.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut during = threads_named(name);
        while during < STORES && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
            during = threads_named(name);
        }
        assert!(during >= STORES, "one {name} per store: {during}");
        drop(stores);
        // Dropping a store joins its threads. Other tests of this file open a few stores
        // meanwhile, hence the margin.
        let after = threads_named(name);
        assert!(
            after + STORES - 8 <= during,
            "{name}: {during} then {after}"
        );
    }
}
