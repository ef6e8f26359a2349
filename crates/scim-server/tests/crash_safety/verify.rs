//! The exact check of the database after a kill (server down, in-flight writes resolved):
//! every user and group holds its acknowledged document, version and members; every write
//! has its transaction's sync-log entries and outbox events and nothing else does; each
//! user's lifecycle (state, deactivation job) is what its writes and the worker's completed
//! jobs lead to; and no row, entry or event exists that no acknowledged or in-flight write
//! made.
//!
//! Entries and events of one transaction share their `at` (the write's time), so they are
//! grouped by it: the entries of a user's create, update or delete, or of a job the worker
//! completed, are compared as one set with the events of the same transaction.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::NaiveDateTime;
use scim_store::outbox::{self, Event};
use scim_store::sync_log::{self, LogEntry, LogQuery};
use scim_store::{Actor, Store, TenantId, groups, jobs, lifecycle, users};

use crate::model::{Group, GroupStep, User, UserDoc, UserStep, World};
use crate::resolve::{member_set, stored_group};

/// A user's lifecycle as its writes and the worker's jobs leave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lc {
    Active,
    /// Deactivation scheduled; `delete` when the provider deleted the user.
    Pending {
        delete: bool,
    },
    Deactivated,
    /// Deleted by the provider while deactivated (no job): the worker purges it once the
    /// delay has passed since the delete.
    DeletedWhileDeactivated,
    /// The worker purged the deleted user's row.
    Purged,
}

type Counts = BTreeMap<String, u32>;

fn counts(items: &[&str]) -> Counts {
    let mut m = Counts::new();
    for i in items {
        *m.entry((*i).to_string()).or_default() += 1;
    }
    m
}

/// One transaction's entries and events.
#[derive(Debug)]
struct Tx {
    at: NaiveDateTime,
    system: bool,
    actions: Counts,
    events: Counts,
}

fn db<R>(r: scim_store::Result<R>) -> Result<R, String> {
    r.map_err(|e| format!("store: {e}"))
}

/// The whole sync log of the tenant, oldest first.
fn whole_log(store: &Store, tenant: &TenantId) -> Result<Vec<LogEntry>, String> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let q = LogQuery {
            before,
            limit: sync_log::MAX_PAGE,
            ..LogQuery::default()
        };
        let page = db(store.read(|c| sync_log::query(c, tenant, &q)))?;
        out.extend(page.entries);
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    out.sort_by_key(|e| e.id);
    Ok(out)
}

/// Every event of the tenant, oldest first. Nothing consumes this outbox (the server runs
/// without a webhook), so a claim with a zero lease reads them all and holds none.
fn whole_outbox(store: &Store, tenant: &TenantId) -> Result<Vec<Event>, String> {
    let now = chrono::Utc::now().naive_utc();
    let all =
        db(store.write(move |c| outbox::claim(c, "crash-test", now, Duration::ZERO, 10_000_000)))?;
    Ok(all.into_iter().filter(|e| e.tenant_id == *tenant).collect())
}

/// Groups entries and events into transactions (by `at`), in log order.
fn transactions(log: &[&LogEntry], events: &[&Event]) -> Result<Vec<Tx>, String> {
    let mut txs: Vec<Tx> = Vec::new();
    let mut index: HashMap<NaiveDateTime, usize> = HashMap::new();
    for e in log {
        let i = *index.entry(e.at).or_insert_with(|| {
            txs.push(Tx {
                at: e.at,
                system: false,
                actions: Counts::new(),
                events: Counts::new(),
            });
            txs.len() - 1
        });
        txs[i].system |= e.actor == Actor::System;
        *txs[i].actions.entry(e.action.clone()).or_default() += 1;
    }
    for ev in events {
        let i = index.get(&ev.at).ok_or_else(|| {
            format!(
                "event {} at {} has no sync-log entry in its transaction",
                ev.kind, ev.at
            )
        })?;
        *txs[*i].events.entry(ev.kind.clone()).or_default() += 1;
    }
    Ok(txs)
}

/// Checks the database against the worlds; returns the problems found.
pub fn check_store(
    store: &Store,
    tenant: &TenantId,
    worlds: &[World],
) -> Result<Vec<String>, String> {
    let log = whole_log(store, tenant)?;
    let events = whole_outbox(store, tenant)?;
    let mut problems = Vec::new();
    let user_ids: HashSet<&str> = worlds
        .iter()
        .flat_map(|w| w.users.keys())
        .map(String::as_str)
        .collect();
    let group_ids: HashSet<&str> = worlds
        .iter()
        .flat_map(|w| w.groups.keys())
        .map(String::as_str)
        .collect();

    let mut log_of: HashMap<&str, Vec<&LogEntry>> = HashMap::new();
    for e in &log {
        let known = match e.resource_type.as_str() {
            "User" => user_ids.contains(e.resource_id.as_str()),
            "Group" => group_ids.contains(e.resource_id.as_str()),
            _ => continue, // the tenant's Default organization, made at the first create
        };
        if known {
            log_of.entry(e.resource_id.as_str()).or_default().push(e);
        } else {
            problems.push(format!(
                "sync log: {} {} {} of a write nobody sent: {e:?}",
                e.action, e.resource_type, e.resource_id
            ));
        }
    }
    let mut events_of: HashMap<&str, Vec<&Event>> = HashMap::new();
    for ev in &events {
        let about = ev.user_id.as_deref().or_else(|| ev.payload["id"].as_str());
        match about {
            Some(id) if user_ids.contains(id) || group_ids.contains(id) => {
                events_of.entry(id).or_default().push(ev);
            }
            _ => problems.push(format!("outbox: event of a write nobody sent: {ev:?}")),
        }
    }

    let mut rows = 0;
    for w in worlds {
        for u in w.users.values() {
            let log = log_of.remove(u.id.as_str()).unwrap_or_default();
            let evs = events_of.remove(u.id.as_str()).unwrap_or_default();
            // Rows of known users; any other row is a user nobody created.
            rows += i64::from(db(store.read(|c| users::get_record(c, tenant, &u.id)))?.is_some());
            if let Err(p) = check_user(store, tenant, u, &log, &evs) {
                problems.push(format!(
                    "thread {} user {} ({}): {p}",
                    w.thread, u.id, u.doc.user_name
                ));
            }
        }
        for g in w.groups.values() {
            let log = log_of.remove(g.id.as_str()).unwrap_or_default();
            let evs = events_of.remove(g.id.as_str()).unwrap_or_default();
            if let Err(p) = check_group(store, tenant, g, &log, &evs) {
                problems.push(format!(
                    "thread {} group {} ({}): {p}",
                    w.thread, g.id, g.doc.display_name
                ));
            }
        }
    }
    let user_rows = db(store.read(|c| users::count(c, tenant)))?;
    if user_rows != rows {
        problems.push(format!(
            "{user_rows} user rows, {rows} of them users the clients created or had in flight"
        ));
    }
    let live_groups = worlds.iter().map(|w| w.live_groups().len()).sum::<usize>();
    let group_rows = db(store.read(|c| groups::count(c, tenant)))?;
    if usize::try_from(group_rows).ok() != Some(live_groups) {
        problems.push(format!("{group_rows} groups, {live_groups} expected"));
    }
    Ok(problems)
}

/// What one provider write of a user must have logged and raised, and the lifecycle after it.
fn expect_user_step(step: UserStep, state: Option<Lc>) -> Result<(Counts, Counts, Lc), String> {
    let bad = || format!("{step:?} in state {state:?}");
    Ok(match (step, state) {
        (UserStep::Create, None) => (counts(&["create"]), counts(&["user.created"]), Lc::Active),
        (
            UserStep::Update {
                from: true,
                to: false,
            },
            Some(Lc::Active),
        ) => (
            counts(&["update", "schedule_deactivation"]),
            counts(&[
                "user.updated",
                "user.deactivation_scheduled",
                "access.revoked",
            ]),
            Lc::Pending { delete: false },
        ),
        (
            UserStep::Update {
                from: false,
                to: true,
            },
            Some(Lc::Pending { delete: false } | Lc::Deactivated),
        ) => (
            counts(&["update", "reactivate"]),
            counts(&["user.updated", "user.reactivated"]),
            Lc::Active,
        ),
        (
            UserStep::Update { from, to },
            Some(s @ (Lc::Active | Lc::Pending { delete: false } | Lc::Deactivated)),
        ) if from == to => (counts(&["update"]), counts(&["user.updated"]), s),
        (UserStep::Delete, Some(Lc::Active)) => (
            counts(&["delete", "schedule_deactivation"]),
            counts(&[
                "user.deleted",
                "user.deactivation_scheduled",
                "access.revoked",
            ]),
            Lc::Pending { delete: true },
        ),
        (UserStep::Delete, Some(Lc::Pending { delete: false })) => (
            counts(&["delete", "schedule_deactivation"]),
            counts(&["user.deleted"]),
            Lc::Pending { delete: true },
        ),
        (UserStep::Delete, Some(Lc::Deactivated)) => (
            counts(&["delete"]),
            counts(&["user.deleted"]),
            Lc::DeletedWhileDeactivated,
        ),
        _ => return Err(bad()),
    })
}

/// Walks the user's transactions along its acknowledged writes, letting the worker complete
/// a due deactivation between any two of them; returns the lifecycle it ends in.
fn walk_user(u: &User, txs: &[Tx]) -> Result<Lc, String> {
    let mut state: Option<Lc> = None;
    let mut steps = u.history.iter();
    for tx in txs {
        if tx.system && state == Some(Lc::DeletedWhileDeactivated) {
            // No job to run: the purge alone, once the delay since the delete has passed.
            if tx.actions != counts(&["purge"]) || !tx.events.is_empty() {
                return Err(format!("the worker's purge at {} is {tx:?}", tx.at));
            }
            state = Some(Lc::Purged);
            continue;
        }
        if tx.system {
            let Some(Lc::Pending { delete }) = state else {
                return Err(format!("the worker acted in state {state:?}: {tx:?}"));
            };
            let actions = if delete {
                counts(&["deactivate", "purge"])
            } else {
                counts(&["deactivate"])
            };
            if tx.actions != actions || tx.events != counts(&["user.deactivated"]) {
                return Err(format!("the worker's transaction at {} is {tx:?}", tx.at));
            }
            state = Some(if delete { Lc::Purged } else { Lc::Deactivated });
            continue;
        }
        let Some(step) = steps.next() else {
            return Err(format!(
                "a provider transaction no acknowledged write made: {tx:?}"
            ));
        };
        let (actions, events, next) = expect_user_step(*step, state)?;
        if tx.actions != actions || tx.events != events {
            return Err(format!(
                "{step:?} logged {:?} and raised {:?}, expected {actions:?} and {events:?}",
                tx.actions, tx.events
            ));
        }
        state = Some(next);
    }
    if let Some(step) = steps.next() {
        return Err(format!(
            "acknowledged {step:?} has no sync-log entry ({} transactions for {} writes)",
            txs.len(),
            u.history.len()
        ));
    }
    state.ok_or_else(|| "no transaction at all".to_string())
}

/// Checks one user: its transactions, lifecycle, job and (unless deleted) document.
fn check_user(
    store: &Store,
    tenant: &TenantId,
    u: &User,
    log: &[&LogEntry],
    evs: &[&Event],
) -> Result<(), String> {
    let txs = transactions(log, evs)?;
    let lc = walk_user(u, &txs)?;
    let rec = db(store.read(|c| users::get_record(c, tenant, &u.id)))?;
    let hidden = db(store.read(|c| users::is_hidden(c, tenant, &u.id)))?;
    let word = db(store.read(|c| lifecycle::state_name(c, tenant, &u.id)))?;
    let job = db(store.read(|c| jobs::open_job(c, tenant, &u.id)))?;
    let job_reason = job.as_ref().map(|j| j.reason.as_str());
    let Some(rec) = rec else {
        return if lc == Lc::Purged {
            Ok(())
        } else {
            Err(format!("no row; lifecycle {lc:?}"))
        };
    };
    if hidden != u.deleted {
        return Err(format!("hidden {hidden}, deleted {}", u.deleted));
    }
    let want = match lc {
        Lc::Active => ("active", None),
        Lc::Pending { delete: false } => ("pending_deactivation", Some("provider_inactive")),
        Lc::Pending { delete: true } => ("pending_deactivation", Some("provider_delete")),
        Lc::Deactivated | Lc::DeletedWhileDeactivated => ("deactivated", None),
        Lc::Purged => return Err("purged, yet the row is there".into()),
    };
    if (word.as_deref(), job_reason) != (Some(want.0), want.1) {
        return Err(format!(
            "lifecycle {word:?} with open job {job:?}; its writes lead to {lc:?}"
        ));
    }
    if !u.deleted {
        let found = UserDoc::read(&rec.stored.resource);
        if found != u.doc || rec.stored.version != u.version || rec.active != u.doc.active {
            return Err(format!(
                "stored {found:?} v{} (active column {}), acknowledged {:?} v{}",
                rec.stored.version, rec.active, u.doc, u.version
            ));
        }
    }
    Ok(())
}

fn check_group(
    store: &Store,
    tenant: &TenantId,
    g: &Group,
    log: &[&LogEntry],
    evs: &[&Event],
) -> Result<(), String> {
    let txs = transactions(log, evs)?;
    let got: Vec<(Counts, Counts)> = txs.into_iter().map(|t| (t.actions, t.events)).collect();
    let want: Vec<(Counts, Counts)> = g
        .history
        .iter()
        .map(|s| match s {
            GroupStep::Create => (counts(&["create"]), counts(&["group.created"])),
            GroupStep::Patch | GroupStep::MemberDeleted => {
                (counts(&["update"]), counts(&["group.updated"]))
            }
            GroupStep::Put => (counts(&["replace"]), counts(&["group.updated"])),
            GroupStep::Delete => (counts(&["delete"]), counts(&["group.deleted"])),
        })
        .collect();
    if got != want {
        return Err(format!(
            "transactions {got:?}, its writes {:?} make {want:?}",
            g.history
        ));
    }
    let stored = stored_group(store, tenant, &g.id)?;
    match (g.deleted, stored) {
        (true, None) => {
            let left = member_set(store, tenant, &g.id)?;
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("deleted, yet members {left:?} remain"))
            }
        }
        (false, Some((doc, v))) if doc == g.doc && v == g.version => Ok(()),
        (deleted, stored) => Err(format!(
            "stored {stored:?}, acknowledged {:?} v{} (deleted {deleted})",
            g.doc, g.version
        )),
    }
}
