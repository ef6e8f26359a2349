//! The OpenAPI 3.1 document of the API: generated with utoipa from the `#[utoipa::path]`
//! attributes on the handlers, the protocol message types in [`messages`], and resource
//! schemas derived from the SCIM schema registry ([`resources`]).
//!
//! Three consumers, one function: [`document`] is what `scim-server openapi` prints and what
//! `openapi/openapi.json` at the repository root holds (a test fails when that file is stale);
//! [`serve`] answers `GET {mount}/openapi.json` with [`document_for`] the running server's
//! registry and mount path, so configured extensions and a custom prefix are described too.
//!
//! Paths in the document are absolute from the origin (`/scim/v2/Users`, `/healthz`), and the
//! only server is `/`: a generated client takes the origin as its base URL and reaches both
//! the SCIM API and the binary's operational endpoints, which live outside the mount.

pub mod admin;
pub mod messages;
pub mod params;
pub mod resources;

use actix_web::{HttpResponse, web};
use scim_core::schema::SchemaRegistry;
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, Paths};
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::server::ServerBuilder;
use utoipa::openapi::{ContentBuilder, OpenApi as Document};

pub use messages::*;
pub use params::*;
pub use resources::{
    EnterpriseUser, Group, GroupInput, Resource, ResourceType, SchemaDefinition,
    ServiceProviderConfig, User, UserInput,
};

use crate::error::ApiError;
use crate::handlers::{bulk, discovery, groups, list, users};
use crate::state::{AppState, ServerConfig};

/// The document's `info.description`.
const DESCRIPTION: &str = "\
SCIM 2.0 (RFC 7643, RFC 7644) provisioning API for identity providers such as Okta and \
Microsoft Entra ID.

**Where things are.** The SCIM endpoints are under `/scim/v2`, the mount path of the \
`scim-server` binary; an application that mounts the API under another prefix serves this \
document with its own prefix at `<prefix>/openapi.json`. `/healthz`, `/readyz` and `/metrics` \
are served by the binary at the root. Paths here are absolute, so a client's base URL is the \
origin alone (`https://scim.example.com`).

**Conventions.** Request bodies are `application/scim+json` or `application/json` (with any \
charset). Every response body, errors included, is `application/scim+json`, except the \
operational endpoints and this document. Every SCIM path also answers with a trailing slash. \
A method a path does not list answers 405 and an unknown path 404, both as SCIM Errors. \
Attribute names, query parameter names and PATCH `op` values are case-insensitive.

**Authentication.** The discovery endpoints and this document are public. Everything else \
needs a tenant's token, made with `scim-server token create --tenant NAME`: \
`Authorization: Bearer <token>`, or HTTP Basic with the token id (the part before the dot) as \
user name and the rest as password. A token acts for exactly one tenant; no request can see \
another tenant's data.

**Admin API.** `/admin/v1` manages tenants, their settings and tokens, users' lifecycle (legal \
hold, immediate deactivation and reactivation), entitlements, apply mappings, pending jobs and \
the sync log. Its bodies are `application/json` (errors are still SCIM Errors). It takes only \
administrator tokens, made with `scim-server token create --admin` (the `adminBearer` and \
`adminBasic` schemes); a tenant's SCIM token is refused there with 403, and an administrator \
token is refused by the SCIM API.";

/// The derived part: every handler's operation and the message schemas.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "scim-rs SCIM 2.0 API",
        description = DESCRIPTION,
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        discovery::service_provider_config,
        discovery::resource_types,
        discovery::resource_type,
        discovery::schemas,
        discovery::schema,
        list::list_users,
        users::create,
        users::get,
        users::replace,
        users::patch,
        users::delete,
        list::search_users,
        list::list_groups,
        groups::create,
        groups::get,
        groups::replace,
        groups::patch,
        groups::delete,
        list::search_groups,
        list::search_all,
        bulk::bulk,
        serve,
    ),
    components(schemas(
        ScimError, ScimType, PatchOp, PatchOperation, SearchRequest, BulkRequest, BulkOperation,
        BulkResponse, BulkOperationResponse, UserListResponse, GroupListResponse,
        ResourceListResponse, ResourceTypeListResponse, SchemaListResponse, User, UserInput,
        EnterpriseUser, Group, GroupInput, ServiceProviderConfig, ResourceType, SchemaDefinition,
    )),
    tags(
        (name = "Discovery", description = "What the server supports (RFC 7644 §4). Public."),
        (name = "Users", description = "User resources (RFC 7643 §4.1, RFC 7644 §3)."),
        (name = "Groups", description = "Group resources and their members (RFC 7643 §4.2)."),
        (name = "Search", description = "Queries across Users and Groups (RFC 7644 §3.4.3)."),
        (name = "Bulk", description = "Many operations in one request (RFC 7644 §3.7)."),
        (name = "Operations", description = "Health, readiness, metrics and this document."),
    ),
)]
struct ApiDoc;

/// The document `scim-server openapi` prints and `openapi/openapi.json` holds: the standard
/// schemas, mounted at the binary's `/scim/v2`.
pub fn document() -> Document {
    document_for(
        &SchemaRegistry::standard(),
        &ServerConfig::default().mount_path,
    )
}

/// The document for a server with `registry`'s resource types and extensions, mounted at
/// `mount`.
pub fn document_for(registry: &SchemaRegistry, mount: &str) -> Document {
    let mut doc = ApiDoc::openapi();
    doc.paths = mounted(std::mem::take(&mut doc.paths), mount);
    doc.paths.merge(operational_paths());
    doc.merge(admin::document());
    doc.servers = Some(vec![
        ServerBuilder::new()
            .url("/")
            .description(Some(
                "The origin serving this document; the SCIM API is under the mount path.",
            ))
            .build(),
    ]);
    let components = doc.components.get_or_insert_with(Default::default);
    // Replace the standard resource schemas with this registry's.
    for (name, _) in resources::resource_components(&SchemaRegistry::standard(), &|_| false) {
        components.schemas.remove(&name);
    }
    let fixed: Vec<String> = components.schemas.keys().cloned().collect();
    let taken = |n: &str| fixed.iter().any(|f| f == n);
    for (name, schema) in resources::resource_components(registry, &taken) {
        components.schemas.insert(name, schema);
    }
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A token from `scim-server token create --tenant NAME`, sent as \
                     `Authorization: Bearer <token>`.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "basic",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Basic)
                .description(Some(
                    "HTTP Basic with the token id (before the dot) as user name and the \
                     secret (after it) as password, for clients such as Okta's Basic Auth \
                     template.",
                ))
                .build(),
        ),
    );
    doc
}

/// Paths relative to the SCIM root, prefixed with where it is mounted.
fn mounted(paths: Paths, mount: &str) -> Paths {
    let prefix = mount.trim_end_matches('/');
    let mut out = Paths::new();
    for (path, item) in paths.paths {
        out.paths.insert(format!("{prefix}{path}"), item);
    }
    out.extensions = paths.extensions;
    out
}

/// A public `GET` answering plain text.
fn text_get(
    operation_id: &str,
    summary: &str,
    description: &str,
    responses: &[(u16, &str)],
) -> PathItem {
    let mut all = ResponsesBuilder::new();
    for (status, text) in responses {
        let content = ContentBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build();
        all = all.response(
            status.to_string(),
            ResponseBuilder::new()
                .description(*text)
                .content("text/plain", content),
        );
    }
    PathItem::new(
        HttpMethod::Get,
        OperationBuilder::new()
            .tag("Operations")
            .operation_id(Some(operation_id))
            .summary(Some(summary))
            .description(Some(description))
            .responses(all),
    )
}

/// `/healthz`, `/readyz` and `/metrics`: registered by the binary next to the SCIM scope
/// (`main.rs`), outside the mount and without authentication, for load balancers and
/// Prometheus.
fn operational_paths() -> Paths {
    Paths::builder()
        .path(
            "/healthz",
            text_get(
                "getHealth",
                "Liveness",
                "Answers `ok` while the process serves HTTP; touches nothing else.",
                &[(200, "The process is up (body `ok`).")],
            ),
        )
        .path(
            "/readyz",
            text_get(
                "getReadiness",
                "Readiness",
                "Answers `ready` when the database answers a ping, for load balancers.",
                &[
                    (200, "The database is reachable (body `ready`)."),
                    (
                        503,
                        "The database is unreachable (body `database unreachable`).",
                    ),
                ],
            ),
        )
        .path(
            "/metrics",
            text_get(
                "getMetrics",
                "Prometheus metrics",
                "Request counts by method, route and status, and latency histograms, in the \
                 Prometheus text format (version 0.0.4).",
                &[(200, "Metrics in the Prometheus text exposition format.")],
            ),
        )
        .build()
}

/// GET {mount}/openapi.json: this document, for this server's schemas and mount path.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApiDocument",
    tag = "Operations",
    summary = "This OpenAPI document",
    description = "The document for this server: its configured schema extensions and mount \
                   path. Public.",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json", body = serde_json::Value),
        ServerError,
    ),
)]
pub async fn serve(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let doc = document_for(&state.registry, &state.config.mount_path);
    let body = doc
        .to_json()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}
