//! Pieces every resource handler uses: the authenticated tenant, query parameters, ETags and
//! turning stored rows into SCIM responses.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, dev::Payload, web};
use scim_core::projection::Projection;
use scim_core::resource::{Meta, etag, parse_etag, stamp};
use scim_core::schema::ResourceType;
use scim_store::StoredResource;
use serde_json::Value;

use crate::auth::{Credentials, Principal};
use crate::error::{ApiError, SCIM_JSON};
use crate::state::AppState;

/// The tenant a request acts for, from its `Authorization` header. Only `scim`-scoped tokens
/// reach the SCIM API.
#[derive(Debug, Clone)]
pub struct Tenant(pub Principal);

impl FromRequest for Tenant {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Tenant, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string);
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::Internal("SCIM state not configured".into()))?;
            let creds = Credentials::parse(header.as_deref())?.with_client(req.peer_addr());
            let principal = state.verifier.authenticate(creds).await?;
            if principal.scope != "scim" {
                return Err(ApiError::Forbidden(
                    "this token may not use the SCIM API; issue a SCIM token for the tenant".into(),
                ));
            }
            state.limits.check(&principal.tenant).await?;
            // For the access log (tenant, never the token).
            req.extensions_mut().insert(principal.clone());
            Ok(Tenant(principal))
        })
    }
}

/// The decoded query string as name/value pairs (`+` and `%20` both decode to a space, as
/// Okta's older requests need).
pub fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string()).map_err(|e| {
        scim_core::Error::InvalidValue(format!("the query string could not be decoded: {e}")).into()
    })
}

/// Projection from `attributes` / `excludedAttributes` query parameters (comma-separated).
pub fn projection(
    req: &HttpRequest,
    state: &AppState,
    rt: &ResourceType,
) -> Result<std::sync::Arc<Projection>, ApiError> {
    let mut attributes = Vec::new();
    let mut excluded = Vec::new();
    for (k, v) in query_pairs(req)? {
        let list = v
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if k.eq_ignore_ascii_case("attributes") {
            attributes.extend(list);
        } else if k.eq_ignore_ascii_case("excludedAttributes") {
            excluded.extend(list);
        }
    }
    state.projection(rt, &attributes, &excluded)
}

/// The version an `If-Match` header requires: `None` when absent or `*`.
pub fn if_match(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(v) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = v.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let version = parse_etag(text)
        .and_then(|n| i64::try_from(n).ok())
        .ok_or_else(|| {
            ApiError::PreconditionFailed(format!(
                "If-Match {text:?} is not an ETag this server issued (they look like W/\"3\")"
            ))
        })?;
    Ok(Some(version))
}

/// Whether `If-None-Match` names the current version (then GET answers 304).
pub fn if_none_match_hits(req: &HttpRequest, version: i64) -> bool {
    let Some(v) = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    v.split(',').any(|t| {
        let t = t.trim();
        t == "*" || parse_etag(t).is_some_and(|n| i64::try_from(n).ok() == Some(version))
    })
}

fn naive_to_utc(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_naive_utc_and_offset(t, chrono::Utc)
}

/// The full SCIM document of a stored resource: `id` and `meta` stamped, location absolute.
pub fn render(stored: &StoredResource, rt: &ResourceType, base_url: &str) -> Value {
    stamped(stored.resource.clone(), stored, rt, base_url)
}

/// [`render`] of a resource the caller is done with: its document is stamped in place, not
/// copied (a create's answer).
pub fn render_owned(mut stored: StoredResource, rt: &ResourceType, base_url: &str) -> Value {
    let doc = std::mem::take(&mut stored.resource);
    stamped(doc, &stored, rt, base_url)
}

/// `doc` (the document of `stored`) with `id` and `meta` stamped.
fn stamped(mut doc: Value, stored: &StoredResource, rt: &ResourceType, base_url: &str) -> Value {
    let meta = meta_of(
        rt,
        &stored.id,
        stored.version,
        (stored.created_at, stored.updated_at),
        base_url,
    );
    stamp(&mut doc, &stored.id, &meta);
    doc
}

/// The `meta` of a stored resource (`times` = created, last modified), shared by [`render`]
/// and the responses copied from stored text (`handlers::raw`).
pub fn meta_of(
    rt: &ResourceType,
    id: &str,
    version: i64,
    times: (chrono::NaiveDateTime, chrono::NaiveDateTime),
    base_url: &str,
) -> Meta {
    Meta {
        resource_type: rt.name.clone(),
        created: naive_to_utc(times.0),
        last_modified: naive_to_utc(times.1),
        location: location(rt, id, base_url),
        version: u64::try_from(version).unwrap_or_default(),
    }
}

/// Where a resource lives (`meta.location`, and the `Location` of a 201).
pub fn location(rt: &ResourceType, id: &str, base_url: &str) -> String {
    format!("{base_url}{}/{id}", rt.endpoint)
}

/// A 201 whose body is already serialised, with its `ETag` and `Location`.
pub fn created_bytes_response(body: Vec<u8>, version: i64, location: &str) -> HttpResponse {
    let mut resp = bytes_response(StatusCode::CREATED, body, version);
    if let Ok(value) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, value);
    }
    resp
}

/// A single-resource response with `ETag` (a 201 is [`created_bytes_response`], which names
/// the resource in `Location` whatever the projection left of `meta`).
pub fn resource_response(
    status: StatusCode,
    doc: &Value,
    version: i64,
) -> Result<HttpResponse, ApiError> {
    let bytes = scim_core::json::to_vec_with(doc, scim_core::json::RESOURCE_CAPACITY);
    Ok(bytes_response(status, bytes, version))
}

/// A single-resource response whose body is already serialised, with its `ETag`.
pub fn bytes_response(status: StatusCode, body: Vec<u8>, version: i64) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)))
        .insert_header((
            header::ETAG,
            etag(u64::try_from(version).unwrap_or_default()),
        ))
        .body(body)
}

/// 304 for a matching `If-None-Match`.
pub fn not_modified(version: i64) -> HttpResponse {
    HttpResponse::NotModified()
        .insert_header((
            header::ETAG,
            etag(u64::try_from(version).unwrap_or_default()),
        ))
        .finish()
}
