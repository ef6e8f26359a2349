//! The load's HTTP client: a request either comes back with a whole response, or fails in
//! transport (refused, reset, cut short by the kill), and then its outcome is unknown. Nothing
//! here panics on a network error: losing the server mid-request is the point of the test.

use std::time::Duration;

use serde_json::Value;

/// A complete response.
#[derive(Clone)]
pub struct Resp {
    /// HTTP status.
    pub status: u16,
    /// The `ETag` header, if any.
    pub etag: Option<String>,
    /// The body as text.
    pub text: String,
}

impl Resp {
    /// The body as JSON (`Null` when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text: String = self.text.chars().take(1500).collect();
        write!(f, "HTTP {} {text}", self.status)
    }
}

/// A client whose statuses are data and whose timeouts are generous (a loaded two-core
/// machine; the kill, not a timeout, ends a request).
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

/// One SCIM request. `Err` carries the transport error: the request may or may not have
/// reached the server, and may or may not have been applied.
pub fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: &str,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> Result<Resp, String> {
    let mut builder = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {token}"));
    if let Some(tag) = if_match {
        builder = builder.header("if-match", tag);
    }
    let result = match body {
        Some(b) => {
            let request = builder
                .header("content-type", "application/scim+json")
                .body(b.to_string())
                .map_err(|e| e.to_string())?;
            agent.run(request)
        }
        None => agent.run(builder.body(()).map_err(|e| e.to_string())?),
    };
    let mut resp = result.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = resp.status().as_u16();
    let etag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| format!("{method} {url}: body cut short: {e}"))?;
    Ok(Resp { status, etag, text })
}

/// The number inside a weak ETag `W/"N"` (None for anything else).
pub fn version_of(tag: &str) -> Option<i64> {
    tag.strip_prefix("W/\"")?.strip_suffix('"')?.parse().ok()
}

/// `meta.version` of a resource body, as a number.
pub fn body_version(doc: &Value) -> Option<i64> {
    doc["meta"]["version"].as_str().and_then(version_of)
}

/// The last path segment of a `Location` / `meta.location` (the resource id).
pub fn id_from_location(location: &str) -> Option<String> {
    location
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}
