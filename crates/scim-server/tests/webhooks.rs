//! Webhook delivery of provisioning events, against a real HTTP receiver on loopback: the
//! library's `Dispatcher` + `WebhookSink` over a real database (retries with back-off, exactly
//! one accepted delivery, per-user order, other users not blocked), the real binary
//! (`serve --webhook-url` with `SCIM_WEBHOOK_SECRET`, on SQLite and PostgreSQL), and
//! `verify_signature`'s refusals.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

#[path = "webhooks/receiver.rs"]
mod receiver;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use receiver::{Receiver, Recorded};
use scim_server::events::Dispatcher;
use scim_server::secrets::Secret;
use scim_server::webhooks::{WebhookSink, signature_header, verify_signature};
use scim_server::{Clock, SystemClock};
use scim_store::outbox::{self, NewEvent};
use scim_store::testing::TestDb;
use serde_json::{Value, json};

const SECRET: &str = "whsec_0123456789abcdef0123456789abcdef";
const BIN: &str = env!("CARGO_BIN_EXE_scim-server");

fn now_unix() -> i64 {
    SystemClock.now().timestamp()
}

/// Checks what every delivery must carry: headers, a valid signature, and a body whose
/// fields agree with the headers. Returns the body.
#[track_caller]
fn assert_well_formed(r: &Recorded) -> Value {
    assert_eq!(r.method, "POST", "{r:?}");
    assert_eq!(r.path, "/hook", "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
    let sig = r.header("x-scim-signature").expect("signature header");
    assert!(
        verify_signature(SECRET.as_bytes(), sig, &r.body, now_unix(), 300),
        "signature does not verify: {r:?}"
    );
    assert!(
        !verify_signature(
            b"another-secret-of-some-length",
            sig,
            &r.body,
            now_unix(),
            300
        ),
        "a wrong secret verifies: {r:?}"
    );
    let ts = r.header("x-scim-timestamp").expect("timestamp header");
    assert!(sig.starts_with(&format!("t={ts},v1=")), "{r:?}");
    let body = r.json();
    assert_eq!(
        r.header("x-scim-event-id"),
        Some(body["id"].to_string().as_str())
    );
    assert_eq!(r.header("x-scim-event-type"), body["type"].as_str());
    let at = body["occurredAt"].as_str().expect("occurredAt");
    chrono::DateTime::parse_from_rfc3339(at).expect("occurredAt is RFC 3339");
    assert!(at.ends_with('Z'), "{at}");
    for key in ["id", "type", "tenant", "user", "occurredAt", "data"] {
        assert!(body.get(key).is_some(), "no {key} in {body}");
    }
    body
}

fn event(kind: &str, user: &str, n: u32) -> NewEvent {
    NewEvent {
        kind: kind.to_string(),
        user_id: Some(user.to_string()),
        payload: json!({"resourceType": "User", "id": user, "n": n}),
        at: chrono::Utc::now().naive_utc(),
    }
}

#[test]
fn retries_with_backoff_until_accepted_without_blocking_other_users() {
    for db in TestDb::all() {
        let kind = db.kind();
        let tenant = db
            .store
            .write(|c| scim_store::tenants::create(c, "acme", chrono::Utc::now().naive_utc()))
            .unwrap();
        let tid = tenant.id.clone();
        // Interleaved: a1 b1 a2 b2 a3 (ids increase in this order).
        let events = [
            event("user.created", "user-a", 1),
            event("user.created", "user-b", 1),
            event("user.updated", "user-a", 2),
            event("user.updated", "user-b", 2),
            event("user.deactivated", "user-a", 3),
        ];
        let ids: Vec<i64> = events
            .into_iter()
            .map(|e| {
                let tid = tid.clone();
                db.store.write(move |c| outbox::push(c, &tid, &e)).unwrap()
            })
            .collect::<Option<_>>()
            .expect("the test store records events");
        let a1 = ids[0];

        // The receiver refuses a1 twice with 500, then takes it; everything else at once.
        let receiver = Receiver::start(move |req, earlier| {
            let id = req.json()["id"].as_i64().unwrap();
            let tries = earlier
                .iter()
                .filter(|r| r.json()["id"] == json!(id))
                .count();
            if id == a1 && tries < 2 { 500 } else { 204 }
        });
        let sink = WebhookSink::new(
            receiver.url("/hook"),
            Secret::new(SECRET),
            Duration::from_secs(5),
        )
        .unwrap();
        let mut d = Dispatcher::new(db.store.clone(), Arc::new(sink), Arc::new(SystemClock));
        d.retry_after = Duration::from_millis(300);
        d.idle = Duration::from_millis(20);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runner = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(d.run(async move {
                let _ = stopped.await;
            }));
        });
        receiver.wait_for(Duration::from_secs(30), |reqs| {
            reqs.iter().filter(|r| r.status < 300).count() >= 5
        });
        // Anything sent twice would show up within a few idle polls.
        std::thread::sleep(Duration::from_millis(300));
        stop.send(()).unwrap();
        runner.join().unwrap();
        let reqs = receiver.requests();

        let bodies: Vec<Value> = reqs.iter().map(assert_well_formed).collect();
        let id_of = |i: usize| bodies[i]["id"].as_i64().unwrap();
        let accepted: Vec<i64> = (0..reqs.len())
            .filter(|&i| reqs[i].status < 300)
            .map(id_of)
            .collect();
        assert_eq!(
            accepted.len(),
            5,
            "{kind:?}: each event accepted exactly once: {accepted:?}"
        );
        let mut sorted = accepted.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, ids, "{kind:?}: accepted {accepted:?}");

        // a1: two refusals then acceptance, the second wait about twice the first.
        let a1_tries: Vec<&Recorded> = reqs
            .iter()
            .filter(|r| r.json()["id"] == json!(a1))
            .collect();
        let statuses: Vec<u16> = a1_tries.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [500, 500, 204], "{kind:?}");
        let gap1 = a1_tries[1].at - a1_tries[0].at;
        let gap2 = a1_tries[2].at - a1_tries[1].at;
        assert!(
            gap1 >= Duration::from_millis(300),
            "{kind:?}: first back-off {gap1:?}"
        );
        assert!(
            gap2 >= Duration::from_millis(600),
            "{kind:?}: second back-off {gap2:?}"
        );
        assert!(
            gap2 < Duration::from_secs(5),
            "{kind:?}: second back-off {gap2:?}"
        );

        // user-a in order, nothing of a's sent before a1 was accepted; user-b done meanwhile.
        let pos = |id: i64| accepted.iter().position(|x| *x == id).unwrap();
        assert!(
            pos(ids[0]) < pos(ids[2]) && pos(ids[2]) < pos(ids[4]),
            "{kind:?}: {accepted:?}"
        );
        assert!(pos(ids[1]) < pos(ids[3]), "{kind:?}: {accepted:?}");
        assert!(
            pos(ids[3]) < pos(a1),
            "{kind:?}: b waited for a: {accepted:?}"
        );
        let first_a_later = reqs
            .iter()
            .position(|r| [ids[2], ids[4]].contains(&r.json()["id"].as_i64().unwrap()))
            .unwrap();
        let a1_accepted = reqs
            .iter()
            .position(|r| r.status < 300 && r.json()["id"] == json!(a1));
        assert!(
            Some(first_a_later) > a1_accepted,
            "{kind:?}: a2 sent before a1 accepted"
        );

        // The body: what was pushed, with the tenant and user.
        let b2 = &bodies[reqs
            .iter()
            .position(|r| r.json()["id"] == json!(ids[3]))
            .unwrap()];
        assert_eq!(b2["type"], "user.updated");
        assert_eq!(b2["tenant"], json!(tenant.id.as_str()));
        assert_eq!(b2["user"], "user-b");
        assert_eq!(
            b2["data"],
            json!({"resourceType": "User", "id": "user-b", "n": 2})
        );

        let pending = db.store.read(outbox::pending_count).unwrap();
        assert_eq!(pending, 0, "{kind:?}: the outbox is drained");
    }
}

#[test]
fn verify_signature_refuses_wrong_secret_tampering_and_stale_timestamps() {
    let body = br#"{"id":7,"type":"user.deactivated"}"#;
    let t = 1_800_000_000;
    let header = signature_header(SECRET.as_bytes(), t, body);
    let ok = |secret: &[u8], header: &str, body: &[u8], now: i64| {
        verify_signature(secret, header, body, now, 300)
    };
    assert!(ok(SECRET.as_bytes(), &header, body, t));
    assert!(
        ok(SECRET.as_bytes(), &header, body, t + 300),
        "edge of tolerance"
    );
    assert!(
        ok(SECRET.as_bytes(), &header, body, t - 300),
        "receiver clock behind"
    );

    assert!(
        !ok(b"whsec_not_the_right_secret_at_all", &header, body, t),
        "wrong secret"
    );
    assert!(
        !ok(&SECRET.as_bytes()[..SECRET.len() - 1], &header, body, t),
        "truncated secret"
    );
    let tampered = br#"{"id":7,"type":"user.reactivated"}"#;
    assert!(
        !ok(SECRET.as_bytes(), &header, tampered, t),
        "tampered body"
    );
    assert!(
        !ok(SECRET.as_bytes(), &header, &body[..body.len() - 1], t),
        "truncated body"
    );
    assert!(!ok(SECRET.as_bytes(), &header, body, t + 301), "too old");
    assert!(
        !ok(SECRET.as_bytes(), &header, body, t - 301),
        "from the future"
    );

    // The timestamp is signed: moving it forward to pass the window breaks the signature.
    let sig = header.split_once(",v1=").unwrap().1;
    let replayed = format!("t={},v1={sig}", t + 3600);
    assert!(
        !ok(SECRET.as_bytes(), &replayed, body, t + 3600),
        "replay with a new timestamp"
    );

    // Malformed headers are refusals, not panics.
    for bad in [
        "",
        "t=",
        "v1=abc",
        &format!("t={t}"),
        &format!("t={t},v1="),
        &format!("t={t},v1=zz{}", &sig[2..]),
        &format!("t=x,v1={sig}"),
        &sig[..63],
    ] {
        assert!(!ok(SECRET.as_bytes(), bad, body, t), "{bad:?}");
    }
    // Secret rotation: any one matching v1 among several is enough.
    let old = signature_header(b"whsec_old_secret_0123456789", t, body);
    let old_sig = old.split_once(",v1=").unwrap().1;
    let both = format!("t={t},v1={old_sig},v1={sig}");
    assert!(ok(SECRET.as_bytes(), &both, body, t));
    assert!(ok(b"whsec_old_secret_0123456789", &both, body, t));
}

/// Runs the binary's CLI; panics unless it succeeds; returns stdout trimmed.
fn cli_ok(db_url: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(["--database-url", db_url])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run scim-server CLI");
    assert!(
        out.status.success(),
        "scim-server {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The binary serving `db_url` with webhooks to `hook`; killed on drop.
struct Served {
    child: Child,
    origin: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start(db_url: &str, hook: &str, token: &str) -> Served {
        Served::start_with(db_url, &["--webhook-url", hook], token)
    }

    /// The binary serving `db_url` with `args` after `serve --bind ADDR`.
    fn start_with(db_url: &str, args: &[&str], token: &str) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let agent = receiver::agent();
        let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let origin = format!("http://127.0.0.1:{port}");
            let mut child = Command::new(BIN)
                .args(["--database-url", db_url, "serve", "--bind"])
                .arg(format!("127.0.0.1:{port}"))
                .args(args)
                .env("SCIM_WEBHOOK_SECRET", SECRET)
                .env("SCIM_LOG", "debug")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
                let r = agent
                    .get(format!("{origin}/scim/v2/Users?count=0"))
                    .header("Authorization", format!("Bearer {token}"))
                    .call();
                if r.is_ok_and(|r| r.status() == 200) {
                    // Up, and ours: our token works there.
                    return Served {
                        child,
                        origin,
                        log,
                        _dir: dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("server did not start on {origin}:\n{}", log_text());
        }
        panic!("scim-server would not start:\n{}", log_text());
    }

    fn log_text(&self) -> String {
        // The server writes its log every `FLUSH_EVERY`: wait for what was logged so far.
        std::thread::sleep(scim_server::log_writer::FLUSH_EVERY * 3);
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("server log:\n{}", self.log_text());
        }
    }
}

fn binary_delivers_signed_events_in_order(db: TestDb) {
    let kind = db.kind();
    let url = db.url.clone();
    cli_ok(&url, &["tenant", "create", "acme"]);
    cli_ok(
        &url,
        &["tenant", "set", "acme", "--deactivation-delay", "0"],
    );
    let token = cli_ok(&url, &["token", "create", "--tenant", "acme"]);
    // The very first delivery is refused once: the binary must retry it.
    let receiver = Receiver::start(|_, earlier| if earlier.is_empty() { 503 } else { 200 });
    let mut server = Served::start(&url, &receiver.url("/hook"), &token);
    let agent = receiver::agent();
    let scim = |method: &str, path: &str, body: Value| {
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}/scim/v2{path}", server.origin))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/scim+json")
            .body(body.to_string())
            .unwrap();
        let mut resp = agent.run(req).unwrap();
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
        )
    };
    let (status, created) = scim(
        "POST",
        "/Users",
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"primary": true, "value": "ada@example.com", "type": "work"}],
            "active": true
        }),
    );
    assert_eq!(status, 201, "{kind:?}: {created}");
    let user = created["id"].as_str().unwrap().to_string();
    let (status, patched) = scim(
        "PATCH",
        &format!("/Users/{user}"),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}]
        }),
    );
    assert_eq!(status, 200, "{kind:?}: {patched}");

    let kinds_accepted = |reqs: &[Recorded]| -> Vec<String> {
        reqs.iter()
            .filter(|r| r.status < 300)
            .map(|r| r.json()["type"].as_str().unwrap().to_string())
            .collect()
    };
    let reqs = receiver.wait_for(Duration::from_secs(30), |reqs| {
        kinds_accepted(reqs)
            .iter()
            .any(|k| k.starts_with("user.deactivat"))
    });
    let kinds = kinds_accepted(&reqs);
    assert!(
        kinds.len() >= 3 && kinds[0] == "user.created" && kinds[1] == "user.updated",
        "{kind:?}: {kinds:?}"
    );
    // Then the deactivation: `user.deactivated` today; with the deactivation delay (0 here),
    // `user.deactivation_scheduled` first. Other kinds (access.revoked) may come along.
    assert!(
        kinds[2].starts_with("user.deactivat"),
        "{kind:?}: {kinds:?}"
    );
    let bodies: Vec<Value> = reqs.iter().map(assert_well_formed).collect();
    assert_eq!(reqs[0].status, 503);
    assert_eq!(
        bodies[1]["id"], bodies[0]["id"],
        "{kind:?}: the refused event came again first"
    );
    let accepted_ids: Vec<i64> = (0..reqs.len())
        .filter(|&i| reqs[i].status < 300)
        .map(|i| bodies[i]["id"].as_i64().unwrap())
        .collect();
    assert!(
        accepted_ids.is_sorted() && accepted_ids.len() == kinds.len(),
        "{accepted_ids:?}"
    );
    assert!(
        accepted_ids.windows(2).all(|w| w[0] < w[1]),
        "no duplicate: {accepted_ids:?}"
    );
    for b in &bodies {
        assert_eq!(b["user"], json!(user), "{kind:?}: {b}");
        assert!(!b.to_string().contains(SECRET));
    }

    // Stops promptly on SIGTERM with the dispatcher running, and never logged the secret.
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "{kind:?}: no exit 20 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{kind:?}: exit {status}");
    let log = server.log_text();
    assert!(!log.contains(SECRET), "{kind:?}: the secret is in the log");
    assert!(log.contains("webhook delivered"), "{kind:?}: {log}");
    assert!(log.contains("webhook delivery stopped"), "{kind:?}: {log}");
}

#[test]
fn binary_delivers_signed_events_in_order_on_every_backend() {
    std::thread::scope(|s| {
        let handles: Vec<_> = TestDb::all()
            .into_iter()
            .map(|db| s.spawn(move || binary_delivers_signed_events_in_order(db)))
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

#[test]
fn binary_refuses_a_webhook_url_without_a_usable_secret() {
    let db = TestDb::sqlite();
    for (secret, expect) in [
        (None, "SCIM_WEBHOOK_SECRET"),
        (Some("short"), "at least 16"),
    ] {
        let mut cmd = Command::new(BIN);
        cmd.args(["--database-url", &db.url, "serve", "--bind", "127.0.0.1:0"])
            .args(["--webhook-url", "http://127.0.0.1:9/hook"])
            .env_remove("SCIM_WEBHOOK_SECRET")
            .stdin(Stdio::null());
        if let Some(s) = secret {
            cmd.env("SCIM_WEBHOOK_SECRET", s);
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "started without a usable secret: {err}"
        );
        assert!(err.contains(expect), "{err}");
        assert!(
            !err.contains("short") || secret.is_none(),
            "the secret is echoed: {err}"
        );
    }
}

/// Creates one user through `server` (201 asserted).
fn create_user(server: &Served, token: &str, user_name: &str) {
    let req = ureq::http::Request::builder()
        .method("POST")
        .uri(format!("{}/scim/v2/Users", server.origin))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/scim+json")
        .body(
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
            })
            .to_string(),
        )
        .unwrap();
    let status = receiver::agent().run(req).unwrap().status().as_u16();
    assert_eq!(status, 201, "create {user_name}");
}

/// Without a webhook, `serve` records no events (nobody would take them, and they would stay
/// in the outbox forever); `--record-events` keeps them for a consumer elsewhere.
fn binary_records_events_only_for_a_consumer(db: TestDb) {
    let kind = db.kind();
    let url = db.url.clone();
    cli_ok(&url, &["tenant", "create", "acme"]);
    let token = cli_ok(&url, &["token", "create", "--tenant", "acme"]);

    let server = Served::start_with(&url, &[], &token);
    create_user(&server, &token, "ada@example.com");
    assert!(
        server
            .log_text()
            .contains("provisioning events are not recorded"),
        "{kind:?}: {}",
        server.log_text()
    );
    drop(server);
    assert_eq!(db.store.read(outbox::pending_count).unwrap(), 0, "{kind:?}");
    // The change itself is written as always.
    let t = db
        .store
        .read(|c| scim_store::tenants::by_name(c, "acme"))
        .unwrap()
        .unwrap()
        .id;
    let users = db.store.read(|c| scim_store::users::count(c, &t)).unwrap();
    assert_eq!(users, 1, "{kind:?}");

    let server = Served::start_with(&url, &["--record-events"], &token);
    create_user(&server, &token, "grace@example.com");
    drop(server);
    let pending = db.store.read(outbox::pending_count).unwrap();
    assert_eq!(pending, 1, "{kind:?}: one user.created for grace");
}

#[test]
fn binary_records_events_only_for_a_consumer_on_every_backend() {
    std::thread::scope(|s| {
        let handles: Vec<_> = TestDb::all()
            .into_iter()
            .map(|db| s.spawn(move || binary_records_events_only_for_a_consumer(db)))
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}
