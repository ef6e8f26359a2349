//! Provisioning policy state on both backends: each user's lifecycle record (every state, document `active` and version rules, rows from before
//! the JSON state), password lookup for local sign-in, organizations, entitlements, and the
//! paged feed of "apply mappings".

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use common::{at, doc, reg};
use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use scim_core::patch::Member;
use scim_core::policy::{
    AdminTier, BlockReason, DeactivationReason, Entitlements, LifecycleState,
    Origin as PolicyOrigin, UserLifecycle,
};
use scim_store::entitlements::{self, MappingRow};
use scim_store::groups::{self, NewGroup};
use scim_store::lifecycle;
use scim_store::testing::TestDb;
use scim_store::users::{self, NewUser, PasswordChange};
use scim_store::{Origin, Store, StoreError, StoredResource, TenantId, jobs, tenants};
use serde_json::{Value, json};

/// A due time with sub-second precision, to see it survive storage exactly.
fn due(secs: i64) -> DateTime<Utc> {
    (at(secs) + TimeDelta::nanoseconds(123_456_789)).and_utc()
}

fn tenant(s: &Store, name: &str) -> TenantId {
    let name = name.to_string();
    s.write(move |c| tenants::create(c, &name, at(0)))
        .unwrap()
        .id
}

fn new_user(id: &str, name: &str, extra: Value) -> NewUser {
    let mut v = json!({ "userName": name });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    NewUser {
        id: id.into(),
        resource: doc("User", v),
        password_hash: None,
        origin: Origin::Provisioned,
        now: at(1),
    }
}

fn add_user(s: &Store, t: &TenantId, id: &str, name: &str) -> StoredResource {
    let (t, new) = (t.clone(), new_user(id, name, json!({})));
    s.write(move |c| users::insert(c, reg(), &t, new)).unwrap()
}

fn add_group(s: &Store, t: &TenantId, id: &str, name: &str, members: &[&str]) {
    let new = NewGroup {
        id: id.into(),
        resource: doc("Group", json!({ "displayName": name })),
        members: members
            .iter()
            .map(|m| Member {
                value: m.to_string(),
                display: None,
                kind: None,
            })
            .collect(),
        now: at(1),
    };
    let t = t.clone();
    s.write(move |c| groups::insert(c, reg(), &t, new)).unwrap();
}

fn pending(due_secs: i64, reason: DeactivationReason) -> LifecycleState {
    LifecycleState::PendingDeactivation {
        due: due(due_secs),
        reason,
    }
}

fn deactivated(reason: DeactivationReason) -> LifecycleState {
    LifecycleState::Deactivated { reason }
}

fn blocked(reason: BlockReason, cause: DeactivationReason) -> LifecycleState {
    LifecycleState::Blocked { reason, cause }
}

fn record(state: LifecycleState, provider_active: bool) -> UserLifecycle {
    UserLifecycle {
        state,
        origin: PolicyOrigin::Provisioned,
        legal_hold: false,
        provider_active,
        mapped: false,
    }
}

fn save(
    s: &Store,
    t: &TenantId,
    id: &str,
    rec: UserLifecycle,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let (t, id) = (t.clone(), id.to_string());
    let allowed = rec.state.sign_in_allowed();
    s.write(move |c| lifecycle::save_resource(c, reg(), &t, &id, &rec, allowed, now))
        .map(|_| ())
}

/// A record with every column set: blocked by a legal hold, mapped (sign-in is refused).
fn held_record() -> UserLifecycle {
    let mut held = record(
        blocked(BlockReason::LegalHold, DeactivationReason::ProviderInactive),
        false,
    );
    held.legal_hold = true;
    held.mapped = true;
    held
}

fn load(s: &Store, t: &TenantId, id: &str) -> Option<UserLifecycle> {
    let (t, id) = (t.clone(), id.to_string());
    s.read(move |c| lifecycle::load(c, &t, &id)).unwrap()
}

fn word(s: &Store, t: &TenantId, id: &str) -> Option<String> {
    let (t, id) = (t.clone(), id.to_string());
    s.read(move |c| lifecycle::state_name(c, &t, &id)).unwrap()
}

fn allowed(s: &Store, t: &TenantId, id: &str) -> Option<bool> {
    let (t, id) = (t.clone(), id.to_string());
    s.read(move |c| lifecycle::sign_in_allowed(c, &t, &id))
        .unwrap()
}

fn get(s: &Store, t: &TenantId, id: &str) -> StoredResource {
    let (t, id) = (t.clone(), id.to_string());
    s.read(move |c| users::get(c, &t, &id)).unwrap().unwrap()
}

#[test]
fn lifecycle_round_trips_every_state() {
    let states = [
        LifecycleState::Active,
        pending(900, DeactivationReason::ProviderInactive),
        pending(60, DeactivationReason::ProviderDelete),
        pending(0, DeactivationReason::Unmapped),
        deactivated(DeactivationReason::Admin),
        deactivated(DeactivationReason::ProviderDelete),
        blocked(BlockReason::LegalHold, DeactivationReason::ProviderInactive),
        blocked(BlockReason::Admin, DeactivationReason::Admin),
    ];
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1", "bjensen");
        for (i, state) in states.into_iter().enumerate() {
            let rec = UserLifecycle {
                state,
                origin: if i % 3 == 0 {
                    PolicyOrigin::Local
                } else {
                    PolicyOrigin::Provisioned
                },
                legal_hold: i % 2 == 0,
                provider_active: i % 4 != 1,
                mapped: i % 3 == 1,
            };
            save(s, &t, "u1", rec, at(10)).unwrap();
            assert_eq!(load(s, &t, "u1"), Some(rec), "{:?} {state:?}", db.kind());
            assert_eq!(word(s, &t, "u1").as_deref(), Some(state.name()));
            assert_eq!(allowed(s, &t, "u1"), Some(state.sign_in_allowed()));
            let rec_row = s.read(|c| users::get_record(c, &t, "u1")).unwrap().unwrap();
            assert_eq!(rec_row.lifecycle, state.name());
            assert_eq!(rec_row.legal_hold, rec.legal_hold);
            assert_eq!(PolicyOrigin::from(rec_row.origin), rec.origin);
        }
        // Unknown users, and other tenants' users, have no lifecycle.
        let other = tenant(s, "other");
        assert_eq!(load(s, &other, "u1"), None);
        assert_eq!(load(s, &t, "nobody"), None);
        assert_eq!(word(s, &other, "u1"), None);
        assert_eq!(allowed(s, &other, "u1"), None);
        let err = save(
            s,
            &other,
            "u1",
            record(LifecycleState::Active, true),
            at(11),
        )
        .unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
        assert_eq!(load(s, &t, "u1").unwrap().state, states[7], "untouched");
    }
}

#[test]
fn document_active_follows_the_provider_and_bumps_only_on_change() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let u = add_user(s, &t, "u1", "bjensen");
        assert!(u.resource.get("active").is_none());

        // Active again, provider active: nothing in the document changes.
        save(s, &t, "u1", record(LifecycleState::Active, true), at(5)).unwrap();
        let r = get(s, &t, "u1");
        assert_eq!((r.version, r.updated_at), (1, at(1)), "{:?}", db.kind());
        assert!(r.resource.get("active").is_none());

        // The provider deactivates: shown inactive at once, version bumped.
        let pending = pending(905, DeactivationReason::ProviderInactive);
        save(s, &t, "u1", record(pending, false), at(5)).unwrap();
        let r = get(s, &t, "u1");
        assert_eq!((r.version, r.updated_at), (2, at(5)));
        assert_eq!(r.resource["active"], false);
        let rec = s.read(|c| users::get_record(c, &t, "u1")).unwrap().unwrap();
        assert!(!rec.active, "the active column follows the document");

        // Due: deactivated, the document already says so: version kept.
        let done = deactivated(DeactivationReason::ProviderInactive);
        save(s, &t, "u1", record(done, false), at(905)).unwrap();
        let r = get(s, &t, "u1");
        assert_eq!((r.version, r.updated_at), (2, at(5)));
        // Legal hold is not in the document either.
        let mut held = record(done, false);
        held.legal_hold = true;
        save(s, &t, "u1", held, at(906)).unwrap();
        assert_eq!(get(s, &t, "u1").version, 2);

        // An administrator reactivates a user the provider still has inactive: sign-in comes
        // back, the resource still shows the provider's view.
        save(s, &t, "u1", record(LifecycleState::Active, false), at(907)).unwrap();
        assert_eq!(get(s, &t, "u1").version, 2);
        assert_eq!(allowed(s, &t, "u1"), Some(true));

        // The provider reactivates: shown active, version bumped, returned by save_resource.
        let (t2, rec) = (t.clone(), record(LifecycleState::Active, true));
        let r = s
            .write(move |c| lifecycle::save_resource(c, reg(), &t2, "u1", &rec, true, at(908)))
            .unwrap();
        assert_eq!((r.version, r.updated_at), (3, at(908)));
        assert_eq!(r.resource["active"], true);
        assert_eq!(get(s, &t, "u1"), r);
        // Searchable by the new value.
        let rec = s.read(|c| users::get_record(c, &t, "u1")).unwrap().unwrap();
        assert!(rec.active);
    }
}

#[test]
fn get_with_origin_reads_the_document_and_where_the_user_came_from() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let provisioned = add_user(s, &t, "u1", "bjensen");
        let mut new = new_user("u2", "root", json!({}));
        new.origin = Origin::Local;
        let t2 = t.clone();
        let local = s.write(move |c| users::insert(c, reg(), &t2, new)).unwrap();

        let read = |id: &'static str, t: &TenantId| {
            let t = t.clone();
            s.read(move |c| users::get_with_origin(c, &t, id)).unwrap()
        };
        assert_eq!(
            read("u1", &t),
            Some((provisioned, Origin::Provisioned)),
            "{:?}",
            db.kind()
        );
        assert_eq!(read("u2", &t), Some((local, Origin::Local)));
        // Another tenant's id, and a user the provider deleted (hidden until its purge), are
        // not there, as for `get`.
        assert_eq!(read("u1", &tenant(s, "other")), None);
        let t2 = t.clone();
        s.write(move |c| users::hide(c, &t2, "u1", at(2), at(902)))
            .unwrap();
        assert_eq!(read("u1", &t), None);
    }
}

#[test]
fn origin_of_reads_where_the_user_came_from_and_hide_returns_the_version() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1", "bjensen");
        let mut new = new_user("u2", "root", json!({}));
        new.origin = Origin::Local;
        let t2 = t.clone();
        s.write(move |c| users::insert(c, reg(), &t2, new)).unwrap();
        let origin = |id: &'static str, t: &TenantId| {
            let t = t.clone();
            s.read(move |c| users::origin_of(c, &t, id)).unwrap()
        };
        assert_eq!(
            origin("u1", &t),
            Some((Origin::Provisioned, "bjensen".to_string())),
            "{:?}",
            db.kind()
        );
        assert_eq!(origin("u2", &t), Some((Origin::Local, "root".to_string())));
        assert_eq!(origin("u1", &tenant(s, "other")), None);
        assert_eq!(origin("nobody", &t), None);

        // A replace moves the version to 2; hiding keeps it and says so.
        let t2 = t.clone();
        s.write(move |c| {
            let d = doc("User", json!({"userName": "bjensen", "displayName": "B"}));
            users::replace(c, reg(), &t2, "u1", Some(1), d, PasswordChange::Keep, at(2))
        })
        .unwrap();
        add_group(s, &t, "g1", "Staff", &["u1"]);
        let t2 = t.clone();
        let hidden = s
            .write(move |c| users::hide(c, &t2, "u1", at(3), at(903)))
            .unwrap();
        assert_eq!(hidden.version, 2, "{:?}", db.kind());
        assert_eq!(hidden.groups, vec!["g1".to_string()]);
        let t2 = t.clone();
        let again = s.write(move |c| users::hide(c, &t2, "u1", at(4), at(904)));
        assert!(
            matches!(again, Err(StoreError::NotFound { .. })),
            "{again:?}"
        );
    }
}

#[test]
fn a_replace_returns_the_lifecycle_record_it_left_alone() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1", "bjensen");
        // A record in every column: blocked by a legal hold, mapped, sign-in refused.
        let held = held_record();
        let (t2, rec) = (t.clone(), held);
        s.write(move |c| lifecycle::save_record(c, &t2, "u1", &rec, false))
            .unwrap();

        let t2 = t.clone();
        let (stored, current) = s
            .write(move |c| {
                let d = doc("User", json!({"userName": "bjensen", "displayName": "B"}));
                let prepared = users::prepare_replace(reg(), d)?;
                let replaced = users::replace_prepared(
                    c,
                    &t2,
                    "u1",
                    Some(1),
                    prepared,
                    PasswordChange::Keep,
                    at(2),
                )?;
                replaced.with_lifecycle(c, &t2)
            })
            .unwrap();
        assert_eq!(current, held, "{:?}", db.kind());
        assert_eq!(
            load(s, &t, "u1"),
            Some(held),
            "the replace left the record alone"
        );
        assert_eq!(
            (stored.version, stored.resource["displayName"].clone()),
            (2, json!("B"))
        );
        assert_eq!(get(s, &t, "u1"), stored);
    }
}

#[test]
fn save_record_stores_the_record_and_leaves_the_document_alone() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let before = add_user(s, &t, "u1", "bjensen");
        // A blocked record with a legal hold and sign-in refused: every column it writes.
        let held = held_record();
        let (t2, rec) = (t.clone(), held);
        s.write(move |c| lifecycle::save_record(c, &t2, "u1", &rec, false))
            .unwrap();
        assert_eq!(load(s, &t, "u1"), Some(held), "{:?}", db.kind());
        assert_eq!(word(s, &t, "u1").as_deref(), Some("blocked"));
        assert_eq!(allowed(s, &t, "u1"), Some(false));
        // The caller keeps the document in step itself (it has just written it): the record
        // alone moves neither the document, nor its version, nor its time.
        assert_eq!(get(s, &t, "u1"), before);

        // Another tenant's user of that id, or no user at all, is NotFound and changes nothing.
        let other = tenant(s, "other");
        let (o2, rec) = (other.clone(), record(LifecycleState::Active, true));
        let e = s
            .write(move |c| lifecycle::save_record(c, &o2, "u1", &rec, true))
            .unwrap_err();
        assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
        assert_eq!(load(s, &t, "u1"), Some(held));
    }
}

#[test]
fn insert_with_lifecycle_and_the_default_insert() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        // The default: active, provisioned, unmapped, sign-in allowed.
        add_user(s, &t, "u1", "ann");
        assert_eq!(
            load(s, &t, "u1"),
            Some(record(LifecycleState::Active, true)),
            "{:?}",
            db.kind()
        );
        // The default for a document created inactive.
        let (t2, new) = (t.clone(), new_user("u2", "bob", json!({"active": false})));
        s.write(move |c| users::insert(c, reg(), &t2, new)).unwrap();
        let rec = load(s, &t, "u2").unwrap();
        assert_eq!(rec.state, deactivated(DeactivationReason::ProviderInactive));
        assert!(!rec.provider_active);

        // A decided lifecycle: scheduled because unmapped, sign-in refused.
        let decided = UserLifecycle {
            state: pending(901, DeactivationReason::Unmapped),
            origin: PolicyOrigin::Provisioned,
            legal_hold: false,
            provider_active: true,
            mapped: false,
        };
        let (t2, new) = (t.clone(), new_user("u3", "carol", json!({})));
        let r = s
            .write(move |c| users::insert_with_lifecycle(c, reg(), &t2, new, &decided, false))
            .unwrap();
        assert_eq!(r.version, 1);
        assert!(r.resource.get("active").is_none(), "provider view: active");
        assert_eq!(load(s, &t, "u3"), Some(decided));
        assert_eq!(word(s, &t, "u3").as_deref(), Some("pending_deactivation"));

        // The document follows provider_active.
        let inactive = UserLifecycle {
            state: deactivated(DeactivationReason::ProviderInactive),
            provider_active: false,
            ..decided
        };
        let (t2, new) = (t.clone(), new_user("u4", "dan", json!({})));
        let r = s
            .write(move |c| users::insert_with_lifecycle(c, reg(), &t2, new, &inactive, false))
            .unwrap();
        assert_eq!(r.resource["active"], false);
        assert_eq!(get(s, &t, "u4").resource["active"], false);

        // A local account.
        let local = UserLifecycle {
            origin: PolicyOrigin::Local,
            ..record(LifecycleState::Active, true)
        };
        let (t2, mut new) = (t.clone(), new_user("u5", "eve", json!({})));
        new.origin = Origin::Local;
        s.write(move |c| users::insert_with_lifecycle(c, reg(), &t2, new, &local, true))
            .unwrap();
        let rec = s.read(|c| users::get_record(c, &t, "u5")).unwrap().unwrap();
        assert_eq!(rec.origin, Origin::Local);
        assert_eq!(load(s, &t, "u5"), Some(local));

        // Origins that disagree are refused, nothing written.
        let (t2, new) = (t.clone(), new_user("u6", "fay", json!({})));
        let err = s
            .write(move |c| users::insert_with_lifecycle(c, reg(), &t2, new, &local, true))
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        assert_eq!(load(s, &t, "u6"), None);
    }
}

#[test]
fn rows_without_json_state_are_derived_from_the_word() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1", "ann");
        let (t2, job_due) = (t.clone(), at(900));
        s.write(move |c| {
            jobs::schedule(c, &t2, "u1", job_due, "provider_delete", at(0))?;
            users::set_lifecycle(c, reg(), &t2, "u1", "pending_deactivation", false, at(2))
        })
        .unwrap();
        let rec = load(s, &t, "u1").unwrap();
        let want = LifecycleState::PendingDeactivation {
            due: at(900).and_utc(),
            reason: DeactivationReason::ProviderDelete,
        };
        assert_eq!(rec.state, want, "{:?}", db.kind());
        assert!(!rec.provider_active);

        let t2 = t.clone();
        s.write(move |c| {
            users::set_legal_hold(c, &t2, "u1", true)?;
            users::set_lifecycle(c, reg(), &t2, "u1", "blocked", false, at(3))
        })
        .unwrap();
        assert_eq!(
            load(s, &t, "u1").unwrap().state,
            blocked(BlockReason::LegalHold, DeactivationReason::ProviderInactive)
        );
        assert_eq!(allowed(s, &t, "u1"), Some(false));
        // The pure derivation, for the cases above and the rest.
        let epoch = LifecycleState::PendingDeactivation {
            due: DateTime::<Utc>::UNIX_EPOCH,
            reason: DeactivationReason::ProviderInactive,
        };
        for (w, active, want) in [
            ("active", false, LifecycleState::Active),
            ("deactivated", true, deactivated(DeactivationReason::Admin)),
            ("pending_deactivation", false, epoch),
            (
                "archived",
                false,
                blocked(BlockReason::Admin, DeactivationReason::Admin),
            ),
        ] {
            assert_eq!(lifecycle::legacy_state(w, active, false, None), want, "{w}");
        }
    }
}

#[test]
fn replace_leaves_the_provider_view_to_lifecycle_save() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1", "ann");
        let t2 = t.clone();
        let d = doc("User", json!({"userName": "ann", "active": false}));
        s.write(move |c| users::replace(c, reg(), &t2, "u1", None, d, PasswordChange::Keep, at(3)))
            .unwrap();
        // The stored provider view is still the old one, so the caller sees the change.
        assert!(
            load(s, &t, "u1").unwrap().provider_active,
            "{:?}",
            db.kind()
        );
        assert_eq!(get(s, &t, "u1").resource["active"], false);
        let pending = pending(903, DeactivationReason::ProviderInactive);
        save(s, &t, "u1", record(pending, false), at(3)).unwrap();
        assert_eq!(get(s, &t, "u1").version, 2, "document already inactive");
    }
}

#[test]
fn password_hash_by_user_name_folds_case() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let other = tenant(s, "other");
        let (t2, mut new) = (
            t.clone(),
            new_user("u1", "Straße.Ann@Example.com", json!({})),
        );
        new.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        s.write(move |c| users::insert(c, reg(), &t2, new)).unwrap();
        add_user(s, &t, "u2", "nopass");

        let t2 = t.clone();
        let found = s
            .read(move |c| users::password_hash_by_user_name(c, &t2, "STRASSE.ann@example.COM"))
            .unwrap();
        let (id, hash, allowed) = found.unwrap();
        assert_eq!(id, "u1", "{:?}", db.kind());
        assert!(hash.unwrap().starts_with("$argon2id$"));
        assert!(allowed);

        let t2 = t.clone();
        let found = s
            .read(move |c| users::password_hash_by_user_name(c, &t2, "NOPASS"))
            .unwrap();
        assert_eq!(found, Some(("u2".to_string(), None, true)));

        // Sign-in refused once the provider deactivates.
        let pending = pending(900, DeactivationReason::ProviderInactive);
        save(s, &t, "u1", record(pending, false), at(2)).unwrap();
        let t2 = t.clone();
        let (_, _, allowed) = s
            .read(move |c| users::password_hash_by_user_name(c, &t2, "straße.ann@example.com"))
            .unwrap()
            .unwrap();
        assert!(!allowed);

        for (tid, name) in [(&t, "nobody"), (&other, "straße.ann@example.com")] {
            let (tid, name) = (tid.clone(), name.to_string());
            let found = s
                .read(move |c| users::password_hash_by_user_name(c, &tid, &name))
                .unwrap();
            assert_eq!(found, None);
        }
    }
}

#[test]
fn organizations_are_created_once_per_tenant() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let other = tenant(s, "other");
        let t2 = t.clone();
        let created = s
            .write(move |c| entitlements::ensure_organizations(c, &t2, ["Sales", "Eng"], at(1)))
            .unwrap();
        assert_eq!(created, ["Eng", "Sales"], "{:?}", db.kind());
        let t2 = t.clone();
        let created = s
            .write(move |c| {
                entitlements::ensure_organizations(c, &t2, vec!["Sales", "sales", "Sales"], at(2))
            })
            .unwrap();
        assert_eq!(created, ["sales"], "names are case-sensitive");
        let t2 = t.clone();
        let created = s
            .write(move |c| entitlements::ensure_organizations(c, &t2, ["Eng"], at(3)))
            .unwrap();
        assert!(created.is_empty());
        let orgs = s.read(|c| entitlements::organizations(c, &t)).unwrap();
        assert_eq!(
            orgs,
            BTreeSet::from(["Eng".to_string(), "Sales".into(), "sales".into()])
        );
        assert!(
            s.read(|c| entitlements::organizations(c, &other))
                .unwrap()
                .is_empty()
        );
        let t2 = t.clone();
        let err = s
            .write(move |c| entitlements::ensure_organizations(c, &t2, ["New", " "], at(4)))
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        assert_eq!(
            s.read(|c| entitlements::organizations(c, &t))
                .unwrap()
                .len(),
            3
        );
    }
}

fn ents(org: &str, roles: &[&str], tier: AdminTier, mapped: bool, created: bool) -> Entitlements {
    Entitlements {
        organization: org.into(),
        organization_created: created,
        roles: roles.iter().map(|r| r.to_string()).collect(),
        admin_tier: tier,
        mapped,
    }
}

fn set_ents(s: &Store, t: &TenantId, id: &str, e: Entitlements) -> Result<(), StoreError> {
    let (t, id) = (t.clone(), id.to_string());
    s.write(move |c| entitlements::set(c, &t, &id, &e, at(7)))
}

fn get_ents(s: &Store, t: &TenantId, id: &str) -> Option<Entitlements> {
    let (t, id) = (t.clone(), id.to_string());
    s.read(move |c| entitlements::get(c, &t, &id)).unwrap()
}

#[test]
fn entitlements_set_get_and_follow_the_user() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1", "ann");
        assert_eq!(get_ents(s, &t, "u1"), None);

        let e = ents(
            "Acme",
            &["viewer", "seller"],
            AdminTier::OrgAdmin,
            true,
            false,
        );
        set_ents(s, &t, "u1", e.clone()).unwrap();
        assert_eq!(get_ents(s, &t, "u1"), Some(e), "{:?}", db.kind());
        assert!(load(s, &t, "u1").unwrap().mapped, "users.mapped follows");
        assert!(
            s.read(|c| entitlements::organizations(c, &t))
                .unwrap()
                .is_empty(),
            "an existing organization is not created"
        );

        // Replaced; a new organization is created in the same write.
        let e = ents("New Co", &[], AdminTier::DomainAdmin, false, true);
        set_ents(s, &t, "u1", e.clone()).unwrap();
        let got = get_ents(s, &t, "u1").unwrap();
        assert_eq!(
            got,
            Entitlements {
                organization_created: false,
                ..e
            }
        );
        assert!(!load(s, &t, "u1").unwrap().mapped);
        assert!(
            s.read(|c| entitlements::organizations(c, &t))
                .unwrap()
                .contains("New Co")
        );

        // Scoped by tenant; a missing user is NotFound; deleting the user deletes them.
        let other = tenant(s, "other");
        assert_eq!(get_ents(s, &other, "u1"), None);
        let err = set_ents(
            s,
            &other,
            "u1",
            ents("A", &[], AdminTier::None, false, false),
        )
        .unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
        let t2 = t.clone();
        s.write(move |c| users::delete(c, &t2, "u1", None, at(8)))
            .unwrap();
        assert_eq!(get_ents(s, &t, "u1"), None);
    }
}

#[test]
fn users_for_mappings_pages_with_groups() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let other = tenant(s, "other");
        for i in 1..=7 {
            add_user(s, &t, &format!("u{i}"), &format!("user{i}"));
        }
        add_user(s, &other, "u0", "stranger");
        add_group(s, &t, "g1", "Sales", &["u1", "u2"]);
        add_group(s, &t, "g2", "admins", &["u2", "u6"]);
        add_group(s, &other, "g9", "Sales", &["u0"]);
        let e = ents("Acme", &["seller"], AdminTier::None, true, true);
        set_ents(s, &t, "u3", e.clone()).unwrap();
        let pending = pending(900, DeactivationReason::ProviderInactive);
        save(s, &t, "u5", record(pending, false), at(2)).unwrap();

        let mut pages: Vec<Vec<MappingRow>> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let (t2, a) = (t.clone(), after.clone());
            let page = s
                .read(move |c| entitlements::users_for_mappings(c, &t2, a.as_deref(), 3))
                .unwrap();
            let last = page.len() < 3;
            after = page.last().map(|r| r.user_id.clone());
            pages.push(page);
            if last {
                break;
            }
        }
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, [3, 3, 1], "{:?}", db.kind());
        let rows: Vec<MappingRow> = pages.into_iter().flatten().collect();
        let ids: Vec<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
        assert_eq!(ids, ["u1", "u2", "u3", "u4", "u5", "u6", "u7"]);
        assert_eq!(rows[0].groups, ["Sales"]);
        assert_eq!(rows[1].groups, ["admins", "Sales"], "sorted ignoring case");
        assert_eq!(rows[5].groups, ["admins"]);
        assert!(rows[3].groups.is_empty());
        assert_eq!(rows[0].document["userName"], "user1");
        assert_eq!(
            rows[2].entitlements,
            Some(Entitlements {
                organization_created: false,
                ..e
            })
        );
        assert!(rows[2].lifecycle.mapped);
        assert!(rows.iter().filter(|r| r.entitlements.is_some()).count() == 1);
        assert_eq!(rows[4].lifecycle, record(pending, false));
        assert_eq!(rows[6].lifecycle, record(LifecycleState::Active, true));

        let (t2, after) = (t.clone(), "u7".to_string());
        let tail = s
            .read(move |c| entitlements::users_for_mappings(c, &t2, Some(&after), 3))
            .unwrap();
        assert!(tail.is_empty());
    }
}
