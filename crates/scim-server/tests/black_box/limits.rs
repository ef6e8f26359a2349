//! Per-tenant rate limits: past its `rate_limit_per_sec`, a tenant's provider gets 429 with
//! `Retry-After` and a SCIM error body; other tenants are not slowed down.

use scim_store::{TenantId, tenants};

use crate::common::{Server, assert_scim_error, each_backend};

#[test]
fn a_tenant_past_its_rate_limit_gets_429_with_retry_after() {
    each_backend(|srv: &Server| {
        let id = srv.cli_ok(&["tenant", "create", "limited"]);
        let token = srv.cli_ok(&["token", "create", "--tenant", "limited"]);
        // Operators set the limit in the tenant's settings (no CLI for it yet).
        let tenant = TenantId(id);
        srv.store()
            .write(move |c| {
                let mut settings = tenants::settings(c, &tenant)?;
                settings.rate_limit_per_sec = Some(2);
                tenants::update_settings(c, &tenant, &settings)
            })
            .expect("set rate limit");

        let responses: Vec<_> = (0..30)
            .map(|_| srv.req("GET", "/Users?count=1").bearer(&token).send())
            .collect();
        let limited: Vec<_> = responses.iter().filter(|r| r.status == 429).collect();
        assert!(
            !limited.is_empty(),
            "30 quick requests at 2/s were all admitted: {:?}",
            responses.iter().map(|r| r.status).collect::<Vec<_>>()
        );
        assert!(
            responses.iter().all(|r| r.status == 200 || r.status == 429),
            "{responses:?}"
        );
        for r in &limited {
            assert_scim_error(r, 429, None);
            let wait: u64 = r
                .header("retry-after")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no numeric Retry-After: {r:?}"));
            assert!((1..=60).contains(&wait), "{r:?}");
        }
        // The default tenant has no limit and is unaffected.
        for _ in 0..12 {
            assert_eq!(srv.get("/Users?count=1").status, 200);
        }
        // After waiting as told, the limited tenant is admitted again.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(
            srv.req("GET", "/Users?count=1")
                .bearer(&token)
                .send()
                .status,
            200
        );
    });
}
