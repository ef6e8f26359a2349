//! Parameters and error responses shared by many operations, named once so every handler's
//! `#[utoipa::path]` lists them the same way.
//!
//! The error groups follow where errors arise: [`Protected`] for what authentication, rate
//! limiting and the database add to every SCIM resource operation, [`BodyErrors`] for what
//! reading a request body adds, [`ServerError`] for a bug. Errors specific to an operation
//! (400, 404, 409, 412) are listed at the operation with a description of their cause.

use utoipa::{IntoParams, IntoResponses};

use super::messages::{ScimError, SortOrder};

/// Query parameters of `GET /Users` and `GET /Groups` (RFC 7644 §3.4.2). Names match
/// case-insensitively; each may be given once.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A filter expression (RFC 7644 §3.4.2.2), e.g. `userName eq "bjensen"`. All operators
    /// (`eq ne co sw ew gt ge lt le pr`, `and or not`, parentheses, `emails[type eq "work"]`)
    /// are supported.
    #[param(example = "userName eq \"bjensen@example.com\"")]
    pub filter: Option<String>,
    /// The attribute to sort by, e.g. `name.familyName`. Without it, results come in a stable
    /// server order, so paging is consistent.
    #[param(rename = "sortBy")]
    pub sort_by: Option<String>,
    /// `ascending` (default) or `descending`.
    #[param(rename = "sortOrder", inline)]
    pub sort_order: Option<SortOrder>,
    /// 1-based index of the first result; values below 1 mean 1.
    #[param(rename = "startIndex")]
    pub start_index: Option<i64>,
    /// Page size (default 100), clamped to the server maximum (`filter.maxResults` in
    /// ServiceProviderConfig); 0 returns only `totalResults`.
    pub count: Option<i64>,
    /// Comma-separated attributes to return (plus those always returned).
    pub attributes: Option<String>,
    /// Comma-separated attributes not to return, e.g. `members`.
    #[param(rename = "excludedAttributes")]
    pub excluded_attributes: Option<String>,
}

/// `attributes` / `excludedAttributes` on operations that return one resource (RFC 7644
/// §3.9).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectionParams {
    /// Comma-separated attributes to return (plus those always returned).
    pub attributes: Option<String>,
    /// Comma-separated attributes not to return, e.g. `members` on a large Group.
    #[param(rename = "excludedAttributes")]
    pub excluded_attributes: Option<String>,
}

/// `If-Match` (RFC 7232 §3.1) on writes.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatch {
    /// Apply only if the resource's current ETag is this one (e.g. `W/"3"`), else 412; `*`
    /// or absent applies unconditionally.
    #[param(rename = "If-Match", nullable = false, example = "W/\"3\"")]
    pub if_match: Option<String>,
}

/// `If-None-Match` (RFC 7232 §3.2) on reads.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfNoneMatch {
    /// Answer 304 without a body if the current ETag is one of these (comma-separated) or
    /// the value is `*`.
    #[param(rename = "If-None-Match", nullable = false, example = "W/\"3\"")]
    pub if_none_match: Option<String>,
}

/// Errors every authenticated SCIM operation can answer.
#[derive(IntoResponses)]
pub enum Protected {
    /// No credentials, a malformed `Authorization` header, or an unknown, wrong or revoked
    /// token. Send `Authorization: Bearer <token>`, or HTTP Basic with the token id as user
    /// name and the secret as password.
    #[response(
        status = 401,
        content_type = "application/scim+json",
        headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"scim\", Basic realm=\"scim\"`"))
    )]
    Unauthorized(ScimError),
    /// The token is valid but not allowed to use the SCIM API (not a `scim`-scoped token).
    #[response(status = 403, content_type = "application/scim+json")]
    Forbidden(ScimError),
    /// The tenant's rate limit is reached, or this client address failed to authenticate too
    /// often (`serve --auth-failure-burst`; credentials not yet verified are then refused
    /// unchecked). Retry after `Retry-After` seconds.
    #[response(
        status = 429,
        content_type = "application/scim+json",
        headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))
    )]
    TooManyRequests(ScimError),
    /// The database is unreachable or the write conflicted with another one; nothing was
    /// changed. Retry after `Retry-After` seconds.
    #[response(
        status = 503,
        content_type = "application/scim+json",
        headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))
    )]
    Unavailable(ScimError),
}

/// Errors of reading a request body.
#[derive(IntoResponses)]
pub enum BodyErrors {
    /// The body is larger than the server accepts (see `bulk.maxPayloadSize` in
    /// ServiceProviderConfig for `/Bulk`).
    #[response(status = 413, content_type = "application/scim+json")]
    PayloadTooLarge(ScimError),
    /// `Content-Type` is neither `application/scim+json` nor `application/json`.
    #[response(status = 415, content_type = "application/scim+json")]
    UnsupportedMediaType(ScimError),
}

/// An unexpected failure; the server logged the cause. No request is meant to produce it.
#[derive(IntoResponses)]
#[response(status = 500, content_type = "application/scim+json")]
pub struct ServerError(pub ScimError);
