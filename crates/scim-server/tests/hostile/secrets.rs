//! Secrets never in clear: tenant and administrator tokens, synced passwords and the LDAP bind
//! password are used (and misused: wrong tokens, passwords in malformed bodies and filters),
//! then looked for, byte for byte, in
//!
//! - the database: every file of the SQLite database (main file, `-wal`, `-shm`), or for
//!   PostgreSQL every row of every table of the test's schema as JSON (`row_to_json`, through
//!   `psql`);
//! - the server's whole log, at `SCIM_LOG=trace`, and the output of every CLI command run
//!   (except the one line of `token create` that prints the new token);
//! - every response, headers and body, except the two that hand out a new token.
//!
//! The LDAP bind password is never stored: the source names an environment variable of the
//! processes that synchronize (`bind_password_env`), which the test asserts. With the test
//! directory (`SCIM_TEST_LDAP_URL`, started by scripts/services.sh) a reader account is bound
//! with a distinctive password (a synchronization that succeeds) and with a wrong one (one that
//! fails); without it, outside CI, the source points at a closed port and the password is
//! never sent.

use scim_store::BackendKind;
use scim_store::testing::TestDb;
use serde_json::json;

use crate::common::{Req, SCIM, assert_scim_error, http, patch_body, urn};
use crate::haystacks::{Directory, Haystacks, cli, cli_ok, pg_rows, serve, sqlite_files};

/// The environment variables holding the two bind passwords (right and wrong).
const LDAP_VAR: &str = "SCIM_HOSTILE_LDAP_PASSWORD";
const WRONG_LDAP_VAR: &str = "SCIM_HOSTILE_LDAP_WRONG";

/// A distinctive secret, different in every run.
fn secret(label: &str) -> String {
    format!("{label}-{}", uuid::Uuid::new_v4().simple())
}

#[test]
fn tokens_passwords_and_bind_passwords_never_appear_in_clear() {
    let dbs = TestDb::all();
    std::thread::scope(|s| {
        let handles: Vec<_> = dbs
            .into_iter()
            .map(|db| s.spawn(move || scenario(&db)))
            .collect();
        for h in handles {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    });
}

fn scenario(db: &TestDb) {
    let backend = match db.kind() {
        BackendKind::Sqlite => "sqlite",
        BackendKind::Postgres => "postgres",
    };
    let url = db.url.as_str();
    let mut hay = Haystacks::default();
    let ldap_pw = secret("ldap-bind");
    let wrong_ldap_pw = secret("ldap-wrong");
    let enc_pw = secret("ldap-enc");
    let ldap_env = [
        (LDAP_VAR, ldap_pw.as_str()),
        (WRONG_LDAP_VAR, wrong_ldap_pw.as_str()),
    ];
    let dir = Directory::new(backend, &ldap_pw);

    // Tenants, tokens (their one line of output is where a token is shown, once), LDAP sources.
    cli_ok(url, &["tenant", "create", "acme"], &[], Some(&mut hay));
    cli_ok(url, &["tenant", "create", "other"], &[], Some(&mut hay));
    let token = cli_ok(url, &["token", "create", "--tenant", "acme"], &[], None);
    let admin = cli_ok(url, &["token", "create", "--admin"], &[], None);
    let group = format!("cn=staff,{}", dir.base);
    let reader = format!("cn=reader,{}", dir.base);
    for (tenant, var) in [("acme", LDAP_VAR), ("other", WRONG_LDAP_VAR)] {
        let args = [
            "ldap",
            "configure",
            "--tenant",
            tenant,
            "--url",
            &dir.url,
            "--bind-dn",
            &reader,
            "--bind-password-env",
            var,
            "--base-dn",
            &dir.base,
            "--group",
            &group,
            "--allow-plaintext",
        ];
        cli_ok(url, &args, &ldap_env, Some(&mut hay));
    }
    let logdir = tempfile::tempdir().expect("log dir");
    let srv = serve(url, logdir.path(), &ldap_env);
    let agent = http::agent();
    let o = srv.origin.clone();
    let scim = |method: &str, path: &str| Req::new(&agent, method, format!("{o}{SCIM}{path}"));
    let adm = |method: &str, path: &str| {
        Req::new(&agent, method, format!("{o}/admin/v1{path}")).bearer(&admin)
    };

    // Synced passwords: create, PUT, PATCH with a path and without, Bulk create and PATCH.
    let pw: Vec<String> = ["create", "put", "patch", "pathless", "bulk", "bulk-patch"]
        .iter()
        .map(|l| secret(&format!("pw-{l}")))
        .collect();
    let mut body =
        json!({"schemas": [urn::USER], "userName": "sam@secret.example", "password": pw[0]});
    let r = scim("POST", "/Users").bearer(&token).json(&body).send();
    assert_eq!(r.status, 201, "{r:?}");
    hay.resp("create with a password", &r);
    let id = r.json()["id"].as_str().expect("id").to_string();
    body["password"] = json!(pw[1]);
    let mut sent = vec![(
        "PUT with a password",
        scim("PUT", &format!("/Users/{id}"))
            .bearer(&token)
            .json(&body)
            .send(),
    )];
    let ops = json!([{"op": "replace", "path": "password", "value": pw[2]}]);
    sent.push((
        "PATCH password",
        scim("PATCH", &format!("/Users/{id}"))
            .bearer(&token)
            .json(&patch_body(&ops))
            .send(),
    ));
    let ops = json!([{"op": "replace", "value": {"password": pw[3], "nickName": "s"}}]);
    sent.push((
        "pathless PATCH",
        scim("PATCH", &format!("/Users/{id}"))
            .bearer(&token)
            .json(&patch_body(&ops))
            .send(),
    ));
    let bulk = json!({"schemas": [urn::BULK_REQUEST], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [urn::USER], "userName": "bo@secret.example", "password": pw[4]}},
        {"method": "PATCH", "path": format!("/Users/{id}"), "data": patch_body(&json!([{"op": "add", "path": "password", "value": pw[5]}]))}
    ]});
    sent.push((
        "Bulk",
        scim("POST", "/Bulk").bearer(&token).json(&bulk).send(),
    ));
    for (what, r) in &sent {
        assert!(matches!(r.status, 200 | 201), "{what}: {r:?}");
    }

    // Misuse: wrong secrets, and passwords in requests that fail.
    let (token_id, token_secret) = token.split_once('.').expect("id.secret");
    let wrong_token = secret("wrong-token");
    let wrong_basic = secret("wrong-basic");
    let bad: Vec<String> = ["type", "truncated", "object", "filter", "search", "verify"]
        .iter()
        .map(|l| secret(&format!("bad-{l}")))
        .collect();
    sent.push((
        "a wrong bearer secret",
        scim("GET", "/Users")
            .bearer(&format!("{token_id}.{wrong_token}"))
            .send(),
    ));
    sent.push((
        "a wrong Basic password",
        scim("GET", "/Users").basic(token_id, &wrong_basic).send(),
    ));
    sent.push((
        "Basic with the right secret",
        scim("GET", "/Users").basic(token_id, token_secret).send(),
    ));
    let typed = json!({"schemas": [urn::USER], "userName": 5, "password": bad[0]});
    sent.push((
        "a mistyped body with a password",
        scim("POST", "/Users").bearer(&token).json(&typed).send(),
    ));
    let truncated = format!(
        "{{\"userName\":\"t@secret.example\",\"password\":\"{}",
        bad[1]
    );
    sent.push((
        "a truncated body with a password",
        scim("POST", "/Users")
            .bearer(&token)
            .body("application/scim+json", truncated)
            .send(),
    ));
    let ops = json!([{"op": "replace", "path": "password", "value": {"value": bad[2]}}]);
    sent.push((
        "a password of the wrong type",
        scim("PATCH", &format!("/Users/{id}"))
            .bearer(&token)
            .json(&patch_body(&ops))
            .send(),
    ));
    let filter = format!("password eq \"{}\"", bad[3])
        .replace(' ', "%20")
        .replace('"', "%22");
    sent.push((
        "a filter on the password",
        scim("GET", &format!("/Users?filter={filter}"))
            .bearer(&token)
            .send(),
    ));
    let search = json!({"schemas": [urn::SEARCH], "filter": format!("password eq \"{}\" or userName eq 1", bad[4])});
    sent.push((
        "a search on the password",
        scim("POST", "/.search").bearer(&token).json(&search).send(),
    ));

    // Reads that could show a password, and every admin view.
    for path in [
        format!("/Users/{id}?attributes=password"),
        "/Users?attributes=password,userName".to_string(),
        format!("/Users/{id}"),
        "/Users".to_string(),
        "/ServiceProviderConfig".to_string(),
        "/Schemas".to_string(),
        "/ResourceTypes".to_string(),
    ] {
        sent.push(("a read", scim("GET", &path).bearer(&token).send()));
    }
    let all = json!({"schemas": [urn::SEARCH], "attributes": ["password", "userName"]});
    sent.push((
        "a search for passwords",
        scim("POST", "/Users/.search")
            .bearer(&token)
            .json(&all)
            .send(),
    ));

    // Admin API: a token issued here (its one response is where it is shown), password checks
    // right and wrong, LDAP synchronizations that bind with the right and a wrong password.
    let issued = adm("POST", "/tenants/acme/tokens")
        .json(&json!({"label": "issued"}))
        .send();
    assert_eq!(issued.status, 201, "{issued:?}");
    let issued = issued.json()["token"].as_str().expect("token").to_string();
    sent.push((
        "the issued token",
        scim("GET", "/Groups").bearer(&issued).send(),
    ));
    let verify = |p: &str| {
        adm("POST", "/tenants/acme/verify-password")
            .json(&json!({"userName": "sam@secret.example", "password": p}))
            .send()
    };
    let right = verify(&pw[5]);
    assert_eq!(
        right.json()["valid"],
        json!(true),
        "the last synced password: {right:?}"
    );
    sent.push(("verify-password", right));
    sent.push(("verify-password, wrong", verify(&bad[5])));
    // The scheduler may be running the tenant's first synchronization: 503 "busy" (retry in
    // 5 s) until it ends.
    let sync_now = |tenant: &str| {
        for _ in 0..60 {
            let r = adm("POST", &format!("/tenants/{tenant}/ldap/sync")).send();
            if r.status != 503 || r.header("retry-after") != Some("5") {
                return r;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        panic!("[{backend}] the {tenant} LDAP source stayed busy for 30 s");
    };
    let synced = sync_now("acme");
    if dir.admin.is_some() {
        assert_eq!(
            synced.status, 200,
            "a bind with the right password: {synced:?}"
        );
    }
    sent.push(("LDAP sync", synced));
    let failed = sync_now("other");
    assert_eq!(
        failed.status, 503,
        "a bind with a wrong password fails: {failed:?}"
    );
    sent.push(("LDAP sync, wrong password", failed));
    for path in [
        "/tenants",
        "/tenants/acme",
        "/tenants/other",
        "/tenants/acme/settings",
        "/tenants/acme/tokens",
        "/tenants/acme/sync-log",
        "/tenants/acme/ldap/runs",
        "/tenants/other/ldap/runs",
        "/tenants/acme/jobs",
        &format!("/tenants/acme/users/{id}/state"),
    ] {
        sent.push(("an admin read", adm("GET", path).send()));
    }
    for (what, r) in &sent {
        assert!(r.status < 500 || what.starts_with("LDAP"), "{what}: {r:?}");
        hay.resp(what, r);
    }
    let cli_sync = cli(url, &["ldap", "sync", "--tenant", "other"], &ldap_env);
    hay.output("ldap sync (wrong password)", &cli_sync);

    // The source names the variable, never the password (docs/ldap.md).
    let settings = adm("GET", "/tenants/acme/settings").send().json();
    assert_eq!(
        settings["ldap"]["bind_password_env"],
        json!(LDAP_VAR),
        "{settings}"
    );
    assert!(
        settings["ldap"]["bind_password_enc"].is_null(),
        "{settings}"
    );
    // The settings' `bind_password_enc` would hold whatever is sent, in clear (this server
    // encrypts nothing): the admin API refuses it.
    let mut with_enc = settings.clone();
    with_enc["ldap"]["bind_password_env"] = json!(null);
    with_enc["ldap"]["bind_password_enc"] = json!(enc_pw);
    let r = adm("PUT", "/tenants/acme/settings").json(&with_enc).send();
    assert_scim_error(&r, 400, Some("invalidValue"));
    hay.resp("settings with bind_password_enc", &r);

    // Stop the server, then look everywhere.
    drop(srv);
    hay.add(
        "the server log",
        std::fs::read(logdir.path().join("server.log")).expect("log"),
    );
    match db.kind() {
        BackendKind::Sqlite => sqlite_files(url, &mut hay),
        BackendKind::Postgres => hay.add("PostgreSQL rows", pg_rows(url)),
    }
    // The haystacks hold what they should: a trace-level log, and the database's rows (the
    // token's public id, user names, the variable's name; the synced user when the directory
    // answered).
    let find = |name: &str, needle: &str| {
        hay.0.iter().any(|(n, b)| {
            n.contains(name) && b.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
    };
    assert!(
        find("the server log", " TRACE "),
        "[{backend}] no trace lines in the log"
    );
    let db_name = match db.kind() {
        BackendKind::Sqlite => "scim.db",
        BackendKind::Postgres => "PostgreSQL rows",
    };
    let mut present = vec![
        token_id,
        "sam@secret.example",
        "bo@secret.example",
        LDAP_VAR,
    ];
    if dir.admin.is_some() {
        present.push("lisa@secret.example");
    }
    for needle in present {
        assert!(
            find(db_name, needle),
            "[{backend}] {needle:?} is not in the database haystack"
        );
    }

    let issued_secret = issued.split_once('.').map_or("", |(_, s)| s).to_string();
    let admin_secret = admin.split_once('.').map_or("", |(_, s)| s).to_string();
    let mut secrets: Vec<(&str, &str)> = vec![
        ("the tenant token's secret", token_secret),
        ("the administrator token's secret", &admin_secret),
        ("the issued token's secret", &issued_secret),
        ("a wrong bearer secret", &wrong_token),
        ("a wrong Basic password", &wrong_basic),
        ("the LDAP bind password", &ldap_pw),
        ("a wrong LDAP bind password", &wrong_ldap_pw),
        ("a bind password sent as bind_password_enc", &enc_pw),
    ];
    secrets.extend(pw.iter().map(|p| ("a synced password", p.as_str())));
    secrets.extend(
        bad.iter()
            .map(|p| ("a password in a failed request", p.as_str())),
    );
    let hits = hay.hits(&secrets);
    assert!(
        hits.is_empty(),
        "[{backend}] secrets in clear:\n{}",
        hits.join("\n")
    );
}
