//! The mixed write load: each client thread picks writes at random (seeded) over the users
//! and groups it owns — creates, PATCHes in Okta's and Entra's forms (`active` flips among
//! them, which schedule and cancel deactivation jobs), PUTs, member adds and removes, deletes,
//! and now and then a Bulk request — sends them one after another, checks every 2xx response
//! against what the write must have done, and records it in its [`World`]. The first
//! transport error (the server was killed) ends the thread, leaving that write in flight.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::client::{self, Resp, body_version, id_from_location};
use crate::common::{SCIM, urn};
use crate::model::{GroupDoc, GroupStep, MemberRef, Op, UserDoc, World};
use crate::rng::Rng;

/// Live users a thread keeps at most (beyond it, it deletes rather than creates).
const MAX_USERS: usize = 8;
/// Live groups a thread keeps at most.
const MAX_GROUPS: usize = 3;
/// Writes one thread sends in one cycle at most (the kill normally ends the cycle first).
const MAX_OPS: usize = 5_000;

/// Runs one thread's load until its first transport error; returns the problems found in
/// responses (each a sentence naming the request).
pub fn run_client(world: &mut World, origin: &str, token: &str, seed: u64) -> Vec<String> {
    let agent = client::agent();
    let mut rng = Rng::new(seed);
    let mut problems = Vec::new();
    for _ in 0..MAX_OPS {
        let op = plan(world, &mut rng);
        match send(&agent, origin, token, &op) {
            Err(_) => {
                world.in_flight = Some(op);
                return problems;
            }
            Ok(resp) => {
                if let Err(p) = ack(world, &op, &resp) {
                    problems.push(format!("thread {}: {p}", world.thread));
                }
            }
        }
        if problems.len() > 10 {
            break;
        }
    }
    problems
}

/// Picks the next write.
pub fn plan(w: &mut World, rng: &mut Rng) -> Op {
    let users = w.live_users();
    let groups = w.live_groups();
    let roll = rng.below(100);
    if users.len() < 2 || (roll < 12 && users.len() < MAX_USERS) {
        return create_user(w);
    }
    match roll {
        0..=31 => patch_user(w, rng, &users),
        32..=43 => flip_active(w, rng, &users),
        44..=51 => put_user(w, rng, &users),
        52..=59 => delete_user(rng, &users),
        60..=64 if groups.len() < MAX_GROUPS => create_group(w, rng, &users),
        60..=84 if !groups.is_empty() => patch_group(w, rng, &groups, &users),
        85..=88 if !groups.is_empty() => put_group(w, rng, &groups, &users),
        89..=90 if !groups.is_empty() => Op::DeleteGroup {
            id: pick(rng, &groups),
        },
        91..=96 if users.len() + 2 <= MAX_USERS => bulk(w, rng, &users, groups.len()),
        _ if users.len() >= MAX_USERS => delete_user(rng, &users),
        _ => create_user(w),
    }
}

fn pick(rng: &mut Rng, ids: &[String]) -> String {
    rng.pick(ids).cloned().unwrap_or_default()
}

fn new_user_doc(w: &mut World) -> UserDoc {
    let n = w.fresh();
    UserDoc {
        user_name: format!("u{n}@crash.test"),
        display_name: Some(format!("User {n}")),
        nick_name: Some(format!("n{n}")),
        title: None,
        department: None,
        active: true,
    }
}

fn create_user(w: &mut World) -> Op {
    Op::CreateUser {
        doc: new_user_doc(w),
    }
}

/// A PATCH that changes `nickName` (always, so every write is a real change a document shows)
/// and maybe more, in one of the forms Okta and Entra send.
fn patch_user(w: &mut World, rng: &mut Rng, users: &[String]) -> Op {
    let id = pick(rng, users);
    let mut after = w.users[&id].doc.clone();
    let nick = format!("n{}", w.fresh());
    after.nick_name = Some(nick.clone());
    let ops = match rng.below(4) {
        0 => json!([{"op": "replace", "path": "nickName", "value": nick}]),
        1 => {
            let name = format!("User {}", w.fresh());
            after.display_name = Some(name.clone());
            json!([{"op": "replace", "value": {"nickName": nick, "displayName": name}}])
        }
        2 if after.title.is_some() => {
            after.title = None;
            json!([{"op": "remove", "path": "title"},
                   {"op": "replace", "path": "nickName", "value": nick}])
        }
        2 => {
            let title = format!("Title {}", w.fresh());
            after.title = Some(title.clone());
            json!([{"op": "add", "path": "title", "value": title},
                   {"op": "replace", "path": "nickName", "value": nick}])
        }
        _ => {
            let dep = format!("Dept {}", w.fresh());
            after.department = Some(dep.clone());
            json!([{"op": "replace", "path": format!("{}:department", urn::ENTERPRISE), "value": dep},
                   {"op": "Replace", "path": "nickName", "value": nick}])
        }
    };
    Op::UpdateUser {
        id,
        method: "PATCH",
        body: patch_body(ops),
        after,
    }
}

/// `active` flipped (false queues a deactivation job, true cancels it or reactivates), with a
/// new nickName in the same request: both or neither may land.
fn flip_active(w: &mut World, rng: &mut Rng, users: &[String]) -> Op {
    let id = pick(rng, users);
    let mut after = w.users[&id].doc.clone();
    let nick = format!("n{}", w.fresh());
    after.nick_name = Some(nick.clone());
    after.active = !after.active;
    let ops = if rng.chance(50) {
        // Okta.
        json!([{"op": "replace", "value": {"active": after.active, "nickName": nick}}])
    } else {
        // Entra: capitalised op names, booleans as strings.
        let active = if after.active { "True" } else { "False" };
        json!([{"op": "Replace", "path": "active", "value": active},
               {"op": "Replace", "path": "nickName", "value": nick}])
    };
    Op::UpdateUser {
        id,
        method: "PATCH",
        body: patch_body(ops),
        after,
    }
}

fn put_user(w: &mut World, rng: &mut Rng, users: &[String]) -> Op {
    let id = pick(rng, users);
    let before = w.users[&id].doc.clone();
    let after = UserDoc {
        user_name: before.user_name,
        display_name: Some(format!("User {}", w.fresh())),
        nick_name: Some(format!("n{}", w.fresh())),
        title: rng.chance(50).then(|| format!("Title {}", w.fresh())),
        department: rng.chance(50).then(|| format!("Dept {}", w.fresh())),
        active: if rng.chance(30) {
            !before.active
        } else {
            before.active
        },
    };
    Op::UpdateUser {
        id,
        method: "PUT",
        body: after.body(),
        after,
    }
}

fn delete_user(rng: &mut Rng, users: &[String]) -> Op {
    Op::DeleteUser {
        id: pick(rng, users),
    }
}

/// Up to `n` distinct ids of `from`.
fn some_of(rng: &mut Rng, from: &[String], n: usize) -> Vec<String> {
    let mut left: Vec<String> = from.to_vec();
    let mut out = Vec::new();
    while out.len() < n && !left.is_empty() {
        out.push(left.swap_remove(rng.below(left.len())));
    }
    out
}

fn create_group(w: &mut World, rng: &mut Rng, users: &[String]) -> Op {
    let n = rng.below(3);
    Op::CreateGroup {
        name: format!("g{}", w.fresh()),
        external_id: rng.chance(50).then(|| format!("x{}", w.fresh())),
        members: some_of(rng, users, n)
            .into_iter()
            .map(MemberRef::Id)
            .collect(),
    }
}

/// Member adds and removes (each changes a row, so each is a real change), sometimes with an
/// attribute change in the same request.
fn patch_group(w: &mut World, rng: &mut Rng, groups: &[String], users: &[String]) -> Op {
    let id = pick(rng, groups);
    let mut after = w.groups[&id].doc.clone();
    let outside: Vec<String> = users
        .iter()
        .filter(|u| !after.members.contains(*u))
        .cloned()
        .collect();
    let inside: Vec<String> = after.members.iter().cloned().collect();
    let mut ops = Vec::new();
    let n = 1 + rng.below(2);
    let add = if rng.chance(60) {
        some_of(rng, &outside, n)
    } else {
        Vec::new()
    };
    if !add.is_empty() {
        let values: Vec<Value> = add.iter().map(|m| json!({"value": m})).collect();
        ops.push(json!({"op": "add", "path": "members", "value": values}));
        after.members.extend(add);
    }
    if (ops.is_empty() || rng.chance(30))
        && let Some(gone) = rng.pick(&inside).cloned()
    {
        if rng.chance(50) {
            ops.push(json!({"op": "remove", "path": format!("members[value eq \"{gone}\"]")}));
        } else {
            // Entra's form.
            ops.push(json!({"op": "Remove", "path": "members", "value": [{"value": gone}]}));
        }
        after.members.remove(&gone);
    }
    if ops.is_empty() || rng.chance(15) {
        let x = format!("x{}", w.fresh());
        ops.push(json!({"op": "replace", "path": "externalId", "value": x}));
        after.external_id = Some(x);
    }
    Op::UpdateGroup {
        id,
        method: "PATCH",
        body: patch_body(Value::Array(ops)),
        after,
        step: GroupStep::Patch,
    }
}

fn put_group(w: &mut World, rng: &mut Rng, groups: &[String], users: &[String]) -> Op {
    let id = pick(rng, groups);
    let n = rng.below(4);
    let members: BTreeSet<String> = some_of(rng, users, n).into_iter().collect();
    let after = GroupDoc {
        display_name: w.groups[&id].doc.display_name.clone(),
        external_id: Some(format!("x{}", w.fresh())),
        members,
    };
    Op::UpdateGroup {
        id,
        method: "PUT",
        body: group_body(
            &after.display_name,
            after.external_id.as_deref(),
            &after.members,
        ),
        after,
        step: GroupStep::Put,
    }
}

/// One or two user creates, a group create whose members are those users (by `bulkId`)
/// when the thread has room for a group, and a PATCH of an existing user.
fn bulk(w: &mut World, rng: &mut Rng, users: &[String], groups: usize) -> Op {
    let mut ops = Vec::new();
    let mut fresh = Vec::new();
    for _ in 0..1 + rng.below(2) {
        let doc = new_user_doc(w);
        fresh.push(MemberRef::New(doc.user_name.clone()));
        ops.push(Op::CreateUser { doc });
    }
    if groups < MAX_GROUPS {
        ops.push(Op::CreateGroup {
            name: format!("g{}", w.fresh()),
            external_id: None,
            members: fresh,
        });
    }
    ops.push(patch_user(w, rng, users));
    Op::Bulk(ops)
}

fn patch_body(ops: Value) -> Value {
    json!({"schemas": [urn::PATCH_OP], "Operations": ops})
}

fn group_body(name: &str, external_id: Option<&str>, members: &BTreeSet<String>) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let mut body = json!({"schemas": [urn::GROUP], "displayName": name, "members": members});
    if let Some(x) = external_id {
        body["externalId"] = json!(x);
    }
    body
}

/// The bulkId a Bulk request gives the create of `user_name`.
fn bulk_id(user_name: &str) -> String {
    format!("b-{}", user_name.split('@').next().unwrap_or(user_name))
}

/// Sends `op`; `Err` when the outcome is unknown.
pub fn send(agent: &ureq::Agent, origin: &str, token: &str, op: &Op) -> Result<Resp, String> {
    let url = |path: String| format!("{origin}{SCIM}{path}");
    let (method, path, body) = request(op);
    client::send(agent, method, &url(path), token, body.as_ref(), None)
}

/// Method, path and body of `op`.
fn request(op: &Op) -> (&'static str, String, Option<Value>) {
    match op {
        Op::CreateUser { doc } => ("POST", "/Users".into(), Some(doc.body())),
        Op::UpdateUser {
            id, method, body, ..
        } => (method, format!("/Users/{id}"), Some(body.clone())),
        Op::DeleteUser { id } => ("DELETE", format!("/Users/{id}"), None),
        Op::CreateGroup {
            name,
            external_id,
            members,
        } => {
            let ids: BTreeSet<String> = members
                .iter()
                .map(|m| match m {
                    MemberRef::Id(id) => id.clone(),
                    MemberRef::New(n) => format!("bulkId:{}", bulk_id(n)),
                })
                .collect();
            let body = group_body(name, external_id.as_deref(), &ids);
            ("POST", "/Groups".into(), Some(body))
        }
        Op::UpdateGroup {
            id, method, body, ..
        } => (method, format!("/Groups/{id}"), Some(body.clone())),
        Op::DeleteGroup { id } => ("DELETE", format!("/Groups/{id}"), None),
        Op::Bulk(parts) => {
            let operations: Vec<Value> = parts
                .iter()
                .map(|p| {
                    let (method, path, data) = request(p);
                    let mut o = json!({"method": method, "path": path});
                    if let Some(d) = data {
                        o["data"] = d;
                    }
                    match p {
                        Op::CreateUser { doc } => o["bulkId"] = json!(bulk_id(&doc.user_name)),
                        Op::CreateGroup { name, .. } => o["bulkId"] = json!(format!("b-{name}")),
                        _ => {}
                    }
                    o
                })
                .collect();
            let body = json!({"schemas": [urn::BULK_REQUEST], "Operations": operations});
            ("POST", "/Bulk".into(), Some(body))
        }
    }
}

/// One operation's result as the server reported it: status, new id, version, body.
struct Outcome {
    status: u16,
    id: Option<String>,
    version: Option<i64>,
    body: Option<Value>,
}

/// Checks a response against what `op` must have done and records it in the world. A non-2xx
/// answer means the write was refused, so nothing is recorded (and the check of the database
/// then proves nothing of it landed); but the load only sends valid writes, so it is reported.
pub fn ack(w: &mut World, op: &Op, resp: &Resp) -> Result<(), String> {
    match op {
        Op::Bulk(parts) => {
            if resp.status != 200 {
                return Err(format!("Bulk answered {resp:?}"));
            }
            let body = resp.json();
            let results = body["Operations"].as_array().cloned().unwrap_or_default();
            if results.len() != parts.len() {
                return Err(format!("Bulk of {} answered {resp:?}", parts.len()));
            }
            let mut problems = Vec::new();
            for (part, r) in parts.iter().zip(&results) {
                let status = match &r["status"] {
                    Value::String(s) => s.parse().unwrap_or(0),
                    v => v.as_u64().and_then(|n| u16::try_from(n).ok()).unwrap_or(0),
                };
                let outcome = Outcome {
                    status,
                    id: r["location"].as_str().and_then(id_from_location),
                    version: r["version"].as_str().and_then(client::version_of),
                    body: None,
                };
                if let Err(p) = record(w, part, &outcome) {
                    problems.push(format!("in Bulk: {p} ({r})"));
                }
            }
            if problems.is_empty() {
                *w.acked.entry("Bulk").or_default() += 1;
                Ok(())
            } else {
                Err(problems.join("; "))
            }
        }
        _ => {
            let body = resp.json();
            if resp.status == 503 && body["schemas"][0] != urn::ERROR {
                return Err(format!(
                    "{} answered 503 without a SCIM error: {resp:?}",
                    op.kind()
                ));
            }
            let outcome = Outcome {
                status: resp.status,
                id: body["id"].as_str().map(str::to_string),
                version: resp
                    .etag
                    .as_deref()
                    .and_then(client::version_of)
                    .or_else(|| body_version(&body)),
                body: Some(body),
            };
            record(w, op, &outcome).map_err(|p| format!("{p}: {resp:?}"))
        }
    }
}

fn record(w: &mut World, op: &Op, r: &Outcome) -> Result<(), String> {
    if r.status == 503 {
        // A refusal to retry: the world stays as it was, which the checks then hold the
        // database to.
        w.refused += 1;
        return Ok(());
    }
    let want = match op {
        Op::CreateUser { .. } | Op::CreateGroup { .. } => 201,
        Op::DeleteUser { .. } | Op::DeleteGroup { .. } => 204,
        _ => 200,
    };
    if r.status != want {
        return Err(format!(
            "{} answered {} (expected {want})",
            op.kind(),
            r.status
        ));
    }
    let version = |expected: i64| -> Result<i64, String> {
        match r.version {
            Some(v) if v == expected => Ok(v),
            other => Err(format!(
                "{} acknowledged version {other:?}, expected {expected}",
                op.kind()
            )),
        }
    };
    match op {
        Op::CreateUser { doc } => {
            let id = r.id.clone().ok_or("user create: no id")?;
            check_doc(r, |b| UserDoc::read(b) == *doc, "user create")?;
            w.user_created(id, version(1)?, doc.clone());
        }
        Op::UpdateUser { id, after, .. } => {
            let v = version(w.users[id].version + 1)?;
            check_doc(r, |b| UserDoc::read(b) == *after, "user update")?;
            w.user_updated(id, v, after.clone());
        }
        Op::DeleteUser { id } => w.user_deleted(id),
        Op::CreateGroup {
            name,
            external_id,
            members,
        } => {
            let id = r.id.clone().ok_or("group create: no id")?;
            let members = members
                .iter()
                .map(|m| match m {
                    MemberRef::Id(id) => Some(id.clone()),
                    MemberRef::New(n) => w.user_named(n),
                })
                .collect::<Option<BTreeSet<String>>>()
                .ok_or("group create: a bulkId member was not created")?;
            let doc = GroupDoc {
                display_name: name.clone(),
                external_id: external_id.clone(),
                members,
            };
            check_doc(r, |b| GroupDoc::read(b) == doc, "group create")?;
            w.group_created(id, version(1)?, doc);
        }
        Op::UpdateGroup {
            id, after, step, ..
        } => {
            let v = version(w.groups[id].version + 1)?;
            check_doc(r, |b| GroupDoc::read(b) == *after, "group update")?;
            w.group_updated(id, v, after.clone(), *step);
        }
        Op::DeleteGroup { id } => w.group_deleted(id),
        Op::Bulk(_) => return Err("nested Bulk".into()),
    }
    *w.acked.entry(op.kind()).or_default() += 1;
    Ok(())
}

/// The response body (when the operation had one of its own) shows what the write did.
fn check_doc(r: &Outcome, ok: impl Fn(&Value) -> bool, what: &str) -> Result<(), String> {
    match &r.body {
        Some(b) if !ok(b) => Err(format!("{what}: the response shows something else")),
        _ => Ok(()),
    }
}
