//! Database outage (issue #9 item 4): a server on a private PostgreSQL cluster, under a steady
//! load of creates and reads from a few threads, sees its database killed
//! (`pg_ctl stop -m immediate`) and started again.
//!
//! While the database is down every answer is either a success (a read or write that got its
//! connection first) or `503 Service Unavailable` with `Retry-After` and a SCIM Error body —
//! never a 500, never a hang (each request must be answered within [`ANSWER_WITHIN`]) — and
//! `/readyz` fails. Once PostgreSQL is back the same process serves again (no restart) and
//! `/readyz` passes. Every create acknowledged with 201 — before, during or after the outage —
//! is there at the end, with its `create` entry in the sync log, and its `user.created` event
//! reaches the webhook receiver; the deactivation worker, which met the outage too, runs a job
//! scheduled after it.

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use scim_store::sync_log::LogQuery;
use scim_store::{Store, StoreOptions, TenantId, sync_log};
use serde_json::{Value, json};

use crate::http::{Req, Resp};
use crate::instances::{Instance, cli_ok};
use crate::pg_cluster::PgCluster;
use crate::receiver::{Receiver, Recorded};

/// Threads sending creates and reads.
const LOAD_THREADS: usize = 3;
/// Longest a request may go unanswered, database down or not. The store gives up waiting for
/// a connection after 5 s; this leaves room for a loaded machine.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);
/// Longest wait for the outage to show (503s, failing `/readyz`) and for service to resume.
const CHANGE_WITHIN: Duration = Duration::from_secs(90);

/// Before, during or after the outage.
const BEFORE: u8 = 0;
const DOWN: u8 = 1;
const AFTER: u8 = 2;

/// What the load saw.
#[derive(Default)]
struct Seen {
    /// Answers by the phase they arrived in: (successes, 503s). A request sent while the
    /// database is down that gets its connection once it is back counts as a success after.
    answers: [(usize, usize); 3],
    /// Anything else: a 500, a 503 without its header or body, no answer.
    wrong: Vec<String>,
    /// Creates answered 201: (userName, id).
    acked: Vec<(String, String)>,
    /// Creates answered 503: userNames that may or may not have been committed.
    unanswered: Vec<String>,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(ANSWER_WITHIN))
        .build()
        .new_agent()
}

/// Sends one request; `None` (and a note in `seen.wrong`) when no answer came.
fn send(req: Req<'_>, what: &str, seen: &Mutex<Seen>) -> Option<Resp> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| req.send())) {
        Ok(r) => Some(r),
        Err(_) => {
            seen.lock()
                .expect("lock")
                .wrong
                .push(format!("{what}: no answer within {ANSWER_WITHIN:?}"));
            None
        }
    }
}

/// Files an answer: a success, a well-formed 503, or something wrong.
fn judge(r: &Resp, ok: u16, phase: u8, what: &str, seen: &mut Seen) {
    let p = usize::from(phase);
    if r.status == ok {
        seen.answers[p].0 += 1;
        return;
    }
    if r.status == 503 {
        seen.answers[p].1 += 1;
        let retry = r.header("retry-after").and_then(|v| v.parse::<u64>().ok());
        let body: Value = serde_json::from_str(&r.text).unwrap_or(Value::Null);
        let scim = r
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/scim+json"));
        let well_formed = retry.is_some_and(|s| s >= 1)
            && scim
            && body["schemas"] == json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
            && body["status"] == json!("503")
            && body["detail"].as_str().is_some_and(|d| !d.is_empty());
        if well_formed {
            return;
        }
    }
    seen.wrong.push(format!("{what} (phase {phase}): {r:?}"));
}

/// One load thread: create a user, read it back, again, until `stop`.
fn load(
    thread: usize,
    server: &Instance,
    token: &str,
    phase: &AtomicU8,
    stop: &AtomicBool,
    seen: &Mutex<Seen>,
) {
    let agent = agent();
    let scim = |method: &str, path: &str| {
        Req::new(&agent, method, format!("{}/scim/v2{path}", server.origin)).bearer(token)
    };
    let mut n = 0;
    let mut last: Option<String> = None;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let name = format!("t{thread}-{n:05}@outage.example.com");
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "active": true
        });
        let what = format!("POST {name}");
        if let Some(r) = send(scim("POST", "/Users").json(&body), &what, seen) {
            let mut s = seen.lock().expect("lock");
            judge(&r, 201, phase.load(Ordering::SeqCst), &what, &mut s);
            match r.status {
                201 => {
                    let id = serde_json::from_str::<Value>(&r.text).unwrap_or(Value::Null)["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    s.acked.push((name, id.clone()));
                    last = Some(id);
                }
                503 => s.unanswered.push(name),
                _ => {}
            }
        }
        if let Some(id) = &last {
            let what = format!("GET /Users/{id}");
            if let Some(r) = send(scim("GET", &format!("/Users/{id}")), &what, seen) {
                let p = phase.load(Ordering::SeqCst);
                judge(&r, 200, p, &what, &mut seen.lock().expect("lock"));
            }
        }
    }
}

/// Polls until `done()` or `within` has passed; false on timeout.
fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

#[test]
fn postgres_outage_answers_503_with_retry_after_and_service_resumes_without_restart() {
    let Some(mut pg) = PgCluster::start_new("fleet::outage") else {
        return;
    };
    let url = pg.url();
    let tenant = TenantId(cli_ok(&url, &["tenant", "create", "outage"]));
    let token = cli_ok(&url, &["token", "create", "--tenant", "outage"]);
    let logs = tempfile::tempdir().expect("log dir");
    // A one-second delay, so a deactivation after the outage runs within the test.
    cli_ok(
        &url,
        &["tenant", "set", "outage", "--deactivation-delay", "1"],
    );
    let receiver = Receiver::start(|_, _| 200);
    let hook = receiver.url("/hook");
    let mut server = Instance::start("outage", &url, &token, Some(&hook), logs.path());
    let probe = agent();
    let ready = || {
        Req::new(&probe, "GET", format!("{}/readyz", server.origin))
            .send()
            .status
    };
    assert_eq!(ready(), 200, "/readyz with the database up");

    let phase = AtomicU8::new(BEFORE);
    let stop = AtomicBool::new(false);
    let seen = Mutex::new(Seen::default());
    let successes = |p: u8| seen.lock().expect("lock").answers[usize::from(p)].0;
    let unavailable = |p: u8| seen.lock().expect("lock").answers[usize::from(p)].1;
    let (mut down_for, mut back_after, mut ready_failed) = (None, None, None);
    std::thread::scope(|s| {
        for t in 0..LOAD_THREADS {
            let (server, token, phase, stop, seen) = (&server, &token, &phase, &stop, &seen);
            s.spawn(move || load(t, server, token, phase, stop, seen));
        }
        // Let the load run with the database up.
        assert!(
            wait_until(CHANGE_WITHIN, || successes(BEFORE) >= 30),
            "no load before the outage"
        );

        pg.stop_immediate();
        let down = Instant::now();
        phase.store(DOWN, Ordering::SeqCst);
        // /readyz fails, and every load thread meets the outage.
        ready_failed = Some(ready());
        let shown = wait_until(CHANGE_WITHIN, || {
            unavailable(DOWN) >= 2 * LOAD_THREADS && down.elapsed() >= Duration::from_secs(6)
        });
        assert!(shown, "no 503s while the database is down");
        down_for = Some(down.elapsed());

        pg.start();
        let up = Instant::now();
        phase.store(AFTER, Ordering::SeqCst);
        let resumed = wait_until(CHANGE_WITHIN, || successes(AFTER) >= 30 && ready() == 200);
        assert!(resumed, "service did not resume within {CHANGE_WITHIN:?}");
        back_after = Some(up.elapsed());
        stop.store(true, Ordering::SeqCst);
    });

    assert!(
        server.is_running(),
        "the server exited:\n{}",
        server.log_tail()
    );
    assert_eq!(server.starts, 1, "the same process served throughout");
    let seen = seen.into_inner().expect("lock");
    assert!(seen.wrong.is_empty(), "wrong answers: {:#?}", seen.wrong);
    let ready_failed = ready_failed.expect("probed");
    assert!(
        !(200..300).contains(&ready_failed),
        "/readyz answered {ready_failed} with the database down"
    );

    // Every acknowledged create is there, with its sync-log entry.
    let agent = agent();
    for (name, id) in &seen.acked {
        let r = Req::new(
            &agent,
            "GET",
            format!("{}/scim/v2/Users/{id}", server.origin),
        )
        .bearer(&token)
        .send();
        assert_eq!(r.status, 200, "acknowledged {name} ({id}) is gone: {r:?}");
        assert_eq!(r.json()["userName"], json!(name), "{r:?}");
    }
    let store = Store::open(&url, StoreOptions::default()).expect("open the cluster");
    let (t, acked) = (tenant.clone(), seen.acked.clone());
    let unlogged = store
        .read(move |c| {
            let mut missing = Vec::new();
            for (name, id) in &acked {
                let q = LogQuery {
                    resource_id: Some(id.clone()),
                    action: Some("create".into()),
                    ..LogQuery::default()
                };
                if sync_log::query(c, &t, &q)?.entries.len() != 1 {
                    missing.push(name.clone());
                }
            }
            Ok(missing)
        })
        .expect("read sync log");
    assert!(
        unlogged.is_empty(),
        "creates without one log entry: {unlogged:?}"
    );
    // A create answered 503 may have committed (the answer was lost with the connection), but
    // then wholly: the user and its log entry, or neither.
    let (t, maybe) = (tenant.clone(), seen.unanswered.clone());
    let (committed, half) = store
        .read(move |c| {
            let (mut committed, mut half) = (0, Vec::new());
            for name in &maybe {
                let Some(user) = scim_store::users::by_user_name(c, &t, name)? else {
                    continue;
                };
                committed += 1;
                let q = LogQuery {
                    resource_id: Some(user.id.clone()),
                    action: Some("create".into()),
                    ..LogQuery::default()
                };
                if sync_log::query(c, &t, &q)?.entries.len() != 1 {
                    half.push(name.clone());
                }
            }
            Ok((committed, half))
        })
        .expect("read unanswered creates");
    assert!(half.is_empty(), "half-applied creates: {half:?}");
    // The background work resumed too: the deactivation worker runs a job scheduled after
    // the outage, and the webhook dispatcher delivers the event of every acknowledged create.
    let catching_up = Instant::now();
    let (name, id) = seen.acked.first().expect("a create was acknowledged");
    let r = Req::new(
        &agent,
        "PATCH",
        format!("{}/scim/v2/Users/{id}", server.origin),
    )
    .bearer(&token)
    .json(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]
    }))
    .send();
    assert_eq!(r.status, 200, "deactivate {name}: {r:?}");
    let state = || {
        let (t, id) = (tenant.clone(), id.clone());
        store
            .read(move |c| scim_store::lifecycle::state_name(c, &t, &id))
            .expect("read state")
    };
    assert!(
        wait_until(CHANGE_WITHIN, || state().as_deref() == Some("deactivated")),
        "the worker did not deactivate {name} after the outage: {:?}",
        state()
    );
    let created: HashSet<String> = seen.acked.iter().map(|(_, id)| id.clone()).collect();
    let delivered = |reqs: &[Recorded], kind: &str| -> HashSet<String> {
        reqs.iter()
            .map(Recorded::json)
            .filter(|b| b["type"] == json!(kind))
            .filter_map(|b| b["user"].as_str().map(str::to_string))
            .collect()
    };
    receiver.wait_for(CHANGE_WITHIN, |reqs| {
        delivered(reqs, "user.created").is_superset(&created)
            && delivered(reqs, "user.deactivated").contains(id)
    });
    let caught_up = catching_up.elapsed();

    // r2d2 logs each failed connection attempt at ERROR; anything else would be news.
    let log = server.log_text();
    let errors: BTreeSet<&str> = log
        .lines()
        .filter_map(|l| l.split_once(" ERROR ").map(|(_, msg)| msg))
        .collect();
    eprintln!(
        "fleet::outage: answers (ok, 503) before {:?}, down {:?}, after {:?}; {} creates \
         acknowledged, {} answered 503 ({committed} of them committed); database down \
         {:.1?}, service back {:.1?} after its start; /readyz {ready_failed} while down; \
         worker and webhooks caught up in {caught_up:.1?}; server ERROR lines: {errors:?}",
        seen.answers[0],
        seen.answers[1],
        seen.answers[2],
        seen.acked.len(),
        seen.unanswered.len(),
        down_for.unwrap_or_default(),
        back_after.unwrap_or_default(),
    );
    drop(server);
    drop(pg);
}
