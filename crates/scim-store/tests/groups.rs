//! Groups and membership on both backends: members as diffs (checked with a trigger that logs
//! every row inserted into or deleted from `group_members`), member validation, paging,
//! `RemoveWhere` against core's in-memory semantics, versions.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use common::{at, doc, reg};

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use scim_core::filter::parse_filter;
use scim_core::patch::{Member, MemberOp};
use scim_store::groups::{self, NewGroup};
use scim_store::testing::TestDb;
use scim_store::users::{self, NewUser};
use scim_store::{BackendKind, Conn, Origin, Store, StoreError, StoredResource, TenantId, tenants};
use serde_json::json;

fn tenant(s: &Store, name: &str) -> TenantId {
    let name = name.to_string();
    s.write(move |c| tenants::create(c, &name, at(0)))
        .unwrap()
        .id
}

fn add_user(s: &Store, t: &TenantId, id: &str) {
    let new = NewUser {
        id: id.into(),
        resource: doc("User", json!({ "userName": format!("name-{id}") })),
        password_hash: None,
        origin: Origin::Provisioned,
        now: at(1),
    };
    let t = t.clone();
    s.write(move |c| users::insert(c, reg(), &t, new)).unwrap();
}

fn m(id: &str) -> Member {
    Member {
        value: id.into(),
        display: None,
        kind: None,
    }
}

fn md(id: &str, display: &str, kind: &str) -> Member {
    Member {
        value: id.into(),
        display: Some(display.into()),
        kind: Some(kind.into()),
    }
}

fn add_group(
    s: &Store,
    t: &TenantId,
    id: &str,
    name: &str,
    members: Vec<Member>,
) -> Result<StoredResource, StoreError> {
    let new = NewGroup {
        id: id.into(),
        resource: doc("Group", json!({ "displayName": name })),
        members,
        now: at(1),
    };
    let t = t.clone();
    s.write(move |c| groups::insert(c, reg(), &t, new))
}

fn patch(
    s: &Store,
    t: &TenantId,
    id: &str,
    expected: Option<i64>,
    ops: Vec<MemberOp>,
) -> Result<StoredResource, StoreError> {
    let (t, id) = (t.clone(), id.to_string());
    s.write(move |c| groups::patch(c, reg(), &t, &id, expected, None, &ops, at(7)))
}

fn member_ids(s: &Store, t: &TenantId, g: &str) -> Vec<String> {
    s.read(|c| groups::members(c, t, g, None, 1_000_000))
        .unwrap()
        .into_iter()
        .map(|m| m.value)
        .collect()
}

fn version(s: &Store, t: &TenantId, g: &str) -> i64 {
    s.read(|c| groups::get(c, t, g)).unwrap().unwrap().version
}

fn batch(c: &mut Conn<'_>, sql: &str) -> Result<(), StoreError> {
    match c {
        Conn::Sqlite(c) => c.batch_execute(sql).map_err(StoreError::from),
        Conn::Pg(c) => c.batch_execute(sql).map_err(StoreError::from),
    }
}

/// Logs every row inserted into or deleted from `group_members` into `member_writes`.
fn install_write_log(s: &Store) {
    let sql = match s.backend() {
        BackendKind::Sqlite => {
            "CREATE TABLE member_writes (w TEXT NOT NULL);
             CREATE TRIGGER gm_ins AFTER INSERT ON group_members
               BEGIN INSERT INTO member_writes VALUES ('+' || new.member_id); END;
             CREATE TRIGGER gm_del AFTER DELETE ON group_members
               BEGIN INSERT INTO member_writes VALUES ('-' || old.member_id); END;"
        }
        BackendKind::Postgres => {
            "CREATE TABLE member_writes (w TEXT NOT NULL);
             CREATE FUNCTION log_member_write() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF TG_OP = 'DELETE' THEN
                 INSERT INTO member_writes VALUES ('-' || OLD.member_id); RETURN OLD;
               ELSE
                 INSERT INTO member_writes VALUES ('+' || NEW.member_id); RETURN NEW;
               END IF;
             END $$;
             CREATE TRIGGER gm_writes AFTER INSERT OR DELETE ON group_members
               FOR EACH ROW EXECUTE FUNCTION log_member_write();"
        }
    };
    s.write(move |c| batch(c, sql)).unwrap();
}

#[derive(diesel::QueryableByName)]
struct Logged {
    #[diesel(sql_type = Text)]
    w: String,
}

/// The logged writes since the last call, sorted, and clears the log.
fn take_writes(s: &Store) -> Vec<String> {
    s.write(|c| {
        let q = diesel::sql_query("SELECT w FROM member_writes ORDER BY w");
        let rows: Vec<Logged> = match c {
            Conn::Sqlite(c) => q.load(&mut **c)?,
            Conn::Pg(c) => q.load(&mut **c)?,
        };
        batch(c, "DELETE FROM member_writes")?;
        Ok(rows.into_iter().map(|r| r.w).collect())
    })
    .unwrap()
}

#[test]
fn insert_get_members_paging() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let mut ids: Vec<String> = (0..25).map(|i| format!("u{i:02}")).collect();
        for id in &ids {
            add_user(s, &t, id);
        }
        add_group(s, &t, "g0", "Nested", vec![]).unwrap();
        let mut members: Vec<Member> = ids.iter().map(|i| m(i)).collect();
        // The client's type is ignored: g0 is found among groups.
        members.push(md("g0", "Nested", "User"));
        members.push(m("u00")); // duplicates collapse
        let g = add_group(s, &t, "g1", "Sales", members).unwrap();
        assert_eq!(g.version, 1);
        assert!(g.resource.get("members").is_none());
        let got = s.read(|c| groups::get(c, &t, "g1")).unwrap().unwrap();
        assert_eq!(got, g, "{:?}", db.kind());
        assert_eq!(s.read(|c| groups::member_count(c, &t, "g1")).unwrap(), 26);

        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = s
                .read(|c| groups::members(c, &t, "g1", after.as_deref(), 10))
                .unwrap();
            assert!(page.len() <= 10);
            let Some(last) = page.last() else { break };
            after = Some(last.value.clone());
            seen.extend(page);
        }
        ids.insert(0, "g0".into());
        assert_eq!(
            seen.iter().map(|m| m.value.clone()).collect::<Vec<_>>(),
            ids
        );
        assert_eq!(seen[0].kind.as_deref(), Some("Group"));
        assert_eq!(seen[0].display.as_deref(), Some("Nested"));
        assert_eq!(seen[1].kind.as_deref(), Some("User"));
        let of = s.read(|c| groups::groups_for_member(c, &t, "g0")).unwrap();
        assert_eq!(of.len(), 1);
        assert_eq!((of[0].id.as_str(), of[0].display.as_str()), ("g1", "Sales"));
        assert_eq!(s.read(|c| groups::count(c, &t)).unwrap(), 2);
    }
}

#[test]
fn display_name_is_unique_ignoring_case() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_group(s, &t, "g1", "Sales", vec![]).unwrap();
        let err = add_group(s, &t, "g2", "SALES", vec![]).unwrap_err();
        assert_eq!(
            err,
            StoreError::Conflict {
                attribute: "displayName",
                value: "SALES".into()
            },
            "{:?}",
            db.kind()
        );
        add_group(s, &t, "g3", "Ops", vec![]).unwrap();
        let t2 = t.clone();
        let err = s
            .write(move |c| {
                let d = doc("Group", json!({"displayName": "sales"}));
                groups::replace(c, reg(), &t2, "g3", None, d, None, at(2))
            })
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Conflict {
                    attribute: "displayName",
                    ..
                }
            ),
            "{err:?}"
        );
        let t2 = t.clone();
        let err = s
            .write(move |c| {
                let d = doc("Group", json!({"displayName": "sAlEs"}));
                groups::patch(c, reg(), &t2, "g3", None, Some(d), &[], at(2))
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        let found = s.read(|c| groups::by_display_name(c, &t, "sales")).unwrap();
        assert_eq!(found.unwrap().id, "g1");
    }
}

#[test]
fn invalid_members_are_refused_and_roll_back() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        let other = tenant(s, "other");
        add_user(s, &t, "u1");
        add_user(s, &other, "theirs");
        add_group(s, &t, "g1", "Sales", vec![m("u1")]).unwrap();

        for (why, id) in [
            ("unknown id", "ghost"),
            ("another tenant's user", "theirs"),
            ("itself", "g1"),
        ] {
            let err = patch(s, &t, "g1", None, vec![MemberOp::Add(vec![m(id)])]).unwrap_err();
            assert!(
                matches!(err, StoreError::Invalid(_)),
                "{why} on {:?}: {err:?}",
                db.kind()
            );
            let err =
                patch(s, &t, "g1", None, vec![MemberOp::ReplaceAll(vec![m(id)])]).unwrap_err();
            assert!(matches!(err, StoreError::Invalid(_)), "{why}: {err:?}");
        }
        // Nothing of the failed requests stuck: not the version bump, not the removals.
        assert_eq!(version(s, &t, "g1"), 1);
        assert_eq!(member_ids(s, &t, "g1"), ["u1"]);

        let err = add_group(s, &t, "g2", "Ops", vec![m("theirs")]).unwrap_err();
        assert!(
            matches!(err, StoreError::Invalid(ref msg) if msg.contains("theirs")),
            "{err:?}"
        );
        assert_eq!(s.read(|c| groups::get(c, &t, "g2")).unwrap(), None);
    }
}

#[test]
fn membership_changes_are_diffs() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        for u in ["u1", "u2", "u3", "u4", "u5"] {
            add_user(s, &t, u);
        }
        add_group(s, &t, "g1", "Sales", vec![m("u1"), m("u2"), m("u3")]).unwrap();
        install_write_log(s);

        // Adding a present member is a no-op; only the new one is written.
        let g = patch(
            s,
            &t,
            "g1",
            Some(1),
            vec![MemberOp::Add(vec![m("u1"), m("u4")])],
        )
        .unwrap();
        assert_eq!(g.version, 2);
        assert_eq!(g.updated_at, at(7));
        assert_eq!(take_writes(s), ["+u4"], "{:?}", db.kind());

        patch(
            s,
            &t,
            "g1",
            Some(2),
            vec![MemberOp::Remove(vec!["u2".into(), "zz".into()])],
        )
        .unwrap();
        assert_eq!(take_writes(s), ["-u2"]);
        assert_eq!(member_ids(s, &t, "g1"), ["u1", "u3", "u4"]);

        // Replace-all touches only the difference, and updates a changed display in place.
        let g = patch(
            s,
            &t,
            "g1",
            None,
            vec![MemberOp::ReplaceAll(vec![
                md("u3", "Three", "User"),
                m("u4"),
                m("u5"),
            ])],
        )
        .unwrap();
        assert_eq!(g.version, 4);
        assert_eq!(take_writes(s), ["+u5", "-u1"]);
        let listed = s.read(|c| groups::members(c, &t, "g1", None, 10)).unwrap();
        assert_eq!(listed[0].value, "u3");
        assert_eq!(listed[0].display.as_deref(), Some("Three"));

        // PUT with the same list writes nothing to group_members; with None, nothing at all.
        let put = |members: Option<Vec<Member>>| {
            let t2 = t.clone();
            s.write(move |c| {
                let d = doc("Group", json!({"displayName": "Sales", "externalId": "x1"}));
                groups::replace(c, reg(), &t2, "g1", None, d, members, at(8))
            })
            .unwrap()
        };
        let g = put(Some(vec![md("u3", "Three", "User"), m("u4"), m("u5")]));
        assert_eq!(g.version, 5);
        assert_eq!(g.resource["externalId"], "x1");
        assert!(take_writes(s).is_empty());
        put(None);
        assert!(take_writes(s).is_empty());
        assert_eq!(member_ids(s, &t, "g1"), ["u3", "u4", "u5"]);
        put(Some(vec![m("u1")]));
        assert_eq!(take_writes(s), ["+u1", "-u3", "-u4", "-u5"]);

        // Several ops in one request apply in order, with one version bump.
        let g = patch(
            s,
            &t,
            "g1",
            Some(7),
            vec![
                MemberOp::RemoveAll,
                MemberOp::Add(vec![m("u2"), m("u3")]),
                MemberOp::Remove(vec!["u3".into()]),
            ],
        )
        .unwrap();
        assert_eq!(g.version, 8);
        assert_eq!(member_ids(s, &t, "g1"), ["u2"]);
        assert_eq!(take_writes(s), ["+u2", "+u3", "-u1", "-u3"]);
    }
}

#[test]
fn remove_where_matches_core() {
    let members_def = reg()
        .schema("urn:ietf:params:scim:schemas:core:2.0:Group")
        .unwrap()
        .attribute("members")
        .unwrap();
    let filters = [
        r#"value eq "u1""#,
        r#"value eq "u1" or value eq "g0" or value eq "nobody""#,
        r#"value eq "U1""#,
        r#"display co "LI""#,
        r#"display sw "b""#,
        r#"type eq "Group""#,
        r#"not (value eq "u1")"#,
        r#"display pr and not (type eq "Group")"#,
        r#"value ew "2" or display ew "ROL""#,
        r#"value ne "u3""#,
    ];
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        for u in ["u1", "u2", "u3", "u4"] {
            add_user(s, &t, u);
        }
        add_group(s, &t, "g0", "Nested", vec![]).unwrap();
        let initial = vec![
            md("u1", "Alice", "User"),
            md("u2", "Bob", "User"),
            md("u3", "Carol", "User"),
            m("u4"),
            md("g0", "Nested", "Group"),
        ];
        for (i, text) in filters.iter().enumerate() {
            let id = format!("g{}", i + 1);
            add_group(s, &t, &id, &format!("G{i}"), initial.clone()).unwrap();
            let filter = parse_filter(text).unwrap();
            let mut expected = initial.clone();
            MemberOp::RemoveWhere(filter.clone()).apply_to(&mut expected, members_def);
            let mut expected: Vec<String> = expected.into_iter().map(|m| m.value).collect();
            expected.sort();
            let g = patch(s, &t, &id, Some(1), vec![MemberOp::RemoveWhere(filter)]).unwrap();
            // A removal that matched nobody writes nothing and keeps the version.
            let removed_some = expected.len() < initial.len();
            assert_eq!(g.version, if removed_some { 2 } else { 1 }, "{text}");
            assert_eq!(
                member_ids(s, &t, &id),
                expected,
                "{text} on {:?}",
                db.kind()
            );
        }
    }
}

#[test]
fn versions_and_not_found() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1");
        add_group(s, &t, "g1", "Sales", vec![]).unwrap();
        let err = patch(s, &t, "g1", Some(3), vec![MemberOp::Add(vec![m("u1")])]).unwrap_err();
        assert_eq!(
            err,
            StoreError::VersionMismatch { current: 1 },
            "{:?}",
            db.kind()
        );
        assert!(member_ids(s, &t, "g1").is_empty());
        let missing = StoreError::NotFound {
            resource_type: "Group",
            id: "nope".into(),
        };
        assert_eq!(patch(s, &t, "nope", None, vec![]).unwrap_err(), missing);
        let t2 = t.clone();
        let err = s
            .write(move |c| {
                let d = doc("Group", json!({"displayName": "x"}));
                groups::replace(c, reg(), &t2, "nope", None, d, None, at(2))
            })
            .unwrap_err();
        assert_eq!(err, missing);
        let t2 = t.clone();
        let err = s
            .write(move |c| groups::delete(c, &t2, "nope", None, at(2)))
            .unwrap_err();
        assert_eq!(err, missing);
        let t2 = t.clone();
        let err = s
            .write(move |c| groups::delete(c, &t2, "g1", Some(9), at(2)))
            .unwrap_err();
        assert_eq!(err, StoreError::VersionMismatch { current: 1 });

        // A patch of attributes rewrites the document; a members-only patch keeps it.
        let t2 = t.clone();
        let g = s
            .write(move |c| {
                let d = doc("Group", json!({"displayName": "Sales EMEA"}));
                groups::patch(c, reg(), &t2, "g1", Some(1), Some(d), &[], at(3))
            })
            .unwrap();
        assert_eq!(
            (g.version, g.resource["displayName"].as_str()),
            (2, Some("Sales EMEA"))
        );
        let g = patch(s, &t, "g1", Some(2), vec![MemberOp::Add(vec![m("u1")])]).unwrap();
        assert_eq!(g.resource["displayName"], "Sales EMEA");
        assert_eq!(g.version, 3);
        let found = s
            .read(|c| groups::by_display_name(c, &t, "SALES emea"))
            .unwrap();
        assert_eq!(found.unwrap().id, "g1");
    }
}

#[test]
fn deleting_a_group_removes_it_everywhere() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1");
        add_group(s, &t, "child", "Child", vec![m("u1")]).unwrap();
        add_group(s, &t, "parent", "Parent", vec![m("child"), m("u1")]).unwrap();
        let t2 = t.clone();
        s.write(move |c| groups::delete(c, &t2, "child", Some(1), at(4)))
            .unwrap();
        assert_eq!(s.read(|c| groups::get(c, &t, "child")).unwrap(), None);
        assert_eq!(member_ids(s, &t, "parent"), ["u1"], "{:?}", db.kind());
        let p = s.read(|c| groups::get(c, &t, "parent")).unwrap().unwrap();
        assert_eq!((p.version, p.updated_at), (2, at(4)));
        assert_eq!(s.read(|c| groups::member_count(c, &t, "child")).unwrap(), 0);
        let of = s.read(|c| groups::groups_for_member(c, &t, "u1")).unwrap();
        assert_eq!(
            of.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
            ["parent"]
        );
    }
}

/// The count every group's row keeps (triggers on `group_members`) against its member rows,
/// after each kind of membership write, on both backends; then again after the migration that
/// adds it is reverted and re-run, which must compute it from the rows already there.
#[test]
fn member_count_follows_every_membership_write() {
    fn check(s: &Store, t: &TenantId, groups_: &[&str], kind: BackendKind, step: &str) {
        for g in groups_ {
            let rows = i64::try_from(member_ids(s, t, g).len()).unwrap();
            let kept = s.read(|c| groups::member_count(c, t, g)).unwrap();
            assert_eq!(kept, rows, "{g} after {step} on {kind:?}");
        }
    }
    for db in TestDb::all() {
        let (s, kind) = (&db.store, db.kind());
        let t = tenant(s, "acme");
        let other = tenant(s, "other");
        for i in 0..10 {
            add_user(s, &t, &format!("u{i}"));
        }
        add_user(s, &other, "x0");
        add_group(s, &other, "g1", "Theirs", vec![m("x0")]).unwrap();
        add_group(s, &t, "g0", "Child", vec![m("u9")]).unwrap();
        let five: Vec<Member> = ["u0", "u1", "u2", "u3", "u4", "g0"].map(m).into();
        add_group(s, &t, "g1", "Sales", five).unwrap();
        add_group(s, &t, "g2", "Ops", ["u3", "u4", "u5"].map(m).into()).unwrap();
        let all = ["g0", "g1", "g2"];
        check(s, &t, &all, kind, "create");
        assert_eq!(s.read(|c| groups::member_count(c, &t, "g1")).unwrap(), 6);

        // Adding present members and removing absent ones count nothing.
        patch(
            s,
            &t,
            "g1",
            None,
            vec![MemberOp::Add(["u0", "u5", "u6", "u6"].map(m).into())],
        )
        .unwrap();
        patch(
            s,
            &t,
            "g1",
            None,
            vec![MemberOp::Remove(vec!["u1".into(), "u8".into()])],
        )
        .unwrap();
        check(s, &t, &all, kind, "add and remove");
        let filter = parse_filter(r#"value eq "u2" or value eq "u3""#).unwrap();
        patch(s, &t, "g1", None, vec![MemberOp::RemoveWhere(filter)]).unwrap();
        check(s, &t, &all, kind, "remove by filter");
        patch(
            s,
            &t,
            "g2",
            None,
            vec![MemberOp::ReplaceAll(["u5", "u7", "u8"].map(m).into())],
        )
        .unwrap();
        check(s, &t, &all, kind, "replace all");
        let (t2, resource) = (t.clone(), doc("Group", json!({ "displayName": "Ops" })));
        let members = Some(["u4", "u5", "u6", "u7"].map(m).into());
        s.write(move |c| groups::replace(c, reg(), &t2, "g2", None, resource, members, at(8)))
            .unwrap();
        check(s, &t, &all, kind, "PUT");
        // A deleted user or group leaves every group it was in.
        let t2 = t.clone();
        s.write(move |c| users::delete(c, &t2, "u5", None, at(9)))
            .unwrap();
        let t2 = t.clone();
        s.write(move |c| groups::delete(c, &t2, "g0", None, at(9)))
            .unwrap();
        check(s, &t, &["g1", "g2"], kind, "deletes");
        assert_eq!(s.read(|c| groups::member_count(c, &t, "g0")).unwrap(), 0);
        patch(s, &t, "g1", None, vec![MemberOp::RemoveAll]).unwrap();
        check(s, &t, &["g1", "g2"], kind, "remove all");
        assert_eq!(s.read(|c| groups::member_count(c, &t, "g1")).unwrap(), 0);
        patch(
            s,
            &t,
            "g1",
            None,
            vec![MemberOp::Add(["u0", "u9"].map(m).into())],
        )
        .unwrap();
        // Another tenant's group of the same id keeps its own count.
        assert_eq!(
            s.read(|c| groups::member_count(c, &other, "g1")).unwrap(),
            1
        );

        s.migrate_down_last().unwrap();
        s.migrate().unwrap();
        check(s, &t, &["g1", "g2"], kind, "the migration again");
        assert_eq!(s.read(|c| groups::member_count(c, &t, "g1")).unwrap(), 2);
        assert_eq!(s.read(|c| groups::member_count(c, &t, "g2")).unwrap(), 3);
        assert_eq!(
            s.read(|c| groups::member_count(c, &other, "g1")).unwrap(),
            1
        );
    }
}

#[test]
fn member_rows_read_each_stored_type_and_refuse_an_unknown_one() {
    use scim_store::members::{MemberKind, member_rows};
    for db in TestDb::all() {
        let s = &db.store;
        let t = tenant(s, "acme");
        add_user(s, &t, "u1");
        add_group(s, &t, "g0", "Child", vec![]).unwrap();
        add_group(
            s,
            &t,
            "g1",
            "Parent",
            vec![md("u1", "Ada", "User"), m("g0")],
        )
        .unwrap();
        let t2 = t.clone();
        let rows = s
            .read(move |c| member_rows(c, &t2, "g1", None, 10))
            .unwrap();
        let kinds: Vec<(&str, MemberKind, Option<&str>)> = rows
            .iter()
            .map(|r| (r.value.as_str(), r.kind, r.display.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("g0", MemberKind::Group, None),
                ("u1", MemberKind::User, Some("Ada"))
            ],
            "{:?}",
            db.kind()
        );
        // A type no write stores (a hand-edited database) is an error, not a guess.
        s.write(|c| {
            batch(
                c,
                "UPDATE group_members SET member_type = 'Robot' WHERE member_id = 'g0'",
            )
        })
        .unwrap();
        let t2 = t.clone();
        let err = s
            .read(move |c| member_rows(c, &t2, "g1", None, 10))
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Database(m) if m.contains("member_type")),
            "{:?}: {err:?}",
            db.kind()
        );
    }
}
