//! `/admin/v1/tenants/{name}/jobs` and `/sync-log`: what is about to happen (pending
//! deactivation jobs) and what happened (the sync log, newest first, paged by cursor).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use scim_store::sync_log::{self, LogCursor, LogQuery};
use scim_store::{Actor, jobs};
use serde::Deserialize;
use utoipa::IntoParams;

use super::views::{JobView, LogEntryView, SyncLogPage};
use super::{json, tenant};
use crate::admin_auth::Admin;
use crate::error::ApiError;
use crate::http::blocking;
use crate::state::AppState;

fn invalid(msg: String) -> ApiError {
    scim_core::Error::InvalidValue(msg).into()
}

fn query<T: for<'de> Deserialize<'de>>(req: &HttpRequest) -> Result<T, ApiError> {
    serde_urlencoded::from_str(req.query_string())
        .map_err(|e| invalid(format!("the query string is not accepted: {e}")))
}

/// `?limit=` of the jobs listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobsParams {
    /// At most this many jobs (default and maximum 1000).
    pub limit: Option<usize>,
}

/// GET /admin/v1/tenants/{name}/jobs
#[utoipa::path(
    get,
    path = "/tenants/{name}/jobs",
    operation_id = "adminListPendingJobs",
    tag = "Activity",
    summary = "Pending deactivation jobs",
    description = "The tenant's open deactivation jobs, soonest first: who will be \
                   deactivated (or blocked, when on legal hold) and when.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod"), JobsParams),
    responses(
        (status = 200, description = "The open jobs.", body = Vec<JobView>, content_type = "application/json"),
        (status = 400, description = "A malformed or unknown query parameter (`invalidValue`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn pending_jobs(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let params: JobsParams = query(&req)?;
    let t = tenant(&state, name.into_inner()).await?;
    let limit = params.limit.unwrap_or(jobs::MAX_PENDING);
    let store = state.store.clone();
    let rows = blocking(move || Ok(store.read(|c| jobs::pending(c, &t.id, limit))?)).await?;
    let views: Vec<JobView> = rows.iter().map(JobView::from).collect();
    json(StatusCode::OK, &views)
}

/// Filters and paging of the sync log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SyncLogParams {
    /// Only changes to this user (or group) id.
    pub user: Option<String>,
    /// Only this action (`create`, `update`, `deactivate`, `legal_hold_set`, …).
    pub action: Option<String>,
    /// Only changes by this actor: `provider`, `ldap`, `jit`, `admin` or `system`.
    pub actor: Option<String>,
    /// Only changes at or after this time: RFC 3339 (`2026-11-30T08:00:00Z`) or a date
    /// (`2026-11-30`, midnight UTC).
    pub since: Option<String>,
    /// Only changes before this time (same forms as `since`).
    pub until: Option<String>,
    /// The `next` value of the previous page.
    pub cursor: Option<String>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<usize>,
}

/// RFC 3339 or a date (midnight UTC), as the CLI's `--since` takes.
fn parse_time(name: &str, text: &str) -> Result<NaiveDateTime, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc).naive_utc());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN));
    }
    Err(invalid(format!(
        "`{name}` {text:?} is not a time; use RFC 3339 (2026-11-30T08:00:00Z) or a date (2026-11-30)"
    )))
}

impl SyncLogParams {
    fn to_query(&self) -> Result<LogQuery, ApiError> {
        let actor = match &self.actor {
            None => None,
            Some(a) => Some(Actor::parse(a).ok_or_else(|| {
                invalid(format!(
                    "`actor` {a:?} is not one of provider, ldap, jit, admin, system"
                ))
            })?),
        };
        Ok(LogQuery {
            resource_id: self.user.clone(),
            action: self.action.clone(),
            actor,
            from: self
                .since
                .as_deref()
                .map(|s| parse_time("since", s))
                .transpose()?,
            to: self
                .until
                .as_deref()
                .map(|s| parse_time("until", s))
                .transpose()?,
            before: self
                .cursor
                .as_deref()
                .map(str::parse::<LogCursor>)
                .transpose()?,
            limit: self.limit.unwrap_or(sync_log::DEFAULT_PAGE).max(1),
        })
    }
}

/// GET /admin/v1/tenants/{name}/sync-log
#[utoipa::path(
    get,
    path = "/tenants/{name}/sync-log",
    operation_id = "adminQuerySyncLog",
    tag = "Activity",
    summary = "The sync log",
    description = "Every recorded change of the tenant — by whom (provider, LDAP sync, JIT \
                   login, administrator, system), what and when — newest first. Filters \
                   combine with AND. Pages are addressed by cursor, so entries written while \
                   paging neither shift nor repeat a page.",
    params(("name" = String, Path, description = "The tenant's name.", example = "okta-prod"), SyncLogParams),
    responses(
        (status = 200, description = "One page of entries.", body = SyncLogPage, content_type = "application/json"),
        (status = 400, description = "A malformed time, cursor, actor or limit, or an unknown query parameter (`invalidValue`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::admin::AdminProtected,
        crate::openapi::ServerError,
    ),
    security(("adminBearer" = []), ("adminBasic" = [])),
)]
pub async fn sync_log(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let params: SyncLogParams = query(&req)?;
    let q = params.to_query()?;
    let t = tenant(&state, name.into_inner()).await?;
    let store = state.store.clone();
    let page = blocking(move || Ok(store.read(|c| sync_log::query(c, &t.id, &q))?)).await?;
    json(
        StatusCode::OK,
        &SyncLogPage {
            entries: page.entries.iter().map(LogEntryView::from).collect(),
            next: page.next.map(|c| c.to_string()),
        },
    )
}
