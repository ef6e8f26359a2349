//! The event outbox on both backends: events commit with their change, are claimed in id
//! order, delivered at least once (a lapsed lease makes them claimable again), retried after
//! a backoff, and delivered in order per user even with two consumers claiming at once.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use scim_store::outbox::{self, Event, NewEvent};
use scim_store::testing::TestDb;
use scim_store::{Store, StoreError, StoreOptions, TenantId, tenants};
use serde_json::json;

fn t0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
}

fn secs(n: i64) -> NaiveDateTime {
    t0() + TimeDelta::seconds(n)
}

fn tenant(store: &Store, name: &str) -> TenantId {
    let name = name.to_string();
    store
        .write(move |c| tenants::create(c, &name, t0()))
        .unwrap()
        .id
}

fn event(kind: &str, user: Option<&str>) -> NewEvent {
    NewEvent {
        kind: kind.into(),
        user_id: user.map(str::to_string),
        payload: json!({"kind": kind, "user": user}),
        at: t0(),
    }
}

fn push(store: &Store, t: &TenantId, events: Vec<NewEvent>) -> Vec<i64> {
    let t = t.clone();
    store
        .write(move |c| outbox::push_many(c, &t, &events))
        .unwrap()
}

fn claim(store: &Store, consumer: &str, now: NaiveDateTime, limit: usize) -> Vec<Event> {
    let consumer = consumer.to_string();
    store
        .write(move |c| outbox::claim(c, &consumer, now, Duration::from_secs(30), limit))
        .unwrap()
}

fn ids(events: &[Event]) -> Vec<i64> {
    events.iter().map(|e| e.id).collect()
}

fn deliver(store: &Store, ids: &[i64], now: NaiveDateTime) -> usize {
    let ids = ids.to_vec();
    store
        .write(move |c| outbox::mark_delivered(c, &ids, now))
        .unwrap()
}

#[test]
fn events_commit_with_their_change_and_come_out_in_order() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let k = db.kind();
        // Rolled back with the write that pushed it.
        let tt = t.clone();
        let failed = s.write(move |c| {
            outbox::push(c, &tt, &event("user.created", Some("ghost")))?;
            Err::<(), _>(StoreError::Invalid("abort".into()))
        });
        assert!(failed.is_err());
        assert_eq!(s.read(outbox::pending_count).unwrap(), 0, "{k:?}");

        let pushed = push(
            s,
            &t,
            vec![
                event("user.created", Some("u1")),
                event("user.created", Some("u2")),
                event("user.updated", Some("u1")),
                event("tenant.mappings_applied", None),
                event("user.deactivated", Some("u2")),
            ],
        );
        assert!(
            pushed.windows(2).all(|w| w[0] < w[1]),
            "ids follow push order"
        );
        assert_eq!(s.read(outbox::pending_count).unwrap(), 5, "{k:?}");

        let got = claim(s, "c1", t0(), 10);
        assert_eq!(ids(&got), pushed, "{k:?}");
        let first = &got[0];
        assert_eq!(first.tenant_id, t);
        assert_eq!(first.kind, "user.created");
        assert_eq!(first.user_id.as_deref(), Some("u1"));
        assert_eq!(first.payload, json!({"kind": "user.created", "user": "u1"}));
        assert_eq!(first.at, t0());
        assert_eq!(first.attempts, 0);
        assert_eq!(first.claimed_by.as_deref(), Some("c1"));
        assert_eq!(first.claimed_until, Some(secs(30)));
        assert_eq!(first.delivered_at, None);

        assert!(claim(s, "c2", t0(), 10).is_empty(), "all leased, {k:?}");
        assert_eq!(deliver(s, &pushed, secs(1)), 5, "{k:?}");
        assert_eq!(deliver(s, &pushed, secs(2)), 0, "idempotent, {k:?}");
        assert_eq!(s.read(outbox::pending_count).unwrap(), 0);
        assert!(claim(s, "c1", secs(100), 10).is_empty(), "{k:?}");

        // Retention removes delivered events only.
        push(s, &t, vec![event("user.updated", Some("u3"))]);
        let pruned = s.write(|c| outbox::prune_delivered(c, secs(3600))).unwrap();
        assert_eq!(pruned, 5, "{k:?}");
        assert_eq!(s.read(outbox::pending_count).unwrap(), 1);
    }
}

#[test]
fn a_users_later_events_wait_for_the_earlier_ones() {
    for db in TestDb::all() {
        let s = &db.store;
        let a = tenant(s, "a");
        let b = tenant(s, "b");
        let k = db.kind();
        let e = push(
            s,
            &a,
            vec![
                event("user.created", Some("u1")),
                event("user.updated", Some("u1")),
                event("user.created", Some("u2")),
            ],
        );
        let other_tenant = push(s, &b, vec![event("user.created", Some("u1"))]);
        assert_eq!(ids(&claim(s, "c1", t0(), 1)), vec![e[0]], "{k:?}");
        // u1's second event waits for the first; u2 and tenant b's u1 don't.
        let got = claim(s, "c2", t0(), 10);
        assert_eq!(ids(&got), vec![e[2], other_tenant[0]], "{k:?}");
        assert!(claim(s, "c2", t0(), 10).is_empty(), "{k:?}");
        deliver(s, &[e[0]], secs(1));
        assert_eq!(ids(&claim(s, "c2", secs(1), 10)), vec![e[1]], "{k:?}");
    }
}

#[test]
fn a_failed_event_is_retried_after_its_backoff_before_the_users_later_events() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let k = db.kind();
        let e = push(
            s,
            &t,
            vec![
                event("user.created", Some("u1")),
                event("user.updated", Some("u1")),
                event("user.created", Some("u2")),
            ],
        );
        assert_eq!(ids(&claim(s, "c1", t0(), 10)), e, "{k:?}");
        let fail = |ids: Vec<i64>, consumer: &'static str| {
            s.write(move |c| outbox::fail(c, &ids, consumer, secs(1), Duration::from_secs(60)))
                .unwrap()
        };
        assert_eq!(
            fail(vec![e[0]], "someone-else"),
            0,
            "only the holder, {k:?}"
        );
        assert_eq!(fail(vec![e[0]], "c1"), 1, "{k:?}");
        // The failed event and u1's later one are out of c1's hands; u2's stays claimed.
        assert!(claim(s, "c2", secs(2), 10).is_empty(), "{k:?}");
        assert_eq!(deliver(s, &[e[2]], secs(2)), 1);
        assert!(
            claim(s, "c2", secs(60), 10).is_empty(),
            "backoff not over, {k:?}"
        );
        let retry = claim(s, "c2", secs(61), 10);
        assert_eq!(ids(&retry), vec![e[0], e[1]], "{k:?}");
        assert_eq!(retry[0].attempts, 1);
        assert_eq!(retry[1].attempts, 0, "given back without an attempt");

        // A release (shutdown) gives back at once, with no attempt counted.
        let head = e[0];
        let released = s.write(move |c| outbox::release(c, &[head], "c2")).unwrap();
        assert_eq!(released, 1, "{k:?}");
        let again = claim(s, "c3", secs(61), 10);
        assert_eq!(ids(&again), vec![e[0], e[1]], "{k:?}");
        assert_eq!(again[0].attempts, 1);
    }
}

#[test]
fn an_event_whose_lease_lapses_is_delivered_again() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let k = db.kind();
        let e = push(
            s,
            &t,
            vec![
                event("user.created", Some("u1")),
                event("user.updated", Some("u1")),
            ],
        );
        assert_eq!(ids(&claim(s, "dies", t0(), 1)), vec![e[0]]);
        assert!(claim(s, "lives", secs(29), 10).is_empty(), "{k:?}");
        // The lease lapsed undelivered: claimed again, and the user's order still holds.
        let again = claim(s, "lives", secs(30), 10);
        assert_eq!(ids(&again), e, "{k:?}");
        assert_eq!(again[0].claimed_by.as_deref(), Some("lives"));
        // The first consumer turns out to have delivered after all: recorded, once.
        assert_eq!(deliver(s, &[e[0]], secs(31)), 1, "{k:?}");
        assert_eq!(deliver(s, &e, secs(32)), 1, "{k:?}");
        assert_eq!(s.read(outbox::pending_count).unwrap(), 0);
    }
}

#[test]
fn payloads_never_carry_a_password() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let refused = s.write(move |c| {
            let mut e = event("user.updated", Some("u1"));
            e.payload = json!({"user": {"userName": "a", "password": "hunter2"}});
            outbox::push(c, &t, &e)
        });
        assert!(
            matches!(refused, Err(StoreError::Invalid(_))),
            "{:?}",
            db.kind()
        );
        assert_eq!(s.read(outbox::pending_count).unwrap(), 0);
    }
}

/// Delivery log shared by the consumers: (user, event id) in delivery order.
type Delivered = Arc<Mutex<Vec<(String, i64)>>>;

/// A consumer: claims small batches, delivers in order, fails each event whose id is a
/// multiple of 5 on its first attempt (and skips that user's rest of the batch, which `fail`
/// gave back), until nothing is pending.
fn consume(store: Store, name: &'static str, now: NaiveDateTime, log: Delivered) {
    loop {
        let batch = claim(&store, name, now, 7);
        if batch.is_empty() {
            if store.read(outbox::pending_count).unwrap() == 0 {
                return;
            }
            thread::sleep(Duration::from_millis(1));
            continue;
        }
        let mut failed_users = Vec::new();
        for e in batch {
            let user = e.user_id.clone().unwrap();
            if failed_users.contains(&user) {
                continue;
            }
            if e.id % 5 == 0 && e.attempts == 0 {
                store
                    .write(move |c| outbox::fail(c, &[e.id], name, now, Duration::ZERO))
                    .unwrap();
                failed_users.push(user);
                continue;
            }
            log.lock().unwrap().push((user, e.id));
            thread::sleep(Duration::from_micros(200));
            assert_eq!(deliver(&store, &[e.id], now), 1, "delivered once");
        }
    }
}

#[test]
fn two_consumers_deliver_each_users_events_in_order() {
    for db in TestDb::all() {
        let other_store = Store::open(&db.url, StoreOptions::default()).unwrap();
        for (label, second) in [("one store", db.store.clone()), ("two stores", other_store)] {
            let s = &db.store;
            let t = tenant(s, label);
            // 4 users × 60 events, interleaved, pushed by several writes: every batch of 7
            // holds several events of each user, so the consumers contend for users.
            let mut expected: BTreeMap<String, Vec<i64>> = BTreeMap::new();
            for round in 0..60 {
                let events: Vec<NewEvent> = (0..4)
                    .map(|u| event("user.updated", Some(&format!("u{u}"))))
                    .collect();
                let pushed = push(s, &t, events);
                assert_eq!(pushed.len(), 4, "round {round}");
                for (u, id) in pushed.into_iter().enumerate() {
                    expected.entry(format!("u{u}")).or_default().push(id);
                }
            }
            let log: Delivered = Arc::default();
            let now = secs(10);
            let workers =
                [(s.clone(), "consumer-a"), (second.clone(), "consumer-b")].map(|(store, name)| {
                    let log = log.clone();
                    thread::spawn(move || consume(store, name, now, log))
                });
            for w in workers {
                w.join().unwrap();
            }
            let mut per_user: BTreeMap<String, Vec<i64>> = BTreeMap::new();
            for (user, id) in log.lock().unwrap().iter() {
                per_user.entry(user.clone()).or_default().push(*id);
            }
            assert_eq!(
                per_user,
                expected,
                "{:?} {label}: each user's events once, in order",
                db.kind()
            );
        }
    }
}

#[test]
fn a_store_that_records_no_events_writes_its_changes_without_them() {
    for db in TestDb::all() {
        let k = db.kind();
        let quiet = Store::open(
            &db.url,
            StoreOptions {
                record_events: false,
                ..StoreOptions::default()
            },
        )
        .unwrap();
        // The change commits; its events are not recorded, and no ids come back.
        let t = tenant(&quiet, "acme");
        let tt = t.clone();
        let ids = quiet
            .write(move |c| {
                tenants::create(c, "beta", t0())?;
                outbox::push_many(c, &tt, &[event("user.created", Some("u1"))])
            })
            .unwrap();
        assert!(ids.is_empty(), "{k:?}: {ids:?}");
        let tt = t.clone();
        let one = quiet
            .write(move |c| outbox::push(c, &tt, &event("user.updated", Some("u1"))))
            .unwrap();
        assert_eq!(one, None, "{k:?}");
        assert!(
            db.store
                .read(|c| tenants::by_name(c, "beta"))
                .unwrap()
                .is_some()
        );
        assert_eq!(db.store.read(outbox::pending_count).unwrap(), 0, "{k:?}");
        // The other store's writes still record, on this very thread after a failed write of
        // the quiet one (on PostgreSQL each write carries its store's setting on the caller's
        // thread).
        let failed = quiet.write(|_| Err::<(), _>(StoreError::Invalid("abort".into())));
        assert!(failed.is_err());
        assert_eq!(
            push(&db.store, &t, vec![event("user.created", Some("u2"))]).len(),
            1
        );
        assert_eq!(db.store.read(outbox::pending_count).unwrap(), 1, "{k:?}");
    }
}
