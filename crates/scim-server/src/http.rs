//! HTTP plumbing shared by handlers: SCIM JSON bodies in and out, base URLs, ETag headers and
//! running blocking store work.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::Value;

use crate::error::{ApiError, SCIM_JSON};
use crate::state::AppState;

/// A response with a SCIM JSON body and `Content-Type: application/scim+json`.
pub fn scim_json(status: StatusCode, body: &impl Serialize) -> Result<HttpResponse, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)))
        .body(bytes))
}

/// Parses a request body as SCIM JSON: `application/scim+json` or `application/json` (any
/// parameters, e.g. charset), or no Content-Type at all (some clients omit it on small
/// bodies). Anything else is 415; malformed JSON or invalid UTF-8 is 400 `invalidSyntax`; a NUL
/// character in any string is 400 `invalidValue`.
pub fn parse_body(req: &HttpRequest, body: &[u8]) -> Result<Value, ApiError> {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !(mime == "application/scim+json" || mime == "application/json" || mime.is_empty()) {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Type {mime:?} is not accepted; send application/scim+json or application/json"
            )));
        }
    }
    if body.is_empty() {
        return Err(scim_core::Error::InvalidSyntax(
            "the request body is empty; send a JSON object".into(),
        )
        .into());
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::from(scim_core::Error::InvalidSyntax(format!(
            "the request body is not valid JSON: {e}"
        )))
    })?;
    if holds_nul(&value) {
        // PostgreSQL can store no NUL in text or JSON: refused here, on every backend alike.
        return Err(scim_core::Error::InvalidValue(
            "strings in the request body may not contain the NUL character (\\u0000)".into(),
        )
        .into());
    }
    Ok(value)
}

/// Whether a string or member name anywhere in `v` holds U+0000 (serde_json bounds the depth).
fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(members) => members
            .iter()
            .any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// The base URL resources are located under (`https://host/scim/v2`).
pub fn base_url(req: &HttpRequest, state: &AppState) -> String {
    // Pushed rather than `format!`ed: this runs for every resource answered, and two
    // `format!`s were ~40% of it.
    let mount = state.config.mount_path.trim_end_matches('/');
    let mut url = String::with_capacity(64);
    match &state.config.public_url {
        Some(u) => url.push_str(u.trim_end_matches('/')),
        None => {
            let info = req.connection_info();
            url.push_str(info.scheme());
            url.push_str("://");
            url.push_str(info.host());
        }
    }
    url.push_str(mount);
    url
}

/// Runs a point read (one resource by id, a lookup by a unique key) inline when the store
/// can answer without waiting ([`scim_store::Store::answers_inline`]), else like
/// [`blocking`]. Only for reads whose cost is bounded by a few rows: anything that can grow
/// (pages, groups with their members) goes to the blocking pool.
pub async fn point_read<R, F>(state: &AppState, f: F) -> Result<R, ApiError>
where
    F: FnOnce() -> Result<R, ApiError> + Send + 'static,
    R: Send + 'static,
{
    if state.store.answers_inline() {
        f()
    } else {
        blocking(f).await
    }
}

/// Runs blocking work (store calls, argon2) off the async workers.
pub async fn blocking<R, F>(f: F) -> Result<R, ApiError>
where
    F: FnOnce() -> Result<R, ApiError> + Send + 'static,
    R: Send + 'static,
{
    web::block(f)
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
}
