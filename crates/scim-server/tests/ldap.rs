//! LDAP synchronization (issue #7) against a real OpenLDAP `slapd` and the real binary, on
//! SQLite and PostgreSQL at once: the initial sync (users, groups, sync log with actor `ldap`,
//! the SCIM API), a member added, one removed from one of two groups, a user moved out of all
//! mapped groups and back (before and after the deactivation took effect), a Domain Admin who
//! is also in a basic group, users the sync doesn't own, every way the directory can fail to
//! answer (each changes nothing and is recorded), LDAPS and StartTLS with certificate
//! verification, the scheduler in `serve`, and one sync of a tenant at a time.
//!
//! The directory is `start_slapd`'s (scripts/services.sh); without `SCIM_TEST_LDAP_URL` the
//! tests are skipped with a note, except under CI where that is a failure.

#![expect(clippy::expect_used, clippy::panic, reason = "tests fail by panicking")]

#[path = "ldap/harness.rs"]
mod harness;

use std::collections::BTreeSet;
use std::time::Duration;

use harness::{Lab, PASSWORD_VAR, Ran, TENANT, each_backend};
use scim_core::policy::AdminTier;
use scim_store::ldap_runs::{self, RunStatus};
use scim_store::settings::RoleMapping;
use scim_store::{Actor, Store, StoreOptions, entitlements, tenants};
use serde_json::json;

const SYNC: [&str; 4] = ["ldap", "sync", "--tenant", TENANT];
const NOTHING: &str = "created=0 updated=0 deactivated=0 reactivated=0";
const REMOVE_BOB: &str =
    "dn: cn=staff,ou=groups,{base}\nchangetype: modify\ndelete: memberUid\nmemberUid: bob\n";
const ADD_BOB: &str =
    "dn: cn=staff,ou=groups,{base}\nchangetype: modify\nadd: memberUid\nmemberUid: bob\n";

fn names(list: &[&str]) -> Option<BTreeSet<String>> {
    Some(list.iter().map(|s| s.to_string()).collect())
}

#[test]
fn the_first_sync_creates_the_members_through_the_policy_as_ldap() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.configure(&[]);
        // The source names the variable; the password is stored nowhere.
        let tenant = lab.db.store.read(|c| tenants::get(c, &lab.tenant));
        let stored = tenant.expect("read tenant").expect("tenant").settings;
        assert_eq!(
            stored["ldap"]["bind_password_env"],
            json!(PASSWORD_VAR),
            "[{b}]"
        );
        assert_eq!(stored["ldap"]["bind_password_enc"], json!(null), "[{b}]");
        assert!(
            !stored.to_string().contains(&lab.dir.password),
            "[{b}] {stored}"
        );

        assert_eq!(
            lab.sync(),
            "created=3 updated=0 deactivated=0 reactivated=0"
        );
        let users = lab.users();
        let found: Vec<&str> = users.keys().map(String::as_str).collect();
        assert_eq!(found, ["alice", "bob", "carol"], "[{b}]");
        let alice = &users["alice"];
        assert!(
            alice["externalId"]
                .as_str()
                .is_some_and(|e| e.starts_with("ldap:"))
        );
        assert_eq!(
            alice["name"],
            json!({"givenName": "Alice", "familyName": "Liddell"})
        );
        assert_eq!(alice["displayName"], json!("Alice L."), "[{b}]");
        let email = json!([{"value": "alice@example.org", "type": "work", "primary": true}]);
        assert_eq!(alice["emails"], email, "[{b}]");
        assert_eq!(alice["active"], json!(true), "[{b}]");
        // No displayName in the directory: the cn.
        assert_eq!(users["carol"]["displayName"], json!("Carol Jones"), "[{b}]");
        assert_eq!(lab.members("admins"), names(&["alice", "carol"]), "[{b}]");
        assert_eq!(lab.members("staff"), names(&["alice", "bob"]), "[{b}]");

        // Every change is the directory's, as SCIM writes would have recorded it.
        let log = lab.log();
        assert!(log.iter().all(|e| e.actor == Actor::Ldap), "[{b}] {log:?}");
        let count = |action: &str, rtype: &str| {
            log.iter()
                .filter(|e| e.action == action && e.resource_type == rtype)
                .count()
        };
        assert_eq!(count("create", "User"), 3, "[{b}]");
        assert_eq!(count("create", "Group"), 2, "[{b}]");
        assert_eq!(count("ldap_sync", "Tenant"), 1, "[{b}]");
        let run = &lab.runs()[0];
        assert_eq!(
            (run.status, run.started_by.as_str()),
            (RunStatus::Succeeded, "cli")
        );
        assert_eq!(run.counts.created, 3, "[{b}]");
        assert!(
            run.finished_at.is_some_and(|f| f >= run.started_at),
            "[{b}] {run:?}"
        );

        // Visible through the tenant's SCIM API like any other user.
        lab.serve();
        let (status, body) = lab.get("/Users?filter=externalId%20sw%20%22ldap%3A%22");
        assert_eq!(
            (status, body["totalResults"].clone()),
            (200, json!(3)),
            "[{b}] {body}"
        );
        let (status, body) = lab.get("/Groups?filter=displayName%20eq%20%22staff%22");
        assert_eq!(status, 200, "[{b}] {body}");
        let members = body["Resources"][0]["members"].as_array().map(Vec::len);
        assert_eq!(members, Some(2), "[{b}] {body}");

        // A second run finds nothing to do and says nothing in the sync log.
        assert_eq!(lab.sync(), NOTHING, "[{b}]");
        assert_eq!(lab.log().len(), log.len(), "[{b}]");
    });
}

#[test]
fn directory_changes_reach_the_tenant() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.configure(&[]);
        lab.sync();
        // dave joins admins, carol's mail changes, alice leaves one of her two groups.
        lab.modify(
            "dn: cn=admins,ou=groups,{base}\nchangetype: modify\nadd: member\n\
             member: uid=dave,ou=people,{base}\n-\ndelete: member\n\
             member: uid=alice,ou=people,{base}\n",
        );
        lab.modify(
            "dn: uid=carol,ou=people,{base}\nchangetype: modify\nreplace: mail\n\
             mail: carol.jones@example.org\n",
        );
        assert_eq!(
            lab.sync(),
            "created=1 updated=1 deactivated=0 reactivated=0"
        );
        assert_eq!(lab.members("admins"), names(&["carol", "dave"]), "[{b}]");
        assert_eq!(lab.members("staff"), names(&["alice", "bob"]), "[{b}]");
        assert_eq!(lab.state("alice"), "active", "[{b}]");
        let carol = &lab.users()["carol"];
        assert_eq!(
            carol["emails"][0]["value"],
            json!("carol.jones@example.org")
        );

        // bob leaves his only mapped group: the provider's deactivation path (the delay).
        lab.modify(REMOVE_BOB);
        assert_eq!(
            lab.sync(),
            "created=0 updated=0 deactivated=1 reactivated=0"
        );
        assert_eq!(lab.state("bob"), "pending_deactivation", "[{b}]");
        assert_eq!(lab.users()["bob"]["active"], json!(false), "[{b}]");
        assert_eq!(lab.members("staff"), names(&["alice"]), "[{b}]");
        let bob = lab.id_of("bob");
        let scheduled = lab.log().into_iter().find(|e| {
            e.resource_id == bob && e.action == "schedule_deactivation" && e.actor == Actor::Ldap
        });
        assert!(
            scheduled.is_some(),
            "[{b}] no schedule_deactivation by ldap"
        );

        // He returns within the delay: reactivated, job cancelled.
        lab.modify(ADD_BOB);
        assert_eq!(
            lab.sync(),
            "created=0 updated=0 deactivated=0 reactivated=1"
        );
        assert_eq!(lab.state("bob"), "active", "[{b}]");
        assert_eq!(lab.members("staff"), names(&["alice", "bob"]), "[{b}]");

        // With no delay the worker of a running server deactivates him; he still comes back.
        lab.cli_ok(&["tenant", "set", TENANT, "--deactivation-delay", "0"]);
        lab.serve();
        lab.modify(REMOVE_BOB);
        assert_eq!(
            lab.sync(),
            "created=0 updated=0 deactivated=1 reactivated=0"
        );
        let gone = lab.wait_for(Duration::from_secs(20), || {
            lab.state("bob") == "deactivated"
        });
        assert!(gone, "[{b}] bob is {}", lab.state("bob"));
        lab.modify(ADD_BOB);
        assert_eq!(
            lab.sync(),
            "created=0 updated=0 deactivated=0 reactivated=1"
        );
        assert_eq!(lab.state("bob"), "active", "[{b}]");
        assert_eq!(lab.users()["bob"]["active"], json!(true), "[{b}]");
    });
}

#[test]
fn a_domain_admin_in_a_basic_group_is_only_a_domain_admin() {
    each_backend(|lab| {
        let b = lab.backend;
        let t = lab.tenant.clone();
        lab.db
            .store
            .write(move |c| {
                let mut s = tenants::settings(c, &t)?;
                s.admin_tiers.domain_admin_groups = vec!["admins".into()];
                s.role_mappings = vec![RoleMapping {
                    group: "staff".into(),
                    roles: vec!["analyst".into()],
                }];
                tenants::update_settings(c, &t, &s)
            })
            .expect("mappings");
        lab.configure(&[]);
        lab.sync();
        let of = |name: &str| {
            let id = lab.id_of(name);
            lab.db
                .store
                .read(|c| entitlements::get(c, &lab.tenant, &id))
                .expect("entitlements")
                .unwrap_or_else(|| panic!("[{b}] no entitlements for {name}"))
        };
        let analyst: BTreeSet<String> = ["analyst".to_string()].into();
        // alice is in admins and staff: Domain Admin only, no basic role.
        let alice = of("alice");
        assert_eq!(alice.admin_tier, AdminTier::DomainAdmin, "[{b}] {alice:?}");
        assert!(alice.roles.is_empty(), "[{b}] {alice:?}");
        assert_eq!(of("carol").admin_tier, AdminTier::DomainAdmin, "[{b}]");
        let bob = of("bob");
        assert_eq!(
            (bob.admin_tier, &bob.roles),
            (AdminTier::None, &analyst),
            "[{b}]"
        );

        // Out of admins she is a basic user of staff.
        lab.modify(
            "dn: cn=admins,ou=groups,{base}\nchangetype: modify\ndelete: member\n\
             member: uid=alice,ou=people,{base}\n",
        );
        assert_eq!(
            lab.sync(),
            NOTHING,
            "[{b}] a membership change is not a user update"
        );
        let alice = of("alice");
        assert_eq!(
            (alice.admin_tier, &alice.roles),
            (AdminTier::None, &analyst)
        );
        let id = lab.id_of("alice");
        let logged = lab
            .log()
            .into_iter()
            .any(|e| e.resource_id == id && e.action == "entitlements" && e.actor == Actor::Ldap);
        assert!(logged, "[{b}] the entitlement change is logged as ldap");
    });
}

#[test]
fn users_the_sync_does_not_own_are_left_alone() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.serve();
        // The tenant's SCIM provider has erin, a carol of its own, and a staff group.
        let user = |name: &str| json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "externalId": format!("okta-{name}")});
        let (status, erin) = lab.post("/Users", &user("erin"));
        assert_eq!(status, 201, "[{b}] {erin}");
        assert_eq!(lab.post("/Users", &user("carol")).0, 201, "[{b}]");
        let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "staff", "members": [{"value": erin["id"]}]});
        assert_eq!(lab.post("/Groups", &group).0, 201, "[{b}]");
        lab.stop();

        lab.configure(&[]);
        let ran = lab.cli(&SYNC);
        assert!(ran.ok, "[{b}] {}", ran.stderr);
        assert_eq!(
            ran.stdout.trim(),
            "created=2 updated=0 deactivated=0 reactivated=0"
        );
        assert!(ran.stderr.contains("warning: ") && ran.stderr.contains("\"carol\""));
        assert_eq!(lab.runs()[0].warnings.len(), 1, "[{b}]");
        let users = lab.users();
        assert_eq!(users["carol"]["externalId"], json!("okta-carol"), "[{b}]");
        assert_eq!(
            lab.members("staff"),
            names(&["alice", "bob", "erin"]),
            "[{b}]"
        );
        assert_eq!(lab.members("admins"), names(&["alice"]), "[{b}]");

        lab.modify(REMOVE_BOB);
        assert_eq!(
            lab.sync(),
            "created=0 updated=0 deactivated=1 reactivated=0"
        );
        assert_eq!(lab.members("staff"), names(&["alice", "erin"]), "[{b}]");
        assert_eq!(lab.state("erin"), "active", "[{b}]");
        assert_eq!(
            lab.users()["erin"]["externalId"],
            json!("okta-erin"),
            "[{b}]"
        );
    });
}

/// A run that can't read the directory: non-zero exit, the error on stderr (never the
/// password), nothing on stdout, nothing changed, and a failed run recorded.
#[track_caller]
fn fails_changing_nothing(lab: &Lab, ran: &Ran, needle: &str, before: &(usize, String)) {
    let b = lab.backend;
    assert!(!ran.ok, "[{b}] succeeded: {}", ran.stdout);
    assert!(ran.stdout.trim().is_empty(), "[{b}] {}", ran.stdout);
    assert!(
        ran.stderr.contains(needle),
        "[{b}] {needle:?} not in {}",
        ran.stderr
    );
    for secret in [lab.dir.password.as_str(), "not-the-password"] {
        assert!(!ran.stderr.contains(secret), "[{b}] {}", ran.stderr);
    }
    let now = (lab.log().len(), format!("{:?}", lab.users()));
    assert_eq!(&now, before, "[{b}] something changed after {needle:?}");
    let run = &lab.runs()[0];
    assert_eq!(run.status, RunStatus::Failed, "[{b}] {run:?}");
    assert!(
        run.error.as_deref().is_some_and(|e| e.contains(needle)),
        "[{b}] {run:?}"
    );
}

#[test]
fn a_directory_that_cannot_be_read_changes_nothing() {
    each_backend(|lab| {
        let b = lab.backend;
        // Plain LDAP must be asked for.
        let refused = lab.configure_source(&lab.dir.url.clone(), &[], &[]);
        assert!(
            !refused.ok && refused.stderr.contains("starttls"),
            "[{b}] {}",
            refused.stderr
        );
        lab.configure(&[]);
        lab.sync();
        // From here a successful run would deactivate bob.
        lab.modify(REMOVE_BOB);
        let before = (lab.log().len(), format!("{:?}", lab.users()));

        let wrong = [(PASSWORD_VAR, Some("not-the-password"))];
        let ran = lab.cli_env(&SYNC, &wrong);
        fails_changing_nothing(lab, &ran, "refused the bind", &before);
        let ran = lab.cli_env(&SYNC, &[(PASSWORD_VAR, None)]);
        fails_changing_nothing(lab, &ran, PASSWORD_VAR, &before);

        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let url = format!("ldap://127.0.0.1:{closed}");
        assert!(lab.configure_source(&url, &[], &["--allow-plaintext"]).ok);
        fails_changing_nothing(lab, &lab.cli(&SYNC), "cannot reach", &before);

        // StartTLS to a server whose certificate isn't trusted here fails before the bind.
        let url = lab.dir.url.clone();
        assert!(lab.configure_source(&url, &[], &["--starttls"]).ok);
        fails_changing_nothing(lab, &lab.cli(&SYNC), "cannot reach", &before);

        // A mapped group the directory doesn't have is a partial answer, not an empty group.
        let ghosts = lab.dn("cn=ghosts,ou=groups");
        let ran = lab.configure_source(&url, &[ghosts], &["--allow-plaintext"]);
        assert!(ran.ok, "[{b}] {}", ran.stderr);
        fails_changing_nothing(lab, &lab.cli(&SYNC), "cn=ghosts", &before);

        lab.configure(&[]);
        assert_eq!(
            lab.sync(),
            "created=0 updated=0 deactivated=1 reactivated=0"
        );
        let failed = lab
            .runs()
            .iter()
            .filter(|r| r.status == RunStatus::Failed)
            .count();
        assert_eq!(failed, 5, "[{b}]");
    });
}

#[test]
fn serve_synchronizes_every_interval() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.configure(&["--interval", "2"]);
        lab.serve();
        let scheduled = |lab: &Lab| {
            lab.runs()
                .into_iter()
                .filter(|r| r.started_by == "schedule" && r.status == RunStatus::Succeeded)
                .count()
        };
        let first = lab.wait_for(Duration::from_secs(30), || scheduled(lab) >= 1);
        assert!(first, "[{b}] no scheduled run: {:?}", lab.runs());
        let (status, body) = lab.get("/Users?filter=externalId%20sw%20%22ldap%3A%22");
        assert_eq!(
            (status, body["totalResults"].clone()),
            (200, json!(3)),
            "[{b}] {body}"
        );

        // The directory changes; a later scheduled run picks it up with no command.
        lab.modify(REMOVE_BOB);
        // The run commits bob's change before it records itself as succeeded (a second
        // write), so wait for both.
        let left = lab.wait_for(Duration::from_secs(30), || {
            lab.state("bob") == "pending_deactivation" && scheduled(lab) >= 2
        });
        assert!(
            left,
            "[{b}] bob is {}; runs {:?}",
            lab.state("bob"),
            lab.runs()
        );
        let runs = lab.runs();
        assert!(scheduled(lab) >= 2, "[{b}] {runs:?}");
        // Runs follow the interval (2 s), not the scheduler's wake-ups.
        let starts: Vec<_> = runs.iter().map(|r| r.started_at).collect();
        for pair in starts.windows(2) {
            let gap = pair[0] - pair[1];
            assert!(
                gap >= chrono::TimeDelta::milliseconds(1900),
                "[{b}] {runs:?}"
            );
        }
    });
}

#[test]
fn a_tenant_is_synchronized_by_one_process_at_a_time() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.configure(&[]);
        let t = lab.tenant.clone();
        let now = chrono::Utc::now().naive_utc();
        if b == "postgres" {
            // Another instance holds the tenant's lock.
            let other = Store::open(
                &lab.db.url,
                StoreOptions {
                    pool_size: 1,
                    ..StoreOptions::default()
                },
            )
            .expect("second store");
            let held = other.read(|c| ldap_runs::try_lock(c, &t)).expect("lock");
            assert!(held, "[{b}] the lock was free");
            let ran = lab.cli(&SYNC);
            assert!(
                !ran.ok && ran.stderr.contains("another synchronization"),
                "[{b}] {}",
                ran.stderr
            );
            drop(other);
            // A run left `running` by a dead instance doesn't block; it is marked abandoned.
            let dead = lab
                .db
                .store
                .write(move |c| ldap_runs::start(c, &t, "schedule", now))
                .expect("dead run");
            assert_eq!(
                lab.sync(),
                "created=3 updated=0 deactivated=0 reactivated=0"
            );
            let runs = lab.runs();
            let dead = runs.iter().find(|r| r.id == dead).expect("dead run");
            assert_eq!(dead.status, RunStatus::Failed, "[{b}] {dead:?}");
            assert!(
                dead.error
                    .as_deref()
                    .is_some_and(|e| e.contains("abandoned"))
            );
        } else {
            // Another process (a server beside the CLI) is running a sync right now.
            let (t2, t3) = (t.clone(), t.clone());
            let running = lab
                .db
                .store
                .write(move |c| ldap_runs::start(c, &t2, "schedule", now))
                .expect("running run");
            let ran = lab.cli(&SYNC);
            assert!(
                !ran.ok && ran.stderr.contains("another synchronization"),
                "[{b}] {}",
                ran.stderr
            );
            assert!(lab.users().is_empty(), "[{b}]");
            let end = ldap_runs::RunEnd {
                status: RunStatus::Succeeded,
                at: now,
                counts: ldap_runs::RunCounts::default(),
                error: None,
                warnings: vec![],
            };
            lab.db
                .store
                .write(move |c| ldap_runs::finish(c, &t3, running, &end))
                .expect("finish");
            assert_eq!(
                lab.sync(),
                "created=3 updated=0 deactivated=0 reactivated=0"
            );
        }
    });
}

#[test]
fn user_names_can_be_emails_and_an_entry_without_one_is_kept_as_it_was() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.configure(&["--user-name-attribute", "mail"]);
        assert_eq!(
            lab.sync(),
            "created=3 updated=0 deactivated=0 reactivated=0"
        );
        let found: Vec<String> = lab.users().into_keys().collect();
        let want = ["alice@example.org", "bob@example.org", "carol@example.org"];
        assert_eq!(found, want, "[{b}]");

        // carol's entry loses its mail: skipped with a warning, not deactivated.
        lab.modify("dn: uid=carol,ou=people,{base}\nchangetype: modify\ndelete: mail\n");
        let ran = lab.cli(&SYNC);
        assert!(ran.ok, "[{b}] {}", ran.stderr);
        assert_eq!(ran.stdout.trim(), NOTHING, "[{b}]");
        assert!(
            ran.stderr.contains("no mail attribute"),
            "[{b}] {}",
            ran.stderr
        );
        assert_eq!(lab.state("carol@example.org"), "active", "[{b}]");
        assert_eq!(lab.runs()[0].warnings.len(), 1, "[{b}]");
        assert_eq!(
            lab.members("admins"),
            names(&["alice@example.org", "carol@example.org"])
        );

        // Her mail back under another address: the same user, renamed.
        let id = lab.id_of("carol@example.org");
        lab.modify(
            "dn: uid=carol,ou=people,{base}\nchangetype: modify\nadd: mail\n\
             mail: c.jones@example.org\n",
        );
        assert_eq!(
            lab.sync(),
            "created=0 updated=1 deactivated=0 reactivated=0"
        );
        assert_eq!(lab.id_of("c.jones@example.org"), id, "[{b}]");
    });
}

#[test]
fn ldaps_and_starttls_verify_the_directory_certificate() {
    each_backend(|lab| {
        let b = lab.backend;
        let Some((ldaps, ca)) = lab.dir.tls.clone() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI without SCIM_TEST_LDAPS_URL"
            );
            eprintln!("note: SCIM_TEST_LDAPS_URL is not set; TLS scenario skipped");
            return;
        };
        // Encrypted: no --allow-plaintext needed.
        let ran = lab.configure_source(&ldaps, &[], &[]);
        assert!(ran.ok, "[{b}] {}", ran.stderr);
        // The test CA is not among the system's trusted CAs: refused, nothing changed.
        let ran = lab.cli(&SYNC);
        assert!(
            !ran.ok && ran.stderr.contains("invalid peer certificate"),
            "[{b}] {}",
            ran.stderr
        );
        assert!(lab.users().is_empty(), "[{b}]");
        assert_eq!(lab.runs()[0].status, RunStatus::Failed, "[{b}]");

        let trusted = [
            (PASSWORD_VAR, Some(lab.dir.password.as_str())),
            ("SSL_CERT_FILE", Some(ca.as_str())),
        ];
        let ran = lab.cli_env(&SYNC, &trusted);
        assert!(ran.ok, "[{b}] {}", ran.stderr);
        assert_eq!(
            ran.stdout.trim(),
            "created=3 updated=0 deactivated=0 reactivated=0"
        );

        // StartTLS on the plain port, by a name the certificate carries.
        let starttls = lab.dir.url.replace("127.0.0.1", "localhost");
        let ran = lab.configure_source(&starttls, &[], &["--starttls"]);
        assert!(ran.ok, "[{b}] {}", ran.stderr);
        lab.modify(REMOVE_BOB);
        let ran = lab.cli_env(&SYNC, &trusted);
        assert!(ran.ok, "[{b}] {}", ran.stderr);
        assert_eq!(
            ran.stdout.trim(),
            "created=0 updated=0 deactivated=1 reactivated=0"
        );
    });
}
