//! The admin API (`/admin/v1`) of the running binary against its document: every admin
//! operation is called with an administrator token, successes and documented failures alike,
//! and each response is held to its documented status, media type and schema by `check`.

use serde_json::{Value, json};

use super::{Resp, Server};

/// Calls every admin operation. `scim` is tenant `acme`'s SCIM token, `admin` an
/// administrator token; `check(method, template, response)` records conformance.
pub fn exercise(s: &Server, scim: &str, admin: &str, check: &dyn Fn(&str, &str, Resp) -> Resp) {
    let a = Some(admin);
    let call = |method: &str, template: &str, path: &str, body: Option<&Value>| -> Resp {
        check(method, template, s.call(method, path, a, &[], body))
    };

    let tenants = "/admin/v1/tenants";
    call("get", tenants, tenants, None);
    // A SCIM token is refused (403), as documented.
    check(
        "get",
        tenants,
        s.call("get", tenants, Some(scim), &[], None),
    );
    call("post", tenants, tenants, Some(&json!({"name": "beta"})));
    call("post", tenants, tenants, Some(&json!({"name": "beta"})));
    call("post", tenants, tenants, Some(&json!({"name": "_admin"})));
    let one = "/admin/v1/tenants/{name}";
    call("get", one, "/admin/v1/tenants/beta", None);
    call("get", one, "/admin/v1/tenants/nope", None);

    let settings = "/admin/v1/tenants/{name}/settings";
    let current = call("get", settings, "/admin/v1/tenants/beta/settings", None).json();
    let mut changed = current.clone();
    changed["deactivation_delay_secs"] = json!(0);
    call(
        "put",
        settings,
        "/admin/v1/tenants/beta/settings",
        Some(&changed),
    );
    call(
        "put",
        settings,
        "/admin/v1/tenants/beta/settings",
        Some(&json!({"bogus": 1})),
    );

    let tokens = "/admin/v1/tenants/{name}/tokens";
    call("get", tokens, "/admin/v1/tenants/acme/tokens", None);
    let issued = call(
        "post",
        tokens,
        "/admin/v1/tenants/beta/tokens",
        Some(&json!({"label": "okta-prod"})),
    )
    .json();
    let token_id = issued["id"].as_str().unwrap_or_default();
    let revoke = "/admin/v1/tenants/{name}/tokens/{id}";
    call(
        "delete",
        revoke,
        &format!("/admin/v1/tenants/beta/tokens/{token_id}"),
        None,
    );
    call("delete", revoke, "/admin/v1/tenants/beta/tokens/nope", None);

    // A user of `acme`, through SCIM, to act on.
    let user = s
        .call(
            "post",
            "/scim/v2/Users",
            Some(scim),
            &[],
            Some(&json!({"userName": "admin-live@example.com", "password": "s3cret-Pass"})),
        )
        .json();
    let uid = user["id"].as_str().unwrap_or_default();
    let base = format!("/admin/v1/tenants/acme/users/{uid}");
    let user_op = |method: &str, what: &str| {
        call(
            method,
            &format!("/admin/v1/tenants/{{name}}/users/{{id}}/{what}"),
            &format!("{base}/{what}"),
            None,
        )
    };
    user_op("get", "state");
    call(
        "get",
        "/admin/v1/tenants/{name}/users/{id}/state",
        "/admin/v1/tenants/acme/users/nobody/state",
        None,
    );
    user_op("post", "legal-hold");
    user_op("delete", "legal-hold");
    user_op("post", "deactivate");
    user_op("post", "reactivate");
    user_op("get", "entitlements");
    call(
        "get",
        "/admin/v1/tenants/{name}/users/{id}/entitlements",
        "/admin/v1/tenants/acme/users/nobody/entitlements",
        None,
    );

    let verify = "/admin/v1/tenants/{name}/verify-password";
    let path = "/admin/v1/tenants/acme/verify-password";
    for body in [
        json!({"userName": "admin-live@example.com", "password": "s3cret-Pass"}),
        json!({"userName": "admin-live@example.com", "password": "wrong"}),
        json!({"userName": "admin-live@example.com"}),
    ] {
        call("post", verify, path, Some(&body));
    }

    call(
        "post",
        "/admin/v1/tenants/{name}/apply-mappings",
        "/admin/v1/tenants/acme/apply-mappings",
        None,
    );
    call(
        "get",
        "/admin/v1/tenants/{name}/jobs",
        "/admin/v1/tenants/acme/jobs",
        None,
    );
    let log = "/admin/v1/tenants/{name}/sync-log";
    let page = call(
        "get",
        log,
        &format!("/admin/v1/tenants/acme/sync-log?user={uid}&limit=1"),
        None,
    )
    .json();
    if let Some(next) = page["next"].as_str() {
        call(
            "get",
            log,
            &format!("/admin/v1/tenants/acme/sync-log?cursor={next}&since=2020-01-01"),
            None,
        );
    }
    call(
        "get",
        log,
        "/admin/v1/tenants/acme/sync-log?cursor=nonsense",
        None,
    );

    // Just-in-time login: accepted once `beta` maps the group, refused without one, an
    // assertion without NameID or email, an unknown tenant.
    let mut mapped = changed.clone();
    mapped["role_mappings"] = json!([{"group": "Divvy Engineers", "roles": ["developer"]}]);
    call(
        "put",
        settings,
        "/admin/v1/tenants/beta/settings",
        Some(&mapped),
    );
    let jit = "/admin/v1/tenants/{name}/jit-login";
    let ana = json!({"nameId": "ana@example.com", "email": "ana@example.com",
                     "firstName": "Ana", "lastName": "Lima", "groups": ["Divvy Engineers"]});
    call("post", jit, "/admin/v1/tenants/beta/jit-login", Some(&ana));
    call(
        "post",
        jit,
        "/admin/v1/tenants/beta/jit-login",
        Some(&json!({"nameId": "bo@example.com", "groups": ["Other"]})),
    );
    call(
        "post",
        jit,
        "/admin/v1/tenants/beta/jit-login",
        Some(&json!({"nameId": ""})),
    );
    call("post", jit, "/admin/v1/tenants/nope/jit-login", Some(&ana));

    // LDAP: no source (400), an unknown tenant (404), a source whose bind password variable
    // is unset (503, recorded as a failed run), and the runs.
    let sync = "/admin/v1/tenants/{name}/ldap/sync";
    call("post", sync, "/admin/v1/tenants/acme/ldap/sync", None);
    call("post", sync, "/admin/v1/tenants/nope/ldap/sync", None);
    let mut ldap = mapped.clone();
    ldap["ldap"] = json!({"url": "ldaps://127.0.0.1:1", "bind_dn": "cn=reader,dc=example,dc=com",
                          "bind_password_env": "SCIM_LIVE_UNSET_LDAP_PASSWORD",
                          "base_dn": "dc=example,dc=com", "groups": ["Divvy Engineers"]});
    call(
        "put",
        settings,
        "/admin/v1/tenants/beta/settings",
        Some(&ldap),
    );
    call("post", sync, "/admin/v1/tenants/beta/ldap/sync", None);
    // With `start_slapd`'s directory (scripts/services.sh), a run that succeeds: `beta` maps
    // no group, so it reads nothing and changes nothing.
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(url), Some(bind_dn), Some(_), Some(base)) = (
        var("SCIM_TEST_LDAP_URL"),
        var("SCIM_TEST_LDAP_BIND_DN"),
        var("SCIM_TEST_LDAP_BIND_PASSWORD"),
        var("SCIM_TEST_LDAP_BASE"),
    ) {
        ldap["ldap"] = json!({"url": url, "bind_dn": bind_dn,
            "bind_password_env": "SCIM_TEST_LDAP_BIND_PASSWORD", "base_dn": base,
            "groups": [], "allow_plaintext": true});
        call(
            "put",
            settings,
            "/admin/v1/tenants/beta/settings",
            Some(&ldap),
        );
        call("post", sync, "/admin/v1/tenants/beta/ldap/sync", None);
    }
    let runs = "/admin/v1/tenants/{name}/ldap/runs";
    call(
        "get",
        runs,
        "/admin/v1/tenants/beta/ldap/runs?limit=5",
        None,
    );
    call(
        "get",
        runs,
        "/admin/v1/tenants/acme/ldap/runs?limit=x",
        None,
    );

    call("delete", one, "/admin/v1/tenants/beta", None);
    call("delete", one, "/admin/v1/tenants/beta", None);
}
