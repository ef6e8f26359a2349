//! Discovery (`/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`) and observability
//! (`/healthz`, `/readyz`, `/metrics`, request ids).

use serde_json::{Value, json};

use crate::common::{Server, assert_scim_error, assert_scim_json, each_backend, resources, urn};

#[test]
fn service_provider_config_reflects_what_is_supported() {
    each_backend(|srv: &Server| {
        // Public: no credentials needed (RFC 7644 §4).
        let r = srv.raw("GET", "/scim/v2/ServiceProviderConfig").send();
        assert_eq!(r.status, 200, "{r:?}");
        assert_scim_json(&r);
        let c = r.json();
        assert_eq!(
            c["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
        );
        assert_eq!(c["patch"]["supported"], json!(true), "{c}");
        assert_eq!(c["bulk"]["supported"], json!(true), "{c}");
        assert_eq!(c["bulk"]["maxOperations"], json!(1000), "{c}");
        assert_eq!(c["bulk"]["maxPayloadSize"], json!(1024 * 1024), "{c}");
        assert_eq!(c["filter"]["supported"], json!(true), "{c}");
        assert_eq!(c["filter"]["maxResults"], json!(1000), "{c}");
        assert_eq!(c["etag"]["supported"], json!(true), "{c}");
        assert_eq!(c["sort"]["supported"], json!(true), "{c}");
        let schemes = c["authenticationSchemes"].as_array().expect("schemes");
        assert!(!schemes.is_empty(), "{c}");
        assert_eq!(
            c["meta"]["location"],
            json!(format!("{}/scim/v2/ServiceProviderConfig", srv.origin))
        );
        // Trailing slash and credentials both fine.
        let r = srv.get("/ServiceProviderConfig/");
        assert_eq!(r.status, 200, "{r:?}");
    });
}

#[test]
fn resource_types_list_and_by_name() {
    each_backend(|srv: &Server| {
        let r = srv.raw("GET", "/scim/v2/ResourceTypes").send();
        assert_eq!(r.status, 200, "{r:?}");
        assert_scim_json(&r);
        let list = r.json();
        assert_eq!(list["schemas"], json!([urn::LIST]), "{list}");
        let names: Vec<&str> = resources(&list)
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        assert!(
            names.contains(&"User") && names.contains(&"Group"),
            "{list}"
        );
        assert_eq!(list["totalResults"], json!(names.len()));

        let user = srv.get("/ResourceTypes/User").json();
        assert_eq!(user["endpoint"], json!("/Users"), "{user}");
        assert_eq!(user["schema"], json!(urn::USER), "{user}");
        assert!(
            user["schemaExtensions"]
                .as_array()
                .is_some_and(|e| e.iter().any(|x| x["schema"] == json!(urn::ENTERPRISE))),
            "{user}"
        );
        assert_eq!(
            user["meta"]["location"],
            json!(format!("{}/scim/v2/ResourceTypes/User", srv.origin))
        );
        let group = srv.get("/ResourceTypes/Group").json();
        assert_eq!(group["endpoint"], json!("/Groups"), "{group}");

        assert_scim_error(&srv.get("/ResourceTypes/Printer"), 404, None);
        assert_scim_error(&srv.req("DELETE", "/ResourceTypes/User").send(), 405, None);
        assert_scim_error(&srv.post("/ResourceTypes", &json!({})), 405, None);
    });
}

#[test]
fn schemas_list_and_by_urn() {
    each_backend(|srv: &Server| {
        // Entra reads /Schemas when provisioning is configured: it must be a ListResponse.
        let r = srv.raw("GET", "/scim/v2/Schemas").send();
        assert_eq!(r.status, 200, "{r:?}");
        assert_scim_json(&r);
        let list = r.json();
        assert_eq!(list["schemas"], json!([urn::LIST]), "{list}");
        let ids: Vec<&str> = resources(&list)
            .iter()
            .filter_map(|s| s["id"].as_str())
            .collect();
        for want in [urn::USER, urn::GROUP, urn::ENTERPRISE] {
            assert!(ids.contains(&want), "{want} missing from {ids:?}");
        }
        for s in resources(&list) {
            let loc = s["meta"]["location"].as_str().unwrap_or("");
            assert!(
                loc.starts_with(&format!("{}/scim/v2/Schemas/", srv.origin)),
                "location not absolute: {s}"
            );
        }

        let r = srv.get(&format!("/Schemas/{}", urn::ENTERPRISE));
        assert_eq!(r.status, 200, "{r:?}");
        let ent = r.json();
        assert_eq!(ent["id"], json!(urn::ENTERPRISE));
        let attrs: Vec<&str> = ent["attributes"]
            .as_array()
            .expect("attributes")
            .iter()
            .filter_map(|a| a["name"].as_str())
            .collect();
        assert!(
            attrs.contains(&"employeeNumber") && attrs.contains(&"manager"),
            "{attrs:?}"
        );
        assert_eq!(
            ent["meta"]["location"],
            json!(format!(
                "{}/scim/v2/Schemas/{}",
                srv.origin,
                urn::ENTERPRISE
            ))
        );
        let user = srv.get(&format!("/Schemas/{}", urn::USER)).json();
        let password = user["attributes"]
            .as_array()
            .expect("attributes")
            .iter()
            .find(|a| a["name"] == json!("password"))
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(password["returned"], json!("never"), "{password}");

        assert_scim_error(&srv.get("/Schemas/urn:example:no:such:schema"), 404, None);
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let r = srv
                .req(method, "/Schemas")
                .body("application/scim+json", "{}")
                .send();
            assert_scim_error(&r, 405, None);
        }
        assert_scim_error(
            &srv.req("PUT", &format!("/Schemas/{}", urn::USER))
                .body("application/scim+json", "{}")
                .send(),
            405,
            None,
        );
    });
}

#[test]
fn health_ready_and_metrics() {
    each_backend(|srv: &Server| {
        let r = srv.raw("GET", "/healthz").send();
        assert_eq!(r.status, 200, "{r:?}");
        let r = srv.raw("GET", "/readyz").send();
        assert_eq!(r.status, 200, "{r:?}");
        // Some traffic to count.
        assert_eq!(srv.get("/Users").status, 200);
        assert_eq!(srv.raw("GET", "/scim/v2/Users").send().status, 401);
        let r = srv.raw("GET", "/metrics").send();
        assert_eq!(r.status, 200, "{r:?}");
        assert!(
            r.header("content-type")
                .unwrap_or("")
                .starts_with("text/plain"),
            "{r:?}"
        );
        let lines: Vec<&str> = r
            .text
            .lines()
            .filter(|l| l.starts_with("scim_http_requests_total{"))
            .collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("status=\"200\"") && l.contains("GET")),
            "{}",
            r.text
        );
        assert!(
            lines.iter().any(|l| l.contains("status=\"401\"")),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("scim_http_request_duration_seconds"),
            "{}",
            r.text
        );
        // SQLite's group commit is exported (the writes above included the token's use, at
        // least); PostgreSQL has no writer thread to report on.
        let writes = r
            .text
            .lines()
            .find_map(|l| l.strip_prefix("scim_sqlite_writes_total "))
            .and_then(|v| v.trim().parse::<f64>().ok());
        match srv.backend {
            "sqlite" => {
                assert!(writes.is_some_and(|n| n >= 1.0), "{}", r.text);
                for name in [
                    "scim_sqlite_write_batches_total",
                    "scim_sqlite_writer_busy_seconds_total",
                    "scim_sqlite_wal_fsyncs_total",
                    "scim_sqlite_wal_fsync_seconds_total",
                    "scim_sqlite_durable_wait_seconds_total",
                    "scim_sqlite_write_seconds_total",
                ] {
                    assert!(
                        r.text.contains(&format!("\n{name} ")),
                        "{name}:\n{}",
                        r.text
                    );
                }
            }
            _ => assert!(!r.text.contains("scim_sqlite_"), "{}", r.text),
        }
        // Never a token in the metrics or the log.
        assert!(!r.text.contains(&srv.token));
        let secret = srv.token.split_once('.').map(|(_, s)| s).unwrap_or("");
        let log = srv.log_text();
        assert!(
            log.contains("/scim/v2/Users"),
            "requests are not logged:\n{log}"
        );
        assert!(!log.contains(secret), "the log shows a token secret");
    });
}

#[test]
fn every_response_carries_a_request_id() {
    each_backend(|srv: &Server| {
        let responses = [
            srv.get("/Users"),
            srv.get("/ServiceProviderConfig"),
            srv.raw("GET", "/scim/v2/Users").send(),
            srv.get("/Users/00000000-0000-0000-0000-000000000000"),
            srv.get("/Nope"),
            srv.req("DELETE", "/Schemas").send(),
        ];
        for r in &responses {
            let id = r.header("x-request-id").unwrap_or("");
            assert!(!id.is_empty(), "no x-request-id: {r:?}");
        }
        let ids: std::collections::HashSet<&str> = responses
            .iter()
            .filter_map(|r| r.header("x-request-id"))
            .collect();
        assert_eq!(ids.len(), 6, "request ids repeat: {ids:?}");
        // A caller's id is echoed, so logs on both sides line up.
        let r = srv
            .req("GET", "/Users")
            .header("x-request-id", "okta-42")
            .send();
        assert_eq!(r.header("x-request-id"), Some("okta-42"), "{r:?}");
    });
}

/// The operational endpoints answer with request ids too, so a probe's log line can be found.
#[test]
fn health_endpoints_carry_a_request_id() {
    each_backend(|srv: &Server| {
        for path in ["/healthz", "/readyz", "/metrics"] {
            let r = srv.raw("GET", path).send();
            assert_eq!(r.status, 200, "{r:?}");
            let id = r.header("x-request-id").unwrap_or("");
            assert!(!id.is_empty(), "GET {path}: no x-request-id: {r:?}");
        }
    });
}

#[test]
fn the_openapi_document_is_served() {
    each_backend(|srv: &Server| {
        let r = srv.raw("GET", "/scim/v2/openapi.json").send();
        assert_eq!(r.status, 200, "{r:?}");
        let doc = r.json();
        assert!(
            doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
            "{doc}"
        );
        let paths = doc["paths"].as_object().expect("paths");
        for p in ["/Users", "/Users/{id}", "/Groups", "/Bulk", "/.search"] {
            assert!(
                paths.keys().any(|k| k.ends_with(p)),
                "{p} missing from {:?}",
                paths.keys().collect::<Vec<_>>()
            );
        }
    });
}

/// A gauge's value in a /metrics text.
fn gauge(metrics: &str, name: &str) -> Option<i64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn pool_size_bounds_the_database_pool_and_metrics_show_it() {
    for db in scim_store::testing::TestDb::all() {
        let srv = Server::start_with(db, &["--pool-size", "3"]);
        // Enough requests at once that the pool opens what it may.
        std::thread::scope(|s| {
            for _ in 0..12 {
                s.spawn(|| {
                    for _ in 0..20 {
                        let r = srv.get("/Users?count=5");
                        assert_eq!(r.status, 200, "[{}] {r:?}", srv.backend);
                    }
                });
            }
        });
        let m = srv.raw("GET", "/metrics").send().text;
        let b = srv.backend;
        assert_eq!(
            gauge(&m, "scim_db_pool_max_connections"),
            Some(3),
            "[{b}] {m}"
        );
        let open = gauge(&m, "scim_db_pool_connections").expect("open connections");
        let idle = gauge(&m, "scim_db_pool_idle_connections").expect("idle connections");
        assert!((1..=3).contains(&open), "[{b}] {open} open");
        assert!((0..=open).contains(&idle), "[{b}] {idle} idle of {open}");
    }
}

#[test]
fn a_pool_size_of_zero_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("scim.db").display());
    // An address nothing can bind: were the size accepted, `serve` would still stop (with 1),
    // rather than run forever.
    let out = crate::common::cli(
        &url,
        &["serve", "--bind", "256.0.0.1:0", "--pool-size", "0"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--pool-size"), "{err}");
}
