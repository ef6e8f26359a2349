//! Just-in-time provisioning at SAML login (issue #7) through the admin API of the real
//! binary over loopback HTTP, on SQLite and (when `SCIM_TEST_PG_URL` is set) PostgreSQL:
//! creation with mapped groups and roles, `endOtherSessions` on repeated and changed logins,
//! the group prefix, the profile option, refusals (no mapped group, with and without
//! deactivation; disabled users never re-enabled; local accounts never taken over), and the
//! sync log's actor `jit`.

#![expect(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

#[path = "admin/harness.rs"]
#[expect(dead_code, reason = "the shared harness; this file uses part of it")]
mod harness;

use harness::{Lab, each_backend, page_all, state_of};
use serde_json::{Value, json};

const JIT: &str = "/admin/v1/tenants/acme/jit-login";
const SETTINGS: &str = "/admin/v1/tenants/acme/settings";

/// Changes tenant `acme`'s settings through the admin API.
fn configure(lab: &Lab, change: impl FnOnce(&mut Value)) {
    let mut s = lab.admin("GET", SETTINGS, None).json();
    change(&mut s);
    let put = lab.admin("PUT", SETTINGS, Some(s));
    assert_eq!(put.status, 200, "{put:?}");
}

/// Engineers and Viewers give roles, Leads the Organization Admin tier.
fn mappings(s: &mut Value) {
    s["role_mappings"] = json!([
        {"group": "Divvy Engineers", "roles": ["developer"]},
        {"group": "Divvy Viewers", "roles": ["viewer"]},
        {"group": "Engineers", "roles": ["engineer"]},
    ]);
    s["admin_tiers"] = json!({"domain_admin_groups": [], "org_admin_groups": ["Divvy Leads"]});
}

fn assertion(name_id: &str, first: &str, groups: &[&str]) -> Value {
    json!({"nameId": name_id, "email": name_id, "firstName": first, "lastName": "Lima",
           "groups": groups})
}

fn login(lab: &Lab, body: Value) -> harness::Resp {
    lab.admin("POST", JIT, Some(body))
}

fn accepted(lab: &Lab, body: Value) -> Value {
    let r = login(lab, body);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.content_type().starts_with("application/json"), "{r:?}");
    r.json()
}

fn refused(lab: &Lab, body: Value) -> Value {
    let r = login(lab, body);
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.json()["status"], "403", "{r:?}");
    r.json()
}

/// The user's SCIM document.
fn user(lab: &Lab, id: &str) -> Value {
    let r = lab.scim_call("GET", &format!("/scim/v2/Users/{id}"), None);
    assert_eq!(r.status, 200, "{r:?}");
    r.json()
}

/// The displayNames of the user's direct groups, sorted.
fn groups_of(lab: &Lab, id: &str) -> Vec<String> {
    let mut names: Vec<String> = user(lab, id)["groups"]
        .as_array()
        .map(|g| {
            g.iter()
                .map(|x| x["display"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn users_named(lab: &Lab, name: &str) -> u64 {
    let path = format!("/scim/v2/Users?filter=userName%20eq%20%22{name}%22");
    lab.scim_call("GET", &path, None).json()["totalResults"]
        .as_u64()
        .unwrap()
}

#[test]
fn logins_create_update_and_say_when_sessions_end() {
    each_backend(|lab| {
        configure(lab, mappings);
        let first = accepted(
            lab,
            assertion("ana@example.com", "Ana", &["Divvy Engineers", "Unrelated"]),
        );
        assert_eq!(first["created"], true, "{first}");
        assert_eq!(first["endOtherSessions"], false, "{first}");
        assert_eq!(
            first["entitlements"],
            json!({"organization": "Default", "roles": ["developer"], "adminTier": "none"})
        );
        let id = first["userId"].as_str().unwrap().to_string();
        let doc = user(lab, &id);
        assert_eq!(doc["userName"], "ana@example.com");
        assert_eq!(doc["externalId"], "jit:ana@example.com");
        assert_eq!(doc["name"]["givenName"], "Ana");
        assert_eq!(doc["emails"][0]["value"], "ana@example.com");
        assert_eq!(doc["active"], true);
        // The mapped group was created; the unmapped value created nothing.
        assert_eq!(groups_of(lab, &id), vec!["Divvy Engineers"]);
        let unrelated = "/scim/v2/Groups?filter=displayName%20eq%20%22Unrelated%22";
        assert_eq!(
            lab.scim_call("GET", unrelated, None).json()["totalResults"],
            0
        );

        // The same groups again: nothing to end. A new first name is taken (option on).
        let again = accepted(
            lab,
            assertion("ana@example.com", "Anna", &["Divvy Engineers"]),
        );
        assert_eq!(
            (again["created"].clone(), again["endOtherSessions"].clone()),
            (json!(false), json!(false)),
            "{again}"
        );
        assert_eq!(again["userId"], id.as_str());
        assert_eq!(user(lab, &id)["name"]["givenName"], "Anna");

        // Other groups: membership and entitlements move, other sessions must end.
        let moved = accepted(
            lab,
            assertion("ana@example.com", "Anna", &["Divvy Viewers", "Divvy Leads"]),
        );
        assert_eq!(moved["endOtherSessions"], true, "{moved}");
        assert_eq!(moved["entitlements"]["roles"], json!(["viewer"]));
        assert_eq!(moved["entitlements"]["adminTier"], "org_admin");
        assert_eq!(groups_of(lab, &id), vec!["Divvy Leads", "Divvy Viewers"]);
        let stored = lab.admin(
            "GET",
            &format!("/admin/v1/tenants/acme/users/{id}/entitlements"),
            None,
        );
        assert_eq!(stored.json()["roles"], json!(["viewer"]), "{stored:?}");

        // Every change of these logins is JIT's.
        let entries = page_all(lab, &format!("user={id}"));
        assert!(!entries.is_empty());
        for e in &entries {
            assert_eq!(e["actor"], "jit", "{e}");
        }
        let actions: Vec<&str> = entries
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(actions.contains(&"create"), "{actions:?}");
        assert!(actions.contains(&"update"), "{actions:?}");
        let group_changes = page_all(lab, "actor=jit&action=update");
        assert!(
            group_changes.iter().any(|e| e["resourceType"] == "Group"),
            "{group_changes:?}"
        );

        // An empty NameID: the email is the userName. Neither: 400. Unknown tenant: 404.
        let mut by_mail = assertion("", "Bo", &["Divvy Viewers"]);
        by_mail["email"] = json!("bo@example.com");
        let bo = accepted(lab, by_mail);
        assert_eq!(
            user(lab, bo["userId"].as_str().unwrap())["userName"],
            "bo@example.com"
        );
        let none = login(lab, json!({"nameId": " ", "groups": ["Divvy Viewers"]}));
        assert_eq!(none.status, 400, "{none:?}");
        let junk = login(lab, json!({"nameId": "x@example.com", "role": "admin"}));
        assert_eq!(junk.status, 400, "{junk:?}");
        let nope = lab.admin(
            "POST",
            "/admin/v1/tenants/nope/jit-login",
            Some(assertion("ana@example.com", "Ana", &["Divvy Viewers"])),
        );
        assert_eq!(nope.status, 404, "{nope:?}");
    });
}

#[test]
fn the_prefix_filters_groups_and_the_profile_option_holds() {
    each_backend(|lab| {
        configure(lab, |s| {
            mappings(s);
            s["jit"] = json!({"group_prefix": "Divvy", "update_profile_at_login": false});
        });
        // `Engineers` is mapped but lacks the prefix: not considered, so no mapped group.
        let r = refused(lab, assertion("cy@example.com", "Cy", &["Engineers"]));
        assert!(
            r["detail"].as_str().unwrap().contains("no mapped group"),
            "{r}"
        );
        assert_eq!(
            users_named(lab, "cy@example.com"),
            0,
            "a refused login creates nothing"
        );

        let first = accepted(
            lab,
            assertion("cy@example.com", "Cy", &["Engineers", "Divvy Engineers"]),
        );
        assert_eq!(
            first["entitlements"]["roles"],
            json!(["developer"]),
            "{first}"
        );
        let id = first["userId"].as_str().unwrap().to_string();
        assert_eq!(groups_of(lab, &id), vec!["Divvy Engineers"]);

        // The provider puts Cy in `Engineers` over SCIM: a login leaves that group alone.
        let pushed = lab.scim_call(
            "POST",
            "/scim/v2/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Engineers", "members": [{"value": id}]}),
            ),
        );
        assert_eq!(pushed.status, 201, "{pushed:?}");
        let again = accepted(
            lab,
            assertion("cy@example.com", "Cyrus", &["Divvy Engineers"]),
        );
        assert_eq!(again["endOtherSessions"], false, "{again}");
        assert_eq!(
            again["entitlements"]["roles"],
            json!(["developer", "engineer"])
        );
        assert_eq!(groups_of(lab, &id), vec!["Divvy Engineers", "Engineers"]);
        // update_profile_at_login is off: the first name stays.
        assert_eq!(user(lab, &id)["name"]["givenName"], "Cy");
    });
}

#[test]
fn unmapped_and_disabled_users_are_refused_and_never_re_enabled() {
    each_backend(|lab| {
        configure(lab, mappings);
        let dee = accepted(lab, assertion("dee@example.com", "Dee", &["Divvy Viewers"]));
        let dee_id = dee["userId"].as_str().unwrap().to_string();
        // Refused without deactivation (the option is off): still active.
        let r = refused(lab, assertion("dee@example.com", "Dee", &["Other"]));
        assert!(
            !r["detail"].as_str().unwrap().contains("deactivated"),
            "{r}"
        );
        assert_eq!(state_of(lab, &dee_id)["state"], "active");
        assert_eq!(groups_of(lab, &dee_id), vec!["Divvy Viewers"]);

        configure(lab, |s| {
            s["jit"]["deactivate_unmapped_at_login"] = json!(true)
        });
        let r = refused(lab, assertion("dee@example.com", "Dee", &[]));
        assert!(r["detail"].as_str().unwrap().contains("deactivated"), "{r}");
        let state = state_of(lab, &dee_id);
        assert_eq!(state["state"], "pending_deactivation", "{state}");
        assert_eq!(state["signInAllowed"], false, "{state}");
        // Back in a mapped group: still refused, still pending (a login re-enables no one).
        let r = refused(lab, assertion("dee@example.com", "Dee", &["Divvy Viewers"]));
        assert!(
            r["detail"]
                .as_str()
                .unwrap()
                .contains("pending_deactivation"),
            "{r}"
        );
        assert_eq!(state_of(lab, &dee_id)["state"], "pending_deactivation");
        let deact = page_all(lab, &format!("user={dee_id}&actor=jit&action=update"));
        assert!(
            deact
                .iter()
                .any(|e| e["detail"]["reason"] == "no mapped group at login"),
            "{deact:?}"
        );

        // An administrator deactivates Eve: her next login is refused, the state stays.
        let eve = accepted(lab, assertion("eve@example.com", "Eve", &["Divvy Viewers"]));
        let eve_id = eve["userId"].as_str().unwrap().to_string();
        let path = format!("/admin/v1/tenants/acme/users/{eve_id}/deactivate");
        assert_eq!(lab.admin("POST", &path, None).status, 200);
        let r = refused(lab, assertion("eve@example.com", "Eve", &["Divvy Viewers"]));
        assert!(r["detail"].as_str().unwrap().contains("deactivated"), "{r}");
        assert_eq!(state_of(lab, &eve_id)["state"], "deactivated");
        assert_eq!(users_named(lab, "eve@example.com"), 1, "not re-created");

        // An unknown user with no mapped group is neither created nor deactivated.
        refused(lab, assertion("fay@example.com", "Fay", &["Other"]));
        assert_eq!(users_named(lab, "fay@example.com"), 0);
    });
}

/// A local account (created in the product) holding the NameID is never taken over: the
/// login is refused and the account left exactly as it was.
#[test]
fn a_local_account_is_never_taken_over() {
    use scim_core::resource::{WriteMode, prepare};
    use scim_core::schema::SchemaRegistry;
    use scim_store::users::{self, NewUser};

    each_backend(|lab| {
        configure(lab, mappings);
        let tenant = lab.admin("GET", "/admin/v1/tenants/acme", None).json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let tenant = scim_store::TenantId(tenant);
        let registry = SchemaRegistry::standard();
        let rt = registry.resource_type("User").unwrap();
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                          "userName": "root@example.com"});
        let new = NewUser {
            id: uuid::Uuid::new_v4().to_string(),
            resource: prepare(&registry, rt, body, WriteMode::Create, None).unwrap(),
            password_hash: None,
            origin: scim_store::Origin::Local,
            now: chrono::Utc::now().naive_utc(),
        };
        let t = tenant.clone();
        let local = lab
            .db
            .store
            .write(move |c| users::insert(c, &registry, &t, new))
            .unwrap();
        let r = refused(
            lab,
            assertion("ROOT@example.com", "Mallory", &["Divvy Leads"]),
        );
        assert!(
            r["detail"].as_str().unwrap().contains("local account"),
            "{r}"
        );
        let id = local.id.clone();
        let after = lab
            .db
            .store
            .read(move |c| users::get(c, &tenant, &id))
            .unwrap()
            .unwrap();
        assert_eq!(
            after.version, local.version,
            "the local account was changed"
        );
        assert!(groups_of(lab, &local.id).is_empty());
        assert_eq!(users_named(lab, "root@example.com"), 1);
    });
}
