//! The OpenAPI document against the code.
//!
//! - `openapi/openapi.json` at the repository root is exactly what [`document`] and
//!   `scim-server openapi` produce (a stale file fails with the command that regenerates it).
//! - The document describes exactly the operations the server registers: [`OPERATIONS`] is the
//!   list, checked against the document, against the route literals in `routes.rs` and
//!   `main.rs`, and (in `openapi/live.rs`) against the running binary.
//! - The document is valid enough for OpenAPI 3.1 tooling: every response has a description,
//!   every `$ref` resolves, operation ids are unique, path parameters are declared.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test fails by panicking, with what it found"
)]

#[path = "openapi/live.rs"]
mod live;
#[path = "openapi/schema_check.rs"]
mod schema_check;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use scim_server::openapi::document;
use serde_json::Value;

/// How to bring the committed document up to date.
const REGENERATE: &str = "cargo run -q -p scim-server -- openapi > openapi/openapi.json";

/// Every operation the server has, as (method, path from the origin). The binary mounts the
/// SCIM API at `/scim/v2` and the admin API at `/admin/v1`; `/healthz`, `/readyz` and
/// `/metrics` are its own root routes.
/// Adding a route means adding it here and documenting it with `#[utoipa::path]`.
pub const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/scim/v2/ServiceProviderConfig"),
    ("get", "/scim/v2/ResourceTypes"),
    ("get", "/scim/v2/ResourceTypes/{name}"),
    ("get", "/scim/v2/Schemas"),
    ("get", "/scim/v2/Schemas/{urn}"),
    ("get", "/scim/v2/Users"),
    ("post", "/scim/v2/Users"),
    ("get", "/scim/v2/Users/{id}"),
    ("put", "/scim/v2/Users/{id}"),
    ("patch", "/scim/v2/Users/{id}"),
    ("delete", "/scim/v2/Users/{id}"),
    ("post", "/scim/v2/Users/.search"),
    ("get", "/scim/v2/Groups"),
    ("post", "/scim/v2/Groups"),
    ("get", "/scim/v2/Groups/{id}"),
    ("put", "/scim/v2/Groups/{id}"),
    ("patch", "/scim/v2/Groups/{id}"),
    ("delete", "/scim/v2/Groups/{id}"),
    ("post", "/scim/v2/Groups/.search"),
    ("post", "/scim/v2/.search"),
    ("post", "/scim/v2/Bulk"),
    ("get", "/scim/v2/openapi.json"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/admin/v1/tenants"),
    ("post", "/admin/v1/tenants"),
    ("get", "/admin/v1/tenants/{name}"),
    ("delete", "/admin/v1/tenants/{name}"),
    ("get", "/admin/v1/tenants/{name}/settings"),
    ("put", "/admin/v1/tenants/{name}/settings"),
    ("get", "/admin/v1/tenants/{name}/tokens"),
    ("post", "/admin/v1/tenants/{name}/tokens"),
    ("delete", "/admin/v1/tenants/{name}/tokens/{id}"),
    ("get", "/admin/v1/tenants/{name}/users/{id}/state"),
    ("post", "/admin/v1/tenants/{name}/users/{id}/legal-hold"),
    ("delete", "/admin/v1/tenants/{name}/users/{id}/legal-hold"),
    ("post", "/admin/v1/tenants/{name}/users/{id}/deactivate"),
    ("post", "/admin/v1/tenants/{name}/users/{id}/reactivate"),
    ("get", "/admin/v1/tenants/{name}/users/{id}/entitlements"),
    ("post", "/admin/v1/tenants/{name}/verify-password"),
    ("post", "/admin/v1/tenants/{name}/apply-mappings"),
    ("post", "/admin/v1/tenants/{name}/jit-login"),
    ("get", "/admin/v1/tenants/{name}/jobs"),
    ("get", "/admin/v1/tenants/{name}/sync-log"),
    ("post", "/admin/v1/tenants/{name}/ldap/sync"),
    ("get", "/admin/v1/tenants/{name}/ldap/runs"),
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// The document as JSON, the way tools read it.
pub fn document_json() -> Value {
    serde_json::to_value(document()).unwrap()
}

fn pretty() -> String {
    format!("{}\n", document().to_pretty_json().unwrap())
}

/// Every (method, path) in a document.
pub fn operations_of(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert((method.to_string(), path.clone()));
            }
        }
    }
    out
}

fn expected() -> BTreeSet<(String, String)> {
    OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

/// The first line where two texts differ, for a readable failure.
fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  committed: {x}\n  generated: {y}", i + 1);
        }
    }
    format!(
        "one is a prefix of the other ({} vs {} lines)",
        a.lines().count(),
        b.lines().count()
    )
}

#[test]
fn committed_document_is_current() {
    let path = repo_file("openapi/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = pretty();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale or missing; regenerate it from the repository root with\n\n    {REGENERATE}\n\nand commit it. First difference: {}",
        first_difference(&committed, &generated)
    );
}

#[test]
fn binary_prints_the_document_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scim-server"))
        .arg("openapi")
        .current_dir(dir.path())
        // A database that cannot be opened: the command must not try.
        .env("SCIM_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), pretty());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "`openapi` created files in the working directory"
    );
}

#[test]
fn documents_exactly_the_registered_operations() {
    let doc = document_json();
    let documented = operations_of(&doc);
    let want = expected();
    let missing: Vec<_> = want.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "undocumented operations: {missing:?}; documented but not in OPERATIONS: {extra:?}"
    );
}

/// The source of `configure_admin` in `routes.rs` (up to the next item), and the rest.
fn split_admin(src: &str) -> (String, String) {
    let Some(start) = src.find("pub fn configure_admin") else {
        return (String::new(), src.to_string());
    };
    let body = &src[start..];
    let end = body[1..]
        .find("\nfn ")
        .into_iter()
        .chain(body[1..].find("\npub "))
        .chain(body[1..].find("\n///"))
        .min()
        .map_or(body.len(), |i| i + 1);
    (
        body[..end].to_string(),
        format!("{}{}", &src[..start], &body[end..]),
    )
}

/// String literals that are route paths: every `"/…"` outside comments in `routes.rs`
/// (mounted under `/admin/v1` inside `configure_admin`, under `/scim/v2` elsewhere), and the
/// `.route("/…"` paths of `main.rs` (at the root).
fn route_literals() -> BTreeSet<String> {
    let literals = |rel: &str, only_after: Option<&str>, part: Option<bool>| -> Vec<String> {
        let mut src = std::fs::read_to_string(repo_file(rel)).unwrap();
        if let Some(admin) = part {
            let (a, rest) = split_admin(&src);
            src = if admin { a } else { rest };
        }
        let code: String = src
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut found = Vec::new();
        let mut rest = code.as_str();
        while let Some(i) = rest.find("\"/") {
            let before = rest[..i].trim_end();
            rest = &rest[i + 1..];
            let Some(end) = rest.find('"') else { break };
            let lit = &rest[..end];
            rest = &rest[end + 1..];
            if only_after.is_none_or(|p| before.ends_with(p)) {
                found.push(lit.trim_end_matches('/').to_string());
            }
        }
        found
    };
    let mut out = BTreeSet::new();
    for p in literals("crates/scim-server/src/routes.rs", None, Some(false)) {
        out.insert(format!("/scim/v2{p}"));
    }
    for p in literals("crates/scim-server/src/routes.rs", None, Some(true)) {
        out.insert(format!("/admin/v1{p}"));
    }
    for p in literals("crates/scim-server/src/main.rs", Some(".route("), None) {
        out.insert(p);
    }
    out
}

#[test]
fn every_route_in_the_source_is_documented() {
    let literals = route_literals();
    assert!(
        literals.contains("/scim/v2/Users/{id}")
            && literals.contains("/healthz")
            && literals.contains("/admin/v1/tenants/{name}/sync-log")
            && !literals.iter().any(|l| l.starts_with("/scim/v2/tenants")),
        "the route scan found too little: {literals:?}"
    );
    let documented: BTreeSet<String> = expected().into_iter().map(|(_, p)| p).collect();
    let undocumented: Vec<_> = literals.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes registered in routes.rs/main.rs but not documented: {undocumented:?}"
    );
}

/// Resolves a local `$ref`.
pub fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(x, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

#[test]
fn document_is_well_formed() {
    let doc = document_json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "scim-rs SCIM 2.0 API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["info"]["license"]["name"], "Apache-2.0");
    assert!(doc["info"]["description"].as_str().unwrap().len() > 100);

    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    for r in &refs {
        // Properties named `$ref` (SCIM's members.$ref) are schemas, not references.
        if r.starts_with('#') {
            assert!(resolve(&doc, r).is_some(), "dangling $ref {r}");
        }
    }

    let mut ids = BTreeSet::new();
    for (method, path) in operations_of(&doc) {
        let op = &doc["paths"][&path][&method];
        let here = format!("{} {path}", method.to_uppercase());
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{here}: no operationId");
        assert!(
            ids.insert(id.to_string()),
            "{here}: duplicate operationId {id}"
        );
        assert!(
            op["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{here}: no tag"
        );
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{here}: no summary"
        );

        let responses = op["responses"].as_object().unwrap();
        assert!(!responses.is_empty(), "{here}: no responses");
        for (status, response) in responses {
            let description = response["description"].as_str().unwrap_or_default();
            assert!(!description.is_empty(), "{here} {status}: no description");
            let scim = (path.starts_with("/scim/v2/") && !path.ends_with("/openapi.json"))
                || path.starts_with("/admin/v1/");
            if scim && status.starts_with(['4', '5']) {
                assert_eq!(
                    response["content"]["application/scim+json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{here} {status}: errors are SCIM Error bodies"
                );
            }
        }

        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let templated: BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|s| s.split('}').next())
            .collect();
        assert_eq!(declared, templated, "{here}: path parameters");

        if let Some(body) = op.get("requestBody") {
            let content = body["content"].as_object().unwrap();
            for ct in ["application/scim+json", "application/json"] {
                assert!(content.contains_key(ct), "{here}: request body lacks {ct}");
            }
        }

        let public = ["Discovery", "Operations"].contains(&op["tags"][0].as_str().unwrap());
        let schemes: BTreeSet<String> = op["security"]
            .as_array()
            .map(|s| {
                s.iter()
                    .flat_map(|req| req.as_object().unwrap().keys().cloned())
                    .collect()
            })
            .unwrap_or_default();
        if public {
            assert!(
                schemes.is_empty(),
                "{here}: public, yet requires {schemes:?}"
            );
        } else if path.starts_with("/admin/v1/") {
            let both: BTreeSet<String> = ["adminBasic".into(), "adminBearer".into()].into();
            assert_eq!(schemes, both, "{here}: administrator bearer and basic");
            assert!(responses.contains_key("401"), "{here}: 401 undocumented");
            assert!(responses.contains_key("403"), "{here}: 403 undocumented");
        } else {
            let both: BTreeSet<String> = ["basic".into(), "bearer".into()].into();
            assert_eq!(schemes, both, "{here}: bearer and basic");
            assert!(responses.contains_key("401"), "{here}: 401 undocumented");
        }
    }
    for (name, scheme) in [
        ("bearer", "bearer"),
        ("basic", "basic"),
        ("adminBearer", "bearer"),
        ("adminBasic", "basic"),
    ] {
        assert_eq!(doc["components"]["securitySchemes"][name]["type"], "http");
        assert_eq!(doc["components"]["securitySchemes"][name]["scheme"], scheme);
    }
}

#[test]
fn resource_schemas_follow_the_attribute_table() {
    let doc = document_json();
    // Responses may leave any attribute out (projection), so only request bodies require.
    let user = &doc["components"]["schemas"]["User"];
    assert_eq!(user.get("required"), None);
    let input = &doc["components"]["schemas"]["UserInput"]["allOf"];
    assert_eq!(input[0]["$ref"], "#/components/schemas/User");
    assert_eq!(input[1]["required"], serde_json::json!(["userName"]));
    let p = &user["properties"];
    for ro in ["id", "meta", "groups"] {
        assert_eq!(p[ro]["readOnly"], true, "User.{ro} is readOnly");
    }
    assert_eq!(p["password"]["writeOnly"], true);
    assert_eq!(p["active"]["type"], "boolean");
    assert_eq!(p["emails"]["type"], "array");
    assert_eq!(p["name"]["properties"]["givenName"]["type"], "string");
    assert_eq!(p["meta"]["properties"]["created"]["format"], "date-time");
    assert_eq!(
        p["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["$ref"],
        "#/components/schemas/EnterpriseUser"
    );
    let group = &doc["components"]["schemas"]["Group"];
    assert_eq!(group.get("required"), None);
    let input = &doc["components"]["schemas"]["GroupInput"]["allOf"];
    assert_eq!(input[1]["required"], serde_json::json!(["displayName"]));
    assert_eq!(group["properties"]["members"]["type"], "array");

    // The scimType enum lists exactly what core can put in an Error body.
    use scim_core::ScimType as T;
    let core = |t: T| match t {
        T::InvalidFilter
        | T::TooMany
        | T::Uniqueness
        | T::Mutability
        | T::InvalidSyntax
        | T::InvalidPath
        | T::NoTarget
        | T::InvalidValue
        | T::InvalidVers
        | T::Sensitive => t.as_str(),
    };
    let all = [
        T::InvalidFilter,
        T::TooMany,
        T::Uniqueness,
        T::Mutability,
        T::InvalidSyntax,
        T::InvalidPath,
        T::NoTarget,
        T::InvalidValue,
        T::InvalidVers,
        T::Sensitive,
    ];
    let from_core: BTreeSet<&str> = all.into_iter().map(core).collect();
    let documented: BTreeSet<&str> = doc["components"]["schemas"]["ScimType"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(documented, from_core);
}

#[test]
fn a_configured_extension_is_described() {
    use scim_core::schema::{AttrType, AttributeDef, Schema, SchemaRegistry};
    let mut registry = SchemaRegistry::standard();
    registry
        .register_extension(
            Schema {
                id: "urn:example:params:scim:schemas:extension:acme:2.0:User".into(),
                name: "AcmeUser".into(),
                description: "Acme".into(),
                attributes: vec![
                    AttributeDef::new("organizationName", AttrType::String).required(),
                ],
            },
            "User",
            false,
        )
        .unwrap();
    let doc =
        serde_json::to_value(scim_server::openapi::document_for(&registry, "/idp/scim/")).unwrap();
    assert!(doc["paths"]["/idp/scim/Users"]["post"].is_object());
    assert!(doc["paths"]["/healthz"]["get"].is_object());
    let acme = &doc["components"]["schemas"]["AcmeUser"];
    assert_eq!(acme.get("required"), None);
    assert_eq!(
        doc["components"]["schemas"]["UserInput"]["allOf"][1]["properties"]["urn:example:params:scim:schemas:extension:acme:2.0:User"]
            ["required"],
        serde_json::json!(["organizationName"])
    );
    assert_eq!(
        doc["components"]["schemas"]["User"]["properties"]["urn:example:params:scim:schemas:extension:acme:2.0:User"]
            ["$ref"],
        "#/components/schemas/AcmeUser"
    );
}
