//! Every error of every crate becomes a SCIM Error response here, and only here.
//!
//! Error policy: core errors already know their status and `scimType`; store errors are mapped
//! once in [`From<StoreError>`]; HTTP-level failures (auth, media type, size, rate limit) are
//! variants of [`ApiError`]. Internal failures are logged with their cause and answered with a
//! generic detail, so nothing about the database or a secret reaches a client.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use scim_core::{ErrorBody, ScimType};
use scim_store::StoreError;

/// The SCIM media type every response carries (Entra's validator insists on it).
pub const SCIM_JSON: &str = "application/scim+json";

/// An error answered as a SCIM Error body.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A SCIM rule core enforced.
    #[error(transparent)]
    Scim(#[from] scim_core::Error),
    /// A storage outcome.
    #[error(transparent)]
    Store(StoreError),
    /// Missing or bad credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// No such resource or endpoint.
    #[error("{0}")]
    NotFound(String),
    /// The endpoint exists but not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Body larger than the configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Body not JSON-typed.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Rate limit reached; retry after this many seconds.
    #[error("too many requests; retry after {0} seconds")]
    TooManyRequests(u64),
    /// `If-Match` didn't match the current version.
    #[error("{0}")]
    PreconditionFailed(String),
    /// The database is unreachable; retry after this many seconds.
    #[error("the service is temporarily unavailable; retry after {0} seconds")]
    Unavailable(u64),
    /// A bug or an unexpected failure; the cause is logged, not returned.
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::Unavailable(2)
            }
            StoreError::Database(cause) | StoreError::Migration(cause) => ApiError::Internal(cause),
            other => ApiError::Store(other),
        }
    }
}

impl ApiError {
    /// The SCIM Error body for this error.
    pub fn body(&self) -> ErrorBody {
        let status = self.status_code().as_u16();
        match self {
            ApiError::Scim(e) => e.to_body(),
            ApiError::Store(e) => {
                let scim_type = match e {
                    StoreError::Conflict { .. } => Some(ScimType::Uniqueness),
                    StoreError::Invalid(_) => Some(ScimType::InvalidValue),
                    // RFC 7644 §3.12: "the specified attribute and filter comparison
                    // combination is not supported".
                    StoreError::Unsupported(_) => Some(ScimType::InvalidFilter),
                    _ => None,
                };
                ErrorBody::new(status, scim_type, store_detail(e))
            }
            ApiError::Internal(_) => ErrorBody::new(
                status,
                None,
                "internal error; the server logged the cause — retry, and report it if it persists",
            ),
            other => ErrorBody::new(status, None, other.to_string()),
        }
    }
}

fn store_detail(e: &StoreError) -> String {
    match e {
        StoreError::Conflict { attribute, value } => {
            format!("{attribute} {value:?} is already taken in this tenant")
        }
        StoreError::VersionMismatch { current } => format!(
            "the resource changed (now at version {}); read it again and retry",
            scim_core::resource::etag(u64::try_from(*current).unwrap_or_default())
        ),
        other => other.to_string(),
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        let code = match self {
            ApiError::Scim(e) => e.status(),
            ApiError::Store(e) => match e {
                StoreError::NotFound { .. } => 404,
                StoreError::Conflict { .. } => 409,
                StoreError::VersionMismatch { .. } => 412,
                StoreError::Invalid(_) => 400,
                StoreError::Unsupported(_) => 400,
                StoreError::Unavailable(_) => 503,
                _ => 500,
            },
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::TooManyRequests(_) => 429,
            ApiError::PreconditionFailed(_) => 412,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)));
        match self {
            ApiError::Unauthorized(_) => {
                resp.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"scim\", Basic realm=\"scim\""),
                ));
            }
            ApiError::TooManyRequests(secs) | ApiError::Unavailable(secs) => {
                resp.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            _ => {}
        }
        resp.body(serde_json::to_string(&self.body()).unwrap_or_default())
    }
}
