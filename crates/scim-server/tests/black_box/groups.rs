//! `/Groups`: create, read, replace, patch (membership in every client dialect) and delete, and
//! the `groups` a user shows for it.

use serde_json::{Value, json};

use crate::common::{
    Server, assert_scim_error, assert_scim_json, each_backend, id_of, resources, urn,
};

/// The member ids of a group document, sorted.
fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|x| x["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn create_get_and_members_shown_both_ways() {
    each_backend(|srv: &Server| {
        let alice = id_of(&srv.create_user("alice@example.com"));
        let bob = id_of(&srv.create_user("bob@example.com"));
        let r = srv.post(
            "/Groups",
            &json!({"schemas": [urn::GROUP], "displayName": "Admins",
                    "members": [{"value": alice, "display": "alice@example.com"}, {"value": bob}]}),
        );
        assert_eq!(r.status, 201, "{r:?}");
        assert_scim_json(&r);
        let g = r.json();
        let gid = id_of(&g);
        let location = format!("{}/scim/v2/Groups/{gid}", srv.origin);
        assert_eq!(r.header("location"), Some(location.as_str()), "{r:?}");
        assert_eq!(json!(r.header("etag")), g["meta"]["version"], "{r:?}");
        assert_eq!(g["meta"]["resourceType"], json!("Group"));
        assert_eq!(member_ids(&g), sorted(&[&alice, &bob]), "{g}");

        let r = srv.get(&format!("/Groups/{gid}"));
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(json!(r.header("etag")), r.json()["meta"]["version"]);
        let g = r.json();
        let a = g["members"]
            .as_array()
            .and_then(|m| m.iter().find(|x| x["value"] == json!(alice)))
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(
            a["$ref"],
            json!(format!("{}/scim/v2/Users/{alice}", srv.origin)),
            "{g}"
        );
        assert_eq!(a["type"], json!("User"), "{g}");

        // The user shows its group (readOnly `groups`), with a link back.
        let u = srv.get(&format!("/Users/{alice}")).json();
        assert_eq!(u["groups"][0]["value"], json!(gid), "{u}");
        assert_eq!(u["groups"][0]["display"], json!("Admins"), "{u}");
        assert_eq!(u["groups"][0]["$ref"], json!(location), "{u}");

        assert_scim_error(
            &srv.get("/Groups/7d0c2c0e-0000-4000-8000-000000000000"),
            404,
            None,
        );
    });
}

#[test]
fn excluded_members_are_not_shown() {
    each_backend(|srv: &Server| {
        let u = id_of(&srv.create_user("m@example.com"));
        let gid = id_of(&srv.create_group("Sales", &[&u]));
        // Entra's reads (clients.md E16).
        let g = srv
            .get(&format!("/Groups/{gid}?excludedAttributes=members"))
            .json();
        assert!(g.get("members").is_none(), "{g}");
        assert_eq!(g["displayName"], json!("Sales"));
        assert_eq!(g["id"], json!(gid));
        let list = srv
            .get("/Groups?excludedAttributes=members&filter=displayName%20eq%20%22sales%22")
            .json();
        assert_eq!(list["totalResults"], json!(1), "{list}");
        assert!(resources(&list)[0].get("members").is_none(), "{list}");
        let list = srv.get("/Groups?attributes=displayName").json();
        let g = &resources(&list)[0];
        assert!(g.get("members").is_none(), "{g}");
        assert_eq!(g["id"], json!(gid), "id is always returned: {g}");
    });
}

#[test]
fn okta_patch_add_and_remove_in_one_request_then_replace_and_rename() {
    each_backend(|srv: &Server| {
        let [a, b, c] =
            ["a@example.com", "b@example.com", "c@example.com"].map(|n| id_of(&srv.create_user(n)));
        let gid = id_of(&srv.create_group("Team", &[&a, &b]));
        let path = format!("/Groups/{gid}");
        let r = srv.patch(
            &path,
            &json!([
                {"op": "remove", "path": format!("members[value eq \"{a}\"]")},
                {"op": "add", "path": "members", "value": [{"value": c, "display": "c@example.com"}]}
            ]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(member_ids(&srv.get(&path).json()), sorted(&[&b, &c]));
        assert!(
            srv.get(&format!("/Users/{a}"))
                .json()
                .get("groups")
                .is_none()
        );

        // Full push: replace the whole membership.
        let r = srv.patch(
            &path,
            &json!([{"op": "replace", "path": "members", "value": [{"value": a}]}]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(member_ids(&srv.get(&path).json()), sorted(&[&a]));

        // Rename: pathless, the value carries the group's own id (clients.md #13).
        let r = srv.patch(
            &path,
            &json!([{"op": "replace", "value": {"id": gid, "displayName": "Team Renamed"}}]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        let g = srv.get(&path).json();
        assert_eq!(g["displayName"], json!("Team Renamed"));
        assert_eq!(g["id"], json!(gid));
        assert_eq!(member_ids(&g), sorted(&[&a]), "rename kept members: {g}");
        // Users see the new name.
        let u = srv.get(&format!("/Users/{a}")).json();
        assert_eq!(u["groups"][0]["display"], json!("Team Renamed"), "{u}");
    });
}

#[test]
fn entra_patch_member_forms() {
    each_backend(|srv: &Server| {
        let [a, b, c] = ["ea@example.com", "eb@example.com", "ec@example.com"]
            .map(|n| id_of(&srv.create_user(n)));
        // Entra creates groups without members.
        let gid = id_of(&srv.create_group("Entra Group", &[]));
        let path = format!("/Groups/{gid}");
        // E8: several members, `$ref: null`.
        let r = srv.patch(
            &path,
            &json!([{"op": "Add", "path": "members", "value": [
                {"$ref": null, "value": a}, {"$ref": null, "value": b}, {"$ref": null, "value": c}]}]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(member_ids(&srv.get(&path).json()), sorted(&[&a, &b, &c]));
        // E6: removal by a value list removes only those.
        let r = srv.patch(
            &path,
            &json!([{"op": "Remove", "path": "members", "value": [{"value": b}]}]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(member_ids(&srv.get(&path).json()), sorted(&[&a, &c]));
        // E7.
        let r = srv.patch(
            &path,
            &json!([{"op": "remove", "path": format!("members[value eq \"{c}\"]")}]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(member_ids(&srv.get(&path).json()), sorted(&[&a]));
        // Adding someone already there changes nothing.
        let r = srv.patch(
            &path,
            &json!([{"op": "add", "path": "members", "value": [{"value": a}]}]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(member_ids(&srv.get(&path).json()), sorted(&[&a]));
        // displayName by path, capitalised op.
        let r = srv.patch(
            &path,
            &json!([{"op": "Replace", "path": "displayName", "value": "Entra Renamed"}]),
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json()["displayName"], json!("Entra Renamed"));
        // Remove all members: path without value.
        let r = srv.patch(&path, &json!([{"op": "remove", "path": "members"}]));
        assert_eq!(r.status, 200, "{r:?}");
        assert!(member_ids(&srv.get(&path).json()).is_empty());
    });
}

#[test]
fn put_replaces_the_whole_group() {
    each_backend(|srv: &Server| {
        let [a, b] = ["pa@example.com", "pb@example.com"].map(|n| id_of(&srv.create_user(n)));
        let gid = id_of(&srv.create_group("Put Group", &[&a]));
        // AIW: GET, then PUT the whole group back with changes (readOnly echoed).
        let mut g = srv.get(&format!("/Groups/{gid}")).json();
        g["displayName"] = json!("Put Group 2");
        g["members"] = json!([{"value": b, "display": "pb@example.com"}]);
        let r = srv.put(&format!("/Groups/{gid}"), &g);
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(json!(r.header("etag")), r.json()["meta"]["version"]);
        let got = srv.get(&format!("/Groups/{gid}")).json();
        assert_eq!(got["displayName"], json!("Put Group 2"));
        assert_eq!(member_ids(&got), sorted(&[&b]));
        // Without members: the group ends up empty (PUT replaces everything).
        let r = srv.put(
            &format!("/Groups/{gid}/"),
            &json!({"schemas": [urn::GROUP], "displayName": "Put Group 2"}),
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert!(member_ids(&srv.get(&format!("/Groups/{gid}")).json()).is_empty());
        // PUT without displayName is refused.
        let r = srv.put(&format!("/Groups/{gid}"), &json!({"schemas": [urn::GROUP]}));
        assert_scim_error(&r, 400, None);
    });
}

#[test]
fn delete_group_then_404_and_users_lose_it() {
    each_backend(|srv: &Server| {
        let u = id_of(&srv.create_user("d@example.com"));
        let gid = id_of(&srv.create_group("Doomed", &[&u]));
        let r = srv.delete(&format!("/Groups/{gid}"));
        assert_eq!(r.status, 204, "{r:?}");
        assert_scim_error(&srv.get(&format!("/Groups/{gid}")), 404, None);
        assert_scim_error(&srv.delete(&format!("/Groups/{gid}")), 404, None);
        let user = srv.get(&format!("/Users/{u}")).json();
        assert!(user.get("groups").is_none(), "{user}");
        // The name is free again.
        srv.create_group("Doomed", &[]);
    });
}

#[test]
fn deleting_a_user_removes_it_from_groups() {
    each_backend(|srv: &Server| {
        let [a, b] = ["x1@example.com", "x2@example.com"].map(|n| id_of(&srv.create_user(n)));
        let gid = id_of(&srv.create_group("Leavers", &[&a, &b]));
        assert_eq!(srv.delete(&format!("/Users/{a}")).status, 204);
        let g = srv.get(&format!("/Groups/{gid}")).json();
        assert_eq!(member_ids(&g), sorted(&[&b]), "{g}");
        let list = srv
            .get(&format!("/Groups?filter=members.value%20eq%20%22{a}%22"))
            .json();
        assert_eq!(list["totalResults"], json!(0), "{list}");
    });
}

#[test]
fn invalid_members_and_duplicate_names_are_refused() {
    each_backend(|srv: &Server| {
        let ghost = "0f5e9c1e-1111-4222-8333-944455556666";
        let r = srv.post(
            "/Groups",
            &json!({"schemas": [urn::GROUP], "displayName": "Ghosts", "members": [{"value": ghost}]}),
        );
        assert_scim_error(&r, 400, None);
        let r = srv.post(
            "/Groups",
            &json!({"schemas": [urn::GROUP], "displayName": "No value", "members": [{"display": "x"}]}),
        );
        assert_scim_error(&r, 400, None);
        let gid = id_of(&srv.create_group("Real", &[]));
        let r = srv.patch(
            &format!("/Groups/{gid}"),
            &json!([{"op": "add", "path": "members", "value": [{"value": ghost}]}]),
        );
        assert_scim_error(&r, 400, None);
        assert!(member_ids(&srv.get(&format!("/Groups/{gid}")).json()).is_empty());
        // A member from another tenant is as unknown as a made-up id.
        let other = srv.new_tenant("other");
        let foreign = srv
            .req("POST", "/Users")
            .bearer(&other)
            .json(&crate::common::user_body("f@example.com"))
            .send()
            .json();
        let r = srv.patch(
            &format!("/Groups/{gid}"),
            &json!([{"op": "add", "path": "members", "value": [{"value": id_of(&foreign)}]}]),
        );
        assert_scim_error(&r, 400, None);
        // displayName is unique per tenant, case-insensitively (clients.md E17).
        let r = srv.post(
            "/Groups",
            &json!({"schemas": [urn::GROUP], "displayName": "REAL"}),
        );
        assert_scim_error(&r, 409, Some("uniqueness"));
        let r = srv.post("/Groups", &json!({"schemas": [urn::GROUP]}));
        assert_scim_error(&r, 400, Some("invalidValue"));
    });
}

/// A malformed `attributes` on a Group write is refused before anything is written: the 400
/// used to come after the commit, so the group existed (a retry then met 409) or was renamed.
#[test]
fn a_bad_projection_on_a_group_write_changes_nothing() {
    each_backend(|srv: &Server| {
        let bad = "attributes=a%20b";
        let new = json!({"schemas": [urn::GROUP], "displayName": "Refused"});
        let r = srv.post(&format!("/Groups?{bad}"), &new);
        assert_scim_error(&r, 400, Some("invalidValue"));
        let found = srv.get("/Groups?filter=displayName%20eq%20%22Refused%22");
        assert_eq!(
            found.json()["totalResults"],
            json!(0),
            "[{}] {found:?}",
            srv.backend
        );

        let g = srv.post(
            "/Groups",
            &json!({"schemas": [urn::GROUP], "displayName": "Kept"}),
        );
        assert_eq!(g.status, 201, "{g:?}");
        let gid = id_of(&g.json());
        let path = format!("/Groups/{gid}");
        let renamed = json!({"schemas": [urn::GROUP], "displayName": "Renamed"});
        let r = srv.put(&format!("{path}?{bad}"), &renamed);
        assert_scim_error(&r, 400, Some("invalidValue"));
        let r = srv
            .req("PATCH", &format!("{path}?excludedAttributes=%24%24"))
            .json(&crate::common::patch_body(
                &json!([{"op": "replace", "path": "displayName", "value": "Patched"}]),
            ))
            .send();
        assert_scim_error(&r, 400, Some("invalidValue"));
        let after = srv.get(&path).json();
        assert_eq!(
            after["displayName"],
            json!("Kept"),
            "[{}] {after}",
            srv.backend
        );
        assert_eq!(after["meta"]["version"], g.json()["meta"]["version"]);
    });
}
