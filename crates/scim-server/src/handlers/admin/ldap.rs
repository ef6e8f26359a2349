//! `/admin/v1/tenants/{name}/ldap/sync` and `/ldap/runs`: the admin API's "Synchronize Users"
//! (one LDAP synchronization now, as `scim-server ldap sync` runs it) and "View Logs" (the
//! recorded runs, newest first, with their counts and errors).
//!
//! A run that cannot happen or fails is answered with a SCIM Error body whose detail says
//! why, so an operator clicking "Synchronize Users" learns it without reading server logs.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use scim_store::ldap_runs::{self, LdapRun, RunCounts};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{json, tenant};
use crate::admin_auth::Admin;
use crate::error::{ApiError, SCIM_JSON};
use crate::http::blocking;
use crate::ldap::sync::{self, StartedBy, SyncError, SyncReport};
use crate::state::AppState;

/// Seconds a caller is told to wait when another run of the tenant holds the lock.
const BUSY_RETRY_SECS: u64 = 5;

/// Seconds a caller is told to wait after a directory failure (an unreachable directory
/// often comes back; a misconfiguration needs a settings change first).
const DIRECTORY_RETRY_SECS: u64 = 60;

/// What a run changed, by kind of change.
#[derive(Debug, Serialize, ToSchema)]
pub struct LdapCounts {
    /// Users created from directory entries.
    pub created: u32,
    /// Existing users whose attributes changed.
    pub updated: u32,
    /// Users sent down the deactivation path (in no mapped group any more).
    pub deactivated: u32,
    /// Users who came back to a mapped group and were reactivated.
    pub reactivated: u32,
}

impl From<RunCounts> for LdapCounts {
    fn from(c: RunCounts) -> Self {
        LdapCounts {
            created: c.created,
            updated: c.updated,
            deactivated: c.deactivated,
            reactivated: c.reactivated,
        }
    }
}

/// The outcome of a synchronization that ran to the end.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LdapSyncResult {
    /// The run's id (see `GET /tenants/{name}/ldap/runs`).
    pub run_id: i64,
    /// Users created.
    pub created: u32,
    /// Users updated.
    pub updated: u32,
    /// Users sent down the deactivation path.
    pub deactivated: u32,
    /// Users reactivated.
    pub reactivated: u32,
    /// Directory entries skipped, one sentence each.
    pub warnings: Vec<String>,
}

impl From<SyncReport> for LdapSyncResult {
    fn from(r: SyncReport) -> Self {
        LdapSyncResult {
            run_id: r.run_id,
            created: r.counts.created,
            updated: r.counts.updated,
            deactivated: r.counts.deactivated,
            reactivated: r.counts.reactivated,
            warnings: r.warnings,
        }
    }
}

/// One recorded synchronization run.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LdapRunView {
    /// Run id (increasing).
    pub id: i64,
    /// What started it: `schedule`, `cli` or `admin_api`.
    #[schema(example = "admin_api")]
    pub started_by: String,
    /// `running`, `succeeded` or `failed` (a failed run changed nothing, unless a database
    /// error stopped it part-way; its error says which).
    #[schema(example = "succeeded")]
    pub status: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended, if it has.
    pub finished_at: Option<DateTime<Utc>>,
    /// What it changed.
    pub counts: LdapCounts,
    /// Why it failed.
    pub error: Option<String>,
    /// What it skipped.
    pub warnings: Vec<String>,
}

impl From<LdapRun> for LdapRunView {
    fn from(r: LdapRun) -> Self {
        LdapRunView {
            id: r.id,
            started_by: r.started_by,
            status: r.status.as_str().to_string(),
            started_at: r.started_at.and_utc(),
            finished_at: r.finished_at.map(|t| t.and_utc()),
            counts: r.counts.into(),
            error: r.error,
            warnings: r.warnings,
        }
    }
}

/// A 503 SCIM Error response with this detail and `Retry-After`: the detail of a failed run
/// must reach the operator, which [`ApiError::Unavailable`] can't say.
fn unavailable(retry_after: u64, detail: String) -> HttpResponse {
    let status = StatusCode::SERVICE_UNAVAILABLE;
    let body = scim_core::ErrorBody::new(status.as_u16(), None, detail);
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)))
        .insert_header((header::RETRY_AFTER, retry_after.to_string()))
        .body(serde_json::to_string(&body).unwrap_or_default())
}

/// POST /admin/v1/tenants/{name}/ldap/sync
#[utoipa::path(
    post,
    path = "/tenants/{name}/ldap/sync",
    operation_id = "adminLdapSync",
    tag = "LDAP",
    summary = "Synchronize users from LDAP now",
    description = "Runs one synchronization of the tenant's LDAP source now, as `scim-server \
                   ldap sync` does, and answers when it has finished: users created, updated, \
                   deactivated and reactivated, and the entries skipped. The run is recorded \
                   (started by `admin_api`) and listed by `GET /tenants/{name}/ldap/runs`.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod")),
    responses(
        (status = 200, description = "The run finished; what it changed.", body = LdapSyncResult, content_type = "application/json"),
        (status = 400, description = "The tenant has no LDAP source (`invalidValue`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        (status = 503, description = "Nothing was changed: another synchronization of the tenant is running (retry after `Retry-After` seconds), the directory could not be read (the detail and the recorded run say why: unreachable, bind refused, misconfigured, partial answer), or the database is unreachable.", body = crate::openapi::ScimError, content_type = "application/scim+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying (5 while another run holds the tenant, 60 after a directory failure)"))),
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn sync_now(
    _: Admin,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let t = tenant(&state, name.into_inner()).await?;
    let st = state.clone();
    let result = blocking(move || Ok(sync::sync_tenant(&st, &t.id, StartedBy::AdminApi))).await?;
    match result {
        Ok(report) => json(StatusCode::OK, &LdapSyncResult::from(report)),
        Err(SyncError::NotConfigured) => Err(scim_core::Error::InvalidValue(
            "the tenant has no LDAP source; configure one (settings `ldap`, or `scim-server \
             ldap configure`) first"
                .into(),
        )
        .into()),
        Err(e @ (SyncError::Busy | SyncError::AlreadyRan)) => {
            Ok(unavailable(BUSY_RETRY_SECS, e.to_string()))
        }
        Err(SyncError::Directory { run_id, error }) => Ok(unavailable(
            DIRECTORY_RETRY_SECS,
            format!("the directory could not be read; nothing was changed (run {run_id}): {error}"),
        )),
        Err(SyncError::Interrupted { run_id, error }) => {
            tracing::warn!(run = run_id, %error, "LDAP sync through the admin API interrupted");
            Err(error.into())
        }
        Err(SyncError::Store(e)) => Err(e.into()),
    }
}

/// `?limit=` of the runs listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunsParams {
    /// At most this many runs, newest first (default 100, at most 1000).
    pub limit: Option<usize>,
}

/// GET /admin/v1/tenants/{name}/ldap/runs
#[utoipa::path(
    get,
    path = "/tenants/{name}/ldap/runs",
    operation_id = "adminListLdapRuns",
    tag = "LDAP",
    summary = "LDAP synchronization runs",
    description = "The tenant's recorded LDAP synchronizations, newest first: what started \
                   each (schedule, CLI, admin API), when, how it ended, what it changed, and \
                   why it failed. The individual changes are in the sync log (actor `ldap`).",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod"), RunsParams),
    responses(
        (status = 200, description = "The runs, newest first.", body = Vec<LdapRunView>, content_type = "application/json"),
        (status = 400, description = "A malformed or unknown query parameter (`invalidValue`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn runs(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let params: RunsParams = serde_urlencoded::from_str(req.query_string()).map_err(|e| {
        ApiError::from(scim_core::Error::InvalidValue(format!(
            "the query string is not accepted: {e}"
        )))
    })?;
    let t = tenant(&state, name.into_inner()).await?;
    let limit = params.limit.unwrap_or(100).clamp(1, ldap_runs::MAX_LIST);
    let store = state.store.clone();
    let rows = blocking(move || Ok(store.read(|c| ldap_runs::list(c, &t.id, limit))?)).await?;
    let views: Vec<LdapRunView> = rows.into_iter().map(LdapRunView::from).collect();
    json(StatusCode::OK, &views)
}
