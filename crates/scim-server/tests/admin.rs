//! The admin API (`/admin/v1`) against the real binary over loopback HTTP, on SQLite and (when
//! `SCIM_TEST_PG_URL` is set) PostgreSQL: administrator-token authentication (and that it and
//! SCIM tokens never cross over), tenants and settings validation, token issue and immediate
//! revocation, lifecycle actions as `scim-server user state` sees them, password checks, jobs
//! and the sync log with its cursor.

#![expect(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

#[path = "admin/harness.rs"]
mod harness;

use std::collections::BTreeSet;

use harness::{Lab, cli, cli_state, each_backend, page_all, state_of};
use serde_json::{Value, json};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

#[test]
fn administrator_tokens_and_scim_tokens_never_cross() {
    each_backend(|lab| {
        let tenants = "/admin/v1/tenants";
        let none = lab.call("GET", tenants, None, None);
        assert_eq!(none.status, 401, "{none:?}");
        assert!(none.header("www-authenticate").is_some(), "{none:?}");
        assert_eq!(none.json()["status"], "401");
        let scim = lab.call("GET", tenants, Some(&lab.scim_token), None);
        assert_eq!(scim.status, 403, "a SCIM token on the admin API: {scim:?}");
        let wrong = format!("{}x", lab.admin_token);
        assert_eq!(lab.call("GET", tenants, Some(&wrong), None).status, 401);
        let ok = lab.admin("GET", tenants, None);
        assert_eq!(ok.status, 200, "{ok:?}");
        assert!(
            ok.content_type().starts_with("application/json"),
            "{:?}",
            ok.headers
        );
        // HTTP Basic with the administrator token's id and secret works too.
        let (id, secret) = lab.admin_token.split_once('.').unwrap();
        let basic = lab.basic("GET", tenants, id, secret);
        assert_eq!(basic.status, 200, "{basic:?}");

        // The administrator token is refused by the SCIM API.
        let on_scim = lab.call("GET", "/scim/v2/Users", Some(&lab.admin_token), None);
        assert_eq!(on_scim.status, 403, "{on_scim:?}");
        // The reserved tenant is invisible and untouchable.
        let names: Vec<Value> = ok
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].clone())
            .collect();
        assert_eq!(names, vec![json!("acme")]);
        assert_eq!(
            lab.admin("GET", "/admin/v1/tenants/_admin", None).status,
            404
        );
        let issue = lab.admin("POST", "/admin/v1/tenants/_admin/tokens", None);
        assert_eq!(issue.status, 404, "{issue:?}");
        let reserved = lab.admin("POST", tenants, Some(json!({"name": " _admin "})));
        assert_eq!(reserved.status, 400, "{reserved:?}");
        assert_eq!(reserved.json()["scimType"], "invalidValue");
        for args in [
            &["token", "create", "--tenant", "_admin"][..],
            &["tenant", "create", "_admin"],
            &["token", "create"],
            &["token", "create", "--admin", "--tenant", "acme"],
        ] {
            let out = cli(&lab.db.url, args);
            assert!(!out.status.success(), "scim-server {args:?} succeeded");
            assert!(out.stdout.is_empty(), "{args:?} printed {:?}", out.stdout);
        }
        // Unknown admin paths and methods are SCIM errors.
        let missing = lab.admin("GET", "/admin/v1/nothing", None);
        assert_eq!(
            (missing.status, missing.json()["status"].clone()),
            (404, json!("404"))
        );
        assert_eq!(lab.admin("PATCH", tenants, Some(json!({}))).status, 405);
    });
}

#[test]
fn tenants_and_their_settings() {
    each_backend(|lab| {
        let tenants = "/admin/v1/tenants";
        let created = lab.admin("POST", tenants, Some(json!({"name": "beta"})));
        assert_eq!(created.status, 201, "{created:?}");
        let beta = created.json();
        assert_eq!(beta["name"], "beta");
        assert_eq!(beta["settings"]["deactivation_delay_secs"], 900);
        let again = lab.admin("POST", tenants, Some(json!({"name": "beta"})));
        assert_eq!(
            (again.status, again.json()["scimType"].clone()),
            (409, json!("uniqueness"))
        );
        for bad in [
            json!({"name": ""}),
            json!({}),
            json!({"name": "x", "extra": 1}),
            json!({"name": 5}),
        ] {
            let r = lab.admin("POST", tenants, Some(bad.clone()));
            assert_eq!(r.status, 400, "{bad}: {r:?}");
            assert_eq!(r.json()["scimType"], "invalidValue", "{bad}: {r:?}");
        }
        let listed = lab.admin("GET", tenants, None).json();
        let names: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["acme", "beta"]);
        let shown = lab.admin("GET", "/admin/v1/tenants/beta", None).json();
        assert_eq!(shown["id"], beta["id"]);

        let settings = "/admin/v1/tenants/beta/settings";
        let mut s = lab.admin("GET", settings, None).json();
        assert_eq!(s["password_sync"], true);
        s["deactivation_delay_secs"] = json!(0);
        s["role_mappings"] = json!([{"group": "Engineers", "roles": ["dev"]}]);
        let put = lab.admin("PUT", settings, Some(s.clone()));
        assert_eq!(put.status, 200, "{put:?}");
        assert_eq!(put.json(), s);
        assert_eq!(lab.admin("GET", settings, None).json(), s);
        // A partial document: the rest takes defaults.
        let partial = lab.admin(
            "PUT",
            settings,
            Some(json!({"deactivation_delay_secs": 60})),
        );
        assert_eq!(partial.json()["deactivation_delay_secs"], 60);
        assert_eq!(partial.json()["role_mappings"], json!([]));
        for (bad, says) in [
            (json!({"deactivation_delay_secs": -1}), "expected u64"),
            (
                json!({"deactivation_delay_secs": 999_999_999_999_u64}),
                "deactivation_delay_secs must be at most",
            ),
            (json!({"bogus": true}), "bogus"),
            (json!({"validation": {"typo": true}}), "validation.typo"),
            (json!({"default_org": " "}), "default_org"),
            (
                json!({"role_mappings": [{"group": "G", "roles": []}, {"group": "G", "roles": []}]}),
                "twice",
            ),
        ] {
            let r = lab.admin("PUT", settings, Some(bad.clone()));
            assert_eq!(r.status, 400, "{bad}: {r:?}");
            let body = r.json();
            assert_eq!(body["scimType"], "invalidValue", "{bad}: {r:?}");
            assert!(
                body["detail"].as_str().unwrap().contains(says),
                "{bad}: {r:?}"
            );
        }
        assert_eq!(
            lab.admin("GET", settings, None).json()["deactivation_delay_secs"],
            60
        );
        // The CLI sees what the API wrote.
        assert!(
            cli(
                &lab.db.url,
                &["tenant", "set", "beta", "--deactivation-delay", "7"]
            )
            .status
            .success()
        );
        assert_eq!(
            lab.admin("GET", settings, None).json()["deactivation_delay_secs"],
            7
        );

        let token = lab
            .admin("POST", "/admin/v1/tenants/beta/tokens", None)
            .json();
        let token = token["token"].as_str().unwrap().to_string();
        assert_eq!(
            lab.call("GET", "/scim/v2/Users", Some(&token), None).status,
            200
        );
        assert_eq!(
            lab.admin("DELETE", "/admin/v1/tenants/beta", None).status,
            204
        );
        // Its token dies with it, at once on this instance.
        assert_eq!(
            lab.call("GET", "/scim/v2/Users", Some(&token), None).status,
            401
        );
        assert_eq!(lab.admin("GET", "/admin/v1/tenants/beta", None).status, 404);
        assert_eq!(
            lab.admin("DELETE", "/admin/v1/tenants/beta", None).status,
            404
        );
        assert_eq!(
            lab.admin("GET", "/admin/v1/tenants/beta/settings", None)
                .status,
            404
        );
    });
}

#[test]
fn tokens_are_issued_once_and_revoked_at_once() {
    each_backend(|lab| {
        let tokens = "/admin/v1/tenants/acme/tokens";
        let issued = lab.admin("POST", tokens, Some(json!({"label": "entra"})));
        assert_eq!(issued.status, 201, "{issued:?}");
        let body = issued.json();
        let (id, token) = (
            body["id"].as_str().unwrap(),
            body["token"].as_str().unwrap().to_string(),
        );
        assert!(token.starts_with(&format!("{id}.")), "{body}");
        // Warm the verifier's cache, so revocation must evict it to take effect.
        for _ in 0..2 {
            assert_eq!(
                lab.call("GET", "/scim/v2/Users", Some(&token), None).status,
                200
            );
        }
        let listed = lab.admin("GET", tokens, None);
        assert!(
            !listed.text.contains(token.split_once('.').unwrap().1),
            "a secret was listed"
        );
        let row = listed
            .json()
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .cloned()
            .unwrap();
        assert_eq!(
            (row["scope"].clone(), row["label"].clone()),
            (json!("scim"), json!("entra"))
        );
        assert!(row["revokedAt"].is_null(), "{row}");

        let revoked = lab.admin("DELETE", &format!("{tokens}/{id}"), None);
        assert_eq!(revoked.status, 204, "{revoked:?}");
        let next = lab.call("GET", "/scim/v2/Users", Some(&token), None);
        assert_eq!(next.status, 401, "the revoked token still works: {next:?}");
        // Idempotent; an unknown token, or another tenant's, is 404.
        assert_eq!(
            lab.admin("DELETE", &format!("{tokens}/{id}"), None).status,
            204
        );
        assert_eq!(
            lab.admin("DELETE", &format!("{tokens}/tok_nope"), None)
                .status,
            404
        );
        lab.admin("POST", "/admin/v1/tenants", Some(json!({"name": "other"})));
        let foreign = lab.admin(
            "DELETE",
            &format!("/admin/v1/tenants/other/tokens/{id}"),
            None,
        );
        assert_eq!(foreign.status, 404);
        let revoked_at = lab.admin("GET", tokens, None).json();
        let row = revoked_at
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .cloned()
            .unwrap();
        assert!(row["revokedAt"].is_string(), "{row}");
        // The tenant's original token is untouched; an empty body is accepted.
        assert_eq!(
            lab.call("GET", "/scim/v2/Users", Some(&lab.scim_token), None)
                .status,
            200
        );
        assert_eq!(lab.admin("POST", tokens, None).status, 201);
        let long = "x".repeat(201);
        assert_eq!(
            lab.admin("POST", tokens, Some(json!({"label": long})))
                .status,
            400
        );
    });
}

#[test]
fn lifecycle_actions_entitlements_and_passwords() {
    each_backend(|lab| {
        let created = lab.scim_call(
            "POST",
            "/scim/v2/Users",
            Some(json!({"schemas": [USER_URN], "userName": "Ann@Example.com", "password": "correct horse"})),
        );
        assert_eq!(created.status, 201, "{created:?}");
        let uid = created.json()["id"].as_str().unwrap().to_string();
        let user = format!("/admin/v1/tenants/acme/users/{uid}");
        let st = state_of(lab, &uid);
        assert_eq!(
            st,
            json!({"state": "active", "signInAllowed": true, "legalHold": false,
                   "origin": "provisioned", "providerActive": true})
        );
        let verify = |lab: &Lab, name: &str, password: &str| -> bool {
            let r = lab.admin(
                "POST",
                "/admin/v1/tenants/acme/verify-password",
                Some(json!({"userName": name, "password": password})),
            );
            assert_eq!(r.status, 200, "{r:?}");
            r.json()["valid"].as_bool().unwrap()
        };
        assert!(
            verify(lab, "ann@example.com", "correct horse"),
            "case-insensitive userName"
        );
        assert!(!verify(lab, "ann@example.com", "wrong horse"));
        assert!(!verify(lab, "nobody@example.com", "correct horse"));
        for bad in [
            json!({"userName": "ann@example.com", "password": 424242}),
            json!({"userName": "ann@example.com"}),
        ] {
            let r = lab.admin(
                "POST",
                "/admin/v1/tenants/acme/verify-password",
                Some(bad.clone()),
            );
            assert_eq!(r.status, 400, "{bad}: {r:?}");
            assert!(!r.text.contains("424242"), "the password was echoed: {r:?}");
        }

        let ent = lab.admin("GET", &format!("{user}/entitlements"), None);
        assert_eq!(ent.status, 200, "{ent:?}");
        assert_eq!(
            ent.json(),
            json!({"organization": "Default", "roles": [], "adminTier": "none", "mapped": false})
        );
        assert_eq!(
            lab.admin(
                "GET",
                "/admin/v1/tenants/acme/users/nobody/entitlements",
                None
            )
            .status,
            404
        );
        assert_eq!(
            lab.admin("GET", "/admin/v1/tenants/acme/users/nobody/state", None)
                .status,
            404
        );
        assert_eq!(
            lab.admin(
                "POST",
                "/admin/v1/tenants/acme/users/nobody/deactivate",
                None
            )
            .status,
            404
        );

        // Immediate deactivation, no delay; sign-in and password refused; then reactivation.
        let r = lab
            .admin("POST", &format!("{user}/deactivate"), None)
            .json();
        assert_eq!(
            (r["state"].clone(), r["signInAllowed"].clone()),
            (json!("deactivated"), json!(false)),
            "{r}"
        );
        assert_eq!(cli_state(lab, &uid), "deactivated");
        assert!(
            !verify(lab, "ann@example.com", "correct horse"),
            "a deactivated user signs in"
        );
        let r = lab
            .admin("POST", &format!("{user}/reactivate"), None)
            .json();
        assert_eq!(r["state"], "active", "{r}");
        assert_eq!(cli_state(lab, &uid), "active");
        assert!(verify(lab, "ann@example.com", "correct horse"));

        // Legal hold: an administrator's deactivation blocks instead; the release deactivates.
        let r = lab
            .admin("POST", &format!("{user}/legal-hold"), None)
            .json();
        assert_eq!(
            (r["state"].clone(), r["legalHold"].clone()),
            (json!("active"), json!(true)),
            "{r}"
        );
        let r = lab
            .admin("POST", &format!("{user}/deactivate"), None)
            .json();
        assert_eq!(
            (r["state"].clone(), r["reason"].clone()),
            (json!("blocked"), json!("legal_hold")),
            "{r}"
        );
        assert_eq!(cli_state(lab, &uid), "blocked");
        let r = lab
            .admin("DELETE", &format!("{user}/legal-hold"), None)
            .json();
        assert_eq!(
            (r["state"].clone(), r["legalHold"].clone()),
            (json!("deactivated"), json!(false)),
            "{r}"
        );
        assert_eq!(cli_state(lab, &uid), "deactivated");
        assert_eq!(state_of(lab, &uid)["state"], "deactivated");
        lab.admin("POST", &format!("{user}/reactivate"), None);

        // Every administrator action is in the sync log, newest first, paged by cursor.
        let admin_actions = page_all(lab, &format!("user={uid}&actor=admin"));
        let actions: Vec<&str> = admin_actions
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "reactivate",
                "deactivate",
                "legal_hold_released",
                "block",
                "legal_hold_set",
                "reactivate",
                "deactivate"
            ],
        );
        assert!(
            admin_actions
                .iter()
                .all(|e| e["resourceId"] == uid.as_str() && e["actor"] == "admin")
        );
        let everything = page_all(lab, &format!("user={uid}"));
        assert!(everything.len() > admin_actions.len());
        let since = lab
            .admin(
                "GET",
                "/admin/v1/tenants/acme/sync-log?since=2999-01-01",
                None,
            )
            .json();
        assert_eq!(since["entries"], json!([]));
        assert!(since.get("next").is_none(), "{since}");
        for bad in [
            "cursor=nonsense",
            "since=yesterday",
            "actor=robot",
            "color=red",
        ] {
            let r = lab.admin(
                "GET",
                &format!("/admin/v1/tenants/acme/sync-log?{bad}"),
                None,
            );
            assert_eq!(
                (r.status, r.json()["scimType"].clone()),
                (400, json!("invalidValue")),
                "{bad}: {r:?}"
            );
        }
    });
}

#[test]
fn pending_jobs_are_listed_until_cancelled() {
    each_backend(|lab| {
        let put = lab.admin(
            "PUT",
            "/admin/v1/tenants/acme/settings",
            Some(json!({"deactivation_delay_secs": 3600})),
        );
        assert_eq!(put.status, 200, "{put:?}");
        let created = lab.scim_call("POST", "/scim/v2/Users", Some(json!({"userName": "bob"})));
        let uid = created.json()["id"].as_str().unwrap().to_string();
        let jobs = "/admin/v1/tenants/acme/jobs";
        assert_eq!(lab.admin("GET", jobs, None).json(), json!([]));
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": false}]});
        let r = lab.scim_call("PATCH", &format!("/scim/v2/Users/{uid}"), Some(patch));
        assert_eq!(r.status, 200, "{r:?}");
        let st = state_of(lab, &uid);
        assert_eq!(
            (st["state"].clone(), st["signInAllowed"].clone()),
            (json!("pending_deactivation"), json!(false))
        );
        let due = chrono::DateTime::parse_from_rfc3339(st["due"].as_str().unwrap()).unwrap();
        let wait = due.signed_duration_since(chrono::Utc::now()).num_seconds();
        assert!((3500..=3600).contains(&wait), "due in {wait} s");
        let listed = lab.admin("GET", jobs, None).json();
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(
            (listed[0]["userId"].as_str(), listed[0]["reason"].as_str()),
            (Some(uid.as_str()), Some("provider_inactive"))
        );
        assert_eq!(listed[0]["dueAt"], st["due"]);
        assert_eq!(
            lab.admin("GET", &format!("{jobs}?limit=0"), None).json(),
            json!([])
        );
        assert_eq!(
            lab.admin("GET", &format!("{jobs}?limit=x"), None).status,
            400
        );
        // An administrator's reactivation cancels the job.
        let r = lab.admin(
            "POST",
            &format!("/admin/v1/tenants/acme/users/{uid}/reactivate"),
            None,
        );
        assert_eq!(r.json()["state"], "active", "{r:?}");
        assert_eq!(lab.admin("GET", jobs, None).json(), json!([]));
    });
}

#[test]
fn mapping_changes_move_nobody_until_applied() {
    each_backend(|lab| {
        let created = lab.scim_call("POST", "/scim/v2/Users", Some(json!({"userName": "eve"})));
        let uid = created.json()["id"].as_str().unwrap().to_string();
        let group = json!({"displayName": "Engineers", "members": [{"value": uid}]});
        assert_eq!(
            lab.scim_call("POST", "/scim/v2/Groups", Some(group)).status,
            201
        );
        let entitlements = format!("/admin/v1/tenants/acme/users/{uid}/entitlements");
        assert_eq!(
            lab.admin("GET", &entitlements, None).json()["roles"],
            json!([])
        );
        let mapping = json!({"role_mappings": [{"group": "Engineers", "roles": ["dev", "ops"]}]});
        let put = lab.admin("PUT", "/admin/v1/tenants/acme/settings", Some(mapping));
        assert_eq!(put.status, 200, "{put:?}");
        assert_eq!(
            lab.admin("GET", &entitlements, None).json()["roles"],
            json!([])
        );

        let apply = "/admin/v1/tenants/acme/apply-mappings";
        let report = lab.admin("POST", apply, None);
        assert_eq!(report.status, 200, "{report:?}");
        assert_eq!(
            report.json(),
            json!({"usersExamined": 1, "usersChanged": 1, "organizationsCreated": 0})
        );
        let now = lab.admin("GET", &entitlements, None).json();
        assert_eq!(
            (now["roles"].clone(), now["mapped"].clone()),
            (json!(["dev", "ops"]), json!(true))
        );
        let log = page_all(lab, &format!("user={uid}&actor=admin&action=entitlements"));
        assert_eq!(log.len(), 1, "{log:?}");
        // Nothing changed since: a second run changes nobody.
        assert_eq!(lab.admin("POST", apply, None).json()["usersChanged"], 0);
        assert_eq!(
            lab.admin("POST", "/admin/v1/tenants/nope/apply-mappings", None)
                .status,
            404
        );
    });
}

#[test]
fn documented_settings_name_every_stored_setting() {
    let doc = serde_json::to_value(scim_server::openapi::document()).unwrap();
    let documented: BTreeSet<String> = doc["components"]["schemas"]["TenantSettings"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let stored = scim_store::settings::TenantSettings::default()
        .to_json()
        .unwrap();
    let keys: BTreeSet<String> = stored.as_object().unwrap().keys().cloned().collect();
    assert_eq!(documented, keys);
}

#[test]
fn ldap_sync_and_runs_through_the_admin_api() {
    each_backend(|lab| {
        let (sync, runs) = (
            "/admin/v1/tenants/acme/ldap/sync",
            "/admin/v1/tenants/acme/ldap/runs",
        );
        let none = lab.admin("POST", sync, None);
        assert_eq!(
            (none.status, none.json()["scimType"].clone()),
            (400, json!("invalidValue")),
            "{none:?}"
        );
        assert_eq!(lab.admin("GET", runs, None).json(), json!([]));
        assert_eq!(
            lab.admin("POST", "/admin/v1/tenants/nope/ldap/sync", None)
                .status,
            404
        );
        assert_eq!(
            lab.admin("GET", &format!("{runs}?bogus=1"), None).status,
            400
        );
        // A source whose bind password variable is unset: the run fails, changes nothing and
        // is recorded, started by the admin API.
        let ldap = json!({"ldap": {"url": "ldaps://127.0.0.1:1", "bind_dn": "cn=r,dc=x",
            "bind_password_env": "SCIM_ADMIN_TEST_UNSET_PW", "base_dn": "dc=x", "groups": ["G"]}});
        let put = lab.admin("PUT", "/admin/v1/tenants/acme/settings", Some(ldap));
        assert_eq!(put.status, 200, "{put:?}");
        let failed = lab.admin("POST", sync, None);
        assert_eq!(failed.status, 503, "{failed:?}");
        assert_eq!(failed.header("retry-after"), Some("60"), "{failed:?}");
        let detail = failed.json()["detail"].as_str().unwrap().to_string();
        assert!(
            detail.contains("nothing was changed (run ")
                && detail.contains("SCIM_ADMIN_TEST_UNSET_PW"),
            "{detail}"
        );
        let listed = lab.admin("GET", &format!("{runs}?limit=5"), None).json();
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        let run = &listed[0];
        assert_eq!(
            (run["startedBy"].as_str(), run["status"].as_str()),
            (Some("admin_api"), Some("failed"))
        );
        assert!(
            detail.contains(&format!("(run {})", run["id"])),
            "{detail} / {run}"
        );
        assert!(
            run["error"]
                .as_str()
                .unwrap()
                .contains("SCIM_ADMIN_TEST_UNSET_PW"),
            "{run}"
        );
        assert_eq!(
            run["counts"],
            json!({"created": 0, "updated": 0, "deactivated": 0, "reactivated": 0})
        );
        assert!(run["finishedAt"].is_string(), "{run}");
    });
}
