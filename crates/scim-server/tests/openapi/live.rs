//! The running binary against its document, over real HTTP on loopback with a SQLite file:
//! every documented operation is called, and every response must be documented for its
//! operation — status, headers, media type and body schema. Also: without credentials every
//! protected operation answers its documented 401; every method a SCIM or admin path doesn't
//! document answers 405; the admin API is exercised in `live_admin.rs`; and
//! `/scim/v2/openapi.json` serves the same document `scim-server openapi` prints.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scim_store::testing::TestDb;
use serde_json::{Value, json};

use super::{document_json, operations_of, schema_check};

#[path = "live_admin.rs"]
mod admin;

const BIN: &str = env!("CARGO_BIN_EXE_scim-server");

/// Today's known differences between the server and its document, as the start of the
/// failure message they produce. Each must still occur, so a fix fails this test until its
/// entry is removed.
// FIXME: main.rs answers /healthz and /readyz with no Content-Type; the document says
// text/plain (what the bodies are). Set `.content_type("text/plain; charset=utf-8")` there.
const KNOWN_DEVIATIONS: &[&str] = &[];

struct Server {
    child: Child,
    origin: String,
    agent: ureq::Agent,
    _db: TestDb,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    text: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

fn cli(db_url: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--database-url")
        .arg(db_url)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "scim-server {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Starts the binary on a fresh SQLite database; returns it and a token for tenant `acme`.
fn start() -> (Server, String) {
    let db = TestDb::sqlite();
    cli(&db.url, &["tenant", "create", "acme"]);
    let token = cli(&db.url, &["token", "create", "--tenant", "acme"]);
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent();
    for _attempt in 0..5 {
        // A port the OS just handed out and took back; another process may win it, so retry.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(BIN)
            .args(["--database-url", &db.url, "serve", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let origin = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            if agent
                .get(format!("{origin}/healthz"))
                .call()
                .is_ok_and(|r| r.status() == 200)
            {
                let server = Server {
                    child,
                    origin,
                    agent,
                    _db: db,
                };
                return (server, token);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("scim-server did not start");
}

impl Server {
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Resp {
        let mut req = ureq::http::Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(format!("{}{path}", self.origin));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let result = match body {
            Some(b) => self.agent.run(
                req.header("content-type", "application/scim+json")
                    .body(serde_json::to_vec(b).unwrap())
                    .unwrap(),
            ),
            None => self.agent.run(req.body(()).unwrap()),
        };
        let mut resp = result.unwrap();
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        Resp {
            status,
            headers,
            text,
        }
    }
}

/// Holds `resp` against what the document says `method template` answers with its status.
fn conforms(doc: &Value, method: &str, template: &str, resp: &Resp) -> Result<(), String> {
    let here = format!("{} {template} → {}", method.to_uppercase(), resp.status);
    let op = &doc["paths"][template][method];
    let Some(documented) = op["responses"].get(resp.status.to_string()) else {
        return Err(format!("{here}: status not documented; body {}", resp.text));
    };
    for name in documented["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        if resp.header(name).is_none() {
            return Err(format!("{here}: documented header {name} missing"));
        }
    }
    let Some(content) = documented["content"].as_object() else {
        return match resp.text.is_empty() {
            true => Ok(()),
            false => Err(format!(
                "{here}: documented without a body, got {}",
                resp.text
            )),
        };
    };
    let ct = resp.header("content-type").unwrap_or_default();
    let Some((media, spec)) = content.iter().find(|(m, _)| ct.starts_with(m.as_str())) else {
        return Err(format!(
            "{here}: Content-Type {ct:?}, documented {:?}",
            content.keys()
        ));
    };
    if media.contains("json") {
        let body: Value = serde_json::from_str(&resp.text)
            .map_err(|e| format!("{here}: body is not JSON ({e})"))?;
        let errors = schema_check::check(doc, &spec["schema"], &body);
        if !errors.is_empty() {
            return Err(format!(
                "{here}: body does not match its schema: {errors:#?}"
            ));
        }
    }
    Ok(())
}

#[test]
fn the_running_server_answers_as_documented() {
    let doc = document_json();
    let (server, token) = start();
    let t = Some(token.as_str());
    let failures: RefCell<Vec<String>> = RefCell::new(Vec::new());
    let succeeded: RefCell<BTreeSet<(String, String)>> = RefCell::new(BTreeSet::new());
    let check = |method: &str, template: &str, resp: Resp| -> Resp {
        match conforms(&doc, method, template, &resp) {
            Ok(()) if resp.status < 300 => {
                succeeded
                    .borrow_mut()
                    .insert((method.to_string(), template.to_string()));
            }
            Ok(()) => {}
            Err(e) => {
                if resp.status < 300 && KNOWN_DEVIATIONS.iter().any(|k| e.starts_with(k)) {
                    succeeded
                        .borrow_mut()
                        .insert((method.to_string(), template.to_string()));
                }
                failures.borrow_mut().push(e);
            }
        }
        resp
    };
    let s = &server;
    let user_urn = "urn:ietf:params:scim:schemas:core:2.0:User";
    let new_user = json!({"schemas": [user_urn], "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "password": "t1meMa$heen", "active": true});

    for (p, tpl) in [
        (
            "/scim/v2/ServiceProviderConfig",
            "/scim/v2/ServiceProviderConfig",
        ),
        ("/scim/v2/ResourceTypes", "/scim/v2/ResourceTypes"),
        (
            "/scim/v2/ResourceTypes/User",
            "/scim/v2/ResourceTypes/{name}",
        ),
        (
            "/scim/v2/ResourceTypes/Nope",
            "/scim/v2/ResourceTypes/{name}",
        ),
        ("/scim/v2/Schemas", "/scim/v2/Schemas"),
        (
            &format!("/scim/v2/Schemas/{user_urn}"),
            "/scim/v2/Schemas/{urn}",
        ),
        ("/scim/v2/Schemas/urn:nope", "/scim/v2/Schemas/{urn}"),
        ("/scim/v2/openapi.json", "/scim/v2/openapi.json"),
        ("/healthz", "/healthz"),
        ("/readyz", "/readyz"),
        ("/metrics", "/metrics"),
    ] {
        check("get", tpl, s.call("get", p, None, &[], None));
    }
    let served = s
        .call("get", "/scim/v2/openapi.json", None, &[], None)
        .json();
    assert!(
        served == doc,
        "/scim/v2/openapi.json differs from `scim-server openapi`"
    );

    let u = check(
        "post",
        "/scim/v2/Users",
        s.call("post", "/scim/v2/Users", t, &[], Some(&new_user)),
    );
    let uid = u.json()["id"].as_str().unwrap_or_default().to_string();
    let etag = u.header("etag").unwrap_or_default().to_string();
    let user = format!("/scim/v2/Users/{uid}");
    let ut = "/scim/v2/Users/{id}";
    check(
        "post",
        "/scim/v2/Users",
        s.call("post", "/scim/v2/Users", t, &[], Some(&new_user)),
    );
    check(
        "post",
        "/scim/v2/Users",
        s.call("post", "/scim/v2/Users", t, &[], Some(&json!({}))),
    );
    check("get", ut, s.call("get", &user, t, &[], None));
    check(
        "get",
        ut,
        s.call("get", &user, t, &[("if-none-match", &etag)], None),
    );
    check(
        "get",
        ut,
        s.call("get", "/scim/v2/Users/nobody", t, &[], None),
    );
    check(
        "get",
        ut,
        s.call("get", &format!("{user}?attributes=name..x"), t, &[], None),
    );
    let mut replacement = new_user.clone();
    replacement["displayName"] = json!("Babs");
    check("put", ut, s.call("put", &user, t, &[], Some(&replacement)));
    check(
        "put",
        ut,
        s.call("put", &user, t, &[("if-match", &etag)], Some(&replacement)),
    );
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "value": {"active": false}}]});
    check("patch", ut, s.call("patch", &user, t, &[], Some(&patch)));
    check(
        "patch",
        ut,
        s.call(
            "patch",
            &user,
            t,
            &[],
            Some(&json!({"Operations": [{"op": "jump"}]})),
        ),
    );
    check("get", "/scim/v2/Users", s.call("get", "/scim/v2/Users?filter=userName%20eq%20%22bjensen%40example.com%22&startIndex=1&count=10", t, &[], None));
    check(
        "get",
        "/scim/v2/Users",
        s.call("get", "/scim/v2/Users?filter=userName%20zz", t, &[], None),
    );
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName sw \"bj\"", "attributes": ["userName"]});
    check(
        "post",
        "/scim/v2/Users/.search",
        s.call("post", "/scim/v2/Users/.search", t, &[], Some(&search)),
    );

    let g = check(
        "post",
        "/scim/v2/Groups",
        s.call(
            "post",
            "/scim/v2/Groups",
            t,
            &[],
            Some(&json!({"displayName": "Tour Guides", "members": [{"value": uid}]})),
        ),
    );
    let group = format!(
        "/scim/v2/Groups/{}",
        g.json()["id"].as_str().unwrap_or_default()
    );
    let gt = "/scim/v2/Groups/{id}";
    check("get", gt, s.call("get", &group, t, &[], None));
    check("get", ut, s.call("get", &user, t, &[], None));
    check(
        "put",
        gt,
        s.call(
            "put",
            &group,
            t,
            &[],
            Some(&json!({"displayName": "Guides", "members": [{"value": uid}]})),
        ),
    );
    check(
        "patch",
        gt,
        s.call(
            "patch",
            &group,
            t,
            &[],
            Some(&json!({"Operations": [
        {"op": "remove", "path": format!("members[value eq \"{uid}\"]")}]})),
        ),
    );
    check(
        "get",
        "/scim/v2/Groups",
        s.call(
            "get",
            "/scim/v2/Groups?excludedAttributes=members",
            t,
            &[],
            None,
        ),
    );
    check(
        "post",
        "/scim/v2/Groups/.search",
        s.call(
            "post",
            "/scim/v2/Groups/.search",
            t,
            &[],
            Some(&json!({"filter": "displayName eq \"Guides\""})),
        ),
    );
    check(
        "post",
        "/scim/v2/.search",
        s.call(
            "post",
            "/scim/v2/.search",
            t,
            &[],
            Some(&json!({"filter": "meta.resourceType pr"})),
        ),
    );
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"userName": "kjensen"}},
        {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"displayName": "Bulkers", "members": [{"value": "bulkId:u1"}]}},
        {"method": "DELETE", "path": "/Users/nobody"}]});
    check(
        "post",
        "/scim/v2/Bulk",
        s.call("post", "/scim/v2/Bulk", t, &[], Some(&bulk)),
    );
    check(
        "post",
        "/scim/v2/Bulk",
        s.call("post", "/scim/v2/Bulk", t, &[], Some(&json!([]))),
    );
    check("delete", gt, s.call("delete", &group, t, &[], None));
    check(
        "delete",
        ut,
        s.call("delete", &user, t, &[("if-match", "W/\"999\"")], None),
    );
    check("delete", ut, s.call("delete", &user, t, &[], None));
    check("delete", ut, s.call("delete", &user, t, &[], None));

    let admin_token = cli(&s._db.url, &["token", "create", "--admin"]);
    admin::exercise(s, &token, &admin_token, &check);

    // Without credentials, every protected operation answers its documented 401.
    for (method, template) in operations_of(&doc) {
        let op = &doc["paths"][&template][&method];
        if op.get("security").is_none() {
            continue;
        }
        let path = template.replace("{id}", "x").replace("{name}", "acme");
        let body = ["post", "put", "patch"]
            .contains(&method.as_str())
            .then(|| json!({}));
        let resp = check(
            &method,
            &template,
            s.call(&method, &path, None, &[], body.as_ref()),
        );
        if resp.status != 401 {
            failures.borrow_mut().push(format!(
                "{method} {template} without credentials: {}",
                resp.status
            ));
        }
    }

    // Every method a SCIM or admin path doesn't document is refused with a SCIM 405.
    for (template, item) in doc["paths"].as_object().unwrap() {
        if !template.starts_with("/scim/v2/") && !template.starts_with("/admin/v1/") {
            continue;
        }
        let path = template
            .replace("{id}", "x")
            .replace("{name}", "User")
            .replace("{urn}", user_urn);
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                continue;
            }
            let resp = s.call(method, &path, t, &[], None);
            let scim = resp
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/scim+json"));
            if resp.status != 405 || !scim {
                failures.borrow_mut().push(format!(
                    "{method} {template}: {} {:?}, want a SCIM 405",
                    resp.status,
                    resp.header("content-type")
                ));
            }
        }
    }

    let failures = failures.into_inner();
    for known in KNOWN_DEVIATIONS {
        assert!(
            failures.iter().any(|f| f.starts_with(known)),
            "fixed: {known:?} no longer happens; remove it from KNOWN_DEVIATIONS"
        );
    }
    let unexpected: Vec<&String> = failures
        .iter()
        .filter(|f| !KNOWN_DEVIATIONS.iter().any(|k| f.starts_with(k)))
        .collect();
    assert!(
        unexpected.is_empty(),
        "responses that differ from the document:\n{unexpected:#?}"
    );
    let mut never: Vec<_> = operations_of(&doc)
        .difference(&succeeded.borrow())
        .cloned()
        .collect();
    // An LDAP sync succeeds only against a directory (`start_slapd`, SCIM_TEST_LDAP_*).
    if std::env::var("SCIM_TEST_LDAP_URL").map_or(true, |v| v.is_empty()) {
        eprintln!("note: SCIM_TEST_LDAP_URL is not set; POST .../ldap/sync not seen succeeding");
        never.retain(|(m, p)| {
            (m.as_str(), p.as_str()) != ("post", "/admin/v1/tenants/{name}/ldap/sync")
        });
    }
    assert!(never.is_empty(), "operations never answered 2xx: {never:?}");
}
