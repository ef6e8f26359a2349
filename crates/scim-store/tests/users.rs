//! Users on both backends: insert/get/replace/delete, case-insensitive userName, versions,
//! passwords, lifecycle columns, email rows and group membership as seen from the user.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use common::{at, doc, reg};

use diesel::prelude::*;
use scim_core::filter::eval::fold_case;
use scim_core::patch::Member;
use scim_store::groups::{self, NewGroup};
use scim_store::testing::TestDb;
use scim_store::users::{self, NewUser, PasswordChange};
use scim_store::{Origin, Store, StoreError, StoredResource, TenantId, tenants};
use serde_json::{Value, json};

fn user_doc(name: &str) -> Value {
    doc(
        "User",
        json!({"userName": name, "externalId": format!("ext-{name}"),
               "emails": [{"value": format!("{name}@Example.COM"), "type": "Work", "primary": true},
                          {"value": "other@x.org"}]}),
    )
}

fn tenant(s: &Store, name: &str) -> TenantId {
    let name = name.to_string();
    s.write(move |c| tenants::create(c, &name, at(0)))
        .unwrap()
        .id
}

fn add_user(s: &Store, t: &TenantId, id: &str, name: &str) -> Result<StoredResource, StoreError> {
    let (t, new) = (
        t.clone(),
        NewUser {
            id: id.into(),
            resource: user_doc(name),
            password_hash: None,
            origin: Origin::Provisioned,
            now: at(1),
        },
    );
    s.write(move |c| users::insert(c, reg(), &t, new))
}

fn add_group(s: &Store, t: &TenantId, id: &str, name: &str, members: &[&str]) -> StoredResource {
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
    s.write(move |c| groups::insert(c, reg(), &t, new)).unwrap()
}

#[test]
fn insert_get_replace_delete() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let u = add_user(s, &t, "u1", "bjensen").unwrap();
        assert_eq!((u.version, u.created_at, u.updated_at), (1, at(1), at(1)));
        let got = s.read(|c| users::get(c, &t, "u1")).unwrap().unwrap();
        assert_eq!(got, u, "{:?}", db.kind());
        assert_eq!(got.resource["userName"], "bjensen");
        assert!(got.resource.get("id").is_none() && got.resource.get("meta").is_none());

        let mut changed = user_doc("bjensen");
        changed["displayName"] = json!("Barbara Jensen");
        let t2 = t.clone();
        let r = s
            .write(move |c| {
                users::replace(
                    c,
                    reg(),
                    &t2,
                    "u1",
                    Some(1),
                    changed,
                    PasswordChange::Keep,
                    at(5),
                )
            })
            .unwrap();
        assert_eq!((r.version, r.created_at, r.updated_at), (2, at(1), at(5)));
        let got = s.read(|c| users::get(c, &t, "u1")).unwrap().unwrap();
        assert_eq!(got.resource["displayName"], "Barbara Jensen");
        assert_eq!(got.version, 2);

        assert_eq!(s.read(|c| users::count(c, &t)).unwrap(), 1);
        let t2 = t.clone();
        s.write(move |c| users::delete(c, &t2, "u1", Some(2), at(6)))
            .unwrap();
        assert_eq!(s.read(|c| users::get(c, &t, "u1")).unwrap(), None);
        assert_eq!(s.read(|c| users::count(c, &t)).unwrap(), 0);
    }
}

#[test]
fn user_name_is_unique_ignoring_case() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1", "BJensen").unwrap();
        let err = add_user(s, &t, "u2", "bjensen").unwrap_err();
        assert_eq!(
            err,
            StoreError::Conflict {
                attribute: "userName",
                value: "bjensen".into()
            },
            "{:?}",
            db.kind()
        );
        // Renaming another user onto it collides too.
        add_user(s, &t, "u3", "alice").unwrap();
        let t2 = t.clone();
        let err = s
            .write(move |c| {
                let d = user_doc("BJENSEN");
                users::replace(c, reg(), &t2, "u3", None, d, PasswordChange::Keep, at(2))
            })
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Conflict {
                    attribute: "userName",
                    ..
                }
            ),
            "{err:?}"
        );
        // The folded lookup finds the user as sent.
        let found = s.read(|c| users::by_user_name(c, &t, "bJENSEN")).unwrap();
        assert_eq!(found.unwrap().resource["userName"], "BJensen");
        assert_eq!(s.read(|c| users::by_user_name(c, &t, "x")).unwrap(), None);
        // A user may change the case of its own userName.
        let t2 = t.clone();
        s.write(move |c| {
            let d = user_doc("bjensen");
            users::replace(c, reg(), &t2, "u1", None, d, PasswordChange::Keep, at(2))
        })
        .unwrap();
    }
}

#[test]
fn non_ascii_user_names_fold_like_core() {
    assert_eq!(fold_case("STRASSE"), fold_case("straße"));
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1", "STRASSE").unwrap();
        let err = add_user(s, &t, "u2", "straße").unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Conflict {
                    attribute: "userName",
                    ..
                }
            ),
            "{:?}: {err:?}",
            db.kind()
        );
        let found = s.read(|c| users::by_user_name(c, &t, "Straße")).unwrap();
        assert_eq!(found.unwrap().id, "u1");
        add_user(s, &t, "u3", "ÉLODIE").unwrap();
        let found = s.read(|c| users::by_user_name(c, &t, "élodie")).unwrap();
        assert_eq!(found.unwrap().id, "u3");
    }
}

type EmailRow = (i32, String, Option<String>, bool);

fn email_rows(s: &Store, t: &TenantId, id: &str) -> Vec<EmailRow> {
    s.read(|c| {
        let rows = scim_store::with_conn!(c, |c| {
            user_emails::table
                .filter(user_emails::tenant_id.eq(t.as_str()))
                .filter(user_emails::user_id.eq(id))
                .order(user_emails::position.asc())
                .select((
                    user_emails::position,
                    user_emails::value_key,
                    user_emails::type_,
                    user_emails::is_primary,
                ))
                .load::<EmailRow>(&mut **c)
                .unwrap()
        });
        Ok(rows)
    })
    .unwrap()
}

#[test]
fn columns_external_id_and_email_rows() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1", "BJensen").unwrap();
        let rec = s.read(|c| users::get_record(c, &t, "u1")).unwrap().unwrap();
        assert_eq!(rec.external_id.as_deref(), Some("ext-BJensen"));
        assert_eq!(rec.user_name, "BJensen");
        assert!(rec.active, "absent active means active");
        assert_eq!(rec.lifecycle, "active");
        assert_eq!(rec.origin, Origin::Provisioned);
        assert!(!rec.legal_hold);
        assert_eq!(
            email_rows(s, &t, "u1"),
            vec![
                (0, "bjensen@example.com".into(), Some("work".into()), true),
                (1, "other@x.org".into(), None, false),
            ],
            "{:?}",
            db.kind()
        );
        // Replace rewrites them.
        let t2 = t.clone();
        s.write(move |c| {
            let d = doc(
                "User",
                json!({"userName": "BJensen", "emails": [{"value": "NEW@x.org"}]}),
            );
            users::replace(c, reg(), &t2, "u1", None, d, PasswordChange::Keep, at(2))
        })
        .unwrap();
        assert_eq!(
            email_rows(s, &t, "u1"),
            vec![(0, "new@x.org".into(), None, false)]
        );
        // A replace that leaves them as they are (read, not rewritten), then one that changes
        // only a flag, then one that drops them.
        for (emails, want) in [
            (
                json!([{"value": "NEW@x.org"}]),
                vec![(0, "new@x.org".into(), None, false)],
            ),
            (
                json!([{"value": "NEW@x.org", "primary": true}]),
                vec![(0, "new@x.org".into(), None, true)],
            ),
            (json!([]), vec![]),
        ] {
            let t2 = t.clone();
            s.write(move |c| {
                let d = doc("User", json!({"userName": "BJensen", "emails": emails}));
                users::replace(c, reg(), &t2, "u1", None, d, PasswordChange::Keep, at(3))
            })
            .unwrap();
            assert_eq!(email_rows(s, &t, "u1"), want, "{:?}", db.kind());
        }
        let rec = s.read(|c| users::get_record(c, &t, "u1")).unwrap().unwrap();
        assert_eq!(rec.external_id, None);
    }
}

#[test]
fn versions_and_not_found() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1", "bjensen").unwrap();
        let t2 = t.clone();
        let err = s
            .write(move |c| {
                let d = user_doc("bjensen");
                users::replace(c, reg(), &t2, "u1", Some(7), d, PasswordChange::Keep, at(2))
            })
            .unwrap_err();
        assert_eq!(
            err,
            StoreError::VersionMismatch { current: 1 },
            "{:?}",
            db.kind()
        );
        let t2 = t.clone();
        let err = s
            .write(move |c| users::delete(c, &t2, "u1", Some(0), at(2)))
            .unwrap_err();
        assert_eq!(err, StoreError::VersionMismatch { current: 1 });
        // Without an expected version, writes always apply and bump.
        for v in 2..=3 {
            let t2 = t.clone();
            let r = s
                .write(move |c| {
                    let d = user_doc("bjensen");
                    users::replace(c, reg(), &t2, "u1", None, d, PasswordChange::Keep, at(3))
                })
                .unwrap();
            assert_eq!(r.version, v);
        }
        let missing = StoreError::NotFound {
            resource_type: "User",
            id: "nope".into(),
        };
        let t2 = t.clone();
        let err = s
            .write(move |c| {
                let d = user_doc("x");
                users::replace(
                    c,
                    reg(),
                    &t2,
                    "nope",
                    Some(1),
                    d,
                    PasswordChange::Keep,
                    at(2),
                )
            })
            .unwrap_err();
        assert_eq!(err, missing);
        let t2 = t.clone();
        let err = s
            .write(move |c| users::delete(c, &t2, "nope", None, at(2)))
            .unwrap_err();
        assert_eq!(err, missing);
        let t2 = t.clone();
        let err = s
            .write(move |c| users::set_lifecycle(c, reg(), &t2, "nope", "blocked", false, at(2)))
            .unwrap_err();
        assert_eq!(err, missing);
        let t2 = t.clone();
        let err = s
            .write(move |c| users::set_legal_hold(c, &t2, "nope", true))
            .unwrap_err();
        assert_eq!(err, missing);
    }
}

#[test]
fn password_hash_is_a_column_never_the_resource() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let (t2, new) = (
            t.clone(),
            NewUser {
                id: "u1".into(),
                resource: user_doc("bjensen"),
                password_hash: Some("$argon2id$v=19$hash1".into()),
                origin: Origin::Local,
                now: at(1),
            },
        );
        assert!(
            !format!("{new:?}").contains("hash1"),
            "Debug redacts the hash"
        );
        let u = s.write(move |c| users::insert(c, reg(), &t2, new)).unwrap();
        assert!(!u.resource.to_string().contains("argon2"));
        let rec = s.read(|c| users::get_record(c, &t, "u1")).unwrap().unwrap();
        assert_eq!(rec.password_hash.as_deref(), Some("$argon2id$v=19$hash1"));
        assert_eq!(rec.origin, Origin::Local);
        assert!(!rec.stored.resource.to_string().contains("argon2"));
        assert!(!format!("{rec:?}").contains("hash1"));

        let replace = |change: PasswordChange| {
            let t2 = t.clone();
            s.write(move |c| {
                let d = user_doc("bjensen");
                users::replace(c, reg(), &t2, "u1", None, d, change, at(2))
            })
            .unwrap();
            s.read(|c| users::get_record(c, &t, "u1"))
                .unwrap()
                .unwrap()
                .password_hash
        };
        assert_eq!(
            replace(PasswordChange::Keep).as_deref(),
            Some("$argon2id$v=19$hash1")
        );
        assert_eq!(
            replace(PasswordChange::Set("h2".into())).as_deref(),
            Some("h2")
        );
        assert_eq!(replace(PasswordChange::Clear), None);

        // A document still carrying a plaintext password is refused.
        let t2 = t.clone();
        let err = s
            .write(move |c| {
                let mut d = user_doc("carol");
                d["password"] = json!("hunter2");
                let new = NewUser {
                    id: "u2".into(),
                    resource: d,
                    password_hash: None,
                    origin: Origin::Provisioned,
                    now: at(1),
                };
                users::insert(c, reg(), &t2, new)
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }
}

/// Overwrites the user's email rows behind the store's back, so a test can see whether a
/// write rewrote them.
fn overwrite_email_rows(s: &Store, t: &TenantId, id: &str, value_key: &str) {
    let (t, id, value_key) = (t.clone(), id.to_string(), value_key.to_string());
    s.write(move |c| {
        scim_store::with_conn!(c, |c| {
            diesel::update(
                user_emails::table
                    .filter(user_emails::tenant_id.eq(t.as_str()))
                    .filter(user_emails::user_id.eq(&id)),
            )
            .set(user_emails::value_key.eq(&value_key))
            .execute(&mut **c)
            .unwrap()
        });
        Ok(())
    })
    .unwrap();
}

fn replace_with(
    s: &Store,
    t: &TenantId,
    expected: Option<i64>,
    d: Value,
    unchanged_since: Option<(Value, i64)>,
) -> StoredResource {
    let t = t.clone();
    s.write(move |c| {
        let mut prepared = users::prepare_replace(reg(), d)?;
        if let Some((previous, version)) = &unchanged_since {
            prepared = prepared.emails_as_in(previous, *version);
        }
        users::replace_prepared(c, &t, "u1", expected, prepared, PasswordChange::Keep, at(2))
            .map(|r| r.stored)
    })
    .unwrap()
}

#[test]
fn a_version_checked_replace_with_the_emails_it_read_leaves_their_rows_unread() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let v1 = add_user(s, &t, "u1", "bjensen").unwrap();
        let rows = email_rows(s, &t, "u1");
        assert_eq!(rows.len(), 2);
        // Marked rows show whether a replace touched them.
        overwrite_email_rows(s, &t, "u1", "marked@x.org");
        let mut renamed = v1.resource.clone();
        renamed["displayName"] = json!("Barbara");

        // Same emails as the version it checks: the rows are neither read nor rewritten.
        let v2 = replace_with(
            s,
            &t,
            Some(1),
            renamed.clone(),
            Some((v1.resource.clone(), 1)),
        );
        assert_eq!(v2.version, 2);
        assert!(
            email_rows(s, &t, "u1")
                .iter()
                .all(|r| r.1 == "marked@x.org"),
            "{:?}",
            db.kind()
        );

        // Without a version check the stored rows are read, found different, and rewritten.
        let v3 = replace_with(s, &t, None, renamed.clone(), Some((v2.resource.clone(), 2)));
        assert_eq!(email_rows(s, &t, "u1"), rows, "{:?}", db.kind());

        // A check of another version than the one compared with: read and rewritten too.
        overwrite_email_rows(s, &t, "u1", "marked@x.org");
        replace_with(
            s,
            &t,
            Some(3),
            renamed.clone(),
            Some((v3.resource.clone(), 2)),
        );
        assert_eq!(email_rows(s, &t, "u1"), rows, "{:?}", db.kind());

        // Changed emails are written whatever was compared.
        let mut moved = renamed;
        moved["emails"] = json!([{"value": "New@x.org"}]);
        replace_with(s, &t, Some(4), moved, Some((v3.resource, 4)));
        assert_eq!(
            email_rows(s, &t, "u1"),
            vec![(0, "new@x.org".into(), None, false)],
            "{:?}",
            db.kind()
        );
    }
}

#[test]
fn lifecycle_and_legal_hold() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1", "bjensen").unwrap();
        let t2 = t.clone();
        let r = s
            .write(move |c| {
                users::set_lifecycle(c, reg(), &t2, "u1", "pending_deactivation", false, at(9))
            })
            .unwrap();
        assert_eq!(r.version, 2, "active changed: version bumped");
        assert_eq!(r.updated_at, at(9));
        assert_eq!(r.resource["active"], false);
        let rec = s.read(|c| users::get_record(c, &t, "u1")).unwrap().unwrap();
        assert_eq!(
            (rec.lifecycle.as_str(), rec.active),
            ("pending_deactivation", false),
            "{:?}",
            db.kind()
        );
        assert_eq!(rec.stored.resource["active"], false);
        assert_eq!(rec.stored.version, 2);

        let t2 = t.clone();
        let r = s
            .write(move |c| users::set_lifecycle(c, reg(), &t2, "u1", "deactivated", false, at(10)))
            .unwrap();
        assert_eq!(r.version, 2, "lifecycle only: version kept");
        let rec = s.read(|c| users::get_record(c, &t, "u1")).unwrap().unwrap();
        assert_eq!(rec.lifecycle, "deactivated");
        assert_eq!(rec.stored.updated_at, at(9));

        let t2 = t.clone();
        s.write(move |c| users::set_legal_hold(c, &t2, "u1", true))
            .unwrap();
        let rec = s.read(|c| users::get_record(c, &t, "u1")).unwrap().unwrap();
        assert!(rec.legal_hold);
        assert_eq!(rec.stored.version, 2);

        // Created inactive: the lifecycle column doesn't claim otherwise.
        let t2 = t.clone();
        s.write(move |c| {
            let d = doc("User", json!({"userName": "carol", "active": false}));
            let new = NewUser {
                id: "u2".into(),
                resource: d,
                password_hash: None,
                origin: Origin::Provisioned,
                now: at(1),
            };
            users::insert(c, reg(), &t2, new)
        })
        .unwrap();
        let rec = s.read(|c| users::get_record(c, &t, "u2")).unwrap().unwrap();
        assert_eq!((rec.active, rec.lifecycle.as_str()), (false, "deactivated"));
    }
}

#[test]
fn groups_of_users() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1", "alice").unwrap();
        add_user(s, &t, "u2", "bob").unwrap();
        add_user(s, &t, "u3", "carol").unwrap();
        add_group(s, &t, "g1", "Zeta", &["u1", "u2"]);
        add_group(s, &t, "g2", "alpha", &["u1"]);
        let ids: Vec<String> = ["u1", "u2", "u3"].map(String::from).to_vec();
        let map = s.read(|c| users::groups_of(c, &t, &ids)).unwrap();
        let names = |id: &str| -> Vec<(String, String)> {
            map[id]
                .iter()
                .map(|g| (g.id.clone(), g.display.clone()))
                .collect()
        };
        assert_eq!(
            names("u1"),
            vec![("g2".into(), "alpha".into()), ("g1".into(), "Zeta".into())],
            "{:?}",
            db.kind()
        );
        assert_eq!(names("u2"), vec![("g1".into(), "Zeta".into())]);
        assert!(map["u3"].is_empty());
    }
}

/// The one-statement reads of `GET /Users/{id}` and of the `userName eq` lookup answer what
/// `get_raw` and `groups_of` answer: the same document, the same sorted groups, nothing for
/// another tenant's or a hidden user.
#[test]
fn one_user_with_its_groups_in_one_read() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let other = tenant(s, "globex");
        add_user(s, &t, "u1", "alice").unwrap();
        add_user(s, &t, "u2", "bob").unwrap();
        add_user(s, &t, "u3", "carol").unwrap();
        add_user(s, &other, "u1", "alice").unwrap();
        add_group(s, &t, "g1", "Zeta", &["u1", "u2"]);
        add_group(s, &t, "g2", "alpha", &["u1", "u3"]);
        add_group(s, &t, "g3", "Mid", &["u1"]);
        add_group(s, &other, "g9", "Elsewhere", &["u1"]);

        let (raw, groups) = s
            .read(|c| users::get_raw_with_groups(c, &t, "u1"))
            .unwrap()
            .expect("u1");
        let plain = s.read(|c| users::get_raw(c, &t, "u1")).unwrap().unwrap();
        assert_eq!((raw.id.as_str(), raw.version), ("u1", plain.version));
        assert_eq!(raw.text, plain.text, "{:?}", db.kind());
        let ids: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, ["g2", "g3", "g1"], "{:?}", db.kind());
        let expected = s
            .read(|c| users::groups_of(c, &t, &["u1".to_string()]))
            .unwrap()
            .remove("u1")
            .unwrap();
        assert_eq!(groups, expected);

        // A user in no group has an empty list; another tenant's memberships never show.
        let none = s.read(|c| users::get_raw_with_groups(c, &t, "u2")).unwrap();
        assert_eq!(none.map(|(_, g)| g.len()), Some(1));
        let theirs = s
            .read(|c| users::get_raw_with_groups(c, &other, "u1"))
            .unwrap()
            .unwrap();
        let theirs: Vec<&str> = theirs.1.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(theirs, ["g9"]);
        add_user(s, &t, "u4", "dave").unwrap();
        let lone = s.read(|c| users::get_raw_with_groups(c, &t, "u4")).unwrap();
        assert_eq!(lone.map(|(r, g)| (r.id, g.len())), Some(("u4".into(), 0)));

        // By userName, ignoring case, the same answer.
        let (by_name, name_groups) = s
            .read(|c| users::visible_raw_by_user_name_with_groups(c, &t, "ALICE"))
            .unwrap()
            .expect("alice");
        assert_eq!((by_name.id.as_str(), name_groups), ("u1", groups.clone()));

        // Unknown and hidden users are not found.
        assert!(
            s.read(|c| users::get_raw_with_groups(c, &t, "nope"))
                .unwrap()
                .is_none()
        );
        let t2 = t.clone();
        s.write(move |c| users::hide(c, &t2, "u3", at(9), at(10)).map(|_| ()))
            .unwrap();
        assert!(
            s.read(|c| users::get_raw_with_groups(c, &t, "u3"))
                .unwrap()
                .is_none()
        );
        let carol = s.read(|c| users::visible_raw_by_user_name_with_groups(c, &t, "carol"));
        assert!(carol.unwrap().is_none(), "hidden users are not looked up");
    }
}

#[test]
fn delete_removes_memberships_in_the_same_transaction() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1", "alice").unwrap();
        add_user(s, &t, "u2", "bob").unwrap();
        add_group(s, &t, "g1", "Sales", &["u1", "u2"]);
        add_group(s, &t, "g2", "Ops", &["u2"]);

        // A transaction that deletes and then fails leaves user and memberships in place.
        let t2 = t.clone();
        let err = s
            .write(move |c| {
                users::delete(c, &t2, "u1", None, at(5))?;
                Err::<(), _>(StoreError::Invalid("caller gave up".into()))
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));
        assert!(s.read(|c| users::get(c, &t, "u1")).unwrap().is_some());
        assert_eq!(s.read(|c| groups::member_count(c, &t, "g1")).unwrap(), 2);
        assert_eq!(
            s.read(|c| groups::get(c, &t, "g1"))
                .unwrap()
                .unwrap()
                .version,
            1
        );

        let t2 = t.clone();
        s.write(move |c| users::delete(c, &t2, "u1", None, at(5)))
            .unwrap();
        let left = s.read(|c| groups::members(c, &t, "g1", None, 10)).unwrap();
        assert_eq!(
            left.iter().map(|m| m.value.as_str()).collect::<Vec<_>>(),
            ["u2"],
            "{:?}",
            db.kind()
        );
        let g1 = s.read(|c| groups::get(c, &t, "g1")).unwrap().unwrap();
        assert_eq!((g1.version, g1.updated_at), (2, at(5)), "g1 lost a member");
        let g2 = s.read(|c| groups::get(c, &t, "g2")).unwrap().unwrap();
        assert_eq!(g2.version, 1, "g2 did not change");
        assert!(
            s.read(|c| groups::groups_for_member(c, &t, "u1"))
                .unwrap()
                .is_empty()
        );
    }
}
