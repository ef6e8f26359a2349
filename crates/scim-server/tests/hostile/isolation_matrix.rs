//! The isolation matrix: no endpoint lets tenant A read or change tenant B's data, and no token
//! reaches the API it isn't for. black_box/isolation.rs shows the main refusals one by one;
//! here every operation of the served OpenAPI document is swept, so an endpoint added later is
//! covered (or fails the sweep) without editing this file.
//!
//! - Every SCIM operation on an `{id}` with A's token and one of B's ids: 404, the same answer
//!   (status, `scimType`, detail) as for an id nobody has, even with B's current ETag in
//!   `If-Match` or `If-None-Match` (a 412 or 304 would reveal the resource).
//! - Filters, searches and Bulk naming B's ids, names and values find and touch nothing; B's
//!   users and groups can't be made members of A's groups (the same 400 as a made-up id).
//! - Every admin operation with a SCIM token (A's or B's) is 403, without credentials 401;
//!   every authenticated SCIM operation with the administrator token is 403.
//! - Every admin operation that takes a user or token id, addressed to tenant A with one of B's
//!   ids, is 404; a password check under A's name with B's user fails.
//! - Afterwards B's data is exactly as before, seen through B's token and the admin API.

use serde_json::{Value, json};

use crate::common::{
    Resp, SCIM, Server, assert_scim_error, each_backend, id_of, patch_body, urn, user_body,
};

/// Tenant B's name (A is the harness's `acme`).
const B: &str = "tenant-b";
/// The synced password of B's user.
const B_PASSWORD: &str = "b-user-Password-1";
/// An id nobody has.
const GHOST: &str = "00000000-0000-4000-8000-000000000000";

/// Both tenants' resources, and the tokens.
struct World {
    admin: String,
    b_token: String,
    ua: String,
    ga: String,
    ub: String,
    ub_name: String,
    ub_ext: String,
    ub_email: String,
    ub_token_id: String,
    gb: String,
    gb_name: String,
}

fn setup(srv: &Server) -> World {
    let admin = srv.cli_ok(&["token", "create", "--admin"]);
    let ua = id_of(&srv.create_user("alice@a.example"));
    let ga = id_of(&srv.create_group("A-Staff", &[&ua]));
    let b_token = srv.new_tenant(B);
    let as_b = |method: &str, path: &str| srv.req(method, path).bearer(&b_token);
    let ub_name = "bob@b.example".to_string();
    let mut body = user_body(&ub_name);
    body["password"] = json!(B_PASSWORD);
    let r = as_b("POST", "/Users").json(&body).send();
    assert_eq!(r.status, 201, "{r:?}");
    let ub_doc = r.json();
    let ub = id_of(&ub_doc);
    // A second user of B, deactivated: B then has a pending deactivation job.
    let r = as_b("POST", "/Users")
        .json(&json!({"schemas": [urn::USER], "userName": "carl@b.example", "active": false}))
        .send();
    assert_eq!(r.status, 201, "{r:?}");
    let gb_name = "B-Secret-Project".to_string();
    let r = as_b("POST", "/Groups")
        .json(
            &json!({"schemas": [urn::GROUP], "displayName": gb_name, "externalId": "b-ext-group",
            "members": [{"value": ub}]}),
        )
        .send();
    assert_eq!(r.status, 201, "{r:?}");
    let gb = id_of(&r.json());
    World {
        ub_token_id: b_token.split('.').next().unwrap_or_default().to_string(),
        admin,
        b_token,
        ua,
        ga,
        ub,
        ub_ext: ub_doc["externalId"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        ub_email: ub_name.clone(),
        ub_name,
        gb,
        gb_name,
    }
}

/// GET a path with a token; the body as JSON (status included so a change of answer shows).
fn read(srv: &Server, token: &str, path: &str) -> Value {
    let r = srv.raw("GET", path).bearer(token).send();
    json!({"path": path, "status": r.status, "body": serde_json::from_str::<Value>(&r.text).unwrap_or(Value::Null)})
}

/// Everything of B's that a cross-tenant request could change, through B's token and the
/// admin API.
fn b_state(srv: &Server, w: &World) -> Vec<Value> {
    let scim = |p: &str| read(srv, &w.b_token, &format!("{SCIM}{p}"));
    let admin = |p: &str| read(srv, &w.admin, &format!("/admin/v1/tenants/{B}{p}"));
    let state = vec![
        scim(&format!("/Users/{}", w.ub)),
        scim(&format!("/Groups/{}", w.gb)),
        scim("/Users"),
        scim("/Groups"),
        admin(""),
        admin("/tokens"),
        admin("/sync-log"),
        admin("/jobs"),
        admin(&format!("/users/{}/state", w.ub)),
        admin(&format!("/users/{}/entitlements", w.ub)),
        admin("/ldap/runs"),
    ];
    for s in &state {
        assert_eq!(s["status"], json!(200), "{s}");
    }
    state
}

/// The answer with every id of the world (and the ghost) replaced by `<id>`, for comparing
/// the answer about B's resource with the answer about no resource.
fn masked(r: &Resp, w: &World) -> (u16, String) {
    let mut text = r.text.clone();
    for id in [&w.ub, &w.gb, &w.ua, &w.ga, &w.ub_token_id] {
        text = text.replace(id.as_str(), "<id>");
    }
    let body: Value = serde_json::from_str(&text.replace(GHOST, "<id>")).unwrap_or(Value::Null);
    (r.status, format!("{} {}", body["scimType"], body["detail"]))
}

/// A plausible body for an operation (so only the rule under test can refuse it).
fn body_for(method: &str, path: &str) -> Option<Value> {
    let scim_patch = patch_body(&json!([{"op": "replace", "path": "active", "value": false}]));
    match (method, path) {
        ("GET" | "DELETE", _) => None,
        ("PATCH", _) if path.contains("/Groups/") => Some(patch_body(
            &json!([{"op": "replace", "path": "displayName", "value": "hijacked"}]),
        )),
        ("PATCH", _) => Some(scim_patch),
        (_, p) if p.ends_with(".search") => Some(json!({"schemas": [urn::SEARCH]})),
        (_, p) if p.ends_with("/Bulk") => {
            Some(json!({"schemas": [urn::BULK_REQUEST], "Operations": []}))
        }
        (_, p) if p.contains("/Groups") => {
            Some(json!({"schemas": [urn::GROUP], "displayName": "hijacked"}))
        }
        (_, p) if p.contains("/Users") => Some(user_body("hijacked@x.example")),
        (_, p) if p.ends_with("/tenants") => Some(json!({"name": "hijacked"})),
        (_, p) if p.ends_with("/verify-password") => {
            Some(json!({"userName": "bob@b.example", "password": B_PASSWORD}))
        }
        (_, p) if p.ends_with("/jit-login") => Some(json!({"nameId": "bob@b.example"})),
        _ => Some(json!({})),
    }
}

fn send(srv: &Server, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Resp {
    let mut req = srv.raw(method, path);
    if let Some(t) = token {
        req = req.bearer(t);
    }
    match body {
        Some(b) => req.json(b).send(),
        None => req.send(),
    }
}

/// Every operation of the served OpenAPI document: (method, path template, authenticated).
fn operations(srv: &Server) -> Vec<(String, String, bool)> {
    let doc = srv
        .raw("GET", &format!("{SCIM}/openapi.json"))
        .send()
        .json();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty())
                || doc["security"].as_array().is_some_and(|s| !s.is_empty())
                    && op.get("security").is_none();
            ops.push((method.to_uppercase(), path.clone(), secured));
        }
    }
    assert!(
        ops.len() > 30,
        "the OpenAPI document lists too few operations: {ops:?}"
    );
    ops
}

/// A path template with tenant `name` and `id` filled in.
fn fill(template: &str, name: &str, id: &str) -> String {
    template.replace("{name}", name).replace("{id}", id)
}

#[test]
fn no_scim_operation_reaches_another_tenant() {
    each_backend(|srv: &Server| {
        let w = setup(srv);
        let before = b_state(srv, &w);
        let a = srv.token.clone();

        // Every SCIM operation on an id: B's id is as unknown to A as an id nobody has.
        let mut swept = 0;
        for (method, template, secured) in operations(srv) {
            if !template.starts_with(SCIM) || !template.contains("{id}") {
                continue;
            }
            swept += 1;
            assert!(secured, "{method} {template} is not authenticated");
            let id = if template.contains("/Groups/") {
                &w.gb
            } else {
                &w.ub
            };
            let body = body_for(&method, &template);
            let theirs = send(
                srv,
                &method,
                &fill(&template, B, id),
                Some(&a),
                body.as_ref(),
            );
            assert_scim_error(&theirs, 404, None);
            let nobodys = send(
                srv,
                &method,
                &fill(&template, B, GHOST),
                Some(&a),
                body.as_ref(),
            );
            assert_eq!(
                masked(&theirs, &w),
                masked(&nobodys, &w),
                "[{}] {method} {template}: B's resource is told apart from no resource",
                srv.backend
            );
            // B's current version as a precondition changes nothing: 404, never 412 or 304.
            let path = fill(&template, B, id);
            let mut req = srv.raw(&method, &path).bearer(&a);
            req = if method == "GET" {
                req.header("if-none-match", "W/\"1\"")
            } else {
                req.header("if-match", "W/\"1\"")
            };
            let r = match &body {
                Some(b) => req.json(b).send(),
                None => req.send(),
            };
            assert_scim_error(&r, 404, None);
        }
        assert!(swept >= 8, "only {swept} SCIM operations on an id");

        // Filters and searches on B's ids, names and values find nothing of B's.
        let q = |s: &str| {
            s.replace(' ', "%20")
                .replace('"', "%22")
                .replace('[', "%5B")
                .replace(']', "%5D")
        };
        let user_filters = [
            format!("id eq \"{}\"", w.ub),
            format!("userName eq \"{}\"", w.ub_name),
            format!("externalId eq \"{}\"", w.ub_ext),
            format!("emails.value eq \"{}\"", w.ub_email),
            "emails[value co \"b.example\"]".to_string(),
            format!("groups.value eq \"{}\"", w.gb),
            format!("id eq \"{}\" or id eq \"{}\"", w.ub, w.ua),
            "userName co \"b.example\" or active eq false".to_string(),
        ];
        let group_filters = [
            format!("id eq \"{}\"", w.gb),
            format!("displayName eq \"{}\"", w.gb_name),
            "externalId eq \"b-ext-group\"".to_string(),
            format!("members.value eq \"{}\"", w.ub),
            format!("id eq \"{}\" or id eq \"{}\"", w.gb, w.ga),
        ];
        let lists = user_filters
            .iter()
            .map(|f| ("Users", f))
            .chain(group_filters.iter().map(|f| ("Groups", f)));
        for (kind, filter) in lists {
            let search = json!({"schemas": [urn::SEARCH], "filter": filter});
            for r in [
                srv.get(&format!("/{kind}?filter={}", q(filter))),
                srv.post(&format!("/{kind}/.search"), &search),
                srv.post("/.search", &search),
            ] {
                assert_eq!(r.status, 200, "{kind} {filter}: {r:?}");
                for res in r.json()["Resources"].as_array().into_iter().flatten() {
                    let id = res["id"].as_str().unwrap_or_default();
                    assert!(
                        id == w.ua || id == w.ga,
                        "[{}] {filter} found {res}",
                        srv.backend
                    );
                }
            }
        }
        let all = srv.get("/Users").json();
        assert_eq!(all["totalResults"], json!(1), "{all}");

        // B's users and groups can't become members of A's groups: the answer to a made-up id.
        let add = |member: &str| {
            srv.patch(
                &format!("/Groups/{}", w.ga),
                &json!([{"op": "add", "path": "members", "value": [{"value": member}]}]),
            )
        };
        let put = |member: &str| {
            srv.put(
                &format!("/Groups/{}", w.ga),
                &json!({"schemas": [urn::GROUP], "displayName": "A-Staff", "members": [{"value": member}]}),
            )
        };
        let create = |member: &str| {
            srv.post(
                "/Groups",
                &json!({"schemas": [urn::GROUP], "displayName": "A-New", "members": [{"value": member}]}),
            )
        };
        for member in [&w.ub, &w.gb] {
            for (theirs, nobodys) in [
                (add(member), add(GHOST)),
                (put(member), put(GHOST)),
                (create(member), create(GHOST)),
            ] {
                assert_scim_error(&theirs, 400, Some("invalidValue"));
                assert_eq!(
                    masked(&theirs, &w),
                    masked(&nobodys, &w),
                    "[{}]",
                    srv.backend
                );
            }
        }

        // Bulk: every operation naming B's ids fails alone, as it would for unknown ids.
        let patch = patch_body(&json!([{"op": "replace", "path": "active", "value": false}]));
        let r = srv.post(
            "/Bulk",
            &json!({"schemas": [urn::BULK_REQUEST], "Operations": [
                {"method": "PUT", "path": format!("/Users/{}", w.ub), "data": user_body("x@x.example")},
                {"method": "PATCH", "path": format!("/Users/{}", w.ub), "data": patch},
                {"method": "DELETE", "path": format!("/Users/{}", w.ub)},
                {"method": "PUT", "path": format!("/Groups/{}", w.gb), "data": {"schemas": [urn::GROUP], "displayName": "x"}},
                {"method": "PATCH", "path": format!("/Groups/{}", w.gb), "data": patch_body(&json!([{"op": "add", "path": "members", "value": [{"value": w.ua}]}]))},
                {"method": "DELETE", "path": format!("/Groups/{}", w.gb)},
                {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"schemas": [urn::GROUP], "displayName": "Steal1", "members": [{"value": w.ub}]}},
                {"method": "POST", "path": "/Groups", "bulkId": "g2", "data": {"schemas": [urn::GROUP], "displayName": "Steal2", "members": [{"value": w.gb}]}},
                {"method": "PATCH", "path": format!("/Groups/{}", w.ga), "data": patch_body(&json!([{"op": "add", "path": "members", "value": [{"value": w.ub}]}]))}
            ]}),
        );
        assert_eq!(r.status, 200, "{r:?}");
        let statuses: Vec<Value> = r.json()["Operations"]
            .as_array()
            .map(|o| o.iter().map(|x| x["status"].clone()).collect())
            .unwrap_or_default();
        let want = [
            "404", "404", "404", "404", "404", "404", "400", "400", "400",
        ];
        assert_eq!(statuses, want.map(|s| json!(s)), "[{}] {r:?}", srv.backend);

        // B is exactly as it was; A's group still has only A's member.
        assert_eq!(
            b_state(srv, &w),
            before,
            "[{}] tenant B changed",
            srv.backend
        );
        let ga = srv.get(&format!("/Groups/{}", w.ga)).json();
        assert_eq!(ga["members"].as_array().map(Vec::len), Some(1), "{ga}");
    });
}

#[test]
fn tokens_reach_only_their_own_api_and_tenant() {
    each_backend(|srv: &Server| {
        let w = setup(srv);
        let before = b_state(srv, &w);
        let tenants_before = read(srv, &w.admin, "/admin/v1/tenants");
        let ops = operations(srv);

        let (mut admin_ops, mut scim_ops) = (0, 0);
        for (method, template, secured) in &ops {
            let body = body_for(method, template);
            if let Some(admin_path) = template.strip_prefix("/admin/v1") {
                admin_ops += 1;
                assert!(secured, "{method} {template} is not authenticated");
                let path = format!("/admin/v1{}", fill(admin_path, B, &w.ub));
                // SCIM tokens of either tenant: 403; no or bad credentials: 401.
                for token in [&srv.token, &w.b_token] {
                    let r = send(srv, method, &path, Some(token), body.as_ref());
                    assert_scim_error(&r, 403, None);
                }
                // (Not wrong secrets: each costs an argon2 verification and counts against the
                // client's failure budget, so a sweep of them would be throttled, 429.)
                for token in [None, Some("garbage")] {
                    let r = send(srv, method, &path, token, body.as_ref());
                    assert_scim_error(&r, 401, None);
                }
            } else if template.starts_with(SCIM) && *secured {
                // The administrator token is not a tenant: 403 on every SCIM operation.
                scim_ops += 1;
                let path = fill(template, B, &w.ub);
                let r = send(srv, method, &path, Some(&w.admin), body.as_ref());
                assert_scim_error(&r, 403, None);
            }
        }

        assert!(
            admin_ops >= 22 && scim_ops >= 16,
            "swept {admin_ops} admin and {scim_ops} SCIM operations"
        );

        // The administrator token with a wrong secret, and a revoked one, are refused too.
        let (id, secret) = w.admin.split_once('.').expect("id.secret");
        let wrong = format!("{id}.{}", secret.chars().rev().collect::<String>());
        let r = send(srv, "GET", "/admin/v1/tenants", Some(&wrong), None);
        assert_scim_error(&r, 401, None);
        let revoked = srv.cli_ok(&["token", "create", "--admin"]);
        let revoked_id = revoked.split('.').next().unwrap_or_default();
        srv.cli_ok(&["token", "revoke", revoked_id]);
        let r = send(srv, "GET", "/admin/v1/tenants", Some(&revoked), None);
        assert_scim_error(&r, 401, None);

        // The admin API addressed to tenant A with B's user and token ids: 404 everywhere.
        let a_name = "acme";
        let mut by_id = 0;
        for (method, template, _) in &ops {
            let Some(admin_path) = template.strip_prefix("/admin/v1") else {
                continue;
            };
            if !admin_path.contains("{id}") {
                continue;
            }
            by_id += 1;
            let id = if admin_path.contains("/tokens/") {
                &w.ub_token_id
            } else {
                &w.ub
            };
            let body = body_for(method, template);
            let path = format!("/admin/v1{}", fill(admin_path, a_name, id));
            let theirs = send(srv, method, &path, Some(&w.admin), body.as_ref());
            assert_scim_error(&theirs, 404, None);
            let path = format!("/admin/v1{}", fill(admin_path, a_name, GHOST));
            let nobodys = send(srv, method, &path, Some(&w.admin), body.as_ref());
            assert_eq!(
                masked(&theirs, &w),
                masked(&nobodys, &w),
                "[{}] {method} {template}",
                srv.backend
            );
        }
        assert!(
            by_id >= 7,
            "only {by_id} admin operations on a user or token id"
        );
        // B's password does not open A's door; under B's name it does.
        let check = |tenant: &str| {
            let r = send(
                srv,
                "POST",
                &format!("/admin/v1/tenants/{tenant}/verify-password"),
                Some(&w.admin),
                Some(&json!({"userName": w.ub_name, "password": B_PASSWORD})),
            );
            assert_eq!(r.status, 200, "{r:?}");
            r.json()["valid"].clone()
        };
        assert_eq!(check(a_name), json!(false), "[{}]", srv.backend);
        assert_eq!(check(B), json!(true), "[{}]", srv.backend);
        // A's activity views show nothing of B's.
        let log = read(
            srv,
            &w.admin,
            &format!("/admin/v1/tenants/{a_name}/sync-log?user={}", w.ub),
        );
        assert_eq!(log["body"]["entries"], json!([]), "{log}");
        let jobs = read(srv, &w.admin, &format!("/admin/v1/tenants/{a_name}/jobs"));
        assert_eq!(jobs["body"], json!([]), "{jobs}");
        // Mapping runs and JIT logins for A leave B alone.
        let r = send(
            srv,
            "POST",
            &format!("/admin/v1/tenants/{a_name}/apply-mappings"),
            Some(&w.admin),
            Some(&json!({})),
        );
        assert_eq!(r.status, 200, "{r:?}");
        let r = send(
            srv,
            "POST",
            &format!("/admin/v1/tenants/{a_name}/jit-login"),
            Some(&w.admin),
            Some(&json!({"nameId": w.ub_name})),
        );
        assert!(r.status < 500, "{r:?}");

        // Nothing the refused requests named changed, and B's token still works.
        assert_eq!(
            b_state(srv, &w),
            before,
            "[{}] tenant B changed",
            srv.backend
        );
        assert_eq!(read(srv, &w.admin, "/admin/v1/tenants"), tenants_before);
        let r = srv.req("GET", "/Users").bearer(&w.b_token).send();
        assert_eq!(r.status, 200, "{r:?}");
    });
}
