//! Every statement of the hot write paths runs from the connection's prepared-statement cache
//! after its first use, on both backends: an Okta deactivation and reactivation (the user's
//! UPDATE, its lifecycle, the deactivation job scheduled then cancelled), a PUT with and without
//! a password, a group membership change (one member added, one removed), an entitlements
//! change, a sync-log append and a create.
//!
//! Diesel never caches an UPDATE or an upsert by itself, and a statement it does not cache is
//! parsed and planned again by SQLite on every run (~50 000–100 000 instructions). The check
//! uses diesel's own events: a statement that enters the cache is announced once
//! (`CacheQuery`); one that runs without entering it never is. So after a first round of every
//! operation, a second round must start no statement whose text was never cached.
//!
//! This file sets diesel's process-wide default instrumentation, so it is a test binary of its
//! own.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use common::{at, doc, reg};
use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

use chrono::TimeDelta;
use diesel::connection::{Instrumentation, InstrumentationEvent};
use scim_core::patch::{Member, MemberOp};
use scim_core::policy::{
    DeactivationReason, LifecycleState, Origin as PolicyOrigin, UserLifecycle,
};
use scim_store::groups::{self, NewGroup};
use scim_store::sync_log::{self, NewLogEntry};
use scim_store::testing::TestDb;
use scim_store::users::{self, NewUser, PasswordChange};
use scim_store::{Actor, Origin, Store, TenantId, jobs, lifecycle, tenants};
use serde_json::json;

/// What the connections opened by this process ran and cached, by SQL text.
#[derive(Default)]
struct Seen {
    started: Vec<String>,
    cached: BTreeSet<String>,
}

fn seen() -> &'static Mutex<Seen> {
    static SEEN: OnceLock<Mutex<Seen>> = OnceLock::new();
    SEEN.get_or_init(Default::default)
}

/// Records diesel's query events into [`seen`].
struct Recorder;

impl Instrumentation for Recorder {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        let mut seen = seen().lock().unwrap();
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                // `Display` is the SQL, then ` -- binds: [...]` for statements with binds.
                let text = query.to_string();
                let sql = text.split(" -- binds: ").next().unwrap_or("").to_string();
                seen.started.push(sql);
            }
            InstrumentationEvent::CacheQuery { sql, .. } => {
                seen.cached.insert(sql.to_string());
            }
            _ => {}
        }
    }
}

fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        diesel::connection::set_default_instrumentation(|| Some(Box::new(Recorder))).unwrap();
    });
}

fn lifecycle_of(state: LifecycleState, provider_active: bool) -> UserLifecycle {
    UserLifecycle {
        state,
        origin: PolicyOrigin::Provisioned,
        legal_hold: false,
        provider_active,
        mapped: false,
    }
}

/// One round of every operation, on users `u{round}a`/`u{round}b` (created here).
fn round(s: &Store, t: &TenantId, group: &str, round: i64) {
    let (a, b) = (format!("u{round}a"), format!("u{round}b"));
    for id in [&a, &b] {
        let new = NewUser {
            id: id.clone(),
            resource: doc("User", json!({ "userName": format!("{id}@example.com") })),
            password_hash: None,
            origin: Origin::Provisioned,
            now: at(round),
        };
        let t = t.clone();
        s.write(move |c| users::insert(c, reg(), &t, new)).unwrap();
    }
    let (t2, a2) = (t.clone(), a.clone());
    s.write(move |c| {
        let now = at(round + 1);
        // Okta's deactivation: the document, the lifecycle, the delayed job.
        let off = doc(
            "User",
            json!({ "userName": format!("{a2}@example.com"), "active": false }),
        );
        users::replace(c, reg(), &t2, &a2, None, off, PasswordChange::Keep, now)?;
        let pending = LifecycleState::PendingDeactivation {
            due: (now + TimeDelta::minutes(15)).and_utc(),
            reason: DeactivationReason::ProviderInactive,
        };
        lifecycle::save_record(c, &t2, &a2, &lifecycle_of(pending, false), false)?;
        jobs::schedule(c, &t2, &a2, now + TimeDelta::minutes(15), "provider", now)?;
        // And its reactivation (the lifecycle step that also reads the user back).
        let on = doc("User", json!({ "userName": format!("{a2}@example.com") }));
        users::replace(
            c,
            reg(),
            &t2,
            &a2,
            None,
            on,
            PasswordChange::Set("h".into()),
            now,
        )?;
        let active = lifecycle_of(LifecycleState::Active, true);
        lifecycle::save_resource(c, reg(), &t2, &a2, &active, true, now)?;
        jobs::cancel(c, &t2, &a2, now)?;
        sync_log::append(
            c,
            &t2,
            &NewLogEntry {
                at: now,
                actor: Actor::Provider,
                action: "update".into(),
                resource_type: "User".into(),
                resource_id: a2.clone(),
                detail: json!({}),
            },
        )?;
        Ok(())
    })
    .unwrap();
    // Okta's push: one member added, one removed.
    let (t2, g) = (t.clone(), group.to_string());
    s.write(move |c| {
        let add = MemberOp::Add(vec![Member {
            value: b.clone(),
            display: None,
            kind: None,
        }]);
        groups::patch(c, reg(), &t2, &g, None, None, &[add], at(round + 2))?;
        let remove = MemberOp::Remove(vec![b.clone()]);
        groups::patch(c, reg(), &t2, &g, None, None, &[remove], at(round + 3))
    })
    .unwrap();
}

#[test]
fn hot_write_paths_run_from_the_statement_cache() {
    install();
    for db in TestDb::all() {
        let s = &db.store;
        let t = s.write(|c| tenants::create(c, "acme", at(0))).unwrap().id;
        let group = NewGroup {
            id: "g1".into(),
            resource: doc("Group", json!({ "displayName": "Pushed" })),
            members: Vec::new(),
            now: at(0),
        };
        let t2 = t.clone();
        s.write(move |c| groups::insert(c, reg(), &t2, group))
            .unwrap();
        round(s, &t, "g1", 10);
        seen().lock().unwrap().started.clear();
        round(s, &t, "g1", 20);
        let seen = seen().lock().unwrap();
        let control = [
            "BEGIN",
            "COMMIT",
            "ROLLBACK",
            "SAVEPOINT",
            "RELEASE",
            "SET ",
        ];
        let uncached: BTreeSet<&String> = seen
            .started
            .iter()
            .filter(|sql| !control.iter().any(|c| sql.trim_start().starts_with(c)))
            .filter(|sql| !seen.cached.contains(*sql))
            .collect();
        assert!(
            !seen.started.is_empty(),
            "{:?}: no statement was recorded",
            db.kind()
        );
        assert!(
            uncached.is_empty(),
            "{:?}: prepared afresh on every run:\n{}",
            db.kind(),
            uncached
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
