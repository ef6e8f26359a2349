//! Authentication: bearer tokens and HTTP Basic made by `token create`, every way of getting
//! it wrong, and revocation by `token revoke` while the server runs.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{Resp, Server, assert_scim_error, each_backend};

#[track_caller]
fn assert_401(r: &Resp) {
    assert_scim_error(r, 401, None);
    let challenge = r.header("www-authenticate").unwrap_or("");
    assert!(
        challenge.to_ascii_lowercase().contains("bearer"),
        "no Bearer challenge: {r:?}"
    );
}

#[test]
fn missing_wrong_unknown_and_malformed_credentials_are_401() {
    each_backend(|srv: &Server| {
        let (id, secret) = srv.token.split_once('.').expect("token is id.secret");
        assert!(id.starts_with("tok_"), "{id}");
        assert_401(&srv.req("GET", "/Users").without("authorization").send());
        let wrong_secret = format!("{id}.{}", "0".repeat(secret.len()));
        assert_401(&srv.req("GET", "/Users").bearer(&wrong_secret).send());
        let unknown_id = format!("tok_{}.{secret}", "f".repeat(32));
        assert_401(&srv.req("GET", "/Users").bearer(&unknown_id).send());
        for malformed in [
            "Bearer",
            "Bearer ",
            "Bearer nodot",
            "Bearer .secret",
            "Token abc.def",
            "Basic !!!not-base64",
            "Basic Zm9v", // "foo": no colon
            "Digest username=\"x\"",
        ] {
            let r = srv
                .req("GET", "/Users")
                .header("authorization", malformed)
                .send();
            assert_401(&r);
        }
        assert_401(&srv.req("GET", "/Users").basic(id, "wrong").send());
        assert_401(&srv.req("GET", "/Users").basic("", secret).send());
        // Nothing in a 401 echoes what was sent.
        let r = srv.req("GET", "/Users").bearer(&wrong_secret).send();
        assert!(
            !r.text.contains(&wrong_secret) && !r.text.contains(id),
            "{r:?}"
        );

        // Every SCIM resource endpoint needs credentials.
        for (method, path) in [
            ("GET", "/Users/x"),
            ("POST", "/Users"),
            ("GET", "/Groups"),
            ("POST", "/Groups/.search"),
            ("POST", "/.search"),
            ("POST", "/Bulk"),
            ("DELETE", "/Groups/x"),
        ] {
            let r = srv
                .req(method, path)
                .without("authorization")
                .body("application/scim+json", "{}")
                .send();
            assert_401(&r);
        }
    });
}

#[test]
fn bearer_and_basic_both_work() {
    each_backend(|srv: &Server| {
        let (id, secret) = srv.token.split_once('.').expect("token is id.secret");
        let r = srv.req("GET", "/Users").send();
        assert_eq!(r.status, 200, "{r:?}");
        let r = srv
            .req("GET", "/Users")
            .header("authorization", &format!("bearer {}", srv.token))
            .send();
        assert_eq!(r.status, 200, "scheme names are case-insensitive: {r:?}");
        // Okta's Basic-auth template: token id as user, secret as password.
        let r = srv.req("GET", "/Users").basic(id, secret).send();
        assert_eq!(r.status, 200, "{r:?}");
        let r = srv
            .req("POST", "/Users")
            .basic(id, secret)
            .json(&crate::common::user_body("basic@example.com"))
            .send();
        assert_eq!(r.status, 201, "{r:?}");
        // Both forms reach the same tenant.
        let l = srv
            .get("/Users?filter=userName%20eq%20%22basic%40example.com%22")
            .json();
        assert_eq!(l["totalResults"], json!(1), "{l}");
        // Discovery is public.
        for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
            let r = srv.raw("GET", &format!("/scim/v2{path}")).send();
            assert_eq!(r.status, 200, "{path}: {r:?}");
        }
    });
}

#[test]
fn a_revoked_token_is_refused_within_seconds() {
    each_backend(|srv: &Server| {
        let second = srv.cli_ok(&["token", "create", "--tenant", "acme"]);
        let (second_id, second_secret) = second.split_once('.').expect("id.secret");
        // Warm the server's cache with both forms.
        assert_eq!(srv.req("GET", "/Users").bearer(&second).send().status, 200);
        assert_eq!(
            srv.req("GET", "/Users")
                .basic(second_id, second_secret)
                .send()
                .status,
            200
        );
        let out = srv.cli(&["token", "revoke", second_id]);
        assert!(
            out.status.success(),
            "revoke failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let revoked_at = Instant::now();
        let mut bearer_refused = None;
        let mut basic_refused = None;
        while revoked_at.elapsed() < Duration::from_secs(5)
            && (bearer_refused.is_none() || basic_refused.is_none())
        {
            if bearer_refused.is_none() {
                let r = srv.req("GET", "/Users").bearer(&second).send();
                if r.status == 401 {
                    assert_401(&r);
                    bearer_refused = Some(revoked_at.elapsed());
                } else {
                    assert_eq!(r.status, 200, "{r:?}");
                }
            }
            if basic_refused.is_none() {
                let r = srv
                    .req("GET", "/Users")
                    .basic(second_id, second_secret)
                    .send();
                if r.status == 401 {
                    basic_refused = Some(revoked_at.elapsed());
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            bearer_refused.is_some(),
            "revoked bearer token still accepted after 5 s"
        );
        assert!(
            basic_refused.is_some(),
            "revoked token still accepted by Basic after 5 s"
        );
        // It stays refused, and the tenant's other token is unaffected.
        std::thread::sleep(Duration::from_millis(2100));
        assert_401(&srv.req("GET", "/Users").bearer(&second).send());
        assert_eq!(srv.get("/Users").status, 200);
    });
}

#[test]
fn cli_contract_for_tenants_and_tokens() {
    each_backend(|srv: &Server| {
        // `tenant create` prints the id alone; names are unique.
        let id = srv.cli_ok(&["tenant", "create", "beta"]);
        assert!(
            !id.is_empty() && !id.contains(char::is_whitespace),
            "{id:?}"
        );
        let again = srv.cli(&["tenant", "create", "beta"]);
        assert!(
            !again.status.success(),
            "a duplicate tenant name was accepted"
        );
        // `token create` prints the bearer token alone on stdout; a made one works at once.
        let token = srv.cli_ok(&["token", "create", "--tenant", "beta"]);
        assert_eq!(token.lines().count(), 1, "{token:?}");
        assert_eq!(srv.req("GET", "/Users").bearer(&token).send().status, 200);
        let missing = srv.cli(&["token", "create", "--tenant", "no-such-tenant"]);
        assert!(!missing.status.success());
        assert!(
            missing.stdout.is_empty(),
            "a failing token create printed to stdout"
        );
        assert!(
            !missing.stderr.is_empty(),
            "a failing token create must say why"
        );
        let unknown = srv.cli(&["token", "revoke", "tok_does_not_exist"]);
        assert!(
            !unknown.status.success(),
            "revoking an unknown token succeeded"
        );
        // `migrate` is idempotent on a migrated database.
        let m = srv.cli(&["migrate"]);
        assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
        // Tokens never appear in the log.
        let log = srv.log_text();
        let secret = token.split_once('.').map(|(_, s)| s).unwrap_or("");
        assert!(!log.contains(secret), "token secret in the server log");
    });
}
