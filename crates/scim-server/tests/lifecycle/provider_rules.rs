//! What the provider may and may not do, against the real binary on every backend: local
//! accounts are refused (409 on a colliding create, 400 `mutability` on change or delete, the
//! account untouched); Okta's whole-user PUT only moves the lifecycle when `active` really
//! changes; per-tenant validation rules and password sync, set through the store while the
//! server runs.

use scim_core::resource::{WriteMode, prepare};
use scim_core::schema::SchemaRegistry;
use scim_store::users::{self, NewUser};
use serde_json::{Value, json};

use super::harness::{Lab, Resp, each_backend, user_body};
use std::time::Duration;

const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Checks a SCIM error: status, Error schema, `status` string, `scimType`; returns `detail`.
#[track_caller]
fn scim_error(lab: &Lab, r: &Resp, status: u16, scim_type: &str) -> String {
    let b = lab.backend;
    assert_eq!(r.status, status, "[{b}] {r:?}");
    let body = r.json();
    assert_eq!(body["schemas"], json!([ERROR_URN]), "[{b}] {r:?}");
    assert_eq!(body["status"], json!(status.to_string()), "[{b}] {r:?}");
    assert_eq!(body["scimType"], json!(scim_type), "[{b}] {r:?}");
    body["detail"].as_str().unwrap_or_default().to_string()
}

/// Inserts a local account (created in the product) straight into the server's database.
fn insert_local(lab: &Lab, user_name: &str) -> scim_store::StoredResource {
    let registry = SchemaRegistry::standard();
    let rt = registry.resource_type("User").expect("User type");
    let doc = prepare(&registry, rt, user_body(user_name), WriteMode::Create, None)
        .expect("prepare local user");
    let new = NewUser {
        id: uuid::Uuid::new_v4().to_string(),
        resource: doc,
        password_hash: None,
        origin: scim_store::Origin::Local,
        now: chrono::Utc::now().naive_utc(),
    };
    let tenant = lab.tenant.clone();
    lab.db
        .store
        .write(move |c| users::insert(c, &registry, &tenant, new))
        .expect("insert local user")
}

fn stored(lab: &Lab, id: &str) -> scim_store::StoredResource {
    let (t, i) = (lab.tenant.clone(), id.to_string());
    lab.db
        .store
        .read(move |c| users::get(c, &t, &i))
        .expect("read user")
        .expect("user exists")
}

/// The provider can't take a local account's userName (409 that says why), nor change or
/// delete the local account (400 `mutability`); the account is left exactly as it was.
#[test]
fn local_accounts_are_refused_to_the_provider() {
    each_backend(|lab| {
        let b = lab.backend;
        let local = insert_local(lab, "root@example.com");
        let id = local.id.clone();

        for name in ["root@example.com", "ROOT@Example.com"] {
            let r = lab.scim("POST", "/Users", Some(&user_body(name)));
            let detail = scim_error(lab, &r, 409, "uniqueness");
            assert!(
                detail.contains("local account") && detail.contains(name),
                "[{b}] {name}: detail {detail:?}"
            );
        }

        let path = format!("/Users/{id}");
        let patch = |ops: Value| {
            lab.scim(
                "PATCH",
                &path,
                Some(&json!({"schemas": [super::harness::PATCH_URN], "Operations": ops})),
            )
        };
        let r = patch(json!([{"op": "replace", "value": {"active": false}}]));
        scim_error(lab, &r, 400, "mutability");
        let r = patch(json!([{"op": "replace", "path": "displayName", "value": "Mallory"}]));
        scim_error(lab, &r, 400, "mutability");
        let mut put = user_body("root@example.com");
        put["displayName"] = json!("Mallory");
        put["active"] = json!(false);
        let r = lab.scim("PUT", &path, Some(&put));
        scim_error(lab, &r, 400, "mutability");
        let r = lab.scim("DELETE", &path, None);
        let detail = scim_error(lab, &r, 400, "mutability");
        assert!(detail.contains("local"), "[{b}] {detail:?}");

        let after = stored(lab, &id);
        assert_eq!(after.version, local.version, "[{b}] version moved");
        assert_eq!(after.resource, local.resource, "[{b}] document changed");
        assert_eq!(lab.state(&id), "active", "[{b}]");
        assert!(lab.open_job(&id).is_none(), "[{b}] a job was scheduled");
        assert!(
            lab.events(&id).is_empty(),
            "[{b}] events: {:?}",
            lab.events(&id)
        );
        assert!(
            lab.sync_log(&id).is_empty(),
            "[{b}] {:?}",
            lab.sync_log(&id)
        );
        let shown = lab.get_user(&id);
        assert_eq!(shown["displayName"], json!("root Tester"), "[{b}] {shown}");
        assert_eq!(shown["active"], json!(true), "[{b}] {shown}");
        // The refused create made no provider user either.
        let list = lab.scim(
            "GET",
            "/Users?filter=userName%20eq%20%22root@example.com%22",
            None,
        );
        assert_eq!(list.json()["totalResults"], json!(1), "[{b}] {list:?}");
    });
}

/// Okta's AIW apps PUT the whole user on every profile change with `active` unchanged: no
/// scheduling, no cancelling. A PUT with `active: false` schedules once; a later profile PUT
/// still saying `active: false` keeps the original due time.
#[test]
fn okta_whole_user_put_moves_the_lifecycle_only_when_active_changes() {
    each_backend(|lab| {
        let b = lab.backend;
        lab.set_delay(2);
        let user = lab.create_user("ivy@example.com");
        let path = format!("/Users/{user}");
        let put = |change: &dyn Fn(&mut Value)| {
            // Okta sends back what it knows: the resource with id, schemas and all.
            let mut doc = lab.get_user(&user);
            change(&mut doc);
            let r = lab.scim("PUT", &path, Some(&doc));
            assert_eq!(r.status, 200, "[{b}] PUT {doc}: {r:?}");
            r.json()
        };

        let body = put(&|d| {
            d["displayName"] = json!("Ivy Renamed");
            d["active"] = json!(true);
        });
        assert_eq!(body["displayName"], json!("Ivy Renamed"), "[{b}]");
        assert_eq!(lab.state(&user), "active", "[{b}]");
        assert!(lab.open_job(&user).is_none(), "[{b}] a job was scheduled");
        assert!(lab.lifecycle_events(&user).is_empty(), "[{b}]");
        assert!(lab.lifecycle_log(&user).is_empty(), "[{b}]");

        let body = put(&|d| d["active"] = json!(false));
        assert_eq!(body["active"], json!(false), "[{b}] {body}");
        assert_eq!(lab.state(&user), "pending_deactivation", "[{b}]");
        let due = lab.open_job(&user).expect("job").due_at;

        std::thread::sleep(Duration::from_millis(300));
        let body = put(&|d| {
            d["title"] = json!("Engineer");
            d["active"] = json!(false);
        });
        assert_eq!(body["title"], json!("Engineer"), "[{b}]");
        assert_eq!(lab.state(&user), "pending_deactivation", "[{b}]");
        let job = lab.open_job(&user).expect("job");
        assert_eq!(job.due_at, due, "[{b}] the due time moved");
        assert_eq!(
            lab.lifecycle_events(&user),
            ["user.deactivation_scheduled", "access.revoked"],
            "[{b}]"
        );
        assert_eq!(
            lab.lifecycle_log(&user),
            [("provider".into(), "schedule_deactivation".into())],
            "[{b}]"
        );

        lab.wait_state(&user, "deactivated", Duration::from_secs(6));
        // A profile PUT after the deactivation, still inactive: nothing moves.
        put(&|d| d["title"] = json!("Former engineer"));
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

/// Per-tenant rules set while the server runs: userName must be an email (400 `invalidValue`
/// naming userName, on create and on change), and with password sync off a sent password is
/// dropped (no hash stored), where with it on (the default) it is kept as a hash.
#[test]
fn tenant_validation_rules_and_password_sync_apply() {
    each_backend(|lab| {
        let b = lab.backend;
        let hash_of = |name: &str| {
            let (t, n) = (lab.tenant.clone(), name.to_string());
            lab.db
                .store
                .read(move |c| users::password_hash_by_user_name(c, &t, &n))
                .expect("read hash")
                .expect("user exists")
                .1
        };
        // Default: sync on, no validation rule.
        let mut body = user_body("jo");
        body["password"] = json!("Correct-Horse-9");
        let r = lab.scim("POST", "/Users", Some(&body));
        assert_eq!(r.status, 201, "[{b}] {r:?}");
        assert!(r.json().get("password").is_none(), "[{b}] {r:?}");
        let synced = hash_of("jo").expect("a hash with password sync on");
        assert!(synced.starts_with("$argon2id$"), "[{b}] {synced}");

        lab.update_settings(|s| {
            s.validation.user_name_is_email = true;
            s.password_sync = false;
        });

        let r = lab.scim("POST", "/Users", Some(&user_body("jdoe")));
        let detail = scim_error(lab, &r, 400, "invalidValue");
        assert!(detail.contains("userName"), "[{b}] {detail:?}");

        let mut body = user_body("kim@example.com");
        body["password"] = json!("Correct-Horse-9");
        let r = lab.scim("POST", "/Users", Some(&body));
        assert_eq!(r.status, 201, "[{b}] {r:?}");
        let kim = r.json()["id"].as_str().unwrap().to_string();
        assert_eq!(
            hash_of("kim@example.com"),
            None,
            "[{b}] a hash with sync off"
        );
        lab.patch_user(
            &kim,
            json!([{"op": "replace", "path": "password", "value": "Another-Horse-7"}]),
        );
        assert_eq!(
            hash_of("kim@example.com"),
            None,
            "[{b}] PATCH stored a hash"
        );

        let r = lab.scim(
            "PATCH",
            &format!("/Users/{kim}"),
            Some(&json!({"schemas": [super::harness::PATCH_URN],
                "Operations": [{"op": "replace", "path": "userName", "value": "kim"}]})),
        );
        let detail = scim_error(lab, &r, 400, "invalidValue");
        assert!(detail.contains("userName"), "[{b}] {detail:?}");
        assert_eq!(
            lab.get_user(&kim)["userName"],
            json!("kim@example.com"),
            "[{b}]"
        );
        // The earlier hash is left alone.
        assert_eq!(hash_of("jo").as_deref(), Some(synced.as_str()), "[{b}]");
    });
}
