//! Concurrent writers (issue #9, item 2), on SQLite and PostgreSQL at once.
//!
//! - 32 clients PATCH one group (each adds its own members and removes some of its earlier
//!   adds) and two shared users (each keeps its own entry in `emails` of one and in
//!   `phoneNumbers` of the other) at the same moment, without `If-Match`: the final documents
//!   hold every acknowledged change, each acknowledged PATCH moved the version by exactly one
//!   and has its sync-log entry. A 503 (the server gave up after losing the race several
//!   times) is a refusal the client retries, as identity providers do; the count is printed.
//! - Two writers read the same ETag and send a write with it as `If-Match` at the same moment
//!   (PATCH/PATCH, PUT/PATCH, PUT/PUT on users; member PATCHes, PUT/PATCH on groups; DELETE
//!   against PATCH on users and groups), 50 times: exactly one gets a 2xx, the other a 412
//!   SCIM error (or 404 when the winner deleted the resource), and the resource shows the
//!   winner's write. `black_box/etag.rs` covers the sequential cases (a stale ETag, `*`,
//!   garbage); these are the races.

use std::collections::BTreeSet;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use scim_store::sync_log::{self, LogQuery};
use serde_json::{Value, json};

use crate::common::http::{self, Req, Resp};
use crate::common::{SCIM, Server, assert_scim_error, each_backend, id_of, patch_body, urn};

/// Concurrent clients.
const CLIENTS: usize = 32;
/// PATCHes each client sends to each shared resource.
const ROUNDS: usize = 6;

/// The member each round of client `i` adds or removes: add a, add b, remove a, add c,
/// remove b, add a — ending with {a, c}.
const GROUP_PLAN: [(bool, usize); ROUNDS] = [
    (true, 0),
    (true, 1),
    (false, 0),
    (true, 2),
    (false, 1),
    (true, 0),
];

/// Sends `body` until the server takes it (2xx); 503 means it refused under contention and
/// is retried after a short pause. Returns the accepted response.
fn until_taken(
    srv: &Server,
    agent: &ureq::Agent,
    path: &str,
    body: &Value,
    refusals: &AtomicU64,
) -> Resp {
    for _ in 0..500 {
        let r = Req::new(agent, "PATCH", format!("{}{SCIM}{path}", srv.origin))
            .bearer(&srv.token)
            .json(body)
            .send();
        match r.status {
            200 | 204 => return r,
            503 => {
                assert_scim_error(&r, 503, None);
                assert!(
                    r.header("retry-after").is_some(),
                    "503 without Retry-After: {r:?}"
                );
                refusals.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
            _ => panic!("[{}] PATCH {path}: {r:?}", srv.backend),
        }
    }
    panic!("[{}] PATCH {path} refused 500 times", srv.backend)
}

/// Creates users by Bulk; returns their ids in order.
fn create_users(srv: &Server, names: &[String]) -> Vec<String> {
    let ops: Vec<Value> = names
        .iter()
        .map(|n| {
            json!({"method": "POST", "path": "/Users", "bulkId": n,
                   "data": {"schemas": [urn::USER], "userName": format!("{n}@race.test"),
                            "emails": [{"value": format!("{n}@race.test"), "type": "work", "primary": true}]}})
        })
        .collect();
    let r = srv.post(
        "/Bulk",
        &json!({"schemas": [urn::BULK_REQUEST], "Operations": ops}),
    );
    assert_eq!(r.status, 200, "[{}] Bulk create: {r:?}", srv.backend);
    r.json()["Operations"]
        .as_array()
        .expect("Bulk results")
        .iter()
        .map(|o| {
            assert_eq!(o["status"], json!("201"), "[{}] {o}", srv.backend);
            let loc = o["location"].as_str().expect("location");
            loc.rsplit('/').next().expect("id").to_string()
        })
        .collect()
}

/// Sync-log entries with this action for one resource.
fn logged(srv: &Server, id: &str, action: &str) -> usize {
    let tenant = srv
        .store()
        .read(|c| scim_store::tenants::by_name(c, "acme"))
        .expect("read tenant")
        .expect("tenant acme")
        .id;
    let mut n = 0;
    let mut before = None;
    loop {
        let q = LogQuery {
            resource_id: Some(id.to_string()),
            action: Some(action.to_string()),
            before,
            limit: sync_log::MAX_PAGE,
            ..LogQuery::default()
        };
        let page = srv
            .store()
            .read(|c| sync_log::query(c, &tenant, &q))
            .expect("read sync log");
        n += page.entries.len();
        match page.next {
            Some(next) => before = Some(next),
            None => return n,
        }
    }
}

fn values(doc: &Value, attr: &str) -> BTreeSet<String> {
    doc[attr]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn version(doc: &Value) -> String {
    doc["meta"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn thirty_two_concurrent_patchers_lose_no_update() {
    each_backend(|srv: &Server| {
        let names: Vec<String> = (0..CLIENTS * 3).map(|i| format!("m{i}")).collect();
        let members = create_users(srv, &names);
        let group = id_of(&srv.create_group("Everyone", &[]));
        let shared = create_users(srv, &["s1".to_string(), "s2".to_string()]);
        let refusals = AtomicU64::new(0);
        let start = Barrier::new(CLIENTS);
        std::thread::scope(|s| {
            for i in 0..CLIENTS {
                let (members, group, shared, refusals, start) =
                    (&members, &group, &shared, &refusals, &start);
                s.spawn(move || {
                    let agent = http::agent();
                    start.wait();
                    for (r, (add, k)) in GROUP_PLAN.iter().enumerate() {
                        let m = &members[i * 3 + k];
                        let op = if *add {
                            json!([{"op": "add", "path": "members", "value": [{"value": m}]}])
                        } else {
                            json!([{"op": "remove", "path": format!("members[value eq \"{m}\"]")}])
                        };
                        until_taken(srv, &agent, &format!("/Groups/{group}"), &patch_body(&op), refusals);
                        for (user, attr, value) in [
                            (&shared[0], "emails", format!("c{i}-r{r}@race.test")),
                            (&shared[1], "phoneNumbers", format!("+1 555 {i:02}{r:02}")),
                        ] {
                            let mut ops = vec![json!({"op": "add", "path": attr, "value": [{"value": value, "type": "other"}]})];
                            if r > 0 {
                                let old = match attr {
                                    "emails" => format!("c{i}-r{}@race.test", r - 1),
                                    _ => format!("+1 555 {i:02}{:02}", r - 1),
                                };
                                ops.push(json!({"op": "remove", "path": format!("{attr}[value eq \"{old}\"]")}));
                            }
                            until_taken(srv, &agent, &format!("/Users/{user}"), &patch_body(&Value::Array(ops)), refusals);
                        }
                    }
                });
            }
        });
        let acked = CLIENTS * ROUNDS;
        let g = srv.get(&format!("/Groups/{group}")).json();
        let want: BTreeSet<String> = (0..CLIENTS)
            .flat_map(|i| [members[i * 3].clone(), members[i * 3 + 2].clone()])
            .collect();
        assert_eq!(
            values(&g, "members"),
            want,
            "[{}] group members",
            srv.backend
        );
        assert_eq!(
            version(&g),
            format!("W/\"{}\"", 1 + acked),
            "[{}] group version",
            srv.backend
        );
        assert_eq!(
            logged(srv, &group, "update"),
            acked,
            "[{}] group sync log",
            srv.backend
        );
        for (user, attr, last) in [
            (
                &shared[0],
                "emails",
                (0..CLIENTS)
                    .map(|i| format!("c{i}-r{}@race.test", ROUNDS - 1))
                    .collect::<Vec<_>>(),
            ),
            (
                &shared[1],
                "phoneNumbers",
                (0..CLIENTS)
                    .map(|i| format!("+1 555 {i:02}{:02}", ROUNDS - 1))
                    .collect(),
            ),
        ] {
            let u = srv.get(&format!("/Users/{user}")).json();
            let mut want: BTreeSet<String> = last.into_iter().collect();
            if attr == "emails" {
                want.insert(u["userName"].as_str().unwrap_or_default().to_string());
            }
            assert_eq!(
                values(&u, attr),
                want,
                "[{}] {attr} of the shared user",
                srv.backend
            );
            assert_eq!(
                version(&u),
                format!("W/\"{}\"", 1 + acked),
                "[{}] {attr} user version",
                srv.backend
            );
            assert_eq!(
                logged(srv, user, "update"),
                acked,
                "[{}] {attr} user sync log",
                srv.backend
            );
        }
        eprintln!(
            "[{}] {CLIENTS} clients x {ROUNDS} rounds x 3 PATCHes: all landed; {} refusals (503) retried",
            srv.backend,
            refusals.load(Ordering::Relaxed)
        );
    });
}

/// One write of a race: method, path, body.
type Write = (&'static str, String, Option<Value>);

/// Sends `a` and `b` at the same moment, each from its own connection, with `If-Match: tag`.
fn race(srv: &Server, tag: &str, a: &Write, b: &Write) -> (Resp, Resp) {
    let start = Barrier::new(2);
    let go = |w: &Write| {
        let agent = http::agent();
        // Open the connection first, so the two requests leave together.
        Req::new(&agent, "GET", format!("{}{SCIM}/Users?count=0", srv.origin))
            .bearer(&srv.token)
            .send();
        start.wait();
        let req = Req::new(&agent, w.0, format!("{}{SCIM}{}", srv.origin, w.1))
            .bearer(&srv.token)
            .header("if-match", tag);
        match &w.2 {
            Some(body) => req.json(body).send(),
            None => req.send(),
        }
    };
    std::thread::scope(|s| {
        let ha = s.spawn(|| go(a));
        let hb = s.spawn(|| go(b));
        (ha.join().expect("racer a"), hb.join().expect("racer b"))
    })
}

/// The server's log lines at WARN and above (what a 500 left behind).
fn server_errors(srv: &Server) -> String {
    srv.log_text()
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn nick(n: &str) -> Value {
    patch_body(&json!([{"op": "replace", "path": "nickName", "value": n}]))
}

#[test]
fn if_match_races_have_exactly_one_winner() {
    each_backend(|srv: &Server| {
        let pool = create_users(srv, &(0..8).map(|i| format!("p{i}")).collect::<Vec<_>>());
        let user = id_of(&srv.create_user("raced@race.test"));
        let group = id_of(&srv.create_group("Raced", &[]));
        for round in 0..50 {
            let scenario = round % 7;
            let (path, victim_user) = match scenario {
                0..=2 => (format!("/Users/{user}"), true),
                5 => (
                    format!(
                        "/Users/{}",
                        id_of(&srv.create_user(&format!("d{round}@race.test")))
                    ),
                    true,
                ),
                6 => (
                    format!(
                        "/Groups/{}",
                        id_of(&srv.create_group(&format!("D{round}"), &[]))
                    ),
                    false,
                ),
                _ => (format!("/Groups/{group}"), false),
            };
            let current = srv.get(&path);
            let tag = current.header("etag").expect("ETag").to_string();
            let mut put_body = current.json();
            let (a, b): (Write, Write) = match scenario {
                0 => (
                    ("PATCH", path.clone(), Some(nick(&format!("a{round}")))),
                    ("PATCH", path.clone(), Some(nick(&format!("b{round}")))),
                ),
                1 | 2 => {
                    put_body["nickName"] = json!(format!("a{round}"));
                    let other = if scenario == 1 {
                        ("PATCH", path.clone(), Some(nick(&format!("b{round}"))))
                    } else {
                        let mut b = put_body.clone();
                        b["nickName"] = json!(format!("b{round}"));
                        ("PUT", path.clone(), Some(b))
                    };
                    (("PUT", path.clone(), Some(put_body.clone())), other)
                }
                3 => {
                    let add = |m: &str| {
                        patch_body(
                            &json!([{"op": "add", "path": "members", "value": [{"value": m}]}]),
                        )
                    };
                    let (ma, mb) = (&pool[round % 8], &pool[(round + 1) % 8]);
                    let existing = values(&current.json(), "members");
                    // Each adds someone not yet in the group, so each is a real change.
                    if existing.contains(ma) || existing.contains(mb) {
                        let clear =
                            patch_body(&json!([{"op": "replace", "path": "members", "value": []}]));
                        assert_eq!(srv.patch(&path, &clear["Operations"]).status, 200);
                        continue;
                    }
                    (
                        ("PATCH", path.clone(), Some(add(ma))),
                        ("PATCH", path.clone(), Some(add(mb))),
                    )
                }
                4 => {
                    let put = json!({"schemas": [urn::GROUP], "displayName": "Raced", "externalId": format!("a{round}")});
                    let patch = patch_body(
                        &json!([{"op": "replace", "path": "externalId", "value": format!("b{round}")}]),
                    );
                    (
                        ("PUT", path.clone(), Some(put)),
                        ("PATCH", path.clone(), Some(patch)),
                    )
                }
                5 => (
                    ("DELETE", path.clone(), None),
                    ("PATCH", path.clone(), Some(nick(&format!("b{round}")))),
                ),
                _ => {
                    let patch = patch_body(
                        &json!([{"op": "add", "path": "members", "value": [{"value": pool[0]}]}]),
                    );
                    (
                        ("DELETE", path.clone(), None),
                        ("PATCH", path.clone(), Some(patch)),
                    )
                }
            };
            let (ra, rb) = race(srv, &tag, &a, &b);
            let ctx = format!(
                "[{}] round {round}: {} vs {} on {path} with If-Match {tag}",
                srv.backend, a.0, b.0
            );
            let (winner, loser, loser_resp) = match (ra.status / 100 == 2, rb.status / 100 == 2) {
                (true, false) => (&a, &b, &rb),
                (false, true) => (&b, &a, &ra),
                _ => panic!("{ctx}: not exactly one winner:\n a: {ra:?}\n b: {rb:?}"),
            };
            let refused = if winner.0 == "DELETE" {
                [404, 412]
            } else {
                [412, 412]
            };
            assert!(
                refused.contains(&loser_resp.status),
                "{ctx}: {} won, {} answered {loser_resp:?}\n{}",
                winner.0,
                loser.0,
                server_errors(srv)
            );
            assert_scim_error(loser_resp, loser_resp.status, None);
            let after = srv.get(&path);
            if winner.0 == "DELETE" {
                assert_eq!(
                    after.status, 404,
                    "{ctx}: the deleted resource answers {after:?}"
                );
                continue;
            }
            assert_eq!(after.status, 200, "{ctx}: {after:?}");
            let doc = after.json();
            let old: i64 = tag
                .trim_start_matches("W/\"")
                .trim_end_matches('"')
                .parse()
                .expect("version");
            assert_eq!(
                version(&doc),
                format!("W/\"{}\"", old + 1),
                "{ctx}: one write, one version"
            );
            let mine = |w: &Write| w.2.as_ref().map(|v| v.to_string()).unwrap_or_default();
            let shows = |w: &Write| -> bool {
                let sent = mine(w);
                if victim_user {
                    doc["nickName"]
                        .as_str()
                        .is_some_and(|n| sent.contains(&format!("\"{n}\"")))
                } else if scenario == 3 || scenario == 6 {
                    // The member this write added is in the group.
                    let added =
                        w.2.as_ref()
                            .map(|b| b["Operations"][0]["value"][0]["value"].clone());
                    added
                        .and_then(|v| v.as_str().map(str::to_string))
                        .is_some_and(|m| values(&doc, "members").contains(&m))
                } else {
                    doc["externalId"]
                        .as_str()
                        .is_some_and(|x| sent.contains(&format!("\"{x}\"")))
                }
            };
            assert!(
                shows(winner) && !shows(loser),
                "{ctx}: the resource shows {doc}, not the winner's write"
            );
        }
    });
}
