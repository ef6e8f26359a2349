//! The admin API (`/admin/v1`) in the OpenAPI document: its operations (from the
//! `#[utoipa::path]` attributes in `handlers::admin`), its security schemes (administrator
//! tokens, distinct from tenants' SCIM tokens), shared parameters and errors, and the schema
//! of a tenant's settings.
//!
//! [`TenantSettings`] describes `scim_store::settings::TenantSettings`, which knows nothing of
//! utoipa; a test (`tests/admin.rs`) holds its property names to the stored document's keys.

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoResponses, OpenApi, ToSchema};

use super::messages::ScimError;
use crate::handlers::admin::{activity, jit, ldap, mappings, tenants, tokens, users, views};

/// Where the binary mounts the admin API.
pub const ADMIN_MOUNT: &str = "/admin/v1";

/// Errors every admin operation can answer.
#[derive(IntoResponses)]
pub enum AdminProtected {
    /// No credentials, a malformed `Authorization` header, or an unknown, wrong or revoked
    /// token.
    #[response(
        status = 401,
        content_type = "application/scim+json",
        headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"scim\", Basic realm=\"scim\"`"))
    )]
    Unauthorized(ScimError),
    /// A valid token that is not an administrator token (e.g. a tenant's SCIM token).
    #[response(status = 403, content_type = "application/scim+json")]
    Forbidden(ScimError),
    /// This client address failed to authenticate too often (`serve --auth-failure-burst`);
    /// credentials not yet verified are refused unchecked until `Retry-After` seconds pass.
    #[response(
        status = 429,
        content_type = "application/scim+json",
        headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))
    )]
    TooManyRequests(ScimError),
    /// The database is unreachable; nothing was changed. Retry after `Retry-After` seconds.
    #[response(
        status = 503,
        content_type = "application/scim+json",
        headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))
    )]
    Unavailable(ScimError),
}

/// A tenant's settings, as stored. Every member is optional on `PUT` (a missing one takes
/// its default); an unknown one is refused, at any depth. Responses carry every member.
#[derive(ToSchema)]
#[schema(example = json!({
    "deactivation_delay_secs": 900,
    "deactivate_unmapped": false,
    "org_mapping": {"method": "group", "map": {"Sales": "Acme Sales"}},
    "default_org": "Default",
    "role_mappings": [{"group": "Engineers", "roles": ["developer"]}],
    "default_roles": {"Default": ["viewer"]},
    "admin_tiers": {"domain_admin_groups": ["IT Admins"], "org_admin_groups": ["Team Leads"]},
    "password_sync": true,
    "validation": {"user_name_is_email": true, "primary_email_is_user_name": false, "country_is_iso3166": false},
    "ldap": null,
    "rate_limit_per_sec": null,
    "jit": {"update_profile_at_login": true, "group_prefix": "Divvy", "deactivate_unmapped_at_login": false}
}))]
pub struct TenantSettings {
    /// Seconds between the provider deactivating a user and the deactivation (default 900;
    /// 0 = at once; at most ten years).
    #[schema(required = false, minimum = 0)]
    pub deactivation_delay_secs: u64,
    /// Deactivate users in no mapped group, through the same delay, and reactivate them when
    /// they return to one (default false).
    #[schema(required = false)]
    pub deactivate_unmapped: bool,
    /// How users are placed in organizations, by `method`: `single` (`org`), `group` (`map`:
    /// group displayName → organization), `attribute` (`path`: a SCIM path or JSONPath;
    /// `create_missing`), or `custom` (`attribute`). Default `{"method": "single", "org":
    /// "Default"}`.
    #[schema(required = false)]
    pub org_mapping: BTreeMap<String, Value>,
    /// The organization users belong to until mapped (default `Default`).
    #[schema(required = false)]
    pub default_org: String,
    /// SCIM group displayName (case-sensitive, each listed once) → roles.
    #[schema(required = false)]
    pub role_mappings: Vec<RoleMapping>,
    /// Organization → roles its users get when they are in no role-mapped group.
    #[schema(required = false)]
    pub default_roles: BTreeMap<String, Vec<String>>,
    /// Groups whose members are Domain Admins or Organization Admins (a group in one list
    /// only).
    #[schema(required = false)]
    pub admin_tiers: AdminTiers,
    /// Keep the argon2id hash of a `password` the provider sends (default true); when false,
    /// a sent password is ignored.
    #[schema(required = false)]
    pub password_sync: bool,
    /// Validation rules, each off by default.
    #[schema(required = false)]
    pub validation: ValidationRules,
    /// An LDAP directory the tenant's users are pulled from (`url`, `bind_dn`,
    /// `bind_password_env`, `base_dn`, `groups`, `starttls`, `interval_secs`, …), or null.
    #[schema(required = false)]
    pub ldap: Option<BTreeMap<String, Value>>,
    /// Requests per second accepted from the tenant's provider (null = server default).
    #[schema(required = false, minimum = 1)]
    pub rate_limit_per_sec: Option<u32>,
    /// Just-in-time provisioning at SAML login (`POST /tenants/{name}/jit-login`).
    #[schema(required = false)]
    pub jit: JitSettings,
}

/// What a just-in-time login may change.
#[derive(ToSchema)]
pub struct JitSettings {
    /// Update a known user's name and email from the assertion at each login (default true).
    #[schema(required = false)]
    pub update_profile_at_login: bool,
    /// Only group values starting with this prefix count; they are matched whole, prefix
    /// included, against the mapped group names (default null: every value counts).
    #[schema(required = false)]
    pub group_prefix: Option<String>,
    /// Deactivate (through the tenant's delay) a known user whose assertion names no mapped
    /// group, besides refusing the login (default false).
    #[schema(required = false)]
    pub deactivate_unmapped_at_login: bool,
}

/// One group → roles mapping.
#[derive(ToSchema)]
pub struct RoleMapping {
    /// SCIM group displayName (case-sensitive).
    pub group: String,
    /// Roles its members get.
    pub roles: Vec<String>,
}

/// Groups mapped to the admin tiers.
#[derive(ToSchema)]
pub struct AdminTiers {
    /// Members are Domain Admins, and only that.
    #[schema(required = false)]
    pub domain_admin_groups: Vec<String>,
    /// Members are Organization Admins (and may hold basic roles too).
    #[schema(required = false)]
    pub org_admin_groups: Vec<String>,
}

/// Per-tenant validation of provisioned users; each rule is a 400 `invalidValue` naming the
/// attribute.
#[derive(ToSchema)]
pub struct ValidationRules {
    /// `userName` must be a syntactically valid email address.
    #[schema(required = false)]
    pub user_name_is_email: bool,
    /// The primary email must equal `userName` (case-insensitively).
    #[schema(required = false)]
    pub primary_email_is_user_name: bool,
    /// Every `addresses[].country` must be an ISO 3166-1 alpha-2 code.
    #[schema(required = false)]
    pub country_is_iso3166: bool,
}

/// The admin operations, relative to [`ADMIN_MOUNT`].
#[derive(OpenApi)]
#[openapi(
    paths(
        tenants::list,
        tenants::create,
        tenants::get,
        tenants::delete,
        tenants::get_settings,
        tenants::put_settings,
        tokens::list,
        tokens::issue,
        tokens::revoke,
        users::state,
        users::set_legal_hold,
        users::release_legal_hold,
        users::deactivate,
        users::reactivate,
        users::entitlements,
        users::verify_password,
        mappings::apply_mappings,
        jit::login,
        activity::pending_jobs,
        activity::sync_log,
        ldap::sync_now,
        ldap::runs,
    ),
    components(schemas(
        TenantSettings, RoleMapping, AdminTiers, ValidationRules, JitSettings, views::TenantSummary,
        views::TenantDetail, views::NewTenant, views::TokenView, views::NewToken,
        views::IssuedTokenView, views::StateName, views::UserState, views::EntitlementsView,
        views::VerifyPassword, views::PasswordVerdict, views::JobView, views::LogEntryView,
        views::SyncLogPage, mappings::ApplyReport, crate::service::jit::JitAssertion,
        crate::service::jit::JitLogin, crate::service::jit::JitEntitlements, ldap::LdapCounts,
        ldap::LdapSyncResult, ldap::LdapRunView,
    )),
    tags(
        (name = "Tenants", description = "Admin API: tenants (one per identity-provider connection) and their settings."),
        (name = "Tokens", description = "Admin API: tenants' SCIM tokens."),
        (name = "Lifecycle", description = "Admin API: users' lifecycle (legal hold, immediate deactivation and reactivation), entitlements and password checks."),
        (name = "Activity", description = "Admin API: pending deactivation jobs and the sync log."),
        (name = "LDAP", description = "Admin API: synchronizing users from the tenant's LDAP directory now, and the recorded runs."),
    ),
)]
struct AdminDoc;

/// The admin part of the document: its paths mounted at [`ADMIN_MOUNT`], its schemas, tags
/// and security schemes.
pub fn document() -> Document {
    let mut doc = AdminDoc::openapi();
    doc.paths = super::mounted(std::mem::take(&mut doc.paths), ADMIN_MOUNT);
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "adminBearer",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An administrator token from `scim-server token create --admin`, sent as \
                     `Authorization: Bearer <token>`. A tenant's SCIM token is refused (403).",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "adminBasic",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Basic)
                .description(Some(
                    "HTTP Basic with an administrator token's id (before the dot) as user name \
                     and its secret (after it) as password.",
                ))
                .build(),
        ),
    );
    doc
}
