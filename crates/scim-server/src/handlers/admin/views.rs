//! What the admin API reads and writes, as JSON: each type is both what a handler serializes
//! (or parses) and what the OpenAPI document describes (`ToSchema`), so the two cannot drift.
//! Field names are camelCase like the SCIM API's; tenant settings keep the store's snake_case
//! keys (they are the stored document itself).

use chrono::{DateTime, NaiveDateTime, Utc};
use scim_core::policy::{Entitlements, LifecycleState, UserLifecycle};
use scim_store::sync_log::LogEntry;
use scim_store::{Tenant, jobs::Job, tokens::TokenRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A tenant in a listing.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantSummary {
    /// The tenant's id (a UUID), as SCIM tokens and the sync log name it.
    pub id: String,
    /// The unique name operators use (`scim-server … --tenant NAME`, `/admin/v1/tenants/{name}`).
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<&Tenant> for TenantSummary {
    fn from(t: &Tenant) -> Self {
        TenantSummary {
            id: t.id.to_string(),
            name: t.name.clone(),
            created_at: utc(t.created_at),
        }
    }
}

/// A tenant with its settings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantDetail {
    /// The tenant's id (a UUID).
    pub id: String,
    /// The tenant's unique name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The tenant's settings, every field present (defaults included).
    #[schema(value_type = crate::openapi::admin::TenantSettings)]
    pub settings: Value,
}

/// `POST /admin/v1/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// A unique name (trimmed; at most 200 characters, no control characters). `_admin` is
    /// reserved for the administrator tokens' internal tenant.
    #[schema(example = "okta-prod")]
    pub name: String,
}

/// An API token as listed (never its secret or hash).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    /// The public token id (the part before the dot; the HTTP Basic user name).
    pub id: String,
    /// What the token may use: `scim` for a tenant's provisioning token.
    pub scope: String,
    /// The operator's note.
    pub label: Option<String>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked token authenticates nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&TokenRecord> for TokenView {
    fn from(t: &TokenRecord) -> Self {
        TokenView {
            id: t.id.clone(),
            scope: t.scope.clone(),
            label: t.label.clone(),
            created_at: utc(t.created_at),
            revoked_at: t.revoked_at.map(utc),
        }
    }
}

/// `POST /admin/v1/tenants/{name}/tokens` (the body may be empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// An optional note, e.g. `okta-prod` (at most 200 characters, no control characters).
    #[schema(example = "okta-prod")]
    pub label: Option<String>,
}

/// A newly issued token. `token` is shown this once; the server keeps only its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedTokenView {
    /// The public token id (to list or revoke it; the HTTP Basic user name).
    pub id: String,
    /// The bearer token, `<id>.<secret>`: `Authorization: Bearer <token>`, or HTTP Basic with
    /// the id as user name and the part after the dot as password.
    pub token: String,
}

/// A lifecycle state's one word.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateName {
    /// May sign in.
    Active,
    /// Sign-in refused; deactivated at `due` unless the provider reactivates first.
    PendingDeactivation,
    /// Deactivated.
    Deactivated,
    /// Sign-in refused, data kept (legal hold, or an administrator's block).
    Blocked,
}

impl From<&LifecycleState> for StateName {
    fn from(s: &LifecycleState) -> Self {
        match s {
            LifecycleState::Active => StateName::Active,
            LifecycleState::PendingDeactivation { .. } => StateName::PendingDeactivation,
            LifecycleState::Deactivated { .. } => StateName::Deactivated,
            LifecycleState::Blocked { .. } => StateName::Blocked,
        }
    }
}

/// A user's lifecycle: what the host needs to decide whether the user may sign in and
/// whether their data must be kept.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserState {
    /// The state (`scim-server user state` prints the same word).
    pub state: StateName,
    /// Whether the user may sign in now (refused from the moment the provider deactivates).
    pub sign_in_allowed: bool,
    /// On legal hold: never deactivated, blocked instead.
    pub legal_hold: bool,
    /// `provisioned` (by the tenant's provider) or `local` (created in the product).
    #[schema(example = "provisioned")]
    pub origin: String,
    /// The provider's `active` value (what the SCIM resource shows).
    pub provider_active: bool,
    /// Why: the deactivation reason, or the block's reason (`legal_hold`, `admin`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reason: Option<String>,
    /// When a pending deactivation takes effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub due: Option<DateTime<Utc>>,
}

impl UserState {
    /// The view of a stored or just-decided record and its sign-in flag.
    pub fn new(user: &UserLifecycle, sign_in_allowed: bool) -> Self {
        let reason = user
            .state
            .to_json()
            .get("reason")
            .and_then(Value::as_str)
            .map(str::to_string);
        UserState {
            state: StateName::from(&user.state),
            sign_in_allowed,
            legal_hold: user.legal_hold,
            origin: user.origin.as_str().to_string(),
            provider_active: user.provider_active,
            reason,
            due: user.state.due(),
        }
    }
}

/// A user's effective entitlements, as last computed by provisioning or apply-mappings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntitlementsView {
    /// The organization the user belongs to.
    pub organization: String,
    /// The user's roles, by name (empty for a Domain Admin).
    pub roles: Vec<String>,
    /// `none`, `org_admin` or `domain_admin`.
    #[schema(example = "none")]
    pub admin_tier: String,
    /// In at least one mapped group.
    pub mapped: bool,
}

impl From<&Entitlements> for EntitlementsView {
    fn from(e: &Entitlements) -> Self {
        EntitlementsView {
            organization: e.organization.clone(),
            roles: e.roles.iter().cloned().collect(),
            admin_tier: e.admin_tier.as_str().to_string(),
            mapped: e.mapped,
        }
    }
}

/// `POST /admin/v1/tenants/{name}/verify-password`.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyPassword {
    /// The user's `userName` (matched case-insensitively, as SCIM does).
    pub user_name: String,
    /// The password to check; never logged, stored or echoed.
    #[schema(format = Password)]
    pub password: String,
}

/// The outcome of a password check.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordVerdict {
    /// True only when the user exists, may sign in, has a synchronized password, and the
    /// password matches it.
    pub valid: bool,
}

/// A pending deactivation job.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    /// Queue id.
    pub id: i64,
    /// The user the job acts on.
    pub user_id: String,
    /// When it becomes due.
    pub due_at: DateTime<Utc>,
    /// Why it was scheduled (`provider_inactive`, `provider_delete`, `unmapped`, …).
    pub reason: String,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
    /// The worker holding it, while one runs it.
    pub claimed_by: Option<String>,
    /// Until when that worker holds it.
    pub claimed_until: Option<DateTime<Utc>>,
}

impl From<&Job> for JobView {
    fn from(j: &Job) -> Self {
        JobView {
            id: j.id,
            user_id: j.user_id.clone(),
            due_at: utc(j.due_at),
            reason: j.reason.clone(),
            created_at: utc(j.created_at),
            claimed_by: j.claimed_by.clone(),
            claimed_until: j.claimed_until.map(utc),
        }
    }
}

/// One sync-log entry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogEntryView {
    /// Position in the log.
    pub id: i64,
    /// When the change happened.
    pub at: DateTime<Utc>,
    /// Who made it: `provider`, `ldap`, `jit`, `admin` or `system`.
    #[schema(example = "provider")]
    pub actor: String,
    /// What kind of change (`create`, `update`, `deactivate`, `legal_hold_set`, …).
    pub action: String,
    /// `User`, `Group`, …
    pub resource_type: String,
    /// The changed resource's id.
    pub resource_id: String,
    /// What changed (never a secret).
    pub detail: Value,
}

impl From<&LogEntry> for LogEntryView {
    fn from(e: &LogEntry) -> Self {
        LogEntryView {
            id: e.id,
            at: utc(e.at),
            actor: e.actor.as_str().to_string(),
            action: e.action.clone(),
            resource_type: e.resource_type.clone(),
            resource_id: e.resource_id.clone(),
            detail: e.detail.clone(),
        }
    }
}

/// One page of the sync log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncLogPage {
    /// The entries.
    pub entries: Vec<LogEntryView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub next: Option<String>,
}
