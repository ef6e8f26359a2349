//! Organizations, roles and admin tiers (issue #6) against the real binary, on SQLite and
//! (when `SCIM_TEST_PG_URL` is set) PostgreSQL: tenant settings written through the store,
//! SCIM group pushes over loopback HTTP, and what they leave in the database (stored
//! entitlements, organizations, sync log, outbox events, lifecycle state), plus
//! `scim-server apply-mappings` after a mapping change.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly, with the state that broke them"
)]

#[path = "black_box/common/mod.rs"]
#[expect(dead_code, reason = "the shared harness; this file uses part of it")]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{Server, each_backend, id_of, urn, user_body};
use scim_core::policy::{AdminTier, Entitlements};
use scim_store::settings::{AdminTiers, OrgMapping, RoleMapping, TenantSettings};
use scim_store::sync_log::{self, LogEntry, LogQuery};
use scim_store::{Actor, TenantId, entitlements, outbox, tenants};
use serde_json::{Value, json};

const ENTERPRISE_ORG: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization";

fn tenant_id(s: &Server) -> TenantId {
    s.store()
        .read(|c| tenants::by_name(c, "acme"))
        .expect("read tenant")
        .expect("tenant acme")
        .id
}

/// Changes the default tenant's settings the way the admin API does (validated, stored).
fn configure(s: &Server, edit: impl FnOnce(&mut TenantSettings)) {
    let t = tenant_id(s);
    let mut settings = s
        .store()
        .read(|c| tenants::settings(c, &t))
        .expect("read settings");
    edit(&mut settings);
    s.store()
        .write(move |c| tenants::update_settings(c, &t, &settings))
        .expect("store settings");
}

fn roles(names: &[&str]) -> Vec<String> {
    names.iter().map(|r| (*r).to_string()).collect()
}

fn role_mapping(group: &str, names: &[&str]) -> RoleMapping {
    RoleMapping {
        group: group.to_string(),
        roles: roles(names),
    }
}

/// The user's stored entitlements.
#[track_caller]
fn stored(s: &Server, user: &str) -> Entitlements {
    let t = tenant_id(s);
    s.store()
        .read(|c| entitlements::get(c, &t, user))
        .expect("read entitlements")
        .unwrap_or_else(|| panic!("[{}] no entitlements stored for {user}", s.backend))
}

fn expect(org: &str, role_names: &[&str], tier: AdminTier, mapped: bool) -> Entitlements {
    Entitlements {
        organization: org.to_string(),
        organization_created: false,
        roles: role_names.iter().map(|r| (*r).to_string()).collect(),
        admin_tier: tier,
        mapped,
    }
}

/// Events written since the last call (claimed and marked delivered, so each is seen once),
/// as `(user id, payload)`.
fn take_events(s: &Server) -> Vec<(String, Value)> {
    let now = chrono::Utc::now().naive_utc();
    let events = s
        .store()
        .write(move |c| {
            let events = outbox::claim(c, "test", now, Duration::from_secs(3600), 10_000)?;
            let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
            outbox::mark_delivered(c, &ids, now)?;
            Ok(events)
        })
        .expect("claim events");
    events
        .into_iter()
        .map(|e| (e.user_id.unwrap_or_default(), e.payload))
        .collect()
}

/// The kinds of `user`'s events among `events`, in order.
fn kinds_of(events: &[(String, Value)], user: &str) -> Vec<String> {
    events
        .iter()
        .filter(|(u, _)| u == user)
        .map(|(_, p)| p["kind"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// Every sync-log entry of the tenant with this action, oldest first.
fn log_of(s: &Server, action: &str) -> Vec<LogEntry> {
    let t = tenant_id(s);
    let q = LogQuery {
        action: Some(action.to_string()),
        limit: sync_log::MAX_PAGE,
        ..LogQuery::default()
    };
    let mut entries = s
        .store()
        .read(|c| sync_log::query(c, &t, &q))
        .expect("query sync log")
        .entries;
    entries.reverse();
    entries
}

fn create_group(s: &Server, name: &str, members: &[&str]) -> String {
    id_of(&s.create_group(name, members))
}

fn patch_members(s: &Server, group: &str, op: &str, user: &str) {
    let ops = match op {
        "add" => json!([{"op": "add", "path": "members", "value": [{"value": user}]}]),
        _ => json!([{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]),
    };
    let r = s.patch(&format!("/Groups/{group}"), &ops);
    assert!(
        r.status == 200 || r.status == 204,
        "[{}] PATCH {op} {user}: {r:?}",
        s.backend
    );
}

fn user_state(s: &Server, user: &str) -> String {
    s.cli_ok(&["user", "state", "--tenant", "acme", user])
}

#[test]
fn group_pushes_move_roles_tiers_and_organizations() {
    each_backend(|s| {
        configure(s, |t| {
            t.org_mapping = OrgMapping::Group {
                map: BTreeMap::from([("Sales".to_string(), "Acme Sales".to_string())]),
            };
            t.role_mappings = vec![
                role_mapping("Engineers", &["developer", "viewer"]),
                role_mapping("Sales", &["seller"]),
            ];
            t.default_roles = BTreeMap::from([("Default".to_string(), roles(&["basic"]))]);
            t.admin_tiers = AdminTiers {
                domain_admin_groups: roles(&["Domain Admins"]),
                org_admin_groups: roles(&["Org Admins"]),
            };
        });
        let alice = id_of(&s.create_user("alice@example.com"));
        let bob = id_of(&s.create_user("bob@example.com"));
        // Created: the default organization and its default roles, recorded.
        assert_eq!(
            stored(s, &alice),
            expect("Default", &["basic"], AdminTier::None, false)
        );
        // One entry per created user: its create entry says what it was given.
        let created = log_of(s, "create");
        let e = created
            .iter()
            .find(|e| e.resource_id == alice)
            .expect("alice's create logged");
        assert_eq!(e.actor, Actor::Provider);
        // The first user also created the default organization.
        assert_eq!(
            e.detail["entitlements"]["organization"],
            json!({"from": null, "to": "Default", "created": true})
        );
        assert_eq!(e.detail["entitlements"]["roles"]["added"], json!(["basic"]));
        let bob_created = created.iter().find(|e| e.resource_id == bob).expect("bob");
        assert_eq!(
            bob_created.detail["entitlements"]["organization"],
            json!({"from": null, "to": "Default"})
        );
        assert!(
            log_of(s, "entitlements").is_empty(),
            "a create is one entry, not a create and an entitlements entry"
        );
        assert!(
            created
                .iter()
                .any(|e| e.resource_type == "Organization" && e.resource_id == "Default"),
            "the organization alice's create made is its own entry"
        );
        take_events(s);

        // Role mapping: the group's roles replace the default roles.
        let engineers = create_group(s, "Engineers", &[&alice]);
        assert_eq!(
            stored(s, &alice),
            expect("Default", &["developer", "viewer"], AdminTier::None, true)
        );
        // Organization by group (created when first used, and logged).
        create_group(s, "Sales", &[&bob]);
        assert_eq!(
            stored(s, &bob),
            expect("Acme Sales", &["seller"], AdminTier::None, true)
        );
        let t = tenant_id(s);
        let orgs = s
            .store()
            .read(|c| entitlements::organizations(c, &t))
            .expect("organizations");
        assert!(orgs.contains("Acme Sales"), "{orgs:?}");
        assert!(
            log_of(s, "create")
                .iter()
                .any(|e| e.resource_type == "Organization" && e.resource_id == "Acme Sales"),
            "organization creation not logged"
        );

        // Names match case-sensitively: "org admins" is not "Org Admins" ...
        let org_admins = create_group(s, "org admins", &[&bob]);
        assert_eq!(stored(s, &bob).admin_tier, AdminTier::None);
        // ... until the provider renames it, which moves every member.
        let r = s.patch(
            &format!("/Groups/{org_admins}"),
            &json!([{"op": "replace", "path": "displayName", "value": "Org Admins"}]),
        );
        assert!(r.status == 200 || r.status == 204, "rename: {r:?}");
        assert_eq!(
            stored(s, &bob),
            expect("Acme Sales", &["seller"], AdminTier::OrgAdmin, true),
            "an Org Admin keeps the roles of basic groups"
        );

        // Domain Admin precedence: only a Domain Admin, no Org Admin tier, no basic roles.
        patch_members(s, &org_admins, "add", &alice);
        let domain_admins = create_group(s, "Domain Admins", &[&alice]);
        assert_eq!(
            stored(s, &alice),
            expect("Default", &[], AdminTier::DomainAdmin, true)
        );
        take_events(s);

        // Leaving the Domain Admin group drops the tier: privileges.decreased, once.
        patch_members(s, &domain_admins, "remove", &alice);
        assert_eq!(
            stored(s, &alice),
            expect(
                "Default",
                &["developer", "viewer"],
                AdminTier::OrgAdmin,
                true
            )
        );
        let events = take_events(s);
        assert_eq!(kinds_of(&events, &alice), ["privileges.decreased"]);
        let (_, payload) = events
            .iter()
            .find(|(u, _)| *u == alice)
            .expect("alice's event");
        assert_eq!(payload["from"], "domain_admin");
        assert_eq!(payload["to"], "org_admin");
        let logged = log_of(s, "entitlements");
        let last = logged
            .iter()
            .rev()
            .find(|e| e.resource_id == alice)
            .expect("entitlements change logged");
        assert_eq!(
            last.detail["admin_tier"],
            json!({"from": "domain_admin", "to": "org_admin"})
        );

        // Pushing a group no mapping names changes nothing and records nothing.
        let before = log_of(s, "entitlements").len();
        create_group(s, "Book Club", &[&alice, &bob]);
        assert_eq!(log_of(s, "entitlements").len(), before);

        // Deleting a mapped group recomputes its members.
        let r = s.delete(&format!("/Groups/{engineers}"));
        assert_eq!(r.status, 204, "{r:?}");
        assert_eq!(
            stored(s, &alice),
            expect("Default", &["basic"], AdminTier::OrgAdmin, true)
        );
    });
}

/// A group pushed with many members (past the count that looks organizations up one by one)
/// and one with a few place everyone in the group's organization, which is created once.
#[test]
fn a_group_of_many_members_and_one_of_few_create_their_organization_once() {
    each_backend(|s| {
        configure(s, |t| {
            t.org_mapping = OrgMapping::Group {
                map: BTreeMap::from([
                    ("Sales".to_string(), "Acme Sales".to_string()),
                    ("Support".to_string(), "Acme Support".to_string()),
                ]),
            };
        });
        let many: Vec<String> = (0..20)
            .map(|i| id_of(&s.create_user(&format!("many{i}@example.com"))))
            .collect();
        let few: Vec<String> = (0..2)
            .map(|i| id_of(&s.create_user(&format!("few{i}@example.com"))))
            .collect();
        let many_refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let few_refs: Vec<&str> = few.iter().map(String::as_str).collect();
        create_group(s, "Sales", &many_refs);
        create_group(s, "Support", &few_refs);
        for (ids, org) in [(&many, "Acme Sales"), (&few, "Acme Support")] {
            for id in ids {
                assert_eq!(stored(s, id).organization, org, "[{}] {id}", s.backend);
            }
            let created = log_of(s, "create")
                .iter()
                .filter(|e| e.resource_type == "Organization" && e.resource_id == org)
                .count();
            assert_eq!(created, 1, "[{}] {org} created {created} times", s.backend);
        }
    });
}

#[test]
fn losing_the_last_mapped_group_revokes_access() {
    each_backend(|s| {
        // No default roles: a user in no role-mapped group has no access at all.
        configure(s, |t| {
            t.role_mappings = vec![role_mapping("Engineers", &["developer"])];
        });
        let carol = id_of(&s.create_user("carol@example.com"));
        let dave = id_of(&s.create_user("dave@example.com"));
        let erin = id_of(&s.create_user("erin@example.com"));
        let group = create_group(s, "Engineers", &[&carol, &dave, &erin]);
        for u in [&carol, &dave, &erin] {
            assert_eq!(
                stored(s, u),
                expect("Default", &["developer"], AdminTier::None, true)
            );
        }
        take_events(s);

        // PATCH remove by filter.
        patch_members(s, &group, "remove", &carol);
        assert_eq!(
            stored(s, &carol),
            expect("Default", &[], AdminTier::None, false)
        );
        let events = take_events(s);
        assert_eq!(kinds_of(&events, &carol), ["access.revoked"]);
        assert!(kinds_of(&events, &dave).is_empty(), "{events:?}");
        let revoked = events
            .iter()
            .find(|(u, _)| *u == carol)
            .map(|(_, p)| p.clone())
            .expect("event");
        assert_eq!(revoked["cause"], "no_entitlements");

        // PUT with a shorter member list: only who left is revoked.
        let r = s.put(
            &format!("/Groups/{group}"),
            &json!({"schemas": [urn::GROUP], "displayName": "Engineers",
                    "members": [{"value": erin}]}),
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert!(!stored(s, &dave).has_access());
        assert!(stored(s, &erin).has_access());
        let events = take_events(s);
        assert_eq!(kinds_of(&events, &dave), ["access.revoked"]);
        assert!(kinds_of(&events, &erin).is_empty(), "{events:?}");

        // PATCH replace of the whole membership (Entra's form).
        let r = s.patch(
            &format!("/Groups/{group}"),
            &json!([{"op": "replace", "path": "members", "value": [{"value": carol}]}]),
        );
        assert!(r.status == 200 || r.status == 204, "{r:?}");
        assert!(stored(s, &carol).has_access());
        assert!(!stored(s, &erin).has_access());
        let events = take_events(s);
        assert_eq!(kinds_of(&events, &erin), ["access.revoked"]);
        assert!(kinds_of(&events, &carol).is_empty(), "{events:?}");
    });
}

#[test]
fn organization_from_an_attribute_is_created_when_missing() {
    each_backend(|s| {
        configure(s, |t| {
            t.org_mapping = OrgMapping::Attribute {
                path: ENTERPRISE_ORG.to_string(),
                create_missing: true,
            };
        });
        let with_org = |name: &str, org: &str| {
            let mut body = user_body(name);
            body["schemas"] = json!([urn::USER, urn::ENTERPRISE]);
            body[urn::ENTERPRISE] = json!({"organization": org});
            let r = s.post("/Users", &body);
            assert_eq!(r.status, 201, "[{}] {r:?}", s.backend);
            id_of(&r.json())
        };
        let frank = with_org("frank@example.com", "Globex");
        let gina = with_org("gina@example.com", "Globex");
        let plain = id_of(&s.create_user("hank@example.com"));
        assert_eq!(stored(s, &frank).organization, "Globex");
        assert_eq!(stored(s, &gina).organization, "Globex");
        assert_eq!(stored(s, &plain).organization, "Default");
        let t = tenant_id(s);
        let orgs = s
            .store()
            .read(|c| entitlements::organizations(c, &t))
            .expect("organizations");
        assert!(orgs.contains("Globex"), "{orgs:?}");
        let created: Vec<LogEntry> = log_of(s, "create")
            .into_iter()
            .filter(|e| e.resource_type == "Organization" && e.resource_id == "Globex")
            .collect();
        assert_eq!(created.len(), 1, "created once: {created:?}");
        assert_eq!(created[0].detail["namedBy"], json!(frank));

        // A profile change that names another organization moves the user at once.
        let r = s.patch(
            &format!("/Users/{gina}"),
            &json!([{"op": "Replace", "path": format!("{}:organization", urn::ENTERPRISE), "value": "Initech"}]),
        );
        assert_eq!(r.status, 200, "[{}] {r:?}", s.backend);
        assert_eq!(stored(s, &gina).organization, "Initech", "[{}]", s.backend);
        assert_eq!(stored(s, &frank).organization, "Globex", "[{}]", s.backend);
    });
}

#[test]
fn apply_mappings_moves_everyone_only_when_run() {
    each_backend(|s| {
        configure(s, |t| {
            t.role_mappings = vec![role_mapping("Engineers", &["developer"])];
        });
        let u1 = id_of(&s.create_user("ivy@example.com"));
        let u2 = id_of(&s.create_user("jack@example.com"));
        let mut body = user_body("kate@example.com");
        body["schemas"] = json!([urn::USER, urn::ENTERPRISE]);
        body[urn::ENTERPRISE] = json!({"organization": "Initech"});
        let r = s.post("/Users", &body);
        assert_eq!(r.status, 201, "{r:?}");
        let u3 = id_of(&r.json());
        create_group(s, "Engineers", &[&u1, &u2]);
        let dev = expect("Default", &["developer"], AdminTier::None, true);
        assert_eq!(stored(s, &u1), dev);

        // Edit the mappings: nobody moves.
        configure(s, |t| {
            t.role_mappings = vec![role_mapping("Engineers", &["architect"])];
            t.org_mapping = OrgMapping::Attribute {
                path: ENTERPRISE_ORG.to_string(),
                create_missing: true,
            };
        });
        assert_eq!(stored(s, &u1), dev);
        assert_eq!(stored(s, &u3).organization, "Default");

        let out = s.cli_ok(&["apply-mappings", "--tenant", "acme"]);
        assert_eq!(
            out, "users_examined=3 users_changed=3 organizations_created=1",
            "[{}]",
            s.backend
        );
        let arch = expect("Default", &["architect"], AdminTier::None, true);
        assert_eq!(stored(s, &u1), arch);
        assert_eq!(stored(s, &u2), arch);
        assert_eq!(stored(s, &u3).organization, "Initech");

        // Each change is in the sync log, as an administrator's, with what changed.
        let log = s.cli_ok(&["sync-log", "--tenant", "acme", "--user", &u1]);
        let line = log
            .lines()
            .find(|l| l.contains("\tadmin\tentitlements\t"))
            .unwrap_or_else(|| panic!("no admin entitlements entry for {u1}:\n{log}"));
        assert!(
            line.contains("architect") && line.contains("developer"),
            "{line}"
        );
        let summary = log_of(s, "apply_mappings");
        assert_eq!(summary.len(), 1, "{summary:?}");
        assert_eq!(summary[0].actor, Actor::Admin);
        assert_eq!(summary[0].detail["users_changed"], 3);

        // Run again: nothing left to change, nothing logged per user.
        let before = log_of(s, "entitlements").len();
        let out = s.cli_ok(&["apply-mappings", "--tenant", "acme"]);
        assert_eq!(
            out,
            "users_examined=3 users_changed=0 organizations_created=0"
        );
        assert_eq!(log_of(s, "entitlements").len(), before);

        // An unknown tenant is a clear error.
        let bad = s.cli(&["apply-mappings", "--tenant", "nope"]);
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("no tenant named"));
    });
}

#[test]
fn unmapped_users_are_deactivated_through_the_delay_and_return() {
    each_backend(|s| {
        configure(s, |t| {
            t.deactivate_unmapped = true;
            t.deactivation_delay_secs = 3600;
            t.role_mappings = vec![role_mapping("Engineers", &["developer"])];
        });
        let liam = id_of(&s.create_user("liam@example.com"));
        // Created in no mapped group: scheduled like any other unmapped user.
        assert_eq!(user_state(s, &liam), "pending_deactivation");
        let group = create_group(s, "Engineers", &[&liam]);
        assert_eq!(user_state(s, &liam), "active");
        assert!(stored(s, &liam).mapped);
        take_events(s);

        // Leaving the last mapped group: deactivation scheduled after the delay, access
        // revoked once.
        patch_members(s, &group, "remove", &liam);
        assert_eq!(user_state(s, &liam), "pending_deactivation");
        assert!(!stored(s, &liam).mapped);
        let events = take_events(s);
        let kinds = kinds_of(&events, &liam);
        assert!(
            kinds.contains(&"user.deactivation_scheduled".to_string()),
            "{kinds:?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| *k == "access.revoked").count(),
            1,
            "{kinds:?}"
        );
        let scheduled = log_of(s, "schedule_deactivation");
        assert!(
            scheduled.iter().any(|e| e.resource_id == liam),
            "{scheduled:?}"
        );
        let r = s.get(&format!("/Users/{liam}"));
        assert_eq!(
            r.json()["active"],
            json!(true),
            "the provider still has it active"
        );

        // Returning before the due time cancels the deactivation.
        patch_members(s, &group, "add", &liam);
        assert_eq!(user_state(s, &liam), "active");
        let kinds = kinds_of(&take_events(s), &liam);
        assert!(kinds.contains(&"user.reactivated".to_string()), "{kinds:?}");
        let unique: BTreeSet<&String> = kinds.iter().collect();
        assert_eq!(unique.len(), kinds.len(), "{kinds:?}");
    });
}
