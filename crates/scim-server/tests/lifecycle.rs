//! Scenario tests of the provisioning lifecycle (issue #6) against the real binary, on SQLite
//! and PostgreSQL at once: the deactivation-delay queue (cancel within the delay, run at the
//! due time, delay 0, a job due while the server was stopped), Okta's and Entra's forms of
//! deactivation, legal hold (blocked at the due time, deactivated on release, or left active
//! when the provider has the user active). States are read with `scim-server user state`,
//! the SCIM resource's `active`, `scim-server sync-log`, and the outbox's events.
//!
//! The provider-side rules (local accounts, Okta's whole-user PUT, per-tenant validation and
//! password sync) are in `lifecycle/provider_rules.rs`.
//!
//! The clock is real: delays of one to three seconds, polled with deadlines.

#![expect(clippy::expect_used, clippy::panic, reason = "tests fail by panicking")]

#[path = "lifecycle/harness.rs"]
mod harness;
#[path = "lifecycle/provider_rules.rs"]
mod provider_rules;

use std::time::{Duration, Instant};

use chrono::Utc;
use harness::{Lab, each_backend};
use serde_json::json;

/// Sleeps until `at` (no-op when it has passed).
fn sleep_until(at: chrono::DateTime<Utc>) {
    if let Ok(d) = (at - Utc::now()).to_std() {
        std::thread::sleep(d);
    }
}

/// The due time of the user's open job; asserts there is one.
#[track_caller]
fn due_of(lab: &Lab, user: &str) -> chrono::DateTime<Utc> {
    lab.open_job(user)
        .unwrap_or_else(|| panic!("[{}] no open job for {user}", lab.backend))
        .due_at
        .and_utc()
}

/// Deactivation (Okta's pathless PATCH) refuses access at once and schedules; `active: true`
/// within the delay cancels the job, and nothing happens at the old due time.
#[test]
fn deactivate_then_reactivate_within_the_delay_cancels_the_job() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.set_delay(3);
        let user = lab.create_user("ada@example.com");
        assert_eq!(lab.state(&user), "active", "[{b}]");

        let before = Utc::now();
        let body = lab.set_active(&user, false);
        assert_eq!(body["active"], json!(false), "[{b}] PATCH response: {body}");
        assert_eq!(lab.state(&user), "pending_deactivation", "[{b}]");
        assert_eq!(lab.get_user(&user)["active"], json!(false), "[{b}]");
        let due = due_of(lab, &user);
        assert!(
            due >= before + chrono::TimeDelta::milliseconds(2900)
                && due <= Utc::now() + chrono::TimeDelta::seconds(3),
            "[{b}] due {due} for a 3 s delay from {before}"
        );

        let body = lab.set_active(&user, true);
        assert_eq!(body["active"], json!(true), "[{b}] PATCH response: {body}");
        assert_eq!(lab.state(&user), "active", "[{b}]");
        assert!(lab.open_job(&user).is_none(), "[{b}] the job is still open");

        // Past the old due time, with the worker's one-second wake-up: still active.
        sleep_until(due + chrono::TimeDelta::milliseconds(1500));
        assert_eq!(lab.state(&user), "active", "[{b}] after the old due time");
        assert_eq!(lab.get_user(&user)["active"], json!(true), "[{b}]");

        assert_eq!(
            lab.lifecycle_events(&user),
            [
                "user.deactivation_scheduled",
                "access.revoked",
                "user.reactivated"
            ],
            "[{b}]"
        );
        let events = lab.events(&user);
        let scheduled = &events
            .iter()
            .find(|(k, _)| k == "user.deactivation_scheduled")
            .unwrap()
            .1;
        assert_eq!(
            scheduled["reason"], "provider_inactive",
            "[{b}] {scheduled}"
        );
        let sent_due = chrono::DateTime::parse_from_rfc3339(scheduled["due"].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc);
        assert!(
            (sent_due - due).num_milliseconds().abs() < 1000,
            "[{b}] event due {sent_due}, job due {due}"
        );
        assert_eq!(
            lab.lifecycle_log(&user),
            [
                ("provider".into(), "schedule_deactivation".into()),
                ("provider".into(), "reactivate".into())
            ],
            "[{b}]"
        );
    });
}

/// Deactivation runs at the due time (not before, within about a second after), by the
/// worker: `user.deactivated`, actor `system` in the sync log.
#[test]
fn deactivation_runs_at_the_due_time() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.set_delay(1);
        let user = lab.create_user("bob@example.com");
        lab.set_active(&user, false);
        let due = due_of(lab, &user);
        assert_eq!(lab.state(&user), "pending_deactivation", "[{b}]");
        lab.wait_state(&user, "deactivated", Duration::from_secs(6));
        assert_eq!(lab.state(&user), "deactivated", "[{b}]");
        assert_eq!(lab.get_user(&user)["active"], json!(false), "[{b}]");
        assert!(lab.open_job(&user).is_none(), "[{b}] the job is still open");

        let events = lab.events(&user);
        let kinds: Vec<&str> = events
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| harness::LIFECYCLE_KINDS.contains(k))
            .collect();
        assert_eq!(
            kinds,
            [
                "user.deactivation_scheduled",
                "access.revoked",
                "user.deactivated"
            ],
            "[{b}]"
        );
        let deactivated = &events
            .iter()
            .find(|(k, _)| k == "user.deactivated")
            .unwrap()
            .1;
        assert_eq!(
            deactivated["reason"], "provider_inactive",
            "[{b}] {deactivated}"
        );

        let log = lab.sync_log(&user);
        let done = log
            .iter()
            .find(|l| l.action == "deactivate")
            .unwrap_or_else(|| panic!("[{b}] no deactivate entry: {log:?}"));
        assert_eq!(done.actor, "system", "[{b}] {done:?}");
        assert_eq!(done.detail["to"]["state"], "deactivated", "[{b}] {done:?}");
        assert_eq!(
            done.detail["from"]["state"], "pending_deactivation",
            "[{b}]"
        );
        assert!(
            done.at >= due,
            "[{b}] deactivated at {} before due {due}",
            done.at
        );
        assert!(
            done.at <= due + chrono::TimeDelta::milliseconds(2500),
            "[{b}] deactivated at {}, due {due}",
            done.at
        );
        assert_eq!(
            lab.lifecycle_log(&user),
            [
                ("provider".into(), "schedule_deactivation".into()),
                ("system".into(), "deactivate".into())
            ],
            "[{b}]"
        );
    });
}

/// Entra's form, `{"op":"Replace","path":"active","value":"False"}` (a string), does the same.
#[test]
fn entra_string_false_deactivates_through_the_delay() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.set_delay(1);
        let user = lab.create_user("cy@example.com");
        let body = lab.patch_user(
            &user,
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        );
        assert_eq!(
            body["active"],
            json!(false),
            "[{b}] a boolean false: {body}"
        );
        assert_eq!(lab.state(&user), "pending_deactivation", "[{b}]");
        assert!(lab.open_job(&user).is_some(), "[{b}] no job");
        lab.wait_state(&user, "deactivated", Duration::from_secs(6));
        assert_eq!(lab.state(&user), "deactivated", "[{b}]");
        assert_eq!(lab.get_user(&user)["active"], json!(false), "[{b}]");
        assert_eq!(
            lab.lifecycle_events(&user),
            [
                "user.deactivation_scheduled",
                "access.revoked",
                "user.deactivated"
            ],
            "[{b}]"
        );
        // And Entra's "True" brings the user back (after the due time: reactivated).
        let body = lab.patch_user(
            &user,
            json!([{"op": "Replace", "path": "active", "value": "True"}]),
        );
        assert_eq!(body["active"], json!(true), "[{b}] {body}");
        assert_eq!(lab.state(&user), "active", "[{b}]");
        assert_eq!(
            lab.lifecycle_events(&user).last().map(String::as_str),
            Some("user.reactivated"),
            "[{b}]"
        );
    });
}

/// On legal hold the due deactivation blocks instead (`user.blocked`); releasing the hold,
/// with the provider still having the user inactive, deactivates.
#[test]
fn legal_hold_blocks_at_the_due_time_and_release_deactivates() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.set_delay(1);
        let user = lab.create_user("dee@example.com");
        lab.legal_hold(&user, true);
        assert_eq!(
            lab.state(&user),
            "active",
            "[{b}] a hold alone changes no state"
        );
        lab.set_active(&user, false);
        assert_eq!(lab.state(&user), "pending_deactivation", "[{b}]");
        lab.wait_state(&user, "blocked", Duration::from_secs(6));
        assert_eq!(lab.state(&user), "blocked", "[{b}]");
        assert_eq!(lab.get_user(&user)["active"], json!(false), "[{b}]");
        // Never deactivated while held, however long it stays blocked.
        std::thread::sleep(Duration::from_millis(1200));
        assert_eq!(lab.state(&user), "blocked", "[{b}]");
        let events = lab.events(&user);
        let blocked = &events
            .iter()
            .find(|(k, _)| k == "user.blocked")
            .unwrap_or_else(|| panic!("[{b}] no user.blocked: {events:?}"))
            .1;
        assert_eq!(blocked["reason"], "legal_hold", "[{b}] {blocked}");
        assert_eq!(
            lab.lifecycle_events(&user),
            [
                "user.deactivation_scheduled",
                "access.revoked",
                "user.blocked"
            ],
            "[{b}]"
        );

        lab.legal_hold(&user, false);
        assert_eq!(lab.state(&user), "deactivated", "[{b}] after release");
        assert_eq!(lab.get_user(&user)["active"], json!(false), "[{b}]");
        assert_eq!(
            lab.lifecycle_events(&user),
            [
                "user.deactivation_scheduled",
                "access.revoked",
                "user.blocked",
                "user.deactivated"
            ],
            "[{b}]"
        );
        assert_eq!(
            lab.lifecycle_log(&user),
            [
                ("admin".into(), "legal_hold_set".into()),
                ("provider".into(), "schedule_deactivation".into()),
                ("system".into(), "block".into()),
                ("admin".into(), "legal_hold_released".into()),
                ("admin".into(), "deactivate".into())
            ],
            "[{b}]"
        );
    });
}

/// A held user the provider re-activates comes back, and releasing the hold then leaves them
/// active (nothing deactivates them later either).
#[test]
fn legal_hold_released_while_the_provider_has_the_user_active_stays_active() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.set_delay(1);
        let user = lab.create_user("eve@example.com");
        lab.legal_hold(&user, true);
        lab.set_active(&user, false);
        lab.wait_state(&user, "blocked", Duration::from_secs(6));
        let body = lab.set_active(&user, true);
        assert_eq!(body["active"], json!(true), "[{b}] {body}");
        assert_eq!(
            lab.state(&user),
            "active",
            "[{b}] the provider re-activated"
        );
        lab.legal_hold(&user, false);
        assert_eq!(lab.state(&user), "active", "[{b}] after release");
        std::thread::sleep(Duration::from_millis(2000));
        assert_eq!(lab.state(&user), "active", "[{b}] later");
        assert_eq!(lab.get_user(&user)["active"], json!(true), "[{b}]");
        assert!(lab.open_job(&user).is_none(), "[{b}] a job is open");
        let kinds = lab.lifecycle_events(&user);
        assert!(
            !kinds.iter().any(|k| k == "user.deactivated"),
            "[{b}] {kinds:?}"
        );
        assert_eq!(
            kinds.last().map(String::as_str),
            Some("user.reactivated"),
            "[{b}]"
        );

        // A hold set and released on an active user changes nothing either.
        let other = lab.create_user("fay@example.com");
        lab.legal_hold(&other, true);
        lab.legal_hold(&other, false);
        assert_eq!(lab.state(&other), "active", "[{b}]");
        assert!(lab.lifecycle_events(&other).is_empty(), "[{b}]");
    });
}

/// Delay 0: deactivated within about a second of the provider's PATCH.
#[test]
fn zero_delay_deactivates_within_a_second() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.set_delay(0);
        let user = lab.create_user("gus@example.com");
        let sent = Instant::now();
        lab.set_active(&user, false);
        lab.wait_state(&user, "deactivated", Duration::from_secs(5));
        let took = sent.elapsed();
        eprintln!("[{b}] delay 0: deactivated {took:?} after the PATCH was sent");
        assert!(took < Duration::from_millis(2000), "[{b}] took {took:?}");
        assert_eq!(lab.state(&user), "deactivated", "[{b}]");
        assert_eq!(
            lab.lifecycle_events(&user),
            [
                "user.deactivation_scheduled",
                "access.revoked",
                "user.deactivated"
            ],
            "[{b}]"
        );
    });
}

/// A job that came due while no server ran is run at the next start.
#[test]
fn a_job_due_while_the_server_was_stopped_runs_after_restart() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.set_delay(2);
        let user = lab.create_user("hal@example.com");
        lab.set_active(&user, false);
        let due = due_of(lab, &user);
        lab.stop();
        assert!(Utc::now() < due, "[{b}] stopped after the due time");
        sleep_until(due + chrono::TimeDelta::milliseconds(1000));
        assert_eq!(
            lab.state(&user),
            "pending_deactivation",
            "[{b}] nothing ran while stopped"
        );
        let started = Instant::now();
        lab.serve();
        let up = started.elapsed();
        let took = lab.wait_state(&user, "deactivated", Duration::from_secs(5));
        eprintln!("[{b}] restart: up in {up:?}, job ran {took:?} later");
        assert!(took < Duration::from_secs(2), "[{b}] {took:?} after start");
        assert_eq!(lab.state(&user), "deactivated", "[{b}]");
        assert_eq!(
            lab.lifecycle_log(&user),
            [
                ("provider".into(), "schedule_deactivation".into()),
                ("system".into(), "deactivate".into())
            ],
            "[{b}]"
        );
        assert_eq!(
            lab.lifecycle_events(&user).last().map(String::as_str),
            Some("user.deactivated"),
            "[{b}]"
        );
    });
}

/// A provider DELETE inside the delay destroys nothing before the delay: the user leaves SCIM
/// at once (404, out of lists), stays pending in the product — and comes back whole if the
/// provider creates it again in time — and is deactivated and purged when the job runs.
#[test]
fn delete_within_the_delay_purges_only_at_the_due_time() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.set_delay(2);
        let user = lab.create_user("dora@example.com");
        let r = lab.scim("DELETE", &format!("/Users/{user}"), None);
        assert_eq!(r.status, 204, "[{b}] {r:?}");
        assert_eq!(
            lab.scim("GET", &format!("/Users/{user}"), None).status,
            404,
            "[{b}]"
        );
        let list = lab.scim(
            "GET",
            "/Users?filter=userName%20eq%20%22dora@example.com%22",
            None,
        );
        assert_eq!(list.json()["totalResults"], 0, "[{b}] {list:?}");
        // Nothing destroyed yet: the product still has the account, pending deactivation.
        assert_eq!(lab.state(&user), "pending_deactivation", "[{b}]");
        // Created again within the delay (an unassign/reassign): the same account comes
        // back, active, and the pending deactivation is cancelled.
        let again = lab.scim(
            "POST",
            "/Users",
            Some(&harness::user_body("dora@example.com")),
        );
        assert_eq!(again.status, 201, "[{b}] {again:?}");
        assert_eq!(again.json()["id"], json!(user), "[{b}] {again:?}");
        assert_eq!(lab.state(&user), "active", "[{b}]");
        assert!(
            lab.open_job(&user).is_none(),
            "[{b}] the deactivation is still scheduled"
        );
        assert_eq!(lab.get_user(&user)["userName"], "dora@example.com", "[{b}]");
        // The 201 showed the account as stored after the lifecycle step.
        assert_eq!(lab.get_user(&user), again.json(), "[{b}]");
        // Deleted again, and left alone this time.
        let r = lab.scim("DELETE", &format!("/Users/{user}"), None);
        assert_eq!(r.status, 204, "[{b}] {r:?}");
        // At the due time: deactivated, then purged.
        assert!(
            lab.wait_purged(&user, Duration::from_secs(8)),
            "[{b}] the user was not purged at the due time"
        );
        let log = lab.sync_log(&user);
        let actions: Vec<&str> = log.iter().map(|l| l.action.as_str()).collect();
        assert!(
            actions.contains(&"deactivate") && actions.contains(&"purge"),
            "[{b}] {actions:?}"
        );
        let events = lab.events(&user);
        assert!(
            events.iter().any(|(k, _)| k == "user.deactivated"),
            "[{b}] {events:?}"
        );
        // The name is free again, for a new account.
        let later = lab.scim(
            "POST",
            "/Users",
            Some(&harness::user_body("dora@example.com")),
        );
        assert_eq!(later.status, 201, "[{b}] {later:?}");
        assert_ne!(later.json()["id"], json!(user), "[{b}] {later:?}");
    });
}

/// Entra disables a user before it deletes it: a DELETE of a user already deactivated (no job
/// left to run) hides it at once and purges it once the delay has passed since the DELETE.
/// Before, such a user stayed hidden and was never purged. Its userName is then free.
#[test]
fn deleting_a_deactivated_user_purges_it_after_the_delay() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.set_delay(1);
        let user = lab.create_user("erin@example.com");
        lab.set_active(&user, false);
        lab.wait_state(&user, "deactivated", Duration::from_secs(8));
        assert!(lab.open_job(&user).is_none(), "[{b}]");
        let r = lab.scim("DELETE", &format!("/Users/{user}"), None);
        assert_eq!(r.status, 204, "[{b}] {r:?}");
        let get = lab.scim("GET", &format!("/Users/{user}"), None);
        assert_eq!(get.status, 404, "[{b}]");
        // Kept for the delay, so a re-create could still restore it.
        assert!(lab.present(&user), "[{b}] purged before the delay");
        assert!(
            lab.wait_purged(&user, Duration::from_secs(8)),
            "[{b}] a deactivated user the provider deleted was never purged\n{}",
            lab.log_tail()
        );
        let log = lab.sync_log(&user);
        let actions: Vec<&str> = log.iter().map(|l| l.action.as_str()).collect();
        assert_eq!(actions.last(), Some(&"purge"), "[{b}] {actions:?}");
        let later = lab.scim(
            "POST",
            "/Users",
            Some(&harness::user_body("erin@example.com")),
        );
        assert_eq!(later.status, 201, "[{b}] {later:?}");
        assert_ne!(later.json()["id"], json!(user), "[{b}] {later:?}");
    });
}

/// A user the provider deleted while on legal hold keeps its data past the delay, however long
/// the hold lasts, and is purged once the hold is released.
#[test]
fn a_deleted_user_on_legal_hold_is_purged_only_after_the_release() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.set_delay(1);
        let user = lab.create_user("hal@example.com");
        lab.set_active(&user, false);
        lab.wait_state(&user, "deactivated", Duration::from_secs(8));
        lab.legal_hold(&user, true);
        let r = lab.scim("DELETE", &format!("/Users/{user}"), None);
        assert_eq!(r.status, 204, "[{b}] {r:?}");
        // Well past the delay and several worker rounds: still there.
        std::thread::sleep(Duration::from_millis(3500));
        assert!(lab.present(&user), "[{b}] purged while on legal hold");
        lab.legal_hold(&user, false);
        assert!(
            lab.wait_purged(&user, Duration::from_secs(8)),
            "[{b}] not purged after the hold was released\n{}",
            lab.log_tail()
        );
        let log = lab.sync_log(&user);
        let actions: Vec<&str> = log.iter().map(|l| l.action.as_str()).collect();
        let released = actions.iter().position(|a| *a == "legal_hold_released");
        let purged = actions.iter().position(|a| *a == "purge");
        assert!(
            matches!((released, purged), (Some(r), Some(p)) if r < p),
            "[{b}] {actions:?}"
        );
    });
}

/// Deleting a member changes every group it was in (it leaves them, their versions move), so
/// each of those groups' sync log says so, whether the member was a user or a nested group.
#[test]
fn deleting_a_member_logs_the_change_of_each_group_it_leaves() {
    each_backend(|lab| {
        let b = lab.backend;
        let user = lab.create_user("gil@example.com");
        let group = |name: &str, members: serde_json::Value| {
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": name,
                "members": members,
            });
            let r = lab.scim("POST", "/Groups", Some(&body));
            assert_eq!(r.status, 201, "[{b}] {r:?}");
            r.json()["id"].as_str().expect("id").to_string()
        };
        let child = group("Child", json!([{"value": user}]));
        let parent = group("Parent", json!([{"value": user}, {"value": child}]));
        let last_entry = |g: &str| {
            let log = lab.sync_log(g);
            let last = log.last().expect("an entry").clone();
            (last.action, last.detail)
        };

        let r = lab.scim("DELETE", &format!("/Users/{user}"), None);
        assert_eq!(r.status, 204, "[{b}] {r:?}");
        for g in [&child, &parent] {
            let (action, detail) = last_entry(g);
            assert_eq!(action, "update", "[{b}] {detail}");
            assert_eq!(
                detail["memberOperations"],
                json!([{"remove": [user]}]),
                "[{b}]"
            );
            assert_eq!(detail["cause"], "member deleted", "[{b}]");
        }

        let r = lab.scim("DELETE", &format!("/Groups/{child}"), None);
        assert_eq!(r.status, 204, "[{b}] {r:?}");
        let (action, detail) = last_entry(&parent);
        assert_eq!(action, "update", "[{b}] {detail}");
        assert_eq!(
            detail["memberOperations"],
            json!([{"remove": [child]}]),
            "[{b}]"
        );
        // A group nobody's member of gets no entry: the parent's log stays as it was.
        let before = lab.sync_log(&parent).len();
        let r = lab.scim("DELETE", &format!("/Groups/{parent}"), None);
        assert_eq!(r.status, 204, "[{b}] {r:?}");
        let after = lab.sync_log(&parent);
        assert_eq!(after.len(), before + 1, "[{b}] only its own delete");
        assert_eq!(
            after.last().map(|l| l.action.as_str()),
            Some("delete"),
            "[{b}]"
        );
    });
}
