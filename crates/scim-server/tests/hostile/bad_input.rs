//! Runs the table of hostile requests (`cases.rs`) against the real binary on each backend.
//!
//! Each case must get its expected answer: a SCIM Error (`application/scim+json`, the Error
//! schema, `status` as a string equal to the HTTP status, the `scimType` RFC 7644 §3.12 defines,
//! a `detail`), never a 5xx. After each case the server must still answer, and a refused
//! request must have changed nothing (the user's and the group's versions and the number of
//! users and groups stay as they were). Every failing case is reported, not just the first.

use serde_json::{Value, json};

use super::cases::{Case, Want, table};
use super::wire::{Framing, send, short};
use crate::common::{Resp, SCIM, Server, each_backend, id_of, urn};

/// What a refused request must not change.
#[derive(Debug, PartialEq)]
struct Snapshot {
    user_version: Value,
    group_version: Value,
    users: Value,
    groups: Value,
}

fn snapshot(srv: &Server, uid: &str, gid: &str) -> Snapshot {
    let get = |path: &str| {
        let r = srv.get(path);
        assert_eq!(
            r.status, 200,
            "the server stopped answering: GET {path}: {r:?}"
        );
        r.json()
    };
    Snapshot {
        user_version: get(&format!("/Users/{uid}"))["meta"]["version"].clone(),
        group_version: get(&format!("/Groups/{gid}?excludedAttributes=members"))["meta"]["version"]
            .clone(),
        users: get("/Users?count=0")["totalResults"].clone(),
        groups: get("/Groups?count=0")["totalResults"].clone(),
    }
}

fn run(srv: &Server, case: &Case) -> Resp {
    let mut headers: Vec<(String, String)> = case
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    if case.auth {
        headers.push(("Authorization".into(), format!("Bearer {}", srv.token)));
    }
    if let Some(ct) = case.content_type {
        headers.push(("Content-Type".into(), ct.into()));
    }
    let framing = if case.chunked {
        Framing::Chunked
    } else {
        Framing::Length
    };
    send(
        &srv.origin,
        case.method,
        &format!("{SCIM}{}", case.path),
        &headers,
        &case.body,
        framing,
    )
}

/// Why `r` is not a SCIM Error with this status and scimType, if it isn't.
pub fn scim_error(r: &Resp, status: u16, scim_type: Option<&str>) -> Result<(), String> {
    if r.status != status {
        return Err(format!("status {} instead of {status}", r.status));
    }
    let ct = r.header("content-type").unwrap_or("");
    if !ct.starts_with("application/scim+json") {
        return Err(format!("content-type {ct:?}"));
    }
    let body: Value =
        serde_json::from_str(&r.text).map_err(|e| format!("body is not JSON ({e})"))?;
    if body["schemas"] != json!([urn::ERROR]) {
        return Err("schemas is not the Error URN".into());
    }
    if body["status"] != json!(status.to_string()) {
        return Err(format!("status member {}", body["status"]));
    }
    if let Some(t) = scim_type
        && body["scimType"] != json!(t)
    {
        return Err(format!("scimType {} instead of {t:?}", body["scimType"]));
    }
    if body["detail"].as_str().is_none_or(|d| d.trim().is_empty()) {
        return Err("no detail".into());
    }
    Ok(())
}

fn check(case: &Case, r: &Resp) -> Result<(), String> {
    if r.status >= 500 {
        return Err(format!("a {}", r.status));
    }
    match &case.want {
        Want::Error(status, scim_type) => scim_error(r, *status, *scim_type),
        Want::Accepted(status) => {
            if r.status != *status {
                return Err(format!("status {} instead of {status}", r.status));
            }
            let ct = r.header("content-type").unwrap_or("");
            if !ct.starts_with("application/scim+json") {
                return Err(format!("content-type {ct:?}"));
            }
            Ok(())
        }
        Want::Bulk(statuses) => {
            if r.status != 200 {
                return Err(format!("status {} instead of 200", r.status));
            }
            let body: Value =
                serde_json::from_str(&r.text).map_err(|e| format!("body is not JSON ({e})"))?;
            let ops = body["Operations"].as_array().cloned().unwrap_or_default();
            let got: Vec<String> = ops
                .iter()
                .map(|o| o["status"].as_str().unwrap_or("?").to_string())
                .collect();
            if got != *statuses {
                return Err(format!(
                    "operation statuses {got:?} instead of {statuses:?}"
                ));
            }
            for op in ops
                .iter()
                .filter(|o| !o["status"].as_str().is_some_and(|s| s.starts_with('2')))
            {
                let e = &op["response"];
                if e["schemas"] != json!([urn::ERROR]) || e["status"] != op["status"] {
                    return Err(format!("operation error is not a SCIM Error: {op}"));
                }
            }
            Ok(())
        }
        Want::Framework(status) if r.status == *status => Ok(()),
        Want::Framework(status) => Err(format!("status {} instead of {status}", r.status)),
    }
}

#[test]
fn every_bad_input_is_a_4xx_scim_error_and_the_server_stays_up() {
    each_backend(|srv: &Server| {
        let uid = id_of(&srv.create_user("victim@example.com"));
        let gid = id_of(&srv.create_group("Victims", &[&uid]));
        let cases = table(&uid, &gid);
        let total = cases.len();
        let mut failures = Vec::new();
        let mut before = snapshot(srv, &uid, &gid);
        for (i, case) in cases.iter().enumerate() {
            // Shown if the server dies on this case and the next request panics.
            eprintln!("[{}] case {i}: {}", srv.backend, case.what);
            let r = run(srv, case);
            if let Err(why) = check(case, &r) {
                failures.push(format!(
                    "{} ({} {}): {why}\n    {r:?}",
                    case.what,
                    case.method,
                    short(&case.path)
                ));
            }
            let after = snapshot(srv, &uid, &gid);
            if !matches!(case.want, Want::Accepted(_) | Want::Bulk(_)) && after != before {
                failures.push(format!(
                    "{}: refused, yet changed {before:?} to {after:?}",
                    case.what
                ));
            }
            before = after;
        }
        assert!(
            failures.is_empty(),
            "[{}] {} of {total} cases failed:\n{}",
            srv.backend,
            failures.len(),
            failures.join("\n")
        );
    });
}
