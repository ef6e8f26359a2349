//! Hostile input to the admin API (`/admin/v1`), with the administrator token: each request
//! gets its 4xx SCIM Error, never a 5xx, and nothing it names changes. Settings that would be
//! stored yet unusable are refused when sent, not when the next user write reads them.

use serde_json::{Value, json};

use super::bad_input::scim_error;
use super::wire::{Framing, send, short};
use crate::common::{Server, each_backend, user_body};

/// (what, method, path, content type, body, status, scimType).
type Case = (
    &'static str,
    &'static str,
    String,
    &'static str,
    Vec<u8>,
    u16,
    Option<&'static str>,
);

fn j(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).expect("serialize")
}

#[rustfmt::skip] // a table: one line per case
fn cases() -> Vec<Case> {
    const J: &str = "application/json";
    let big = "x".repeat(900 * 1024);
    let t = "/admin/v1/tenants";
    let a = "/admin/v1/tenants/acme";
    vec![
        ("settings with an organization path that is no JSONPath", "PUT", format!("{a}/settings"), J, j(json!({"org_mapping": {"method": "attribute", "path": "$..[?(@"}})), 400, Some("invalidValue")),
        ("settings with bind_password_enc", "PUT", format!("{a}/settings"), J, j(json!({"ldap": {"url": "ldaps://x:636", "bind_dn": "cn=r", "bind_password_enc": "p", "base_dn": "dc=x", "groups": ["cn=g,dc=x"]}})), 400, Some("invalidValue")),
        ("settings with an unknown key", "PUT", format!("{a}/settings"), J, j(json!({"deactivation_delay": 1})), 400, Some("invalidValue")),
        ("settings with a negative delay", "PUT", format!("{a}/settings"), J, j(json!({"deactivation_delay_secs": -1})), 400, Some("invalidValue")),
        ("settings with a delay of 2^63-1 s", "PUT", format!("{a}/settings"), J, j(json!({"deactivation_delay_secs": i64::MAX})), 400, Some("invalidValue")),
        ("settings with a rate limit of 0", "PUT", format!("{a}/settings"), J, j(json!({"rate_limit_per_sec": 0})), 400, Some("invalidValue")),
        ("settings not JSON", "PUT", format!("{a}/settings"), J, b"{\"password_sync\":".to_vec(), 400, Some("invalidSyntax")),
        ("settings as text/plain", "PUT", format!("{a}/settings"), "text/plain", b"{}".to_vec(), 415, None),
        ("a 10 MB body", "PUT", format!("{a}/settings"), J, j(json!({"default_org": "x".repeat(10 * 1024 * 1024)})), 413, None),
        ("a tenant name of 900 KB", "POST", t.to_string(), J, j(json!({"name": big})), 400, Some("invalidValue")),
        ("a tenant name with a control character", "POST", t.to_string(), J, j(json!({"name": "a\u{1}b"})), 400, Some("invalidValue")),
        ("a tenant name with a NUL", "POST", t.to_string(), J, j(json!({"name": "a\u{0}b"})), 400, Some("invalidValue")),
        ("a tenant name that is a number", "POST", t.to_string(), J, j(json!({"name": 5})), 400, Some("invalidValue")),
        ("a token label of 900 KB", "POST", format!("{a}/tokens"), J, j(json!({"label": big})), 400, Some("invalidValue")),
        ("a sync-log limit past u64", "GET", format!("{a}/sync-log?limit=99999999999999999999"), J, Vec::new(), 400, Some("invalidValue")),
        ("a sync-log cursor that is none", "GET", format!("{a}/sync-log?cursor=garbage"), J, Vec::new(), 400, Some("invalidValue")),
        ("a sync-log time that is none", "GET", format!("{a}/sync-log?since=%2B275760-09-13T00:00:00Z"), J, Vec::new(), 400, Some("invalidValue")),
        ("a sync-log user with a NUL", "GET", format!("{a}/sync-log?user=a%00"), J, Vec::new(), 400, Some("invalidValue")),
        ("a sync-log user not UTF-8", "GET", format!("{a}/sync-log?user=%C3%28"), J, Vec::new(), 400, Some("invalidValue")),
        ("an unknown query parameter", "GET", format!("{a}/jobs?lmit=1"), J, Vec::new(), 400, Some("invalidValue")),
        ("a tenant name with a NUL in the path", "GET", format!("{t}/acme%00"), J, Vec::new(), 404, None),
        ("a user id of 5 000 characters", "POST", format!("{a}/users/{}/deactivate", "i".repeat(5000)), J, Vec::new(), 404, None),
        ("a JIT login of 900 KB (no mapped group: refused first)", "POST", format!("{a}/jit-login"), J, j(json!({"nameId": big})), 403, None),
        ("a JIT login with a numeric email", "POST", format!("{a}/jit-login"), J, j(json!({"nameId": "j@x.example", "email": 5})), 400, Some("invalidValue")),
        ("a password check without a password", "POST", format!("{a}/verify-password"), J, j(json!({"userName": "x"})), 400, Some("invalidValue")),
    ]
}

#[test]
fn every_bad_admin_input_is_a_4xx_scim_error() {
    each_backend(|srv: &Server| {
        let admin = srv.cli_ok(&["token", "create", "--admin"]);
        let settings = |srv: &Server| {
            let r = srv
                .raw("GET", "/admin/v1/tenants/acme")
                .bearer(&admin)
                .send();
            assert_eq!(r.status, 200, "{r:?}");
            r.json()
        };
        let before = settings(srv);
        let mut failures = Vec::new();
        let all = cases();
        let total = all.len();
        for (what, method, path, ct, body, status, scim_type) in all {
            let headers = [
                ("Authorization".to_string(), format!("Bearer {admin}")),
                ("Content-Type".to_string(), ct.to_string()),
            ];
            let r = send(&srv.origin, method, &path, &headers, &body, Framing::Length);
            if let Err(why) = scim_error(&r, status, scim_type) {
                failures.push(format!(
                    "{what} ({method} {}): {why}\n    {r:?}",
                    short(&path)
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "[{}] {} of {total} cases failed:\n{}",
            srv.backend,
            failures.len(),
            failures.join("\n")
        );
        // Nothing changed, and the tenant's users can still be written.
        assert_eq!(
            settings(srv),
            before,
            "[{}] the tenant changed",
            srv.backend
        );
        let r = srv.post("/Users", &user_body("after@admin-input.example"));
        assert_eq!(r.status, 201, "{r:?}");
    });
}
