//! Tenant isolation on both backends: the same names live side by side in two tenants, and
//! nothing of tenant A can be read, changed or deleted through tenant B's id.

#![expect(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use common::{doc, reg};

use chrono::{NaiveDate, NaiveDateTime};
use scim_core::patch::{Member, MemberOp};
use scim_store::groups::{self, NewGroup};
use scim_store::testing::TestDb;
use scim_store::users::{self, NewUser, PasswordChange};
use scim_store::{Conn, Origin, Store, StoreError, TenantId, tenants, tokens};
use serde_json::json;

fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

fn member(id: &str) -> Member {
    Member {
        value: id.into(),
        display: None,
        kind: None,
    }
}

/// A tenant holding user `{prefix}-u` named `bjensen` and group `{prefix}-g` named `Sales`
/// containing it, plus a token `{prefix}-tok`.
fn populate(s: &Store, name: &str, prefix: &str) -> TenantId {
    let (name, p) = (name.to_string(), prefix.to_string());
    s.write(move |c| {
        let t = tenants::create(c, &name, now())?.id;
        let user = NewUser {
            id: format!("{p}-u"),
            resource: doc("User", json!({"userName": "bjensen"})),
            password_hash: None,
            origin: Origin::Provisioned,
            now: now(),
        };
        users::insert(c, reg(), &t, user)?;
        let group = NewGroup {
            id: format!("{p}-g"),
            resource: doc("Group", json!({"displayName": "Sales"})),
            members: vec![member(&format!("{p}-u"))],
            now: now(),
        };
        groups::insert(c, reg(), &t, group)?;
        tokens::create(c, &t, &format!("{p}-tok"), "hash", "scim", None, now())?;
        Ok(t)
    })
    .unwrap()
}

/// A write attempted with tenant B's id.
type WriteAsB = Box<dyn FnOnce(&mut Conn<'_>, &TenantId) -> Result<(), StoreError> + Send>;

fn not_found<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str) {
    match r {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

#[test]
fn same_names_in_two_tenants() {
    for db in TestDb::all() {
        let s = &db.store;
        let a = populate(s, "a", "a");
        let b = populate(s, "b", "b");
        let ua = s.read(|c| users::by_user_name(c, &a, "BJENSEN")).unwrap();
        let ub = s.read(|c| users::by_user_name(c, &b, "bjensen")).unwrap();
        assert_eq!(ua.unwrap().id, "a-u", "{:?}", db.kind());
        assert_eq!(ub.unwrap().id, "b-u");
        let ga = s.read(|c| groups::by_display_name(c, &a, "sales")).unwrap();
        assert_eq!(ga.unwrap().id, "a-g");
        assert_eq!(s.read(|c| users::count(c, &a)).unwrap(), 1);
        assert_eq!(s.read(|c| groups::count(c, &b)).unwrap(), 1);
    }
}

#[test]
fn nothing_of_a_is_reachable_with_b() {
    for db in TestDb::all() {
        let s = &db.store;
        let a = populate(s, "a", "a");
        let b = populate(s, "b", "b");

        // Reads.
        assert_eq!(s.read(|c| users::get(c, &b, "a-u")).unwrap(), None);
        assert_eq!(s.read(|c| users::get_record(c, &b, "a-u")).unwrap(), None);
        assert_eq!(s.read(|c| groups::get(c, &b, "a-g")).unwrap(), None);
        assert!(
            s.read(|c| groups::members(c, &b, "a-g", None, 10))
                .unwrap()
                .is_empty()
        );
        assert_eq!(s.read(|c| groups::member_count(c, &b, "a-g")).unwrap(), 0);
        let of = s
            .read(|c| users::groups_of(c, &b, &["a-u".into()]))
            .unwrap();
        assert!(of["a-u"].is_empty(), "{:?}", db.kind());
        assert!(
            s.read(|c| groups::groups_for_member(c, &b, "a-u"))
                .unwrap()
                .is_empty()
        );
        let listed = s.read(|c| tokens::list(c, &b)).unwrap();
        assert_eq!(
            listed.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            ["b-tok"]
        );

        // Writes.
        let w = |f: WriteAsB| {
            let b = b.clone();
            s.write(move |c| f(c, &b))
        };
        not_found(
            w(Box::new(|c, b| {
                let d = doc("User", json!({"userName": "mallory"}));
                users::replace(c, reg(), b, "a-u", None, d, PasswordChange::Clear, now()).map(drop)
            })),
            "replace user",
        );
        not_found(
            w(Box::new(|c, b| {
                users::set_lifecycle(c, reg(), b, "a-u", "blocked", false, now()).map(drop)
            })),
            "set_lifecycle",
        );
        not_found(
            w(Box::new(|c, b| users::set_legal_hold(c, b, "a-u", true))),
            "set_legal_hold",
        );
        not_found(
            w(Box::new(|c, b| users::delete(c, b, "a-u", None, now()))),
            "delete user",
        );
        not_found(
            w(Box::new(|c, b| {
                let ops = [MemberOp::RemoveAll];
                groups::patch(c, reg(), b, "a-g", None, None, &ops, now()).map(drop)
            })),
            "patch group",
        );
        not_found(
            w(Box::new(|c, b| {
                let d = doc("Group", json!({"displayName": "Pwned"}));
                groups::replace(c, reg(), b, "a-g", None, d, Some(vec![]), now()).map(drop)
            })),
            "replace group",
        );
        not_found(
            w(Box::new(|c, b| {
                groups::delete(c, b, "a-g", None, now()).map(drop)
            })),
            "delete group",
        );
        // B can't put A's user into its own group, nor revoke A's token.
        let err = w(Box::new(|c, b| {
            let ops = [MemberOp::Add(vec![member("a-u")])];
            groups::patch(c, reg(), b, "b-g", None, None, &ops, now()).map(drop)
        }))
        .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        let b2 = b.clone();
        assert!(
            !s.write(move |c| tokens::revoke(c, &b2, "a-tok", now()))
                .unwrap()
        );

        // A is untouched.
        let ua = s
            .read(|c| users::get_record(c, &a, "a-u"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                ua.stored.version,
                ua.active,
                ua.legal_hold,
                ua.user_name.as_str()
            ),
            (1, true, false, "bjensen")
        );
        let ga = s.read(|c| groups::get(c, &a, "a-g")).unwrap().unwrap();
        assert_eq!(
            (ga.version, ga.resource["displayName"].as_str()),
            (1, Some("Sales"))
        );
        assert_eq!(s.read(|c| groups::member_count(c, &a, "a-g")).unwrap(), 1);
        assert!(
            s.read(|c| tokens::get(c, "a-tok"))
                .unwrap()
                .unwrap()
                .is_active()
        );
        assert_eq!(s.read(|c| groups::member_count(c, &b, "b-g")).unwrap(), 1);

        // Deleting B leaves A whole.
        let b2 = b.clone();
        assert!(s.write(move |c| tenants::delete(c, &b2)).unwrap());
        assert!(s.read(|c| users::get(c, &a, "a-u")).unwrap().is_some());
        assert_eq!(s.read(|c| groups::member_count(c, &a, "a-g")).unwrap(), 1);
        assert_eq!(s.read(|c| users::get(c, &b, "b-u")).unwrap(), None);
    }
}
