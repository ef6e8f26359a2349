//! Concurrency and durability of writes on both backends: concurrent membership additions lose
//! nothing; in a group-commit batch (SQLite) a failing request rolls back alone while the rest
//! commit; and a write that returned `Ok` is there when the database is opened again.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use common::{doc, reg};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use scim_core::patch::{Member, MemberOp};
use scim_store::groups::{self, NewGroup};
use scim_store::testing::TestDb;
use scim_store::users::{self, NewUser};
use scim_store::{BackendKind, Origin, Store, StoreError, StoreOptions, TenantId, tenants};
use serde_json::json;

fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

fn new_user(id: &str, name: &str) -> NewUser {
    NewUser {
        id: id.into(),
        resource: doc("User", json!({ "userName": name })),
        password_hash: None,
        origin: Origin::Provisioned,
        now: now(),
    }
}

fn tenant(s: &Store) -> TenantId {
    s.write(|c| tenants::create(c, "acme", now())).unwrap().id
}

/// A tenant whose userName "Taken" is held (by user `taken`), for a write that collides.
fn tenant_with_taken(s: &Store) -> TenantId {
    let t = tenant(s);
    let t2 = t.clone();
    s.write(move |c| users::insert(c, reg(), &t2, new_user("taken", "Taken")))
        .unwrap();
    t
}

/// One thread per item, all released together (a barrier), so their writes reach the store at
/// once and, on SQLite, share batches; each handle gives back what `f` returned for its item.
fn at_once<I, T, F>(items: I, f: F) -> Vec<thread::JoinHandle<T>>
where
    I: IntoIterator,
    I::Item: Send + 'static,
    T: Send + 'static,
    F: Fn(I::Item) -> T + Clone + Send + 'static,
{
    let items: Vec<I::Item> = items.into_iter().collect();
    let barrier = Arc::new(Barrier::new(items.len()));
    items
        .into_iter()
        .map(|item| {
            let (f, barrier) = (f.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                f(item)
            })
        })
        .collect()
}

/// On SQLite, occupies the writer for `ms` milliseconds (a write that sleeps), and returns when
/// it has had 50 ms to start: writes sent meanwhile queue, and the next batch takes them together.
fn hold_writer(s: &Store, ms: u64) -> thread::JoinHandle<scim_store::Result<()>> {
    let s = s.clone();
    let blocker = thread::spawn(move || {
        s.write(move |_| {
            thread::sleep(Duration::from_millis(ms));
            Ok(())
        })
    });
    thread::sleep(Duration::from_millis(50));
    blocker
}

#[test]
fn sixteen_threads_adding_members_lose_none() {
    const N: usize = 16;
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s);
        let t2 = t.clone();
        s.write(move |c| {
            for i in 0..N {
                users::insert(
                    c,
                    reg(),
                    &t2,
                    new_user(&format!("u{i:02}"), &format!("n{i}")),
                )?;
            }
            let g = NewGroup {
                id: "g".into(),
                resource: doc("Group", json!({"displayName": "Everyone"})),
                members: vec![],
                now: now(),
            };
            groups::insert(c, reg(), &t2, g)
        })
        .unwrap();

        let (s2, t2) = (s.clone(), t.clone());
        let handles = at_once(0..N, move |i| {
            let add = [MemberOp::Add(vec![Member {
                value: format!("u{i:02}"),
                display: None,
                kind: None,
            }])];
            let t = t2.clone();
            s2.write(move |c| groups::patch(c, reg(), &t, "g", None, None, &add, now()))
        });
        for h in handles {
            h.join().unwrap().unwrap();
        }
        assert_eq!(
            s.read(|c| groups::member_count(c, &t, "g")).unwrap(),
            N as i64,
            "{:?}",
            db.kind()
        );
        let g = s.read(|c| groups::get(c, &t, "g")).unwrap().unwrap();
        assert_eq!(g.version, 1 + N as i64, "every add bumped the version once");
    }
}

/// What each concurrent request of the batch test does.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Job {
    /// Insert a fresh user.
    Fresh(usize),
    /// Insert a user whose userName is taken (differs only in case).
    Collide,
    /// Insert a user, then fail for a reason of its own.
    Abort,
}

#[test]
fn a_failing_request_rolls_back_alone_and_the_batch_commits() {
    const N: usize = 32;
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant_with_taken(s);

        // On SQLite, occupy the writer so that every request below queues while it works and
        // the next batch takes them all together.
        let blocker = hold_writer(s, 300);

        let mut jobs: Vec<Job> = (0..N).map(Job::Fresh).collect();
        jobs[N / 3] = Job::Collide;
        jobs[2 * N / 3] = Job::Abort;
        let (s2, t2) = (s.clone(), t.clone());
        let handles = at_once(jobs.clone(), move |job| {
            let (s, t) = (s2.clone(), t2.clone());
            let reader = s.clone();
            let t2 = t.clone();
            let result = s.write(move |c| {
                let (id, name) = match job {
                    Job::Fresh(i) => (format!("u{i:02}"), format!("user{i}")),
                    Job::Collide => ("dup".into(), "TAKEN".into()),
                    Job::Abort => ("aborted".into(), "aborted".into()),
                };
                users::insert(c, reg(), &t2, new_user(&id, &name))?;
                if job == Job::Abort {
                    return Err(StoreError::Invalid("changed my mind".into()));
                }
                // SQLite: how many users are committed while this request runs, seen
                // from a separate read connection. (On PostgreSQL every request holds
                // a pooled connection already, so a nested read could starve the pool.)
                match reader.backend() {
                    BackendKind::Sqlite => reader.read(|rc| users::count(rc, &t2)),
                    BackendKind::Postgres => Ok(0),
                }
            });
            (job, result)
        });
        blocker.join().unwrap().unwrap();

        let mut committed_counts = Vec::new();
        for h in handles {
            match h.join().unwrap() {
                (Job::Fresh(_), Ok(n)) => committed_counts.push(n),
                (Job::Collide, Err(e)) => assert_eq!(
                    e,
                    StoreError::Conflict {
                        attribute: "userName",
                        value: "TAKEN".into()
                    }
                ),
                (Job::Abort, Err(e)) => assert!(matches!(e, StoreError::Invalid(_)), "{e:?}"),
                (job, other) => panic!("{job:?} on {:?}: unexpected {other:?}", db.kind()),
            }
        }
        assert_eq!(committed_counts.len(), N - 2);
        if db.kind() == BackendKind::Sqlite {
            // Every request ran before any of them committed: one batch, one commit.
            assert!(
                committed_counts.iter().all(|&n| n == 1),
                "not one batch: {committed_counts:?}"
            );
        }

        // Durable: a new store on the same database sees exactly the committed requests.
        let fresh = Store::open(&db.url, StoreOptions::default()).unwrap();
        assert_eq!(
            fresh.read(|c| users::count(c, &t)).unwrap(),
            1 + N as i64 - 2
        );
        for job in jobs {
            match job {
                Job::Fresh(i) => {
                    let u = fresh
                        .read(|c| users::get(c, &t, &format!("u{i:02}")))
                        .unwrap();
                    assert_eq!(u.unwrap().resource["userName"], format!("user{i}"));
                }
                Job::Collide => assert_eq!(fresh.read(|c| users::get(c, &t, "dup")).unwrap(), None),
                Job::Abort => {
                    assert_eq!(fresh.read(|c| users::get(c, &t, "aborted")).unwrap(), None);
                }
            }
        }
        let taken = fresh.read(|c| users::by_user_name(c, &t, "taken")).unwrap();
        assert_eq!(taken.unwrap().id, "taken");
    }
}

/// `write_overlapped`: a request's read after its write runs once the write has committed
/// (here, the batch's other writes still queued behind a blocker on SQLite), sees the write,
/// and comes back with it; a request whose write fails in a batch that commits never runs it.
#[test]
fn a_read_overlapping_the_fsync_sees_its_write_and_is_kept_only_on_success() {
    const N: usize = 16;
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant_with_taken(s);
        let blocker = hold_writer(s, 200);
        let (s2, t2) = (s.clone(), t.clone());
        let handles = at_once(0..N, move |i| {
            let (s, t) = (s2.clone(), t2.clone());
            // Every third collides with "taken": it fails alone, in a batch that commits.
            let (id, name) = if i % 3 == 0 {
                (format!("dup{i}"), "TAKEN".to_string())
            } else {
                (format!("u{i:02}"), format!("user{i}"))
            };
            let ran = std::cell::Cell::new(false);
            let (t3, id2) = (t.clone(), id.clone());
            let result = s.write_overlapped(
                move |c| users::insert(c, reg(), &t3, new_user(&id2, &name)),
                || {
                    ran.set(true);
                    s.read(|c| users::get(c, &t, &id))
                },
            );
            let result = result.map(|(stored, seen)| (stored.id, seen.map(|u| u.map(|u| u.id))));
            (i, result, ran.get())
        });
        blocker.join().unwrap().unwrap();
        for h in handles {
            let (i, result, ran) = h.join().unwrap();
            if i % 3 == 0 {
                assert!(
                    matches!(result, Err(StoreError::Conflict { .. })),
                    "{i}: {result:?}"
                );
                assert!(
                    !ran,
                    "{i}: the read ran after a failed write ({:?})",
                    db.kind()
                );
            } else {
                let id = format!("u{i:02}");
                assert_eq!(result, Ok((id.clone(), Ok(Some(id)))), "{:?}", db.kind());
                assert!(ran);
            }
        }
        // The successful writes are durable: a fresh store sees them all.
        let fresh = Store::open(&db.url, StoreOptions::default()).unwrap();
        let expected = 1 + (0..N).filter(|i| i % 3 != 0).count() as i64;
        assert_eq!(fresh.read(|c| users::count(c, &t)).unwrap(), expected);
    }
}

#[test]
fn a_returned_write_survives_reopening() {
    for db in TestDb::all() {
        let t = tenant(&db.store);
        let t2 = t.clone();
        let written = db
            .store
            .write(move |c| users::insert(c, reg(), &t2, new_user("u1", "bjensen")))
            .unwrap();
        let reopened = Store::open(&db.url, StoreOptions::default()).unwrap();
        let read = reopened.read(|c| users::get(c, &t, "u1")).unwrap();
        assert_eq!(read, Some(written), "{:?}", db.kind());
    }
}

/// What a crash would leave of SQLite's files: the database and its WAL as the kernel holds
/// them, copied while the store is still open (the writer's WAL frames go through a buffering
/// VFS, `wal_vfs`, which must have handed every acknowledged one to the kernel). Opening the
/// copy runs SQLite's recovery, which keeps only frames that chain up to a commit.
#[test]
fn acknowledged_writes_are_in_the_files_a_crash_would_leave() {
    const THREADS: usize = 8;
    const EACH: usize = 25;
    let db = TestDb::sqlite();
    let t = tenant(&db.store);
    let (s, t2) = (db.store.clone(), t.clone());
    let handles = at_once(0..THREADS, move |n| {
        for i in 0..EACH {
            let t = t2.clone();
            s.write(move |c| {
                let id = format!("u{n}-{i}");
                users::insert(c, reg(), &t, new_user(&id, &id))
            })
            .unwrap();
        }
    });
    for h in handles {
        h.join().unwrap();
    }
    let scim_store::DatabaseUrl::Sqlite(path) = scim_store::DatabaseUrl::parse(&db.url).unwrap()
    else {
        panic!("an SQLite store")
    };
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("crashed.db");
    std::fs::copy(&path, &copy).unwrap();
    std::fs::copy(format!("{path}-wal"), format!("{}-wal", copy.display())).unwrap();
    let crashed = Store::open(
        &format!("sqlite://{}", copy.display()),
        StoreOptions::default(),
    )
    .unwrap();
    assert_eq!(
        crashed.read(|c| users::count(c, &t)).unwrap(),
        (THREADS * EACH) as i64
    );
}

#[test]
fn queued_writes_from_one_async_thread_commit_together_and_durably() {
    const N: usize = 24;
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant_with_taken(s);
        if db.kind() == BackendKind::Postgres {
            // No writer queue: the write comes back unrun, for `write` on a blocking thread.
            let t2 = t.clone();
            let back = s.write_queued(move |c| users::count(c, &t2));
            let Err(f) = back else {
                panic!("PostgreSQL has no writer queue");
            };
            assert_eq!(s.write(f).unwrap(), 1);
            continue;
        }
        let before = s.write_generation();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // All futures are created (and their writes queued) before any is awaited, on one
        // thread: no thread waits on the writer, and the writer still sees them all.
        let results = runtime.block_on(async {
            let pending: Vec<_> = (0..N)
                .map(|i| {
                    let t2 = t.clone();
                    let name = if i == N / 2 {
                        "TAKEN".to_string()
                    } else {
                        format!("user{i}")
                    };
                    s.write_queued(move |c| {
                        users::insert(c, reg(), &t2, new_user(&format!("u{i:02}"), &name))
                    })
                    .unwrap_or_else(|_| panic!("SQLite queues writes"))
                })
                .collect();
            let mut results = Vec::new();
            for p in pending {
                results.push(p.await);
            }
            results
        });
        for (i, r) in results.iter().enumerate() {
            if i == N / 2 {
                assert!(
                    matches!(
                        r,
                        Err(StoreError::Conflict {
                            attribute: "userName",
                            ..
                        })
                    ),
                    "{r:?}"
                );
            } else {
                assert_eq!(r.as_ref().unwrap().resource["userName"], format!("user{i}"));
            }
        }
        assert_eq!(s.write_generation(), before + N as u64);
        // Durable once the future is ready: a new store on the file sees them.
        let fresh = Store::open(&db.url, StoreOptions::default()).unwrap();
        assert_eq!(fresh.read(|c| users::count(c, &t)).unwrap(), N as i64);
        assert_eq!(fresh.read(|c| users::get(c, &t, "u12")).unwrap(), None);
    }
}

#[test]
fn the_writer_leaves_its_wal_fsync_to_the_syncer_and_readers_keep_full() {
    let db = TestDb::sqlite();
    let level = |c: &mut scim_store::Conn<'_>| -> scim_store::Result<i32> {
        #[derive(diesel::QueryableByName)]
        struct Level {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            synchronous: i32,
        }
        use diesel::RunQueryDsl;
        let scim_store::Conn::Sqlite(c) = c else {
            panic!("an SQLite store")
        };
        let l: Level = diesel::sql_query("PRAGMA synchronous").get_result(*c)?;
        Ok(l.synchronous)
    };
    // 1 is NORMAL (the commit doesn't fsync; `wal_sync` does before the write returns), 2 FULL.
    assert_eq!(db.store.write(level).unwrap(), 1);
    assert_eq!(db.store.read(level).unwrap(), 2);
    // And a write still survives reopening (the syncer ran before `write` returned).
    let t = tenant(&db.store);
    let reopened = Store::open(&db.url, StoreOptions::default()).unwrap();
    assert_eq!(
        reopened
            .read(|c| tenants::get(c, &t))
            .unwrap()
            .map(|x| x.id),
        Some(t)
    );
}

/// Queues `n` user inserts from one async thread and awaits them all. Write `i` first counts
/// its run in `runs[i]`; `fail` says how it fails after its insert, if it does.
#[expect(
    clippy::panic,
    reason = "a write that panics is what is tested; tests fail loudly"
)]
fn queue_inserts(
    s: &Store,
    t: &TenantId,
    runs: &Arc<Vec<AtomicUsize>>,
    fail: impl Fn(usize) -> Option<bool> + Copy + Send + 'static,
) -> Vec<scim_store::Result<scim_store::model::StoredResource>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pending: Vec<_> = (0..runs.len())
            .map(|i| {
                let (t, runs) = (t.clone(), runs.clone());
                s.write_queued(move |c| {
                    runs[i].fetch_add(1, Ordering::SeqCst);
                    let stored = users::insert(
                        c,
                        reg(),
                        &t,
                        new_user(&format!("q{i:02}"), &format!("q{i}")),
                    )?;
                    match fail(i) {
                        Some(true) => panic!("write {i} panics after its insert"),
                        Some(false) => Err(StoreError::Invalid(format!("write {i} fails"))),
                        None => Ok(stored),
                    }
                })
                .unwrap_or_else(|_| panic!("SQLite queues writes"))
            })
            .collect();
        let mut results = Vec::new();
        for p in pending {
            results.push(p.await);
        }
        results
    })
}

#[test]
fn queued_writes_run_bare_and_rerun_alone_when_one_fails() {
    const N: usize = 24;
    let db = TestDb::sqlite();
    let s = &db.store;
    let t = tenant(s);
    // All succeed: each ran once, bare in its batch's transaction.
    let runs = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
    let results = queue_inserts(s, &t, &runs, |_| None);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(runs.iter().all(|r| r.load(Ordering::SeqCst) == 1));

    // Two fail after their insert (one with an error, one by panicking): each ran again alone,
    // its insert is undone, and every other write of its batch committed.
    let t = s.write(|c| tenants::create(c, "beta", now())).unwrap().id;
    let runs = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
    let results = queue_inserts(s, &t, &runs, |i| match i {
        8 => Some(true),
        16 => Some(false),
        _ => None,
    });
    for (i, r) in results.iter().enumerate() {
        match i {
            8 => assert!(matches!(r, Err(StoreError::Database(m)) if m.contains("panicked"))),
            16 => assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}"),
            _ => assert_eq!(r.as_ref().unwrap().resource["userName"], format!("q{i}")),
        }
    }
    // Write 8 failed in a bare run (it ends there: later writes of that batch run alone
    // only, after the rollback); no write ran more than twice.
    let runs: Vec<usize> = runs.iter().map(|r| r.load(Ordering::SeqCst)).collect();
    assert_eq!(runs[8], 2, "{runs:?}");
    assert!(runs.iter().all(|&r| (1..=2).contains(&r)), "{runs:?}");
    let fresh = Store::open(&db.url, StoreOptions::default()).unwrap();
    assert_eq!(fresh.read(|c| users::count(c, &t)).unwrap(), N as i64 - 2);
    for id in ["q08", "q16"] {
        assert_eq!(fresh.read(|c| users::get(c, &t, id)).unwrap(), None);
    }
}

#[test]
fn a_panicking_write_rolls_back_and_releases_the_write_lock() {
    let db = TestDb::sqlite();
    let s = &db.store;
    let t = tenant(s);
    let t2 = t.clone();
    let r = s.write(move |c| -> scim_store::Result<()> {
        users::insert(c, reg(), &t2, new_user("p1", "panics"))?;
        panic!("after the insert");
    });
    assert!(
        matches!(r, Err(StoreError::Database(ref m)) if m.contains("panicked")),
        "{r:?}"
    );
    let t2 = t.clone();
    s.write(move |c| users::insert(c, reg(), &t2, new_user("p2", "next")))
        .unwrap();
    // The batch committed (not just released a savepoint left open by the unwinding): another
    // store on the file can write, and sees the second insert but not the first.
    let fresh = Store::open(&db.url, StoreOptions::default()).unwrap();
    fresh.write(|c| tenants::create(c, "gamma", now())).unwrap();
    assert_eq!(fresh.read(|c| users::count(c, &t)).unwrap(), 1);
    assert_eq!(fresh.read(|c| users::get(c, &t, "p1")).unwrap(), None);
}

/// Sets its flag when dropped, after a pause: a caller that sees the flag set as soon as its
/// write's future is ready knows the write's closure was dropped before it was answered.
struct SlowDrop(Arc<std::sync::atomic::AtomicBool>);

impl Drop for SlowDrop {
    fn drop(&mut self) {
        thread::sleep(Duration::from_millis(50));
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_queued_write_is_dropped_before_its_caller_hears() {
    // A create shares its prepared document with its write and takes it back afterwards
    // without copying (`Arc::try_unwrap`); that needs the writer to have let go first.
    let db = TestDb::sqlite();
    let s = &db.store;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for _ in 0..3 {
        let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let shared = Arc::new(String::from("the prepared document"));
        let (guard, held) = (SlowDrop(dropped.clone()), shared.clone());
        let pending = s
            .write_queued(move |_| {
                let _keep = (&guard, &held);
                Ok(())
            })
            .unwrap_or_else(|_| panic!("SQLite queues writes"));
        runtime.block_on(pending).unwrap();
        assert!(
            dropped.load(Ordering::SeqCst),
            "answered before the write was dropped"
        );
        assert!(
            Arc::try_unwrap(shared).is_ok(),
            "the write still holds its share"
        );
    }
}

/// The group commit's totals (what `/metrics` exports) count every write, its batch and the
/// fsync that made it durable, on a real WAL file; PostgreSQL has no writer to report on.
#[test]
fn write_stats_count_writes_batches_and_fsyncs() {
    const N: usize = 16;
    for db in TestDb::all() {
        let s = &db.store;
        let Some(before) = s.write_stats() else {
            assert_eq!(db.kind(), BackendKind::Postgres);
            continue;
        };
        let t = tenant(s);
        let (s2, t2) = (s.clone(), t.clone());
        let handles = at_once(0..N, move |i| {
            let t = t2.clone();
            s2.write(move |c| {
                users::insert(c, reg(), &t, new_user(&format!("s{i}"), &format!("s{i}")))
            })
            .unwrap();
        });
        for h in handles {
            h.join().unwrap();
        }
        let d = s.write_stats().unwrap().since(&before);
        // The tenant, then the sixteen users.
        assert_eq!(d.writes, 1 + N as u64, "{d:?}");
        assert!(d.batches >= 2 && d.batches <= d.writes, "{d:?}");
        assert!(d.fsyncs >= 1 && d.fsyncs <= d.batches, "{d:?}");
        assert!(d.fsync_time > Duration::ZERO, "{d:?}");
        assert!(d.busy > Duration::ZERO, "{d:?}");
        // Every write's latency holds its batch's wait for the fsync, and its batch's run.
        assert!(d.write_time >= d.durable_wait, "{d:?}");
        assert!(d.write_time >= d.busy, "{d:?}");
        assert_eq!(
            s.write_stats().unwrap().since(&before),
            d,
            "nothing else wrote"
        );
    }
}
