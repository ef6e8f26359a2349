//! The deactivation queue on both backends: schedule/cancel/reschedule semantics, claiming
//! only due jobs, leases, idempotent completion, `next_due_at`, tenant scoping, and two
//! claimers (one store or two, on one database) taking each of 1 000 due jobs exactly once.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use scim_store::jobs::{self, Job};
use scim_store::testing::TestDb;
use scim_store::{Store, StoreOptions, TenantId, tenants};

fn t0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
}

fn mins(n: i64) -> NaiveDateTime {
    t0() + TimeDelta::minutes(n)
}

fn tenant(store: &Store, name: &str) -> TenantId {
    let name = name.to_string();
    store
        .write(move |c| tenants::create(c, &name, t0()))
        .unwrap()
        .id
}

fn schedule(store: &Store, t: &TenantId, user: &str, due: NaiveDateTime, reason: &str) -> Job {
    let (t, user, reason) = (t.clone(), user.to_string(), reason.to_string());
    store
        .write(move |c| jobs::schedule(c, &t, &user, due, &reason, t0()))
        .unwrap()
}

fn open_job(store: &Store, t: &TenantId, user: &str) -> Option<Job> {
    let (t, user) = (t.clone(), user.to_string());
    store.read(move |c| jobs::open_job(c, &t, &user)).unwrap()
}

fn claim(store: &Store, worker: &str, now: NaiveDateTime, lease_secs: u64) -> Vec<Job> {
    let worker = worker.to_string();
    store
        .write(move |c| jobs::claim_due(c, &worker, now, Duration::from_secs(lease_secs), 50))
        .unwrap()
}

fn complete(store: &Store, id: i64, worker: &str, now: NaiveDateTime) -> bool {
    let worker = worker.to_string();
    store
        .write(move |c| jobs::complete(c, id, &worker, now))
        .unwrap()
}

#[test]
fn rescheduling_keeps_the_earlier_due_time_and_takes_the_new_reason() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let k = db.kind();
        let first = schedule(s, &t, "u1", mins(15), "provider_inactive");
        assert_eq!(
            (first.due_at, first.reason.as_str(), first.created_at),
            (mins(15), "provider_inactive", t0()),
            "{k:?}"
        );
        assert_eq!(first.tenant_id, t);
        assert_eq!(first.claimed_by, None);

        // A DELETE of the pending user: same job, original due time, new reason.
        let deleted = schedule(s, &t, "u1", mins(30), "provider_delete");
        assert_eq!(deleted.id, first.id, "{k:?}");
        assert_eq!(deleted.due_at, mins(15), "{k:?}");
        assert_eq!(deleted.reason, "provider_delete");
        // An earlier due time (a shorter delay) brings it forward.
        let sooner = schedule(s, &t, "u1", mins(5), "provider_delete");
        assert_eq!((sooner.id, sooner.due_at), (first.id, mins(5)), "{k:?}");
        assert_eq!(open_job(s, &t, "u1"), Some(sooner.clone()));

        let other = schedule(s, &t, "u2", mins(1), "unmapped");
        assert_ne!(other.id, first.id);
        let tt = t.clone();
        let pending = s.read(move |c| jobs::pending(c, &tt, 10)).unwrap();
        assert_eq!(pending, vec![other, sooner], "soonest first, {k:?}");
    }
}

#[test]
fn cancel_closes_the_open_job_and_a_new_schedule_starts_over() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let k = db.kind();
        let job = schedule(s, &t, "u1", mins(15), "provider_inactive");
        let cancel = |user: &str| {
            let (tt, user) = (t.clone(), user.to_string());
            s.write(move |c| jobs::cancel(c, &tt, &user, mins(1)))
                .unwrap()
        };
        assert!(cancel("u1"), "{k:?}");
        assert_eq!(open_job(s, &t, "u1"), None, "{k:?}");
        assert!(!cancel("u1"), "nothing left to cancel, {k:?}");
        assert!(!cancel("nobody"));
        // The cancelled job never runs, and completing it does nothing.
        assert!(claim(s, "w", mins(60), 30).is_empty(), "{k:?}");
        assert!(!complete(s, job.id, "w", mins(60)), "{k:?}");

        // Deactivated again later: a fresh job with its own due time.
        let again = schedule(s, &t, "u1", mins(40), "provider_inactive");
        assert_ne!(again.id, job.id);
        assert_eq!(again.due_at, mins(40), "{k:?}");
    }
}

#[test]
fn claims_take_only_due_jobs_once_and_completion_is_idempotent() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let k = db.kind();
        assert_eq!(s.read(jobs::next_due_at).unwrap(), None, "{k:?}");
        let a = schedule(s, &t, "a", mins(2), "r");
        let b = schedule(s, &t, "b", mins(1), "r");
        let c = schedule(s, &t, "c", mins(10), "r");
        assert_eq!(s.read(jobs::next_due_at).unwrap(), Some(mins(1)), "{k:?}");

        assert!(
            claim(s, "w1", mins(0), 30).is_empty(),
            "nothing due yet, {k:?}"
        );
        let got = claim(s, "w1", mins(2), 30);
        let ids: Vec<i64> = got.iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![b.id, a.id], "due jobs, soonest first, {k:?}");
        let lease_end = mins(2) + TimeDelta::seconds(30);
        assert!(
            got.iter().all(
                |j| j.claimed_by.as_deref() == Some("w1") && j.claimed_until == Some(lease_end)
            )
        );
        // Held jobs aren't claimed again while the lease runs, by anyone.
        assert!(claim(s, "w2", mins(2), 30).is_empty(), "{k:?}");
        assert!(claim(s, "w1", mins(2), 30).is_empty(), "{k:?}");
        // The worker wakes next when the lease ends (before c is due).
        assert_eq!(s.read(jobs::next_due_at).unwrap(), Some(lease_end), "{k:?}");

        // Another worker can't complete a job under someone else's live lease.
        assert!(!complete(s, a.id, "w2", mins(2)), "{k:?}");
        assert!(complete(s, a.id, "w1", mins(2)), "{k:?}");
        assert!(!complete(s, a.id, "w1", mins(2)), "completing twice, {k:?}");
        assert!(complete(s, b.id, "w1", mins(2)), "{k:?}");
        assert_eq!(open_job(s, &t, "a"), None);
        assert_eq!(s.read(jobs::next_due_at).unwrap(), Some(mins(10)), "{k:?}");

        let later = claim(s, "w2", mins(11), 30);
        assert_eq!(later.iter().map(|j| j.id).collect::<Vec<_>>(), vec![c.id]);
        // Cancelled while held: the holder's completion reports false so it rolls back.
        let tt = t.clone();
        assert!(
            s.write(move |cn| jobs::cancel(cn, &tt, "c", mins(11)))
                .unwrap()
        );
        assert!(!complete(s, c.id, "w2", mins(11)), "{k:?}");
        assert_eq!(s.read(jobs::next_due_at).unwrap(), None, "{k:?}");
    }
}

#[test]
fn an_abandoned_job_goes_to_another_worker_after_its_lease() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let k = db.kind();
        let job = schedule(s, &t, "u1", mins(1), "r");
        assert_eq!(claim(s, "dead", mins(1), 60).len(), 1, "{k:?}");
        // The worker dies. Until the lease ends nobody else takes the job ...
        assert!(claim(s, "alive", mins(1) + TimeDelta::seconds(59), 60).is_empty());
        // ... then someone does, and the dead worker's late completion loses.
        let retaken = claim(s, "alive", mins(2), 60);
        assert_eq!(retaken.len(), 1, "{k:?}");
        assert_eq!(retaken[0].id, job.id);
        assert_eq!(retaken[0].claimed_by.as_deref(), Some("alive"));
        assert!(!complete(s, job.id, "dead", mins(2)), "{k:?}");
        assert!(complete(s, job.id, "alive", mins(2)), "{k:?}");

        // A graceful release hands a job over at once; only the holder can release it.
        let job = schedule(s, &t, "u2", mins(3), "r");
        assert_eq!(claim(s, "w1", mins(3), 600).len(), 1);
        assert!(!s.write(move |c| jobs::release(c, job.id, "w2")).unwrap());
        assert!(s.write(move |c| jobs::release(c, job.id, "w1")).unwrap());
        assert_eq!(claim(s, "w2", mins(3), 600).len(), 1, "{k:?}");
        // A worker whose lease ran out and that nobody replaced may still complete.
        assert!(complete(s, job.id, "w1", mins(30)), "{k:?}");
    }
}

#[test]
fn tenants_reach_only_their_own_jobs() {
    for db in TestDb::all() {
        let s = &db.store;
        let a = tenant(s, "a");
        let b = tenant(s, "b");
        let k = db.kind();
        let ja = schedule(s, &a, "u1", mins(5), "r");
        assert_eq!(open_job(s, &b, "u1"), None, "{k:?}");
        let tb = b.clone();
        assert!(
            !s.write(move |c| jobs::cancel(c, &tb, "u1", mins(1)))
                .unwrap()
        );
        let tb = b.clone();
        assert!(
            s.read(move |c| jobs::pending(c, &tb, 10))
                .unwrap()
                .is_empty()
        );
        // The same user id in B gets B's own job; A's is untouched.
        let jb = schedule(s, &b, "u1", mins(50), "r");
        assert_ne!(jb.id, ja.id);
        assert_eq!(open_job(s, &a, "u1"), Some(ja), "{k:?}");
        assert_eq!(jb.tenant_id, b);
    }
}

/// Two workers loop claim(50) + complete until nothing is left; returns each one's ids.
fn drain_with_two_workers(first: &Store, second: &Store, now: NaiveDateTime) -> [Vec<i64>; 2] {
    let run = |store: Store, worker: &'static str| {
        thread::spawn(move || {
            let mut mine = Vec::new();
            loop {
                let batch = claim(&store, worker, now, 300);
                if batch.is_empty() {
                    break;
                }
                let ids: Vec<i64> = batch.iter().map(|j| j.id).collect();
                // The work itself, so the workers overlap (and, on two SQLite stores, the
                // other writer gets the file lock in between).
                thread::sleep(Duration::from_millis(5));
                let done = ids.clone();
                let completed = store
                    .write(move |c| {
                        done.iter()
                            .map(|id| jobs::complete(c, *id, worker, now))
                            .collect::<Result<Vec<bool>, _>>()
                    })
                    .unwrap();
                assert!(completed.iter().all(|ok| *ok), "{worker} completes its own");
                mine.extend(ids);
            }
            mine
        })
    };
    let a = run(first.clone(), "worker-a");
    let b = run(second.clone(), "worker-b");
    [a.join().unwrap(), b.join().unwrap()]
}

#[test]
fn two_claimers_of_1000_due_jobs_claim_each_exactly_once() {
    for db in TestDb::all() {
        let other_store = Store::open(&db.url, StoreOptions::default()).unwrap();
        for (label, second) in [("one store", db.store.clone()), ("two stores", other_store)] {
            let s = &db.store;
            let t = tenant(s, label);
            let tt = t.clone();
            let scheduled: Vec<i64> = s
                .write(move |c| {
                    (0..1000)
                        .map(|i| {
                            let due = t0() + TimeDelta::seconds(i % 60);
                            jobs::schedule(c, &tt, &format!("u{i}"), due, "r", t0()).map(|j| j.id)
                        })
                        .collect::<Result<Vec<i64>, _>>()
                })
                .unwrap();
            let now = mins(5);
            let [a, b] = drain_with_two_workers(s, &second, now);
            let mut all = a.clone();
            all.extend(&b);
            let unique: BTreeSet<i64> = all.iter().copied().collect();
            let expected: BTreeSet<i64> = scheduled.iter().copied().collect();
            eprintln!(
                "{:?} {label}: worker a {} jobs, worker b {} jobs",
                db.kind(),
                a.len(),
                b.len()
            );
            assert!(!a.is_empty() && !b.is_empty(), "both workers took part");
            assert_eq!(all.len(), 1000, "{:?} {label}: no job twice", db.kind());
            assert_eq!(unique, expected, "{:?} {label}: every job once", db.kind());
            // Completing again changes nothing.
            let again = s
                .write(move |c| {
                    all.iter()
                        .map(|id| jobs::complete(c, *id, "worker-a", now))
                        .collect::<Result<Vec<bool>, _>>()
                })
                .unwrap();
            assert!(again.iter().all(|ok| !ok));
            assert_eq!(s.read(jobs::next_due_at).unwrap(), None);
        }
    }
}
