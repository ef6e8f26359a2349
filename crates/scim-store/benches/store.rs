//! Store benchmarks on SQLite (durable: WAL, synchronous=FULL, group-commit writer): insert,
//! get by id, `userName eq` lookup, a list page of 100 in the middle of 100 000 users, and
//! adding one member to groups of 1 000, 100 000 and 1 000 000 members — which must cost the
//! same at every size.
//!
//! The data is loaded first and the store opened again, as a restarted server finds it (with
//! planner statistics gathered at open). `SCIM_BENCH_LIST_USERS` sets the size of the listed
//! tenant (100 000 by default); with `SCIM_BENCH_PG=1` and `SCIM_TEST_PG_URL` set, the list
//! page is also measured on PostgreSQL.
//!
//! Run with `cargo bench -p scim-store --bench store`; figures are in `BENCHMARKS.md`.
#![expect(
    clippy::expect_used,
    reason = "a benchmark whose fixtures are broken must stop loudly, not measure nothing"
)]
#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use diesel::connection::SimpleConnection;
use scim_core::patch::{Member, MemberOp};
use scim_core::query::{ListQuery, QueryLimits};
use scim_core::schema::SchemaRegistry;
use scim_store::groups::{self, NewGroup};
use scim_store::testing::TestDb;
use scim_store::users::{self, NewUser};
use scim_store::{Conn, Origin, Store, StoreOptions, TenantId, tenants};
use serde_json::json;

static SEQ: AtomicU64 = AtomicU64::new(0);

fn user_doc(n: u64) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("user{n}@example.com"),
        "name": {"givenName": "Isaac", "familyName": format!("Brock{n}")},
        "emails": [{"primary": true, "value": format!("user{n}@example.com"), "type": "work"}],
        "displayName": "Isaac Brock", "locale": "en-US", "externalId": format!("00u{n}"),
        "active": true
    })
}

fn user_row(n: u64) -> NewUser {
    NewUser {
        id: format!("u-{n}"),
        resource: user_doc(n),
        password_hash: None,
        origin: Origin::Provisioned,
        now: Utc::now().naive_utc(),
    }
}

fn new_user(store: &Store, reg: &std::sync::Arc<SchemaRegistry>, tenant: &TenantId) -> String {
    let new = user_row(SEQ.fetch_add(1, Ordering::Relaxed));
    let id = new.id.clone();
    let (reg, t) = (reg.clone(), tenant.clone());
    store
        .write(move |c| users::insert(c, &reg, &t, new))
        .expect("insert user");
    id
}

/// A group whose membership rows are written directly (fast fixture: the rows reference ids
/// that are not users, which only the add path would check).
fn group_with_members(
    store: &Store,
    reg: &std::sync::Arc<SchemaRegistry>,
    tenant: &TenantId,
    size: u64,
) -> String {
    let id = format!("g-{size}");
    let (r, t, gid) = (reg.clone(), tenant.clone(), id.clone());
    store
        .write(move |c| {
            groups::insert(
                c,
                &r,
                &t,
                NewGroup {
                    id: gid.clone(),
                    resource: json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": format!("Group of {size}")}),
                    members: Vec::new(),
                    now: Utc::now().naive_utc(),
                },
            )?;
            if let Conn::Sqlite(c) = c {
                c.batch_execute(&format!(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {size})
                     INSERT INTO group_members (tenant_id, group_id, member_id, member_type, display)
                     SELECT '{}', '{gid}', printf('m-%09d', i), 'User', NULL FROM n",
                    t.as_str()
                ))?;
            }
            Ok(())
        })
        .expect("group fixture");
    id
}

/// A tenant with `n` users, inserted 1 000 per transaction (a fast fixture).
fn listed_tenant(
    store: &Store,
    reg: &std::sync::Arc<SchemaRegistry>,
    name: &str,
    n: u64,
) -> TenantId {
    let (now, name) = (Utc::now().naive_utc(), name.to_string());
    let tenant = store
        .write(move |c| tenants::create(c, &name, now))
        .expect("tenant")
        .id;
    let mut left = n;
    while left > 0 {
        let chunk = left.min(1_000);
        left -= chunk;
        let (r, t) = (reg.clone(), tenant.clone());
        store
            .write(move |c| {
                for _ in 0..chunk {
                    users::insert(c, &r, &t, user_row(SEQ.fetch_add(1, Ordering::Relaxed)))?;
                }
                Ok(())
            })
            .expect("list fixture");
    }
    tenant
}

/// The page of 100 in the middle of the listed tenant (an import paging through it).
fn middle_page(n: u64) -> ListQuery {
    let start = (n / 2 + 1).to_string();
    ListQuery::from_query_pairs(
        [("startIndex", start.as_str()), ("count", "100")],
        &QueryLimits::default(),
    )
    .expect("query")
}

fn bench_page(c: &mut Criterion, label: &str, store: &Store, tenant: &TenantId, n: u64) {
    let reg = SchemaRegistry::standard();
    let query = middle_page(n);
    c.bench_function(
        &format!(
            "store/list page of 100 at offset {} of {n} users{label}",
            n / 2
        ),
        |b| {
            b.iter(|| {
                let page = store
                    .read(|c| scim_store::query::list_users(c, &reg, tenant, black_box(&query)))
                    .expect("list");
                assert_eq!(page.resources.len(), 100);
                page
            })
        },
    );
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::open(&url, StoreOptions::default()).expect("open store");
    let reg = std::sync::Arc::new(SchemaRegistry::standard());
    let now = Utc::now().naive_utc();
    let tenant = store
        .write(move |c| tenants::create(c, "bench", now))
        .expect("tenant")
        .id;

    // A population to look things up in, and a large tenant to page through.
    for _ in 0..10_000 {
        new_user(&store, &reg, &tenant);
    }
    let list_users: u64 = std::env::var("SCIM_BENCH_LIST_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let listed = listed_tenant(&store, &reg, "bench-list", list_users);
    // A server restart: the store opens on the loaded database.
    drop(store);
    let store = Store::open(&url, StoreOptions::default()).expect("reopen store");

    let probe_id = "u-5000".to_string();
    let probe_name = "USER5000@example.com";

    c.bench_function("store/insert user (durable, one request)", |b| {
        b.iter(|| new_user(&store, &reg, &tenant))
    });
    // Group commit: 16 writers at once share transactions and fsyncs; reported per insert.
    c.bench_function(
        "store/insert user, 16 concurrent writers (per insert)",
        |b| {
            b.iter_custom(|iters| {
                let threads = 16u64;
                let per = iters.div_ceil(threads).max(1);
                let start = std::time::Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        s.spawn(|| {
                            for _ in 0..per {
                                new_user(&store, &reg, &tenant);
                            }
                        });
                    }
                });
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per * threads) as f64)
            })
        },
    );
    c.bench_function("store/get user by id", |b| {
        b.iter(|| {
            store
                .read(|c| users::get(c, &tenant, black_box(&probe_id)))
                .expect("get")
                .expect("present")
        })
    });
    let query = ListQuery::from_query_pairs(
        [("filter", format!("userName eq \"{probe_name}\"").as_str())],
        &QueryLimits::default(),
    )
    .expect("query");
    c.bench_function("store/userName eq lookup (list, case-insensitive)", |b| {
        b.iter(|| {
            let page = store
                .read(|c| scim_store::query::list_users(c, &reg, &tenant, black_box(&query)))
                .expect("list");
            assert_eq!(page.total, 1);
            page
        })
    });

    bench_page(c, "", &store, &listed, list_users);
    if std::env::var_os("SCIM_BENCH_PG").is_some()
        && let Some(pg) = TestDb::postgres()
    {
        let pg_listed = listed_tenant(&pg.store, &reg, "bench-list", list_users);
        pg.store
            .read(|c| match c {
                Conn::Pg(c) => c.batch_execute("VACUUM ANALYZE users").map_err(Into::into),
                Conn::Sqlite(_) => Ok(()),
            })
            .expect("vacuum");
        bench_page(c, " (PostgreSQL)", &pg.store, &pg_listed, list_users);
    }

    for size in [1_000u64, 100_000, 1_000_000] {
        let group = group_with_members(&store, &reg, &tenant, size);
        c.bench_function(&format!("store/add one member to a group of {size}"), |b| {
            b.iter_batched(
                || new_user(&store, &reg, &tenant),
                |uid| {
                    let (r, t, g) = (reg.clone(), tenant.clone(), group.clone());
                    let ops = vec![MemberOp::Add(vec![Member {
                        value: uid,
                        display: None,
                        kind: None,
                    }])];
                    store
                        .write(move |c| {
                            groups::patch(c, &r, &t, &g, None, None, &ops, Utc::now().naive_utc())
                        })
                        .expect("add member")
                },
                BatchSize::SmallInput,
            )
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
