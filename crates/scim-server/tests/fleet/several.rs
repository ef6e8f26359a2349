//! Several instances on one PostgreSQL (issue #9 item 3): three `scim-server serve` processes
//! share a database holding 10 000 due deactivation jobs and their users' webhook events;
//! one or two of them are killed with SIGKILL at random moments, two to four times, and
//! started again. At the end every job has taken effect exactly once and every event has
//! reached a real HTTP receiver at least once, in order per user.
//!
//! Setup stores, in this process, what a provider's `active=false` leaves behind under the
//! tenant's default 15-minute delay, an hour ago (the policy's decision, written by the
//! store's and the server's own functions): each user is pending deactivation with a job that
//! fell due 45 minutes ago, as after an outage, and two events waiting in the outbox. Nothing
//! is written behind the policy's back.
//!
//! "Exactly once" is checked on the effects a job commits together with its completion: per
//! user, one `deactivate` entry by `system` in the sync log, one `user.deactivated` event in
//! the outbox, and the state `deactivated`. A job run twice would leave two of each.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use scim_core::policy::{
    self, JobAction, LifecycleEvent, Origin as PolicyOrigin, PolicySettings, decide,
};
use scim_core::resource::{self, WriteMode};
use scim_core::schema::SchemaRegistry;
use scim_server::service::lifecycle::{effects, policy_settings};
use scim_store::sync_log::{LogQuery, MAX_PAGE};
use scim_store::testing::TestDb;
use scim_store::users::{self, NewUser};
use scim_store::{Actor, Origin, Store, TenantId, jobs, lifecycle, outbox, sync_log};
use serde_json::json;

use crate::instances::{Instance, Rng, cli_ok};
use crate::receiver::Receiver;

/// Due jobs (one per user).
const USERS: usize = 10_000;
/// Threads that seed users, and users per seeding transaction.
const SEED_THREADS: usize = 3;
const SEED_CHUNK: usize = 250;
/// The tenant.
const TENANT: &str = "fleet";
/// A user's events in outbox order: the provider's deactivation (scheduled, access revoked),
/// then the job's one effect.
const KINDS: [&str; 3] = [
    "user.deactivation_scheduled",
    "access.revoked",
    "user.deactivated",
];
/// Longest wait for the fleet to finish. A killed instance's claims are free again only when
/// their lease ends (60 s for jobs, 30 s for events), so a normal run needs about a minute
/// after the last kill; the rest is headroom for a loaded machine.
const FINISH_WITHIN: Duration = Duration::from_secs(240);

/// Stores `USERS` provisioned users as a provider's `active=false` left them an hour ago;
/// returns their ids. The decisions are the policy's and the writes the store's and the
/// server's own (`users::insert_with_lifecycle`, `service::lifecycle::effects`), batched a few
/// hundred users per transaction: seeding through the service layer user by user (create,
/// then PATCH) took over a minute in a debug build, this about a quarter of that.
fn seed(store: &Store, tenant: &TenantId) -> Vec<String> {
    let registry = Arc::new(SchemaRegistry::standard());
    let at = Utc::now() - TimeDelta::hours(1);
    let t = tenant.clone();
    let settings = store
        .read(move |c| policy_settings(c, &t))
        .expect("tenant settings");
    let chunks: Vec<Vec<usize>> = (0..USERS)
        .collect::<Vec<_>>()
        .chunks(SEED_CHUNK)
        .map(<[usize]>::to_vec)
        .collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..SEED_THREADS)
            .map(|thread| {
                let (registry, settings, chunks) = (&registry, &settings, &chunks);
                s.spawn(move || {
                    let mut ids = Vec::new();
                    for chunk in chunks.iter().skip(thread).step_by(SEED_THREADS) {
                        ids.extend(seed_chunk(store, tenant, registry, settings, at, chunk));
                    }
                    ids
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("seed thread"))
            .collect()
    })
}

/// One transaction of [`seed`]: users `numbers`, each stored as the policy leaves a
/// provisioned user the provider has just set inactive (pending deactivation, `active: false`
/// in its document), with what that decision writes besides: the job, the sync-log entry and
/// the events.
fn seed_chunk(
    store: &Store,
    tenant: &TenantId,
    registry: &Arc<SchemaRegistry>,
    settings: &PolicySettings,
    at: DateTime<Utc>,
    numbers: &[usize],
) -> Vec<String> {
    let rt = registry.resource_type("User").expect("User type");
    let created = policy::create(PolicyOrigin::Provisioned, true, false, settings, at);
    let down = decide(
        &created.user,
        LifecycleEvent::ProviderSetActive(false),
        settings,
        at,
    )
    .expect("a provider may deactivate a provisioned user");
    assert!(
        matches!(down.job, JobAction::Schedule { .. }),
        "the tenant's delay schedules a job: {down:?}"
    );
    let users: Vec<NewUser> = numbers
        .iter()
        .map(|i| {
            let name = format!("user{i:05}@fleet.example.com");
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": name,
                "name": {"givenName": "User", "familyName": format!("{i}")},
                "emails": [{"value": name, "type": "work", "primary": true}],
                "active": true
            });
            NewUser {
                id: uuid::Uuid::new_v4().to_string(),
                resource: resource::prepare(registry, rt, body, WriteMode::Create, None)
                    .expect("a valid user"),
                password_hash: None,
                origin: Origin::Provisioned,
                now: at.naive_utc(),
            }
        })
        .collect();
    let (tenant, registry) = (tenant.clone(), registry.clone());
    store
        .write(move |c| {
            let mut ids = Vec::with_capacity(users.len());
            for new in users {
                let id = new.id.clone();
                users::insert_with_lifecycle(
                    c,
                    &registry,
                    &tenant,
                    new,
                    &down.user,
                    down.sign_in_allowed,
                )?;
                effects(c, &tenant, &id, &down, Actor::Provider, at)?;
                ids.push(id);
            }
            Ok(ids)
        })
        .expect("seed users")
}

/// Open jobs (counted up to 1000, which reads as "1000 or more") and undelivered events.
fn remaining(store: &Store, tenant: &TenantId) -> (usize, i64) {
    let t = tenant.clone();
    store
        .read(move |c| {
            Ok((
                jobs::pending(c, &t, jobs::MAX_PENDING)?.len(),
                outbox::pending_count(c)?,
            ))
        })
        .expect("read progress")
}

/// Every `deactivate` entry the worker (actor `system`) logged, per user.
fn deactivations_logged(store: &Store, tenant: &TenantId) -> HashMap<String, usize> {
    let mut per_user = HashMap::new();
    let mut q = LogQuery {
        action: Some("deactivate".into()),
        actor: Some(Actor::System),
        limit: MAX_PAGE,
        ..LogQuery::default()
    };
    loop {
        let (t, page_q) = (tenant.clone(), q.clone());
        let page = store
            .read(move |c| sync_log::query(c, &t, &page_q))
            .expect("read sync log");
        for e in page.entries {
            *per_user.entry(e.resource_id).or_insert(0) += 1;
        }
        match page.next {
            Some(next) => q.before = Some(next),
            None => return per_user,
        }
    }
}

#[test]
fn three_instances_killed_and_restarted_run_each_job_once_and_deliver_every_event_in_order() {
    let Some(db) = TestDb::postgres() else {
        eprintln!("skipped: several instances need PostgreSQL (set SCIM_TEST_PG_URL)");
        return;
    };
    let t0 = Instant::now();
    let tenant = TenantId(cli_ok(&db.url, &["tenant", "create", TENANT]));
    let token = cli_ok(&db.url, &["token", "create", "--tenant", TENANT]);
    let users = seed(&db.store, &tenant);
    let seeded = t0.elapsed();
    let (open, pending) = remaining(&db.store, &tenant);
    assert_eq!(open, jobs::MAX_PENDING, "every seeded user has an open job");
    assert_eq!(pending, (USERS * 2) as i64, "two events per seeded user");

    // The receiver refuses the first attempt of every 50th event: retries, with back-off,
    // while that user's later events wait and other users' go on.
    let refused = Mutex::new(HashSet::new());
    let receiver = Receiver::start(move |req, _| {
        let id = req.json()["id"].as_i64().unwrap_or(0);
        if id % 50 == 0 && refused.lock().expect("lock").insert(id) {
            503
        } else {
            200
        }
    });
    let hook = receiver.url("/hook");
    let logs = tempfile::tempdir().expect("log dir");
    let mut fleet: Vec<Instance> = ["a", "b", "c"]
        .iter()
        .map(|n| Instance::start(n, &db.url, &token, Some(&hook), logs.path()))
        .collect();
    let processing = Instant::now();

    // Chaos: two to four rounds, each killing one or two instances at a random moment and
    // starting them again a moment later.
    let mut rng = Rng::from_env_or_clock("fleet::several");
    let rounds = rng.range(2, 5);
    let mut kills = Vec::new();
    for _ in 0..rounds {
        std::thread::sleep(rng.millis(300, 2500));
        let victims = rng.range(1, 3) as usize;
        let first = rng.range(0, 3) as usize;
        let (open, pending) = remaining(&db.store, &tenant);
        let at = processing.elapsed();
        for k in 0..victims {
            fleet[(first + k) % 3].kill();
        }
        let names: Vec<String> = (0..victims)
            .map(|k| fleet[(first + k) % 3].name.clone())
            .collect();
        if kills.is_empty() {
            assert!(open > 0, "the jobs were done before the first kill");
        }
        kills.push(format!(
            "{names:?} at {at:.1?} ({open} open jobs counted, {pending} events pending)"
        ));
        std::thread::sleep(rng.millis(100, 1500));
        for k in 0..victims {
            fleet[(first + k) % 3].restart();
        }
    }
    eprintln!("fleet::several: killed {kills:#?}");

    let deadline = Instant::now() + FINISH_WITHIN;
    let mut jobs_done = None;
    let mut report = Instant::now();
    loop {
        let (open, pending) = remaining(&db.store, &tenant);
        if report.elapsed() >= Duration::from_secs(10) {
            eprintln!(
                "fleet::several: after {:.0?}: {open} open jobs counted, {pending} events pending",
                processing.elapsed()
            );
            report = Instant::now();
        }
        if open == 0 && jobs_done.is_none() {
            jobs_done = Some(processing.elapsed());
        }
        if open == 0 && pending == 0 {
            break;
        }
        for inst in &mut fleet {
            assert!(
                inst.is_running(),
                "[{}] exited:\n{}",
                inst.name,
                inst.log_tail()
            );
        }
        assert!(
            Instant::now() < deadline,
            "not done after {FINISH_WITHIN:?}: {open} open jobs, {pending} events pending"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let finished = processing.elapsed();
    let (mut errors, mut delivered_by) = (0, Vec::new());
    for inst in &fleet {
        let log = inst.log_text();
        errors += log.lines().filter(|l| l.contains("ERROR")).count();
        let n = log.matches("webhook delivered").count();
        delivered_by.push(format!("{}: {n} ({} starts)", inst.name, inst.starts));
    }
    drop(fleet);
    let verifying = Instant::now();
    let received = receiver.requests();
    drop(receiver);

    // Each job took effect exactly once.
    let logged = deactivations_logged(&db.store, &tenant);
    let twice: Vec<_> = logged.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "deactivations logged more than once: {twice:?}"
    );
    assert_eq!(logged.len(), USERS, "one logged deactivation per user");
    let (t, ids) = (tenant.clone(), users.clone());
    let states = db
        .store
        .read(move |c| {
            let mut states: BTreeMap<String, usize> = BTreeMap::new();
            for id in &ids {
                let s = lifecycle::state_name(c, &t, id)?.unwrap_or_else(|| "missing".into());
                *states.entry(s).or_insert(0) += 1;
            }
            Ok(states)
        })
        .expect("read states");
    assert_eq!(states, BTreeMap::from([("deactivated".to_string(), USERS)]));

    // Every event arrived at least once, in order per user, and the job's event once.
    let mut per_user: HashMap<String, Vec<(i64, String, u16)>> = HashMap::new();
    for r in &received {
        let body = r.json();
        let user = body["user"].as_str().expect("user").to_string();
        let kind = body["type"].as_str().expect("type").to_string();
        let id = body["id"].as_i64().expect("id");
        per_user.entry(user).or_default().push((id, kind, r.status));
    }
    assert_eq!(per_user.len(), USERS, "events of every user arrived");
    let mut distinct_total = 0;
    let mut redelivered = 0;
    for user in &users {
        let attempts = per_user.get(user).expect("events of the user");
        let mut accepted: BTreeMap<i64, &str> = BTreeMap::new();
        for (id, kind, status) in attempts {
            if (200..300).contains(status) && accepted.insert(*id, kind).is_some() {
                redelivered += 1;
            }
        }
        let kinds: Vec<&str> = accepted.values().copied().collect();
        assert_eq!(kinds, KINDS, "user {user}: events accepted {accepted:?}");
        distinct_total += accepted.len();
        // No attempt at an event before every earlier event of the user was accepted.
        let mut done: HashSet<i64> = HashSet::new();
        for (id, _, status) in attempts {
            let earlier_missing: Vec<&i64> = accepted
                .keys()
                .filter(|e| *e < id && !done.contains(*e))
                .collect();
            assert!(
                earlier_missing.is_empty(),
                "user {user}: event {id} sent before {earlier_missing:?} were accepted: \
                 {attempts:?}"
            );
            if (200..300).contains(status) {
                done.insert(*id);
            }
        }
    }
    // Nothing in the outbox the receiver did not accept.
    let far = (Utc::now() + TimeDelta::days(1)).naive_utc();
    let in_outbox = db
        .store
        .write(move |c| outbox::prune_delivered(c, far))
        .expect("count delivered events");
    assert_eq!(in_outbox, distinct_total, "outbox events vs accepted");
    eprintln!(
        "fleet::several: {USERS} jobs, {distinct_total} events; seeded in {seeded:.1?}; \
         jobs done after {:.1?}, events after {finished:.1?}, with {} kill rounds; {} \
         deliveries ({redelivered} redeliveries, {} refused on purpose), accepted per \
         instance {delivered_by:?}; {errors} ERROR log lines; verified in {:.1?}",
        jobs_done.unwrap_or_default(),
        kills.len(),
        received.len(),
        received.iter().filter(|r| r.status == 503).count(),
        verifying.elapsed(),
    );
}
